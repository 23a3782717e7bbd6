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
  - A declared service's title says what the release wants - the target every answering node's plan resolved
    (RV(dss.apinode.apinode_release#module:targets) - the declared C(generation) or C(mapping), else the C(generationId)
    of the package's C(tag.json)), or C(disabled) for a service the release keeps disabled; written as the rows write
    what a node serves, so a row that differs is a row that drifts. When no node answered or the nodes resolve different
    targets, the title falls back to the declared C(generation) or C(mapping), else to what most nodes serve.
  - A mapping is written with its entries sorted by generation, so that the order the node lists them in never makes
    two equal mappings look different.
  - A service that the release does not declare is C(unmanaged) - never drift - with facts per node - present on some
    nodes only, or another generation or mapping than most nodes.
  - It also decides what the playbook does with the table - whether the run fails (RV(_value.failure)) and whether the
    report file is written (RV(_value.report)).
extends_documentation_fragment:
  - dss.apinode.play_hosts
  - dss.apinode.play_hosts.report_file
  - dss.apinode.play_hosts.result
options:
  hosts:
    description: The hosts of the table, in order.
  declared:
    description:
      - The release's services (C(apinode_deploy_services)) - which services are declared, and the wanted state of their
        title when the nodes' plans give none.
      - When empty, every service found is unmanaged and the table starts with a line saying how to give the release
        (RV(_value.hint)).
    type: list
    elements: dict
    default: []
  fail_on_drift:
    description: Whether drift fails the run (RV(_value.failure)); a fleet where no node answered fails it anyway.
    type: bool
    default: false
  check_mode:
    description: C(ansible_check_mode). In check mode the report file is not written; the table says where it would be.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Build the fleet table
  ansible.builtin.set_fact:
    table: "{{ hostvars | dss.apinode.fleet_status(ansible_play_hosts_all | sort, apinode_deploy_services) }}"

- name: The same, failing on drift, with a report file that check mode does not write
  ansible.builtin.set_fact:
    table: >-
      {{ hostvars | dss.apinode.fleet_status(ansible_play_hosts_all | sort, apinode_deploy_services, fail_on_drift=true,
         check_mode=ansible_check_mode, report_file='status.md', playbook_dir=playbook_dir) }}
'''

RETURN = r'''
_value:
  description: The table.
  type: dict
  contains:
    lines:
      description:
        - The printed lines; per service a title line (the service and what the release wants, or for an unmanaged service
          what most nodes serve), then one line per host.
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
    answered:
      description: The hosts whose node answered, in the order of O(hosts).
      type: list
      elements: str
    hint:
      description: How to give the release, when O(declared) is empty (also the first line of RV(_value.lines)); else null.
      type: str
    failure:
      description:
        - Why the run fails, in one line, else null - no node answered (whatever O(fail_on_drift) says), or the fleet
          drifted and O(fail_on_drift) is true.
      type: str
    report:
      description:
        - The report file - C(name) (O(report_file) as given, which says its format; null for none), C(path) (where it
          goes on the controller), C(write) (whether to write it - false without O(report_file), and in check mode) and
          C(note) (in check mode, the last line of RV(_value.lines), saying where it would be written; else null).
      type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.dss.apinode.plugins.filter.report_path import report_target
from ansible_collections.dss.apinode.plugins.module_utils._release import short_mapping

DRIFT_PHASES = ('stage', 'activate')
NOT_ANSWERING = 'NOT ANSWERING'
# Where the collection's guides tell users to put the release (the deploy role's variables).
NO_RELEASE = ('No release given (apinode_deploy_services is empty): every service found is unmanaged and none '
              'counts as drift; give the release in group_vars or with -e @release.yml.')
DRIFTED = 'The fleet has drifted; see the table above.'
MAX_NAMED = 10


def _serves(service):
    return '-' if service is None else short_mapping(service.get('mapping'))


def _wanted(declared, values, targets=()):
    """The wanted state of a service's title, in the text of the rows' serves (``short_mapping``) so both compare alike.

    ``targets``: the service's entry of ``targets`` from each answering node - the target apinode_release
    resolved (the package's tag.json when no generation is given), used when every node gives the same one.
    Otherwise the declared generation or mapping, else what most nodes serve."""
    resolved = set(_target(target) for target in targets)
    if len(resolved) == 1 and None not in resolved:
        return resolved.pop()
    if declared is not None:
        if declared.get('mapping'):
            return short_mapping(dict(entries=[dict(generation=e['generation'], proba=float(e['proba']))
                                               for e in declared['mapping']], strategy=declared.get('strategy')))
        if declared.get('generation') not in (None, ''):
            return str(declared['generation'])
    counts = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return max(sorted(counts), key=lambda v: counts[v]) if counts else '-'


def _target(target):
    """One node's target in words, or None when the node gave none (the caller then falls back)."""
    if not isinstance(target, dict):
        return None
    if target.get('mapping'):
        return short_mapping(target['mapping'])
    # No mapping: a service the release keeps disabled is never switched, whatever it serves.
    return 'disabled' if target.get('enabled') is False else None


def _answered(plan):
    return bool(plan) and not plan.get('failed') and 'plan' in plan


def fleet_status(hostvars, hosts, declared=None, result='apinode_deploy_plan', fail_on_drift=False, check_mode=False,
                 report_file='', playbook_dir=None):
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
            if not _answered(plan):
                rows[host] = dict(serves='-', status='NOT ANSWERING', problems=[_not_answering(plan)])
                continue
            found = next((s for s in plan.get('node_services') or plan.get('services') or []
                          if s.get('id') == sid and s.get('exists', True)), None)
            rows[host] = dict(serves=_serves(found), found=found is not None, problems=[], facts=[])
            if sid in by_id:
                steps = [step for step in plan['plan'] if step.get('service') == sid and step.get('phase') in DRIFT_PHASES]
                rows[host]['problems'] = [step['sentence'] for step in steps]
                # Everything is on the node and only the switch is left: staged, not serving yet.
                staged = (steps and not any(step['phase'] == 'stage' for step in steps)
                          and any(step.get('mapping') and short_mapping(step['mapping']) != rows[host]['serves'] for step in steps))
                rows[host]['status'] = 'STAGED' if staged else 'DRIFT' if steps else 'ok'
        answering = [h for h in hosts if 'found' in rows[h]]
        having = [h for h in answering if rows[h]['found']]
        targets = [next((t for t in plans[h].get('targets') or [] if isinstance(t, dict) and t.get('id') == sid), None)
                   for h in answering] if sid in by_id else []
        wanted = _wanted(by_id.get(sid), [rows[h]['serves'] for h in having], targets)
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
    answered = [h for h in hosts if _answered(plans[h])]
    if not table:
        # No service rows to carry them: each node that did not answer gets a line of its own.
        lines += ['node %s: %s' % (h, _not_answering(plans[h])) for h in hosts if h not in answered]
        lines.append('no service declared or found' if answered else 'no service declared')
    drift = drift or len(answered) < len(hosts)
    hint = None if declared else NO_RELEASE
    if hint:
        lines.insert(0, hint)
    failure = None
    if hosts and not answered:
        # A large fleet is named in part: the table names every node.
        named = ', '.join(hosts[:MAX_NAMED]) + (' and %d more' % (len(hosts) - MAX_NAMED) if len(hosts) > MAX_NAMED else '')
        failure = 'No node answered: %s could not be read; see the table above.' % named
    elif fail_on_drift and drift:
        failure = DRIFTED
    report = dict(lines=lines, drift=drift, services=table, unmanaged=unmanaged, nodes=nodes, answered=answered,
                  hint=hint, failure=failure, report=report_target(report_file, playbook_dir, check_mode))
    report['markdown'] = _markdown(report, hosts, plans)
    if report['report']['note']:
        lines.append(report['report']['note'])
    return report


def _not_answering(plan):
    return '%s: %s' % (NOT_ANSWERING, (plan or {}).get('msg') or 'no answer')


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


def _markdown(report, hosts, plans):
    out = ['# Fleet status', '']
    if report.get('hint'):
        out += [report['hint'], '']
    out += ['- node %s: drained (%s)' % (host, node['note']) for host, node in sorted(report.get('nodes', {}).items())]
    if report.get('nodes'):
        out.append('')
    if not report['services']:
        down = ['- node %s: %s' % (h, _not_answering(plans[h])) for h in hosts if h not in report['answered']]
        out += down + ([''] if down else []) + ['no service declared or found' if report['answered'] else 'no service declared', '']
    for sid, rows in report['services'].items():
        title = next(line for line in report['lines'] if line.startswith('service %s (' % sid))
        out += ['## ' + title, '', '| node | serves | status |', '|---|---|---|']
        for host in hosts:
            out.append('| %s | %s | %s |' % tuple(str(v).replace('|', '\\|') for v in (host, rows[host]['serves'],
                                                                                       _verdict(rows[host]))))
        out.append('')
    if report.get('failure'):
        out += ['**%s**' % report['failure'], '']
    return '\n'.join(out)


class FilterModule(object):

    def filters(self):
        return {'fleet_status': fleet_status}
