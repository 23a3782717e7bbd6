# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Small rules of a release that the plan (``_plan``) builds on: retention and mappings in words.

Pure logic, no I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.dss.apinode.plugins.module_utils import _mapping


def beyond_retention(service, keep_generations, also_keep=()):
    """The generations retention deletes, newest first: all but the newest ``keep_generations`` (by
    createdOn), the mapped ones, those of the current mapping and ``also_keep``."""
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


def short_mapping(mapping, enabled=True, existed=True):
    """A mapping in a few characters, for tables: ``v2``, ``v1:0.9,v2:0.1 (random)``, ``-`` for a service that did
    not exist, ``no mapping``, ``disabled``. Entries in version order (``v9`` before ``v10``): a node lists them in the
    order it was given, and one mapping must read the same in every row and title."""
    if not existed:
        return '-'
    if not mapping:
        return 'disabled' if not enabled else 'no mapping'
    entries = mapping.get('entries') or []
    if mapping.get('mode') == _mapping.SINGLE or len(entries) == 1:
        text = str(mapping.get('generation') or entries[0]['generation'])
    else:
        text = '%s (%s)' % (','.join('%s:%g' % (e['generation'], float(e['proba']))
                                     for e in sorted(entries, key=lambda e: _version_order(e['generation']))),
                            str(mapping.get('strategy') or 'random').lower())
    return text if enabled else text + ' (disabled)'


def _version_order(generation):
    """The digit runs of a generation id compare as numbers (re.split positions alternate text, number)."""
    return [int(part) if index % 2 else part for index, part in enumerate(re.split(r'(\d+)', str(generation)))]


def describe_mapping(mapping):
    """A normal-form mapping (or None) in words: 'generation v2', 'the mapping v1 90%, v2 10% (random)'."""
    if mapping is None:
        return 'no generation'
    if mapping['mode'] == _mapping.SINGLE:
        return 'generation %s' % mapping['generation']
    shares = ', '.join('%s %g%%' % (e['generation'], round(e['proba'] * 100, 4)) for e in mapping['entries'])
    return 'the mapping %s (%s)' % (shares, mapping['strategy'])
