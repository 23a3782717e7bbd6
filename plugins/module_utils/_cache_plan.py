# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What ``apinode_cache`` changes: the artefacts and their import markers read, and the plan.

``artefacts``, ``unused`` and ``plan_cache`` are pure; ``read_caches`` reads the artefacts (content
fingerprints), their markers on this host and, for ``clean_unused_services``, the node's services.
Clean-ups come first, then imports, as the options document. Steps: ``delete_service``,
``delete_generation``, ``clean_code_envs``, ``clear_model_cache``, ``import_code_env``,
``import_built_code_env``, ``import_model``; ``apply_step`` sends one and keeps the markers true.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.dss.apinode.plugins.module_utils._change import Change, send, step
from ansible_collections.dss.apinode.plugins.module_utils._client import path
from ansible_collections.dss.apinode.plugins.module_utils._fingerprint import (
    fingerprint,
    forget_markers,
    marker_path,
    read_marker,
    write_marker,
)
from ansible_collections.dss.apinode.plugins.module_utils._service_state import read_services

STATE_DIR_NAME = '.apinode-cache'
# kind -> (words in sentences, the feature the import needs, the clean-up that empties its cache)
KINDS = {
    'code_env': ('code env', None, 'clean_code_envs'),
    'built_code_env': ('built code env', 'register_code_env', 'clean_code_envs'),
    'model': ('model archive', 'model_cache', 'clear_model_cache'),
}
# clean-up -> (sentence, admin path, feature, marker kinds it makes stale)
CLEANUPS = (
    ('clean_code_envs', 'the code-env cache may hold code envs that no service uses (clean_code_envs)',
     'cached-code-envs', 'cleanup', ('code_env', 'built_code_env')),
    ('clear_model_cache', 'the model cache is emptied on request (clear_model_cache)', 'model-cache', 'model_cache',
     ('model',)),
)


def state_dir_for(params, artefact):
    """Where the marker of ``artefact`` lives: ``state_dir``, else a ``.apinode-cache`` folder beside it."""
    return params['state_dir'] or os.path.join(os.path.dirname(os.path.normpath(artefact)), STATE_DIR_NAME)


def artefacts(params):
    """The artefacts of the task, in import order: ``[{kind, path, endpoint, query, options}]``.

    ``options``: the options naming the paths the artefact needs.
    """
    found = []
    if params['code_env'] and params['built_env_path']:
        found.append(dict(kind='built_code_env', path=params['code_env'], endpoint='register-global-code-env',
                          query=dict(exportedEnvDir=params['code_env'], builtEnvDir=params['built_env_path'],
                                     language=params['language']),
                          options=('code_env', 'built_env_path')))
    elif params['code_env']:
        found.append(dict(kind='code_env', path=params['code_env'], endpoint='cached-code-envs',
                          query=dict(fileDir=params['code_env'], language=params['language']), options=('code_env',)))
    if params['model_archive']:
        found.append(dict(kind='model', path=params['model_archive'], endpoint='model-cache',
                          query=dict(modelArchivePath=params['model_archive']), options=('model_archive',)))
    return found


def read_caches(client, params, missing=()):
    """``{node, artefacts: [artefact + {marker, fingerprint, record}], services}``.

    ``missing``: the options whose path does not exist yet (check mode only): no fingerprint, no marker read.
    ``services``: the node's services with their generations (``_service_state``), read only for
    ``clean_unused_services``.
    """
    found = []
    for artefact in artefacts(params):
        where = os.path.normpath(artefact['path'])
        item = dict(artefact, path=where, marker=marker_path(state_dir_for(params, where), artefact['kind'], where,
                                                             client.base_url))
        if set(artefact['options']) & set(missing):
            item.update(fingerprint=None, record=None)
        else:
            item.update(fingerprint=fingerprint(where), record=read_marker(item['marker']) or {})
        found.append(item)
    services = read_services(client) if params['clean_unused_services'] else None
    return dict(node=client.base_url, artefacts=found, services=services)


def unused(services, keep):
    """What ``clean_unused_services`` deletes: ``(deletions, kept)``.

    ``deletions``: ``[(service, None)]`` for a disabled service with no mapping, no start failure and nothing to
    keep, ``[(service, generation)]`` for a generation that is not mapped, loaded or in ``keep``.
    ``kept``: the ``<service>/<generation>`` left.
    """
    keep = set(keep)
    deletions, kept = [], []
    for service in services:
        sid = service['id']
        mapped = set(e['generation'] for e in (service['mapping'] or {}).get('entries', []))
        if sid in keep:
            kept.extend('%s/%s' % (sid, g['generationId']) for g in service['generations'])
            continue
        service_kept, generations = [], []
        for gen in service['generations']:
            gid = gen['generationId']
            ref = '%s/%s' % (sid, gid)
            if gid in mapped or gen.get('mapped') or gen.get('mounted') or ref in keep:
                service_kept.append(ref)
            else:
                generations.append(gid)
        kept.extend(service_kept)
        if not service['enabled'] and not mapped and not service.get('start_aborted_reason') and not service_kept:
            deletions.append((sid, None))
            continue
        deletions.extend((sid, gid) for gid in generations)
    return deletions, kept


def plan_cache(params, current):
    """The Change that fills and cleans the caches as the options ask.

    ``current``: from ``read_caches``. ``returns``: ``imports`` (one entry per artefact, changed or not),
    ``cleanups`` (one entry per clean-up step) and, with ``clean_unused_services``, ``kept``.
    ``before``/``after``: what the diff shows (``imported``: path -> fingerprint; ``removed``: the deletions).
    """
    steps, cleanups, returns = [], [], {}
    if params['clean_unused_services']:
        deletions, returns['kept'] = unused(current['services'], params['keep'])
        for sid, gid in deletions:
            if gid is None:
                entry = dict(action='delete_service', service=sid)
                steps.append(step('delete_service', 'service %s is disabled, has no mapping and nothing to keep' % sid,
                                  method='DELETE', path=path('services', sid), cleanup=len(cleanups)))
            else:
                entry = dict(action='delete_generation', service=sid, generation=gid)
                steps.append(step('delete_generation', 'service %s: generation %s is not mapped, loaded or kept'
                                  % (sid, gid), method='DELETE', path=path('services', sid, 'generations', gid),
                                  cleanup=len(cleanups)))
            cleanups.append(entry)
    cleared = set()
    for action, sentence, rel_path, feature, kinds in CLEANUPS:
        if params[action]:
            steps.append(step(action, sentence, method='DELETE', path=rel_path, feature=feature, cleanup=len(cleanups),
                              forget=dict(dirs=_marker_dirs(params), kinds=kinds, node=current['node'])))
            cleanups.append(dict(action=action))
            cleared.add(action)

    imports, imported_before = [], {}
    for artefact in current['artefacts']:
        words, feature, cleanup = KINDS[artefact['kind']]
        record = None if cleanup in cleared else artefact['record']
        item = dict(kind=artefact['kind'], path=artefact['path'], fingerprint=artefact['fingerprint'],
                    marker=artefact['marker'])
        wanted = None
        if artefact['fingerprint'] is None:
            sentence = '%s %s is not there yet (an earlier task of the play copies it)' % (words, artefact['path'])
        else:
            wanted = dict(kind=artefact['kind'], path=artefact['path'], fingerprint=artefact['fingerprint'],
                          node=current['node'], query=dict((k, v) for k, v in artefact['query'].items() if k != 'fileDir'))
            sentence = _import_sentence(words, artefact['path'], record, wanted, cleanup, params['force'])
        item['changed'] = sentence is not None
        imported_before[artefact['path']] = (record or {}).get('fingerprint')
        if sentence:
            # An artefact not there yet (check mode) is predicted without asking the node anything.
            steps.append(step('import_' + artefact['kind'], sentence, method='POST', path=artefact['endpoint'],
                              query=artefact['query'], feature=feature if wanted else None, marker=artefact['marker'],
                              record=wanted, imported=len(imports)))
        imports.append(item)

    returns.update(imports=imports, cleanups=cleanups)
    before = dict(imported=imported_before)
    after = dict(imported=dict((i['path'], i['fingerprint']) for i in imports),
                 removed=[c for c in cleanups if c['action'].startswith('delete_')])
    return Change(steps, before, after, returns=returns)


def _import_sentence(words, where, record, wanted, cleanup, force):
    """Why the artefact is imported, or None when its marker says it already is."""
    what = '%s %s' % (words, where)
    if record is None:
        return '%s is imported again: %s empties its cache first' % (what, cleanup)
    if all(record.get(k) == v for k, v in wanted.items()):
        return '%s is imported again (force=true)' % what if force else None
    if not record:
        return '%s was never imported' % what
    if record.get('fingerprint') != wanted['fingerprint']:
        return '%s was imported with other content' % what
    return '%s was imported with other options or to another node' % what


def _marker_dirs(params):
    if params['state_dir']:
        return [params['state_dir']]
    return sorted(set(state_dir_for(params, params[o]) for o in ('code_env', 'model_archive') if params[o]))


def apply_step(client, planned):
    """Send one step; an import writes its marker, a clean-up forgets the markers it makes stale."""
    answer = send(client, planned)
    if planned.get('record'):
        write_marker(planned['marker'], planned['record'])
    forget = planned.get('forget')
    if forget:
        for state_dir in forget['dirs']:
            for kind in forget['kinds']:
                forget_markers(state_dir, kind, forget['node'])
    return answer


def after_writes(change, answers):
    """``imports`` and ``cleanups`` with the node's answer of each step that ran."""
    imports = [dict(i) for i in change.returns['imports']]
    cleanups = [dict(c) for c in change.returns['cleanups']]
    for planned, answer in zip(change.steps, answers):
        if 'cleanup' in planned:
            cleanups[planned['cleanup']]['response'] = answer
        else:
            imports[planned['imported']]['response'] = answer
    return dict(imports=imports, cleanups=cleanups)
