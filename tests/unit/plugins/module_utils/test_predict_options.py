# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The query options declared once for apinode_predict and the smoke tests of apinode_release, the mapping options
declared once for apinode_service and apinode_release, and the verdict on a forced generation that is not loaded."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dss.apinode.plugins.module_utils import _mapping, _predict
from ansible_collections.dss.apinode.plugins.modules import apinode_predict, apinode_release

NOT_LOADED = {'errorType': 'java.lang.IllegalArgumentException', 'message': 'Invalid selected generation: v9'}


def smoke_test_options():
    return apinode_release.ARGUMENT_SPEC['services']['options']['smoke_tests']['options']


def test_both_modules_take_the_shared_query_options():
    for spec in (apinode_predict.ARGUMENT_SPEC, smoke_test_options()):
        assert dict((k, spec[k]) for k in _predict.QUERY_ARGUMENT_SPEC) == _predict.QUERY_ARGUMENT_SPEC
    # Only the service and the credentials differ: the admin connection already owns the name api_key there.
    assert set(apinode_predict.ARGUMENT_SPEC) - set(_predict.QUERY_ARGUMENT_SPEC) == {
        'service', 'user_api_key', 'bearer_token'}
    assert set(smoke_test_options()) - set(_predict.QUERY_ARGUMENT_SPEC) == {'api_key'}
    assert smoke_test_options()['api_key']['no_log'] is True


def test_the_options_match_what_the_verdict_knows():
    spec = _predict.QUERY_ARGUMENT_SPEC
    assert spec['type']['choices'] == list(_predict.ENDPOINT_TYPES) and spec['type']['default'] == _predict.DEFAULT_TYPE
    assert spec['expected_status']['default'] == list(_predict.DEFAULT_STATUS)
    assert set(_predict.INPUT_OPTIONS) <= set(spec)


def test_a_module_gets_a_copy():
    spec = _predict.query_argument_spec(extra=dict(type='str'))
    spec['expected_status']['default'].append(422)
    assert 'extra' not in _predict.QUERY_ARGUMENT_SPEC
    assert _predict.QUERY_ARGUMENT_SPEC['expected_status']['default'] == [200]
    mapping = _mapping.mapping_argument_spec()
    mapping['strategy']['choices'].append('other')
    assert _mapping.MAPPING_ARGUMENT_SPEC['strategy']['choices'] == ['random', 'hash_based']


def test_a_release_service_takes_the_mapping_options():
    service = apinode_release.ARGUMENT_SPEC['services']['options']
    assert dict((k, service[k]) for k in _mapping.MAPPING_ARGUMENT_SPEC) == _mapping.MAPPING_ARGUMENT_SPEC


@pytest.mark.parametrize('expected_status, shown', [
    (None, 'HTTP 400: Invalid selected generation: v9'),
    ([422], 'HTTP 400, expected HTTP 422: Invalid selected generation: v9'),
])
def test_a_forced_generation_that_is_not_loaded_is_named(expected_status, shown):
    query = dict(endpoint='predict', features={}, generation='v9', expected_status=expected_status)
    verdict = _predict.judge(query, 400, NOT_LOADED)
    assert not verdict['passed']
    assert verdict['message'] == ('generation v9 is not loaded on the node (a forced generation must be in the mapping '
                                  'or preloaded): ' + shown)


def test_the_same_answer_without_a_forced_generation_is_shown_as_it_came():
    verdict = _predict.judge(dict(endpoint='predict', features={}, dispatch_key='k'), 400, NOT_LOADED)
    assert verdict['message'] == 'HTTP 400: Invalid selected generation: v9'


def test_a_forced_generation_the_test_expects_to_be_refused_passes():
    verdict = _predict.judge(dict(endpoint='predict', features={}, generation='v9', expected_status=[400],
                                  expect={'message': 'Invalid selected generation: v9'}), 400, NOT_LOADED)
    assert verdict['passed'], verdict['message']
