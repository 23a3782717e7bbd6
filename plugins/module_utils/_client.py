# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one HTTP client of the collection: every request to an API node goes through here.

It speaks to the admin API (``<base>/admin/api/...``) and, for smoke tests and health probes, to the
user API (``<base>/public/api/v1/...``) and ``<base>/isAlive/``, where ``<base>`` is the node's base URL
with its path prefix, if any. Built on ``ansible.module_utils.urls`` only, so managed nodes and
execution environments need no third-party Python library.

Retry policy (the only one of the collection): a request that is safe to repeat is retried after a
connection failure or an HTTP 429, 502, 503 or 504, with exponential backoff, waiting at least what the
node's ``Retry-After`` header asks for (seconds or an HTTP date). Retries stop, with an error, when a
``Retry-After`` would take the request past its time budget: ``timeout`` x (``retries`` + 1) seconds from
its first attempt.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import errno
import json
from email.utils import mktime_tz, parsedate_tz
import os
import socket
import ssl
import time
import uuid

from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import quote, quote_plus, urlencode, urlparse
from ansible.module_utils.urls import open_url

from ansible_collections.dss.apinode.plugins.module_utils._urls import mask_url, user_info_secrets

ADMIN_PREFIX = '/admin/api/'
# 429 (too many requests) is answered by rate-limiting proxies in front of nodes; like 503, it means "later".
RETRYABLE_STATUSES = (429, 502, 503, 504)
MASK = '********'


class ApiNodeError(Exception):
    """A request to the API node failed: the node answered with an error, or could not be reached."""

    def __init__(self, msg, status=None, error_type=None, message=None, detailed_message=None,
                 method=None, url=None, body=None, retry_after=None):
        super(ApiNodeError, self).__init__(msg)
        self.msg = msg
        self.status = status
        self.error_type = error_type
        self.message = message
        self.detailed_message = detailed_message
        self.method = method
        self.url = url
        self.body = body
        # Seconds the node asked to wait before trying again (its Retry-After header), or None.
        self.retry_after = retry_after

    def as_dict(self):
        """The error as a result-friendly dict (no None values)."""
        fields = dict(status=self.status, error_type=self.error_type, message=self.message,
                      detailed_message=self.detailed_message, method=self.method, url=self.url)
        return dict((k, v) for k, v in fields.items() if v is not None)


class ApiNodeConnectionError(ApiNodeError):
    """The node could not be reached at all (refused, DNS, TLS, timeout): no HTTP status.

    ``retryable`` is False for failures that a retry cannot cure (TLS verification, unknown host).
    """

    def __init__(self, msg, retryable=True, **kwargs):
        super(ApiNodeConnectionError, self).__init__(msg, **kwargs)
        self.retryable = retryable


class ApiNodeResponse(object):
    """What came back: status, headers (lower-case names) and the parsed body."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body


class _MultipartStream(object):
    """A file-like multipart/form-data body that streams the file instead of loading it in memory."""

    def __init__(self, field, file_path, boundary):
        filename = os.path.basename(file_path)
        self._head = to_bytes(
            '--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
            'Content-Type: application/zip\r\n\r\n' % (boundary, field, filename))
        self._tail = to_bytes('\r\n--%s--\r\n' % boundary)
        self._path = file_path
        self.content_type = 'multipart/form-data; boundary=%s' % boundary
        self.length = len(self._head) + os.path.getsize(file_path) + len(self._tail)
        self._parts = None

    def read(self, size=-1):
        if self._parts is None:
            self._parts = [self._head, open(self._path, 'rb'), self._tail]
        out = b''
        while self._parts and (size < 0 or len(out) < size):
            part = self._parts[0]
            want = -1 if size < 0 else size - len(out)
            if isinstance(part, bytes):
                chunk = part if want < 0 else part[:want]
                rest = b'' if want < 0 else part[want:]
                if rest:
                    self._parts[0] = rest
                else:
                    self._parts.pop(0)
            else:
                chunk = part.read(want)
                if not chunk or want < 0:
                    part.close()
                    self._parts.pop(0)
            out += chunk
        return out


def parse_retry_after(value, now):
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP date (``now`` is epoch seconds).

    Returns a float >= 0, or None when the header is missing or unreadable.
    """
    text = to_text(value or '').strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    parsed = parsedate_tz(text)
    if parsed is None:
        return None
    return max(0.0, float(mktime_tz(parsed)) - now)


def path(*segments):
    """Join path segments, each quoted so that ids with dots or odd characters stay one segment."""
    return '/'.join(quote(to_text(s), safe='') for s in segments)


class ApiNodeClient(object):
    """HTTP client for one API node.

    ``request_count`` and ``calls`` record what was sent, so that modules can report how many
    requests a run cost (tests and benchmarks read it).
    """

    def __init__(self, url, api_key=None, validate_certs=True, ca_path=None, client_cert=None,
                 client_key=None, timeout=30, retries=3, backoff=1.0, warn=None, sleep=time.sleep,
                 use_proxy=True, clock=time.time):
        # A path prefix is kept: every request goes under it.
        self.base_url = url.rstrip('/')
        self.api_key = api_key
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.client_cert = client_cert
        self.client_key = client_key
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff = backoff
        self.use_proxy = use_proxy
        self._warn = warn or (lambda msg: None)
        self._sleep = sleep
        self._clock = clock
        self._secrets = set()
        if api_key:
            self._secrets.add(api_key)
        # Modules refuse URLs with user-info; a direct caller still never sees its password printed.
        self._secrets.update(user_info_secrets(self.base_url))
        self.request_count = 0
        self.calls = []
        self.last_headers = {}

    # -- secrets ---------------------------------------------------------------------------
    def add_secret(self, value):
        """Never show this value in a message, URL or call record (e.g. a key deleted by value)."""
        if value:
            self._secrets.add(to_text(value))

    def scrub(self, text):
        """``text`` with every registered secret masked, as sent in a path, a query or plain."""
        text = to_text(text)
        for secret in sorted(self._secrets, key=len, reverse=True):
            # As sent in a path segment (quote) and in a query string (urlencode uses quote_plus).
            for shown in (secret, quote(secret, safe=''), quote_plus(secret, safe='')):
                text = text.replace(shown, MASK)
        return text

    def shown_url(self, url):
        """A URL as the client prints it: user-info masked, secrets scrubbed."""
        return self.scrub(mask_url(url))

    # -- public helpers ----------------------------------------------------------------------
    def get(self, rel_path, query=None):
        """GET an admin resource; reads are always safe to repeat."""
        return self.request('GET', rel_path, query=query).body

    def post(self, rel_path, body=None, query=None, retry_safe=False):
        return self.request('POST', rel_path, body=body, query=query, retry_safe=retry_safe).body

    def delete(self, rel_path, query=None, retry_safe=False):
        return self.request('DELETE', rel_path, query=query, retry_safe=retry_safe).body

    def upload(self, rel_path, file_path, field='file', query=None):
        """POST a file as multipart/form-data, streamed from disk (never retried: not idempotent)."""
        stream = _MultipartStream(field, file_path, uuid.uuid4().hex)
        headers = {'Content-Type': stream.content_type, 'Content-Length': str(stream.length)}
        return self.request('POST', rel_path, query=query, data=stream, headers=headers).body

    # -- core ----------------------------------------------------------------------------------
    def url_for(self, rel_path, query=None):
        """Admin paths are relative (``services/x``); absolute paths (``/isAlive/``) are from the root."""
        full = rel_path if rel_path.startswith('/') else ADMIN_PREFIX + rel_path
        url = self.base_url + full
        if query:
            pairs = [(k, self._query_value(v)) for k, v in sorted(query.items()) if v is not None]
            url += '?' + urlencode(pairs)
        return url

    @staticmethod
    def _query_value(value):
        if isinstance(value, bool):
            return 'true' if value else 'false'
        return to_text(value)

    def request(self, method, rel_path, query=None, body=None, data=None, headers=None,
                retry_safe=None, auth=True, credentials=None, expect_error_statuses=()):
        """Send one request, retrying only when it is safe to, and return an ApiNodeResponse.

        ``retry_safe`` defaults to True for GET only: enable/disable/import answer 400 when
        repeated, so other calls are retried only when the caller re-checks state itself.
        ``credentials`` overrides the Authorization header (user API: a query key or a bearer
        token), ``auth=False`` sends none (``/isAlive/``). Statuses listed in
        ``expect_error_statuses`` are returned instead of raised.
        """
        if retry_safe is None:
            retry_safe = method == 'GET'
        url = self.url_for(rel_path, query)
        send_headers = {'Accept': 'application/json'}
        if body is not None:
            data = to_bytes(json.dumps(body))
            send_headers['Content-Type'] = 'application/json'
        if auth:
            send_headers['Authorization'] = credentials or self._basic(self.api_key)
        send_headers.update(headers or {})

        attempts = 1 + (self.retries if retry_safe else 0)
        budget = self.time_budget()
        started = self._clock()
        for attempt in range(1, attempts + 1):
            try:
                return self._send_once(method, url, data, send_headers, expect_error_statuses)
            except ApiNodeError as err:
                retryable = getattr(err, 'retryable', False) or err.status in RETRYABLE_STATUSES
                if not retryable or attempt >= attempts:
                    raise
                backoff = self.backoff * (2 ** (attempt - 1))
                delay = max(backoff, err.retry_after or 0.0)
                asked = ' (Retry-After: %.0f s)' % err.retry_after if err.retry_after is not None else ''
                # The budget bounds what the node asks for; the client's own backoff always fits.
                if delay > backoff and self._clock() - started + delay > budget:
                    err.msg = ('%s; not retried: waiting %.1f s more%s would go past the time budget of %.0f s '
                               '(timeout x (retries + 1))' % (err.msg, delay, asked, budget))
                    err.args = (err.msg,)
                    raise err
                self._warn('%s; retrying in %.1f s%s (attempt %d of %d)'
                           % (err.msg, delay, asked, attempt + 1, attempts))
                self._sleep(delay)

    def time_budget(self):
        """Seconds a request may take with its retries and waits: ``timeout`` x (``retries`` + 1)."""
        return float(self.timeout) * (self.retries + 1)

    @staticmethod
    def _basic(user):
        # The admin key is the user name and the password is empty; sent pre-emptively.
        return 'Basic ' + to_text(base64.b64encode(to_bytes('%s:' % (user or ''))))

    def _send_once(self, method, url, data, headers, expect_error_statuses):
        self.request_count += 1
        record = {'method': method, 'url': self.shown_url(url), 'status': None}
        self.calls.append(record)
        try:
            resp = open_url(url, data=data, headers=headers, method=method,
                            validate_certs=self.validate_certs, ca_path=self.ca_path,
                            client_cert=self.client_cert, client_key=self.client_key,
                            timeout=self.timeout, follow_redirects='none', use_proxy=self.use_proxy,
                            force_basic_auth=False)
            status = resp.getcode()
            raw = resp.read()
            resp_headers = dict((k.lower(), v) for k, v in resp.headers.items())
        except HTTPError as err:
            status = err.code
            record['status'] = status
            raw = _read_error_body(err)
            resp_headers = dict((k.lower(), v) for k, v in (err.headers or {}).items())
            if status in expect_error_statuses:
                return ApiNodeResponse(status, resp_headers, _parse_body(raw))
            error = self._http_error(method, url, status, raw)
            error.retry_after = parse_retry_after(resp_headers.get('retry-after'), time.time())
            raise error
        except (URLError, socket.error, ssl.SSLError, ssl.CertificateError) as err:
            raise self._connection_error(method, url, err)
        record['status'] = status
        self.last_headers = resp_headers
        return ApiNodeResponse(status, resp_headers, _parse_body(raw))

    def _http_error(self, method, url, status, raw):
        parsed = _parse_body(raw)
        info = parsed if isinstance(parsed, dict) else {}
        message = info.get('message')
        detailed = info.get('detailedMessage') or message
        error_type = info.get('errorType')
        if not detailed:
            text = to_text(raw or b'', errors='replace').strip()
            detailed = text[:500] if text else 'no error message in the response'
        explain = '%s: %s' % (error_type, detailed) if error_type else detailed
        msg = '%s %s failed with HTTP %s: %s' % (method, self.shown_url(url), status, explain)
        if status == 401:
            msg += ' (check the admin API key)'
        elif status == 429:
            msg += ' (too many requests: the node or a proxy in front of it limits the request rate)'
        return ApiNodeError(self.scrub(msg), status=status, error_type=error_type,
                            message=self.scrub(message) if message else None,
                            detailed_message=self.scrub(detailed), method=method,
                            url=self.shown_url(url), body=parsed if isinstance(parsed, dict) else None)

    def _connection_error(self, method, url, err):
        reason = getattr(err, 'reason', err)
        parts = urlparse(url)
        netloc = parts.netloc.rsplit('@', 1)[-1]  # host[:port], never user-info
        retryable = False
        if isinstance(reason, (ssl.SSLError, ssl.CertificateError)) or 'CERTIFICATE' in to_native(reason).upper():
            what = ('TLS handshake failed (%s); check validate_certs, ca_path, client_cert and client_key'
                    % to_native(reason))
        elif isinstance(reason, socket.timeout) or 'timed out' in to_native(reason):
            what = 'no answer within %s seconds (timeout)' % self.timeout
            retryable = True
        elif isinstance(reason, socket.gaierror):
            what = 'cannot resolve host name %s (%s)' % (parts.hostname, to_native(reason))
        elif isinstance(reason, (IOError, OSError)) and getattr(reason, 'errno', None) == errno.ENOENT:
            # The TLS layer names no file: name the ones this client was given.
            files = ['%s %s' % (name, value) for name, value in (('ca_path', self.ca_path),
                     ('client_cert', self.client_cert), ('client_key', self.client_key))
                     if value and not os.path.exists(value)]
            what = 'missing file: %s' % (', '.join(files) or to_native(reason))
        elif isinstance(reason, ConnectionRefusedError) or 'refused' in to_native(reason).lower():
            what = 'connection refused by %s: is the API node running and listening on that port?' % netloc
            retryable = True
        else:
            what = 'connection failed (%s)' % to_native(reason)
            retryable = True
        msg = 'Cannot reach the API node: %s %s: %s' % (method, self.shown_url(url), what)
        return ApiNodeConnectionError(self.scrub(msg), retryable=retryable, method=method, url=self.shown_url(url))


def _read_error_body(err):
    try:
        return err.read()
    except Exception:  # the body of an error can be missing or already consumed
        return b''


def _parse_body(raw):
    """JSON when possible (unknown fields are kept and ignored by callers), else text, else None."""
    if not raw:
        return None
    text = to_text(raw, errors='replace')
    try:
        return json.loads(text)
    except ValueError:
        return {'message': text.strip()[:2000]}
