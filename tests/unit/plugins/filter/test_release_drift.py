# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""release_drift: one sentence per difference between an apinode_info read and a release."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.dss.apinode.plugins.filter.release_drift import FilterModule
from ansible_collections.dss.apinode.plugins.module_utils import _mapping

release_drift = FilterModule().filters()['release_drift']

TAG_V3 = {'generationId': 'v3', 'createdOn': 3000, 'createdWithDSSVersion': '13.2.0', 'createdWithDSSConfVersion': '13200'}
ENV_PATH = '/srv/staging/py311-fraud'
ENV_PRINT = 'sha256:' + 'a' * 64


def generation(gen_id, created_on, mounted=True, mapped=0.0):
    return {'generationId': gen_id, 'createdOn': created_on, 'createdWithDSSVersion': '13.2.0',
            'createdWithDSSConfVersion': '13200', 'mounted': mounted, 'mapped': mapped}


def current_node():
    """A node that serves RELEASE: v3 preloaded and mapped, two older generations (within retention)."""
    return {
        'changed': False,
        'services': [{
            'id': 'fraud', 'exists': True, 'enabled': True,
            'mapping': _mapping.from_server({'mode': 'SINGLE_GENERATION', 'generation': 'v3'}),
            'generations': [generation('v1', 1000), generation('v2', 2000), generation('v3', 3000, mapped=1.0)],
        }],
        'cache_imports': [{'kind': 'code_env', 'path': ENV_PATH, 'fingerprint': ENV_PRINT,
                           'options': {}, 'recorded_on': 1700000000000}],
    }


def release():
    return {'services': [{'id': 'fraud', 'tag': dict(TAG_V3)}],
            'artefacts': [{'kind': 'code_env', 'path': ENV_PATH, 'fingerprint': ENV_PRINT}]}


def service(info):
    return info['services'][0]


def test_a_node_that_serves_the_release_has_no_drift():
    assert release_drift(current_node(), release()) == []


def test_the_inputs_are_not_changed():
    info, wanted = current_node(), release()
    info_before, wanted_before = copy.deepcopy(info), copy.deepcopy(wanted)
    release_drift(info, wanted)
    assert (info, wanted) == (info_before, wanted_before)


@pytest.mark.parametrize('absent', ['listed as not existing', 'left out'])
def test_missing_service(absent):
    info = current_node()
    if absent == 'left out':
        info['services'] = []
    else:
        info['services'] = [{'id': 'fraud', 'exists': False}]
    assert release_drift(info, release()) == ['service fraud is missing']


def test_target_generation_not_on_the_node():
    info = current_node()
    wanted = release()
    wanted['services'][0]['tag'] = dict(TAG_V3, generationId='v4', createdOn=4000)
    drift = release_drift(info, wanted, keep_generations=None)
    assert 'service fraud: generation v4 is not on the node' in drift
    assert 'service fraud serves generation v3, the release wants generation v4' in drift
    assert len(drift) == 2


def test_generation_from_another_package():
    info = current_node()
    wanted = release()
    wanted['services'][0]['tag']['createdOn'] = 3999
    drift = release_drift(info, wanted)
    assert len(drift) == 1
    assert 'generation v3 on the node comes from another package' in drift[0]
    assert '3000' in drift[0] and '3999' in drift[0]


def test_not_preloaded_only_when_preload_is_asked():
    info = current_node()
    service(info)['generations'][2]['mounted'] = False
    assert release_drift(info, release()) == ['service fraud: generation v3 is not preloaded']
    assert release_drift(info, release(), preload=False) == []


@pytest.mark.parametrize('on_node, wanted, sentence', [
    (False, None, 'service fraud is disabled, the release wants it enabled'),
    (True, False, 'service fraud is enabled, the release wants it disabled'),
])
def test_enabled_flag(on_node, wanted, sentence):
    info = current_node()
    service(info)['enabled'] = on_node
    rel = release()
    if wanted is not None:
        rel['services'][0]['enabled'] = wanted
    assert release_drift(info, rel) == [sentence]


def test_active_generation_differs():
    info = current_node()
    service(info)['mapping'] = _mapping.from_server({'mode': 'SINGLE_GENERATION', 'generation': 'v2'})
    service(info)['generations'][1]['mapped'] = 1.0
    service(info)['generations'][2]['mapped'] = 0.0
    assert release_drift(info, release()) == ['service fraud serves generation v2, the release wants generation v3']


def test_no_mapping_on_the_node():
    info = current_node()
    service(info)['mapping'] = None
    assert release_drift(info, release()) == ['service fraud serves no generation, the release wants generation v3']


def canary_node(strategy='RANDOM'):
    info = current_node()
    service(info)['mapping'] = _mapping.from_server({
        'mode': 'MULTI_GENERATION', 'strategy': strategy,
        'entries': [{'generation': 'v2', 'proba': 0.9}, {'generation': 'v3', 'proba': 0.1}]})
    service(info)['generations'][1]['mapped'] = 0.9
    service(info)['generations'][2]['mapped'] = 0.1
    return info


def canary_release(strategy=None, entries=(('v3', 0.1), ('v2', 0.9))):
    rel = release()
    rel['services'][0]['mapping'] = [{'generation': g, 'proba': p} for g, p in entries]
    if strategy:
        rel['services'][0]['strategy'] = strategy
    return rel


def test_wanted_mapping_served_in_any_order():
    assert release_drift(canary_node(), canary_release()) == []
    assert release_drift(canary_node('HASH_BASED'), canary_release('hash_based')) == []


def test_wanted_mapping_differs():
    drift = release_drift(canary_node(), canary_release(entries=(('v3', 0.5), ('v2', 0.5))))
    assert drift == ['service fraud serves the mapping v2 90%, v3 10% (random), '
                     'the release wants the mapping v3 50%, v2 50% (random)']


def test_wanted_strategy_differs():
    drift = release_drift(canary_node(), canary_release('hash_based'))
    assert len(drift) == 1 and drift[0].endswith('(hash_based)')


def test_every_generation_of_the_wanted_mapping_must_be_on_the_node():
    drift = release_drift(canary_node(), canary_release(entries=(('v3', 0.1), ('v9', 0.9))))
    assert 'service fraud: generation v9 of the wanted mapping is not on the node' in drift
    assert len(drift) == 2  # and the mapping differs


def test_expected_generation_differs_from_the_package():
    rel = release()
    rel['services'][0]['generation'] = 'v4'
    assert release_drift(current_node(), rel) == [
        'service fraud: the release expects generation v4 but its package is generation v3']
    rel['services'][0]['generation'] = 'v3'
    assert release_drift(current_node(), rel) == []


def test_artefact_never_imported():
    info = current_node()
    info['cache_imports'] = []
    assert release_drift(info, release()) == ['code_env %s was never imported' % ENV_PATH]


def test_artefact_of_another_kind_at_the_same_path_is_not_the_import():
    info = current_node()
    info['cache_imports'][0]['kind'] = 'built_code_env'
    assert release_drift(info, release()) == ['code_env %s was never imported' % ENV_PATH]


def test_artefact_imported_with_other_content():
    info = current_node()
    info['cache_imports'][0]['fingerprint'] = 'sha256:' + 'b' * 64
    assert release_drift(info, release()) == ['code_env %s was imported with other content' % ENV_PATH]


def test_artefact_path_spelling_does_not_matter():
    rel = release()
    rel['artefacts'][0]['path'] = ENV_PATH + '/'
    assert release_drift(current_node(), rel) == []


def with_old_generations(info, count):
    gens = service(info)['generations']
    gens[:0] = [generation('old%d' % i, 100 + i) for i in range(count)]
    return info


def test_generations_beyond_retention_are_named_newest_first():
    info = with_old_generations(current_node(), 2)
    assert release_drift(info, release()) == [
        'service fraud: generations old1, old0 are beyond retention (keep 3) and would be deleted']
    assert release_drift(info, release(), keep_generations=5) == []
    assert release_drift(info, release(), keep_generations=None) == []


def test_one_generation_beyond_retention():
    info = current_node()
    assert release_drift(info, release(), keep_generations=2) == [
        'service fraud: generation v1 is beyond retention (keep 2) and would be deleted']


def test_retention_keeps_mapped_and_current_mapping_generations():
    info = with_old_generations(canary_node(), 1)
    # v2 and v3 are mapped; with keep 1 only v3 is among the newest, v2 stays because it is mapped.
    service(info)['generations'][2]['mapped'] = 0.0  # the node says unmapped, its mapping still holds v2
    assert release_drift(info, canary_release(), keep_generations=1) == [
        'service fraud: generations v1, old0 are beyond retention (keep 1) and would be deleted']
    assert release_drift(info, canary_release(), keep_generations=0) == [
        'service fraud: generations v1, old0 are beyond retention (keep 0) and would be deleted']


def test_retention_keeps_a_mapped_generation_outside_the_mapping():
    info = current_node()
    service(info)['generations'][0]['mapped'] = 0.5
    assert release_drift(info, release(), keep_generations=1) == [
        'service fraud: generation v2 is beyond retention (keep 1) and would be deleted']


def test_release_without_artefacts_needs_no_cache_imports():
    info = current_node()
    del info['cache_imports']
    rel = release()
    del rel['artefacts']
    assert release_drift(info, rel) == []


def test_several_differences_are_all_reported():
    info = with_old_generations(current_node(), 1)
    service(info)['enabled'] = False
    info['cache_imports'] = []
    rel = release()
    rel['services'][0]['tag'] = dict(TAG_V3, generationId='v4', createdOn=4000)
    rel['services'].append({'id': 'churn', 'tag': {'generationId': 'c1', 'createdOn': 1}})
    assert release_drift(info, rel, keep_generations=2) == [
        'service fraud: generation v4 is not on the node',
        'service fraud is disabled, the release wants it enabled',
        'service fraud serves generation v3, the release wants generation v4',
        'service fraud: generations v1, old0 are beyond retention (keep 2) and would be deleted',
        'service churn is missing',
        'code_env %s was never imported' % ENV_PATH,
    ]


@pytest.mark.parametrize('info, release_value, message', [
    (['not', 'a', 'dict'], release(), 'apinode_info (a dict), got list'),
    ({'changed': False, 'node': {}}, release(), 'no services list: read it with gather including services'),
    ({'failed': True, 'msg': 'Cannot connect'}, release(), 'is a failure: Cannot connect'),
    (current_node(), 'fraud', 'release as a dict'),
    (current_node(), {'services': {'id': 'fraud'}}, "services must be a list, got dict"),
    (current_node(), {'services': [{'tag': TAG_V3}]}, 'release service #0 must be a dict with an id'),
    (current_node(), {'services': [{'id': 'fraud'}]}, 'release service fraud has no tag with a generationId'),
    (current_node(), {'services': [{'id': 'fraud', 'tag': TAG_V3, 'mapping': [{'generation': 'v3'}]}]},
     'mapping of release service fraud must be a list of {generation, proba}'),
    (current_node(), {'artefacts': [{'kind': 'code_env', 'path': ENV_PATH}]},
     'release artefact #0 must be a dict with kind, path and fingerprint'),
    (current_node(), {'artefacts': [{'kind': 'plugin', 'path': ENV_PATH, 'fingerprint': ENV_PRINT}]},
     "has kind 'plugin', expected one of code_env, built_code_env, model"),
    ({'services': [{'id': 'fraud', 'exists': True, 'enabled': True, 'mapping': None}]}, release(),
     'service fraud of the dss.apinode.apinode_info result has no generations list'),
    ({'services': []}, release(), 'no cache_imports list: read it with gather including cache_imports'),
])
def test_malformed_input_is_a_clear_filter_error(info, release_value, message):
    with pytest.raises(AnsibleFilterError, match='release_drift') as caught:
        release_drift(info, release_value)
    assert message in str(caught.value)


@pytest.mark.parametrize('keep', [-1, 'three', True])
def test_bad_keep_generations(keep):
    with pytest.raises(AnsibleFilterError, match='keep_generations must be a non-negative integer'):
        release_drift(current_node(), release(), keep_generations=keep)


def test_retention_keeps_the_wanted_mapping():
    # After the deployment v1 serves half of the traffic again: the role would not delete it.
    rel = canary_release(entries=(('v1', 0.5), ('v3', 0.5)))
    drift = release_drift(current_node(), rel, keep_generations=1)
    assert drift == ['service fraud serves generation v3, the release wants the mapping v1 50%, v3 50% (random)',
                     'service fraud: generation v2 is beyond retention (keep 1) and would be deleted']


def test_numeric_generation_ids_compare_as_the_node_s_strings():
    node = current_node()
    tag = dict(TAG_V3, generationId='7')
    service(node)['generations'].append(generation('7', 3000, mapped=0.0))
    service(node)['generations'] = [g for g in service(node)['generations'] if g['generationId'] != 'v3']
    service(node)['mapping'] = _mapping.from_server({'mode': 'SINGLE_GENERATION', 'generation': '7'})
    rel = release()
    rel['services'][0].update(tag=tag, generation=7)
    assert release_drift(node, rel) == []
    rel['services'][0]['mapping'] = [{'generation': 7, 'proba': 1.0}]
    assert release_drift(node, rel) == []
