# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""apinode_release for the operator: an empty release is refused, the last switch is recorded on the node and
a rollback reads it back, retention prunes the staging folder, every call says how long it took."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.dss.apinode.plugins.module_utils import _staging

# package and run are fixtures: imported for pytest, unused by name.
from .test_apinode_release import (  # noqa: F401  pylint: disable=unused-import
    OLD,
    SERVING,
    SET_V2,
    SINGLE_V1,
    SINGLE_V2,
    STAGED,
    churn,
    ok,
    package,
    read,
    run,
    services,
)

SET_V1 = dict(mode='SINGLE_GENERATION', generation='v1', entries=[dict(generation='v1', proba=1.0)])


class TestEmptyRelease:
    def test_refused_before_any_request_naming_the_variables(self, run):
        failed, result, exchange = run(dict(phase='all'), [])
        assert failed and exchange.requests == []
        for name in ('services', 'code_envs', 'models', 'apinode_deploy_services', 'apinode_deploy_code_envs',
                     'apinode_deploy_models'):
            assert name in result['msg']
        assert result['msg'].startswith('The release is empty')
        assert '\n' not in result['msg']

    def test_allowed_when_asked_lists_the_node(self, run):
        failed, result, _exchange = run(dict(phase='all', allow_empty=True), [services({'serviceId': 'fraud', 'enabled': True})],
                                        check_mode=True)
        assert not failed and result['current'] is True
        assert [s['id'] for s in result['node_services']] == ['fraud']

    def test_service_marked_new_is_accepted(self, run, package):
        failed, result, _exchange = run(dict(phase='stage', services=[churn(package(), new=True)]),
                                        [services()], check_mode=True)
        assert not failed and [s['action'] for s in result['plan']][0] == 'create_service'
        assert isinstance(result['duration'], float)


class TestRolloutRecord:
    def test_first_switch_records_what_served_before(self, run, package, tmp_path):
        staging = tmp_path / 'staging'
        lock = dict(path=str(staging / '.deploy.lock'), owner='run-7', release=True)
        failed, result, _exchange = run(dict(phase='activate', staging_dir=str(staging), lock=lock,
                                             services=[churn(package())]),
                                        read(SINGLE_V1, *STAGED) + [ok('POST', 'services/churn/actions/setMapping', body=SET_V2)]
                                        + read(SINGLE_V2, *SERVING))
        assert not failed and result['changed'] is True
        record = json.loads((staging / 'last-rollout.json').read_text())
        assert record['owner'] == 'run-7' and record['at'].endswith('Z')
        assert record['previous'] == result['previous']
        assert record['previous'][0]['mapping']['generation'] == 'v1'

    def test_a_call_that_switches_nothing_keeps_the_record(self, run, package, tmp_path):
        staging = tmp_path / 'staging'
        _staging.write_record(str(staging), [dict(id='churn', existed=True, enabled=True, mapping=SET_V1)], 'run-1')
        before = (staging / 'last-rollout.json').read_text()
        failed, _result, _exchange = run(dict(phase='activate', staging_dir=str(staging), services=[churn(package())]),
                                         read(SINGLE_V2, *SERVING))
        assert not failed and (staging / 'last-rollout.json').read_text() == before

    def test_rollback_without_previous_reads_the_record(self, run, tmp_path):
        staging = tmp_path / 'staging'
        _staging.write_record(str(staging), [dict(id='churn', existed=True, enabled=True, mapping=SET_V1)], 'run-1')
        failed, result, _exchange = run(dict(phase='rollback', staging_dir=str(staging)), read(SINGLE_V2, *SERVING) + [
            ok('POST', 'services/churn/actions/setMapping', body=SET_V1)] + read(SINGLE_V1, *STAGED))
        assert not failed and result['changed'] is True
        assert result['last_rollout']['owner'] == 'run-1'
        assert result['services'][0]['mapping']['generation'] == 'v1'

    def test_rollback_check_mode_reads_the_record_and_writes_nothing(self, run, tmp_path):
        staging = tmp_path / 'staging'
        _staging.write_record(str(staging), [dict(id='churn', existed=True, enabled=True, mapping=SET_V1)], 'run-1')
        failed, result, exchange = run(dict(phase='rollback', staging_dir=str(staging)), read(SINGLE_V2, *SERVING),
                                       check_mode=True)
        assert not failed and result['changed'] is True and [s['action'] for s in result['plan']] == ['set_mapping']
        assert [r['method'] for r in exchange.requests] == ['GET', 'GET']

    def test_rollback_without_a_record_fails_naming_the_file(self, run, tmp_path):
        staging = tmp_path / 'staging'
        staging.mkdir()
        failed, result, exchange = run(dict(phase='rollback', staging_dir=str(staging)), [])
        assert failed and 'No rollout is recorded' in result['msg'] and 'last-rollout.json' in result['msg']
        assert exchange.requests == []


class TestPruneStaging:
    def layout(self, staging, *dirs):
        for rel in dirs:
            path = staging / rel
            path.mkdir(parents=True)
            (path / 'payload').write_text('x')

    def test_retain_removes_what_no_kept_generation_or_release_artefact_needs(self, run, tmp_path):
        staging = tmp_path / 'staging'
        self.layout(staging, 'packages/churn/v1', 'packages/churn/v2', 'packages/churn/v3', 'packages/churn/v5',
                    'packages/fraud/v1', 'code-envs/0123456789abcdef', 'code-envs/fedcba9876543210',
                    'models/00000000000000aa')
        env = tmp_path / 'env'
        env.mkdir()
        release = dict(phase='retain', keep_generations=2, staging_dir=str(staging), services=[churn(generation='v5')],
                       code_envs=[dict(path=str(env), fingerprint='sha256:0123456789abcdef' + '0' * 48)],
                       previous=[dict(id='churn', existed=True, enabled=True, mapping=dict(SINGLE_V1))])
        failed, result, _exchange = run(release, read({'mode': 'SINGLE_GENERATION', 'generation': 'v5'}, *OLD) + [
            ok('DELETE', 'services/churn/generations/v3'),
            ok('DELETE', 'services/churn/generations/v2')]
            + read({'mode': 'SINGLE_GENERATION', 'generation': 'v5'}, OLD[0], OLD[3], OLD[4]))
        assert not failed and result['changed'] is True
        # v1 is a rollback target and v4, v5 stay on the node; fraud is not in the release.
        assert result['pruned'] == ['packages/churn/v2', 'packages/churn/v3', 'code-envs/fedcba9876543210',
                                    'models/00000000000000aa']
        left = sorted(os.path.relpath(os.path.join(root, d), str(staging))
                      for root, dirs, _files in os.walk(str(staging)) for d in dirs)
        assert left == ['code-envs', 'code-envs/0123456789abcdef', 'models', 'packages', 'packages/churn',
                        'packages/churn/v1', 'packages/churn/v5', 'packages/fraud', 'packages/fraud/v1']

    def test_check_mode_lists_and_keeps(self, run, tmp_path):
        staging = tmp_path / 'staging'
        self.layout(staging, 'packages/churn/v0')
        failed, result, _exchange = run(dict(phase='retain', staging_dir=str(staging), services=[churn(generation='v5')]),
                                        read({'mode': 'SINGLE_GENERATION', 'generation': 'v5'}, OLD[4]), check_mode=True)
        assert not failed and result['pruned'] == ['packages/churn/v0']
        assert (staging / 'packages' / 'churn' / 'v0' / 'payload').exists()

    def test_nothing_to_prune_is_not_a_change(self, run, tmp_path):
        staging = tmp_path / 'staging'
        self.layout(staging, 'packages/churn/v5')
        failed, result, _exchange = run(dict(phase='retain', staging_dir=str(staging), services=[churn(generation='v5')]),
                                        read({'mode': 'SINGLE_GENERATION', 'generation': 'v5'}, OLD[4]))
        assert not failed and result['changed'] is False and result['pruned'] == []


def test_prunable_never_touches_services_outside_the_release():
    found = {'packages': {'churn': ['v1', 'v2'], 'other': ['v9']}, 'code-envs': [], 'models': []}
    assert _staging.prunable(found, {'churn': {'v2'}}, []) == ['packages/churn/v1']
