# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: changing_hosts
short_description: The nodes whose release plan is not empty
version_added: 0.1.0
author: dss.apinode contributors
description:
  - From C(hostvars), the hosts whose registered M(dss.apinode.apinode_release) plan (C(apinode_deploy_plan), as the
    C(dss.apinode.deploy) role registers it) has something to do, in the given order. A host that was not planned counts
    as changing.
  - C(dss.apinode.rolling_deploy) forms its activation batches among these hosts, so that its first batch (the canary)
    is a node that switches.
extends_documentation_fragment:
  - dss.apinode.play_hosts
  - dss.apinode.play_hosts.result
options:
  hosts:
    description: The hosts to consider, in order (C(ansible_play_hosts)).
  skip_current:
    description: When false, every host counts as changing (the role's C(apinode_deploy_skip_current)).
    type: bool
    default: true
'''

EXAMPLES = r'''
- name: Group the nodes that change
  ansible.builtin.add_host:
    name: "{{ item }}"
    groups: changing
  loop: "{{ hostvars | dss.apinode.changing_hosts(ansible_play_hosts) }}"
  run_once: true
'''

RETURN = r'''
_value:
  description: The hosts that change, in the order of O(hosts).
  type: list
  elements: str
'''


def changing_hosts(hostvars, hosts, skip_current=True, result='apinode_deploy_plan'):
    return [h for h in hosts if not (skip_current and ((hostvars.get(h) or {}).get(result) or {}).get('current'))]


class FilterModule(object):

    def filters(self):
        return {'changing_hosts': changing_hosts}
