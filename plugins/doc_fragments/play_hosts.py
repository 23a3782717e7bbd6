# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The options of the filters that decide over what every node of a play registered. A filter that reads them
    # differently (other hosts, another registered result) overrides only the description.
    DOCUMENTATION = r'''
options:
  _input:
    description: C(hostvars).
    type: dict
    required: true
  hosts:
    description: The nodes of the play, in order (C(ansible_play_hosts_all)).
    type: list
    elements: str
    required: true
'''

    # For the filters that take the hosts of a batch instead (C(ansible_play_batch)).
    HOSTVARS = r'''
options:
  _input:
    description: C(hostvars).
    type: dict
    required: true
'''

    RESULT = r'''
options:
  result:
    description:
      - The name of the M(dss.apinode.apinode_release) result registered on each host, as the C(dss.apinode.deploy) role
        registers its plan.
    type: str
    default: apinode_deploy_plan
'''

    # For the filters that decide on the services a release creates (new_services, preflight).
    NEW_SERVICES = r'''
options:
  services:
    description: The release's services (C(apinode_deploy_services)); an item with C(new) true is created on purpose.
    type: list
    elements: dict
    required: true
  allow_new:
    description: Accept every new service (C(apinode_deploy_allow_new_services); the C(dss.apinode.bootstrap_node) playbook sets it).
    type: bool
    default: false
'''

    # For the filters that build a report of the collection playbooks, and decide about its file (report_target).
    REPORT_FILE = r'''
options:
  report_file:
    description:
      - The report file asked for, as given (C(apinode_deploy_report_file), C(apinode_status_report_file)); empty for
        none. Its suffix says the format (P(dss.apinode.report_document#filter)); a relative name is placed by
        P(dss.apinode.report_path#filter) with O(playbook_dir). In check mode it is not written, and the last line of
        the report says where it would go.
    type: str
    default: ''
  playbook_dir:
    description: C(playbook_dir), for a relative O(report_file).
    type: str
'''
