# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Attributes every module shares; each module adds check_mode, diff_mode and idempotent honestly.
    DOCUMENTATION = r'''
options: {}
attributes:
  action_group:
    description: Use C(group/dss.apinode.apinode) in C(module_defaults) to set the connection options once for every module.
    support: full
    membership:
      - dss.apinode.apinode
'''

    # A module that changes a node.
    ACTIONS = r'''
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying the node.
    support: full
  diff_mode:
    description: Will return details on what has changed (or might have changed, in check mode) when in diff mode.
    support: full
'''

    # A read-only module.
    INFO_MODULE = r'''
options: {}
attributes:
  check_mode:
    description: This module only reads, so it runs the same in check mode.
    support: full
    details: This action does not modify state.
  diff_mode:
    description: This module only reads; there is nothing to diff.
    support: N/A
    details: This action does not modify state.
  idempotent:
    description: Reading the node changes nothing.
    support: full
'''
