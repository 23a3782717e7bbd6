# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The release plan: one pure function for check mode, drift and apply."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dss.apinode.plugins.module_utils import _mapping, _plan
from ansible_collections.dss.apinode.plugins.module_utils._plan import PlanError

NODE_URL = 'http://127.0.0.1:12000'
TAG_V1 = {'generationId': 'v1', 'createdOn': 1700001000000}
TAG_V2 = {'generationId': 'v2', 'createdOn': 1700002000000}


def gen(gid, created, mounted=False, mapped=0.0):
    return dict(generationId=gid, createdOn=created, mounted=mounted, mapped=mapped)


def service(sid='churn', enabled=True, mapping=None, generations=(), **extra):
    state = dict(id=sid, exists=True, enabled=enabled, mapping=mapping, generations=list(generations))
    state.update(extra)
    return state


def single(generation):
    return _mapping.desired(generation=generation)


def node(*services, **extra):
    state = dict(url=NODE_URL, services=list(services), raw_mappings={}, markers={})
    state.update(extra)
    return state


def release(*services, **kwargs):
    return _plan.normalise_release(list(services), kwargs.get('code_envs'), kwargs.get('models'),
                                   kwargs.get('cache_state_dir'))


def item(sid='churn', package='/stage/packages/churn/v2/churn.zip', tag='v2', **options):
    options.update(id=sid, package=package, tag=dict(TAG_V2) if tag == 'v2' else tag)
    return options


def actions(steps):
    return [(s['phase'], s['action'], s.get('service'), s.get('generation') or s.get('path')) for s in steps]


SERVING_V1 = service(mapping=single('v1'), generations=[gen('v1', 1700001000000, mounted=True, mapped=1.0)])
STAGED_V2 = service(mapping=single('v1'), generations=[gen('v1', 1700001000000, mounted=True, mapped=1.0),
                                                       gen('v2', 1700002000000, mounted=True)])
SERVING_V2 = service(mapping=single('v2'), generations=[gen('v1', 1700001000000),
                                                        gen('v2', 1700002000000, mounted=True, mapped=1.0)])


class TestNormalise:
    @pytest.mark.parametrize('services, message', [
        ([item(), item()], 'Service churn is listed twice in the release (services[0] and services[1]).'),
        ([item(), item('fraud')], 'Services churn and fraud are given the same staged package /stage/packages/churn/v2/'
                                  'churn.zip: each service needs its own package path.'),
        ([item(tag=None)], 'Service churn: package /stage/packages/churn/v2/churn.zip is given without its tag'),
        ([item(generation='v3')], 'Service churn: the release expects generation v3 but its package '
                                  '/stage/packages/churn/v2/churn.zip is generation v2 (tag.json generationId).'),
        ([item(mapping=[dict(generation='v1', proba=0.5), dict(generation='v2', proba=0.4)])],
         'Invalid mapping for service churn: the probas must sum to 1, they sum to 0.9.'),
        ([dict(id='churn')], 'Service churn has nothing to serve'),
        ([dict(id='bad/id', generation='v1')], "Invalid service id 'bad/id' for services[0].id"),
        ([dict(id='churn', mapping=[dict(generation='v1', proba=0.5), dict(generation='v2', proba=0.5)],
               smoke_tests=[dict(endpoint='predict', features={})])],
         'The service churn smoke test #0 (predict) needs a generation'),
        ([item(tag={'generationId': 'v2'})], 'Service churn: its tag has no integer createdOn'),
    ])
    def test_one_clear_error(self, services, message):
        with pytest.raises(PlanError) as info:
            release(*services)
        assert message in str(info.value)

    def test_wanted_generation_is_the_package_tag(self):
        got = release(item())['services'][0]
        assert got['target'] == 'v2'
        assert got['wanted'] == single('v2')

    def test_numeric_generation_of_yaml_is_a_string(self):
        got = release(dict(id='churn', generation=7))['services'][0]
        assert got['wanted'] == single('7')

    def test_smoke_test_generation_defaults_to_the_target(self):
        got = release(item(smoke_tests=[dict(endpoint='predict', features={'a': 1}, api_key='k')]))
        assert got['services'][0]['smoke_tests'][0]['generation'] == 'v2'


class TestStageAndActivate:
    def test_new_node_in_phase_order(self):
        plan = _plan.build_plan(release(item(), item('fraud', '/stage/packages/fraud/v2/fraud.zip')), node())
        assert actions(plan.steps) == [
            ('stage', 'create_service', 'churn', None),
            ('stage', 'create_service', 'fraud', None),
            ('stage', 'import_generation', 'churn', 'v2'),
            ('stage', 'import_generation', 'fraud', 'v2'),
            ('stage', 'preload_generation', 'churn', 'v2'),
            ('stage', 'preload_generation', 'fraud', 'v2'),
            ('activate', 'set_mapping', 'churn', None),
            ('activate', 'set_mapping', 'fraud', None),
        ]
        assert plan.drift[0] == 'service churn is missing'
        assert 'service churn serves no generation, the release wants generation v2' in plan.drift
        assert plan.steps[2]['path'] == '/stage/packages/churn/v2/churn.zip'

    def test_node_serving_the_release_has_an_empty_plan(self):
        plan = _plan.build_plan(release(item()), node(SERVING_V2))
        assert plan.steps == [] and plan.drift == [] and plan.staged

    def test_reordered_mapping_is_not_drift(self):
        wanted = [dict(generation='v2', proba=0.1), dict(generation='v1', proba=0.9)]
        on_node = _mapping.from_server({'entries': [dict(generation='v1', proba=0.9), dict(generation='v2', proba=0.1)]})
        current = service(mapping=on_node, generations=[gen('v1', 1700001000000, True, 0.9), gen('v2', 1700002000000, True, 0.1)])
        assert _plan.build_plan(release(item(mapping=wanted)), node(current)).steps == []

    def test_staged_release_waits_only_for_the_switch(self):
        # The switch target comes from the tag alone: nothing of the stage run is needed days later.
        plan = _plan.build_plan(release(item()), node(STAGED_V2))
        assert actions(plan.steps) == [('activate', 'set_mapping', 'churn', None)]
        assert plan.staged and not plan.for_phases(_plan.PHASES['stage'])
        step = plan.for_phases(_plan.PHASES['activate'])[0]
        assert step['body'] == dict(mode='SINGLE_GENERATION', generation='v2', entries=[dict(generation='v2', proba=1.0)])
        assert plan.drift == ['service churn serves generation v1, the release wants generation v2']

    def test_activate_alone_refuses_what_is_not_staged(self):
        plan = _plan.build_plan(release(item()), node(SERVING_V1))
        with pytest.raises(PlanError) as info:
            plan.for_phases(_plan.PHASES['activate'])
        assert 'Service churn cannot be activated before it is staged (service churn: generation v2 is not on the node)' \
            in str(info.value)
        assert len(plan.for_phases(_plan.PHASES['all'])) == 3

    def test_generation_from_another_package_is_refused(self):
        other = service(mapping=single('v1'), generations=[gen('v2', 1600000000000)])
        with pytest.raises(PlanError) as info:
            _plan.build_plan(release(item()), node(other))
        assert ('Service churn: generation v2 on the node comes from another package (created on 1600000000000, the '
                'package on 1700002000000)') in str(info.value)

    def test_mapping_generation_nobody_provides_is_refused(self):
        wanted = [dict(generation='v0', proba=0.5), dict(generation='v2', proba=0.5)]
        with pytest.raises(PlanError) as info:
            _plan.build_plan(release(item(mapping=wanted)), node(SERVING_V1))
        assert 'generation(s) v0 of the release are not on the node (present: v1, v2)' in str(info.value)

    def test_disabled_service_with_same_mapping_is_enabled_by_set_mapping(self):
        current = dict(SERVING_V2, enabled=False, start_aborted_reason='boom')
        raw = {'churn': {'mode': 'SINGLE_GENERATION', 'generation': 'v2', 'auditRoutingKey': 'rk'}}
        plan = _plan.build_plan(release(item()), node(current, raw_mappings=raw))
        assert actions(plan.steps) == [('activate', 'set_mapping', 'churn', None)]
        assert plan.steps[0]['sentence'] == ('service churn is disabled, the release wants it enabled '
                                             '(its start was aborted: boom)')
        assert plan.steps[0]['body']['auditRoutingKey'] == 'rk'

    def test_release_that_keeps_a_service_disabled(self):
        plan = _plan.build_plan(release(item(enabled=False)), node(SERVING_V1))
        # Staged but not preloaded, and never switched: setMapping would enable it.
        assert actions(plan.steps) == [('stage', 'import_generation', 'churn', 'v2'), ('activate', 'disable', 'churn', None)]

    def test_no_preload_when_not_asked(self):
        plan = _plan.build_plan(release(item()), node(), preload=False)
        assert 'preload_generation' not in [s['action'] for s in plan.steps]

    def test_artefacts_are_imported_unless_their_marker_matches(self):
        rel = release(item(), code_envs=[dict(path='/stage/code-envs/ab/py', fingerprint='sha256:aa', language='python')],
                      models=[dict(path='/stage/models/cd/m.zip', fingerprint='sha256:cc')], cache_state_dir='/stage/.m')
        env_marker, env_record = _plan.artefact_marker(rel, rel['code_envs'][0], NODE_URL)
        model_marker, model_record = _plan.artefact_marker(rel, rel['models'][0], NODE_URL)
        assert _plan.marker_paths(rel, NODE_URL) == [env_marker, model_marker]
        assert env_marker.startswith('/stage/.m/py.code_env.')
        plan = _plan.build_plan(rel, node(SERVING_V2, markers={env_marker: env_record,
                                                               model_marker: dict(model_record, fingerprint='sha256:00')}))
        assert actions(plan.steps) == [('stage', 'import_model', None, '/stage/models/cd/m.zip')]
        assert plan.steps[0]['sentence'] == 'model /stage/models/cd/m.zip was imported with other content'
        assert plan.steps[0]['query'] == {'modelArchivePath': '/stage/models/cd/m.zip'}
        plan = _plan.build_plan(rel, node(SERVING_V2))
        assert plan.steps[0]['query'] == {'fileDir': '/stage/code-envs/ab/py', 'language': 'python'}
        assert plan.steps[0]['sentence'] == 'code_env /stage/code-envs/ab/py was never imported'


class TestRetention:
    GENERATIONS = [gen('v%d' % n, 1700000000000 + n, mounted=n == 1, mapped=1.0 if n == 1 else 0.0) for n in range(1, 6)]

    def test_keeps_newest_mapped_wanted_and_previous(self):
        current = service(mapping=single('v1'), generations=self.GENERATIONS)
        previous = [dict(id='churn', existed=True, enabled=True, mapping=single('v2'))]
        plan = _plan.build_plan(release(dict(id='churn', generation='v3')), node(current), keep_generations=1,
                                previous=previous)
        deleted = [s['generation'] for s in plan.for_phases(_plan.PHASES['retain'])]
        # v5 newest, v1 mapped, v3 wanted, v2 a rollback target.
        assert deleted == ['v4']
        assert 'service churn: generation v4 is beyond retention (keep 1) and would be deleted' in plan.drift

    def test_the_imported_generation_counts_among_the_newest(self):
        current = service(mapping=single('v1'), generations=[gen('v0', 1600000000000), gen('v1', 1700001000000, True, 1.0)])
        plan = _plan.build_plan(release(item()), node(current), keep_generations=1)
        assert [s['generation'] for s in plan.for_phases(('retain',))] == ['v0']

    def test_none_means_no_retention(self):
        current = service(mapping=single('v1'), generations=self.GENERATIONS)
        assert _plan.build_plan(release(dict(id='churn', generation='v1')), node(current), keep_generations=None).steps == []


class TestPreviousAndRollback:
    def test_capture_previous(self):
        rel = release(item(), item('fraud', '/stage/fraud.zip'))
        assert _plan.capture_previous(rel, node(SERVING_V1)) == [
            dict(id='churn', existed=True, enabled=True, mapping=single('v1')),
            dict(id='fraud', existed=False, enabled=False, mapping=None),
        ]

    def test_rollback_restores_exactly(self):
        previous = _plan.normalise_previous([dict(id='churn', existed=True, enabled=True,
                                                  mapping={'mode': 'SINGLE_GENERATION', 'generation': 'v1'})])
        steps = _plan.build_plan(release(), node(SERVING_V2), previous=previous).for_phases(('rollback',))
        assert actions(steps) == [('rollback', 'set_mapping', 'churn', None)]
        assert steps[0]['mapping'] == single('v1')
        assert steps[0]['sentence'] == 'service churn goes back from generation v2 to generation v1'
        # Rolled back already: nothing left to do.
        assert _plan.build_plan(release(), node(SERVING_V1), previous=previous).for_phases(('rollback',)) == []

    def test_rollback_of_a_new_service_disables_it(self):
        previous = _plan.normalise_previous([dict(id='churn', existed=False, enabled=False, mapping=None)])
        steps = _plan.build_plan(release(), node(SERVING_V2), previous=previous).for_phases(('rollback',))
        assert actions(steps) == [('rollback', 'disable', 'churn', None)]

    def test_rollback_to_a_disabled_service_with_another_mapping(self):
        previous = _plan.normalise_previous([dict(id='churn', enabled=False, mapping=single('v1'))])
        steps = _plan.build_plan(release(), node(SERVING_V2), previous=previous).for_phases(('rollback',))
        assert [s['action'] for s in steps] == ['set_mapping', 'disable']

    def test_rollback_target_deleted_fails_only_the_rollback(self):
        previous = _plan.normalise_previous([dict(id='churn', enabled=True, mapping=single('v0'))])
        plan = _plan.build_plan(release(item()), node(SERVING_V2), previous=previous)
        assert plan.for_phases(('retain',)) == []
        with pytest.raises(PlanError) as info:
            plan.for_phases(('rollback',))
        assert 'Service churn cannot be rolled back to generation v0: generation(s) v0 are not on the node any more.' \
            == str(info.value)


class TestDiffView:
    def test_predicted_after(self):
        plan = _plan.build_plan(release(item()), node(SERVING_V1), keep_generations=0)
        before = _plan.view([SERVING_V1])
        after = _plan.predict_view(before, plan.steps)
        assert before == {'churn': dict(enabled=True, mapping=single('v1'), generations=['v1'])}
        # v1 stays: it was the mapping before the switch, the rollback target.
        assert after == {'churn': dict(enabled=True, mapping=single('v2'), generations=['v1', 'v2'])}


class TestJudgeSmoke:
    TEST = dict(endpoint='predict', features={}, generation='v2')

    def answer(self, generation, prediction='yes'):
        return {'result': {'prediction': prediction}, 'apiContext': {'serviceGeneration': generation}}

    def test_pass(self):
        verdict = _plan.judge_smoke(dict(self.TEST, expected_prediction='yes'), 200, self.answer('v2'), 'v2')
        assert verdict == dict(status=200, served_generation='v2', prediction='yes', passed=True, message='ok')

    @pytest.mark.parametrize('status, body, expected, message', [
        (400, {'message': 'Service churn is not active'}, None, 'HTTP 400: Service churn is not active'),
        (None, {'message': 'Cannot reach the API node'}, None, 'HTTP error: Cannot reach the API node'),
        (200, {'apiContext': {'serviceGeneration': 'v1'}}, None, 'answered by generation v1, not v2'),
        (200, {'result': {'prediction': 'no'}, 'apiContext': {'serviceGeneration': 'v2'}}, 'yes', "predicted 'no', expected 'yes'"),
        (200, 'not json', None, 'answered by generation None, not v2'),
    ])
    def test_fail(self, status, body, expected, message):
        test = dict(self.TEST, expected_prediction=expected) if expected else self.TEST
        verdict = _plan.judge_smoke(test, status, body, 'v2')
        assert verdict['passed'] is False
        assert verdict['message'] == message
