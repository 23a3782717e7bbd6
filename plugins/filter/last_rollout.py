# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: last_rollout
short_description: Which nodes the last rollout changed, from the records they keep, and what a rollback puts back
version_added: 0.1.0
author: dss.apinode contributors
description:
  - Reads the M(dss.apinode.apinode_release) V(rollback) plans computed in check mode on the nodes (registered as
    C(apinode_deploy_plan) by the C(dss.apinode.deploy) role in its C(rollback) phase). Each node that switched
    something in a rollout recorded it (C(last-rollout.json) in its staging folder, RV(dss.apinode.apinode_release#module:last_rollout)).
  - The last rollout is the run (the record's C(owner)) of the newest record. Only its nodes are rolled back - a node
    whose record comes from an older run was left alone by the last rollout (it already served that release) and keeps
    what it serves.
extends_documentation_fragment:
  - dss.apinode.play_hosts
  - dss.apinode.play_hosts.result
options:
  result:
    description: The name of the registered check-mode rollback on each host.
  check_mode:
    description: The run is in check mode (C(ansible_check_mode)); the first line then says that nothing is changed.
    type: bool
    default: false
  applied:
    description:
      - After the rollback, the name of its registered result on each host (the M(dss.apinode.apinode_release)
        V(rollback) run), for RV(_value.summary).
      - Omitted before the rollback.
    type: str
'''

EXAMPLES = r'''
- name: Decide which nodes the last rollout changed
  ansible.builtin.set_fact:
    last: "{{ hostvars | dss.apinode.last_rollout(ansible_play_hosts_all) }}"
  run_once: true

- name: Say what was rolled back
  ansible.builtin.debug:
    msg: "{{ (hostvars | dss.apinode.last_rollout(ansible_play_hosts_all, applied='rollback_run')).summary }}"
  run_once: true
'''

RETURN = r'''
_value:
  description: The decision.
  type: dict
  contains:
    owner:
      description: The run of the last rollout (null when no node has a record).
      type: str
    at:
      description: When its newest record was written (ISO 8601 UTC).
      type: str
    hosts:
      description: The nodes to roll back, in the order of O(hosts).
      type: list
      elements: str
    left_alone:
      description: Per other host, why it is not rolled back.
      type: dict
    failed:
      description: Per host whose record could not be read (other than no record at all), the reason.
      type: dict
    lines:
      description: What goes back, one line per node, for the screen.
      type: list
      elements: str
    message:
      description:
        - Why nothing can be rolled back, when no node has a record (nodes with the same reason named together);
          else empty.
      type: str
    summary:
      description:
        - With O(applied), one line saying how many nodes were put back, and which nodes already served what they
          served before, were left alone or failed; else empty.
      type: str
'''

from ansible_collections.dss.apinode.plugins.filter.report_path import CHECK_MODE_LEAD

NO_RECORD = 'No rollout is recorded'


def last_rollout(hostvars, hosts, result='apinode_deploy_plan', check_mode=False, applied=None):
    records, left, failed = {}, {}, {}
    for host in hosts:
        plan = (hostvars.get(host) or {}).get(result) or {}
        record = plan.get('last_rollout')
        if plan.get('failed') or not isinstance(record, dict):
            reason = plan.get('msg') or 'no record read'
            if reason.startswith(NO_RECORD):
                left[host] = 'no rollout recorded on this node'
            else:
                failed[host] = reason
            continue
        records[host] = record
    owner, at = None, None
    if records:
        newest = max(records, key=lambda h: (records[h].get('at') or '', h))
        owner, at = records[newest].get('owner'), records[newest].get('at')
    chosen = []
    for host in hosts:
        if host not in records:
            continue
        if records[host].get('owner') == owner:
            chosen.append(host)
        else:
            left[host] = 'its record is from an earlier rollout (%s): the last rollout did not switch it' % records[host].get('at')
    moving = [h for h in chosen if hostvars[h][result].get('plan')]
    lines = ['%sLast rollout: run %s at %s; %s' % (
        CHECK_MODE_LEAD + ' ' if check_mode else '', owner or 'unknown', at or '-',
        ('%d node%s to put back' % (len(moving), 's' if len(moving) != 1 else '')) if moving
        else 'its nodes already serve what they served before it')] if records else []
    for host in hosts:
        if host in chosen:
            steps = [s.get('sentence') for s in (hostvars[host][result].get('plan') or [])]
            done = 'nothing to put back, it already serves what it served before the last rollout'
            lines.append('%s: %s' % (host, '; '.join(steps) if steps else done))
        elif host in left:
            lines.append('%s: left alone - %s' % (host, left[host]))
        elif host in failed:
            lines.append('%s: FAILED - %s' % (host, failed[host]))
    message = '' if chosen else ('No node of the play has a rollout record to roll back to. %s'
                                 % ' '.join(_by_reason(hosts, dict(left, **failed))))
    summary = _summary(hostvars, hosts, chosen, left, failed, owner, applied) if applied else ''
    return dict(owner=owner, at=at, hosts=chosen, left_alone=left, failed=failed, lines=lines, message=message,
                summary=summary)


def _nodes(names):
    return '%d node%s (%s)' % (len(names), '' if len(names) == 1 else 's', ', '.join(names))


def _summary(hostvars, hosts, chosen, left, failed, owner, applied):
    """One line after the rollback, from what its run registered on each node of the last rollout."""
    runs = dict((h, (hostvars.get(h) or {}).get(applied) or {}) for h in chosen)
    # A node whose record could not be read failed before the rollback; one of the last rollout may fail in it.
    broken = [h for h in hosts if h in failed or (h in runs and runs[h].get('failed'))]
    back = [h for h in chosen if h not in broken and runs[h].get('changed')]
    already = [h for h in chosen if h not in broken and h not in back]
    run = owner or 'unknown'
    if back:
        parts = ['%s put back to what %s before run %s' % (_nodes(back), 'it served' if len(back) == 1 else 'they served', run)]
    else:
        parts = ['nothing put back from run %s' % run]
    if already:
        parts.append('%s already served what %s before it' % (_nodes(already), 'it served' if len(already) == 1 else 'they served'))
    alone = [h for h in hosts if h in left]
    if alone:
        parts.append('%s left alone' % _nodes(alone))
    if broken:
        parts.append('%s FAILED' % _nodes(broken))
    return '%s: %s.' % ('Rollback incomplete' if broken else 'Rollback done', '; '.join(parts))


def _by_reason(hosts, reasons):
    """'node1, node2: reason.' once per distinct reason, in the order of ``hosts``."""
    grouped = {}
    for host in hosts:
        grouped.setdefault(reasons[host], []).append(host)
    return ['%s: %s%s' % (', '.join(names), reason, '' if reason.endswith('.') else '.') for reason, names in grouped.items()]


class FilterModule(object):

    def filters(self):
        return {'last_rollout': last_rollout}
