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
  - A batch that holds the mapping of a progressive step (C(__apinode_deploy_progress.decision) is V(hold)) stops the
    play after a failure whatever O(on_failure) - holding is stopping, and only the gate can stop a play in which a
    node failed without hiding the failure.
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
  play_stops:
    description:
      - Whether the play stops at any failure anyway (C(max_fail_percentage) 0, as in C(dss.apinode.rolling_deploy)) - the
        verdict then stops it too, so that C(isolate) releases the run locks of the nodes it does not put back.
    type: bool
    default: false
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
      description: Whether the whole play stops (a failure with C(rollback_fleet), with O(play_stops), or in a batch that holds a step).
      type: bool
    release:
      description:
        - Hosts whose run lock is released although they keep what they serve, sorted - when the play ends after this
          failure (RV(_value.stop), or every host of the batch failed, which ends a C(serial) play) and C(isolate)
          leaves them out of RV(_value.rollback).
      type: list
      elements: str
    previous:
      description:
        - Host -> what to put it back to (the C(previous) of its activation result; empty for a host that only staged or
          only has its lock released), for every host of RV(_value.rollback) and RV(_value.release).
      type: dict
'''

from ansible.errors import AnsibleFilterError

CONNECTION_FACT = '__apinode_deploy_conn'
DEFAULT_RESULTS = ('__apinode_deploy_staging', '__apinode_deploy_activation')
ACTIVATION = '__apinode_deploy_activation'
# The judgement of the batch's last progressive step (progressive_judge.yml).
PROGRESS = '__apinode_deploy_progress'


def rollout_gate(hostvars, batch, hosts, on_failure='rollback_fleet', results=DEFAULT_RESULTS, play_stops=False):
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
        return dict(failed={}, rollback=[], stop=False, release=[], previous={})
    changing = sorted(h for h in hosts if CONNECTION_FACT in (hostvars.get(h) or {}))
    rollback = sorted(failed) if on_failure == 'isolate' else changing
    stop = on_failure == 'rollback_fleet' or bool(play_stops) or any(_holds(hostvars.get(host) or {}) for host in batch)
    ends = stop or len(failed) == len(batch)
    release = [h for h in changing if h not in rollback] if ends else []
    previous = dict((h, _previous(hostvars.get(h) or {})) for h in rollback)
    previous.update((h, []) for h in release)
    return dict(failed=failed, rollback=rollback, stop=stop, release=release, previous=previous)


def _previous(facts):
    activation = facts.get(ACTIVATION)
    return list((activation.get('previous') if isinstance(activation, dict) else None) or [])


def _holds(facts):
    progress = facts.get(PROGRESS)
    return isinstance(progress, dict) and progress.get('decision') == 'hold'


class FilterModule(object):

    def filters(self):
        return {'rollout_gate': rollout_gate}
