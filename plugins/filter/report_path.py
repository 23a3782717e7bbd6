# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: report_path
short_description: Where a report file of the collection goes on the controller
version_added: 0.1.0
author: dss.apinode contributors
description:
  - An absolute path as it is. A relative path in the folder of the playbook (C(playbook_dir)), or in the working
    directory when the playbook is one of a collection (C(ansible-playbook dss.apinode.rolling_deploy), or a project
    playbook that imports it, as AWX and C(ansible-runner) run it from the project folder).
options:
  _input:
    description: The file name given.
    type: str
    required: true
  playbook_dir:
    description: C(playbook_dir).
    type: str
    required: true
'''

EXAMPLES = r'''
- name: Where the report goes
  ansible.builtin.debug:
    msg: "{{ 'report.md' | dss.apinode.report_path(playbook_dir) }}"
'''

RETURN = r'''
_value:
  description: The absolute path.
  type: str
'''

import os

# How every report of the collection starts in check mode (the rollout plan, the rollback playbook's summary).
CHECK_MODE_LEAD = 'Check mode, nothing is changed.'


def report_path(name, playbook_dir, cwd=None):
    """Where a report file goes on the controller: an absolute ``name`` as it is; a relative one in the folder of
    the playbook, or in the working directory when the playbook is a collection's (``ansible-playbook
    dss.apinode.rolling_deploy``, or a project playbook that imports it, as AWX runs it)."""
    name = str(name)
    if os.path.isabs(name):
        return name
    base = str(playbook_dir or '')
    if not base or '/ansible_collections/' in base.replace(os.sep, '/') + '/':
        base = cwd or os.getcwd()
    return os.path.normpath(os.path.join(base, name))


def report_target(report_file, playbook_dir, check_mode=False, cwd=None):
    """What a collection playbook does with the report file asked for (the role's apinode_deploy_report_file,
    fleet_status's apinode_status_report_file): ``{name, path, write, note}``. ``name`` is the file as given (its
    suffix says the format), ``path`` where it goes (``report_path``), ``write`` false without a file and in check
    mode, which writes nothing, not even on the controller; ``note`` is then the line saying where it would go."""
    if report_file in (None, ''):
        return dict(name=None, path=None, write=False, note=None)
    path = report_path(report_file, playbook_dir, cwd=cwd)
    note = ('Check mode: the report would be written to %s; nothing was written.' % path) if check_mode else None
    return dict(name=str(report_file), path=path, write=not check_mode, note=note)


class FilterModule(object):

    def filters(self):
        return {'report_path': report_path}
