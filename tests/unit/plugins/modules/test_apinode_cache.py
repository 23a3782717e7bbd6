# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""apinode_cache against a scripted admin API: normal, idempotent, check mode and check mode idempotent runs of
imports and clean-ups, with the import markers read back from disk."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import zipfile

import pytest

from ansible_collections.dss.apinode.tests.unit.plugins.modules.scripted_node import URL, Call, runner


PROBE = Call('GET', 'audit-settings', {})


@pytest.fixture
def run(monkeypatch, capsys):
    return runner(monkeypatch, capsys, 'apinode_cache')


@pytest.fixture
def model(tmp_path):
    where = tmp_path / 'models' / 'sentiment.zip'
    where.parent.mkdir()
    with zipfile.ZipFile(str(where), 'w') as archive:
        archive.writestr('sentiment/model_metadata.json', '{}')
    return str(where)


@pytest.fixture
def code_env(tmp_path):
    where = tmp_path / 'envs' / 'churn-py'
    (where / 'spec').mkdir(parents=True)
    (where / 'desc.json').write_text(json.dumps({'envLang': 'PYTHON'}))
    (where / 'spec' / 'requirements.txt').write_text('scikit-learn==1.4.2\n')
    return str(where)


def markers(folder):
    found = os.path.join(folder, '.apinode-cache')
    return sorted(os.listdir(found)) if os.path.isdir(found) else []


class TestModelImport:
    def test_normal_then_idempotent(self, run, model):
        # The node's version is not known yet: one cheap read asks for it before the import.
        failed, result, exchange = run(dict(model_archive=model), [
            PROBE, Call('POST', 'model-cache', {'imported': 'sentiment'}, query={'modelArchivePath': model})])
        assert not failed and result['changed'] is True
        assert result['plan'] == ['model archive %s was never imported' % model]
        item = result['imports'][0]
        assert item['changed'] is True and item['response'] == {'imported': 'sentiment'}
        assert json.load(open(item['marker']))['fingerprint'] == item['fingerprint']

        # The marker answers for the node: no request at all.
        failed, result, exchange = run(dict(model_archive=model), [])
        assert not failed and result['changed'] is False and result['plan'] == []
        assert result['imports'][0]['changed'] is False and result['api_calls'] == 0

    def test_check_mode_then_check_mode_idempotent(self, run, model):
        # Check mode asks the node's version too: a node too old for the import fails there already.
        failed, result, exchange = run(dict(model_archive=model), [PROBE], check_mode=True, diff=True)
        assert not failed and result['changed'] is True
        assert result['plan'] == ['model archive %s was never imported' % model]
        assert result['diff']['before'] == {'imported': {model: None}}
        assert 'response' not in result['imports'][0]
        assert markers(os.path.dirname(model)) == []

        run(dict(model_archive=model), [PROBE, Call('POST', 'model-cache')])
        failed, result, exchange = run(dict(model_archive=model), [], check_mode=True)
        assert not failed and result['changed'] is False and result['plan'] == []

    def test_a_node_too_old_for_the_model_cache_fails_before_the_import(self, run, model):
        failed, result, exchange = run(dict(model_archive=model), [
            Call('GET', 'audit-settings', {}, version='12.4.0')])
        assert failed and result['msg'] == 'The model cache needs DSS 12.5 or newer, node runs 12.4.0.'
        assert exchange.writes() == [] and markers(os.path.dirname(model)) == []

    def test_clearing_the_cache_imports_again(self, run, model):
        run(dict(model_archive=model), [PROBE, Call('POST', 'model-cache')])
        args = dict(model_archive=model, clear_model_cache=True)
        failed, result, exchange = run(args, [PROBE], check_mode=True)
        assert not failed and result['changed'] is True
        assert result['plan'] == ['the model cache is emptied on request (clear_model_cache)',
                                  'model archive %s is imported again: clear_model_cache empties its cache first' % model]
        failed, result, exchange = run(args, [PROBE, Call('DELETE', 'model-cache'), Call('POST', 'model-cache')])
        assert not failed and result['changed'] is True
        assert exchange.writes() == [('DELETE', 'model-cache'), ('POST', 'model-cache')]
        assert [c['action'] for c in result['cleanups']] == ['clear_model_cache']
        assert len(markers(os.path.dirname(model))) == 1


class TestCodeEnv:
    def test_content_change_imports_again(self, run, code_env):
        run(dict(code_env=code_env), [Call('POST', 'cached-code-envs', query={'fileDir': code_env, 'language': 'python'})])
        with open(os.path.join(code_env, 'spec', 'requirements.txt'), 'a') as handle:
            handle.write('requests==2.31.0\n')
        failed, result, exchange = run(dict(code_env=code_env), [], check_mode=True)
        assert result['plan'] == ['code env %s was imported with other content' % code_env]
        failed, result, exchange = run(dict(code_env=code_env), [Call('POST', 'cached-code-envs')])
        assert not failed and result['changed'] is True

    def test_force_imports_again(self, run, code_env):
        run(dict(code_env=code_env), [Call('POST', 'cached-code-envs')])
        failed, result, exchange = run(dict(code_env=code_env, force=True), [Call('POST', 'cached-code-envs')])
        assert not failed and result['changed'] is True
        assert result['plan'] == ['code env %s is imported again (force=true)' % code_env]

    def test_markers_are_per_node(self, run, code_env):
        run(dict(code_env=code_env), [Call('POST', 'cached-code-envs')])
        record = json.load(open(os.path.join(os.path.dirname(code_env), '.apinode-cache',
                                             markers(os.path.dirname(code_env))[0])))
        assert record['node'] == URL


SERVICES = [
    {'serviceId': 'churn', 'enabled': True,
     'activeMapping': {'mode': 'SINGLE_GENERATION', 'generation': 'v3', 'entries': [{'generation': 'v3', 'proba': 1.0}]}},
    {'serviceId': 'empty', 'enabled': False},
]
CHURN = {'generations': [{'generationId': g, 'createdOn': n, 'mounted': g == 'v3', 'mapped': 1.0 if g == 'v3' else 0.0}
                         for n, g in enumerate(('v1', 'v2', 'v3'))]}


def read_services(churn=None):
    """The module's read: both services with CHURN by default, else service churn alone with ``churn``."""
    if churn is not None:
        return [Call('GET', 'services', SERVICES[:1]), Call('GET', 'services/churn/generations', churn)]
    return [Call('GET', 'services', SERVICES), Call('GET', 'services/churn/generations', CHURN),
            Call('GET', 'services/empty/generations', {'generations': []})]


class TestCleanUnusedServices:
    ARGS = dict(clean_unused_services=True, keep=['churn/v2'])

    def test_check_mode_then_normal(self, run):
        failed, result, exchange = run(self.ARGS, read_services(), check_mode=True)
        assert not failed and result['changed'] is True and exchange.writes() == []
        assert result['plan'] == ['service churn: generation v1 is not mapped, loaded or kept',
                                  'service empty is disabled, has no mapping and nothing to keep']
        assert sorted(result['kept']) == ['churn/v2', 'churn/v3']

        failed, result, exchange = run(self.ARGS, read_services() + [
            Call('DELETE', 'services/churn/generations/v1'), Call('DELETE', 'services/empty')])
        assert not failed and result['changed'] is True
        assert [(c['action'], c['service'], c.get('generation')) for c in result['cleanups']] == [
            ('delete_generation', 'churn', 'v1'), ('delete_service', 'empty', None)]
        assert all('response' in c for c in result['cleanups'])

    @pytest.mark.parametrize('check_mode', [False, True])
    def test_idempotent(self, run, check_mode):
        left = {'generations': CHURN['generations'][1:]}
        failed, result, exchange = run(self.ARGS, read_services(left), check_mode=check_mode)
        assert not failed and result['changed'] is False and result['plan'] == [] and result['cleanups'] == []
