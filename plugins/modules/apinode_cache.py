#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: apinode_cache
short_description: Fill and clean the code-env and model caches of a Dataiku DSS API node
version_added: 0.1.0
author: dss.apinode contributors (@dss-apinode)
description:
  - Imports an exported code env folder into the node's code-env cache, or registers a code env already
    built on the node, and imports a model archive into the node's model cache, so that air-gapped nodes
    never have to build or download anything when a service generation is loaded.
  - Cleans up on request, before any import of the same task, in this order - unused services and
    generations (with explicit deletes that never remove a mapped generation), unused code envs,
    the whole model cache.
  - The paths are paths on the node's own disk, so run the module on the node (the node's admin API
    usually listens on C(http://127.0.0.1:<port>) there).
extends_documentation_fragment:
  - dss.apinode.connection
  - dss.apinode.attributes
  - dss.apinode.attributes.ACTIONS
attributes:
  idempotent:
    description: Whether the module returns C(changed=false) when run again with the same options.
    support: partial
    details:
      - The admin API has no call that lists what the caches hold. After each import the module writes a
        small JSON marker file in O(state_dir), holding the sha256 content fingerprint of the artefact
        and the node URL; a later run that finds the same fingerprint for the same node skips the import
        (C(changed=false)). Changing the artefact's content imports it again.
      - If the cache is emptied behind the module's back (reinstall, manual clean), the marker is stale;
        use O(force=true) or delete the marker. O(clear_model_cache) and O(clean_code_envs) forget the
        markers of O(state_dir) for that cache themselves.
      - O(clear_model_cache) and O(clean_code_envs) cannot tell whether there is anything to remove,
        so they report C(changed=true) on every run.
      - O(clean_unused_services) reads the services first and is idempotent.
options:
  code_env:
    description:
      - Path on the node of an exported code env folder, imported into the code-env cache
        (C(POST cached-code-envs)).
      - With O(built_env_path), registers the env already built there instead (C(POST register-global-code-env)).
    type: path
  language:
    description:
      - Language of O(code_env).
    type: str
    choices: [python, R]
    default: python
  built_env_path:
    description:
      - Path on the node of a code env already built from O(code_env). Requires O(code_env).
    type: path
  model_archive:
    description:
      - Path on the node of a model archive (an export of a DSS model cache entry), imported into the
        model cache (C(POST model-cache)).
      - A zip or tar archive. It is refused before the import when one of its members has an absolute
        name, a C(..) component, or is a link leaving the archive.
    type: path
  state_dir:
    description:
      - Folder on the node where the import markers are kept.
      - Defaults to a C(.apinode-cache) folder beside each artefact.
    type: path
  force:
    description:
      - Import even when the marker says the same content was already imported.
    type: bool
    default: false
  clear_model_cache:
    description:
      - Empty the model cache (C(DELETE model-cache)) before any import of this task.
    type: bool
    default: false
  clean_code_envs:
    description:
      - Delete the code envs no service uses from the code-env cache (C(DELETE cached-code-envs)).
    type: bool
    default: false
  clean_unused_services:
    description:
      - Delete disabled services that have no mapping and nothing to keep, and the generations that no
        mapping uses.
      - Done with one explicit C(DELETE) per service or generation after reading the state, rather than
        the node-wide C(DELETE services-clean-unused), so that a generation named in a mapping (even
        of a disabled service), anything listed in O(keep), and anything loaded in memory are never removed,
        and the result says exactly what went.
    type: bool
    default: false
  keep:
    description:
      - Services (C(<service>)) or generations (C(<service>/<generation>)) that O(clean_unused_services)
        must never remove, for example rollback targets.
    type: list
    elements: str
    default: []
notes:
  - In check mode, an artefact path that does not exist yet (an earlier task of the play would copy it) gives
    a warning and is reported as an import (C(changed=true)); outside check mode it is an error.
seealso:
  - module: dss.apinode.apinode_generation
  - module: dss.apinode.apinode_service
  - module: dss.apinode.apinode_info
'''

EXAMPLES = r'''
- name: Fill the caches of air-gapped nodes
  hosts: apinodes
  module_defaults:
    group/dss.apinode.apinode:
      url: "{{ apinode_url }}"
      api_key: "{{ apinode_admin_key }}"
  tasks:
    - name: Import an exported Python code env (skipped when the same content was imported)
      dss.apinode.apinode_cache:
        code_env: /srv/apinode-staging/code-envs/churn-py
        language: python

    - name: Register an R env already built on the node
      dss.apinode.apinode_cache:
        code_env: /srv/apinode-staging/code-envs/scoring-r
        built_env_path: /opt/envs/scoring-r
        language: R

    - name: Import a model archive, keeping the markers in one folder
      dss.apinode.apinode_cache:
        model_archive: /srv/apinode-staging/models/sentiment.zip
        state_dir: /srv/apinode-staging/.markers

    - name: Free disk, keeping the rollback target of the churn service
      dss.apinode.apinode_cache:
        clean_unused_services: true
        clean_code_envs: true
        keep:
          - churn/v41
'''

RETURN = r'''
imports:
  description: One entry per artefact of the task (code env, model archive), imported or not.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: V(code_env), V(built_code_env) or V(model).
      type: str
    path:
      description: Path of the artefact on the node.
      type: str
    fingerprint:
      description:
        - sha256 content fingerprint of the artefact.
        - V(null) in check mode when the artefact does not exist yet.
      type: str
    changed:
      description: Whether it was imported on this run (or would be, in check mode).
      type: bool
    marker:
      description: Path of the marker file that records the import.
      type: str
    response:
      description: What the node answered to the import.
      type: raw
      returned: when imported
cleanups:
  description: The clean-up calls made (or that would be made, in check mode), each with the node's answer.
  returned: always
  type: list
  elements: dict
  contains:
    action:
      description: V(clear_model_cache), V(clean_code_envs), V(delete_service) or V(delete_generation).
      type: str
    service:
      description: Service id, for the deletions of services and generations.
      type: str
      returned: for delete_service and delete_generation
    generation:
      description: Generation id.
      type: str
      returned: for delete_generation
    response:
      description: What the node answered.
      type: raw
      returned: when not in check mode
kept:
  description: Generations that O(clean_unused_services) left because they are mapped, loaded or in O(keep).
  returned: when O(clean_unused_services=true)
  type: list
  elements: str
  sample: [churn/v41, churn/v42]
plan:
  description:
    - What the run changes on the node, or would change in check mode - one sentence per admin call, in order
      (clean-ups first, then imports). Empty when the node already matches the options.
    - Check mode and a real run plan the same way, so a check-mode run shows exactly what the real run sends.
    - When a call fails, the failed result also holds C(plan) and C(applied), the sentences of the calls sent
      before the failure.
  returned: always
  type: list
  elements: str
  sample: ["model archive /srv/apinode-staging/models/sentiment.zip was never imported"]
  version_added: 0.1.0
'''

import json
import os
import socket

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.dss.apinode.plugins.module_utils import _change
from ansible_collections.dss.apinode.plugins.module_utils._archive import ArchiveError, check_members
from ansible_collections.dss.apinode.plugins.module_utils._cache_plan import (
    after_writes,
    apply_step,
    plan_cache,
    read_caches,
)
from ansible_collections.dss.apinode.plugins.module_utils._common import (
    build_module,
    client_from_module,
    prerequisite_missing,
    validate_id,
)


def main():
    module = build_module(
        dict(
            code_env=dict(type='path'),
            language=dict(type='str', default='python', choices=['python', 'R']),
            built_env_path=dict(type='path'),
            model_archive=dict(type='path'),
            state_dir=dict(type='path'),
            force=dict(type='bool', default=False),
            clear_model_cache=dict(type='bool', default=False),
            clean_code_envs=dict(type='bool', default=False),
            clean_unused_services=dict(type='bool', default=False),
            keep=dict(type='list', elements='str', default=[]),
        ),
        required_by=dict(built_env_path='code_env'),
        supports_check_mode=True,
    )
    missing = check_paths(module)
    check_keep(module)
    client = client_from_module(module)
    _change.run(module, client, read=lambda: read_caches(client, module.params, missing),
                plan=lambda current: plan_cache(module.params, current),
                apply=apply_step, reread=after_writes)


def check_paths(module):
    """Every artefact must exist on this host and be safe, before any request.

    Returns the options whose path does not exist yet, which only check mode lets through.
    """
    p = module.params
    wanted = [('code_env', os.path.isdir, 'an exported code env folder'),
              ('built_env_path', os.path.isdir, 'a folder holding the built code env'),
              ('model_archive', os.path.isfile, 'a model archive file')]
    missing = set()
    for option, exists, what in wanted:
        value = p[option]
        if value is None or exists(value):
            continue
        msg = ('%s=%s: no such %s on %s (the paths are read where the module runs, which should be the API node).'
               % (option, value, what, socket.gethostname()))
        if os.path.exists(value):
            module.fail_json(msg=msg)  # there, but not the right kind of file: no later task changes that
        prerequisite_missing(module, msg)
        missing.add(option)
    if p['model_archive'] and 'model_archive' not in missing:
        try:
            check_members(p['model_archive'], 'Model archive')
        except ArchiveError as err:
            module.fail_json(msg=to_text(err))
    check_code_env_language(module)
    if not any(p[o] for o in ('code_env', 'model_archive', 'clear_model_cache', 'clean_code_envs',
                              'clean_unused_services')):
        module.fail_json(msg='Nothing to do: set code_env, model_archive or one of the clean-up options.')
    return missing


def check_keep(module):
    """Each keep entry is a service id or <service>/<generation>, checked like the ids of the other modules."""
    for entry in module.params['keep']:
        service_id, has_generation, generation_id = entry.partition('/')
        validate_id(module, 'service', service_id, 'keep')
        if has_generation:
            validate_id(module, 'generation', generation_id, 'keep')


def check_code_env_language(module):
    """An exported env says its language in desc.json (envLang); a mismatch fails before any request."""
    p = module.params
    if not p['code_env']:
        return
    try:
        with open(os.path.join(p['code_env'], 'desc.json')) as handle:
            env_lang = json.load(handle).get('envLang')
    except (IOError, OSError, ValueError, AttributeError):
        return  # no readable descriptor: the node will judge
    if env_lang and env_lang.upper() != p['language'].upper():
        module.fail_json(msg='language=%s does not match the code env in %s, whose desc.json says envLang=%s.'
                             % (p['language'], p['code_env'], env_lang))


if __name__ == '__main__':
    main()
