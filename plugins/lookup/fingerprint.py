# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: fingerprint
short_description: Content fingerprint of a code env folder or model archive on the controller
version_added: 0.1.0
author: dss.apinode contributors (@dss-apinode)
description:
  - Returns the C(sha256:...) content fingerprint of a file, or of a folder (its relative file names and
    contents, symbolic links as links).
  - It is the fingerprint that M(dss.apinode.apinode_cache) records on the node when it imports the same
    content, whatever its path, so comparing it with the node's C(cache_imports) tells whether an artefact is
    already imported without copying it to the node.
  - Runs on the controller; nothing is read on the managed nodes.
options:
  _terms:
    description:
      - Paths of files or folders. A relative path is looked up like the O(ansible.builtin.copy#module:src) of
        M(ansible.builtin.copy) (the role's or the play's C(files/) directory, then the directory itself).
      - A list given as a term is flattened.
    type: list
    elements: path
    required: true
notes:
  - The whole content is read, so the cost grows with the size of the artefact.
  - A copy made with M(ansible.builtin.copy) follows the symbolic links of its source by default, so a folder
    holding links gets another fingerprint on the node unless it is copied with O(ansible.builtin.copy#module:local_follow=false).
seealso:
  - module: dss.apinode.apinode_cache
  - module: dss.apinode.apinode_release
'''

EXAMPLES = r'''
- name: Fingerprint of an exported code env and of a model archive
  ansible.builtin.debug:
    msg:
      - "{{ lookup('dss.apinode.fingerprint', 'artefacts/py311-fraud') }}"
      - "{{ lookup('dss.apinode.fingerprint', 'artefacts/fraud-model.zip') }}"
'''

RETURN = r'''
_raw:
  description:
    - One fingerprint per path, in the order of the terms, as C(sha256:) followed by 64 hexadecimal digits.
    - With C(lookup) and a single path, the string itself; C(query) always returns a list.
  type: list
  elements: str
  sample: ["sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"]
'''

from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.lookup import LookupBase

from ansible_collections.dss.apinode.plugins.module_utils._fingerprint import fingerprint
from ansible_collections.dss.apinode.plugins.plugin_utils._controller_paths import read_each


def _fingerprint(path):
    try:
        return fingerprint(path)
    except (IOError, OSError) as err:
        raise AnsibleLookupError('Cannot fingerprint %s: %s' % (path, to_native(err)))


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        return read_each(self, terms, variables, kwargs, 'Artefact', _fingerprint)
