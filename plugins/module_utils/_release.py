# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Small rules of a release that the plan (``_plan``) builds on: retention and mappings in words.

Pure logic, no I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

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


def describe_mapping(mapping):
    """A normal-form mapping (or None) in words: 'generation v2', 'the mapping v1 90%, v2 10% (random)'."""
    if mapping is None:
        return 'no generation'
    if mapping['mode'] == _mapping.SINGLE:
        return 'generation %s' % mapping['generation']
    shares = ', '.join('%s %g%%' % (e['generation'], round(e['proba'] * 100, 4)) for e in mapping['entries'])
    return 'the mapping %s (%s)' % (shares, mapping['strategy'])
