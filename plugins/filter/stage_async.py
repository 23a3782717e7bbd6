# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: stage_async
short_description: Whether a node stages in the background, as the async seconds of its stage task
version_added: 0.1.0
author: dss.apinode contributors
description:
  - The C(dss.apinode.deploy) role stages a node in the background (C(async)), printing a line every O(progress_seconds),
    when its plan has something to stage (imports can take minutes); otherwise in one call.
  - Over the api transport the stage task is delegated to the controller, and ansible-core before 2.20.3 polls a
    delegated background task with the Python of the inventory host (L(ansible/ansible#86491,
    https://github.com/ansible/ansible/issues/86491)). Where that Python is not on the controller, every poll fails and
    the run waits for O(stage_timeout). There the api transport stages in one call.
options:
  _input:
    description:
      - The node's plan (C(apinode_deploy_plan), as the C(dss.apinode.deploy) role registers it at preflight); its
        C(staged) is true when everything is staged already.
      - A plan without C(staged) counts as staged.
    type: dict
    required: true
  transport:
    description: How the release reaches the node (C(apinode_deploy_transport)).
    type: str
    choices: [node, api]
    required: true
  core_version:
    description: The running ansible-core version (C(ansible_version.full)).
    type: str
    required: true
  progress_seconds:
    description: Seconds between two progress lines (C(apinode_deploy_progress_seconds)); 0 or less stages in one call.
    type: int
    required: true
  stage_timeout:
    description: The longest a background stage may take, in seconds (C(apinode_deploy_stage_timeout)).
    type: int
    required: true
'''

EXAMPLES = r'''
- name: Stage the release
  dss.apinode.apinode_release:
    phase: stage
  async: "{{ apinode_deploy_plan | dss.apinode.stage_async(apinode_deploy_transport, ansible_version.full, 3, 3600) }}"
  poll: 3
'''

RETURN = r'''
_value:
  description: The C(async) seconds of the stage task - O(stage_timeout) to stage in the background, 0 for one call.
  type: int
'''

from ansible.errors import AnsibleFilterError
from ansible.module_utils.compat.version import LooseVersion

# The first ansible-core that polls a delegated background task with the controller's Python (ansible/ansible#86491).
POLLS_DELEGATED_ON_CONTROLLER = '2.20.3'


def _int(value):
    # Like the int filter: a value that is not a number is 0.
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def background_is_safe(transport, core_version):
    """Whether a background stage can be polled: always on the node, over the api transport from 2.20.3."""
    return transport == 'node' or LooseVersion(str(core_version)) >= LooseVersion(POLLS_DELEGATED_ON_CONTROLLER)


def stage_async(plan, transport, core_version, progress_seconds, stage_timeout):
    if plan is not None and not isinstance(plan, dict):
        raise AnsibleFilterError('stage_async: the input must be the node plan (apinode_deploy_plan)')
    staged = (plan or {}).get('staged', True)
    if staged or _int(progress_seconds) <= 0 or not background_is_safe(transport, core_version):
        return 0
    return _int(stage_timeout)


class FilterModule(object):

    def filters(self):
        return {'stage_async': stage_async}
