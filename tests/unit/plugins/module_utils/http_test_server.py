# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A scriptable local HTTP(S) server for testing the client against real sockets.

Tests queue canned answers (``respond``, ``slow``, ``drop``), send requests, then read what the
server received (``requests``). TLS material comes from ``trustme``: a throw-away CA, a server
certificate for 127.0.0.1 and, for mutual TLS, a client certificate the server requires.

It serves the tests of the transport: what reaches the socket (headers, encoded paths, multipart
bodies, TLS) and what the client does with slow, dropped or failing answers. Module tests that check
which requests a module sends, in order, use ``modules/scripted_node.py``, which stands in for
``open_url`` without a socket.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import http.client
import json
import os
import ssl
import threading

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import trustme

NO_CANNED_RESPONSE = b'test server: no canned response left'


class RecordedRequest:
    """What the server received: method, raw path, decoded path segments, query, headers, body."""

    def __init__(self, method, raw_path, headers, body, peer_cert):
        parts = urlsplit(raw_path)
        self.method = method
        self.raw_path = parts.path
        self.segments = [unquote(s) for s in parts.path.split('/')]
        self.query = dict((k, v[0] if len(v) == 1 else v)
                          for k, v in parse_qs(parts.query, keep_blank_values=True).items())
        self.headers = dict((k.lower(), v) for k, v in headers.items())
        self.body = body
        self.peer_cert = peer_cert

    def json(self):
        return json.loads(self.body.decode('utf-8'))

    def multipart(self):
        """The parts of a multipart/form-data body as a list of (name, filename, bytes)."""
        content_type = self.headers['content-type']
        boundary = content_type.split('boundary=', 1)[1].strip('"').encode('ascii')
        parts = []
        for chunk in self.body.split(b'--' + boundary)[1:]:
            if chunk.startswith(b'--'):
                break
            head, _sep, data = chunk[2:].partition(b'\r\n\r\n')
            disposition = dict(_header_params(head))
            parts.append((disposition.get('name'), disposition.get('filename'), data[:-2]))
        return parts


def _header_params(head):
    for line in head.decode('utf-8').split('\r\n'):
        if line.lower().startswith('content-disposition:'):
            for item in line.split(';')[1:]:
                key, _sep, value = item.strip().partition('=')
                yield key, value.strip('"')


class _Canned:
    def __init__(self, status=200, body=None, headers=None, delay=None, drop=False):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.delay = delay
        self.drop = drop

    def payload(self):
        if self.body is None:
            return b'', None
        if isinstance(self.body, bytes):
            return self.body, 'application/octet-stream'
        if isinstance(self.body, str):
            return self.body.encode('utf-8'), 'text/plain; charset=utf-8'
        return json.dumps(self.body).encode('utf-8'), 'application/json'


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, format, *args):  # keep test output clean
        pass

    def _handle(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else b''
        peer_cert = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
        server = self.server.owner
        canned = server.record_and_next(RecordedRequest(self.command, self.path, self.headers, body, peer_cert))
        self.close_connection = True
        if canned.drop:
            return  # close the socket without a single byte of answer
        if canned.delay:
            server.released.wait(canned.delay)
        data, content_type = canned.payload()
        try:
            self.send_response(canned.status)
            if content_type and 'Content-Type' not in canned.headers:
                self.send_header('Content-Type', content_type)
            for name, value in canned.headers.items():
                self.send_header(name, value)
            self.send_header('Content-Length', str(len(data)))
            self.send_header('Connection', 'close')
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the client gave up first (timeout tests)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def finish_request(self, request, client_address):
        # The TLS handshake runs in the request thread so a failing client never blocks the server.
        context = self.owner.ssl_context
        if context is None:
            return ThreadingHTTPServer.finish_request(self, request, client_address)
        try:
            tls_request = context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as err:
            self.owner.tls_errors.append(err)
            return None
        try:
            return ThreadingHTTPServer.finish_request(self, tls_request, client_address)
        finally:
            tls_request.close()

    def handle_error(self, request, client_address):
        pass  # clients that hang up early are expected here


class TlsMaterial:
    """A throw-away CA with a server certificate for 127.0.0.1/localhost and a client certificate.

    ``write(directory)`` puts the PEM files where the client options expect paths.
    """

    def __init__(self):
        self.ca = trustme.CA()
        self.server_cert = self.ca.issue_cert(u'127.0.0.1', u'localhost')
        self.client_cert = self.ca.issue_cert(u'ansible-client@example.org')

    def write(self, directory):
        paths = dict(
            ca_path=os.path.join(directory, 'ca.pem'),
            client_cert=os.path.join(directory, 'client.crt'),
            client_key=os.path.join(directory, 'client.key'),
        )
        self.ca.cert_pem.write_to_path(paths['ca_path'])
        self.client_cert.cert_chain_pems[0].write_to_path(paths['client_cert'])
        self.client_cert.private_key_pem.write_to_path(paths['client_key'])
        return paths

    def server_context(self, require_client_cert=False):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_cert.configure_cert(context)
        if require_client_cert:
            self.ca.configure_trust(context)
            context.verify_mode = ssl.CERT_REQUIRED
        return context


class HttpTestServer:
    """A local server on 127.0.0.1 and a free port, answering from a queue of canned responses.

    With an empty queue it answers 500 ``NO_CANNED_RESPONSE`` so that a forgotten response fails
    the test instead of passing by accident. Use it as a context manager.
    """

    def __init__(self, ssl_context=None):
        self.ssl_context = ssl_context
        self.requests = []
        self.tls_errors = []
        self.released = threading.Event()
        self._queue = collections.deque()
        self._lock = threading.Lock()
        self._httpd = _Server(('127.0.0.1', 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs=dict(poll_interval=0.05))
        self._thread.daemon = True

    @property
    def port(self):
        return self._httpd.server_address[1]

    @property
    def url(self):
        scheme = 'https' if self.ssl_context else 'http'
        return '%s://127.0.0.1:%d' % (scheme, self.port)

    # -- scripting -------------------------------------------------------------------------
    def respond(self, status=200, body=None, headers=None, times=1):
        """Queue an answer; ``body`` is JSON-encoded unless it is bytes or text."""
        self._queue.extend([_Canned(status, body, headers)] * times)
        return self

    def slow(self, seconds=30, status=200, body=None):
        """Queue an answer that comes only after ``seconds`` (or when the server stops)."""
        self._queue.append(_Canned(status, body, delay=seconds))
        return self

    def drop(self, times=1):
        """Queue a connection closed right after the request, with no answer at all."""
        self._queue.extend([_Canned(drop=True)] * times)
        return self

    def record_and_next(self, request):
        with self._lock:
            self.requests.append(request)
            if self._queue:
                return self._queue.popleft()
        return _Canned(500, NO_CANNED_RESPONSE)

    @property
    def pending(self):
        """How many canned answers were not used."""
        return len(self._queue)

    # -- life cycle ----------------------------------------------------------------------------
    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self.released.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


class _PrefixHandler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, format, *args):
        pass

    def _handle(self):
        owner = self.server.owner
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else None
        owner.seen.append(self.path)
        self.close_connection = True
        if not (self.path + '/').startswith(owner.prefix + '/'):
            data = b'prefix proxy: no route for this path'
            self.send_response(404)
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        headers = dict((k, v) for k, v in self.headers.items() if k.lower() not in ('host', 'connection'))
        upstream = http.client.HTTPConnection('127.0.0.1', owner.target.port, timeout=30)
        try:
            upstream.request(self.command, self.path[len(owner.prefix):] or '/', body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ('content-length', 'connection', 'transfer-encoding', 'date', 'server'):
                    self.send_header(name, value)
        finally:
            upstream.close()
        self.send_header('Content-Length', str(len(data)))
        self.send_header('Connection', 'close')
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle


class PrefixStrippingProxy:
    """A reverse proxy publishing ``target`` (an HttpTestServer) under a path prefix, as an ingress does.

    ``<url>/x`` is forwarded to ``<target>/x``; a path outside the prefix gets a 404 from the proxy
    itself. ``seen`` lists the paths the proxy received, prefix included. Use it as a context manager.
    """

    def __init__(self, target, prefix='/apinode1'):
        self.target = target
        self.prefix = prefix.rstrip('/')
        self.seen = []
        self._httpd = _Server(('127.0.0.1', 0), _PrefixHandler)
        self._httpd.owner = self
        self.ssl_context = None
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs=dict(poll_interval=0.05))
        self._thread.daemon = True

    @property
    def url(self):
        return 'http://127.0.0.1:%d%s' % (self._httpd.server_address[1], self.prefix)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
