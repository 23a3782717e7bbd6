# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Progressive rollouts: steps, the mapping of each step, figures from the metrics registry, verdicts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dss.apinode.plugins.module_utils import _mapping, _plan, _progressive
from ansible_collections.dss.apinode.plugins.module_utils._progressive import ProgressiveError

ANALYSIS = _progressive.normalise_analysis({'min_requests': 10, 'max_error_rate': 0.1, 'max_wait_seconds': 30})
V1 = _mapping.desired(generation='v1')


def registry(requests=0, success=0, generations=None, p95=None, service='churn', endpoint='predict'):
    """A metrics registry as the node serialises it (only the names the analysis reads, plus noise)."""
    prefix = 'dku.lambda.service.%s.' % service
    meters = {prefix + endpoint + '.requests': {'count': requests, 'm1_rate': 0.0},
              prefix + endpoint + '.successRequests': {'count': success},
              'dku.lambda.service.other.predict.requests': {'count': 999},
              prefix + endpoint + '.pipelinesCreated': {'count': 3}}
    for generation, count in (generations or {}).items():
        meters[prefix + 'requestsPerGeneration.' + generation] = {'count': count}
    timers = {}
    if p95 is not None:
        timers[prefix + endpoint + '.totalProcessing'] = {'count': requests, 'p95': p95}
    return {'version': '3.1.3', 'meters': meters, 'timers': timers, 'counters': {prefix + 'activeRequests': {'count': 0}}}


def figures(before, after):
    return dict(before=_progressive.counts(before, 'churn'), after=_progressive.counts(after, 'churn'))


# --- steps and analysis options --------------------------------------------------------------------------

def test_steps_are_checked_and_completed_to_100_percent():
    assert _progressive.normalise_steps([{'proba': 0.1, 'bake_seconds': 300}, {'proba': 0.5}]) == [
        {'proba': 0.1, 'bake_seconds': 300.0}, {'proba': 0.5, 'bake_seconds': 0.0}, {'proba': 1.0, 'bake_seconds': 0.0}]
    assert _progressive.normalise_steps(None) == []
    assert _progressive.normalise_steps([{'proba': 1}]) == [{'proba': 1.0, 'bake_seconds': 0.0}]


@pytest.mark.parametrize('steps, message', [
    ([{'proba': 0}], 'greater than 0 and at most 1'),
    ([{'proba': 1.5}], 'greater than 0 and at most 1'),
    ([{'proba': 0.5}, {'proba': 0.2}], 'must be greater than the step before'),
    ([{'proba': 0.5}, {'proba': 0.5}], 'must be greater than the step before'),
    ([{'proba': 0.5, 'bake_seconds': -1}], 'bake_seconds must be 0 or more'),
    ([{'proba': 'half'}], 'must be a number'),
    ([{'proba': True}], 'must be a number'),
    (['0.5'], 'must be a dict'),
])
def test_bad_steps_are_named(steps, message):
    with pytest.raises(ProgressiveError, match=message):
        _progressive.normalise_steps(steps, 'service churn steps')


def test_analysis_layers_service_over_role_over_builtin():
    result = _progressive.normalise_analysis({'max_error_rate': 0.2}, {'min_requests': 5, 'max_error_rate': 0.01,
                                                                       'max_latency_ms': None})
    assert result == {'min_requests': 5, 'max_error_rate': 0.2, 'max_wait_seconds': 600.0,
                      'on_insufficient_traffic': 'fail', 'max_latency_ms': None}


@pytest.mark.parametrize('analysis, message', [
    ({'min_requests': -1}, 'min_requests must be a whole number'),
    ({'min_requests': 2.5}, 'min_requests must be a whole number'),
    ({'max_error_rate': 2}, 'max_error_rate must be from 0 to 1'),
    ({'max_wait_seconds': -5}, 'max_wait_seconds must be 0 or more'),
    ({'on_insufficient_traffic': 'ignore'}, 'must be fail or hold'),
    ({'max_latency_ms': 0}, 'max_latency_ms must be a positive'),
    ({'min_request': 3}, 'unknown option'),
])
def test_bad_analysis_is_named(analysis, message):
    with pytest.raises(ProgressiveError, match=message):
        _progressive.normalise_analysis(analysis)


# --- the mapping of each step ---------------------------------------------------------------------------

def test_step_mapping_shares_the_rest_among_the_previous_generations_in_proportion():
    base = _mapping.desired(mapping=[{'generation': 'v1', 'proba': 0.75}, {'generation': 'v0', 'proba': 0.25}])
    mapping = _progressive.step_mapping(base, 'v2', 0.2, 'hash_based')
    assert mapping['mode'] == _mapping.MULTI and mapping['strategy'] == 'hash_based'
    assert _mapping.shares(mapping) == {'v2': 0.2, 'v1': 0.6, 'v0': 0.2}
    assert _mapping.problems(mapping) == []


def test_step_mapping_sums_to_one_exactly_despite_rounding():
    base = _mapping.desired(mapping=[{'generation': g, 'proba': p} for g, p in (('a', 0.3), ('b', 0.3), ('c', 0.4))])
    mapping = _progressive.step_mapping(base, 'v2', 1.0 / 3)
    assert abs(sum(_mapping.shares(mapping).values()) - 1.0) < 1e-9


def test_step_mapping_at_full_weight_or_without_a_previous_generation_is_the_new_one_alone():
    assert _progressive.step_mapping(V1, 'v2', 1.0) == _mapping.desired(generation='v2')
    assert _progressive.step_mapping(None, 'v2', 0.1) == _mapping.desired(generation='v2')
    # A base that already serves the new generation in part: only the others share the rest.
    base = _mapping.desired(mapping=[{'generation': 'v1', 'proba': 0.9}, {'generation': 'v2', 'proba': 0.1}])
    assert _mapping.shares(_progressive.step_mapping(base, 'v2', 0.5)) == {'v2': 0.5, 'v1': 0.5}


def test_plan_steps_and_their_description():
    steps = _progressive.normalise_steps([{'proba': 0.1, 'bake_seconds': 300}, {'proba': 0.5, 'bake_seconds': 60.5}])
    planned = _progressive.plan_steps('v2', steps, V1)
    assert [(s['index'], s['proba'], _mapping.shares(s['mapping'])) for s in planned] == [
        (0, 0.1, {'v2': 0.1, 'v1': 0.9}), (1, 0.5, {'v2': 0.5, 'v1': 0.5}), (2, 1.0, {'v2': 1.0})]
    assert _progressive.describe_steps(planned) == '10 % for 300 s, 50 % for 60.5 s, then 100 %'
    # Nothing served before, or only v2 already: the switch is at once.
    assert _progressive.plan_steps('v2', steps, None) == []
    assert _progressive.plan_steps('v2', steps, _mapping.desired(generation='v2')) == []


# --- figures from the registry --------------------------------------------------------------------------

def test_counts_read_only_the_names_a_real_node_has():
    found = _progressive.counts(registry(100, 97, {'v1': 90, 'v2': 10}, p95=12.5), 'churn')
    assert found == {'endpoints': {'predict': {'requests': 100, 'success': 97, 'p95_ms': 12.5}},
                     'generations': {'v1': 90, 'v2': 10}}
    assert _progressive.counts({}, 'churn') == {'endpoints': {}, 'generations': {}}


def test_delta_counts_from_zero_after_a_restart():
    before = _progressive.counts(registry(100, 100, {'v1': 100}), 'churn')
    after = _progressive.counts(registry(30, 29, {'v1': 20, 'v2': 10}), 'churn')
    moved = _progressive.delta(before, after)
    assert moved['endpoints']['predict']['requests'] == 30 and moved['generations'] == {'v1': 20, 'v2': 10}


# --- verdicts -------------------------------------------------------------------------------------------

def judge(hosts, waited=5, bake=5, analysis=None, proba=0.1):
    return _progressive.judge_service('churn', 'v2', proba, analysis or ANALYSIS, hosts, waited, bake)


def test_a_healthy_step_promotes_with_its_figures_summed_over_the_batch():
    hosts = {'node1': figures(registry(100, 99, {'v1': 100}), registry(200, 199, {'v1': 190, 'v2': 10})),
             'node2': figures(registry(50, 50, {'v1': 50}), registry(150, 150, {'v1': 140, 'v2': 10}))}
    result = judge(hosts)
    assert result['decision'] == 'promote' and result['reasons'] == []
    assert (result['new_requests'], result['requests'], result['new_share']) == (20, 200, 0.1)
    assert result['endpoints']['predict'] == {'requests': 200, 'errors': 0, 'error_rate': 0.0,
                                              'error_rate_before': 0.0067, 'new_error_rate': 0.0, 'p95_ms': None}
    assert result['hosts']['node1'] == {'new_requests': 10, 'requests': 100, 'errors': 0}
    assert 'churn v2 at 10 %: promote - v2 answered 20 of 200 queries (10 %)' in _progressive.summary(result)


def test_the_rise_of_the_error_rate_is_charged_to_the_new_generation():
    # 10 % of the queries on v2, the endpoint's error rate goes from 1 % to 5.5 %: (5.5 - 1 * 0.9) / 10 = 46 % for v2.
    hosts = {'node1': figures(registry(1000, 990, {'v1': 1000}), registry(2000, 1935, {'v1': 1900, 'v2': 100}))}
    result = judge(hosts)
    assert result['decision'] == 'rollback'
    assert result['endpoints']['predict']['new_error_rate'] == pytest.approx(0.46, abs=0.001)
    assert 'above max_error_rate 10 %' in result['reasons'][0]


def test_errors_the_old_generation_already_had_are_not_charged_to_the_new_one():
    # 10 % errors before and during the step: v2 is no worse.
    hosts = {'node1': figures(registry(1000, 900, {'v1': 1000}), registry(2000, 1800, {'v1': 1900, 'v2': 100}))}
    assert judge(hosts)['decision'] == 'promote'


def test_too_few_queries_on_the_new_generation_waits_then_fails_or_holds():
    hosts = {'node1': figures(registry(0, 0, {}), registry(40, 40, {'v1': 37, 'v2': 3}))}
    waiting = judge(hosts, waited=5, bake=5)
    assert waiting['decision'] == 'wait' and waiting['remaining'] == 30
    assert 'v2 received 3 queries across the batch during the step, min_requests is 10' in waiting['reasons'][0]
    assert judge(hosts, waited=35, bake=5)['decision'] == 'rollback'
    held = judge(hosts, waited=35, bake=5, analysis=dict(ANALYSIS, on_insufficient_traffic='hold'))
    assert held['decision'] == 'hold' and 'not enough traffic to judge' in held['reasons'][0]


def test_min_requests_zero_still_needs_one_query_on_the_new_generation():
    hosts = {'node1': figures(registry(0, 0, {}), registry(5, 5, {'v1': 5}))}
    assert judge(hosts, analysis=dict(ANALYSIS, min_requests=0))['decision'] == 'wait'


def test_latency_is_judged_only_when_asked():
    hosts = {'node1': figures(registry(0, 0, {}), registry(100, 100, {'v1': 80, 'v2': 20}, p95=450.0))}
    assert judge(hosts)['decision'] == 'promote'
    slow = judge(hosts, analysis=dict(ANALYSIS, max_latency_ms=300))
    assert slow['decision'] == 'rollback' and 'p95 latency 450 ms, above max_latency_ms 300 ms' in slow['reasons'][0]


def test_step_verdict_rollback_wins_then_hold_then_wait():
    def service(decision, remaining=0.0):
        return {'service': 's', 'decision': decision, 'reasons': [] if decision == 'promote' else [decision], 'remaining': remaining,
                'generation': 'v2', 'proba': 0.1, 'new_requests': 0, 'requests': 0, 'new_share': 0, 'endpoints': {}}
    assert _progressive.judge_step([service('promote'), service('rollback')], 5, 5)['decision'] == 'rollback'
    assert _progressive.judge_step([service('wait', 7), service('hold')], 5, 5)['decision'] == 'hold'
    # Looks again after a fifth of the bake (4 s), or sooner when less is left (2.5 s, rounded up).
    waiting = _progressive.judge_step([service('promote'), service('wait', 2.5)], 5, 20)
    assert (waiting['decision'], waiting['wait_seconds'], waiting['waited']) == ('wait', 3, 8)
    assert waiting['reasons'] == ['service s: wait']
    assert _progressive.judge_step([service('promote')], 5, 5)['wait_seconds'] == 0


# --- hash-based dispatch --------------------------------------------------------------------------------

def test_dispatch_key_risk_only_for_a_switch_to_hash_based_with_traffic():
    busy = registry(12, 12, {'v1': 12})
    risk = _progressive.dispatch_key_risk('churn', V1, 'hash_based', busy)
    assert 'received 12 queries' in risk and 'HTTP 400' in risk
    assert _progressive.dispatch_key_risk('churn', V1, 'random', busy) is None
    assert _progressive.dispatch_key_risk('churn', V1, 'hash_based', registry()) is None
    hashed = _mapping.desired(mapping=[{'generation': 'v1', 'proba': 0.5}, {'generation': 'v0', 'proba': 0.5}],
                              strategy='hash_based')
    assert _progressive.dispatch_key_risk('churn', hashed, 'hash_based', busy) is None


# --- the release plan with steps ------------------------------------------------------------------------

TAG_V2 = {'generationId': 'v2', 'createdOn': 1700002000000}
SMOKE = {'endpoint': 'predict', 'features': {'a': 1}}


def release(**service):
    item = dict(id='churn', package='/s/churn_v2.zip', tag=TAG_V2, smoke_tests=[SMOKE])
    item.update(service)
    return _plan.normalise_release([item])


def test_a_hash_based_release_also_smoke_tests_with_a_dispatch_key():
    tests = release(steps=[{'proba': 0.5}], strategy='hash_based')['services'][0]['smoke_tests']
    assert [(t['generation'], t['dispatch_key']) for t in tests] == [('v2', None), (None, _plan.SMOKE_DISPATCH_KEY)]
    keyed = release(steps=[{'proba': 0.5}], strategy='hash_based',
                    smoke_tests=[dict(SMOKE, dispatch_key='k1')])['services'][0]['smoke_tests']
    assert [t['dispatch_key'] for t in keyed] == ['k1']
    assert len(release()['services'][0]['smoke_tests']) == 1


def test_steps_do_not_go_with_a_mapping_and_are_checked():
    with pytest.raises(_plan.PlanError, match='do not go with a mapping'):
        release(steps=[{'proba': 0.5}], mapping=[{'generation': 'v2', 'proba': 1.0}])
    with pytest.raises(_plan.PlanError, match='service churn steps\\[0\\].proba'):
        release(steps=[{'proba': 2}])
    with pytest.raises(_plan.PlanError, match='strategy applies only'):
        release(strategy='hash_based')


def test_the_drift_sentence_lists_the_steps():
    generations = [{'generationId': 'v1', 'createdOn': 1, 'mounted': True},
                   {'generationId': 'v2', 'createdOn': 1700002000000, 'mounted': True}]
    service = {'id': 'churn', 'exists': True, 'enabled': True, 'mapping': V1, 'generations': generations}
    node = {'url': 'http://n', 'services': [service]}
    plan = _plan.build_plan(release(steps=[{'proba': 0.1, 'bake_seconds': 300}]), node)
    assert plan.drift == ['service churn serves generation v1, the release wants generation v2 '
                          '(progressive: 10 % for 300 s, then 100 %)']
