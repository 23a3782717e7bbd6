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
'''

import json
import os
import socket

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.dss.apinode.plugins.module_utils._archive import ArchiveError, check_members
from ansible_collections.dss.apinode.plugins.module_utils._client import path
from ansible_collections.dss.apinode.plugins.module_utils._common import (
    build_module,
    client_from_module,
    diff_of,
    prerequisite_missing,
    run_module,
    validate_id,
)
from ansible_collections.dss.apinode.plugins.module_utils._fingerprint import (
    fingerprint,
    forget_markers,
    marker_path,
    read_marker,
    write_marker,
)
from ansible_collections.dss.apinode.plugins.module_utils._service_state import read_services
from ansible_collections.dss.apinode.plugins.module_utils._versions import require

STATE_DIR_NAME = '.apinode-cache'


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
    run_module(module, client, lambda: manage_caches(module, client, missing))


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


def manage_caches(module, client, missing=()):
    p = module.params
    require(module, client, cleanup=p['clean_code_envs'], model_cache=p['clear_model_cache'])
    cleanups, kept = [], []
    if p['clean_unused_services']:
        kept = clean_unused_services(module, client, cleanups)
    if p['clean_code_envs']:
        cleanups.append(call(module, client, 'clean_code_envs', 'DELETE', 'cached-code-envs'))
        forget(module, client, 'code_env', 'built_code_env')
    if p['clear_model_cache']:
        cleanups.append(call(module, client, 'clear_model_cache', 'DELETE', 'model-cache'))
        forget(module, client, 'model')

    imports = []
    if p['code_env'] and p['built_env_path']:
        imports.append(import_artefact(module, client, 'built_code_env', p['code_env'], 'register-global-code-env',
                                       dict(exportedEnvDir=p['code_env'], builtEnvDir=p['built_env_path'],
                                            language=p['language']),
                                       missing=bool(set(['code_env', 'built_env_path']) & set(missing))))
    elif p['code_env']:
        imports.append(import_artefact(module, client, 'code_env', p['code_env'], 'cached-code-envs',
                                       dict(fileDir=p['code_env'], language=p['language']),
                                       missing='code_env' in missing))
    if p['model_archive']:
        imports.append(import_artefact(module, client, 'model', p['model_archive'], 'model-cache',
                                       dict(modelArchivePath=p['model_archive']), missing='model_archive' in missing))

    changed = bool(cleanups) or any(i['changed'] for i in imports)
    result = dict(changed=changed, imports=imports, cleanups=cleanups)
    if p['clean_unused_services']:
        result['kept'] = kept
    if module._diff:
        result['diff'] = diff_of(
            dict(imported=dict((i['path'], i['previous_fingerprint']) for i in imports)),
            dict(imported=dict((i['path'], i['fingerprint']) for i in imports),
                 removed=[c for c in cleanups if c['action'].startswith('delete_')]))
    for item in imports:
        item.pop('previous_fingerprint')
    return result


def state_dir_for(module, artefact):
    return module.params['state_dir'] or os.path.join(os.path.dirname(os.path.normpath(artefact)), STATE_DIR_NAME)


def import_artefact(module, client, kind, artefact, endpoint, query, missing=False):
    """POST the import unless the marker for this node already holds the artefact's fingerprint.

    ``missing``: check mode only, the artefact is not there yet, so it would be imported.
    """
    artefact = os.path.normpath(artefact)
    marker = marker_path(state_dir_for(module, artefact), kind, artefact, client.base_url)
    if missing:
        return dict(kind=kind, path=artefact, fingerprint=None, marker=marker, previous_fingerprint=None, changed=True)
    digest = fingerprint(artefact)
    record = read_marker(marker) or {}
    wanted = dict(kind=kind, path=artefact, fingerprint=digest, node=client.base_url,
                  query=dict((k, v) for k, v in query.items() if k != 'fileDir'))
    done = all(record.get(k) == v for k, v in wanted.items())
    item = dict(kind=kind, path=artefact, fingerprint=digest, marker=marker,
                previous_fingerprint=record.get('fingerprint'), changed=module.params['force'] or not done)
    require(module, client, model_cache=item['changed'] and kind == 'model', register_code_env=item['changed'] and kind == 'built_code_env')
    if item['changed'] and not module.check_mode:
        item['response'] = client.post(endpoint, query=query)
        write_marker(marker, wanted)
    return item


def forget(module, client, *kinds):
    """A cache clean-up makes the markers of that cache stale for this node."""
    if module.check_mode:
        return
    dirs = set([module.params['state_dir']] if module.params['state_dir'] else
               [state_dir_for(module, module.params[o]) for o in ('code_env', 'model_archive') if module.params[o]])
    for state_dir in dirs:
        for kind in kinds:
            forget_markers(state_dir, kind, client.base_url)


def call(module, client, action, method, rel_path, **fields):
    entry = dict(action=action, **fields)
    if not module.check_mode:
        entry['response'] = client.request(method, rel_path).body
    return entry


def clean_unused_services(module, client, cleanups):
    """Delete disabled unmapped services and unused generations one by one; returns what was kept."""
    keep = set(module.params['keep'])
    kept = []
    for service in read_services(client):
        sid = service['id']
        mapped = set(e['generation'] for e in (service['mapping'] or {}).get('entries', []))
        if sid in keep:
            kept.extend('%s/%s' % (sid, g['generationId']) for g in service['generations'])
            continue
        service_kept, deletions = [], []
        for gen in service['generations']:
            gid = gen['generationId']
            ref = '%s/%s' % (sid, gid)
            if gid in mapped or gen.get('mapped') or gen.get('mounted') or ref in keep:
                service_kept.append(ref)
            else:
                deletions.append(gid)
        kept.extend(service_kept)
        unused = not service['enabled'] and not mapped and not service.get('start_aborted_reason')
        if unused and not service_kept:
            cleanups.append(call(module, client, 'delete_service', 'DELETE', path('services', sid), service=sid))
            continue
        for gid in deletions:
            cleanups.append(call(module, client, 'delete_generation', 'DELETE',
                                 path('services', sid, 'generations', gid), service=sid, generation=gid))
    return kept


if __name__ == '__main__':
    main()
