# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Progressive rollouts: the mapping of each step, the figures read from a node's metrics, and the verdict.

Pure logic, no I/O. A service of a release may give ``steps`` (``[{proba, bake_seconds}]``): the new
generation is served to ``proba`` of the queries and the generation(s) it replaces share the rest, for
``bake_seconds``, then the next step, up to 100 %. The verdict of a step uses only what a real API node
exposes in its metrics registry (``GET /admin/api/metrics``):

- ``dku.lambda.service.<svc>.<ep>.requests`` and ``.successRequests`` (meters, per endpoint, every
  generation together): the error rate of each endpoint during the bake, and before the step;
- ``dku.lambda.service.<svc>.requestsPerGeneration.<gen>`` (meter): the share of the queries that the new
  generation received, which proves that it was exercised;
- ``dku.lambda.service.<svc>.<ep>.totalProcessing`` (timer, milliseconds): its p95, for ``max_latency_ms``.

The node does not count successes per generation, so the error rate of the new generation is estimated
from the rise of the endpoint's error rate: ``(bake_rate - before_rate * (1 - share)) / share``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

from ansible_collections.dss.apinode.plugins.module_utils import _mapping

METRIC_PREFIX = 'dku.lambda.service.'
ON_INSUFFICIENT = ('fail', 'hold')
DEFAULT_ANALYSIS = dict(min_requests=20, max_error_rate=0.05, max_wait_seconds=600, on_insufficient_traffic='fail',
                        max_latency_ms=None)
# Decisions of a step, in the order of their precedence when several services disagree.
ROLLBACK, HOLD, WAIT, PROMOTE = 'rollback', 'hold', 'wait', 'promote'
# Probabilities are rounded like this in the mappings the steps set (the node checks the sum to 1e-6).
DIGITS = 6


class ProgressiveError(ValueError):
    """Steps or analysis options that cannot be used; the message names the service and the problem."""


# --- options ------------------------------------------------------------------------------------------

def normalise_steps(steps, where='steps'):
    """``[{proba, bake_seconds}]`` checked: probas in (0, 1] and increasing, bake_seconds >= 0 (default 0).

    A last step at 1.0 is added when the list does not end there. Returns [] for no steps. Raises
    ProgressiveError.
    """
    out = []
    for index, step in enumerate(steps or []):
        if not isinstance(step, dict):
            raise ProgressiveError('%s[%d] must be a dict {proba, bake_seconds}.' % (where, index))
        proba = _number(step.get('proba'), '%s[%d].proba' % (where, index))
        if not 0.0 < proba <= 1.0:
            raise ProgressiveError('%s[%d].proba must be greater than 0 and at most 1, got %s.' % (where, index, proba))
        if out and proba <= out[-1]['proba']:
            raise ProgressiveError('%s[%d].proba (%s) must be greater than the step before (%s).'
                                   % (where, index, proba, out[-1]['proba']))
        bake = step.get('bake_seconds')
        bake = 0.0 if bake is None else _number(bake, '%s[%d].bake_seconds' % (where, index))
        if bake < 0:
            raise ProgressiveError('%s[%d].bake_seconds must be 0 or more, got %s.' % (where, index, bake))
        out.append(dict(proba=proba, bake_seconds=bake))
    if out and out[-1]['proba'] < 1.0:
        out.append(dict(proba=1.0, bake_seconds=0.0))
    return out


def normalise_analysis(analysis, defaults=None, where='analysis'):
    """The analysis of a service: its own keys over ``defaults`` over DEFAULT_ANALYSIS, checked.

    Returns ``{min_requests: int, max_error_rate: 0..1, max_wait_seconds: >= 0, on_insufficient_traffic:
    fail|hold, max_latency_ms: > 0 or None}``. Raises ProgressiveError.
    """
    out = dict(DEFAULT_ANALYSIS)
    for source in (defaults or {}, analysis or {}):
        out.update((k, v) for k, v in source.items() if v is not None and k in DEFAULT_ANALYSIS)
    unknown = sorted(set(analysis or {}) - set(DEFAULT_ANALYSIS))
    if unknown:
        raise ProgressiveError('%s: unknown option(s) %s (known: %s).' % (where, ', '.join(unknown), ', '.join(sorted(DEFAULT_ANALYSIS))))
    minimum = _number(out['min_requests'], where + '.min_requests')
    if minimum < 0 or minimum != int(minimum):
        raise ProgressiveError('%s.min_requests must be a whole number, 0 or more, got %s.' % (where, out['min_requests']))
    out['min_requests'] = int(minimum)
    out['max_error_rate'] = _number(out['max_error_rate'], where + '.max_error_rate')
    if not 0.0 <= out['max_error_rate'] <= 1.0:
        raise ProgressiveError('%s.max_error_rate must be from 0 to 1, got %s.' % (where, out['max_error_rate']))
    out['max_wait_seconds'] = _number(out['max_wait_seconds'], where + '.max_wait_seconds')
    if out['max_wait_seconds'] < 0:
        raise ProgressiveError('%s.max_wait_seconds must be 0 or more, got %s.' % (where, out['max_wait_seconds']))
    if out['on_insufficient_traffic'] not in ON_INSUFFICIENT:
        raise ProgressiveError('%s.on_insufficient_traffic must be fail or hold, got %r.'
                               % (where, out['on_insufficient_traffic']))
    if out['max_latency_ms'] is not None:
        out['max_latency_ms'] = _number(out['max_latency_ms'], where + '.max_latency_ms')
        if out['max_latency_ms'] <= 0:
            raise ProgressiveError('%s.max_latency_ms must be a positive number of milliseconds.' % where)
    return out


def _number(value, where):
    if isinstance(value, bool):
        raise ProgressiveError('%s must be a number, got %r.' % (where, value))
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise ProgressiveError('%s must be a number, got %r.' % (where, value))
    if math.isnan(result) or math.isinf(result):
        raise ProgressiveError('%s must be a finite number, got %r.' % (where, value))
    return result


# --- the mapping of each step -------------------------------------------------------------------------

def step_mapping(base, generation, proba, strategy='random'):
    """The normal-form mapping of a step: ``generation`` at ``proba``, the other generations of ``base``
    (the mapping served before the rollout, normal form) sharing the rest in proportion of their probas.

    At 1.0, or when ``base`` has no other generation, the new generation alone.
    """
    others = [e for e in (base or {}).get('entries') or [] if e['generation'] != generation and e['proba'] > 0]
    if proba >= 1.0 - _mapping.TOLERANCE or not others:
        return _mapping.desired(generation=generation)
    total = sum(e['proba'] for e in others)
    rest = 1.0 - round(proba, DIGITS)
    entries = [dict(generation=generation, proba=round(proba, DIGITS))]
    for entry in others:
        entries.append(dict(generation=entry['generation'], proba=round(rest * entry['proba'] / total, DIGITS)))
    # Rounding noise goes to the largest other generation, so that the probas sum to 1 exactly.
    drift = round(1.0 - sum(e['proba'] for e in entries), DIGITS)
    if drift:
        largest = max(entries[1:], key=lambda e: e['proba'])
        largest['proba'] = round(largest['proba'] + drift, DIGITS)
    return _mapping.desired(mapping=entries, strategy=strategy or 'random')


def plan_steps(generation, steps, base, strategy='random'):
    """``[{index, proba, bake_seconds, mapping}]`` for ``steps`` (``normalise_steps``) from ``base``; [] when
    there is nothing to shift from (no mapping before, or only ``generation``): the switch is then at once."""
    others = [e for e in (base or {}).get('entries') or [] if e['generation'] != generation]
    if not steps or not others:
        return []
    return [dict(index=index, proba=step['proba'], bake_seconds=step['bake_seconds'],
                 mapping=step_mapping(base, generation, step['proba'], strategy))
            for index, step in enumerate(steps)]


def describe_steps(steps):
    """'10 % for 300 s, 50 % for 300 s, then 100 %'."""
    parts = []
    for step in steps:
        text = '%s %%' % _percent(step['proba'])
        if step['proba'] < 1.0 or step['bake_seconds']:
            text += ' for %s s' % _plain(step['bake_seconds'])
        parts.append(text)
    if len(parts) > 1:
        return '%s, then %s' % (', '.join(parts[:-1]), parts[-1])
    return parts[0] if parts else ''


def _percent(proba):
    return _plain(round(proba * 100.0, 4))


def _plain(number):
    return ('%d' % number) if float(number) == int(number) else ('%s' % number)


# --- figures from the metrics registry --------------------------------------------------------------

def counts(metrics, service):
    """What the node's metrics registry (Dropwizard JSON) says of ``service``:
    ``{endpoints: {ep: {requests, success, p95_ms}}, generations: {gen: requests}}`` (counts since the
    node started; ``p95_ms`` of the endpoint's totalProcessing timer, None when the node has none)."""
    prefix = METRIC_PREFIX + service + '.'
    endpoints, generations = {}, {}
    for name, meter in ((metrics or {}).get('meters') or {}).items():
        if not name.startswith(prefix):
            continue
        parts = name[len(prefix):].split('.')
        count = int((meter or {}).get('count') or 0)
        if len(parts) == 2 and parts[0] == 'requestsPerGeneration':
            generations[parts[1]] = count
        elif len(parts) == 2 and parts[1] in ('requests', 'successRequests'):
            entry = endpoints.setdefault(parts[0], dict(requests=0, success=0, p95_ms=None))
            entry['requests' if parts[1] == 'requests' else 'success'] = count
    for name, timer in ((metrics or {}).get('timers') or {}).items():
        parts = name[len(prefix):].split('.') if name.startswith(prefix) else []
        if len(parts) == 2 and parts[1] == 'totalProcessing' and isinstance(timer, dict) and timer.get('count'):
            entry = endpoints.setdefault(parts[0], dict(requests=0, success=0, p95_ms=None))
            entry['p95_ms'] = float(timer.get('p95') or 0.0)
    return dict(endpoints=endpoints, generations=generations)


def delta(before, after):
    """Counts ``after`` minus ``before`` (a meter that went down means the node restarted: count from 0)."""
    def minus(new, old):
        return new - old if new >= old else new

    endpoints = {}
    for ep, now in after['endpoints'].items():
        was = before['endpoints'].get(ep) or dict(requests=0, success=0)
        endpoints[ep] = dict(requests=minus(now['requests'], was['requests']),
                             success=minus(now['success'], was['success']), p95_ms=now.get('p95_ms'))
    generations = dict((g, minus(n, before['generations'].get(g, 0))) for g, n in after['generations'].items())
    return dict(endpoints=endpoints, generations=generations)


# --- the verdict of a step ------------------------------------------------------------------------------

def judge_service(service, generation, proba, analysis, hosts, waited, bake_seconds):
    """The verdict of one service at one step, over every node of the batch.

    ``hosts``: ``{host: {before: counts, after: counts}}`` (``counts`` at the start of the step and now);
    ``waited``: seconds since the step started; ``bake_seconds``: the step's bake. Returns ``{service,
    generation, proba, decision: promote|wait|rollback|hold, reasons: [str], new_requests, requests,
    new_share, endpoints: {ep: {requests, errors, error_rate, error_rate_before, new_error_rate, p95_ms}},
    hosts: {host: {new_requests, requests, errors}}}``.
    """
    endpoints, per_host = {}, {}
    new_requests = all_requests = 0
    for host in sorted(hosts):
        before, after = hosts[host]['before'], hosts[host]['after']
        moved = delta(before, after)
        host_new = moved['generations'].get(generation, 0)
        host_all = sum(moved['generations'].values())
        new_requests += host_new
        all_requests += host_all
        host_errors = 0
        for ep, now in moved['endpoints'].items():
            entry = endpoints.setdefault(ep, dict(requests=0, errors=0, before_requests=0, before_errors=0, p95_ms=None))
            errors = max(0, now['requests'] - now['success'])
            host_errors += errors
            entry['requests'] += now['requests']
            entry['errors'] += errors
            was = before['endpoints'].get(ep) or dict(requests=0, success=0)
            entry['before_requests'] += was['requests']
            entry['before_errors'] += max(0, was['requests'] - was['success'])
            if now.get('p95_ms') is not None:
                entry['p95_ms'] = max(entry['p95_ms'] or 0.0, now['p95_ms'])
        per_host[host] = dict(new_requests=host_new, requests=host_all, errors=host_errors)
    share = float(new_requests) / all_requests if all_requests else 0.0
    figures = dict(service=service, generation=generation, proba=proba, new_requests=new_requests,
                   requests=all_requests, new_share=round(share, 4), hosts=per_host, endpoints={}, reasons=[])
    reasons = figures['reasons']
    for ep in sorted(endpoints):
        entry = endpoints[ep]
        rate = float(entry['errors']) / entry['requests'] if entry['requests'] else 0.0
        before = float(entry['before_errors']) / entry['before_requests'] if entry['before_requests'] else 0.0
        new_rate = None
        if entry['requests'] and share > 0:
            new_rate = min(1.0, max(0.0, (rate - before * (1.0 - share)) / share))
        figures['endpoints'][ep] = dict(requests=entry['requests'], errors=entry['errors'], error_rate=round(rate, 4),
                                        error_rate_before=round(before, 4),
                                        new_error_rate=None if new_rate is None else round(new_rate, 4),
                                        p95_ms=entry['p95_ms'])
        if new_rate is not None and new_rate > analysis['max_error_rate'] + 1e-9:
            reasons.append('endpoint %s: %d of %d queries failed during the bake (%s %%, %s %% before the step); '
                           'with %s %% of the queries on %s that is about %s %% for %s, above max_error_rate %s %%'
                           % (ep, entry['errors'], entry['requests'], _percent(rate), _percent(before), _percent(share),
                              generation, _percent(new_rate), generation, _percent(analysis['max_error_rate'])))
        limit = analysis.get('max_latency_ms')
        if limit and entry['requests'] and entry['p95_ms'] is not None and entry['p95_ms'] > limit:
            reasons.append('endpoint %s: p95 latency %s ms, above max_latency_ms %s ms'
                           % (ep, _plain(round(entry['p95_ms'], 1)), _plain(limit)))
    if reasons:
        figures['decision'] = ROLLBACK
    elif new_requests < max(1, analysis['min_requests']):
        deadline = bake_seconds + analysis['max_wait_seconds']
        text = ('%s received %d queries across the batch during the step, min_requests is %d'
                % (generation, new_requests, analysis['min_requests']))
        if waited + 1e-9 < deadline:
            figures['decision'] = WAIT
            figures['remaining'] = round(deadline - waited, 3)
            reasons.append(text + '; waiting up to %s s more' % _plain(round(deadline - waited, 1)))
        else:
            figures['decision'] = HOLD if analysis['on_insufficient_traffic'] == 'hold' else ROLLBACK
            reasons.append(text + ' after %s s (bake %s s + max_wait_seconds %s s): not enough traffic to judge'
                           % (_plain(round(waited, 1)), _plain(bake_seconds), _plain(analysis['max_wait_seconds'])))
    else:
        figures['decision'] = PROMOTE
    return figures


def judge_step(services, waited, bake_seconds, poll_seconds=None):
    """The verdict of a step from the verdicts of its services (``judge_service`` results).

    Returns ``{decision, services: [...], reasons: [str], wait_seconds, waited}``: a rollback of any
    service rolls the step back, then hold, then wait; ``wait_seconds`` is how long to wait before the
    next look when the decision is wait (a fifth of the longest remaining wait, at least 1 s).
    """
    decision = PROMOTE
    for candidate in (ROLLBACK, HOLD, WAIT):
        if any(s['decision'] == candidate for s in services):
            decision = candidate
            break
    reasons = ['service %s: %s' % (s['service'], r) for s in services for r in s['reasons']]
    wait = 0
    if decision == WAIT:
        poll = poll_seconds or max(1.0, bake_seconds / 5.0)
        remaining = max(0.0, max(s.get('remaining', 0.0) for s in services))
        # Whole seconds: the role pauses with them.
        wait = int(math.ceil(min(poll, remaining) if remaining else poll))
    return dict(decision=decision, services=services, reasons=reasons, wait_seconds=wait, waited=waited + wait,
                summary=[summary(s) for s in services])


def summary(figures):
    """One line of a service's figures: 'churn v2 at 10 %: promote - v2 answered 41 of 398 queries (10.3 %);
    predict: 2 errors of 398 (0.5 %, 0.5 % before), v2 about 0 %'."""
    parts = []
    for ep, e in sorted(figures['endpoints'].items()):
        text = '%s: %d errors of %d (%s %%, %s %% before)' % (
            ep, e['errors'], e['requests'], _percent(e['error_rate']), _percent(e['error_rate_before']))
        if e['new_error_rate'] is not None:
            text += ', %s about %s %%' % (figures['generation'], _percent(e['new_error_rate']))
        if e['p95_ms'] is not None:
            text += ', p95 %s ms' % _plain(round(e['p95_ms'], 1))
        parts.append(text)
    return '%s %s at %s %%: %s - %s answered %d of %d queries (%s %%)%s' % (
        figures['service'], figures['generation'], _percent(figures['proba']), figures['decision'],
        figures['generation'], figures['new_requests'], figures['requests'], _percent(figures['new_share']),
        ('; ' + '; '.join(parts)) if parts else '')


# --- hash-based dispatch ------------------------------------------------------------------------------

def dispatch_key_risk(service, current_mapping, wanted_strategy, metrics):
    """A sentence when ``service`` is about to be served with a hash_based mapping although its traffic so
    far could come from callers that send no dispatch key (each would get HTTP 400), else None.

    ``current_mapping``: the node's mapping (normal form) before the switch; a service that already serves
    a hash_based mapping of several generations only answers keyed queries, so its traffic is safe.
    ``metrics``: the node's registry. The node counts queries per endpoint, not whether they carried a key,
    so the sentence can only say that the traffic exists.
    """
    if wanted_strategy != 'hash_based':
        return None
    if current_mapping and current_mapping.get('mode') == _mapping.MULTI and current_mapping.get('strategy') == 'hash_based':
        return None
    found = counts(metrics, service)
    total = sum(e['requests'] for e in found['endpoints'].values())
    if not total:
        return None
    return ('service %s switches to a hash_based mapping and received %d queries since the node started; the node\'s '
            'metrics do not tell whether they carried a dispatch key, and every query without one will get HTTP 400 '
            '("For a HASH_BASED dispatch, the dispatch key is mandatory in queries")' % (service, total))
