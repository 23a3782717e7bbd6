# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read what a node runs: services, their active mapping and their generations, in one shape.

The shape is the one ``apinode_service`` returns as ``service``, so that facts and module results
can be compared directly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dss.apinode.plugins.module_utils._client import path

GENERATION_FIELDS = ('generationId', 'createdOn', 'createdWithDSSVersion', 'createdWithDSSConfVersion',
                     'mounted', 'mapped')


def normalise_mapping(mapping):
    """activeMapping -> {mode, generation?, entries, strategy, auditRoutingKey?}, or None.

    INFERRED (reference: GenerationsMapping): a SINGLE_GENERATION mapping has one entry with
    proba 1.0, a body with only ``entries`` is MULTI_GENERATION, the strategy defaults to RANDOM.
    """
    if not mapping:
        return None
    entries = [dict(generation=e.get('generation'), proba=float(e.get('proba', 0.0)))
               for e in mapping.get('entries') or []]
    mode = mapping.get('mode') or ('SINGLE_GENERATION' if mapping.get('generation') and not entries
                                   else 'MULTI_GENERATION')
    result = dict(mode=mode, entries=entries, strategy=mapping.get('strategy') or 'RANDOM')
    if mode == 'SINGLE_GENERATION':
        generation = mapping.get('generation') or (entries[0]['generation'] if entries else None)
        result['generation'] = generation
        result['entries'] = [dict(generation=generation, proba=1.0)] if generation else []
    if mapping.get('auditRoutingKey'):
        result['auditRoutingKey'] = mapping['auditRoutingKey']
    return result


def normalise_generation(generation):
    return dict((field, generation.get(field)) for field in GENERATION_FIELDS)


def service_state(summary, generations):
    """One service as listed by GET services, with its generations."""
    state = dict(id=summary['serviceId'], exists=True, enabled=bool(summary.get('enabled')),
                 mapping=normalise_mapping(summary.get('activeMapping')),
                 generations=[normalise_generation(g) for g in generations])
    if summary.get('startAbortedReason'):
        state['start_aborted_reason'] = summary['startAbortedReason']
    return state


def list_generations(client, service_id):
    return (client.get(path('services', service_id, 'generations')) or {}).get('generations') or []


def read_services(client, only=None):
    """GET services, then GET generations of each service kept (sorted by id)."""
    summaries = sorted(client.get('services') or [], key=lambda s: s.get('serviceId') or '')
    if only is not None:
        summaries = [s for s in summaries if s.get('serviceId') in only]
    return [service_state(s, list_generations(client, s['serviceId'])) for s in summaries]
