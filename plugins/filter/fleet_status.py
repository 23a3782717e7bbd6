# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: fleet_status
short_description: One table of what every API node serves, with drift flagged
version_added: 0.1.0
author: dss.apinode contributors
description:
  - Builds the table that the C(dss.apinode.fleet_status) playbook prints, from the plans that
    M(dss.apinode.apinode_release) computed in check mode on every node.
  - A declared service drifts on a node when the node's plan has a stage or activate step for it, the
    same comparison that C(dss.apinode.rolling_deploy) uses to decide what to change. Retention is not drift.
  - A declared service whose node has everything the release needs but does not serve it yet is C(STAGED) (the plan has
    activate steps only), not C(DRIFT); both count as drift for RV(_value.drift).
  - A service that the release does not declare is C(unmanaged) - never drift - with facts per node - present on some
    nodes only, or another generation or mapping than most nodes.
options:
  _input:
    description: C(hostvars).
    type: dict
    required: true
  hosts:
    description: The hosts of the table, in order.
    type: list
    elements: str
    required: true
  declared:
    description: The release's services (C(apinode_deploy_services)), for the wanted column.
    type: list
    elements: dict
    default: []
  result:
    description: The name of the registered M(dss.apinode.apinode_release) result on each host.
    type: str
    default: apinode_deploy_plan
'''

EXAMPLES = r'''
- name: Build the fleet table
  ansible.builtin.set_fact:
    table: "{{ hostvars | dss.apinode.fleet_status(ansible_play_hosts_all | sort, apinode_deploy_services) }}"
'''

RETURN = r'''
_value:
  description: The table.
  type: dict
  contains:
    lines:
      description: The printed lines; per service a title line, then one line per host.
      type: list
      elements: str
    drift:
      description: Whether any node drifts or does not answer.
      type: bool
    services:
      description:
        - Per service id, per host, C(serves) (text), C(status) (V(ok), V(DRIFT), V(STAGED), V(unmanaged), V(NOT ANSWERING)),
          C(problems) (drift sentences) and, for an unmanaged service, C(facts).
      type: dict
    unmanaged:
      description: The services found on nodes that the release does not declare.
      type: list
      elements: str
    nodes:
      description:
        - Per host out of its load balancer (the plan's C(drained)) - C(status) (V(drained)), C(by), C(since) and a C(note).
          A node left out by an interrupted dss.apinode rollout counts as drift; one taken out by someone else does not.
      type: dict
    markdown:
      description: The same table in Markdown, for P(dss.apinode.report_document#filter).
      type: str
'''

from ansible.errors import AnsibleFilterError

DRIFT_PHASES = ('stage', 'activate')
NOT_ANSWERING = 'NOT ANSWERING'


def _serves(service):
    if service is None:
        return '-'
    if not service.get('mapping'):
        return 'no mapping'
    return _short(service['mapping'])


def _short(mapping):
    if mapping.get('mode') == 'SINGLE_GENERATION' or len(mapping.get('entries') or []) == 1:
        return str(mapping.get('generation') or mapping['entries'][0]['generation'])
    return '%s (%s)' % (','.join('%s:%g' % (e['generation'], e['proba']) for e in mapping['entries']),
                        mapping.get('strategy') or 'random')


def _wanted(declared, values):
    if declared is not None:
        if declared.get('mapping'):
            return '%s (%s)' % (','.join('%s:%g' % (e['generation'], float(e['proba'])) for e in declared['mapping']),
                                declared.get('strategy') or 'random')
        if declared.get('generation') not in (None, ''):
            return str(declared['generation'])
    counts = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return max(sorted(counts), key=lambda v: counts[v]) if counts else '-'


def fleet_status(hostvars, hosts, declared=None, result='apinode_deploy_plan'):
    declared = declared or []
    if not isinstance(declared, list):
        raise AnsibleFilterError('fleet_status: declared must be the list of the release services')
    by_id = dict((d.get('id'), d) for d in declared if isinstance(d, dict))
    plans = dict((h, (hostvars.get(h) or {}).get(result) or {}) for h in hosts)
    ids = [d.get('id') for d in declared if isinstance(d, dict)]
    unmanaged = []
    for host in hosts:
        for service in plans[host].get('node_services') or plans[host].get('services') or []:
            if service.get('id') not in ids and service.get('exists', True):
                ids.append(service['id'])
                unmanaged.append(service['id'])
    table = {}
    lines = []
    drift = False
    for sid in ids:
        rows = {}
        for host in hosts:
            plan = plans[host]
            if plan.get('failed') or 'plan' not in plan:
                rows[host] = dict(serves='-', status='NOT ANSWERING', problems=['%s: %s' % (NOT_ANSWERING, plan.get('msg') or 'no answer')])
                continue
            found = next((s for s in plan.get('node_services') or plan.get('services') or []
                          if s.get('id') == sid and s.get('exists', True)), None)
            rows[host] = dict(serves=_serves(found), found=found is not None, problems=[], facts=[])
            if sid in by_id:
                steps = [step for step in plan['plan'] if step.get('service') == sid and step.get('phase') in DRIFT_PHASES]
                rows[host]['problems'] = [step['sentence'] for step in steps]
                # Everything is on the node and only the switch is left: staged, not serving yet.
                staged = (steps and not any(step['phase'] == 'stage' for step in steps)
                          and any(step.get('mapping') and _short(step['mapping']) != rows[host]['serves'] for step in steps))
                rows[host]['status'] = 'STAGED' if staged else 'DRIFT' if steps else 'ok'
        answering = [h for h in hosts if 'found' in rows[h]]
        having = [h for h in answering if rows[h]['found']]
        wanted = _wanted(by_id.get(sid), [rows[h]['serves'] for h in having])
        if sid not in by_id:
            # Not the release's: facts about the nodes, never drift.
            for host in answering:
                row = rows[host]
                row['status'] = 'unmanaged'
                if not row['found']:
                    row['facts'].append('not on this node')
                elif len(having) < len(answering):
                    row['facts'].append('present on %s only' % ', '.join(having))
                if row['found'] and row['serves'] != wanted:
                    row['facts'].append('other generation or mapping than most nodes (%s)' % wanted)
            lines.append('service %s (unmanaged: not in the release; most nodes serve %s)' % (sid, wanted))
        else:
            lines.append('service %s (wanted: %s)' % (sid, wanted))
        for host in hosts:
            row = rows[host]
            row.pop('found', None)
            drift = drift or bool(row['problems'])
            lines.append('  %-16s %-36s %s' % (host, row['serves'], _verdict(row)))
        table[sid] = rows
    # Nodes out of their load balancer: left out by an interrupted rollout (drift), or by someone else (a fact).
    nodes = {}
    for host in hosts:
        drained = (plans[host] or {}).get('drained')
        if drained and not plans[host].get('failed'):
            ours = drained.get('by') == 'dss.apinode'
            nodes[host] = dict(status='drained', by=drained.get('by'), since=drained.get('since'),
                               note='left out by an interrupted rollout, put back by the next one' if ours
                               else 'taken out by someone else')
            drift = drift or ours
            since = ', since %s' % drained['since'] if drained.get('since') else ''
            lines.insert(0, 'node %s: drained (%s%s)' % (host, nodes[host]['note'], since))
    report = dict(lines=lines or ['no service declared or found'], drift=drift, services=table, unmanaged=unmanaged,
                  nodes=nodes)
    report['markdown'] = _markdown(report, hosts)
    return report


def _verdict(row):
    status = row.get('status')
    if status == 'NOT ANSWERING':
        return '; '.join(row['problems'])
    if status == 'STAGED':
        return 'STAGED, not serving yet: ' + '; '.join(row['problems'])
    if status == 'DRIFT':
        return 'DRIFT: ' + '; '.join(row['problems'])
    if status == 'unmanaged':
        return 'unmanaged' + (': ' + '; '.join(row['facts']) if row['facts'] else '')
    return 'ok'


def _markdown(report, hosts):
    out = ['# Fleet status', '']
    out += ['- node %s: drained (%s)' % (host, node['note']) for host, node in sorted(report.get('nodes', {}).items())]
    if report.get('nodes'):
        out.append('')
    if not report['services']:
        return '# Fleet status\n\nno service declared or found\n'
    for sid, rows in report['services'].items():
        title = next(line for line in report['lines'] if line.startswith('service %s (' % sid))
        out += ['## ' + title, '', '| node | serves | status |', '|---|---|---|']
        for host in hosts:
            out.append('| %s | %s | %s |' % tuple(str(v).replace('|', '\\|') for v in (host, rows[host]['serves'],
                                                                                       _verdict(rows[host]))))
        out.append('')
    return '\n'.join(out)


class FilterModule(object):

    def filters(self):
        return {'fleet_status': fleet_status}
