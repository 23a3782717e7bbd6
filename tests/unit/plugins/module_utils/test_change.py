# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The read -> plan -> apply -> re-read flow that every writing module shares."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dss.apinode.plugins.module_utils import _change
from ansible_collections.dss.apinode.plugins.module_utils._client import ApiNodeError


class Failed(Exception):
    def __init__(self, result):
        super(Failed, self).__init__(result.get('msg'))
        self.result = result


class FakeModule(object):
    def __init__(self, check_mode=False, diff=False):
        self.check_mode, self._diff = check_mode, diff
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)

    def fail_json(self, **result):
        raise Failed(result)


class FakeClient(object):
    """Records each request; ``answers`` maps (method, path) to an answer, or to an ApiNodeError to raise."""

    def __init__(self, answers=None, version='13.2.0'):
        self.answers = answers or {}
        self.requests = []
        self.last_headers = {'dss-version': version} if version else {}
        self.base_url = 'http://node:12000'

    @property
    def request_count(self):
        return len(self.requests)

    def request(self, method, rel_path, body=None, query=None):
        self.requests.append((method, rel_path, body, query))
        answer = self.answers.get((method, rel_path))
        if isinstance(answer, ApiNodeError):
            raise answer
        return type('Response', (), dict(body=answer, status=200))()

    def upload(self, rel_path, file_path):
        self.requests.append(('UPLOAD', rel_path, file_path, None))
        return {'uploaded': file_path}

    def get(self, rel_path):
        return self.request('GET', rel_path).body


STEPS = [_change.step('create', 'thing t is missing', method='POST', path='things/', body={'id': 't'}),
         _change.step('enable', 'thing t is disabled, the task wants it enabled', method='POST',
                      path='things/t/enable', feature='model_cache')]


def plan(current):
    if current == {'id': 't', 'on': True}:
        return _change.Change([], current, current)
    return _change.Change(STEPS, current, {'id': 't', 'on': True}, returns=dict(note='n'),
                          predicted=dict(token='<placeholder>'))


def converge(module, client, current=None, **options):
    return _change.converge(module, client, read=lambda: current, plan=plan, resource='thing', previous='previous',
                            **options)


class TestConverge:
    def test_check_mode_predicts_and_sends_nothing(self):
        client = FakeClient()
        result = converge(FakeModule(check_mode=True, diff=True), client)
        assert result == dict(changed=True, plan=['thing t is missing', 'thing t is disabled, the task wants it enabled'],
                              thing={'id': 't', 'on': True}, previous=None, note='n', token='<placeholder>',
                              diff={'before': {}, 'after': {'id': 't', 'on': True}})
        assert client.requests == []

    def test_a_real_run_applies_each_step_in_order_then_rereads(self):
        client = FakeClient({('POST', 'things/'): {'id': 't'}})
        seen = []

        def reread(change, answers):
            seen.append(answers)
            return dict(thing={'id': 't', 'on': True, 'read': True}, token='real')

        result = converge(FakeModule(diff=True), client, reread=reread)
        assert [r[:2] for r in client.requests] == [('POST', 'things/'), ('POST', 'things/t/enable')]
        assert client.requests[0][2] == {'id': 't'}
        assert seen == [[{'id': 't'}, None]]
        assert result['thing'] == {'id': 't', 'on': True, 'read': True} and result['token'] == 'real'
        assert result['diff']['after'] == result['thing'] and result['changed'] is True

    @pytest.mark.parametrize('check_mode', [False, True])
    def test_nothing_to_do_is_no_change_in_both_modes(self, check_mode):
        client = FakeClient()
        current = {'id': 't', 'on': True}
        result = converge(FakeModule(check_mode=check_mode), client, current=current,
                          reread=lambda change, answers: pytest.fail('nothing ran, nothing to re-read'))
        assert result['changed'] is False and result['plan'] == [] and result['thing'] == current
        assert client.requests == [] and 'diff' not in result

    def test_a_failed_step_stops_the_run_and_says_what_was_done(self):
        error = ApiNodeError('POST things/t/enable failed with HTTP 500: boom', status=500, method='POST', url='u')
        client = FakeClient({('POST', 'things/t/enable'): error})
        with pytest.raises(Failed) as info:
            converge(FakeModule(), client)
        result = info.value.result
        assert result['msg'] == error.msg and result['status'] == 500 and result['changed'] is True
        assert result['plan'] == [s['sentence'] for s in STEPS] and result['applied'] == [STEPS[0]['sentence']]
        assert result['api_calls'] == 2

    def test_a_first_step_that_fails_changed_nothing(self):
        error = ApiNodeError('POST things/ failed with HTTP 400: exists', status=400, method='POST', url='u')
        with pytest.raises(Failed) as info:
            converge(FakeModule(), FakeClient({('POST', 'things/'): error}))
        assert info.value.result['changed'] is False and info.value.result['applied'] == []

    def test_a_feature_the_node_lacks_fails_before_any_write_in_check_mode_too(self):
        for check_mode in (False, True):
            client = FakeClient(version='12.4.0')
            with pytest.raises(Failed) as info:
                converge(FakeModule(check_mode=check_mode), client)
            assert info.value.result['msg'] == 'The model cache needs DSS 12.5 or newer, node runs 12.4.0.'
            assert client.requests == []

    def test_warnings_of_the_plan_reach_the_module(self):
        module = FakeModule()
        _change.converge(module, FakeClient(), read=lambda: None,
                         plan=lambda current: _change.Change(warnings=['left as is']))
        assert module.warnings == ['left as is']


class TestRun:
    def test_a_refusal_fails_with_its_message_and_the_request_count(self):
        client = FakeClient()

        def refuse(current):
            raise _change.Refused('No.', hint='h')

        with pytest.raises(Failed) as info:
            _change.run(FakeModule(), client, read=lambda: client.get('things'), plan=refuse)
        assert info.value.result == dict(msg='No.', changed=False, api_calls=1, hint='h')

    def test_checked_turns_a_refusal_into_a_failure(self):
        def check(value):
            if value < 0:
                raise _change.Refused('value must be 0 or more, got %s.' % value)
            return value * 2

        assert _change.checked(FakeModule(), check, 2) == 4
        with pytest.raises(Failed) as info:
            _change.checked(FakeModule(), check, -1)
        assert info.value.result == dict(msg='value must be 0 or more, got -1.')


def test_send_streams_an_upload_and_sends_the_rest_as_json():
    client = FakeClient({('DELETE', 'things/t'): {'deleted': True}})
    assert _change.send(client, _change.step('delete', 's', method='DELETE', path='things/t')) == {'deleted': True}
    assert _change.send(client, _change.step('import', 's', method='POST', path='things/up', upload='/tmp/a.zip')) == {
        'uploaded': '/tmp/a.zip'}
    assert client.requests == [('DELETE', 'things/t', None, None), ('UPLOAD', 'things/up', '/tmp/a.zip', None)]


def test_needed_features_join_the_change_and_its_steps():
    change = _change.Change(STEPS, features=['cleanup'])
    assert _change.needed_features(change) == ['cleanup', 'model_cache']
