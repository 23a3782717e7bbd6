# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: progressive_schedule
short_description: The steps of a progressive rollout for one batch of nodes
version_added: 0.1.0
author: dss.apinode contributors
description:
  - From C(hostvars), the steps that the release services with C(steps) take on the hosts of the batch whose plan
    (C(apinode_deploy_plan), RV(dss.apinode.apinode_release#module:progressive)) shifts them in steps; services
    with the same step index share it, which bakes as long as the longest of their bakes.
  - Empty when no host of the batch shifts a service in steps (every one of them switches at once).
extends_documentation_fragment:
  - dss.apinode.play_hosts.hostvars
options:
  batch:
    description: The hosts of the batch (C(ansible_play_batch)).
    type: list
    elements: str
    required: true
  services:
    description: The release services (C(apinode_deploy_services)).
    type: list
    elements: dict
    required: true
  plan:
    description: Name of the registered plan of each host.
    type: str
    default: apinode_deploy_plan
'''

EXAMPLES = r'''
- name: Plan the steps of the batch
  ansible.builtin.set_fact:
    schedule: "{{ hostvars | dss.apinode.progressive_schedule(ansible_play_batch, apinode_deploy_services) }}"
  run_once: true
'''

RETURN = r'''
_value:
  description: The steps, in order.
  type: list
  elements: dict
  contains:
    index:
      description: Index of the step (0 for the first).
      type: int
    bake_seconds:
      description: Whole seconds the step bakes (the longest bake of its services, rounded up).
      type: int
    judged:
      description: Whether the step is judged (it serves less than 100 %, or it bakes).
      type: bool
    label:
      description: The traffic share of the new generation per service, for example C(churn v2 10 %).
      type: str
'''

import math

from ansible_collections.dss.apinode.plugins.filter.progressive_verdict import plans_of, progressive_services
from ansible_collections.dss.apinode.plugins.module_utils import _progressive


def progressive_schedule(hostvars, batch, services, plan='apinode_deploy_plan'):
    """The steps of the batch: ``[{index, bake_seconds, judged, label}]``, the longest bake of the services at each
    index; empty when no host of the batch shifts a service in steps."""
    schedule = []
    for service in progressive_services(services, None):
        plans = plans_of(hostvars, batch, service['id'], plan)
        if not plans:
            continue
        generation = next(iter(plans.values())).get('generation')
        for index, step in enumerate(service['steps']):
            if len(schedule) <= index:
                schedule.append(dict(index=index, bake_seconds=0.0, judged=False, label=[]))
            entry = schedule[index]
            entry['bake_seconds'] = max(entry['bake_seconds'], step['bake_seconds'])
            entry['judged'] = entry['judged'] or step['proba'] < 1.0 or step['bake_seconds'] > 0
            entry['label'].append('%s %s %s %%' % (service['id'], generation, _progressive._percent(step['proba'])))
    for entry in schedule:
        entry['label'] = ', '.join(entry['label'])
        entry['bake_seconds'] = int(math.ceil(entry['bake_seconds']))
    return schedule


class FilterModule(object):

    def filters(self):
        return {'progressive_schedule': progressive_schedule}
