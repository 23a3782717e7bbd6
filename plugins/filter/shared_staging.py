# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: shared_staging
short_description: The nodes of a play that would stage their artefacts into one folder of one machine
version_added: 0.1.0
author: dss.apinode contributors
description:
  - From the plans that M(dss.apinode.apinode_release) computed on the nodes of a play (C(apinode_deploy_plan), as the
    C(dss.apinode.deploy) role registers it at preflight). Each plan over the node transport carries C(staging) - the
    machine its files go to (V(localhost) for a local connection, else the address the connection reaches) and the
    staging folder there.
  - Two API nodes on one machine (two data dirs on one VM, or a test fleet on the controller) that keep the same
    staging folder would overwrite each other's staged packages, so the C(dss.apinode.deploy) role refuses them
    before anything is copied.
  - Hosts without a plan, and plans over the api transport (nothing is staged), are not counted. Two inventory names
    of one machine under different addresses are not recognised.
  - The C(dss.apinode.deploy) role takes this decision with its other fleet-wide checks, through P(dss.apinode.preflight#filter).
extends_documentation_fragment:
  - dss.apinode.play_hosts
  - dss.apinode.play_hosts.result
'''

EXAMPLES = r'''
- name: Refuse nodes that share a staging folder
  ansible.builtin.assert:
    that: verdict.hosts | length == 0
    fail_msg: "{{ verdict.message }}"
  vars:
    verdict: "{{ hostvars | dss.apinode.shared_staging(ansible_play_hosts_all) }}"
  run_once: true
'''

RETURN = r'''
_value:
  description: The decision.
  type: dict
  contains:
    hosts:
      description: The nodes that share a staging folder with another node, in the order of O(hosts).
      type: list
      elements: str
    message:
      description: One line naming each shared folder, its machine and its nodes, with what to do; empty when none is shared.
      type: str
'''


def shared_staging(hostvars, hosts, result='apinode_deploy_plan'):
    folders = {}
    for host in hosts:
        staging = ((hostvars.get(host) or {}).get(result) or {}).get('staging')
        if isinstance(staging, dict) and staging.get('dir'):
            folders.setdefault((staging.get('machine'), staging['dir']), []).append(host)
    shared = [(key, names) for key, names in folders.items() if len(names) > 1]
    sharing = set(name for _key, names in shared for name in names)
    message = ''
    if shared:
        message = ('Nodes would overwrite each other\'s staged files: %s. Give each node its own apinode_data_dir '
                   '(or apinode_deploy_staging_dir).' % '; '.join('%s stage into %s on %s' % (', '.join(names), folder, machine)
                                                                  for (machine, folder), names in shared))
    return dict(hosts=[host for host in hosts if host in sharing], message=message)


class FilterModule(object):

    def filters(self):
        return {'shared_staging': shared_staging}
