# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A module run against a scripted API node: each test lists the requests the module must send, in order,
with the node's answers, and the run fails on any other request or on a request left unsent.

The node stands in for ``open_url``, so no socket is opened: it is for a module's requests and results.
The transport itself (TLS, timeouts, retries, dropped connections) is tested against the real local
server of ``module_utils/http_test_server.py``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import io
import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.six.moves.urllib.error import HTTPError
from ansible.module_utils.six.moves.urllib.parse import parse_qsl, unquote, urlsplit

from ansible_collections.dss.apinode.plugins.module_utils import _client

URL = 'http://127.0.0.1:12000'
ADMIN_KEY = 'adminKey-Scr1pted'
ADMIN_PREFIX = '/admin/api/'
VERSION = '13.2.0'
ANY = object()


class Call(object):
    """One expected request and the node's answer.

    ``path``: relative to the admin API (``services/churn``), or absolute for the user API
    (``/public/api/v1/...``). ``body`` and ``query``: what the request must carry (ANY: not checked).
    ``version``: the DSS-Version header of a successful answer (None: no header). ``raw``: bytes answered
    as they are, for an answer that is not JSON.
    """

    def __init__(self, method, path, answer=None, status=200, body=ANY, query=ANY, version=VERSION, raw=None):
        self.method, self.path, self.answer, self.status = method, path, answer, status
        self.body, self.query, self.version, self.raw = body, query, version, raw


class Exchange(object):
    """Stands in for open_url: checks each request against the script and answers it."""

    def __init__(self, calls):
        self.script = list(calls)
        self.requests = []

    def __call__(self, url, data=None, headers=None, method=None, **kwargs):
        parts = urlsplit(url)
        rel = unquote(parts.path)
        rel = rel[len(ADMIN_PREFIX):] if rel.startswith(ADMIN_PREFIX) else rel
        query = dict(parse_qsl(parts.query))
        raw = data.read() if hasattr(data, 'read') else data
        multipart = 'multipart/form-data' in (headers or {}).get('Content-Type', '')
        body = None
        if raw and not multipart:
            body = json.loads(raw.decode('utf-8'))
        self.requests.append(dict(method=method, path=rel, query=query, body=body, multipart=multipart,
                                  headers=dict(headers or {})))
        assert self.script, 'unexpected request %s %s' % (method, rel)
        call = self.script.pop(0)
        assert (method, rel) == (call.method, call.path), 'expected %s %s' % (call.method, call.path)
        if call.body is not ANY:
            assert body == call.body
        if call.query is not ANY:
            assert query == call.query
        payload = call.raw
        if payload is None:
            payload = json.dumps(call.answer).encode('utf-8') if call.answer is not None else b''
        if call.status >= 400:
            raise HTTPError(url, call.status, 'error', {}, io.BytesIO(payload))
        return _Response(call.status, payload, call.version)

    def writes(self):
        return [(r['method'], r['path']) for r in self.requests if r['method'] != 'GET']


class _Response(object):
    def __init__(self, status, raw, version):
        self.status, self.raw = status, raw
        self.headers = {'Content-Type': 'application/json'}
        if version:
            self.headers['DSS-Version'] = version

    def getcode(self):
        return self.status

    def read(self):
        return self.raw


def runner(monkeypatch, capsys, name, secrets=(), defaults=None):
    """run(args, calls, check_mode=False, diff=False, url=URL) -> (failed, result, exchange) for module ``name``.

    ``defaults``: module arguments every run gets unless ``args`` gives them; ``url=None`` leaves the url out.
    The output never holds the admin key nor any of ``secrets``; every scripted request was sent.
    """
    for variable in ('DATAIKU_APINODE_URL', 'DATAIKU_APINODE_API_KEY', 'DATAIKU_APINODE_TIMEOUT'):
        monkeypatch.delenv(variable, raising=False)
    module = importlib.import_module('ansible_collections.dss.apinode.plugins.modules.%s' % name)

    def run(args, calls, check_mode=False, diff=False, url=URL):
        exchange = Exchange(calls)
        monkeypatch.setattr(_client, 'open_url', exchange)
        payload = dict(api_key=ADMIN_KEY, _ansible_check_mode=check_mode, _ansible_diff=diff)
        if url:
            payload['url'] = url
        payload.update(defaults or {})
        payload.update(args)
        monkeypatch.setattr(basic, '_ANSIBLE_ARGS', json.dumps({'ANSIBLE_MODULE_ARGS': payload}).encode('utf-8'))
        if hasattr(basic, '_ANSIBLE_PROFILE'):
            monkeypatch.setattr(basic, '_ANSIBLE_PROFILE', 'legacy')
        with pytest.raises(SystemExit):
            module.main()
        out = capsys.readouterr().out
        for secret in (ADMIN_KEY,) + tuple(secrets):
            assert secret not in out
        result = json.loads(out.strip().splitlines()[-1])
        assert exchange.script == [], 'requests never sent: %s' % [(c.method, c.path) for c in exchange.script]
        return bool(result.get('failed')), result, exchange
    return run
