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
