# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""apinode_predict against a scripted HTTP exchange: each test lists the requests the module must send, in
order, with the node's answers (every endpoint type, forced generation, dispatch key, keys, expectations)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

import pytest

from ansible_collections.dss.apinode.tests.unit.plugins.modules.scripted_node import ADMIN_KEY, Call, runner

USER_KEY = 'userKey-Qu3ry'
TOKEN = 'eyJhbGciOiJSUzI1NiJ9.payload.signature'


@pytest.fixture
def run(monkeypatch, capsys):
    """run(args, calls, check_mode=False, url=URL) -> (failed, result, exchange): main() with ``calls`` scripted."""
    scripted = runner(monkeypatch, capsys, 'apinode_predict', secrets=(USER_KEY, TOKEN),
                      defaults=dict(service='churn', endpoint='predict'))

    def run_predict(args, calls, **kwargs):
        failed, result, exchange = scripted(args, calls, **kwargs)
        for request in exchange.requests:
            # The admin key never goes to the user API.
            assert ADMIN_KEY not in json.dumps(request)
            assert base64.b64encode(('%s:' % ADMIN_KEY).encode()).decode() not in json.dumps(request)
        return failed, result, exchange
    return run_predict


def answer(generation='v2', **payload):
    payload['apiContext'] = {'serviceId': 'churn', 'endpointId': 'predict', 'serviceGeneration': generation}
    return payload


PREDICTED = answer(result={'prediction': 'yes', 'probas': {'yes': 0.8, 'no': 0.2}})


class TestTypes:
    def test_predict_on_a_public_service(self, run):
        failed, result, exchange = run(dict(features={'age': 42}), [
            Call('POST', '/public/api/v1/churn/predict/predict', answer=PREDICTED, body={'features': {'age': 42}})])
        assert not failed and result['changed'] is False
        assert result['json'] == PREDICTED
        assert (result['status'], result['served_generation'], result['prediction']) == (200, 'v2', 'yes')
        assert isinstance(result['latency_ms'], float) and result['latency_ms'] >= 0
        assert result['api_calls'] == 1
        assert 'Authorization' not in exchange.requests[0]['headers']

    @pytest.mark.parametrize('args, path, body, node_answer', [
        (dict(type='predict-multi', items=[{'a': 1}, {'a': 2}]), 'predict-multi',
         {'items': [{'features': {'a': 1}}, {'features': {'a': 2}}]},
         answer(results=[{'prediction': 'yes'}, {'prediction': 'no'}])),
        (dict(type='forecast', items=[{'date': '2024-01-01', 'sales': 4.0}]), 'forecast',
         {'items': [{'date': '2024-01-01', 'sales': 4.0}]}, answer(results=[{'forecast': 4.2}])),
        (dict(type='run', params={'x': 1}), 'run', {'x': 1}, answer(response={'score': 0.5})),
        (dict(type='run'), 'run', {}, answer(response=None)),
        (dict(type='query', params={'limit': 2}), 'query', {'limit': 2},
         answer(results=[{'columns': [{'name': 'n', 'type': 'int'}], 'rows': [[1]]}])),
        (dict(type='lookup', data={'id': 'c1'}), 'lookup', {'data': {'id': 'c1'}},
         answer(results=[{'data': {'id': 'c1', 'segment': 'gold'}}])),
    ])
    def test_every_type(self, run, args, path, body, node_answer):
        failed, result, _exchange = run(dict(args, endpoint='ep'), [
            Call('POST', '/public/api/v1/churn/ep/' + path, answer=node_answer, body=body)])
        assert not failed, result['msg']
        assert result['json'] == node_answer and result['served_generation'] == 'v2'
        assert ('prediction' in result) == (path == 'predict-multi')
        if path == 'predict-multi':
            assert result['prediction'] == ['yes', 'no']


class TestDispatch:
    def test_forced_generation(self, run):
        failed, result, _exchange = run(dict(features={}, generation='v2'), [
            Call('POST', '/public/api/v1/churn/predict/predict', answer=PREDICTED,
                 body={'features': {}, 'dispatch': {'forcedGeneration': 'v2'}})])
        assert not failed and result['served_generation'] == 'v2'

    def test_forced_generation_must_answer(self, run):
        failed, result, _exchange = run(dict(features={}, generation='v3'), [
            Call('POST', '/public/api/v1/churn/predict/predict', answer=PREDICTED)])
        assert failed
        assert result['msg'] == ('The predict query of endpoint predict of service churn failed: answered by '
                                 'generation v2, not v3.')
        # What the node answered stays in the result, for a rescue block.
        assert result['json'] == PREDICTED and result['status'] == 200

    def test_dispatch_key_accepts_any_generation(self, run):
        failed, result, _exchange = run(dict(features={}, dispatch_key='customer-7'), [
            Call('POST', '/public/api/v1/churn/predict/predict', answer=answer('v1', result={'prediction': 'no'}),
                 body={'features': {}, 'dispatch': {'dispatchKey': 'customer-7'}})])
        assert not failed and result['served_generation'] == 'v1'

    def test_hash_based_without_key_is_a_400(self, run):
        error = {'errorType': 'java.lang.IllegalArgumentException',
                 'message': 'For a HASH_BASED dispatch, the dispatch key is mandatory in queries'}
        failed, result, _exchange = run(dict(features={}), [
            Call('POST', '/public/api/v1/churn/predict/predict', status=400, answer=error)])
        assert failed and result['status'] == 400
        assert result['msg'].endswith('HTTP 400: For a HASH_BASED dispatch, the dispatch key is mandatory in queries.')


class TestKeys:
    def test_user_key_is_sent_as_basic(self, run):
        failed, _result, exchange = run(dict(features={}, user_api_key=USER_KEY), [
            Call('POST', '/public/api/v1/churn/predict/predict', answer=PREDICTED)])
        assert not failed
        sent = exchange.requests[0]['headers']['Authorization']
        assert sent == 'Basic ' + base64.b64encode(('%s:' % USER_KEY).encode()).decode()

    def test_bearer_token(self, run):
        failed, _result, exchange = run(dict(features={}, bearer_token=TOKEN), [
            Call('POST', '/public/api/v1/churn/predict/predict', answer=PREDICTED)])
        assert not failed and exchange.requests[0]['headers']['Authorization'] == 'Bearer ' + TOKEN

    def test_wrong_key_message_shows_no_key(self, run):
        error = {'errorType': 'com.dataiku.dip.exceptions.NotAuthenticatedException', 'message': 'Unknown API key'}
        failed, result, _exchange = run(dict(features={}, user_api_key=USER_KEY), [
            Call('POST', '/public/api/v1/churn/predict/predict', status=401, answer=error)])
        assert failed and result['msg'].endswith('HTTP 401: Unknown API key.')

    def test_no_admin_key_needed(self, run, monkeypatch):
        failed, _result, _exchange = run(dict(features={}, api_key=None), [
            Call('POST', '/public/api/v1/churn/predict/predict', answer=PREDICTED)])
        assert not failed


class TestExpectations:
    def test_custom_status_and_body(self, run):
        custom = {'error': {'code': 'BAD_INPUT', 'fields': ['age']}}
        failed, result, _exchange = run(dict(type='run', endpoint='fn', generation='v2', expected_status=[422],
                                             expect={'error.code': 'BAD_INPUT', 'error.fields.0': 'age'}), [
            Call('POST', '/public/api/v1/churn/fn/run', status=422, answer=custom)])
        assert not failed, result['msg']
        assert result['status'] == 422 and result['json'] == custom and result['served_generation'] is None

    def test_failed_expectation_names_path_expected_and_got(self, run):
        failed, result, _exchange = run(dict(features={}, expect={'result.probas.yes': 0.5, 'result.prediction': 'yes'}), [
            Call('POST', '/public/api/v1/churn/predict/predict', answer=PREDICTED)])
        assert failed
        assert result['msg'] == ('The predict query of endpoint predict of service churn failed: result.probas.yes: '
                                 'expected 0.5, got 0.8.')

    def test_missing_path(self, run):
        failed, result, _exchange = run(dict(type='lookup', data={'id': 'c1'}, expect={'results.0.data.segment': 'gold'}), [
            Call('POST', '/public/api/v1/churn/predict/lookup', answer=answer(results=[]))])
        assert failed and result['msg'].endswith("results.0.data.segment: not in the answer, expected 'gold'.")

    def test_expected_prediction(self, run):
        failed, result, _exchange = run(dict(features={}, expected_prediction='no'), [
            Call('POST', '/public/api/v1/churn/predict/predict', answer=PREDICTED)])
        assert failed and result['msg'].endswith("predicted 'yes', expected 'no'.")

    def test_prediction_and_paths_that_all_fail_are_all_named(self, run):
        failed, result, _exchange = run(dict(features={}, expected_prediction='no',
                                             expect={'result.probas.yes': 0.5, 'apiContext.serviceId': 'churn'}), [
            Call('POST', '/public/api/v1/churn/predict/predict', answer=PREDICTED)])
        assert failed
        assert result['msg'] == ("The predict query of endpoint predict of service churn failed: predicted 'yes', "
                                 "expected 'no'; result.probas.yes: expected 0.5, got 0.8.")
        assert result['prediction'] == 'yes' and result['status'] == 200

    def test_unexpected_status(self, run):
        failed, result, _exchange = run(dict(features={}, expected_status=[503]), [
            Call('POST', '/public/api/v1/churn/predict/predict', answer=PREDICTED)])
        assert failed and result['msg'].endswith('HTTP 200, expected HTTP 503.')

    def test_text_answer(self, run):
        failed, result, _exchange = run(dict(type='run', expected_status=[200], expect={'message': 'pong'}), [
            Call('POST', '/public/api/v1/churn/predict/run', raw=b'pong')])
        assert not failed and result['json'] == {'message': 'pong'}


class TestModes:
    def test_check_mode_sends_the_query(self, run):
        failed, result, exchange = run(dict(features={}), [
            Call('POST', '/public/api/v1/churn/predict/predict', answer=PREDICTED)], check_mode=True)
        assert not failed and result['changed'] is False and len(exchange.requests) == 1


class TestInputs:
    @pytest.mark.parametrize('args, message', [
        (dict(type='lookup'), 'The query needs data: the record to look up of the lookup query.'),
        (dict(type='run', features={'a': 1}), 'The query gives features, which a run query does not take'),
        (dict(features={}, endpoint='bad/ep'), "Invalid endpoint id 'bad/ep' for endpoint"),
        (dict(features={}, service='bad service'), "Invalid service id 'bad service' for service"),
        (dict(features={}, generation='.v1'), "Invalid generation id '.v1' for generation"),
        (dict(features={}, generation='v1', dispatch_key='k'), 'parameters are mutually exclusive: generation|dispatch_key'),
        (dict(features={}, user_api_key=USER_KEY, bearer_token=TOKEN), 'mutually exclusive: user_api_key|bearer_token'),
        (dict(features={}, expected_status=[]), 'expected_status must be a non-empty list of HTTP statuses'),
        (dict(features={}, timeout=0), 'timeout must be a positive number of seconds, got 0.'),
        (dict(type='run', expected_prediction='yes'), 'expected_prediction applies to predict and predict-multi'),
    ])
    def test_one_clear_error_before_any_request(self, run, args, message):
        failed, result, exchange = run(args, [])
        assert failed and message in result['msg']
        assert exchange.requests == []

    def test_missing_url(self, run):
        failed, result, _exchange = run(dict(features={}), [], url=None)
        assert failed and result['msg'] == ('Missing connection settings for the API node: url (or the '
                                            'DATAIKU_APINODE_URL environment variable). With the dss.apinode.deploy '
                                            'role: apinode_url per host, or apinode_deploy_url.')

    def test_missing_url_without_admin_key_names_only_the_url(self, run):
        # The shared connection check, told that the user API needs no admin key.
        failed, result, exchange = run(dict(features={}, api_key=None), [], url=None)
        assert failed and 'url (or the DATAIKU_APINODE_URL' in result['msg']
        assert 'api_key' not in result['msg'] and 'admin_key' not in result['msg']
        assert exchange.requests == []

    @pytest.mark.parametrize('args, message', [
        (dict(retries=-1), 'retries must be 0 or more, got -1.'),
        (dict(timeout=-5), 'timeout must be a positive number of seconds, got -5.'),
    ])
    def test_request_settings_are_checked_by_the_shared_check(self, run, args, message):
        failed, result, exchange = run(dict(features={}, api_key=None, **args), [])
        assert failed and result['msg'] == message and exchange.requests == []

    def test_url_with_user_info_is_refused(self, run):
        failed, result, _exchange = run(dict(features={}), [], url='http://user:Pa55w0rdInUrl@node:12000')
        assert failed and 'user name or password' in result['msg']
        assert 'Pa55w0rdInUrl' not in json.dumps(result)
