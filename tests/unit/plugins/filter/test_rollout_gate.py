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


def hostvars(**by_host):
    return dict((h, by_host.get(h, {})) for h in HOSTS)


def test_no_failure_changes_nothing():
    facts = hostvars(node1={'__apinode_deploy_conn': CONN, '__apinode_deploy_activation': {'changed': True}})
    assert rollout_gate(facts, ['node1'], HOSTS) == dict(failed={}, rollback=[], stop=False)


def test_rollback_fleet_rolls_back_every_node_that_started_changing_and_stops():
    facts = hostvars(
        node1={'__apinode_deploy_conn': CONN, '__apinode_deploy_activation': {'changed': True}},
        node2={'__apinode_deploy_conn': CONN, '__apinode_deploy_activation': {'failed': True, 'msg': 'smoke test failed'}},
        node3={})  # already served the release: never touched, nothing to roll back
    gate = rollout_gate(facts, ['node2'], HOSTS)
    assert gate == dict(failed={'node2': 'smoke test failed'}, rollback=['node1', 'node2'], stop=True)


def test_isolate_rolls_back_only_the_failed_nodes():
    facts = hostvars(
        node1={'__apinode_deploy_conn': CONN, '__apinode_deploy_staging': {'changed': True}},
        node2={'__apinode_deploy_conn': CONN, '__apinode_deploy_staging': {'failed': True}})
    gate = rollout_gate(facts, HOSTS, HOSTS, on_failure='isolate')
    assert gate == dict(failed={'node2': 'failed without a message'}, rollback=['node2'], stop=False)


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
