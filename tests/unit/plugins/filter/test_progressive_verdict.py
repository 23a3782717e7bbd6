# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""progressive_schedule and progressive_verdict: the steps of a batch and the verdict of one step over hostvars."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.dss.apinode.plugins.filter.progressive_schedule import progressive_schedule
from ansible_collections.dss.apinode.plugins.filter.progressive_verdict import progressive_verdict

SERVICES = [{'id': 'churn', 'steps': [{'proba': 0.1, 'bake_seconds': 2.5}, {'proba': 0.5, 'bake_seconds': 1}]},
            {'id': 'fraud', 'steps': [{'proba': 0.2, 'bake_seconds': 4}], 'analysis': {'min_requests': 1}},
            {'id': 'plain'}]


def planned(*services):
    return {'progressive': [{'service': s, 'generation': 'v2', 'steps': [{'index': 0}]} for s in services]}


def metrics(service, requests, success, v1, v2):
    prefix = 'dku.lambda.service.%s.' % service
    return {'meters': {prefix + 'predict.requests': {'count': requests}, prefix + 'predict.successRequests': {'count': success},
                       prefix + 'requestsPerGeneration.v1': {'count': v1}, prefix + 'requestsPerGeneration.v2': {'count': v2}}}


def merged(*registries):
    out = {'meters': {}}
    for registry in registries:
        out['meters'].update(registry['meters'])
    return out


def test_schedule_merges_the_steps_of_the_services_and_skips_nodes_that_switch_at_once():
    hostvars = {'node1': {'apinode_deploy_plan': planned('churn', 'fraud')},
                'node2': {'apinode_deploy_plan': {'progressive': [{'service': 'churn', 'steps': []}]}}}
    schedule = progressive_schedule(hostvars, ['node1', 'node2'], SERVICES)
    assert schedule == [
        {'index': 0, 'bake_seconds': 4, 'judged': True, 'label': 'churn v2 10 %, fraud v2 20 %'},
        {'index': 1, 'bake_seconds': 1, 'judged': True, 'label': 'churn v2 50 %, fraud v2 100 %'},
        {'index': 2, 'bake_seconds': 0, 'judged': False, 'label': 'churn v2 100 %'}]
    # No node of the batch shifts in steps (a new service everywhere): no step.
    assert progressive_schedule(hostvars, ['node2'], SERVICES) == []
    assert progressive_schedule({}, ['node1'], [{'id': 'plain'}]) == []


def test_verdict_sums_the_nodes_of_the_batch_and_uses_the_role_defaults_under_the_service_analysis():
    start = merged(metrics('churn', 0, 0, 0, 0), metrics('fraud', 0, 0, 0, 0))
    now = merged(metrics('churn', 100, 100, 95, 5), metrics('fraud', 10, 10, 8, 2))
    hostvars = dict((h, {'apinode_deploy_plan': planned('churn', 'fraud'), '__apinode_deploy_step_start': {'metrics': start},
                         '__apinode_deploy_step_now': {'metrics': now}}) for h in ('node1', 'node2', 'node3'))
    verdict = progressive_verdict(hostvars, ['node1', 'node2'], SERVICES, 0, 4, {'min_requests': 8})
    churn, fraud = verdict['services']
    assert (churn['new_requests'], sorted(churn['hosts'])) == (10, ['node1', 'node2'])
    assert churn['decision'] == 'promote' and fraud['decision'] == 'promote'  # fraud's own min_requests is 1
    assert verdict['decision'] == 'promote' and verdict['label'] == 'churn v2 10 %, fraud v2 20 %'
    strict = progressive_verdict(hostvars, ['node1'], SERVICES, 0, 4, {'min_requests': 8})
    assert strict['decision'] == 'wait' and strict['wait_seconds'] >= 1
    # Step 1: fraud is at 100 % already (not judged), churn at 50 %.
    later = progressive_verdict(hostvars, ['node1', 'node2'], SERVICES, 1, 1, {'min_requests': 8})
    assert [s['service'] for s in later['services']] == ['churn'] and later['step'] == 1


def test_verdict_leaves_out_a_node_without_metrics_and_refuses_bad_options():
    start, now = metrics('churn', 0, 0, 0, 0), metrics('churn', 50, 20, 40, 10)
    hostvars = {'node1': {'apinode_deploy_plan': planned('churn'), '__apinode_deploy_step_start': {'metrics': start},
                          '__apinode_deploy_step_now': {'metrics': now}},
                'node2': {'apinode_deploy_plan': planned('churn')}}
    verdict = progressive_verdict(hostvars, ['node1', 'node2'], SERVICES[:1], 0, 3, {'min_requests': 5})
    assert verdict['decision'] == 'rollback' and list(verdict['services'][0]['hosts']) == ['node1']
    with pytest.raises(AnsibleFilterError, match='service churn analysis.max_error_rate'):
        progressive_verdict(hostvars, ['node1'], [dict(SERVICES[0], analysis={'max_error_rate': 3})], 0, 3)
