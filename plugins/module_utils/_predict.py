# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One query of one endpoint through the user API, and the verdict on its answer.

Shared by the apinode_predict module and the release engine's smoke tests, so that both build the same
requests and judge answers the same way.

A *query* is a dict:

- ``type``: the endpoint type's action, one of ``ENDPOINT_TYPES`` (default ``predict``);
- ``endpoint``: the endpoint id;
- the input, by type: ``features`` (dict, ``predict``), ``items`` (list of dicts: feature records for
  ``predict-multi``, the history records for ``forecast``), ``params`` (dict: the function's keyword
  arguments for ``run``, the named parameters for ``query``), ``data`` (dict, the record of ``lookup``);
- ``generation`` (forced with ``dispatch.forcedGeneration``) or ``dispatch_key`` (``dispatch.dispatchKey``);
- ``expected_generation``: the generation that must answer (default: ``generation``);
- ``api_key`` (a user key of the service, sent as HTTP Basic user name) or ``bearer_token`` (sent as
  ``Authorization: Bearer``); neither for a public service;
- expectations: ``expected_status`` (list of HTTP statuses, default ``[200]``), ``expected_prediction``
  (``predict``: ``result.prediction``; ``predict-multi``: the list of ``results[].prediction``) and
  ``expect`` (dict: dotted path into the answer -> expected value, for instance ``results.0.data.segment``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import json
import time

from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.dss.apinode.plugins.module_utils._client import ApiNodeError, path

ENDPOINT_TYPES = ('predict', 'predict-multi', 'forecast', 'run', 'query', 'lookup')
DEFAULT_TYPE = 'predict'
PREDICTION_TYPES = ('predict', 'predict-multi')
# The option that carries the input of each type, its Python type, and whether it may be left out.
INPUTS = {
    'predict': ('features', dict, False),
    'predict-multi': ('items', list, False),
    'forecast': ('items', list, False),
    'run': ('params', dict, True),
    'query': ('params', dict, True),
    'lookup': ('data', dict, False),
}
INPUT_OPTIONS = ('features', 'items', 'params', 'data')
DEFAULT_STATUS = (200,)
# The user API answers errors with these statuses; they are judged, never raised.
USER_API_ERRORS = tuple(range(400, 600))
USER_API_PREFIX = '/public/api/v1/'
# How the node refuses a query forced to a generation that is not loaded (HTTP 400).
NOT_LOADED = 'Invalid selected generation'

# The options of one query, declared once for the argument specs of apinode_predict and of the smoke tests of
# apinode_release (services[].smoke_tests[]); each module adds the service and the credentials it takes.
# Documented in the doc fragment dss.apinode.query (apinode_predict) and in apinode_release's suboptions.
QUERY_ARGUMENT_SPEC = dict(
    endpoint=dict(type='str', required=True),
    type=dict(type='str', default=DEFAULT_TYPE, choices=list(ENDPOINT_TYPES)),
    features=dict(type='dict'),
    items=dict(type='list', elements='dict'),
    params=dict(type='dict'),
    data=dict(type='dict'),
    generation=dict(type='str'),
    # Picks a generation; not a secret.
    dispatch_key=dict(type='str', no_log=False),
    expected_status=dict(type='list', elements='int', default=list(DEFAULT_STATUS)),
    expected_prediction=dict(type='raw'),
    expect=dict(type='dict'),
)


def query_argument_spec(**options):
    """A copy of ``QUERY_ARGUMENT_SPEC`` with ``options`` (name -> argument spec entry) added, for a module's
    argument spec."""
    spec = copy.deepcopy(QUERY_ARGUMENT_SPEC)
    spec.update(options)
    return spec


def query_problem(query, where='the query'):
    """None when ``query`` can be sent and judged, else one sentence naming ``where`` and the problem."""
    kind = query.get('type') or DEFAULT_TYPE
    if kind not in ENDPOINT_TYPES:
        return 'The type of %s must be one of %s, got %r.' % (where, ', '.join(ENDPOINT_TYPES), kind)
    option, wanted, optional = INPUTS[kind]
    for other in INPUT_OPTIONS:
        if other != option and query.get(other) is not None:
            return '%s gives %s, which a %s query does not take (it takes %s).' % (_cap(where), other, kind, option)
    value = query.get(option)
    if value is None and not optional:
        return '%s needs %s: the %s of the %s query.' % (_cap(where), option, _input_name(kind), kind)
    if value is not None and not isinstance(value, wanted):
        return '%s: %s must be a %s, got %s.' % (
            _cap(where), option, 'list' if wanted is list else 'dict', type(value).__name__)
    if wanted is list and value is not None and not all(isinstance(item, dict) for item in value):
        return '%s: every entry of items must be a dict (one record each).' % _cap(where)
    if query.get('generation') not in (None, '') and query.get('dispatch_key') not in (None, ''):
        return ('%s gives both a generation and a dispatch key: a forced generation always wins, so give one '
                'of them.' % _cap(where))
    statuses = query.get('expected_status')
    if statuses is not None:
        if not isinstance(statuses, (list, tuple)) or not statuses or not all(
                isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599 for s in statuses):
            return '%s: expected_status must be a non-empty list of HTTP statuses (100 to 599), got %r.' % (
                _cap(where), statuses)
    if query.get('expected_prediction') is not None and kind not in PREDICTION_TYPES:
        return ('%s: expected_prediction applies to predict and predict-multi queries; use expect with a path into '
                'the %s answer.' % (_cap(where), kind))
    expect = query.get('expect')
    if expect is not None:
        if not isinstance(expect, dict):
            return '%s: expect must be a dict of dotted paths to expected values.' % _cap(where)
        for key in expect:
            if not isinstance(key, str) or not key or '' in key.split('.'):
                return '%s: expect has an invalid path %r (names and list indexes joined by dots).' % (_cap(where), key)
    return None


def _cap(text):
    return text[:1].upper() + text[1:]


def _input_name(kind):
    return {'predict': 'record to score', 'predict-multi': 'records to score', 'forecast': 'history records',
            'lookup': 'record to look up'}.get(kind, 'input')


def query_path(service_id, query):
    """The path of the query, from the node's root: ``/public/api/v1/<service>/<endpoint>/<type>``."""
    return USER_API_PREFIX + '%s/%s/%s' % (path(service_id), path(query['endpoint']), query.get('type') or DEFAULT_TYPE)


def query_body(query):
    """The JSON body the node expects for the query's type (see the module doc), with its ``dispatch``."""
    kind = query.get('type') or DEFAULT_TYPE
    if kind == 'predict':
        body = dict(features=query['features'])
    elif kind == 'predict-multi':
        body = dict(items=[dict(features=record) for record in query['items']])
    elif kind == 'forecast':
        body = dict(items=list(query['items']))
    elif kind == 'lookup':
        body = dict(data=query['data'])
    else:
        # A function's keyword arguments and a SQL query's parameters are the body itself.
        body = dict(query.get('params') or {})
    dispatch = dispatch_of(query)
    if dispatch:
        body['dispatch'] = dispatch
    return body


def dispatch_of(query):
    if query.get('generation') not in (None, ''):
        return dict(forcedGeneration=to_text(query['generation']))
    if query.get('dispatch_key') not in (None, ''):
        return dict(dispatchKey=to_text(query['dispatch_key']))
    return None


def credentials(query):
    """The ``Authorization`` header value for the query's key or token, or None (public service)."""
    if query.get('bearer_token'):
        return 'Bearer ' + to_text(query['bearer_token'])
    if query.get('api_key'):
        # The user key is the user name, the password is empty (like the admin API).
        return 'Basic ' + to_text(base64.b64encode(to_bytes('%s:' % query['api_key'])))
    return None


def read_path(answer, dotted):
    """``(True, value)`` at ``dotted`` in ``answer`` (names and list indexes joined by dots), else ``(False, None)``."""
    value = answer
    for part in dotted.split('.'):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and _is_index(part) and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return False, None
    return True, value


def _is_index(part):
    return part.isdigit() or (part.startswith('-') and part[1:].isdigit())


def prediction_of(kind, answer):
    """``result.prediction`` of a predict answer, the list of ``results[].prediction`` of predict-multi, else None."""
    if not isinstance(answer, dict):
        return None
    if kind == 'predict':
        result = answer.get('result')
        return result.get('prediction') if isinstance(result, dict) else None
    if kind == 'predict-multi' and isinstance(answer.get('results'), list):
        return [r.get('prediction') if isinstance(r, dict) else None for r in answer['results']]
    return None


def judge(query, status, answer):
    """Whether an answer passes the query's expectations: the status is one of ``expected_status``; then, for an
    answer with such a status, all of these: the answer comes from ``expected_generation`` (when the query names
    one); the prediction is ``expected_prediction``; every ``expect`` path holds its value.

    An answer without ``apiContext`` (a custom response of a Python endpoint) cannot tell its generation:
    it is judged on the status and ``expect`` only when the query sets ``expect`` or a non-default
    ``expected_status``, and fails otherwise.

    ``status``: the HTTP status, None when the node could not be reached; ``answer``: the parsed body (an error
    text as ``{message}``). Returns ``{status, served_generation, prediction, passed, message}``, where message is
    ``ok``, or the wrong status alone (the other expectations describe another answer), or one sentence per failed
    expectation, in the order above, joined with ``; ``; the node's ``Invalid selected generation`` (HTTP 400) is
    explained as a forced generation that is not loaded.
    """
    kind = query.get('type') or DEFAULT_TYPE
    body = answer if isinstance(answer, dict) else {}
    context = body.get('apiContext') if isinstance(body.get('apiContext'), dict) else {}
    served = context.get('serviceGeneration')
    prediction = prediction_of(kind, answer)
    verdict = dict(status=status, served_generation=served, prediction=prediction, passed=False)
    statuses = list(query.get('expected_status') or DEFAULT_STATUS)
    expect = query.get('expect') or {}
    generation = query.get('expected_generation', query.get('generation'))
    self_judged = bool(expect) or statuses != list(DEFAULT_STATUS)
    if status not in statuses:
        # A Java error names itself; a custom answer is shown as it came (cut short).
        reason = body.get('message') or body.get('detailedMessage') or (json.dumps(body, sort_keys=True)[:300] if body and (status or 0) >= 400 else None)
        shown = status if status is not None else 'error'
        if statuses == list(DEFAULT_STATUS):
            verdict['message'] = 'HTTP %s: %s' % (shown, reason or 'no answer')
        else:
            verdict['message'] = 'HTTP %s, expected HTTP %s%s' % (shown, ' or '.join(str(s) for s in statuses),
                                                                  ': %s' % reason if reason else '')
        forced = query.get('generation')
        if status == 400 and forced not in (None, '') and to_text(reason or '').startswith(NOT_LOADED):
            verdict['message'] = ('generation %s is not loaded on the node (a forced generation must be in the '
                                  'mapping or preloaded): %s' % (forced, verdict['message']))
    else:
        # The answer has a wanted status: every other expectation is judged, so that one run names all that differs.
        failures = []
        if generation not in (None, '') and served != generation and not (served is None and self_judged):
            failures.append('answered by generation %s, not %s' % (served, generation))
        if query.get('expected_prediction') is not None and prediction != query['expected_prediction']:
            failures.append('predicted %r, expected %r' % (prediction, query['expected_prediction']))
        for dotted in sorted(expect):
            found, value = read_path(answer, dotted)
            if not found:
                failures.append('%s: not in the answer, expected %r' % (dotted, expect[dotted]))
            elif value != expect[dotted] or isinstance(value, bool) != isinstance(expect[dotted], bool):
                failures.append('%s: expected %r, got %r' % (dotted, expect[dotted], value))
        if failures:
            verdict['message'] = '; '.join(failures)
        else:
            verdict.update(passed=True, message='ok')
    return verdict


def send(client, service_id, query, clock=time.monotonic):
    """Send ``query`` to ``service_id`` through ``client`` (the key or token is registered as a secret of
    the client first) and judge the answer.

    Returns the ``judge`` verdict plus ``json`` (the parsed answer, None when the node could not be reached)
    and ``latency_ms`` (float, milliseconds from sending to the whole answer read). Never raises for an
    answer, whatever its status; a query that cannot be built raises ValueError (see ``query_problem``).
    """
    problem = query_problem(query)
    if problem:
        raise ValueError(problem)
    client.add_secret(query.get('api_key'))
    client.add_secret(query.get('bearer_token'))
    auth = credentials(query)
    started = clock()
    try:
        # A function endpoint may act on something, so a query to it is sent once; the others are reads.
        response = client.request('POST', query_path(service_id, query), body=query_body(query), auth=bool(auth),
                                  credentials=auth, expect_error_statuses=USER_API_ERRORS,
                                  retry_safe=(query.get('type') or DEFAULT_TYPE) != 'run')
        status, answer = response.status, response.body
    except ApiNodeError as err:
        status, answer = err.status, dict(message=err.msg)
    latency_ms = round((clock() - started) * 1000.0, 3)
    verdict = judge(query, status, answer)
    verdict.update(json=answer if status is not None else None, latency_ms=latency_ms)
    return verdict
