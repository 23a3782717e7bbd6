# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Generations mappings: normalise what the node returns and what the user wants, validate, compare.

Pure logic, no HTTP. The normal form is the one modules return::

    {"mode": "SINGLE_GENERATION" | "MULTI_GENERATION", "generation": str (single only),
     "entries": [{"generation": str, "proba": float}], "strategy": "random" | "hash_based",
     "auditRoutingKey": str (only when set)}
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

SINGLE = 'SINGLE_GENERATION'
MULTI = 'MULTI_GENERATION'
# The node checks the sum of the probabilities with this tolerance; two probabilities closer than it are equal.
TOLERANCE = 1e-6
STRATEGIES = {'random': 'RANDOM', 'hash_based': 'HASH_BASED'}
# The options that give a mapping, declared once for apinode_service and for the services of apinode_release.
MAPPING_ARGUMENT_SPEC = dict(
    mapping=dict(type='list', elements='dict', options=dict(
        generation=dict(type='str', required=True),
        proba=dict(type='float', required=True),
    )),
    strategy=dict(type='str', choices=list(STRATEGIES)),
)


def mapping_argument_spec():
    """A copy of ``MAPPING_ARGUMENT_SPEC`` (``mapping`` and ``strategy``), for a module's argument spec."""
    return copy.deepcopy(MAPPING_ARGUMENT_SPEC)


def _strategy_option(server_value):
    """'HASH_BASED' -> 'hash_based'; anything missing or unknown reads as the node's default, random."""
    for option, server in STRATEGIES.items():
        if server == (server_value or '').upper():
            return option
    return 'random'


def from_server(active):
    """The node's ``activeMapping`` (any accepted shape) in normal form, or None when there is none."""
    if not isinstance(active, dict):
        return None
    if active.get('mode') == SINGLE and active.get('generation'):
        entries = [dict(generation=active['generation'], proba=1.0)]
    else:
        entries = [dict(generation=e.get('generation'), proba=float(e.get('proba') or 0.0))
                   for e in active.get('entries') or [] if isinstance(e, dict)]
    if not entries:
        return None
    return _normal(entries, _strategy_option(active.get('strategy')), active.get('auditRoutingKey'))


def desired(generation=None, mapping=None, strategy=None, audit_routing_key=None):
    """The user's options in normal form, or None when neither ``generation`` nor ``mapping`` is set."""
    if generation is not None:
        entries = [dict(generation=generation, proba=1.0)]
    elif mapping is not None:
        entries = [dict(generation=e['generation'], proba=float(e['proba'])) for e in mapping]
    else:
        return None
    return _normal(entries, strategy or 'random', audit_routing_key or None)


def _normal(entries, strategy, audit_routing_key):
    # A one-generation mapping is the single mode, whatever shape it was given in: the node serves it the same.
    if len(entries) == 1 and abs(entries[0]['proba'] - 1.0) <= TOLERANCE:
        result = dict(mode=SINGLE, generation=entries[0]['generation'],
                      entries=[dict(generation=entries[0]['generation'], proba=1.0)], strategy='random')
    else:
        result = dict(mode=MULTI, entries=entries, strategy=strategy)
    if audit_routing_key:
        result['auditRoutingKey'] = audit_routing_key
    return result


def problems(mapping):
    """What is wrong with a desired normal-form mapping, as a list of sentences (empty when valid)."""
    found = []
    seen = set()
    for entry in mapping['entries']:
        name = entry['generation']
        if name in seen:
            found.append('generation %s is listed more than once' % name)
        seen.add(name)
        if not 0.0 < entry['proba'] <= 1.0:
            found.append('the proba of generation %s must be greater than 0 and at most 1, got %s' % (name, entry['proba']))
    total = sum(e['proba'] for e in mapping['entries'])
    if abs(total - 1.0) > TOLERANCE:
        found.append('the probas must sum to 1, they sum to %s' % round(total, 9))
    return found


def missing_generations(mapping, present):
    """Generations of the mapping that are not on the node, sorted."""
    return sorted(set(e['generation'] for e in mapping['entries']) - set(present))


def shares(mapping):
    """generation -> proba."""
    return dict((e['generation'], e['proba']) for e in mapping['entries'])


def same(current, wanted, compare_audit_key=False):
    """True when the node already serves ``wanted`` (order and float noise ignored).

    The strategy matters only when several generations share the traffic; the audit routing key is
    compared only when the user set it (``compare_audit_key``).
    """
    if current is None or wanted is None:
        return current is wanted
    current_shares, wanted_shares = shares(current), shares(wanted)
    if set(current_shares) != set(wanted_shares):
        return False
    if any(abs(current_shares[g] - wanted_shares[g]) > TOLERANCE for g in wanted_shares):
        return False
    if len(wanted_shares) > 1 and current['strategy'] != wanted['strategy']:
        return False
    if compare_audit_key and current.get('auditRoutingKey') != wanted.get('auditRoutingKey'):
        return False
    return True


def request_body(wanted, current_raw=None, keep_audit_key=True):
    """The setMapping body for a normal-form mapping.

    When the user did not set the audit routing key (``keep_audit_key``), the current one and its
    audit metadata are carried over, as the node's own switchTo does.
    """
    if wanted['mode'] == SINGLE:
        # The one-entry list too: a node that reads only ``entries`` serves the same generation.
        body = dict(mode=SINGLE, generation=wanted['generation'], entries=[dict(generation=wanted['generation'], proba=1.0)])
    else:
        body = dict(mode=MULTI, strategy=STRATEGIES[wanted['strategy']],
                    entries=[dict(generation=e['generation'], proba=e['proba']) for e in wanted['entries']])
    current_raw = current_raw if isinstance(current_raw, dict) else {}
    if keep_audit_key:
        for field in ('auditRoutingKey', 'auditMetadata'):
            if current_raw.get(field) is not None:
                body[field] = current_raw[field]
    elif wanted.get('auditRoutingKey'):
        body['auditRoutingKey'] = wanted['auditRoutingKey']
    return body


def predicted(wanted, current, keep_audit_key=True):
    """The normal-form mapping the node will hold after ``request_body(wanted, ...)`` is applied."""
    result = dict(wanted)
    result.pop('auditRoutingKey', None)
    key = (current or {}).get('auditRoutingKey') if keep_audit_key else wanted.get('auditRoutingKey')
    if key:
        result['auditRoutingKey'] = key
    return result
