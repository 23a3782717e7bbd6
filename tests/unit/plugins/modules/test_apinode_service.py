# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""apinode_service against a scripted admin API: normal, idempotent, check mode and check mode idempotent runs,
the plan sentences, and refusals before any write."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dss.apinode.tests.unit.plugins.modules.scripted_node import Call, runner

SINGLE_V1 = {'mode': 'SINGLE_GENERATION', 'generation': 'v1', 'entries': [{'generation': 'v1', 'proba': 1.0}]}
GENERATIONS = {'generations': [
    {'generationId': 'v1', 'createdOn': 1700000001000, 'mounted': True, 'mapped': 1.0},
    {'generationId': 'v2', 'createdOn': 1700000002000, 'mounted': False, 'mapped': 0.0},
]}


@pytest.fixture
def run(monkeypatch, capsys):
    return runner(monkeypatch, capsys, 'apinode_service')


def listed(enabled=True, mapping='v1', **extra):
    summary = dict(serviceId='churn', enabled=enabled, **extra)
    mapping = SINGLE_V1 if mapping == 'v1' else mapping
    if mapping is not None:
        summary['activeMapping'] = mapping
    return [summary]


def read(enabled=True, mapping='v1', generations=None, **extra):
    """The module's read of service churn: its listing (mapping 'v1': SINGLE_V1, None: none) and its generations."""
    return [Call('GET', 'services', listed(enabled, mapping, **extra)),
            Call('GET', 'services/churn/generations', GENERATIONS if generations is None else generations)]


class TestCreate:
    def test_normal(self, run):
        failed, result, exchange = run(dict(name='churn'), [
            Call('GET', 'services', []),
            Call('POST', 'services/', body={'serviceId': 'churn'}),
        ] + read(enabled=False, mapping=None, generations={'generations': []}))
        assert not failed and result['changed'] is True
        assert result['plan'] == ['service churn is missing']
        assert result['previous']['exists'] is False
        assert result['service'] == dict(id='churn', exists=True, enabled=False, mapping=None, generations=[])
        assert result['api_calls'] == 4

    def test_idempotent(self, run):
        failed, result, exchange = run(dict(name='churn'), read(enabled=False, mapping=None,
                                                                generations={'generations': []}))
        assert not failed and result['changed'] is False and result['plan'] == []
        assert exchange.writes() == []

    def test_check_mode(self, run):
        failed, result, exchange = run(dict(name='churn'), [Call('GET', 'services', [])], check_mode=True, diff=True)
        assert not failed and result['changed'] is True
        assert result['plan'] == ['service churn is missing']
        assert result['diff'] == {'before': {}, 'after': {'exists': True, 'enabled': False, 'mapping': None}}
        assert exchange.writes() == []

    def test_check_mode_idempotent(self, run):
        failed, result, exchange = run(dict(name='churn'), read(enabled=False, mapping=None), check_mode=True)
        assert not failed and result['changed'] is False and result['plan'] == []


class TestSwitch:
    ARGS = dict(name='churn', generation='v2')
    SET_V2 = {'mode': 'SINGLE_GENERATION', 'generation': 'v2', 'entries': [{'generation': 'v2', 'proba': 1.0}]}

    def test_normal(self, run):
        after = {'generations': [dict(GENERATIONS['generations'][0], mapped=0.0),
                                 dict(GENERATIONS['generations'][1], mapped=1.0, mounted=True)]}
        failed, result, exchange = run(self.ARGS, read() + [
            Call('POST', 'services/churn/actions/setMapping', body=self.SET_V2),
        ] + read(mapping=self.SET_V2, generations=after))
        assert not failed and result['changed'] is True
        assert result['plan'] == ['service churn serves generation v1, the task wants generation v2']
        assert result['service']['mapping']['generation'] == 'v2'
        assert result['previous']['mapping']['generation'] == 'v1'
        assert exchange.writes() == [('POST', 'services/churn/actions/setMapping')]

    def test_idempotent(self, run):
        failed, result, exchange = run(self.ARGS, read(mapping=self.SET_V2))
        assert not failed and result['changed'] is False and result['plan'] == []

    def test_check_mode(self, run):
        failed, result, exchange = run(self.ARGS, read(), check_mode=True, diff=True)
        assert not failed and result['changed'] is True
        assert result['plan'] == ['service churn serves generation v1, the task wants generation v2']
        assert result['diff']['after']['mapping']['generation'] == 'v2'
        assert {g['generationId']: g['mapped'] for g in result['service']['generations']} == {'v1': 0.0, 'v2': 1.0}
        assert exchange.writes() == []

    def test_check_mode_idempotent(self, run):
        failed, result, exchange = run(self.ARGS, read(mapping=self.SET_V2), check_mode=True)
        assert not failed and result['changed'] is False and result['plan'] == []

    def test_a_mapping_in_another_order_is_no_change(self, run):
        canary = {'mode': 'MULTI_GENERATION', 'strategy': 'RANDOM', 'entries': [
            {'generation': 'v2', 'proba': 0.1}, {'generation': 'v1', 'proba': 0.9}]}
        failed, result, exchange = run(dict(name='churn', mapping=[dict(generation='v1', proba=0.9),
                                                                   dict(generation='v2', proba=0.1)]),
                                       read(mapping=canary))
        assert not failed and result['changed'] is False and result['plan'] == []

    def test_only_the_routing_key_differs(self, run):
        failed, result, exchange = run(dict(name='churn', generation='v1', audit_routing_key='churn-ab'), read() + [
            Call('POST', 'services/churn/actions/setMapping', body=dict(SINGLE_V1, auditRoutingKey='churn-ab')),
        ] + read(mapping=dict(SINGLE_V1, auditRoutingKey='churn-ab')))
        assert not failed and result['changed'] is True
        assert result['plan'] == ['service churn stamps its query log with no routing key, the task wants the '
                                  'routing key churn-ab']


class TestEnableDisable:
    def test_disable_then_idempotent(self, run):
        failed, result, exchange = run(dict(name='churn', enabled=False), read() + [
            Call('POST', 'services/churn/actions/disable'),
        ] + read(enabled=False))
        assert not failed and result['changed'] is True
        assert result['plan'] == ['service churn is enabled, the task wants it disabled']
        failed, result, exchange = run(dict(name='churn', enabled=False), read(enabled=False))
        assert not failed and result['changed'] is False and exchange.writes() == []

    def test_enable_in_check_mode(self, run):
        failed, result, exchange = run(dict(name='churn', enabled=True), read(enabled=False), check_mode=True)
        assert not failed and result['changed'] is True
        assert result['plan'] == ['service churn is disabled, the task wants it enabled']
        assert result['service']['enabled'] is True and exchange.writes() == []

    def test_a_start_aborted_service_is_restarted_with_its_own_mapping(self, run):
        failed, result, exchange = run(dict(name='churn', enabled=True), read(
            enabled=False, startAbortedReason='Out of memory') + [
            Call('POST', 'services/churn/actions/setMapping', body=SINGLE_V1),
        ] + read())
        assert not failed and result['changed'] is True
        assert result['plan'] == ['service churn is enabled but its start was aborted (Out of memory)']


class TestDelete:
    def test_normal_then_idempotent_in_both_modes(self, run):
        failed, result, exchange = run(dict(name='churn', state='absent'), read() + [
            Call('DELETE', 'services/churn')], diff=True)
        assert not failed and result['changed'] is True
        assert result['plan'] == ['service churn exists, the task wants it absent']
        assert result['service']['exists'] is False and result['diff']['after'] == {}
        for check_mode in (False, True):
            failed, result, exchange = run(dict(name='churn', state='absent'), [Call('GET', 'services', [])],
                                           check_mode=check_mode)
            assert not failed and result['changed'] is False and result['plan'] == []

    def test_check_mode(self, run):
        failed, result, exchange = run(dict(name='churn', state='absent'), read(), check_mode=True)
        assert not failed and result['changed'] is True and exchange.writes() == []
        assert result['plan'] == ['service churn exists, the task wants it absent']


class TestRefusals:
    @pytest.mark.parametrize('check_mode', [False, True])
    def test_missing_generation(self, run, check_mode):
        failed, result, exchange = run(dict(name='churn', generation='v9'), read(), check_mode=check_mode)
        assert failed and result['changed'] is False
        assert result['msg'] == ('Generation(s) v9 of service churn are not on the node (present: v1, v2). Import them '
                                 'first with dss.apinode.apinode_generation.')
        assert result['api_calls'] == 2 and exchange.writes() == []

    def test_a_new_mapping_for_a_service_meant_to_stay_off(self, run):
        failed, result, exchange = run(dict(name='churn', generation='v2', enabled=False), read(enabled=False))
        assert failed and result['msg'].startswith('Service churn is disabled and enabled=false')
        assert exchange.writes() == []

    def test_bad_options_send_nothing(self, run):
        failed, result, exchange = run(dict(name='churn', state='absent', enabled=True), [])
        assert failed and result['msg'] == 'state=absent deletes the service; do not set enabled with it.'

    def test_a_failed_write_names_what_was_planned_and_done(self, run):
        failed, result, exchange = run(dict(name='churn', generation='v2', enabled=False), read() + [
            Call('POST', 'services/churn/actions/setMapping'),
            Call('POST', 'services/churn/actions/disable', status=500, answer={'message': 'boom'}),
        ])
        assert failed and result['status'] == 500 and 'boom' in result['msg'] and result['changed'] is True
        assert result['plan'] == ['service churn serves generation v1, the task wants generation v2',
                                  'service churn is enabled, the task wants it disabled']
        assert result['applied'] == result['plan'][:1]
