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

from ansible_collections.dss.apinode.plugins.module_utils import _mapping
from ansible_collections.dss.apinode.plugins.module_utils._client import path

GENERATION_FIELDS = ('generationId', 'createdOn', 'createdWithDSSVersion', 'createdWithDSSConfVersion',
                     'mounted', 'mapped')


def normalise_generation(generation):
    result = dict((field, generation.get(field)) for field in GENERATION_FIELDS)
    result['mounted'] = bool(generation.get('mounted'))
    result['mapped'] = float(generation.get('mapped') or 0.0)
    return result


def service_state(summary, generations):
    """One service as listed by GET services, with its generations (left out when ``None``: not read)."""
    state = dict(id=summary['serviceId'], exists=True, enabled=bool(summary.get('enabled')),
                 mapping=_mapping.from_server(summary.get('activeMapping')))
    if generations is not None:
        state['generations'] = [normalise_generation(g) for g in generations]
    if summary.get('startAbortedReason'):
        state['start_aborted_reason'] = summary['startAbortedReason']
    return state


def list_generations(client, service_id):
    return (client.get(path('services', service_id, 'generations')) or {}).get('generations') or []


def find_summary(summaries, service_id):
    for item in summaries or []:
        if isinstance(item, dict) and item.get('serviceId') == service_id:
            return item
    return None


def read_services(client, only=None, generations=True):
    """GET services, then GET generations of each service kept (sorted by id) unless ``generations`` is false.

    Without generations it is one request, which is all the enabled flag and active mapping need.
    """
    summaries = sorted(client.get('services') or [], key=lambda s: s.get('serviceId') or '')
    if only is not None:
        summaries = [s for s in summaries if s.get('serviceId') in only]
    return [service_state(s, list_generations(client, s['serviceId']) if generations else None)
            for s in summaries]
