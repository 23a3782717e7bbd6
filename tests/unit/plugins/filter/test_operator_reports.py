# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""new_services (the gate on services no node has), deploy_report (the run report) and report_document."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.dss.apinode.plugins.filter.deploy_report import deploy_report
from ansible_collections.dss.apinode.plugins.filter.new_services import new_services
from ansible_collections.dss.apinode.plugins.filter.report_document import report_document


def single(generation):
    return {'mode': 'SINGLE_GENERATION', 'generation': generation, 'entries': [{'generation': generation, 'proba': 1.0}],
            'strategy': 'random'}


def planned(*service_ids):
    return {'apinode_deploy_plan': {'plan': [], 'node_services': [{'id': s, 'enabled': True} for s in service_ids]}}


class TestNewServices:
    def test_a_service_no_node_has_is_refused_naming_it_and_the_nodes(self):
        hostvars = {'node1': planned('fraud'), 'node2': planned('fraud'), 'node3': planned('fraud')}
        verdict = new_services(hostvars, ['node1', 'node2', 'node3'], [{'id': 'fruad'}])
        assert verdict['new'] == ['fruad'] and verdict['refused'] == ['fruad']
        assert verdict['message'].startswith('Service fruad is new: no node of the play has it (node1, node2, node3).')
        assert 'new: true' in verdict['message'] and 'apinode_deploy_allow_new_services' in verdict['message']

    def test_marked_new_or_allowed_is_accepted(self):
        hostvars = {'node1': planned()}
        assert new_services(hostvars, ['node1'], [{'id': 'churn', 'new': True}])['refused'] == []
        verdict = new_services(hostvars, ['node1'], [{'id': 'churn'}], allow_new=True)
        assert verdict == {'new': ['churn'], 'refused': [], 'message': '', 'stale_new': [], 'warning': ''}

    def test_a_node_joining_a_fleet_that_has_the_service_is_not_new(self):
        hostvars = {'node1': planned('churn'), 'node4': planned()}
        assert new_services(hostvars, ['node1', 'node4'], [{'id': 'churn'}])['new'] == []

    def test_new_left_on_a_service_every_node_has_is_named(self):
        hostvars = {'node1': planned('churn'), 'node2': planned('churn', 'fraud')}
        verdict = new_services(hostvars, ['node1', 'node2'], [{'id': 'churn', 'new': True}, {'id': 'fraud', 'new': True}])
        assert verdict['stale_new'] == ['churn']  # fraud is still new on node1
        assert verdict['warning'] == ('churn is marked new: true, and every node of the play has it already: remove '
                                      'new: true from apinode_deploy_services, so that a misspelt service id is refused again.')
        assert new_services(hostvars, ['node1', 'node2'], [{'id': 'churn'}])['warning'] == ''

    def test_hosts_without_a_plan_do_not_count(self):
        hostvars = {'node1': planned('churn'), 'node2': {}}
        assert new_services(hostvars, ['node2'], [{'id': 'churn'}])['new'] == []
        assert new_services(hostvars, ['node1', 'node2'], [{'id': 'fraud'}])['message'].count('node2') == 0


def plan_of(previous, steps=(), current=False, duration=0.4):
    return {'plan': list(steps), 'previous': previous, 'current': current, 'drift': [], 'duration': duration,
            'node_services': []}


CHURN_V1 = {'id': 'churn', 'existed': True, 'enabled': True, 'mapping': single('v1')}
TO_V2 = {'phase': 'activate', 'action': 'set_mapping', 'service': 'churn', 'mapping': single('v2'), 'sentence': '...'}
SMOKE_OK = {'service': 'churn', 'endpoint': 'predict', 'generation': 'v2', 'passed': True, 'message': 'ok', 'status': 200}


class TestDeployReport:
    def test_success_changed_and_left_alone(self):
        hostvars = {
            'node1': {'apinode_deploy_plan': plan_of([CHURN_V1], [TO_V2]),
                      '__apinode_deploy_staging': {'plan': [], 'changed': True, 'duration': 3.2},
                      '__apinode_deploy_activation': {'plan': [TO_V2], 'changed': True, 'duration': 1.5,
                                                      'smoke_tests': [SMOKE_OK]},
                      '__apinode_deploy_retention': {'plan': [], 'changed': True, 'duration': 0.3,
                                                     'pruned': ['packages/churn/v0']}},
            'node2': {'apinode_deploy_plan': plan_of([dict(CHURN_V1, mapping=single('v2'))], current=True),
                      '__apinode_deploy_staging': {'skipped': True, 'changed': False}},
        }
        report = deploy_report(hostvars, ['node1', 'node2'])
        assert report['outcome'] == 'ok' and report['summary'] == {'changed': 1, 'left alone': 1}
        node1 = report['nodes']['node1']
        assert node1['services'] == [{'id': 'churn', 'from': 'v1', 'to': 'v2', 'result': 'switched'}]
        assert node1['durations'] == {'plan': 0.4, 'stage': 3.2, 'activate': 1.5, 'retain': 0.3}
        assert node1['pruned'] == ['packages/churn/v0']
        node2 = report['nodes']['node2']
        assert node2['outcome'] == 'left alone' and node2['reason'] == 'already serves the release'
        assert node2['services'][0]['from'] == node2['services'][0]['to'] == 'v2'
        assert report['lines'][0] == 'Rollout ok: 2 nodes - 1 changed, 1 left alone'
        assert '  churn: v1 -> v2, switched, smoke tests 1/1 passed' in report['lines']
        assert report['markdown'].startswith('# Rollout report')
        assert '| node1 | changed | churn | v1 | v2 | switched | smoke tests 1/1 passed |' in report['markdown']
        assert '- node2: stage, activate and retain: the node already serves the release' in report['markdown']

    def test_failure_rolls_back_and_names_the_nodes_not_reached(self):
        failed_smoke = dict(SMOKE_OK, passed=False, message='prediction stay, expected churn')
        verdict = {'failed': {'node1': 'Smoke test failed: ...'}, 'rollback': ['node1', 'node2', 'node3'], 'stop': True}
        rollback = {'results': [{'item': 'node1', 'changed': True}, {'item': 'node2', 'changed': False},
                                {'item': 'node3', 'changed': False}]}
        common = {'__apinode_deploy_verdict': verdict, '__apinode_deploy_rollback': rollback}
        hostvars = {
            'node1': dict(common, apinode_deploy_plan=plan_of([CHURN_V1], [TO_V2]),
                          __apinode_deploy_staging={'plan': [], 'changed': True, 'duration': 2.0},
                          __apinode_deploy_activation={'plan': [TO_V2], 'failed': True, 'msg': 'Smoke test failed: ...',
                                                       'smoke_tests': [failed_smoke], 'duration': 1.0}),
            'node2': dict(common, apinode_deploy_plan=plan_of([CHURN_V1], [TO_V2]),
                          __apinode_deploy_staging={'plan': [], 'changed': True, 'duration': 2.0}),
        }
        report = deploy_report(hostvars, ['node1', 'node2'])
        assert report['outcome'] == 'failed'
        node1 = report['nodes']['node1']
        assert node1['outcome'] == 'failed' and node1['reason'] == 'Smoke test failed: ...'
        assert node1['services'][0]['result'] == 'rolled back to v1'
        assert node1['smoke_tests'][0]['passed'] is False
        node2 = report['nodes']['node2']
        assert node2['outcome'] == 'not reached' and node2['services'][0]['result'] == 'not switched'
        assert 'activate and retain: the rollout stopped before its batch' in node2['skipped']
        assert any('smoke tests 0/1 passed (predict: prediction stay, expected churn)' in line for line in report['lines'])

    def test_a_node_the_gate_could_not_put_back_is_failed_and_named(self):
        verdict = {'failed': {'node1': 'Smoke test failed: ...'}, 'rollback': ['node1', 'node2'], 'stop': True}
        rollback = {'results': [{'item': 'node1', 'changed': True},
                                {'item': 'node2', 'failed': True, 'msg': 'Cannot reach the API node'}]}
        common = {'__apinode_deploy_verdict': verdict, '__apinode_deploy_rollback': rollback}
        switched = {'plan': [TO_V2], 'changed': True, 'duration': 1.0, 'smoke_tests': [SMOKE_OK]}
        hostvars = {
            'node1': dict(common, apinode_deploy_plan=plan_of([CHURN_V1], [TO_V2]),
                          __apinode_deploy_activation=dict(switched, failed=True, msg='Smoke test failed: ...')),
            'node2': dict(common, apinode_deploy_plan=plan_of([CHURN_V1], [TO_V2]), __apinode_deploy_activation=switched),
        }
        report = deploy_report(hostvars, ['node1', 'node2'])
        assert report['rollback'] == 'Rolled back: node1. NOT put back: node2 (Cannot reach the API node).'
        assert report['nodes']['node1']['outcome'] == 'failed'
        assert report['nodes']['node1']['reason'] == 'Smoke test failed: ...'
        node2 = report['nodes']['node2']
        assert node2['outcome'] == 'failed'
        assert node2['reason'] == 'another node failed, and NOT put back: Cannot reach the API node'
        assert report['summary'] == {'failed': 2}
        nobody = deploy_report({'node1': {'apinode_deploy_plan': plan_of([CHURN_V1], [TO_V2])}}, ['node1'])
        assert nobody['rollback'] == 'Rolled back: no node had switched.'

    def test_one_call_of_phase_all_reports_its_own_phases(self):
        # bootstrap_node stages, switches and cleans in one call: its split replaces the one activate figure.
        all_in_one = {'plan': [TO_V2], 'changed': True, 'phase': 'all', 'duration': 4.9, 'smoke_tests': [SMOKE_OK],
                      'durations': {'stage': 3.1, 'activate': 1.2, 'retain': 0.4}}
        hostvars = {'node1': {'apinode_deploy_plan': plan_of([CHURN_V1], [TO_V2]),
                              '__apinode_deploy_activation': all_in_one}}
        node1 = deploy_report(hostvars, ['node1'])['nodes']['node1']
        assert node1['durations'] == {'plan': 0.4, 'stage': 3.1, 'activate': 1.2, 'retain': 0.4}

    def test_nodes_of_a_later_serial_batch_are_pending(self):
        # A play in serial batches: the report of phase all waits until the role has planned every node of the play.
        # A plan registered by a status play of the same run (no planned marker) does not count.
        planned_now = {'apinode_deploy_plan': plan_of([CHURN_V1], [TO_V2]), '__apinode_deploy_planned': {'msg': '...'}}
        hostvars = {'node1': planned_now, 'node2': {'apinode_deploy_plan': plan_of([CHURN_V1], [TO_V2])}, 'node3': {}}
        assert deploy_report(hostvars, ['node1', 'node2', 'node3'])['pending'] == ['node2', 'node3']
        hostvars.update(node2=planned_now, node3=planned_now)
        assert deploy_report(hostvars, ['node1', 'node2', 'node3'])['pending'] == []

    def test_check_mode_applies_nothing(self):
        report = deploy_report({'node1': {'apinode_deploy_plan': plan_of([CHURN_V1], [TO_V2])}}, ['node1'], True)
        assert report['nodes']['node1']['outcome'] == 'planned'
        assert report['nodes']['node1']['services'][0]['to'] == 'v2'
        # The report reads as a plan, not as a rollout that was done.
        assert report['lines'][0] == 'Check mode, nothing is changed. Rollout plan ok: 1 node - 1 planned'

    def test_check_mode_writes_no_report_file_and_says_where_it_would_go(self):
        # The rule of every report file of the collection (report_target), as for fleet_status.
        hostvars = {'node1': {'apinode_deploy_plan': plan_of([CHURN_V1], [TO_V2])}}
        checked = deploy_report(hostvars, ['node1'], True, report_file='out/v2.md', playbook_dir='/srv/plays')
        assert checked['report'] == {'name': 'out/v2.md', 'path': '/srv/plays/out/v2.md', 'write': False,
                                     'note': 'Check mode: the report would be written to /srv/plays/out/v2.md; '
                                             'nothing was written.'}
        assert checked['lines'][-1] == checked['report']['note']
        applied = deploy_report(hostvars, ['node1'], False, report_file='out/v2.md', playbook_dir='/srv/plays')
        assert applied['report']['write'] is True and applied['report']['note'] is None
        assert not any(line.startswith('Check mode') for line in applied['lines'])
        assert deploy_report(hostvars, ['node1'])['report'] == {'name': None, 'path': None, 'write': False, 'note': None}


def test_report_document_json_or_markdown_by_name():
    report = {'lines': ['a'], 'markdown': '# Title\n', 'outcome': 'ok'}
    assert report_document(report, 'out/report.MD') == '# Title\n'
    data = json.loads(report_document(report, 'report.json'))
    assert data == {'lines': ['a'], 'outcome': 'ok'}


def test_report_path_next_to_the_playbook_or_in_the_working_directory_for_a_collection_playbook():
    from ansible_collections.dss.apinode.plugins.filter.report_path import report_path
    assert report_path('/srv/r.json', '/anywhere') == '/srv/r.json'
    assert report_path('out/r.md', '/home/ops/plays') == '/home/ops/plays/out/r.md'
    collection = '/usr/share/ansible/collections/ansible_collections/dss/apinode/playbooks'
    assert report_path('r.md', collection, cwd='/runner/project') == '/runner/project/r.md'


def rollback_plan(owner, at, steps=()):
    return {'apinode_deploy_plan': {'plan': [{'sentence': s} for s in steps], 'last_rollout': {'owner': owner, 'at': at}}}


def test_last_rollout_rolls_back_only_the_nodes_of_the_newest_run():
    from ansible_collections.dss.apinode.plugins.filter.last_rollout import last_rollout
    hostvars = {
        'node1': rollback_plan('run-1', '2026-11-30T09:00:00Z'),
        'node2': rollback_plan('run-2', '2026-11-30T10:00:01Z', ['service churn goes back from v2 to v1']),
        'node3': rollback_plan('run-2', '2026-11-30T10:00:00Z'),
        'node4': {'apinode_deploy_plan': {'failed': True, 'msg': 'No rollout is recorded on this node (x): nothing.'}},
        'node5': {'apinode_deploy_plan': {'failed': True, 'msg': 'Cannot reach the API node'}},
    }
    decision = last_rollout(hostvars, ['node1', 'node2', 'node3', 'node4', 'node5'])
    assert decision['owner'] == 'run-2' and decision['hosts'] == ['node2', 'node3']
    assert decision['left_alone']['node1'].startswith('its record is from an earlier rollout')
    assert decision['left_alone']['node4'] == 'no rollout recorded on this node'
    assert decision['failed'] == {'node5': 'Cannot reach the API node'}
    # node3 is of the last rollout but serves what it served before it: only node2 has something to put back.
    assert decision['lines'][0] == 'Last rollout: run run-2 at 2026-11-30T10:00:01Z; 1 node to put back'
    assert 'node2: service churn goes back from v2 to v1' in decision['lines']
    assert 'node3: nothing to put back, it already serves what it served before the last rollout' in decision['lines']
    assert decision['message'] == ''


def test_last_rollout_without_any_record_says_so():
    from ansible_collections.dss.apinode.plugins.filter.last_rollout import last_rollout
    decision = last_rollout({'node1': {'apinode_deploy_plan': {'failed': True, 'msg': 'No rollout is recorded here'}}},
                            ['node1'])
    assert decision['hosts'] == [] and decision['message'].startswith('No node of the play has a rollout record')


def test_last_rollout_in_check_mode_says_nothing_is_changed():
    from ansible_collections.dss.apinode.plugins.filter.last_rollout import last_rollout
    hostvars = {'node1': rollback_plan('run-1', '2026-11-30T09:00:00Z', ['service churn goes back from v2 to v1'])}
    assert last_rollout(hostvars, ['node1'], check_mode=True)['lines'][0] == (
        'Check mode, nothing is changed. Last rollout: run run-1 at 2026-11-30T09:00:00Z; 1 node to put back')
    assert last_rollout(hostvars, ['node1'])['lines'][0].startswith('Last rollout: run run-1')
    done = {'node1': rollback_plan('run-1', '2026-11-30T09:00:00Z')}
    assert last_rollout(done, ['node1'])['lines'][0].endswith('; its nodes already serve what they served before it')


def test_last_rollout_names_a_reason_shared_by_every_node_once():
    from ansible_collections.dss.apinode.plugins.filter.last_rollout import last_rollout
    api = 'A rollback without previous reads the record ... deploying the previous release again.'
    hostvars = dict((h, {'apinode_deploy_plan': {'failed': True, 'msg': api}}) for h in ('node1', 'node2', 'node3'))
    hostvars['node3'] = {'apinode_deploy_plan': {'failed': True, 'msg': 'Cannot reach the API node'}}
    decision = last_rollout(hostvars, ['node1', 'node2', 'node3'])
    assert decision['message'] == ('No node of the play has a rollout record to roll back to. node1, node2: %s '
                                   'node3: Cannot reach the API node.' % api)


def test_last_rollout_sums_up_the_rollback_run():
    from ansible_collections.dss.apinode.plugins.filter.last_rollout import last_rollout
    hostvars = {
        'node1': rollback_plan('run-1', '2026-11-30T09:00:00Z'),
        'node2': dict(rollback_plan('run-2', '2026-11-30T10:00:01Z', ['service churn goes back from v2 to v1']),
                      run={'changed': True}),
        'node3': dict(rollback_plan('run-2', '2026-11-30T10:00:00Z', ['service churn goes back from v2 to v1']),
                      run={'changed': True}),
        'node4': dict(rollback_plan('run-2', '2026-11-30T10:00:00Z'), run={'changed': False}),
    }
    hosts = ['node1', 'node2', 'node3', 'node4']
    assert last_rollout(hostvars, hosts)['summary'] == ''  # before the rollback
    assert last_rollout(hostvars, hosts, applied='run')['summary'] == (
        'Rollback done: 2 nodes (node2, node3) put back to what they served before run run-2; 1 node (node4) already '
        'served what it served before it; 1 node (node1) left alone.')
    hostvars['node3']['run'] = {'failed': True, 'msg': 'Cannot reach the API node'}
    hostvars['node5'] = {'apinode_deploy_plan': {'failed': True, 'msg': 'Cannot read the record'}}
    assert last_rollout(hostvars, hosts + ['node5'], applied='run')['summary'] == (
        'Rollback incomplete: 1 node (node2) put back to what it served before run run-2; 1 node (node4) already '
        'served what it served before it; 1 node (node1) left alone; 2 nodes (node3, node5) FAILED.')
    nothing = {'node1': dict(rollback_plan('run-1', '2026-11-30T09:00:00Z'), run={'changed': False})}
    assert last_rollout(nothing, ['node1'], applied='run')['summary'] == (
        'Rollback done: nothing put back from run run-1; 1 node (node1) already served what it served before it.')
