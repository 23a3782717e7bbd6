# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: release_drift
short_description: What differs between an API node and a release
version_added: 0.1.0
author: dss.apinode contributors (@dss-apinode)
description:
  - Compares one read of a node by M(dss.apinode.apinode_info) with a release (the services and the artefacts
    to deploy) and returns one short sentence per difference. An empty list means that the node already serves
    the release, so a deployment can leave it alone.
  - Pure comparison, nothing is read or changed. The packages' identities and the artefacts' fingerprints
    come from the P(dss.apinode.package_tag#lookup) and P(dss.apinode.fingerprint#lookup) lookups, on the controller.
  - 'The differences reported: a missing service; a target generation not on the node, or on the node from
    another package (same C(generationId), other C(createdOn)); a target generation not preloaded (with
    O(preload)); another C(enabled) state; another active mapping, or a generation of the wanted mapping not
    on the node; an expected generation that is not the package''s; an artefact never imported, or imported
    with other content; generations beyond retention (with O(keep_generations)).'
positional: release
options:
  _input:
    description:
      - The registered result of M(dss.apinode.apinode_info) with O(dss.apinode.apinode_info#module:gather)
        including V(services) (read for the services of the release) and, when the release has artefacts, V(cache_imports).
    type: dict
    required: true
  release:
    description:
      - The release.
      - C(services) - a list of services, each with C(id), C(tag) (the package's C(tag.json), from
        P(dss.apinode.package_tag#lookup)), and optionally C(generation) (the generation id expected from the
        package, by default the package's own), C(enabled) (default V(true)), C(mapping) (a list of C(generation) and
        C(proba) to split the traffic, by default all of it goes to the package's generation) and C(strategy)
        (V(random) or V(hash_based), for a C(mapping)). Other keys are ignored.
      - C(artefacts) - a list of code envs and model archives, each with C(kind) (V(code_env), V(built_code_env) or
        V(model)), C(path) (the staged path on the node, as given to M(dss.apinode.apinode_cache)) and
        C(fingerprint) (from P(dss.apinode.fingerprint#lookup) on the controller's copy).
    type: dict
    required: true
  keep_generations:
    description:
      - The retention of the deploy role - per service the newest O(keep_generations) generations (by
        C(createdOn)), every mapped generation and every generation of the current mapping are kept. Any other
        generation of a release service is a difference, since a deployment would delete it.
      - V(null) does not check retention.
    type: int
    default: 3
  preload:
    description:
      - Whether a target generation that is not loaded in memory (C(mounted) false) is a difference.
    type: bool
    default: true
seealso:
  - module: dss.apinode.apinode_info
  - plugin: dss.apinode.package_tag
    plugin_type: lookup
  - plugin: dss.apinode.fingerprint
    plugin_type: lookup
'''

EXAMPLES = r'''
- name: Read the node
  dss.apinode.apinode_info:
    gather: [services, cache_imports]
    services: [fraud]
    cache_state_dir: /srv/apinode-staging/.apinode-cache
  register: node_info

- name: Compare it with the release
  ansible.builtin.set_fact:
    node_drift: "{{ node_info | dss.apinode.release_drift(release, keep_generations=3) }}"
  vars:
    release:
      services:
        - id: fraud
          tag: "{{ lookup('dss.apinode.package_tag', 'packages/fraud-v7.zip') }}"
      artefacts:
        - kind: code_env
          path: /srv/apinode-staging/py311-fraud
          fingerprint: "{{ lookup('dss.apinode.fingerprint', 'artefacts/py311-fraud') }}"

- name: Say what a deployment would change
  ansible.builtin.debug:
    msg: "{{ node_drift if node_drift else 'The node already serves the release.' }}"
  # For example:
  # - "service fraud: generation v7 is not on the node"
  # - "service fraud serves generation v6, the release wants generation v7"
  # - "code_env /srv/apinode-staging/py311-fraud was imported with other content"
'''

RETURN = r'''
_value:
  description:
    - One sentence per difference, each naming the service or the artefact. Empty when the node already
      serves the release.
  type: list
  elements: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.dss.apinode.plugins.module_utils._release import ReleaseError, drift


def release_drift(info, release, keep_generations=3, preload=True):
    try:
        return drift(info, release, keep_generations=keep_generations, preload=preload)
    except ReleaseError as err:
        raise AnsibleFilterError('dss.apinode.release_drift: %s' % err)


class FilterModule(object):

    def filters(self):
        return dict(release_drift=release_drift)
