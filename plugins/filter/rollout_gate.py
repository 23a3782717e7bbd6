# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: rollout_gate
short_description: Which nodes of a rollout failed, and which ones to roll back
version_added: 0.1.0
author: dss.apinode contributors
description:
  - Reads the results that the C(dss.apinode.deploy) role registered on each host and decides, after a
    phase, whether the rollout stops, which nodes failed and which nodes are put back to what they served.
  - The input is C(hostvars); results that are missing (a host that did not run the phase) count as not failed.
extends_documentation_fragment:
  - dss.apinode.play_hosts
options:
  batch:
    description: The hosts of the current batch (C(ansible_play_batch)); only their failures count.
    type: list
    elements: str
    required: true
  on_failure:
    description:
      - C(rollback_fleet) rolls back every host of the play that started changing in this run
        (it holds the fact C(__apinode_deploy_conn)).
      - C(isolate) rolls back the failed hosts only.
    type: str
    choices: [rollback_fleet, isolate]
    default: rollback_fleet
  results:
    description: Names of the registered results to look at.
    type: list
    elements: str
    default: [__apinode_deploy_staging, __apinode_deploy_activation]
'''

EXAMPLES = r'''
- name: Decide what a failure means for the fleet
  ansible.builtin.set_fact:
    gate: "{{ hostvars | dss.apinode.rollout_gate(ansible_play_batch, ansible_play_hosts_all, on_failure='isolate') }}"
'''

RETURN = r'''
_value:
  description: The decision.
  type: dict
  contains:
    failed:
      description: Host -> the failed task's message, for the hosts of the batch whose phase failed.
      type: dict
    rollback:
      description: Hosts to put back to what they served before the run, sorted (also the ones that only hold a run lock).
      type: list
      elements: str
    stop:
      description: Whether the whole play stops (a failure with C(rollback_fleet)).
      type: bool
'''

from ansible.errors import AnsibleFilterError

CONNECTION_FACT = '__apinode_deploy_conn'
DEFAULT_RESULTS = ('__apinode_deploy_staging', '__apinode_deploy_activation')


def rollout_gate(hostvars, batch, hosts, on_failure='rollback_fleet', results=DEFAULT_RESULTS):
    if on_failure not in ('rollback_fleet', 'isolate'):
        raise AnsibleFilterError('rollout_gate: on_failure must be rollback_fleet or isolate, got %r' % (on_failure,))
    failed = {}
    for host in sorted(batch):
        facts = hostvars.get(host) or {}
        for name in results:
            result = facts.get(name)
            if isinstance(result, dict) and result.get('failed'):
                failed[host] = result.get('msg') or 'failed without a message'
                break
    if not failed:
        return dict(failed={}, rollback=[], stop=False)
    if on_failure == 'isolate':
        rollback = sorted(failed)
    else:
        rollback = sorted(h for h in hosts if CONNECTION_FACT in (hostvars.get(h) or {}))
    return dict(failed=failed, rollback=rollback, stop=on_failure == 'rollback_fleet')


class FilterModule(object):

    def filters(self):
        return {'rollout_gate': rollout_gate}
