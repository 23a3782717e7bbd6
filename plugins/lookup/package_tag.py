# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: package_tag
short_description: Read the identity (tag.json) of API service packages on the controller
version_added: 0.1.0
author: dss.apinode contributors (@dss-apinode)
description:
  - Returns the C(tag.json) of each API service package, the zip made by "Prepare package" in the DSS API
    Designer, as a dictionary. C(generationId) and C(createdOn) identify the package; a node holds the same
    package when one of its generations has both.
  - Only the zip's directory and its small C(tag.json) member are read, so a large package costs no more than
    a small one.
  - Runs on the controller; nothing is read on the managed nodes.
options:
  _terms:
    description:
      - Paths of the package zips. A relative path is looked up like the O(ansible.builtin.copy#module:src) of
        M(ansible.builtin.copy) (the role's or the play's C(files/) directory, then the directory itself).
      - A list given as a term is flattened, so one lookup can take the packages of a whole release.
    type: list
    elements: path
    required: true
notes:
  - Fails when a path does not exist, is not a readable zip, or has no valid C(tag.json) at its root (a
    C(generationId) string and a C(createdOn) integer).
seealso:
  - module: dss.apinode.apinode_generation
  - module: dss.apinode.apinode_release
'''

EXAMPLES = r'''
- name: Show which generation a package holds
  ansible.builtin.debug:
    msg: "{{ lookup('dss.apinode.package_tag', 'packages/fraud-v7.zip').generationId }}"

- name: The identities of several packages at once, in the order given
  ansible.builtin.set_fact:
    release_tags: "{{ query('dss.apinode.package_tag', 'packages/fraud-v7.zip', 'packages/churn-v3.zip') }}"
'''

RETURN = r'''
_raw:
  description:
    - The C(tag.json) of each package, in the order of the terms.
    - With C(lookup) and a single path, the dictionary itself; C(query) always returns a list.
  type: list
  elements: dict
  contains:
    generationId:
      description: The generation id that importing the package creates.
      type: str
      sample: v7
    createdOn:
      description: When the package was made, in epoch milliseconds; with C(generationId), the package's identity.
      type: int
      sample: 1700000007000
    createdWithDSSVersion:
      description: The DSS version that made the package, when the tag has it.
      type: str
      sample: 13.2.0
'''

from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.lookup import LookupBase

from ansible_collections.dss.apinode.plugins.module_utils._package import PackageError, read_tag
from ansible_collections.dss.apinode.plugins.plugin_utils._controller_paths import read_each


def _tag(path):
    try:
        return read_tag(path)
    except PackageError as err:
        raise AnsibleLookupError(to_native(err))


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        return read_each(self, terms, variables, kwargs, 'Package archive', _tag)
