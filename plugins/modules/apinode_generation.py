#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: apinode_generation
short_description: Import an API service package (a generation) on a Dataiku DSS API node, or delete one
version_added: 0.1.0
description:
  - Imports an API service package, the zip made by "Prepare package" in the DSS API Designer, as a
    generation of a service on an API node, and optionally preloads it in memory so that the switch to it
    is instant.
  - The generation id and identity come from the package's C(tag.json) (C(generationId) and C(createdOn)),
    not from the file name. When the same package is already on the node, nothing is sent.
  - Importing does not change the traffic; switch to the generation with M(dss.apinode.apinode_service).
  - Deletes one generation with O(state=absent), never one that still answers queries.
author: dss.apinode contributors (@dss-apinode)
options:
  service:
    description:
      - Id of the service, which must already exist (see M(dss.apinode.apinode_service)).
    type: str
    required: true
  archive:
    description:
      - Path of the package zip on the host where the module runs (normally the API node, see O(upload)).
      - Only C(tag.json) is read from it, so checking a large package already imported is cheap.
      - Required with O(state=present). With O(state=absent), it may name the generation instead of O(generation).
    type: path
  generation:
    description:
      - The generation id you expect. With O(archive), the module fails before any change if the package's
        C(tag.json) says otherwise.
      - With O(state=absent) and no O(archive), the generation to delete.
    type: str
  state:
    description:
      - V(present) imports the package unless the same package is already there.
      - V(absent) deletes the generation; refused while it answers part of the traffic (C(mapped) > 0).
    type: str
    choices: [present, absent]
    default: present
  preload:
    description:
      - Load the generation in memory after the import (or now, if it is imported but not loaded), so that
        switching to it does not wait for the load.
    type: bool
    default: false
  upload:
    description:
      - V(false) asks the node to import O(archive) from its own disk, so the module must run on the node
        (or the path must be the same there).
      - V(true) streams the zip over HTTP(S) instead, so the module can run on the controller for nodes
        reachable only through their API port.
    type: bool
    default: false
  force:
    description:
      - When the node holds a generation with the same id but from a different package (another
        C(createdOn)), delete it and import this package.
      - Refused while that generation answers part of the traffic; switch the service away from it first.
      - Without O(force), such a difference is an error.
    type: bool
    default: false
extends_documentation_fragment:
  - dss.apinode.connection
  - dss.apinode.attributes
  - dss.apinode.attributes.ACTIONS
attributes:
  idempotent:
    description: Running the module twice with the same options changes nothing the second time.
    support: full
notes:
  - The node refuses to import a generation id twice and never overwrites one; the module compares the
    package's C(generationId) and C(createdOn) with the generations on the node first.
  - Missing, corrupted or tag-less archives and a wrong O(generation) are reported before any request that
    changes the node.
  - In check mode nothing is sent but reads; the result predicts the generation after the run, and RV(plan)
    lists the changes the run would make.
  - In check mode, a missing service or a missing O(archive) file, which an earlier task of the play
    would create, gives a warning and C(changed=true) instead of an error.
  - A package with a member whose name is absolute, has a C(..) component, or is a link leaving the
    archive is refused before anything is sent.
seealso:
  - module: dss.apinode.apinode_service
    description: Create the service, and switch its traffic to a generation or a mapping.
  - module: dss.apinode.apinode_info
    description: List services and generations of a node.
'''

EXAMPLES = r'''
- name: Stage a new version of the churn service
  hosts: apinodes
  module_defaults:
    group/dss.apinode.apinode:
      url: "{{ apinode_url }}"
      api_key: "{{ apinode_admin_key }}"
  tasks:
    - name: Copy the package to the node
      ansible.builtin.copy:
        src: packages/churn_v2.zip
        dest: /srv/apinode-staging/churn_v2.zip
        mode: "0640"

    - name: Import and preload it (nothing is served from it yet)
      dss.apinode.apinode_generation:
        service: churn
        archive: /srv/apinode-staging/churn_v2.zip
        generation: v2
        preload: true

    - name: Delete an old generation
      dss.apinode.apinode_generation:
        service: churn
        generation: v0
        state: absent

- name: Upload from the controller to a node reachable only over HTTPS
  hosts: localhost
  tasks:
    - name: Import by streaming the zip
      dss.apinode.apinode_generation:
        url: https://apinode-1.example.com:12000
        api_key: "{{ vault_apinode_admin_key }}"
        service: churn
        archive: packages/churn_v2.zip
        upload: true

    - name: Replace a re-built package that kept the same version id
      dss.apinode.apinode_generation:
        url: https://apinode-1.example.com:12000
        api_key: "{{ vault_apinode_admin_key }}"
        service: churn
        archive: packages/churn_v2.zip
        upload: true
        force: true
'''

RETURN = r'''
generation:
  description: The generation on the node after the run (predicted in check mode); V(null) when absent.
  returned: always
  type: dict
  sample:
    generationId: v2
    createdOn: 1700002000000
    createdWithDSSVersion: 13.2.0
    createdWithDSSConfVersion: "13200"
    mounted: true
    mapped: 0.0
  contains:
    generationId:
      description: Generation id, the version id of the package.
      type: str
    createdOn:
      description: When the package was made, epoch milliseconds.
      type: int
    createdWithDSSVersion:
      description: DSS version of the design node that made the package.
      type: str
    createdWithDSSConfVersion:
      description: Configuration version of that design node.
      type: str
    mounted:
      description: Whether the generation is loaded in memory.
      type: bool
    mapped:
      description: Share of the traffic it answers, 0 to 1.
      type: float
package:
  description: The C(tag.json) of O(archive).
  returned: when O(archive) is set
  type: dict
  sample: {"generationId": "v2", "createdOn": 1700002000000, "createdWithDSSVersion": "13.2.0", "createdWithDSSConfVersion": "13200"}
diff:
  description: The generation before and after, with C(--diff).
  returned: in diff mode
  type: dict
  contains:
    before:
      description: Before the run (empty when absent).
      type: dict
    after:
      description: After the run (empty when absent).
      type: dict
plan:
  description:
    - What the run changes on the node, or would change in check mode - one sentence per admin call, in order.
      Empty when the node already matches the options.
    - Check mode and a real run plan the same way, so a check-mode run shows exactly what the real run sends.
    - When a call fails, the failed result also holds C(plan) and C(applied), the sentences of the calls sent
      before the failure.
  returned: always
  type: list
  elements: str
  sample: ["service churn: generation v2 is not on the node", "service churn: generation v2 is not preloaded"]
  version_added: 0.1.0
'''

import os

from ansible_collections.dss.apinode.plugins.module_utils import _change
from ansible_collections.dss.apinode.plugins.module_utils._common import (
    build_module,
    client_from_module,
    prerequisite_missing,
)
from ansible_collections.dss.apinode.plugins.module_utils._generation_plan import (
    archive_missing,
    check_ids,
    generation_id,
    plan_generation,
    read_generations,
    read_package,
)
from ansible_collections.dss.apinode.plugins.module_utils._versions import node_version


def main():
    argument_spec = dict(
        service=dict(type='str', required=True),
        archive=dict(type='path'),
        generation=dict(type='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        preload=dict(type='bool', default=False),
        upload=dict(type='bool', default=False),
        force=dict(type='bool', default=False),
    )
    module = build_module(argument_spec, supports_check_mode=True,
                          required_if=[['state', 'present', ['archive']],
                                       ['state', 'absent', ['generation', 'archive'], True]])
    params = module.params
    _change.checked(module, check_ids, params)
    missing = archive_missing(params)
    # In check mode an earlier task may still copy the archive: the import is then predicted without its tag.
    tag = None if missing and prerequisite_missing(module, missing) else _change.checked(module, read_package, params)
    gid = generation_id(params, tag)
    client = client_from_module(module)

    def read():
        on_node, problem = read_generations(client, params['service'])
        if on_node is None and params['state'] == 'present':
            prerequisite_missing(module, 'Service %s cannot receive generation %s: %s. Create the service first with '
                                 'dss.apinode.apinode_service.'
                                 % (params['service'], gid or os.path.basename(params['archive']),
                                    problem or 'it does not exist'),
                                 api_calls=client.request_count)
        # The answer just read carries the node's version: no extra request.
        return on_node, node_version(client, probe=False)

    def reread(change, answers):
        if change.after is None:
            return {}
        return dict(generation=(read_generations(client, params['service'])[0] or {}).get(gid))

    _change.run(module, client, read=read, plan=lambda current: plan_generation(params, tag, *current),
                resource='generation', reread=reread)


if __name__ == '__main__':
    main()
