# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: report_document
short_description: A report of the collection as the text of a file - JSON, or Markdown for a name ending in .md
version_added: 0.1.0
author: dss.apinode contributors
description:
  - Turns the report built by P(dss.apinode.deploy_report#filter) or P(dss.apinode.fleet_status#filter) into the text of
    the file O(name) - Markdown (the report's C(markdown)) when the name ends in C(.md), else JSON (the report's data,
    its screen lines included, sorted keys, 2-space indent).
options:
  _input:
    description: The report.
    type: dict
    required: true
  name:
    description: The file name; only its extension matters.
    type: str
    required: true
'''

EXAMPLES = r'''
- name: Write the report
  ansible.builtin.copy:
    content: "{{ report | dss.apinode.report_document(report_file) }}"
    dest: "{{ report_file }}"
    mode: "0644"
  delegate_to: localhost
'''

RETURN = r'''
_value:
  description: The text of the file.
  type: str
'''

import json

from ansible.errors import AnsibleFilterError


def report_document(report, name):
    if not isinstance(report, dict):
        raise AnsibleFilterError('report_document: the input must be a report (a dict)')
    if str(name).lower().endswith('.md'):
        return report.get('markdown') or '\n'.join(report.get('lines') or []) + '\n'
    data = dict((k, v) for k, v in report.items() if k != 'markdown')
    return json.dumps(data, indent=2, sort_keys=True, default=str) + '\n'


class FilterModule(object):

    def filters(self):
        return {'report_document': report_document}
