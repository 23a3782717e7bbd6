# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""fleet_status: the fleet table built from each node's release plan."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dss.apinode.plugins.filter.fleet_status import NO_RELEASE, fleet_status


def single(generation):
    return {'mode': 'SINGLE_GENERATION', 'generation': generation, 'entries': [{'generation': generation, 'proba': 1.0}],
            'strategy': 'random'}


def plan(services, steps=()):
    return {'apinode_deploy_plan': {'plan': list(steps), 'node_services': services, 'changed': bool(steps)}}


def svc(sid, generation, enabled=True):
    return {'id': sid, 'exists': True, 'enabled': enabled, 'mapping': single(generation) if generation else None}


def row(table, host):
    return next(line for line in table['lines'] if line.split()[0] == host)


def test_declared_service_drifts_exactly_where_the_plan_would_change_it():
    hostvars = {
        'node1': plan([svc('churn', 'v1')]),
        'node2': plan([svc('churn', 'v1', enabled=False)],
                      [{'phase': 'activate', 'service': 'churn', 'sentence': 'service churn is disabled, the release wants it enabled'}]),
        'node3': plan([svc('churn', 'v1')],
                      [{'phase': 'retain', 'service': 'churn', 'sentence': 'generation v0 is beyond retention'}]),
    }
    table = fleet_status(hostvars, ['node1', 'node2', 'node3'], [{'id': 'churn', 'generation': 'v1'}])
    assert table['lines'][0] == 'service churn (wanted: v1)'
    assert row(table, 'node1').endswith(' ok')
    assert 'DRIFT: service churn is disabled' in row(table, 'node2')
    assert row(table, 'node3').endswith(' ok'), 'retention is not drift'
    assert table['drift'] is True


def test_undeclared_services_are_unmanaged_with_facts_per_node_never_drift():
    hostvars = {'node1': plan([svc('fraud', 'v3')]), 'node2': plan([svc('fraud', 'v3')]),
                'node3': plan([svc('fraud', 'v2')]), 'node4': plan([])}
    table = fleet_status(hostvars, ['node1', 'node2', 'node3', 'node4'])
    assert table['lines'][1] == 'service fraud (unmanaged: not in the release; most nodes serve v3)'
    assert table['unmanaged'] == ['fraud']
    assert row(table, 'node1').endswith('unmanaged: present on node1, node2, node3 only')
    assert 'other generation or mapping than most nodes (v3)' in row(table, 'node3')
    assert row(table, 'node4').endswith('unmanaged: not on this node')
    assert 'missing' not in ' '.join(table['lines'])
    assert table['drift'] is False


def test_a_service_on_one_node_only_is_named_as_such():
    hostvars = {'node1': plan([svc('churn', 'v1'), svc('fruad', 'v1')]), 'node2': plan([svc('churn', 'v1')])}
    table = fleet_status(hostvars, ['node1', 'node2'], [{'id': 'churn', 'generation': 'v1'}])
    assert table['services']['fruad']['node1']['facts'] == ['present on node1 only']
    assert table['services']['fruad']['node2']['status'] == 'unmanaged'
    assert '## service fruad (unmanaged' in table['markdown']
    assert '| node1 | v1 | unmanaged: present on node1 only |' in table['markdown']


def test_a_release_staged_but_not_serving_is_shown_as_staged():
    switch = {'phase': 'activate', 'action': 'set_mapping', 'service': 'churn', 'mapping': single('v2'),
              'sentence': 'service churn serves generation v1, the release wants generation v2'}
    importing = {'phase': 'stage', 'action': 'import_generation', 'service': 'churn',
                 'sentence': 'service churn: generation v2 is not on the node'}
    hostvars = {'node1': plan([svc('churn', 'v1')], [switch]), 'node2': plan([svc('churn', 'v1')], [importing, switch])}
    table = fleet_status(hostvars, ['node1', 'node2'], [{'id': 'churn', 'generation': 'v2'}])
    assert row(table, 'node1').endswith('STAGED, not serving yet: service churn serves generation v1, the release wants '
                                        'generation v2')
    assert 'DRIFT: service churn: generation v2 is not on the node' in row(table, 'node2')
    assert table['services']['churn']['node1']['status'] == 'STAGED' and table['drift'] is True


def test_a_node_that_does_not_answer_is_a_row_with_the_whole_reason():
    reason = 'Cannot reach the API node: GET http://node2:12000/admin/api/services: connection refused by node2:12000'
    hostvars = {'node1': plan([svc('churn', 'v1')]), 'node2': {'apinode_deploy_plan': {'failed': True, 'msg': reason}}}
    table = fleet_status(hostvars, ['node1', 'node2'], [{'id': 'churn', 'generation': 'v1'}])
    assert row(table, 'node2').endswith('NOT ANSWERING: ' + reason)
    assert table['services']['churn']['node2']['problems'] == ['NOT ANSWERING: ' + reason]


def test_nothing_declared_nor_found():
    table = fleet_status({'node1': plan([])}, ['node1'])
    assert (table['lines'], table['drift'], table['services'], table['unmanaged']) == (
        [NO_RELEASE, 'no service declared or found'], False, {}, [])
    assert table['failure'] is None and table['answered'] == ['node1']


DOWN = {'apinode_deploy_plan': {'failed': True, 'msg': 'Cannot reach the API node: connection refused'}}


@pytest.mark.parametrize('declared', [[{'id': 'churn', 'generation': 'v1'}], []])
def test_a_fleet_where_no_node_answered_fails_in_one_line_after_its_table(declared):
    table = fleet_status({'node1': DOWN, 'node2': DOWN}, ['node1', 'node2'], declared)
    assert table['failure'] == 'No node answered: node1, node2 could not be read; see the table above.'
    assert table['answered'] == [] and table['drift'] is True
    # The table still says why, node by node.
    assert sum('NOT ANSWERING: Cannot reach the API node: connection refused' in line for line in table['lines']) == 2
    assert '**No node answered: node1, node2 could not be read; see the table above.**' in table['markdown']


def test_a_large_fleet_where_no_node_answered_is_named_in_part():
    hosts = ['node%02d' % i for i in range(1, 13)]
    table = fleet_status(dict((h, DOWN) for h in hosts), hosts)
    assert table['failure'] == ('No node answered: %s and 2 more could not be read; see the table above.'
                                % ', '.join(hosts[:10]))


def test_without_a_release_each_node_that_did_not_answer_has_its_own_line():
    table = fleet_status({'node1': plan([]), 'node2': DOWN}, ['node1', 'node2'])
    assert table['lines'] == [NO_RELEASE, 'node node2: NOT ANSWERING: Cannot reach the API node: connection refused',
                              'no service declared or found']
    assert table['drift'] is True and table['failure'] is None, 'one node answered: a row, not a failed run'
    assert '- node node2: NOT ANSWERING: Cannot reach the API node' in table['markdown']


def test_some_nodes_down_fail_the_run_only_on_drift_when_asked_to():
    hostvars = {'node1': plan([svc('churn', 'v1')]), 'node2': DOWN}
    declared = [{'id': 'churn', 'generation': 'v1'}]
    assert fleet_status(hostvars, ['node1', 'node2'], declared)['failure'] is None
    assert fleet_status(hostvars, ['node1', 'node2'], declared, fail_on_drift=True)['failure'] == (
        'The fleet has drifted; see the table above.')
    current = {'node1': plan([svc('churn', 'v1')])}
    assert fleet_status(current, ['node1'], declared, fail_on_drift=True)['failure'] is None


def test_no_release_says_how_to_give_one_first():
    table = fleet_status({'node1': plan([svc('fraud', 'v3')])}, ['node1'])
    assert table['hint'] == NO_RELEASE and table['lines'][0] == NO_RELEASE
    assert 'apinode_deploy_services' in NO_RELEASE and '-e @release.yml' in NO_RELEASE
    assert table['lines'][1].startswith('service fraud (unmanaged')
    assert table['markdown'].startswith('# Fleet status\n\n' + NO_RELEASE + '\n')
    declared = fleet_status({'node1': plan([svc('churn', 'v1')])}, ['node1'], [{'id': 'churn', 'generation': 'v1'}])
    assert declared['hint'] is None and declared['lines'][0] == 'service churn (wanted: v1)'


def test_check_mode_says_where_the_report_would_go_and_writes_nothing():
    hostvars = {'node1': plan([svc('churn', 'v1')])}
    declared = [{'id': 'churn', 'generation': 'v1'}]
    checked = fleet_status(hostvars, ['node1'], declared, check_mode=True, report_file='status.md',
                           playbook_dir='/srv/plays')
    note = 'Check mode: the report would be written to /srv/plays/status.md; nothing was written.'
    assert checked['report'] == {'name': 'status.md', 'path': '/srv/plays/status.md', 'write': False, 'note': note}
    assert checked['lines'][-1] == note
    written = fleet_status(hostvars, ['node1'], declared, report_file='/var/reports/status.json', playbook_dir='/srv/plays')
    assert written['report'] == {'name': '/var/reports/status.json', 'path': '/var/reports/status.json', 'write': True,
                                 'note': None}
    assert not any('Check mode' in line for line in written['lines'])
    for report_file in ('', None):
        assert fleet_status(hostvars, ['node1'], declared, check_mode=True, report_file=report_file)['report']['write'] is False


def test_a_drained_node_is_shown_as_drained():
    left = plan([svc('churn', 'v1')])
    left['apinode_deploy_plan']['drained'] = {'by': 'dss.apinode', 'owner': 'ctl:1:2', 'since': '2026-11-30T10:00:00Z'}
    by_hand = plan([svc('churn', 'v1')])
    by_hand['apinode_deploy_plan']['drained'] = {'by': 'someone else'}
    table = fleet_status({'node1': left, 'node2': by_hand, 'node3': plan([svc('churn', 'v1')])},
                         ['node1', 'node2', 'node3'], [{'id': 'churn', 'generation': 'v1'}])
    assert table['nodes']['node1']['status'] == 'drained' and table['drift'] is True
    assert 'node node1: drained (left out by an interrupted rollout, put back by the next one, since 2026-11-30T10:00:00Z)' \
        in table['lines']
    assert table['nodes']['node2']['note'] == 'taken out by someone else'
    assert 'node3' not in table['nodes']
    assert '- node node2: drained (taken out by someone else)' in table['markdown']


def targeted(services, target, steps=()):
    """A node's plan with the target its apinode_release resolved for churn (RV targets)."""
    out = plan(services, steps)
    out['apinode_deploy_plan']['targets'] = [dict({'id': 'churn', 'enabled': True}, **target)]
    return out


def switch(served, wanted):
    return {'phase': 'activate', 'action': 'set_mapping', 'service': 'churn', 'mapping': single(wanted),
            'sentence': 'service churn serves generation %s, the release wants generation %s' % (served, wanted)}


def test_the_wanted_state_is_the_target_the_nodes_resolved_not_what_most_nodes_serve():
    # A rollout from v2 to v3 half-way: no generation declared, the package's tag.json says v3.
    v3 = {'mapping': single('v3')}
    hostvars = {'node1': targeted([svc('churn', 'v3')], v3),
                'node2': targeted([svc('churn', 'v2')], v3, [switch('v2', 'v3')]),
                'node3': targeted([svc('churn', 'v2')], v3, [switch('v2', 'v3')])}
    table = fleet_status(hostvars, ['node1', 'node2', 'node3'], [{'id': 'churn', 'package': 'files/churn_v3.zip'}])
    assert table['lines'][0] == 'service churn (wanted: v3)'
    assert row(table, 'node1').endswith(' ok')
    assert row(table, 'node2').endswith('STAGED, not serving yet: service churn serves generation v2, the release wants '
                                        'generation v3')
    assert table['markdown'].count('## service churn (wanted: v3)') == 1


def test_without_one_target_agreed_by_every_answering_node_the_wanted_state_falls_back():
    declared = [{'id': 'churn', 'package': 'files/churn_v3.zip'}]
    disagree = {'node1': targeted([svc('churn', 'v2')], {'mapping': single('v3')}),
                'node2': targeted([svc('churn', 'v2')], {'mapping': single('v4')}),
                'node3': targeted([svc('churn', 'v2')], {'mapping': single('v3')})}
    assert fleet_status(disagree, ['node1', 'node2', 'node3'], declared)['lines'][0] == 'service churn (wanted: v2)'
    # A node that gave no target (another collection version) does not agree either; one that did not answer is left out.
    partial = {'node1': targeted([svc('churn', 'v2')], {'mapping': single('v3')}), 'node2': plan([svc('churn', 'v2')]),
               'node3': DOWN}
    assert fleet_status(partial, ['node1', 'node2', 'node3'], declared)['lines'][0] == 'service churn (wanted: v2)'
    answering = {'node1': targeted([svc('churn', 'v2')], {'mapping': single('v3')}), 'node3': DOWN}
    assert fleet_status(answering, ['node1', 'node3'], declared)['lines'][0] == 'service churn (wanted: v3)'
    # No node answered: the declared generation, as before.
    assert fleet_status({'node1': DOWN}, ['node1'], [{'id': 'churn', 'generation': 'v3'}])['lines'][0] == (
        'service churn (wanted: v3)')


def test_a_service_kept_disabled_is_wanted_disabled():
    hostvars = {'node1': targeted([svc('churn', 'v2', enabled=False)], {'enabled': False, 'mapping': None})}
    table = fleet_status(hostvars, ['node1'], [{'id': 'churn', 'package': 'files/churn_v3.zip', 'enabled': False}])
    assert table['lines'][0] == 'service churn (wanted: disabled)' and row(table, 'node1').endswith(' ok')


def test_a_mapping_reads_the_same_in_the_title_and_the_rows_whatever_the_order_of_its_entries():
    def multi(*entries):
        return {'mode': 'MULTI_GENERATION', 'strategy': 'random',
                'entries': [{'generation': g, 'proba': p} for g, p in entries]}
    wanted = multi(('v1', 0.9), ('v2', 0.1))
    listed_otherwise = multi(('v2', 0.1), ('v1', 0.9))
    enable = {'phase': 'activate', 'action': 'set_mapping', 'service': 'churn', 'mapping': wanted,
              'sentence': 'service churn is disabled, the release wants it enabled'}
    hostvars = {'node1': targeted([dict(svc('churn', None), mapping=listed_otherwise)], {'mapping': wanted}),
                'node2': targeted([dict(svc('churn', None, enabled=False), mapping=listed_otherwise)], {'mapping': wanted},
                                  [enable])}
    declared = [{'id': 'churn', 'mapping': [{'generation': 'v2', 'proba': 0.1}, {'generation': 'v1', 'proba': 0.9}]}]
    table = fleet_status(hostvars, ['node1', 'node2'], declared)
    assert table['lines'][0] == 'service churn (wanted: v1:0.9,v2:0.1 (random))'
    assert row(table, 'node1').split()[1:] == ['v1:0.9,v2:0.1', '(random)', 'ok']
    # The same mapping, only disabled: drift to fix, not a switch still to come.
    assert table['services']['churn']['node2']['status'] == 'DRIFT'
    # Generation ids sort as versions: v9 before v10.
    tens = multi(('v10', 0.5), ('v9', 0.5))
    nines = fleet_status({'node1': targeted([dict(svc('churn', None), mapping=tens)], {'mapping': tens})}, ['node1'], declared)
    assert nines['lines'][0] == 'service churn (wanted: v9:0.5,v10:0.5 (random))'
    # The declared mapping, when the nodes give no target, is written the same way.
    assert fleet_status({'node1': DOWN}, ['node1'], declared)['lines'][0] == 'service churn (wanted: v1:0.9,v2:0.1 (random))'
