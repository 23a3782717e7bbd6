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
  - In check mode nothing is sent but reads; the result predicts the generation after the run.
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
'''

import copy
import os

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.dss.apinode.plugins.module_utils import _package
from ansible_collections.dss.apinode.plugins.module_utils._client import path
from ansible_collections.dss.apinode.plugins.module_utils._versions import refuse_too_new_package
from ansible_collections.dss.apinode.plugins.module_utils._common import (
    build_module,
    client_from_module,
    diff_of,
    prerequisite_missing,
    run_module,
    validate_generation_id,
    validate_service_id,
)

TAG_FIELDS = ('generationId', 'createdOn', 'createdWithDSSVersion', 'createdWithDSSConfVersion')


def normal_generation(gen):
    result = dict((k, gen.get(k)) for k in TAG_FIELDS)
    result['mounted'] = bool(gen.get('mounted'))
    result['mapped'] = float(gen.get('mapped') or 0.0)
    return result


class GenerationRun(object):
    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.params = module.params
        self.service = self.params['service']

    def fail(self, msg):
        self.module.fail_json(msg=msg, api_calls=self.client.request_count)

    def read_package(self):
        """tag.json of the archive (or None), checked against the options before anything is sent."""
        p = self.params
        validate_service_id(self.module, self.service, option='service')
        if p['generation'] is not None:
            validate_generation_id(self.module, p['generation'])
        if p['archive'] is None:
            return None
        if p['state'] == 'present' and not os.path.exists(p['archive']) and prerequisite_missing(
                self.module, 'Package archive %s does not exist (on the host where the module runs).' % p['archive']):
            return None
        try:
            tag = _package.read_tag(p['archive'])
        except _package.PackageError as err:
            self.module.fail_json(msg=to_text(err))
        if p['generation'] is not None and tag['generationId'] != p['generation']:
            self.module.fail_json(msg='Package archive %s holds generation %s (its tag.json), not the expected %s.'
                                      % (p['archive'], tag['generationId'], p['generation']))
        validate_generation_id(self.module, tag['generationId'], option='the generationId of tag.json')
        return tag

    def read_generations(self):
        """generationId -> generation on the node, or None when the service does not exist."""
        response = self.client.request('GET', path('services', self.service, 'generations'),
                                       expect_error_statuses=(400, 404))
        if response.status >= 400:
            # The node answers 400 "Service does not exist" for an unknown service.
            return None, (response.body or {}).get('message') if isinstance(response.body, dict) else None
        generations = (response.body or {}).get('generations') or []
        return dict((g.get('generationId'), normal_generation(g)) for g in generations), None

    def run(self):
        tag = self.read_package()
        generation_id = tag['generationId'] if tag else self.params['generation']
        on_node, problem = self.read_generations()
        before = (on_node or {}).get(generation_id)
        if self.params['state'] == 'absent':
            calls, after = self.plan_absent(before, generation_id)
        else:
            if on_node is None:
                prerequisite_missing(self.module, 'Service %s cannot receive generation %s: %s. Create the service first '
                                     'with dss.apinode.apinode_service.'
                                     % (self.service, generation_id or os.path.basename(self.params['archive']),
                                        problem or 'it does not exist'),
                                     api_calls=self.client.request_count)
            if tag is None or on_node is None:
                # Check mode only (outside it, both are errors above): the import the run would make.
                return self.predicted_import(tag, generation_id)
            calls, after = self.plan_present(before, tag)
        changed = bool(calls)
        if changed and not self.module.check_mode:
            for call in calls:
                call()
            if after is not None:
                after = (self.read_generations()[0] or {}).get(generation_id)
        result = dict(changed=changed, generation=after)
        if tag is not None:
            result['package'] = tag
        if self.module._diff:
            result['diff'] = diff_of(before, after)
        return result

    def predicted_import(self, tag, generation_id):
        """Check mode with a missing prerequisite: the import (and preload) the run would make."""
        after = None
        if generation_id is not None:
            after = dict((k, (tag or {}).get(k)) for k in TAG_FIELDS)
            after.update(generationId=generation_id, mounted=bool(self.params['preload']), mapped=0.0)
        result = dict(changed=True, generation=after)
        if tag is not None:
            result['package'] = tag
        if self.module._diff:
            result['diff'] = diff_of(None, after)
        return result

    def plan_absent(self, before, generation_id):
        if before is None:
            return [], None
        if before['mapped'] > 0:
            self.fail('Generation %s of service %s answers %s%% of the traffic: switch the service to other '
                      'generations before deleting it.' % (generation_id, self.service, round(before['mapped'] * 100, 4)))
        return [lambda: self.delete(generation_id)], None

    def plan_present(self, before, tag):
        p = self.params
        calls = []
        after = copy.deepcopy(before)
        if before is not None and _package.identity(before) != _package.identity(tag):
            what = ('Service %s already has a generation %s from another package (createdOn %s on the node, %s in %s).'
                    % (self.service, tag['generationId'], before['createdOn'], tag['createdOn'], p['archive']))
            if not p['force']:
                self.fail(what + ' Set force=true to replace it, or give the package a new version id.')
            if before['mapped'] > 0:
                self.fail(what + ' It answers %s%% of the traffic, so it cannot be replaced: switch the service to '
                                 'other generations first.' % round(before['mapped'] * 100, 4))
            calls.append(lambda: self.delete(tag['generationId']))
            after = None
        if after is None:
            refuse_too_new_package(self.module, self.client, tag)
            calls.append(lambda: self.import_package(p['archive']))
            after = dict((k, tag.get(k)) for k in TAG_FIELDS)
            after.update(mounted=False, mapped=0.0)
        if p['preload'] and not after['mounted']:
            calls.append(lambda: self.client.post(path('services', self.service, 'generations', tag['generationId'], 'preload')))
            after['mounted'] = True
        return calls, after

    def delete(self, generation_id):
        self.client.delete(path('services', self.service, 'generations', generation_id))

    def import_package(self, archive):
        if self.params['upload']:
            self.client.upload(path('services', self.service, 'generations', 'actions', 'importFromStream'), archive)
        else:
            self.client.post(path('services', self.service, 'generations', 'actions', 'importFromArchive'),
                             query=dict(filePath=os.path.abspath(archive)))


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
    client = client_from_module(module)
    run_module(module, client, GenerationRun(module, client).run)


if __name__ == '__main__':
    main()
