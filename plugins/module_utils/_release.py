# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Compare what a node serves (an ``apinode_info`` result) with a release, as a list of sentences.

Pure logic, no I/O: the packages' tags and the artefacts' fingerprints are read beforehand on the
controller, so that a node which already serves the release is known from one read of the node.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath

from ansible_collections.dss.apinode.plugins.module_utils import _mapping
from ansible_collections.dss.apinode.plugins.module_utils._package import identity

ARTEFACT_KINDS = ('code_env', 'built_code_env', 'model')


class ReleaseError(Exception):
    """The node facts or the release are not in the expected shape."""


def drift(info, release, keep_generations=3, preload=True):
    """Every difference between the node and the release, one sentence each (empty: nothing to do)."""
    services = _node_services(info)
    items = _release_list(release, 'services')
    artefacts = _release_list(release, 'artefacts')
    keep_generations = _retention(keep_generations)
    found = []
    for index, item in enumerate(items):
        found.extend(_service_drift(_service_item(item, index), services, keep_generations, preload))
    if artefacts:
        records = _cache_imports(info)
        for index, artefact in enumerate(artefacts):
            found.extend(_artefact_drift(_artefact_item(artefact, index), records))
    return found


# --- checking the input ----------------------------------------------------------------------------

def _node_services(info):
    if not isinstance(info, dict):
        raise ReleaseError('expected the registered result of dss.apinode.apinode_info (a dict), got %s'
                           % type(info).__name__)
    if info.get('failed'):
        raise ReleaseError('the dss.apinode.apinode_info result is a failure: %s' % info.get('msg', 'no message'))
    if not isinstance(info.get('services'), list):
        raise ReleaseError('the dss.apinode.apinode_info result has no services list: '
                           'read it with gather including services')
    return dict((s.get('id'), s) for s in info['services'] if isinstance(s, dict))


def _cache_imports(info):
    if not isinstance(info.get('cache_imports'), list):
        raise ReleaseError('the release has artefacts but the dss.apinode.apinode_info result has no '
                           'cache_imports list: read it with gather including cache_imports')
    return [r for r in info['cache_imports'] if isinstance(r, dict)]


def _release_list(release, key):
    if not isinstance(release, dict):
        raise ReleaseError('expected the release as a dict with services and artefacts, got %s'
                           % type(release).__name__)
    value = release.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ReleaseError('the release\'s %s must be a list, got %s' % (key, type(value).__name__))
    return value


def _retention(keep_generations):
    if keep_generations is None:
        return None
    if isinstance(keep_generations, bool) or not isinstance(keep_generations, int) or keep_generations < 0:
        raise ReleaseError('keep_generations must be a non-negative integer or None, got %r' % (keep_generations,))
    return keep_generations


def _service_item(item, index):
    """A release service with its defaults filled in; empty values count as not set."""
    if not isinstance(item, dict) or not item.get('id'):
        raise ReleaseError('release service #%d must be a dict with an id' % index)
    tag = item.get('tag')
    if not isinstance(tag, dict) or not tag.get('generationId'):
        raise ReleaseError('release service %s has no tag with a generationId (use the '
                           'dss.apinode.package_tag lookup on its package)' % item['id'])
    mapping = item.get('mapping') or None
    if mapping is not None:
        if not isinstance(mapping, list) or not all(isinstance(e, dict) and e.get('generation') and _is_number(e.get('proba'))
                                                    for e in mapping):
            raise ReleaseError('the mapping of release service %s must be a list of {generation, proba}' % item['id'])
    if mapping is not None:
        # YAML reads a version like 7 as a number; the node's generation ids are strings.
        mapping = [dict(e, generation=str(e['generation'])) for e in mapping]
    enabled = item.get('enabled')
    generation = item.get('generation')
    generation = None if generation in (None, '') else str(generation)
    return dict(id=item['id'], tag=tag, generation=generation, mapping=mapping,
                strategy=item.get('strategy') or None, enabled=True if enabled is None else bool(enabled))


def _is_number(value):
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, bool)


def _artefact_item(artefact, index):
    if not isinstance(artefact, dict) or not all(artefact.get(k) for k in ('kind', 'path', 'fingerprint')):
        raise ReleaseError('release artefact #%d must be a dict with kind, path and fingerprint' % index)
    if artefact['kind'] not in ARTEFACT_KINDS:
        raise ReleaseError('release artefact %s has kind %r, expected one of %s'
                           % (artefact['path'], artefact['kind'], ', '.join(ARTEFACT_KINDS)))
    return artefact


# --- the differences -------------------------------------------------------------------------------

def _service_drift(item, services, keep_generations, preload):
    sid = item['id']
    node = services.get(sid)
    if node is None or node.get('exists') is False:
        return ['service %s is missing' % sid]
    if not isinstance(node.get('generations'), list):
        raise ReleaseError('service %s of the dss.apinode.apinode_info result has no generations list: '
                           'read the services with their generations' % sid)
    found = []
    package = item['tag']
    # The import creates the package's own generation id; a different expected id is a release error
    # that the deploy would stop on, so it is reported and the package's id is the one checked.
    target = package['generationId']
    if item['generation'] is not None and item['generation'] != target:
        found.append('service %s: the release expects generation %s but its package is generation %s'
                     % (sid, item['generation'], target))
    generations = dict((g.get('generationId'), g) for g in node['generations'] if isinstance(g, dict))
    on_node = generations.get(target)
    if on_node is None:
        found.append('service %s: generation %s is not on the node' % (sid, target))
    elif identity(on_node) != identity(package):
        found.append('service %s: generation %s on the node comes from another package (created on %s, '
                     'the package on %s)' % (sid, target, on_node.get('createdOn'), package.get('createdOn')))
    elif preload and not on_node.get('mounted'):
        found.append('service %s: generation %s is not preloaded' % (sid, target))
    if bool(node.get('enabled')) != item['enabled']:
        found.append('service %s is %s, the release wants it %s'
                     % (sid, _enabled_word(node.get('enabled')), _enabled_word(item['enabled'])))
    if item['mapping'] is not None:
        wanted = _mapping.desired(mapping=item['mapping'], strategy=item['strategy'])
    else:
        wanted = _mapping.desired(generation=target)
    current = node.get('mapping')
    if not _mapping.same(current, wanted):
        found.append('service %s serves %s, the release wants %s' % (sid, _describe(current), _describe(wanted)))
    for missing in _mapping.missing_generations(wanted, generations):
        if missing != target:
            found.append('service %s: generation %s of the wanted mapping is not on the node' % (sid, missing))
    if keep_generations is not None:
        # After a deployment the wanted mapping is the current one, and the current one a rollback target.
        expired = beyond_retention(node, keep_generations, also_keep=generations_of(wanted))
        if expired:
            found.append('service %s: %s beyond retention (keep %d) and would be deleted'
                         % (sid, _generations_are(expired), keep_generations))
    return found


def beyond_retention(service, keep_generations, also_keep=()):
    """The generations the deploy role's retention deletes, newest first: all but the newest
    ``keep_generations`` (by createdOn), the mapped ones, those of the current mapping and ``also_keep``."""
    generations = sorted((g for g in service.get('generations') or [] if isinstance(g, dict)),
                         key=lambda g: g.get('createdOn') or 0, reverse=True)
    keep = set(also_keep)
    keep.update(g.get('generationId') for g in generations[:keep_generations])
    keep.update(g.get('generationId') for g in generations if (g.get('mapped') or 0) > 0)
    keep.update(generations_of(service.get('mapping')))
    return [g.get('generationId') for g in generations if g.get('generationId') not in keep]


def generations_of(mapping):
    """The generations a normal-form mapping (or None) sends traffic to."""
    return set(e.get('generation') for e in (mapping or {}).get('entries') or [] if isinstance(e, dict))


def _artefact_drift(artefact, records):
    path = posixpath.normpath(artefact['path'])
    recorded = [r.get('fingerprint') for r in records
                if r.get('kind') == artefact['kind'] and posixpath.normpath(r.get('path') or '') == path]
    if not recorded:
        return ['%s %s was never imported' % (artefact['kind'], path)]
    if artefact['fingerprint'] not in recorded:
        return ['%s %s was imported with other content' % (artefact['kind'], path)]
    return []


def _generations_are(names):
    if len(names) == 1:
        return 'generation %s is' % names[0]
    return 'generations %s are' % ', '.join(names)


def _enabled_word(enabled):
    return 'enabled' if enabled else 'disabled'


def describe_mapping(mapping):
    """A normal-form mapping (or None) in words: 'generation v2', 'the mapping v1 90%, v2 10% (random)'."""
    return _describe(mapping)


def _describe(mapping):
    if mapping is None:
        return 'no generation'
    if mapping['mode'] == _mapping.SINGLE:
        return 'generation %s' % mapping['generation']
    shares = ', '.join('%s %g%%' % (e['generation'], round(e['proba'] * 100, 4)) for e in mapping['entries'])
    return 'the mapping %s (%s)' % (shares, mapping['strategy'])
