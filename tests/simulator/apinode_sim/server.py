"""The HTTP(S) server: routing, admin Basic auth, DSS headers, test hooks, TLS/mTLS.

Standard library only: ThreadingHTTPServer with HTTP/1.1 keep-alive (every answer has a
Content-Length). Handlers stay cheap (state is cached in memory) so admin reads are fast.
"""

import base64
import json
import os
import re
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from . import __version__, admin_api, user_api, versions
from .datadir import init_data_dir, write_json_atomic, DataDir
from .errors import ApiError, internal, malformed, method_not_allowed, not_authenticated, not_found
from .hooks import Costs, Hooks
from .metrics import Registry
from .redact import redact_path, scrub_data_dir
from .state import NodeState

ADMIN_PREFIX = "/admin/api"
HOOKS_PREFIX = "/__sim__"
HANDSHAKE_TIMEOUT = 30.0


class Request:
    """What a route handler sees."""

    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}

    def json(self, what, allow_empty=False):
        """The body parsed as JSON whatever the Content-Type; None when empty."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise malformed(what)

    def multipart_file(self, field):
        """The content of one multipart/form-data field (None when absent)."""
        content_type = self.headers.get("Content-Type", "")
        match = re.search(r'boundary="?([^";]+)"?', content_type)
        if not content_type.lower().startswith("multipart/form-data") or not match:
            return None
        delimiter = b"--" + match.group(1).encode("latin-1")
        for part in self.body.split(delimiter)[1:]:
            if part.startswith(b"--"):
                break
            if part.startswith(b"\r\n"):
                part = part[2:]
            head, separator, content = part.partition(b"\r\n\r\n")
            disposition = re.search(rb'(?im)^content-disposition:.*?\bname="([^"]*)"', head)
            if disposition and disposition.group(1).decode("latin-1") == field:
                return content[:-2] if content.endswith(b"\r\n") else content
        return None


class Node:
    """Everything one simulated API node holds: state, metrics, hooks and the route table."""

    def __init__(self, data_dir, test_hooks, costs, dss_version=versions.NEWEST, hashed_keys=False,
                 key_expiry_unit="days"):
        check_node_options(dss_version, hashed_keys)
        init_data_dir(data_dir)
        self.costs = costs
        self.state = NodeState(data_dir, costs, dss_version=dss_version, hashed_keys=hashed_keys,
                               key_expiry_unit=key_expiry_unit)
        self.registry = Registry()
        self.hooks = Hooks(costs) if test_hooks else None
        self.dss_version = dss_version
        self.routes = []
        for methods, pattern, handler, feature in admin_api.routes():
            # A route newer than the node's version does not exist there (404, or 405 on a known path).
            if versions.supports(dss_version, feature):
                self.routes.append((methods, re.compile(re.escape(ADMIN_PREFIX) + pattern), handler, True))
        for methods, pattern, handler in user_api.routes():
            self.routes.append((methods, re.compile(pattern), handler, False))
        if self.hooks:
            for methods, pattern, handler in hook_routes():
                self.routes.append((methods, re.compile(re.escape(HOOKS_PREFIX) + pattern), handler, False))

    def resolve(self, method, path):
        path_known = False
        for methods, regex, handler, admin in self.routes:
            match = regex.fullmatch(path)
            if match:
                if method in methods:
                    return handler, match.groupdict(), admin
                path_known = True
        if path_known:
            raise method_not_allowed(method)
        raise not_found("No handler found for %s %s" % (method, path))

    def check_admin(self, headers):
        auth = headers.get("Authorization")
        if not auth or not auth.strip().lower().startswith("basic "):
            raise not_authenticated("API Key not provided (use HTTP Basic auth with the key as user name)")
        try:
            key = base64.b64decode(auth.strip()[6:].strip()).decode("utf-8").split(":", 1)[0]
        except (ValueError, UnicodeDecodeError):
            key = ""
        if not key:
            # DKUSecurityException is not mapped explicitly by the node: 500 (INFERRED).
            raise internal("Malformed API Key", "com.dataiku.dip.exceptions.DKUSecurityException")
        self.state.check_admin_key(key)

    def metrics_json(self):
        with self.state.lock:
            gauges = {"dku.lambda.services.count": len(self.state.services),
                      "dku.lambda.services.enabled": sum(1 for s in self.state.services.values() if s.active)}
        return self.registry.to_json(gauges)


# ------------------------------------------------------------------ test hooks
def hook_requests(node, request):
    if request.method == "DELETE":
        node.hooks.log.clear()
        return 200, {"ok": True}
    return 200, {"requests": node.hooks.log.list()}


def hook_faults(node, request):
    if request.method == "DELETE":
        node.hooks.faults.clear()
        return 200, {"ok": True}
    if request.method == "POST":
        return 200, node.hooks.faults.add(request.json("fault rule"))
    return 200, {"faults": node.hooks.faults.list()}


def hook_costs(node, request):
    if request.method == "POST":
        return 200, node.costs.update(request.json("costs"))
    return 200, node.costs.to_json()


def hook_generation_faults(node, request):
    if request.method == "DELETE":
        node.hooks.generation_faults.clear()
        return 200, {"ok": True}
    if request.method == "POST":
        return 200, node.hooks.generation_faults.add(request.json("generation fault"))
    return 200, {"faults": node.hooks.generation_faults.list()}


def hook_routes():
    return [
        (("GET", "DELETE"), r"/requests", hook_requests),
        (("GET", "POST", "DELETE"), r"/faults", hook_faults),
        (("GET", "POST", "DELETE"), r"/generation-faults", hook_generation_faults),
        (("POST",), r"/traffic", user_api.traffic),
        (("GET", "POST"), r"/costs", hook_costs),
    ]


# ------------------------------------------------------------------ HTTP plumbing
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "apinode-sim/" + __version__
    _log_entry = None  # (method, path, query, started, not_alive) of the request being answered, when hooked

    def log_message(self, format, *args):  # noqa: A002 - quiet: paths may carry secrets
        pass

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status, payload, success_headers=True, extra_headers=None):
        # Log before answering: a client that reads the log right after its answer must find
        # its own request there.
        if self._log_entry is not None:
            method, path, query, started, not_alive = self._log_entry
            self._log_entry = None
            self.server.node.hooks.log.add(method, path, query, status, time.monotonic() - started,
                                           not_alive=not_alive)
        content_type = None
        if payload is None:
            data = b""
        elif isinstance(payload, str):
            data = payload.encode("utf-8")
            content_type = "text/plain; version=0.0.4; charset=utf-8"
        else:
            data = json.dumps(payload).encode("utf-8")
            content_type = "application/json; charset=UTF-8"
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if success_headers and status < 400 and content_type and content_type.startswith("application/json"):
            self.send_header("DSS-Version", self.server.node.dss_version)
            self.send_header("DSS-APINode-API-Version", "1")
            self.send_header("DSS-API-Version", "1")
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        # Headers and body leave in one write: one syscall and one segment per answer.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(data)
        self.flush_headers()

    def _handle(self):
        started = time.monotonic()
        node = self.server.node
        method = self.command
        split = urlsplit(self.path)
        path = unquote(split.path)
        path = path.rstrip("/") or "/"
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        hooked = node.hooks is not None and not path.startswith(HOOKS_PREFIX)
        # Whether the node was drained when the request arrived: tests check that a switch happened out of the pool.
        not_alive = hooked and node.state.node_forced_not_alive()
        self._log_entry = (method, redact_path(path), split.query, started, not_alive) if hooked else None
        status = None
        if hooked:
            rule = node.hooks.faults.take(method, path)
            if rule is not None:
                if rule.delay:
                    time.sleep(rule.delay)
                if rule.drop:
                    self._log_entry = None
                    node.hooks.log.add(method, redact_path(path), split.query, 0, time.monotonic() - started,
                                       dropped=True, not_alive=not_alive)
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                if rule.status is not None:
                    status = int(rule.status)
                    payload = rule.body if rule.body is not None else ApiError(
                        status, "Injected fault (simulator test hook)", "java.lang.RuntimeException").body()
                    self._send(status, payload, success_headers=False, extra_headers=rule.headers)
        if status is None:
            self._dispatch(node, method, path, split.query, body)

    def _dispatch(self, node, method, path, query, body):
        request = Request(method, path, query, self.headers, body)
        try:
            handler, groups, admin = node.resolve(method, path)
            if admin:
                node.check_admin(self.headers)
            status, payload = handler(node, request, **groups)
            self._send(status, payload)
            return status
        except ApiError as exc:
            self._send(exc.status, exc.body(), success_headers=False)
            return exc.status
        except Exception as exc:  # a simulator bug must still answer like a Java node would
            # The log (run/sim.log under apinode-sim up) and the answer never carry a secret of the node.
            data_dir = node.state.dir.root
            sys.stderr.write(scrub_data_dir(traceback.format_exc(), data_dir))
            error = internal(scrub_data_dir("%s: %s" % (type(exc).__name__, exc), data_dir))
            self._send(error.status, error.body(), success_headers=False)
            return error.status

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, node, ssl_context=None):
        self.node = node
        self.ssl_context = ssl_context
        super().__init__(address, Handler)
        host, port = self.server_address[:2]
        scheme = "https" if ssl_context else "http"
        display_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.url = "%s://%s:%d" % (scheme, display_host, port)
        self.port = port

    def handle_error(self, request, client_address):
        """socketserver's report of an error outside a route (on stderr), without the node's secrets."""
        sys.stderr.write("Exception occurred during processing of request from %s\n%s"
                         % (client_address, scrub_data_dir(traceback.format_exc(), self.node.state.dir.root)))

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the worker thread, so a slow or failing client
        # (e.g. no client certificate under mTLS) never blocks the accept loop.
        if self.ssl_context is None:
            return super().finish_request(request, client_address)
        try:
            request.settimeout(HANDSHAKE_TIMEOUT)
            tls = self.ssl_context.wrap_socket(request, server_side=True)
            tls.settimeout(None)
        except (ssl.SSLError, OSError):
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            try:
                tls.close()
            except OSError:
                pass


def _ssl_context(certfile, keyfile, client_ca):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)
    if client_ca:
        context.load_verify_locations(cafile=client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def check_node_options(dss_version, hashed_keys=False):
    """ValueError (one line naming the problem) for a version or option set no real node has."""
    versions.parse(dss_version)
    if hashed_keys and not versions.supports(dss_version, "hashed_keys"):
        raise ValueError("hashed keys need DSS %s or later (the node runs %s)"
                         % (versions.first_version("hashed_keys"), dss_version))


def make_server(data_dir, host="127.0.0.1", port=0, *, test_hooks=False, certfile=None, keyfile=None,
                client_ca=None, import_seconds_per_mb=0.0, preload_seconds=0.0, dss_version=versions.NEWEST,
                hashed_keys=False, key_expiry_unit="days"):
    """Build a node server (not yet serving): call serve_forever(), then shutdown() and server_close().

    dss_version: the version the node announces and behaves as (features newer than it are absent);
    hashed_keys: never list key secrets (needs 13.1+); key_expiry_unit: "days" (expiry is a lifetime
    in days) or "ms" (expiry is an absolute epoch-ms date). ValueError for an invalid combination.
    """
    if bool(certfile) != bool(keyfile):
        raise ValueError("certfile and keyfile go together")
    if client_ca and not certfile:
        raise ValueError("client_ca needs certfile and keyfile")
    costs = Costs(import_seconds_per_mb, preload_seconds)
    node = Node(data_dir, test_hooks, costs, dss_version, hashed_keys, key_expiry_unit)
    context = _ssl_context(certfile, keyfile, client_ca) if certfile else None
    return SimServer((host, port), node, context)


def run_server(data_dir, host="127.0.0.1", port=0, **kwargs):
    """make_server, publish DATA_DIR/run/sim-node.json once listening, serve until SIGTERM/SIGINT."""
    server = make_server(data_dir, host, port, **kwargs)
    stopping = threading.Event()

    def stop(signum, frame):
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    write_json_atomic(DataDir(data_dir).run_file, {"url": server.url, "pid": os.getpid(), "port": server.port,
                                                   "test_hooks": bool(kwargs.get("test_hooks"))})
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0
