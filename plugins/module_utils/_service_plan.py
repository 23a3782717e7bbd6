# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What ``apinode_service`` changes: its options checked, the service read, and the plan of admin calls.

``wanted_mapping`` and ``plan_service`` are pure; ``read_service`` only reads. The steps are those of
``_change`` (``create_service``, ``set_mapping``, ``enable``, ``disable``, ``delete_service``), each
with the HTTP call it sends.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.dss.apinode.plugins.module_utils import _mapping, _service_state
from ansible_collections.dss.apinode.plugins.module_utils._change import Change, Refused, step
from ansible_collections.dss.apinode.plugins.module_utils._client import path
from ansible_collections.dss.apinode.plugins.module_utils._common import id_problem
from ansible_collections.dss.apinode.plugins.module_utils._release import describe_mapping

# Options that only mean something for a service that stays.
PRESENT_ONLY = ('enabled', 'generation', 'mapping', 'strategy', 'audit_routing_key')


def absent_service(service_id):
    return dict(id=service_id, exists=False, enabled=False, mapping=None, generations=[])


def view(service):
    """What the diff shows of a service: ``{exists, enabled, mapping}``, None when absent."""
    if not service['exists']:
        return None
    return dict(exists=True, enabled=service['enabled'], mapping=service['mapping'])


def read_service(client, service_id):
    """``(service in the returned shape, activeMapping as listed)``; the raw mapping carries audit fields over.

    One GET services, plus GET generations when the service exists.
    """
    summary = _service_state.find_summary(client.get('services'), service_id)
    if summary is None:
        return absent_service(service_id), None
    service = _service_state.service_state(summary, _service_state.list_generations(client, service_id))
    return service, summary.get('activeMapping')


def _check_id(kind, value, option):
    problem = id_problem(kind, value, option)
    if problem:
        raise Refused(problem)


def wanted_mapping(params):
    """The options checked before any request; returns the wanted mapping (``_mapping`` normal form) or None.

    ``params``: the module options (``name``, ``state``, ``enabled``, ``generation``, ``mapping``,
    ``strategy``, ``audit_routing_key``). Raises Refused naming the first problem.
    """
    _check_id('service', params['name'], 'name')
    if params['state'] == 'absent':
        extra = [o for o in PRESENT_ONLY if params[o] is not None]
        if extra:
            raise Refused('state=absent deletes the service; do not set %s with it.' % ', '.join(extra))
        return None
    if params['strategy'] is not None and params['mapping'] is None:
        raise Refused('strategy applies only to a mapping of several generations: set mapping, or remove strategy.')
    if params['audit_routing_key'] is not None and params['generation'] is None and params['mapping'] is None:
        raise Refused('audit_routing_key is part of the generations mapping: set generation or mapping with it.')
    if params['mapping'] is not None and not params['mapping']:
        raise Refused('mapping must list at least one generation.')
    wanted = _mapping.desired(params['generation'], params['mapping'], params['strategy'], params['audit_routing_key'])
    if wanted is None:
        return None
    for entry in wanted['entries']:
        _check_id('generation', entry['generation'], 'generation' if params['generation'] is not None else 'mapping')
    found = _mapping.problems(wanted)
    if found:
        raise Refused('Invalid mapping for service %s: %s.' % (params['name'], '; '.join(found)))
    return wanted


def plan_service(params, current, wanted):
    """The Change that brings the service ``current`` (from ``read_service``) to the options.

    ``wanted``: from ``wanted_mapping``. ``after`` predicts the service in the returned shape. Raises
    Refused for a mapping whose generations are missing, a new mapping on a service meant to stay off,
    and an enable with nothing to serve.
    """
    before, raw_mapping = current
    name = params['name']
    if params['state'] == 'absent':
        if not before['exists']:
            return Change([], before, before)
        return Change([step('delete_service', 'service %s exists, the task wants it absent' % name,
                            method='DELETE', path=path('services', name))], before, absent_service(name))

    steps = []
    after = copy.deepcopy(before)
    if not before['exists']:
        steps.append(step('create_service', 'service %s is missing' % name,
                          method='POST', path='services/', body=dict(serviceId=name)))
        after.update(exists=True, enabled=False)

    if wanted is not None:
        present = [g['generationId'] for g in before['generations']]
        missing = _mapping.missing_generations(wanted, present)
        if missing:
            raise Refused('Generation(s) %s of service %s are not on the node (present: %s). Import them first '
                          'with dss.apinode.apinode_generation.'
                          % (', '.join(missing), name, ', '.join(sorted(present)) or 'none'))
        keep_key = params['audit_routing_key'] is None
        if not _mapping.same(before['mapping'], wanted, compare_audit_key=not keep_key):
            if params['enabled'] is False and not before['enabled']:
                raise Refused('Service %s is %s and enabled=false, but the node enables a service whenever its '
                              'mapping is set, so the new mapping would serve traffic. Set enabled=true to serve '
                              'it, or leave generation/mapping out to keep the service off.'
                              % (name, 'disabled' if before['exists'] else 'new'))
            after['mapping'] = _mapping.predicted(wanted, before['mapping'], keep_audit_key=keep_key)
            steps.append(step('set_mapping', _mapping_sentence(name, before['mapping'], after['mapping']),
                              method='POST', path=path('services', name, 'actions', 'setMapping'),
                              body=_mapping.request_body(wanted, raw_mapping, keep_audit_key=keep_key)))
            after['enabled'] = True
            predict_generations(after)

    if params['enabled'] and before.get('start_aborted_reason') and raw_mapping and not steps:
        # Listed as disabled, but enabled on disk: setting the same mapping again restarts it.
        steps.append(step('set_mapping', 'service %s is enabled but its start was aborted (%s)'
                          % (name, before['start_aborted_reason']),
                          method='POST', path=path('services', name, 'actions', 'setMapping'), body=raw_mapping))
        after['enabled'] = True
    if params['enabled'] is not None and params['enabled'] != after['enabled']:
        if params['enabled'] and after['mapping'] is None:
            raise Refused('Service %s cannot be enabled: it has no generation to serve yet. Set generation or '
                          'mapping.' % name)
        action = 'enable' if params['enabled'] else 'disable'
        steps.append(step(action, 'service %s is %s, the task wants it %s'
                          % (name, 'enabled' if after['enabled'] else 'disabled', action + 'd'),
                          method='POST', path=path('services', name, 'actions', action)))
        after['enabled'] = params['enabled']
        predict_generations(after)
    if steps:
        after.pop('start_aborted_reason', None)
    return Change(steps, before, after)


def _mapping_sentence(name, current, wanted):
    said, wants = describe_mapping(current), describe_mapping(wanted)
    if said == wants:
        # Same generations and strategy: only the routing key of the query log differs.
        return 'service %s stamps its query log with %s, the task wants %s' % (
            name, _routing_key(current), _routing_key(wanted))
    return 'service %s serves %s, the task wants %s' % (name, said, wants)


def _routing_key(mapping):
    key = (mapping or {}).get('auditRoutingKey')
    return 'the routing key %s' % key if key else 'no routing key'


def predict_generations(service):
    """``mapped`` follows the mapping of an enabled service; disabling unloads every generation."""
    shares = _mapping.shares(service['mapping']) if service['mapping'] and service['enabled'] else {}
    for gen in service['generations']:
        gen['mapped'] = shares.get(gen['generationId'], 0.0)
        gen['mounted'] = service['enabled'] and (gen['mounted'] or gen['generationId'] in shares)
