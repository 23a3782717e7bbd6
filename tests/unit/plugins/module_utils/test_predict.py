# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one query builder and verdict of the user API: input checks, paths and bodies per endpoint type,
credentials, dotted paths, the verdict, and one send through a stand-in client."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

import pytest

from ansible_collections.dss.apinode.plugins.module_utils import _apply, _plan, _predict
from ansible_collections.dss.apinode.plugins.module_utils._client import (
    ApiNodeConnectionError,
    ApiNodeResponse,
)

ANSWER = {'result': {'prediction': 'yes', 'probas': {'yes': 0.7, 'no': 0.3}},
          'apiContext': {'serviceId': 'churn', 'endpointId': 'predict', 'serviceGeneration': 'v2'}}


class TestQueryProblem:
    @pytest.mark.parametrize('query, message', [
        (dict(type='score', endpoint='e'), "The type of the query must be one of predict, predict-multi, forecast, run, "
                                           "query, lookup, got 'score'."),
        (dict(endpoint='e'), 'The query needs features: the record to score of the predict query.'),
        (dict(type='lookup', endpoint='e'), 'The query needs data: the record to look up of the lookup query.'),
        (dict(type='forecast', endpoint='e'), 'The query needs items: the history records of the forecast query.'),
        (dict(type='run', endpoint='e', features={}), 'The query gives features, which a run query does not take '
                                                      '(it takes params).'),
        (dict(endpoint='e', features=[1]), 'The query: features must be a dict, got list.'),
        (dict(type='predict-multi', endpoint='e', items=[{}, 3]), 'every entry of items must be a dict'),
        (dict(endpoint='e', features={}, generation='v1', dispatch_key='k'), 'gives both a generation and a dispatch key'),
        (dict(endpoint='e', features={}, expected_status=[]), 'expected_status must be a non-empty list of HTTP statuses'),
        (dict(endpoint='e', features={}, expected_status=[700]), 'expected_status must be a non-empty list'),
        (dict(type='run', endpoint='e', expected_prediction='yes'),
         'expected_prediction applies to predict and predict-multi queries'),
        (dict(endpoint='e', features={}, expect=['a']), 'expect must be a dict of dotted paths'),
        (dict(endpoint='e', features={}, expect={'a..b': 1}), "expect has an invalid path 'a..b'"),
    ])
    def test_one_clear_error(self, query, message):
        assert message in _predict.query_problem(query)

    @pytest.mark.parametrize('query', [
        dict(endpoint='e', features={}),
        dict(type='run', endpoint='e'),
        dict(type='query', endpoint='e', params={'limit': 3}),
        dict(type='predict-multi', endpoint='e', items=[{'a': 1}], expected_prediction=['yes']),
        dict(endpoint='e', features={}, generation='v1', expected_status=[200, 422], expect={'result.prediction': 'no'}),
    ])
    def test_valid(self, query):
        assert _predict.query_problem(query) is None

    def test_where_names_the_smoke_test(self):
        assert _predict.query_problem(dict(endpoint='e'), 'the service churn smoke test #0 (e)').startswith(
            'The service churn smoke test #0 (e) needs features')


class TestRequest:
    @pytest.mark.parametrize('query, body', [
        (dict(endpoint='e', features={'a': 1}, generation='v2'),
         {'features': {'a': 1}, 'dispatch': {'forcedGeneration': 'v2'}}),
        (dict(type='predict-multi', endpoint='e', items=[{'a': 1}, {'a': 2}], dispatch_key='k1'),
         {'items': [{'features': {'a': 1}}, {'features': {'a': 2}}], 'dispatch': {'dispatchKey': 'k1'}}),
        (dict(type='forecast', endpoint='e', items=[{'date': '2024-01-01', 'sales': 3}]),
         {'items': [{'date': '2024-01-01', 'sales': 3}]}),
        (dict(type='run', endpoint='e', params={'x': 1}, generation='v1'), {'x': 1, 'dispatch': {'forcedGeneration': 'v1'}}),
        (dict(type='run', endpoint='e'), {}),
        (dict(type='query', endpoint='e', params={'limit': 3}), {'limit': 3}),
        (dict(type='lookup', endpoint='e', data={'id': 'c1'}), {'data': {'id': 'c1'}}),
    ])
    def test_body_per_type(self, query, body):
        assert _predict.query_body(query) == body

    def test_params_are_not_changed_by_the_dispatch(self):
        params = {'x': 1}
        _predict.query_body(dict(type='run', endpoint='e', params=params, generation='v1'))
        assert params == {'x': 1}

    def test_path_quotes_each_segment(self):
        assert _predict.query_path('churn', dict(endpoint='e p', type='lookup')) == '/public/api/v1/churn/e%20p/lookup'
        assert _predict.query_path('churn', dict(endpoint='score')) == '/public/api/v1/churn/score/predict'

    def test_credentials(self):
        assert _predict.credentials(dict()) is None
        basic = _predict.credentials(dict(api_key='userKey'))
        assert basic == 'Basic ' + base64.b64encode(b'userKey:').decode('ascii')
        assert _predict.credentials(dict(bearer_token='jwt.token')) == 'Bearer jwt.token'


class TestReadPath:
    @pytest.mark.parametrize('dotted, expected', [
        ('result.prediction', (True, 'yes')),
        ('result.probas.no', (True, 0.3)),
        ('results.0.data.segment', (True, 'gold')),
        ('results.-1.data.segment', (True, 'silver')),
        ('results.2.data', (False, None)),
        ('results.x', (False, None)),
        ('result.missing', (False, None)),
        ('result.prediction.deeper', (False, None)),
    ])
    def test_paths(self, dotted, expected):
        answer = dict(ANSWER, results=[{'data': {'segment': 'gold'}}, {'data': {'segment': 'silver'}}])
        assert _predict.read_path(answer, dotted) == expected


class TestJudge:
    def test_pass(self):
        verdict = _predict.judge(dict(endpoint='e', features={}, generation='v2', expected_prediction='yes'), 200, ANSWER)
        assert verdict == dict(status=200, served_generation='v2', prediction='yes', passed=True, message='ok')

    @pytest.mark.parametrize('query, status, answer, message', [
        (dict(), 400, {'message': 'Service churn is not active'}, 'HTTP 400: Service churn is not active'),
        (dict(), None, {'message': 'Cannot reach the API node'}, 'HTTP error: Cannot reach the API node'),
        (dict(expected_status=[422]), 200, ANSWER, 'HTTP 200, expected HTTP 422'),
        (dict(expected_status=[200, 422]), 500, {'message': 'boom'}, 'HTTP 500, expected HTTP 200 or 422: boom'),
        (dict(generation='v1'), 200, ANSWER, 'answered by generation v2, not v1'),
        (dict(generation='v1'), 200, {'custom': True}, 'answered by generation None, not v1'),
        (dict(expected_prediction='no'), 200, ANSWER, "predicted 'yes', expected 'no'"),
        (dict(expect={'result.probas.yes': 0.5, 'apiContext.endpointId': 'predict'}), 200, ANSWER,
         'result.probas.yes: expected 0.5, got 0.7'),
        (dict(expect={'result.explanations': {}}), 200, ANSWER, 'result.explanations: not in the answer, expected {}'),
        (dict(expect={'a': 1, 'b': '1'}), 200, {'a': True, 'b': 1}, "a: expected 1, got True; b: expected '1', got 1"),
    ])
    def test_fail(self, query, status, answer, message):
        verdict = _predict.judge(dict(query, endpoint='e', features={}), status, answer)
        assert verdict['passed'] is False
        assert verdict['message'] == message

    def test_every_failed_expectation_is_named_in_one_message(self):
        query = dict(endpoint='e', features={}, generation='v1', expected_prediction='no',
                     expect={'result.probas.yes': 0.5, 'apiContext.endpointId': 'predict', 'result.explanations': {}})
        verdict = _predict.judge(query, 200, ANSWER)
        assert verdict['passed'] is False
        assert verdict['message'] == ("answered by generation v2, not v1; predicted 'yes', expected 'no'; "
                                      "result.explanations: not in the answer, expected {}; "
                                      "result.probas.yes: expected 0.5, got 0.7")

    def test_a_wrong_status_is_named_alone(self):
        # The other expectations describe the wanted answer, not an error.
        verdict = _predict.judge(dict(endpoint='e', features={}, expected_prediction='no', expect={'a': 1}), 500,
                                 {'message': 'boom'})
        assert verdict['message'] == 'HTTP 500: boom'

    def test_custom_answer_judged_by_its_status_and_paths(self):
        # A Python endpoint answering its own status and body has no apiContext: the test judges it itself.
        query = dict(type='run', endpoint='e', generation='v2', expected_status=[422], expect={'error.code': 7})
        verdict = _predict.judge(query, 422, {'error': {'code': 7}})
        assert verdict == dict(status=422, served_generation=None, prediction=None, passed=True, message='ok')

    def test_custom_answer_must_still_come_from_the_generation_when_it_says(self):
        query = dict(type='run', endpoint='e', generation='v2', expect={'response': 1})
        verdict = _predict.judge(query, 200, {'response': 1, 'apiContext': {'serviceGeneration': 'v1'}})
        assert verdict['message'] == 'answered by generation v1, not v2'

    def test_expected_generation_overrides_the_forced_one(self):
        query = dict(endpoint='e', features={}, dispatch_key='k', expected_generation=None)
        assert _predict.judge(query, 200, ANSWER)['passed'] is True

    def test_predict_multi_prediction_is_the_list(self):
        answer = {'results': [{'prediction': 'yes'}, {'prediction': 'no'}]}
        query = dict(type='predict-multi', endpoint='e', items=[{}, {}], expected_prediction=['yes', 'no'])
        verdict = _predict.judge(query, 200, answer)
        assert verdict['prediction'] == ['yes', 'no'] and verdict['passed'] is True


class FakeClient(object):
    def __init__(self, answer=None, error=None):
        self.answer, self.error = answer, error
        self.secrets, self.sent = [], []

    def add_secret(self, value):
        self.secrets.append(value)

    def request(self, method, rel_path, **kwargs):
        self.sent.append(dict(kwargs, method=method, path=rel_path))
        if self.error:
            raise self.error
        return self.answer


class TestSend:
    def test_sends_the_query_and_judges_it(self):
        client = FakeClient(ApiNodeResponse(200, {}, ANSWER))
        ticks = iter([10.0, 10.0125])
        query = dict(endpoint='predict', features={'a': 1}, generation='v2', api_key='userKey')
        got = _predict.send(client, 'churn', query, clock=lambda: next(ticks))
        assert got == dict(status=200, served_generation='v2', prediction='yes', passed=True, message='ok', json=ANSWER,
                           latency_ms=12.5)
        sent = client.sent[0]
        assert (sent['method'], sent['path']) == ('POST', '/public/api/v1/churn/predict/predict')
        assert sent['body'] == {'features': {'a': 1}, 'dispatch': {'forcedGeneration': 'v2'}}
        assert sent['auth'] is True and sent['credentials'].startswith('Basic ')
        assert sent['expect_error_statuses'] == _predict.USER_API_ERRORS
        assert sent['retry_safe'] is True
        assert 'userKey' in client.secrets

    def test_public_service_gets_no_authorization(self):
        client = FakeClient(ApiNodeResponse(200, {}, ANSWER))
        _predict.send(client, 'churn', dict(endpoint='predict', features={}))
        assert client.sent[0]['auth'] is False and client.sent[0]['credentials'] is None

    def test_function_call_is_sent_once(self):
        client = FakeClient(ApiNodeResponse(200, {}, {'response': 1}))
        _predict.send(client, 'churn', dict(type='run', endpoint='fn', bearer_token='tok'))
        assert client.sent[0]['retry_safe'] is False
        assert client.sent[0]['credentials'] == 'Bearer tok'
        assert 'tok' in client.secrets

    def test_unreachable_node_is_a_verdict(self):
        client = FakeClient(error=ApiNodeConnectionError('Cannot reach the API node: POST http://n/: refused'))
        got = _predict.send(client, 'churn', dict(endpoint='predict', features={}))
        assert got['status'] is None and got['json'] is None and got['passed'] is False
        assert got['message'] == 'HTTP error: Cannot reach the API node: POST http://n/: refused'

    def test_bad_query_raises_before_any_request(self):
        client = FakeClient()
        with pytest.raises(ValueError):
            _predict.send(client, 'churn', dict(type='lookup', endpoint='e'))
        assert client.sent == []


class TestSmokeTests:
    """The release engine's smoke tests are _predict queries: normalised by _plan, sent by _apply."""

    def release(self, **test):
        service = dict(id='churn', generation='v2', smoke_tests=[dict(test, endpoint=test.get('endpoint', 'fn'))])
        return _plan.normalise_release([service])['services'][0]['smoke_tests'][0]

    def test_function_endpoint_with_expectations(self):
        got = self.release(type='run', params={'x': 1}, expected_status=[200, 422], expect={'response.ok': True})
        assert got == dict(endpoint='fn', type='run', params={'x': 1}, generation='v2', expected_generation='v2',
                           dispatch_key=None, api_key=None, expected_status=[200, 422], expect={'response.ok': True})
        assert _predict.query_body(got) == {'x': 1, 'dispatch': {'forcedGeneration': 'v2'}}

    def test_dispatch_key_forces_no_generation(self):
        got = self.release(endpoint='predict', features={'a': 1}, dispatch_key='k1')
        assert (got['generation'], got['expected_generation']) == (None, None)
        assert _predict.query_body(got) == {'features': {'a': 1}, 'dispatch': {'dispatchKey': 'k1'}}

    @pytest.mark.parametrize('test, message', [
        (dict(type='run', features={'a': 1}), 'The service churn smoke test #0 (fn) gives features, which a run query '
                                              'does not take (it takes params).'),
        (dict(type='lookup'), 'The service churn smoke test #0 (fn) needs data'),
        (dict(features={}, dispatch_key='k', generation='v2'), 'gives both a generation and a dispatch key'),
    ])
    def test_one_clear_error(self, test, message):
        with pytest.raises(_plan.PlanError) as info:
            self.release(**test)
        assert message in str(info.value)

    def test_retried_until_it_passes(self):
        class Script(FakeClient):
            answers = [ApiNodeResponse(503, {}, {'message': 'loading'}), ApiNodeResponse(200, {}, {'response': {'ok': True}})]

            def request(self, method, rel_path, **kwargs):
                self.sent.append(dict(kwargs, path=rel_path))
                return self.answers.pop(0)

        client, slept = Script(), []
        test = self.release(type='run', expect={'response.ok': True})
        got = _apply.smoke_test(client, 'churn', test, retries=2, delay=0.5, sleep=slept.append)
        assert got == dict(service='churn', endpoint='fn', generation='v2', status=200, served_generation=None,
                           prediction=None, passed=True, message='ok')
        assert slept == [0.5] and [s['path'] for s in client.sent] == ['/public/api/v1/churn/fn/run'] * 2
