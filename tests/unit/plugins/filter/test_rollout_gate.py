# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""rollout_gate: who failed, who is rolled back, whether the play stops."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.dss.apinode.plugins.filter.rollout_gate import rollout_gate

CONN = {'url': 'http://n:1'}
HOSTS = ['node1', 'node2', 'node3']
V1 = {'id': 'churn', 'existed': True, 'enabled': True, 'mapping': {'mode': 'SINGLE_GENERATION', 'generation': 'v1'}}


def hostvars(**by_host):
    return dict((h, by_host.get(h, {})) for h in HOSTS)


def test_no_failure_changes_nothing():
    facts = hostvars(node1={'__apinode_deploy_conn': CONN, '__apinode_deploy_activation': {'changed': True}})
    assert rollout_gate(facts, ['node1'], HOSTS) == dict(failed={}, rollback=[], stop=False, release=[], previous={})


def test_rollback_fleet_rolls_back_every_node_that_started_changing_and_stops():
    facts = hostvars(
        node1={'__apinode_deploy_conn': CONN, '__apinode_deploy_activation': {'changed': True, 'previous': [V1]}},
        node2={'__apinode_deploy_conn': CONN, '__apinode_deploy_activation': {'failed': True, 'msg': 'smoke test failed',
                                                                              'previous': [V1]}},
        node3={})  # already served the release: never touched, nothing to roll back
    gate = rollout_gate(facts, ['node2'], HOSTS)
    assert gate == dict(failed={'node2': 'smoke test failed'}, rollback=['node1', 'node2'], stop=True, release=[],
                        previous={'node1': [V1], 'node2': [V1]})


def test_isolate_rolls_back_only_the_failed_nodes():
    facts = hostvars(
        node1={'__apinode_deploy_conn': CONN, '__apinode_deploy_staging': {'changed': True}},
        node2={'__apinode_deploy_conn': CONN, '__apinode_deploy_staging': {'failed': True}})
    gate = rollout_gate(facts, HOSTS, HOSTS, on_failure='isolate')
    # node2 only staged: nothing to put back but its lock. node1 carries on, with its lock.
    assert gate == dict(failed={'node2': 'failed without a message'}, rollback=['node2'], stop=False, release=[],
                        previous={'node2': []})


def test_isolate_in_a_batch_holding_a_step_stops_and_releases_the_locks_of_the_others():
    # node1 holds its step's mapping (too little traffic to judge); node2 failed its smoke test in the same batch.
    hold = {'decision': 'hold', 'step': 1}
    facts = hostvars(
        node1={'__apinode_deploy_conn': CONN, '__apinode_deploy_activation': {'changed': True, 'previous': [V1]},
               '__apinode_deploy_progress': hold},
        node2={'__apinode_deploy_conn': CONN, '__apinode_deploy_activation': {'failed': True, 'msg': 'HTTP 500',
                                                                              'previous': [V1]},
               '__apinode_deploy_progress': hold})
    gate = rollout_gate(facts, ['node1', 'node2'], HOSTS, on_failure='isolate')
    assert gate == dict(failed={'node2': 'HTTP 500'}, rollback=['node2'], stop=True, release=['node1'],
                        previous={'node2': [V1], 'node1': []})
    promoted = dict(facts, node1=dict(facts['node1'], __apinode_deploy_progress={'decision': 'promote'}),
                    node2=dict(facts['node2'], __apinode_deploy_progress={'decision': 'promote'}))
    assert rollout_gate(promoted, ['node1', 'node2'], HOSTS, on_failure='isolate')['stop'] is False


def test_isolate_when_the_whole_batch_failed_releases_the_locks_of_the_nodes_of_later_batches():
    # serial 1 after a stage play: node1 (the canary) failed, which ends the play; node2 and node3 staged and hold locks.
    facts = hostvars(
        node1={'__apinode_deploy_conn': CONN, '__apinode_deploy_activation': {'failed': True, 'previous': [V1]}},
        node2={'__apinode_deploy_conn': CONN}, node3={'__apinode_deploy_conn': CONN})
    gate = rollout_gate(facts, ['node1'], HOSTS, on_failure='isolate')
    assert gate['rollback'] == ['node1'] and gate['release'] == ['node2', 'node3'] and gate['stop'] is False
    assert gate['previous'] == {'node1': [V1], 'node2': [], 'node3': []}


def test_isolate_in_a_play_that_stops_at_any_failure_releases_every_other_lock():
    # rolling_deploy (max_fail_percentage 0): node2 fails in a batch of two; node3 only staged, holding its lock.
    facts = hostvars(
        node1={'__apinode_deploy_conn': CONN, '__apinode_deploy_activation': {'changed': True, 'previous': [V1]}},
        node2={'__apinode_deploy_conn': CONN, '__apinode_deploy_activation': {'failed': True, 'previous': [V1]}},
        node3={'__apinode_deploy_conn': CONN})
    gate = rollout_gate(facts, ['node1', 'node2'], HOSTS, on_failure='isolate', play_stops=True)
    assert gate['stop'] is True and gate['rollback'] == ['node2'] and gate['release'] == ['node1', 'node3']
    assert rollout_gate(facts, ['node1', 'node2'], HOSTS, on_failure='isolate')['release'] == []


def test_failures_outside_the_batch_do_not_count():
    facts = hostvars(node3={'__apinode_deploy_conn': CONN, '__apinode_deploy_activation': {'failed': True}})
    assert rollout_gate(facts, ['node1', 'node2'], HOSTS)['failed'] == {}


def test_unknown_policy_is_an_error():
    with pytest.raises(AnsibleFilterError, match='on_failure must be rollback_fleet or isolate'):
        rollout_gate(hostvars(), HOSTS, HOSTS, on_failure='ignore')


def test_batches_are_formed_among_the_nodes_that_change():
    from ansible_collections.dss.apinode.plugins.filter.changing_hosts import changing_hosts
    facts = hostvars(node1={'apinode_deploy_plan': {'current': True}}, node2={'apinode_deploy_plan': {'current': False}})
    assert changing_hosts(facts, HOSTS) == ['node2', 'node3'], 'node3 was never planned: it counts as changing'
    assert changing_hosts(facts, HOSTS, skip_current=False) == HOSTS
