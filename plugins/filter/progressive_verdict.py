# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: progressive_verdict
short_description: Judge one step of a progressive rollout from the metrics of every node of the batch
version_added: 0.1.0
author: dss.apinode contributors
description:
  - Reads, for each host of the batch, the steps that M(dss.apinode.apinode_release) planned (C(apinode_deploy_plan),
    its RV(dss.apinode.apinode_release#module:progressive)) and the metrics registry read at the start of the step and
    now (M(dss.apinode.apinode_info) results with C(gather=[metrics])), and decides whether the step promotes, waits
    for more traffic, holds or rolls back.
  - Only what a real API node exposes is used - per endpoint C(requests) and C(successRequests), per generation
    C(requestsPerGeneration), and the p95 of C(totalProcessing). The node does not count successes per generation, so
    the new generation's error rate is estimated from the rise of each endpoint's error rate during the bake against
    the rate before the step, divided by the share of the queries the new generation received.
  - The companion filter R(dss.apinode.progressive_schedule,ansible_collections.dss.apinode.progressive_schedule_filter)
    lists the steps of the batch.
extends_documentation_fragment:
  - dss.apinode.play_hosts.hostvars
options:
  batch:
    description: The hosts of the batch (C(ansible_play_batch)).
    type: list
    elements: str
    required: true
  services:
    description: The release services (C(apinode_deploy_services)); those with C(steps) are judged, with their C(analysis).
    type: list
    elements: dict
    required: true
  step:
    description: Index of the step (0 for the first).
    type: int
    required: true
  waited:
    description: Seconds since the step started (its bake, plus the waits for traffic so far).
    type: float
    required: true
  defaults:
    description: The role-wide analysis (C(apinode_deploy_analysis)), under each service's own C(analysis).
    type: dict
    default: {}
  before:
    description: Name of the registered metrics read at the start of the step.
    type: str
    default: __apinode_deploy_step_start
  after:
    description: Name of the registered metrics read now.
    type: str
    default: __apinode_deploy_step_now
  plan:
    description: Name of the registered plan of each host.
    type: str
    default: apinode_deploy_plan
'''

EXAMPLES = r'''
- name: Judge the step
  ansible.builtin.set_fact:
    verdict: "{{ hostvars | dss.apinode.progressive_verdict(ansible_play_batch, apinode_deploy_services, 0, 300) }}"
  run_once: true
'''

RETURN = r'''
_value:
  description: The verdict of the step.
  type: dict
  contains:
    decision:
      description: V(promote), V(wait) (not enough traffic yet; wait RV(_value.wait_seconds) and judge again), V(hold)
        (not enough traffic after the longest wait; keep the step's mapping and stop) or V(rollback).
      type: str
    step:
      description: Index of the step.
      type: int
    label:
      description: The step's traffic share per service, for example C(churn v2 10 %).
      type: str
    reasons:
      description: Why the step does not promote, one sentence each.
      type: list
      elements: str
    services:
      description:
        - Per service - C(service), C(generation), C(proba), C(decision), C(new_requests) and C(requests) (queries of
          the new generation and of all generations during the step, across the batch), C(new_share), C(endpoints)
          (per endpoint C(requests), C(errors), C(error_rate), C(error_rate_before), C(new_error_rate), C(p95_ms))
          and C(hosts) (per host C(new_requests), C(requests), C(errors)).
      type: list
      elements: dict
    wait_seconds:
      description: How long to wait before judging again (decision V(wait)).
      type: float
    waited:
      description: RV(_value.waited) for the next look, RV(_value.wait_seconds) later.
      type: float
'''

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.dss.apinode.plugins.module_utils import _progressive


def plans_of(hostvars, batch, sid, plan):
    """{host: the service's planned steps} for the hosts of the batch that shift it in steps."""
    out = {}
    for host in batch:
        result = (hostvars.get(host) or {}).get(plan) or {}
        for item in result.get('progressive') or []:
            if item.get('service') == sid and item.get('steps'):
                out[host] = item
    return out


def progressive_services(services, defaults):
    out = []
    for service in services or []:
        if not service.get('steps'):
            continue
        sid = service.get('id')
        try:
            steps = _progressive.normalise_steps(service['steps'], 'service %s steps' % sid)
            analysis = _progressive.normalise_analysis(service.get('analysis'), defaults, 'service %s analysis' % sid)
        except _progressive.ProgressiveError as err:
            raise AnsibleFilterError(to_text(err))
        out.append(dict(id=sid, steps=steps, analysis=analysis))
    return out


def progressive_verdict(hostvars, batch, services, step, waited, defaults=None, before='__apinode_deploy_step_start',
                        after='__apinode_deploy_step_now', plan='apinode_deploy_plan'):
    judged, labels, bake = [], [], 0.0
    for service in progressive_services(services, defaults):
        if step >= len(service['steps']):
            continue
        plans = plans_of(hostvars, batch, service['id'], plan)
        if not plans:
            continue
        generation = next(iter(plans.values())).get('generation')
        current = service['steps'][step]
        if current['proba'] >= 1.0 and not current['bake_seconds']:
            continue  # served alone, not watched: nothing to judge
        bake = max(bake, current['bake_seconds'])
        figures = {}
        for host in sorted(plans):
            facts = hostvars.get(host) or {}
            start, now = facts.get(before) or {}, facts.get(after) or {}
            if 'metrics' not in start or 'metrics' not in now:
                continue  # a node whose switch to this step failed: the rollout gate handles it
            figures[host] = dict(before=_progressive.counts(start['metrics'], service['id']),
                                 after=_progressive.counts(now['metrics'], service['id']))
        judged.append(_progressive.judge_service(service['id'], generation, current['proba'], service['analysis'],
                                                 figures, float(waited), current['bake_seconds']))
        labels.append('%s %s %s %%' % (service['id'], generation, _progressive._percent(current['proba'])))
    verdict = _progressive.judge_step(judged, float(waited), bake)
    verdict.update(step=step, label=', '.join(labels))
    return verdict


class FilterModule(object):

    def filters(self):
        return {'progressive_verdict': progressive_verdict}
