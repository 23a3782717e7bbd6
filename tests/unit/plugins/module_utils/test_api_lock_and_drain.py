# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The admin-API lock (api transport) and the drain of a node from its load balancer."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.dss.apinode.plugins.module_utils import _api_lock, _drain
from ansible_collections.dss.apinode.plugins.module_utils._client import ApiNodeError, ApiNodeResponse


class FakeNode(object):
    """The key store and not-alive flag of one node, behind the client methods the lock and drain use."""

    def __init__(self, delete_by_id=True, hashed=False):
        self.keys, self.calls, self.secrets = [], [], []
        self.clock = 1000
        self.delete_by_id, self.hashed = delete_by_id, hashed
        self.not_alive = False
        self.last_headers = {}
        self.before_list = None  # a hook: another run acting between our create and our list

    def get(self, rel):
        assert rel == 'keys'
        self.calls.append(('GET', rel))
        if self.before_list:
            hook, self.before_list = self.before_list, None
            hook()
        return [dict(k, key=None) if self.hashed else dict(k) for k in self.keys]

    def post(self, rel, body=None, retry_safe=False):
        self.calls.append(('POST', rel))
        if rel == 'keys':
            self.clock += 1
            self.keys.append(dict(body, id='id%d' % self.clock, createdOn=self.clock))
        elif rel == 'set-not-alive':
            self.not_alive = True
        elif rel == 'set-alive':
            self.not_alive = False

    def request(self, method, rel, retry_safe=None, auth=True, expect_error_statuses=()):
        self.calls.append((method, rel))
        if rel == '/isAlive/':
            return ApiNodeResponse(503 if self.not_alive else 200, {}, {})
        if not self.delete_by_id:
            raise ApiNodeError('no such path', status=404)
        key_id = rel.split('/')[1]
        self.keys = [k for k in self.keys if k['id'] != key_id]

    def delete(self, rel, retry_safe=False):
        self.calls.append(('DELETE', rel))
        value = rel.split('/', 1)[1]
        self.keys = [k for k in self.keys if k['key'] != value]

    def add_secret(self, value):
        self.secrets.append(value)


def test_the_lock_is_taken_once_per_owner_and_released():
    node = FakeNode()
    assert _api_lock.check(node, 'run-1') == 'free'
    assert _api_lock.acquire(node, 'run-1', 'alice on ctl') is True
    assert _api_lock.acquire(node, 'run-1', 'alice on ctl') is False, 'a later play of the same run'
    assert _api_lock.check(node, 'run-1') == 'ours'
    key = node.keys[0]
    assert key['label'] == _api_lock.LOCK_LABEL and json.loads(key['description'])['holder'] == 'alice on ctl'
    assert key['key'] in node.secrets, 'the random secret is registered as a secret, never shown'
    with pytest.raises(_api_lock.ApiLockHeld, match=r'alice on ctl, since .*delete that key'):
        _api_lock.acquire(node, 'run-2', 'bob')
    assert len(node.keys) == 1
    assert _api_lock.release(node, 'run-2') is False
    assert _api_lock.release(node, 'run-1') is True and node.keys == []


def test_of_two_racing_runs_only_the_older_key_proceeds():
    node = FakeNode()

    def other_run_creates_its_key_first():
        # run-2 creates its key between run-1's check and run-1's list: it is older, run-1 must back off.
        node.keys.insert(0, dict(label=_api_lock.LOCK_LABEL, id='id1', key='s2', createdOn=999,
                                 description=json.dumps(dict(owner='run-2', holder='bob', since='now'))))

    node.calls = []
    original_post = node.post

    def post(rel, body=None, retry_safe=False):
        original_post(rel, body, retry_safe)
        if rel == 'keys':
            node.before_list = other_run_creates_its_key_first
    node.post = post

    with pytest.raises(_api_lock.ApiLockHeld, match='bob'):
        _api_lock.acquire(node, 'run-1', 'alice')
    assert [json.loads(k['description'])['owner'] for k in node.keys] == ['run-2'], 'run-1 removed its own key'


def test_hashed_old_node_falls_back_to_delete_by_value():
    node = FakeNode(delete_by_id=False)
    _api_lock.acquire(node, 'run-1', 'alice')
    assert _api_lock.release(node, 'run-1') is True and node.keys == []
    assert ('DELETE', 'keys/%s' % node.secrets[0]) in node.calls


def test_flag_drain_is_given_back_and_an_operators_flag_is_left_alone(tmp_path):
    flag = str(tmp_path / _drain.FLAG_NAME)
    waited = []
    drain = _drain.Drain(None, 'flag', flag_path=flag, owner='run-1', holder='alice', seconds=5, sleep=waited.append)
    drain.take()
    assert _drain.read_flag(flag)['ours'] and _drain.read_flag(flag)['owner'] == 'run-1' and waited == [5]
    assert drain.give_back() is True and not os.path.exists(flag)

    with open(flag, 'w') as handle:
        handle.write('')  # drained by hand
    drain = _drain.Drain(None, 'flag', flag_path=flag, owner='run-2', seconds=5, sleep=waited.append)
    drain.take()
    assert drain.give_back() is False and os.path.exists(flag), 'an operator put it out: it stays out'
    assert waited == [5]
    assert 'not written by dss.apinode' in _drain.describe(_drain.read_flag(flag))
    assert _drain.put_back_flag(flag) is False


def test_a_flag_left_by_an_interrupted_run_is_named_and_put_back(tmp_path):
    flag = str(tmp_path / _drain.FLAG_NAME)
    _drain.write_flag(flag, 'run-0', 'carol on ctl', now=0)
    found = _drain.read_flag(flag)
    assert _drain.describe(found) == ('the node was left out of its load balancer by an interrupted rollout '
                                      '(carol on ctl, since 1970-01-01T00:00:00Z): it is put back')
    assert _drain.put_back_flag(flag) is True and _drain.read_flag(flag) is None


def test_api_drain_uses_set_not_alive_and_set_alive():
    node = FakeNode()
    drain = _drain.Drain(node, 'api', seconds=0)
    drain.take()
    assert node.not_alive is True
    assert drain.give_back() is True and node.not_alive is False
    node.not_alive = True
    drain = _drain.Drain(node, 'api')
    drain.take()
    assert drain.give_back() is False and node.not_alive is True


def test_two_lock_keys_of_the_same_millisecond_both_back_off():
    node = FakeNode()

    def same_millisecond_key():
        node.keys.append(dict(label=_api_lock.LOCK_LABEL, id='idX', key='sX', createdOn=node.clock,
                              description=json.dumps(dict(owner='run-0', holder='bob', since='now'))))

    original_post = node.post

    def post(rel, body=None, retry_safe=False):
        original_post(rel, body, retry_safe)
        if rel == 'keys':
            node.before_list = same_millisecond_key
    node.post = post

    with pytest.raises(_api_lock.ApiLockHeld, match='bob'):
        _api_lock.acquire(node, 'run-1', 'alice')
    assert [json.loads(k['description'])['owner'] for k in node.keys] == ['run-0']
    # run-0, listing now, sees no older key than its own, but one of the same millisecond would make it stop too:
    node.post = original_post
    assert _api_lock._verdict(node.keys, 'run-0') == 'ours'


def test_a_younger_key_of_another_run_does_not_take_the_lock_from_the_older():
    node = FakeNode()
    assert _api_lock.acquire(node, 'run-1', 'alice') is True
    node.clock += 5
    node.keys.append(dict(label=_api_lock.LOCK_LABEL, id='idY', key='sY', createdOn=node.clock,
                          description=json.dumps(dict(owner='run-2', holder='bob', since='now'))))
    assert _api_lock.check(node, 'run-1') == 'ours'
    with pytest.raises(_api_lock.ApiLockHeld, match='alice'):
        _api_lock.check(node, 'run-2')


def test_api_drain_names_its_run_and_a_later_run_can_tell():
    node = FakeNode()
    drain = _drain.Drain(node, 'api', owner='run-1', holder='alice')
    drain.take()
    found = _drain.read_api(node)
    assert found['ours'] and found['owner'] == 'run-1'
    # The run dies here; the next one finds the node out, drained by dss.apinode, and puts it back.
    _drain.put_back_api(node)
    assert node.not_alive is False and _drain.read_api(node) is None
    assert _api_lock.marker_keys(node.keys, _drain.DRAIN_LABEL) == []
    node.not_alive = True
    assert _drain.read_api(node) == dict(ours=False), 'drained by an operator: no drain key'


def test_a_model_import_on_a_node_older_than_the_model_cache_is_refused_before_any_write():
    from ansible_collections.dss.apinode.plugins.module_utils import _apply, _plan
    step = dict(phase='stage', action='import_model', sentence='model /s/m.zip was never imported')
    expected = r'^The model cache needs DSS 12.5 or newer, node runs 12.4.0 \(needed because model /s/m.zip was never imported\).$'
    with pytest.raises(_plan.PlanError, match=expected):
        _apply.check_package_versions([step], '12.4.0')
    _apply.check_package_versions([step], '12.5.0')
    _apply.check_package_versions([step], None)  # unknown: tried, not refused


def test_a_node_older_than_delete_by_id_gets_the_delete_by_value_directly():
    node = FakeNode(delete_by_id=False)
    node.last_headers = {'dss-version': '13.0.2'}
    _api_lock.acquire(node, 'run-1', 'alice')
    node.calls = []
    assert _api_lock.release(node, 'run-1') is True and node.keys == []
    assert [c[0] for c in node.calls] == ['GET', 'DELETE'], node.calls
