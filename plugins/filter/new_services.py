# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: new_services
short_description: The services of a release that no node of the play has yet, and whether to refuse them
version_added: 0.1.0
author: dss.apinode contributors
description:
  - From the plans that M(dss.apinode.apinode_release) computed on the nodes of a play (C(apinode_deploy_plan), as the
    C(dss.apinode.deploy) role registers it at preflight), the release services that none of these nodes has.
  - A misspelt service id looks exactly like that, so the C(dss.apinode.deploy) role refuses such a service before any
    change, unless the release marks it C(new) or O(allow_new) is set. A service that some nodes of the play already
    have is not new on the others (a node joining a fleet).
  - Hosts without a plan (not planned yet, or failed) are not counted; with no planned host nothing is new.
  - The C(dss.apinode.deploy) role takes this decision with its other fleet-wide checks, through P(dss.apinode.preflight#filter).
extends_documentation_fragment:
  - dss.apinode.play_hosts
  - dss.apinode.play_hosts.result
  - dss.apinode.play_hosts.new_services
'''

EXAMPLES = r'''
- name: Refuse a service that no node has yet
  ansible.builtin.assert:
    that: verdict.refused | length == 0
    fail_msg: "{{ verdict.message }}"
  vars:
    verdict: "{{ hostvars | dss.apinode.new_services(ansible_play_hosts_all, apinode_deploy_services) }}"
  run_once: true
'''

RETURN = r'''
_value:
  description: The decision.
  type: dict
  contains:
    new:
      description: The release services that no planned node has, in release order.
      type: list
      elements: str
    refused:
      description: The new services neither marked C(new) nor allowed by O(allow_new).
      type: list
      elements: str
    message:
      description: One line naming the refused services and the nodes, with what to do; empty when nothing is refused.
      type: str
    stale_new:
      description: The release services marked C(new) that every planned node has already.
      type: list
      elements: str
    warning:
      description: One line saying to remove C(new) from those services; empty when there are none.
      type: str
'''

from ansible.errors import AnsibleFilterError


def new_services(hostvars, hosts, services, allow_new=False, result='apinode_deploy_plan'):
    if not isinstance(services, list):
        raise AnsibleFilterError('new_services: services must be the list of the release services')
    planned = [h for h in hosts if isinstance((hostvars.get(h) or {}).get(result), dict)
               and 'node_services' in hostvars[h][result]]
    on_node = dict((host, set(s.get('id') for s in hostvars[host][result]['node_services'] or [] if s.get('exists', True)))
                   for host in planned)
    present = set().union(*on_node.values()) if planned else set()
    everywhere = set.intersection(*on_node.values()) if planned else set()
    new, refused = [], []
    for item in services:
        sid = item.get('id') if isinstance(item, dict) else None
        if not planned or sid is None or sid in present:
            continue
        new.append(sid)
        if not (allow_new or item.get('new')):
            refused.append(sid)
    message = ''
    if refused:
        message = ('Service%s %s %s new: no node of the play has %s (%s). A misspelt service id would be deployed as a new '
                   'service on every node; if the release creates %s on purpose, set new: true on %s in '
                   'apinode_deploy_services, or apinode_deploy_allow_new_services: true. Nothing was changed.'
                   % ('s' if len(refused) > 1 else '', ', '.join(refused), 'are' if len(refused) > 1 else 'is',
                      'them' if len(refused) > 1 else 'it', ', '.join(sorted(planned)),
                      'them' if len(refused) > 1 else 'it', 'each' if len(refused) > 1 else 'it'))
    # new: true only matters until the service exists; left on, a misspelt id would no longer be refused.
    stale = [item['id'] for item in services if isinstance(item, dict) and item.get('new') and item.get('id') in everywhere]
    warning = ''
    if stale:
        warning = ('%s marked new: true, and every node of the play has %s already: remove new: true from '
                   'apinode_deploy_services, so that a misspelt service id is refused again.'
                   % (', '.join(stale) + (' are' if len(stale) > 1 else ' is'), 'them' if len(stale) > 1 else 'it'))
    return dict(new=new, refused=refused, message=message, stale_new=stale, warning=warning)


class FilterModule(object):

    def filters(self):
        return {'new_services': new_services}
