# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dss.apinode.plugins.module_utils import _mapping


def entries(*pairs):
    return [dict(generation=g, proba=p) for g, p in pairs]


class TestFromServer:
    def test_none_and_empty_mean_no_mapping(self):
        assert _mapping.from_server(None) is None
        assert _mapping.from_server({}) is None
        assert _mapping.from_server({'entries': []}) is None

    def test_single_mode(self):
        got = _mapping.from_server({'mode': 'SINGLE_GENERATION', 'generation': 'v1', 'auditRoutingKey': 'rk'})
        assert got == dict(mode='SINGLE_GENERATION', generation='v1', entries=entries(('v1', 1.0)),
                           strategy='random', auditRoutingKey='rk')

    def test_documented_entries_only_form_is_multi_random(self):
        got = _mapping.from_server({'entries': entries(('v1', 0.5), ('v2', 0.5))})
        assert got['mode'] == 'MULTI_GENERATION'
        assert got['strategy'] == 'random'
        assert 'auditRoutingKey' not in got

    def test_hash_based_strategy_in_option_form(self):
        got = _mapping.from_server({'mode': 'MULTI_GENERATION', 'strategy': 'HASH_BASED',
                                    'entries': entries(('v1', 0.5), ('v2', 0.5))})
        assert got['strategy'] == 'hash_based'

    def test_one_entry_at_proba_one_reads_as_single(self):
        got = _mapping.from_server({'mode': 'MULTI_GENERATION', 'strategy': 'HASH_BASED', 'entries': entries(('v3', 1))})
        assert got['mode'] == 'SINGLE_GENERATION'
        assert got['generation'] == 'v3'


class TestSame:
    def test_generation_equals_single_entry_mapping_and_single_mode(self):
        wanted = _mapping.desired(generation='v1')
        assert _mapping.same(_mapping.from_server({'entries': entries(('v1', 1.0))}), wanted)
        assert _mapping.same(_mapping.from_server({'mode': 'SINGLE_GENERATION', 'generation': 'v1'}), wanted)
        assert _mapping.same(_mapping.desired(mapping=entries(('v1', 1.0))), wanted)

    def test_order_and_float_noise_are_ignored(self):
        current = _mapping.from_server({'entries': entries(('v1', 0.9), ('v2', 0.1))})
        wanted = _mapping.desired(mapping=entries(('v2', 0.1000000004), ('v1', 0.8999999996)))
        assert _mapping.same(current, wanted)

    def test_real_proba_change_is_a_change(self):
        current = _mapping.from_server({'entries': entries(('v1', 0.9), ('v2', 0.1))})
        assert not _mapping.same(current, _mapping.desired(mapping=entries(('v1', 0.8), ('v2', 0.2))))
        assert not _mapping.same(current, _mapping.desired(generation='v1'))
        assert not _mapping.same(None, _mapping.desired(generation='v1'))

    def test_strategy_counts_only_with_several_generations(self):
        multi = _mapping.from_server({'strategy': 'HASH_BASED', 'entries': entries(('v1', 0.5), ('v2', 0.5))})
        assert not _mapping.same(multi, _mapping.desired(mapping=entries(('v1', 0.5), ('v2', 0.5))))
        assert _mapping.same(multi, _mapping.desired(mapping=entries(('v1', 0.5), ('v2', 0.5)), strategy='hash_based'))

    def test_audit_key_compared_only_when_set(self):
        current = _mapping.from_server({'mode': 'SINGLE_GENERATION', 'generation': 'v1', 'auditRoutingKey': 'old'})
        assert _mapping.same(current, _mapping.desired(generation='v1'))
        assert not _mapping.same(current, _mapping.desired(generation='v1', audit_routing_key='new'),
                                 compare_audit_key=True)
        assert not _mapping.same(current, _mapping.desired(generation='v1', audit_routing_key=''),
                                 compare_audit_key=True)


class TestProblems:
    def test_valid(self):
        assert _mapping.problems(_mapping.desired(mapping=entries(('v1', 0.3), ('v2', 0.7)))) == []

    @pytest.mark.parametrize('pairs, expected', [
        ((('v1', 0.5), ('v2', 0.4)), 'the probas must sum to 1, they sum to 0.9'),
        ((('v1', 0.5), ('v1', 0.5)), 'generation v1 is listed more than once'),
        ((('v1', 1.0), ('v2', 0.0)), 'the proba of generation v2 must be greater than 0 and at most 1, got 0.0'),
        ((('v1', 1.5), ('v2', -0.5)), 'the proba of generation v1 must be greater than 0 and at most 1, got 1.5'),
    ])
    def test_invalid(self, pairs, expected):
        assert expected in _mapping.problems(_mapping.desired(mapping=entries(*pairs)))

    def test_missing_generations(self):
        wanted = _mapping.desired(mapping=entries(('v1', 0.5), ('v3', 0.25), ('v2', 0.25)))
        assert _mapping.missing_generations(wanted, ['v1']) == ['v2', 'v3']


class TestRequestBody:
    def test_single(self):
        assert _mapping.request_body(_mapping.desired(generation='v2')) == dict(
            mode='SINGLE_GENERATION', generation='v2', entries=entries(('v2', 1.0)))

    def test_single_body_reads_back_as_the_same_mapping_from_either_field(self):
        # A node that reads the mode and one that reads only the documented entries serve the same generation.
        body = _mapping.request_body(_mapping.desired(mapping=entries(('v4', 1.0))))
        assert body['mode'] == 'SINGLE_GENERATION' and body['generation'] == 'v4'
        assert _mapping.from_server({'entries': body['entries']}) == _mapping.from_server(body)

    def test_multi_keeps_current_audit_fields(self):
        current = {'entries': entries(('v1', 1.0)), 'auditRoutingKey': 'rk', 'auditMetadata': {'team': 'a'}}
        body = _mapping.request_body(_mapping.desired(mapping=entries(('v1', 0.5), ('v2', 0.5)), strategy='hash_based'),
                                     current)
        assert body == dict(mode='MULTI_GENERATION', strategy='HASH_BASED', entries=entries(('v1', 0.5), ('v2', 0.5)),
                            auditRoutingKey='rk', auditMetadata={'team': 'a'})

    def test_user_audit_key_replaces_or_removes(self):
        current = {'mode': 'SINGLE_GENERATION', 'generation': 'v1', 'auditRoutingKey': 'rk'}
        wanted = _mapping.desired(generation='v1', audit_routing_key='new')
        assert _mapping.request_body(wanted, current, keep_audit_key=False)['auditRoutingKey'] == 'new'
        removed = _mapping.request_body(_mapping.desired(generation='v1', audit_routing_key=''), current, keep_audit_key=False)
        assert 'auditRoutingKey' not in removed

    def test_prediction_matches_what_the_node_reads_back(self):
        current_raw = {'mode': 'SINGLE_GENERATION', 'generation': 'v1', 'auditRoutingKey': 'rk'}
        wanted = _mapping.desired(mapping=entries(('v1', 0.9), ('v2', 0.1)))
        body = _mapping.request_body(wanted, current_raw)
        predicted = _mapping.predicted(wanted, _mapping.from_server(current_raw))
        assert predicted == _mapping.from_server(body)


def test_short_mapping_is_one_text_for_one_mapping_whatever_the_order_of_its_entries():
    # The one short form of the reports (deploy_report's from -> to, fleet_status's rows and titles).
    from ansible_collections.dss.apinode.plugins.module_utils._release import short_mapping
    listed = {'mode': 'MULTI_GENERATION', 'strategy': 'RANDOM',
              'entries': [{'generation': 'v10', 'proba': 0.5}, {'generation': 'v9', 'proba': '0.5'}]}
    assert short_mapping(listed) == 'v9:0.5,v10:0.5 (random)'
    assert short_mapping(dict(listed, entries=list(reversed(listed['entries'])))) == 'v9:0.5,v10:0.5 (random)'
    assert short_mapping({'mode': 'SINGLE_GENERATION', 'generation': 'v2'}, enabled=False) == 'v2 (disabled)'
    assert short_mapping(None) == 'no mapping' and short_mapping(None, enabled=False) == 'disabled'
    assert short_mapping(listed, existed=False) == '-'
