# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""apinode_release against a scripted HTTP exchange: each test lists the requests the module must send,
in order, with the node's answers (normal, idempotent, check mode, check mode idempotent, per phase)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import zipfile

import pytest

from ansible_collections.dss.apinode.plugins.module_utils import _fingerprint
from ansible_collections.dss.apinode.tests.unit.plugins.modules.scripted_node import URL, Call, runner

USER_KEY = 'userKey-Sm0ke'
TAG_V2 = {'generationId': 'v2', 'createdOn': 1700002000000}


@pytest.fixture
def run(monkeypatch, capsys):
    return runner(monkeypatch, capsys, 'apinode_release', secrets=(USER_KEY,), defaults=dict(smoke_delay=0))


@pytest.fixture
def package(tmp_path):
    """A staged package at its staging path on the node, with the tag of TAG_V2 unless told otherwise."""
    def make(tag=None, service='churn'):
        tag = tag or TAG_V2
        path = tmp_path / 'staging' / 'packages' / service / tag['generationId'] / 'v2.zip'
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(str(path), 'w') as archive:
            archive.writestr('tag.json', json.dumps(tag))
        return str(path)
    return make


# --- node answers --------------------------------------------------------------------------------

def gen(gid, created, mounted=False, mapped=0.0):
    return dict(generationId=gid, createdOn=created, createdWithDSSVersion='13.2.0', mounted=mounted, mapped=mapped)


V1 = gen('v1', 1700001000000, mounted=True, mapped=1.0)
SINGLE_V1 = {'mode': 'SINGLE_GENERATION', 'generation': 'v1'}
SINGLE_V2 = {'mode': 'SINGLE_GENERATION', 'generation': 'v2'}
SET_V2 = dict(mode='SINGLE_GENERATION', generation='v2', entries=[dict(generation='v2', proba=1.0)])


def services(*items):
    return Call('GET', 'services', answer=list(items))


def generations(service_id, *items):
    return Call('GET', 'services/%s/generations' % service_id, answer={'generations': list(items)})


def summary(enabled=True, mapping=None, sid='churn'):
    item = dict(serviceId=sid, enabled=enabled)
    if mapping:
        item['activeMapping'] = mapping
    return item


def read(mapping, *gens, **kwargs):
    """The one read of a node whose churn service serves ``mapping``."""
    return [services(summary(mapping=mapping, **kwargs)), generations('churn', *gens)]


def ok(method, path, **kwargs):
    return Call(method, path, answer={'ok': True}, **kwargs)


def churn(package=None, **options):
    options.update(id='churn')
    if package:
        options.update(package=package, tag=TAG_V2)
    return options


SMOKE = dict(endpoint='score', features={'tenure': 3}, api_key=USER_KEY, expected_prediction='stay')


def predict(generation='v2', status=200, served='v2', prediction='stay'):
    answer = {'result': {'prediction': prediction}, 'apiContext': {'serviceId': 'churn', 'serviceGeneration': served}}
    if status != 200:
        answer = {'message': 'Service churn is not active'}
    return Call('POST', '/public/api/v1/churn/score/predict', status=status, answer=answer,
                body={'features': {'tenure': 3}, 'dispatch': {'forcedGeneration': generation}})


# --- stage ------------------------------------------------------------------------------------------

class TestStage:
    def test_stage(self, run, package):
        staged = package()
        failed, result, exchange = run(dict(phase='stage', services=[churn(staged)]), [
            services(),
            ok('POST', 'services/', body={'serviceId': 'churn'}),
            ok('POST', 'services/churn/generations/actions/importFromArchive', body=None, query={'filePath': staged}),
            ok('POST', 'services/churn/generations/v2/preload', body=None),
        ] + read(None, gen('v2', 1700002000000, mounted=True), enabled=False))
        assert not failed and result['changed'] is True
        assert [s['action'] for s in result['plan']] == ['create_service', 'import_generation', 'preload_generation']
        assert result['previous'] == [dict(id='churn', existed=False, enabled=False, mapping=None)]
        # drift, current and staged describe the node as this call found it.
        assert result['staged'] is False and result['current'] is False
        assert result['services'][0]['generations'][0]['generationId'] == 'v2'
        assert result['api_calls'] == 6
        assert set(result['durations']) == {'stage'}

    def test_stage_idempotent(self, run, package):
        failed, result, _exchange = run(dict(phase='stage', services=[churn(package())]),
                                        read(SINGLE_V1, V1, gen('v2', 1700002000000, mounted=True)))
        assert not failed and result['changed'] is False and result['plan'] == []
        # Staged, not serving yet: the switch is the drift left.
        assert result['staged'] is True and result['current'] is False
        assert result['drift'] == ['service churn serves generation v1, the release wants generation v2']
        assert result['api_calls'] == 2

    def test_stage_check_mode(self, run, package):
        failed, result, exchange = run(dict(phase='stage', services=[churn(package())]), read(SINGLE_V1, V1),
                                       check_mode=True, diff=True)
        assert not failed and result['changed'] is True
        assert [s['action'] for s in result['plan']] == ['import_generation', 'preload_generation']
        assert [r['method'] for r in exchange.requests] == ['GET', 'GET']
        assert result['diff']['after']['churn']['generations'] == ['v1', 'v2']
        assert result['diff']['after']['churn']['mapping'] == result['diff']['before']['churn']['mapping']
        assert result['durations'] == {}  # nothing applied

    def test_stage_check_mode_idempotent(self, run, package):
        failed, result, _exchange = run(dict(phase='stage', services=[churn(package())]),
                                        read(SINGLE_V1, V1, gen('v2', 1700002000000, mounted=True)), check_mode=True)
        assert not failed and result['changed'] is False

    def test_check_mode_needs_no_staged_file(self, run, tmp_path):
        missing = str(tmp_path / 'not-copied-in-check-mode.zip')
        failed, result, _exchange = run(dict(phase='stage', services=[churn(missing)]), [services()], check_mode=True)
        assert not failed and result['changed'] is True

    def test_artefacts_share_the_markers_of_apinode_cache(self, run, tmp_path):
        env = tmp_path / 'staging' / 'code-envs' / 'ab' / 'py-env'
        env.mkdir(parents=True)
        state_dir = str(tmp_path / 'staging' / '.apinode-cache')
        args = dict(phase='stage', cache_state_dir=state_dir, services=[churn(generation='v1')],
                    code_envs=[dict(path=str(env), fingerprint='sha256:' + 'a' * 64, language='R')])
        failed, result, _exchange = run(args, read(SINGLE_V1, V1) + [
            ok('POST', 'cached-code-envs', body=None, query={'fileDir': str(env), 'language': 'R'})] + read(SINGLE_V1, V1))
        assert not failed and result['changed'] is True
        marker = _fingerprint.marker_path(state_dir, 'code_env', str(env), URL)
        record = _fingerprint.read_marker(marker)
        assert (record['kind'], record['path'], record['node'], record['query']) == ('code_env', str(env), URL, {'language': 'R'})
        # The same marker makes the next run a read only.
        failed, result, _exchange = run(args, read(SINGLE_V1, V1))
        assert not failed and result['changed'] is False and result['current'] is True


# --- activate -----------------------------------------------------------------------------------

STAGED = (V1, gen('v2', 1700002000000, mounted=True))
SERVING = (gen('v1', 1700001000000), gen('v2', 1700002000000, mounted=True, mapped=1.0))


class TestActivate:
    def test_activate_with_smoke_test(self, run, package):
        # No generation given: the target is the tag's, with nothing remembered from the stage run.
        failed, result, exchange = run(dict(phase='activate', services=[churn(package(), smoke_tests=[SMOKE])]),
                                       read(SINGLE_V1, *STAGED) + [
                                           ok('POST', 'services/churn/actions/setMapping', body=SET_V2),
                                           predict()] + read(SINGLE_V2, *SERVING))
        assert not failed and result['changed'] is True
        assert result['previous'] == [dict(id='churn', existed=True, enabled=True, mapping=dict(
            SINGLE_V1, entries=[dict(generation='v1', proba=1.0)], strategy='random'))]
        assert result['smoke_tests'] == [dict(service='churn', endpoint='score', generation='v2', status=200,
                                              served_generation='v2', prediction='stay', passed=True, message='ok')]
        smoke = exchange.requests[3]
        assert smoke['headers']['Authorization'] != exchange.requests[0]['headers']['Authorization']
        assert result['services'][0]['mapping']['generation'] == 'v2'
        assert set(result['durations']) == {'activate'}  # the switch and its smoke test

    def test_activate_idempotent(self, run, package):
        # Nothing to switch: no admin write, but the activate phase still proves the node serves the release.
        failed, result, exchange = run(dict(phase='activate', services=[churn(package(), smoke_tests=[SMOKE])]),
                                       read(SINGLE_V2, *SERVING) + [predict()])
        assert not failed and result['changed'] is False and result['current'] is True
        assert [t['passed'] for t in result['smoke_tests']] == [True]
        assert [r['method'] for r in exchange.requests if not r['path'].startswith('/public/')] == ['GET', 'GET']

    def test_activate_check_mode(self, run, package):
        failed, result, exchange = run(dict(phase='activate', services=[churn(package(), smoke_tests=[SMOKE])]),
                                       read(SINGLE_V1, *STAGED), check_mode=True, diff=True)
        assert not failed and result['changed'] is True
        assert [(s['action'], s['body']) for s in result['plan']] == [('set_mapping', SET_V2)]
        assert result['diff']['after']['churn']['mapping']['generation'] == 'v2'
        assert len(exchange.requests) == 2

    def test_activate_check_mode_idempotent(self, run, package):
        failed, result, _exchange = run(dict(phase='activate', services=[churn(package())]), read(SINGLE_V2, *SERVING),
                                        check_mode=True)
        assert not failed and result['changed'] is False

    def test_reordered_mapping_is_current(self, run):
        on_node = {'mode': 'MULTI_GENERATION', 'strategy': 'RANDOM',
                   'entries': [dict(generation='v1', proba=0.9), dict(generation='v2', proba=0.1)]}
        mapping = [dict(generation='v2', proba=0.1), dict(generation='v1', proba=0.9)]
        failed, result, _exchange = run(dict(services=[churn(mapping=mapping)]),
                                        read(on_node, gen('v1', 1, True, 0.9), gen('v2', 2, True, 0.1)), check_mode=True)
        assert not failed and result['drift'] == [] and result['changed'] is False

    def test_smoke_test_failure_carries_what_rollback_needs(self, run, package, tmp_path):
        lock = dict(path=str(tmp_path / 'staging' / '.deploy.lock'), owner='run-1', holder='alice', release=True)
        failed, result, _exchange = run(dict(phase='activate', lock=lock, smoke_retries=1,
                                             services=[churn(package(), smoke_tests=[SMOKE])]),
                                        read(SINGLE_V1, *STAGED) + [
                                            ok('POST', 'services/churn/actions/setMapping', body=SET_V2),
                                            predict(status=400), predict(served='v1')])
        assert failed
        assert result['msg'] == ('Smoke test failed: service churn endpoint score (generation v2): answered by '
                                 'generation v1, not v2.')
        assert result['previous'][0]['mapping']['generation'] == 'v1'
        assert [s['action'] for s in result['plan']] == ['set_mapping']
        assert result['smoke_tests'][0]['passed'] is False
        assert result['lock'] == dict(path=lock['path'], taken=True, released=True)
        assert not os.path.exists(lock['path'])


# --- retain and rollback ----------------------------------------------------------------------------

OLD = [gen('v%d' % n, 1700000000000 + n) for n in range(1, 5)] + [gen('v5', 1700000000005, True, 1.0)]


class TestRetain:
    def test_retain(self, run):
        failed, result, _exchange = run(dict(phase='retain', keep_generations=2, services=[churn(generation='v5')]),
                                        read({'mode': 'SINGLE_GENERATION', 'generation': 'v5'}, *OLD) + [
                                            ok('DELETE', 'services/churn/generations/v3'),
                                            ok('DELETE', 'services/churn/generations/v2'),
                                            ok('DELETE', 'services/churn/generations/v1')]
                                        + read({'mode': 'SINGLE_GENERATION', 'generation': 'v5'}, *OLD[3:]))
        # Kept: v5 (newest, mapped) and v4 (newest); deleted newest first.
        assert not failed and result['changed'] is True
        assert [g['generationId'] for g in result['services'][0]['generations']] == ['v4', 'v5']
        assert set(result['durations']) == {'retain'}

    def test_retain_keeps_previous(self, run):
        previous = [dict(id='churn', existed=True, enabled=True, mapping=SINGLE_V1)]
        failed, result, _exchange = run(dict(phase='retain', keep_generations=1, previous=previous,
                                             services=[churn(generation='v5')]),
                                        read({'mode': 'SINGLE_GENERATION', 'generation': 'v5'}, OLD[0], OLD[4]))
        assert not failed and result['changed'] is False

    def test_retain_check_mode(self, run):
        failed, result, _exchange = run(dict(phase='retain', keep_generations=4, services=[churn(generation='v5')]),
                                        read({'mode': 'SINGLE_GENERATION', 'generation': 'v5'}, *OLD), check_mode=True)
        assert not failed and result['changed'] is True
        assert result['drift'] == ['service churn: generation v1 is beyond retention (keep 4) and would be deleted']


class TestRollback:
    PREVIOUS = [dict(id='churn', existed=True, enabled=True, mapping=dict(SINGLE_V1, entries=[dict(generation='v1', proba=1.0)]))]

    def test_rollback(self, run):
        failed, result, _exchange = run(dict(phase='rollback', previous=self.PREVIOUS), read(SINGLE_V2, *SERVING) + [
            ok('POST', 'services/churn/actions/setMapping',
               body=dict(mode='SINGLE_GENERATION', generation='v1', entries=[dict(generation='v1', proba=1.0)]))]
            + read(SINGLE_V1, gen('v1', 1700001000000, True, 1.0), SERVING[1]))
        assert not failed and result['changed'] is True and result['services'][0]['mapping']['generation'] == 'v1'

    def test_rollback_idempotent(self, run):
        failed, result, _exchange = run(dict(phase='rollback', previous=self.PREVIOUS), read(SINGLE_V1, *STAGED))
        assert not failed and result['changed'] is False

    def test_rollback_check_mode(self, run):
        failed, result, _exchange = run(dict(phase='rollback', previous=self.PREVIOUS), read(SINGLE_V2, *SERVING), check_mode=True)
        assert not failed and result['changed'] is True and result['plan'][0]['phase'] == 'rollback'

    def test_rollback_needs_previous(self, run):
        failed, result, exchange = run(dict(phase='rollback'), [])
        assert failed and result['msg'].startswith('phase=rollback needs previous')


# --- all, locks and refusals ----------------------------------------------------------------------------

class TestAllAndRefusals:
    def test_all_on_a_node_already_serving_is_only_read(self, run, package, tmp_path):
        lock = dict(path=str(tmp_path / 'lock'), owner='run-1', release=True)
        failed, result, exchange = run(dict(lock=lock, services=[churn(package(), smoke_tests=[SMOKE])]),
                                       read(SINGLE_V2, *SERVING) + [predict()])
        assert not failed and result['changed'] is False and result['current'] is True
        assert result['lock'] == dict(path=lock['path'], taken=False, released=False)
        # Two admin reads, and the smoke test that closes the activate phase (a prediction, no write).
        assert result['api_calls'] == 3 and [r['method'] for r in exchange.requests] == ['GET', 'GET', 'POST']
        assert set(result['durations']) == {'activate', 'retain'}  # the smoke test; the staging clean-up

    def test_foreign_lock_fails_before_any_write(self, run, package, tmp_path):
        path = tmp_path / 'lock'
        path.mkdir()
        (path / 'holder.json').write_text(json.dumps(dict(owner='run-0', holder='bob from ctl', since='2026-01-01T00:00:00Z')))
        lock = dict(path=str(path), owner='run-1', release=True)
        for check_mode in (True, False):
            failed, result, exchange = run(dict(lock=lock, services=[churn(package())]), read(SINGLE_V1, V1),
                                           check_mode=check_mode)
            assert failed and [r['method'] for r in exchange.requests] == ['GET', 'GET']
            assert result['msg'] == ("Another rollout holds the deploy lock %s (bob from ctl, since 2026-01-01T00:00:00Z). "
                                     "If no rollout is running any more, remove the stale lock with: rm -r '%s'" % (path, path))
            assert result['previous'][0]['mapping']['generation'] == 'v1'
        assert json.loads((path / 'holder.json').read_text())['owner'] == 'run-0'

    def test_staged_package_with_another_identity(self, run, package):
        staged = package(tag=dict(TAG_V2, createdOn=1600000000000))
        failed, result, exchange = run(dict(services=[churn(staged)]), read(SINGLE_V1, V1))
        assert failed and len(exchange.requests) == 2
        assert result['msg'] == ('Staged package %s is generation v2 created on 1600000000000, the release expects v2 '
                                 'created on 1700002000000.' % staged)

    def test_generation_other_than_the_tag_fails_before_any_request(self, run, package):
        failed, result, exchange = run(dict(services=[churn(package(), generation='v3')]), [])
        assert failed and exchange.requests == []
        assert 'the release expects generation v3 but its package' in result['msg']

    def test_api_error_is_reported_with_the_state_for_rollback(self, run, package):
        failed, result, _exchange = run(dict(phase='activate', services=[churn(package())]), read(SINGLE_V1, *STAGED) + [
            Call('POST', 'services/churn/actions/setMapping', status=500, answer={'message': 'boom'})])
        assert failed and result['status'] == 500 and 'boom' in result['msg']
        assert result['previous'][0]['existed'] is True and result['plan'][0]['action'] == 'set_mapping'


# --- targets: what the release wants, resolved ------------------------------------------------------------

def normal(generation):
    return dict(mode='SINGLE_GENERATION', generation=generation, entries=[dict(generation=generation, proba=1.0)],
                strategy='random')


class TestTargets:
    def test_the_package_generation_is_the_target_in_check_mode_and_every_phase(self, run, package):
        # No generation given: the target is the package's tag.json generationId, not what the node serves.
        staged = package()
        for phase in ('all', 'stage', 'activate', 'retain'):
            failed, result, _exchange = run(dict(phase=phase, services=[churn(staged)]), read(SINGLE_V1, *STAGED),
                                            check_mode=True)
            assert not failed, (phase, result)
            assert result['targets'] == [dict(id='churn', enabled=True, mapping=normal('v2'))], phase
        # The same target, in the same normal form as services[].mapping, from a run that applies nothing.
        failed, result, _exchange = run(dict(phase='stage', services=[churn(staged)]), read(SINGLE_V1, *STAGED))
        assert not failed and result['changed'] is False
        assert result['targets'][0]['mapping'] == normal('v2')
        assert set(result['targets'][0]['mapping']) == set(result['services'][0]['mapping'])

    def test_a_mapping_a_disabled_service_and_a_progressive_step(self, run, package):
        mapping = [dict(generation='v2', proba=0.25), dict(generation='v1', proba=0.75)]
        failed, result, _exchange = run(dict(services=[churn(mapping=mapping),
                                                       dict(id='fraud', generation='v1', enabled=False)]),
                                        [services(summary(mapping=SINGLE_V1), summary(enabled=False, mapping=SINGLE_V1, sid='fraud')),
                                         generations('churn', *STAGED), generations('fraud', V1)], check_mode=True)
        assert not failed, result
        assert result['targets'] == [
            dict(id='churn', enabled=True, mapping=dict(mode='MULTI_GENERATION', entries=[
                dict(generation='v2', proba=0.25), dict(generation='v1', proba=0.75)], strategy='random')),
            # Kept disabled: never switched, so no mapping is wanted.
            dict(id='fraud', enabled=False, mapping=None)]
        # With step, the target is the step's mapping: the one the plan switches to.
        failed, result, _exchange = run(dict(step=0, services=[churn(package(), steps=[dict(proba=0.1)])]),
                                        read(SINGLE_V1, *STAGED), check_mode=True)
        assert not failed, result
        step_mapping = result['progressive'][0]['steps'][0]['mapping']
        assert result['targets'] == [dict(id='churn', enabled=True, mapping=step_mapping)]
        assert [s['mapping'] for s in result['plan'] if s['action'] == 'set_mapping'] == [step_mapping]

    def test_empty_when_the_call_fails_before_its_plan(self, run, package):
        failed, result, exchange = run(dict(services=[churn(package(), generation='v3')]), [])
        assert failed and exchange.requests == [] and result['targets'] == []
