# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: deploy_report
short_description: The run report of a rollout - per node, each service from -> to, smoke tests, what was skipped and why
version_added: 0.1.0
author: dss.apinode contributors
description:
  - Reads what the C(dss.apinode.deploy) role registered on each host during a run - the preflight plan
    (C(apinode_deploy_plan)), the stage, activate and retain results, the rollout gate's verdict and the rollback - and
    builds one report - per node its outcome, each release service's C(from) (what it served before the run) and
    C(to) (the plan's target), the smoke test verdicts, the phases skipped and why, and how long each phase took.
  - The same data is printed (C(lines)), given to C(set_stats) and written to a file (P(dss.apinode.report_document#filter)).
extends_documentation_fragment:
  - dss.apinode.play_hosts
  - dss.apinode.play_hosts.report_file
options:
  check_mode:
    description: Whether the run was in check mode (nothing applied, and no report file written).
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Build the run report
  ansible.builtin.set_fact:
    report: "{{ hostvars | dss.apinode.deploy_report(ansible_play_hosts_all, ansible_check_mode) }}"
  run_once: true
'''

RETURN = r'''
_value:
  description: The report.
  type: dict
  contains:
    outcome:
      description: V(ok) when no node failed, else V(failed).
      type: str
    summary:
      description: Number of nodes per outcome.
      type: dict
    nodes:
      description:
        - Per host - C(outcome) (V(changed), V(left alone), V(failed), V(rolled back), V(not reached), V(planned)),
          C(reason), C(services) (C(id), C(from), C(to), C(result)), C(smoke_tests), C(skipped) (sentences),
          C(durations) (seconds per phase), C(pruned) (staging folders removed).
      type: dict
    lines:
      description:
        - The short table printed on screen. Its first line gives the outcome and the number of nodes per outcome;
          in check mode it starts with C(Check mode, nothing is changed. Rollout plan).
      type: list
      elements: str
    markdown:
      description: The same report in Markdown.
      type: str
    report:
      description: What to do with O(report_file) - C(name), C(path), C(write) and C(note), as for P(dss.apinode.fleet_status#filter).
      type: dict
    rollback:
      description:
        - What the rollout gate put back, in one sentence - C(Rolled back - ...), and the nodes it could not put back or
          release with the error (C(NOT put back - ...)); these nodes are also C(failed) in RV(_value.nodes).
      type: str
    pending:
      description:
        - The hosts of the play that the role has not planned yet in this run - those of a later C(serial) batch. The role
          prints the report of phase V(all) when none is left, so that a play in batches reports once, at its end.
      type: list
      elements: str
'''

from ansible_collections.dss.apinode.plugins.filter.report_path import CHECK_MODE_LEAD, report_target
from ansible_collections.dss.apinode.plugins.module_utils._release import short_mapping

PLAN = 'apinode_deploy_plan'
STAGING = '__apinode_deploy_staging'
ACTIVATION = '__apinode_deploy_activation'
RETENTION = '__apinode_deploy_retention'
VERDICT = '__apinode_deploy_verdict'
ROLLBACK = '__apinode_deploy_rollback'
# Registered by the role's plan of this run (preflight.yml): unlike apinode_deploy_plan, never by a status play.
PLANNED = '__apinode_deploy_planned'


def _result(facts, name):
    value = facts.get(name)
    return value if isinstance(value, dict) and not value.get('skipped') else None


def _ran(result):
    return result is not None and ('plan' in result or result.get('failed'))


def _services(plan, activation, rolled_back):
    out = []
    targets = {}
    for step in plan.get('plan') or []:
        if step.get('phase') != 'activate' or not step.get('service'):
            continue
        if step.get('action') == 'set_mapping':
            targets[step['service']] = short_mapping(step.get('mapping'))
        elif step.get('action') == 'disable':
            targets[step['service']] = 'disabled'
    for item in plan.get('previous') or []:
        before = short_mapping(item.get('mapping'), item.get('enabled', True), item.get('existed', True))
        to = targets.get(item['id'], before)
        if rolled_back:
            result = 'rolled back to %s' % before if to != before else 'unchanged'
        elif activation is None:
            result = 'unchanged' if to == before else 'not switched'
        elif activation.get('failed'):
            result = 'failed'
        else:
            result = 'switched' if to != before else 'unchanged'
        out.append(dict(id=item['id'], to=to, result=result, **{'from': before}))
    return out


def _node(host, facts, check_mode, failed_hosts, rolled_back_hosts, stopped):
    plan = _result(facts, PLAN) or {}
    staging, activation, retention = (_result(facts, n) for n in (STAGING, ACTIVATION, RETENTION))
    staging = staging if _ran(staging) else None
    activation = activation if _ran(activation) else None
    retention = retention if _ran(retention) else None
    rolled_back = host in rolled_back_hosts
    node = dict(services=_services(plan, activation, rolled_back), smoke_tests=[], skipped=[], durations={}, pruned=[],
                reason='')
    for phase, result in (('plan', plan if 'plan' in plan else None), ('stage', staging), ('activate', activation),
                          ('retain', retention)):
        if result is not None and result.get('duration') is not None:
            node['durations'][phase] = result['duration']
    if activation is not None and activation.get('phase') == 'all' and activation.get('durations'):
        # One call staged, switched and cleaned (phase all, as bootstrap_node runs it): its own split.
        node['durations'].pop('activate', None)
        node['durations'].update(activation['durations'])
    if activation is not None:
        node['smoke_tests'] = [dict((k, t.get(k)) for k in ('service', 'endpoint', 'generation', 'passed', 'message'))
                               for t in activation.get('smoke_tests') or []]
    for result in (activation, retention):
        if result is not None:
            node['pruned'].extend(result.get('pruned') or [])
    if plan.get('failed'):
        node.update(outcome='failed', reason=plan.get('msg') or 'the plan failed')
    elif 'plan' not in plan:
        node.update(outcome='not reached', reason='not planned: the run stopped before this node')
    elif check_mode:
        node.update(outcome='planned', reason='check mode: nothing applied')
        node['skipped'].append('every phase: check mode')
    elif host in failed_hosts:
        node.update(outcome='failed', reason=failed_hosts[host])
    elif rolled_back:
        node.update(outcome='rolled back', reason='another node failed: put back to what it served')
    elif plan.get('current') and staging is None and activation is None:
        node.update(outcome='left alone', reason='already serves the release')
        node['skipped'].append('stage, activate and retain: the node already serves the release')
    elif activation is None and staging is not None:
        node.update(outcome='not reached' if stopped else 'staged',
                    reason='the rollout stopped before its batch' if stopped else 'staged, not switched in this run')
        node['skipped'].append('activate and retain: %s' % node['reason'])
    elif activation is None:
        node.update(outcome='not reached', reason='the rollout stopped before this node' if stopped else 'no phase ran')
    else:
        changed = any(r is not None and r.get('changed') for r in (staging, activation, retention))
        node.update(outcome='changed' if changed else 'unchanged', reason='')
    return node


def deploy_report(hostvars, hosts, check_mode=False, report_file='', playbook_dir=None):
    nodes = {}
    failed_hosts, rolled_back_hosts, stopped = {}, set(), False
    not_put_back = {}  # host -> why the gate could not put it back (or release its lock)
    for host in hosts:
        facts = hostvars.get(host) or {}
        verdict = facts.get(VERDICT)
        if isinstance(verdict, dict):
            failed_hosts.update(verdict.get('failed') or {})
            stopped = stopped or bool(verdict.get('stop'))
        rollback = facts.get(ROLLBACK)
        if isinstance(rollback, dict):
            rolled_back_hosts.update(r.get('item') for r in rollback.get('results') or [] if r.get('changed'))
            not_put_back.update((r.get('item'), r.get('msg') or 'failed without a message')
                                for r in rollback.get('results') or [] if r.get('failed'))
    for host in hosts:
        nodes[host] = _node(host, hostvars.get(host) or {}, check_mode, failed_hosts, rolled_back_hosts,
                            stopped or bool(failed_hosts))
        if host in not_put_back:
            # Still serving what the rollout switched it to, or holding this run's lock: for someone to see to.
            lead = nodes[host]['reason'] + '; ' if nodes[host]['outcome'] == 'failed' else 'another node failed, and '
            nodes[host].update(outcome='failed', reason='%sNOT put back: %s' % (lead, not_put_back[host]))
    summary = {}
    for node in nodes.values():
        summary[node['outcome']] = summary.get(node['outcome'], 0) + 1
    outcome = 'failed' if any(n['outcome'] == 'failed' for n in nodes.values()) else 'ok'
    report = dict(outcome=outcome, summary=summary, nodes=nodes, check_mode=bool(check_mode))
    report['lines'] = _lines(report, hosts)
    report['markdown'] = _markdown(report, hosts)
    report['report'] = report_target(report_file, playbook_dir, check_mode)
    report['pending'] = [host for host in hosts if PLANNED not in (hostvars.get(host) or {})]
    report['rollback'] = _rollback_sentence(sorted(rolled_back_hosts), not_put_back)
    if report['report']['note']:
        report['lines'].append(report['report']['note'])
    return report


def _rollback_sentence(put_back, not_put_back):
    text = 'Rolled back: %s.' % (', '.join(put_back) or 'no node had switched')
    if not_put_back:
        text += ' NOT put back: %s.' % '; '.join('%s (%s)' % (h, not_put_back[h]) for h in sorted(not_put_back))
    return text


def _durations(node):
    return ', '.join('%s %gs' % (phase, node['durations'][phase]) for phase in ('plan', 'stage', 'activate', 'retain')
                     if phase in node['durations'])


def _smoke(node, service_id):
    tests = [t for t in node['smoke_tests'] if t['service'] == service_id]
    if not tests:
        return ''
    passed = sum(1 for t in tests if t['passed'])
    text = 'smoke tests %d/%d passed' % (passed, len(tests))
    failed = ['%s: %s' % (t['endpoint'], t['message']) for t in tests if not t['passed']]
    return text + (' (%s)' % '; '.join(failed) if failed else '')


def _lines(report, hosts):
    counts = ', '.join('%d %s' % (n, outcome) for outcome, n in sorted(report['summary'].items()))
    outcome = 'FAILED' if report['outcome'] == 'failed' else 'ok'
    # In check mode the report is a plan: it says so first, as the rollback playbook's does.
    title = CHECK_MODE_LEAD + ' Rollout plan' if report['check_mode'] else 'Rollout'
    lines = ['%s %s: %d node%s - %s' % (title, outcome, len(hosts), 's' if len(hosts) != 1 else '', counts)]
    for host in hosts:
        node = report['nodes'][host]
        head = '%s: %s' % (host, node['outcome'])
        if node['reason']:
            head += ' - %s' % node['reason']
        if node['durations']:
            head += ' (%s)' % _durations(node)
        lines.append(head)
        for service in node['services']:
            parts = ['%s -> %s' % (service['from'], service['to']), service['result']]
            smoke = _smoke(node, service['id'])
            if smoke:
                parts.append(smoke)
            lines.append('  %s: %s' % (service['id'], ', '.join(parts)))
        if node['pruned']:
            lines.append('  staging: %d folder%s removed' % (len(node['pruned']), 's' if len(node['pruned']) != 1 else ''))
    return lines


def _cell(text):
    return str(text).replace('|', '\\|').replace('\n', ' ')


def _markdown(report, hosts):
    out = ['# Rollout report', '', _cell(report['lines'][0]), '',
           '| node | outcome | service | from | to | result | smoke tests | durations |',
           '|---|---|---|---|---|---|---|---|']
    for host in hosts:
        node = report['nodes'][host]
        outcome = node['outcome'] + (' - %s' % node['reason'] if node['reason'] else '')
        rows = node['services'] or [dict(id='-', to='-', result='-', **{'from': '-'})]
        for index, service in enumerate(rows):
            out.append('| %s |' % ' | '.join(_cell(v) for v in (
                host if index == 0 else '', outcome if index == 0 else '', service['id'], service['from'], service['to'],
                service['result'], _smoke(node, service['id']) or '-', _durations(node) if index == 0 else '')))
    skipped = [(h, s) for h in hosts for s in report['nodes'][h]['skipped']]
    if skipped:
        out += ['', '## Skipped', ''] + ['- %s: %s' % (h, _cell(s)) for h, s in skipped]
    return '\n'.join(out) + '\n'


class FilterModule(object):

    def filters(self):
        return {'deploy_report': deploy_report}
