# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: warn
short_description: Show lines as Ansible warnings, and return them marked as warnings
version_added: 0.1.0
author: dss.apinode contributors
description:
  - Shows each line as an Ansible warning (C([WARNING]:) on the screen, highlighted, also in AWX), once per run for the
    same text, and returns the lines, each starting with C(Warning:), for the message of the task that uses it.
  - Meant for the C(msg) of a M(ansible.builtin.debug) task with C(run_once), so that a fleet-wide warning is shown once
    and cannot be mistaken for an C(ok:) line.
options:
  _input:
    description: The lines to warn about; empty lines are left out.
    type: list
    elements: str
    required: true
'''

EXAMPLES = r'''
- name: Warn once for the play, also highlighted in AWX
  ansible.builtin.debug:
    msg: "{{ ['the maintenance window closes in 10 minutes'] | dss.apinode.warn }}"
  run_once: true
'''

RETURN = r'''
_value:
  description: The lines, each starting with C(Warning:).
  type: list
  elements: str
'''

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display


def warn(lines):
    if isinstance(lines, str) or not isinstance(lines, (list, tuple)):
        raise AnsibleFilterError('warn: give a list of lines')
    lines = [str(line) for line in lines if line]
    display = Display()
    for line in lines:
        display.warning(line)
    return ['Warning: %s' % line for line in lines]


class FilterModule(object):

    def filters(self):
        return {'warn': warn}
