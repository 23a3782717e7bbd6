# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""apinode_generation against a scripted admin API: normal, idempotent, check mode and check mode idempotent runs
of an import, a preload and a delete, the plan sentences, and refusals before any write."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import zipfile

import pytest

from ansible_collections.dss.apinode.tests.unit.plugins.modules.scripted_node import Call, runner

TAG = {'generationId': 'v2', 'createdOn': 1700000002000, 'createdWithDSSVersion': '13.2.0',
       'createdWithDSSConfVersion': '13200'}
V1 = {'generationId': 'v1', 'createdOn': 1700000001000, 'mounted': True, 'mapped': 1.0}
V2 = dict(TAG, mounted=False, mapped=0.0)
GENERATIONS = 'services/churn/generations'
IMPORT = 'services/churn/generations/actions/importFromArchive'
PRELOAD = 'services/churn/generations/v2/preload'


@pytest.fixture
def run(monkeypatch, capsys):
    return runner(monkeypatch, capsys, 'apinode_generation')


@pytest.fixture
def package(tmp_path):
    return make_package(tmp_path / 'churn_v2.zip', TAG)


def make_package(where, tag):
    with zipfile.ZipFile(str(where), 'w') as archive:
        archive.writestr('tag.json', json.dumps(tag))
    return str(where)


def listing(*generations):
    return Call('GET', GENERATIONS, {'generations': list(generations)})


class TestImport:
    def test_normal(self, run, package):
        failed, result, exchange = run(dict(service='churn', archive=package), [
            listing(V1),
            Call('POST', IMPORT, query={'filePath': os.path.abspath(package)}),
            listing(V1, V2),
        ])
        assert not failed and result['changed'] is True
        assert result['plan'] == ['service churn: generation v2 is not on the node']
        assert result['generation'] == V2 and result['package'] == TAG
        assert exchange.writes() == [('POST', IMPORT)]

    def test_idempotent(self, run, package):
        failed, result, exchange = run(dict(service='churn', archive=package, generation='v2'), [listing(V1, V2)])
        assert not failed and result['changed'] is False and result['plan'] == []
        assert result['api_calls'] == 1

    def test_check_mode(self, run, package):
        failed, result, exchange = run(dict(service='churn', archive=package, preload=True), [listing(V1)],
                                       check_mode=True, diff=True)
        assert not failed and result['changed'] is True
        assert result['plan'] == ['service churn: generation v2 is not on the node',
                                  'service churn: generation v2 is not preloaded']
        assert result['diff'] == {'before': {}, 'after': dict(V2, mounted=True)}
        assert exchange.writes() == []

    def test_check_mode_idempotent(self, run, package):
        failed, result, exchange = run(dict(service='churn', archive=package, preload=True),
                                       [listing(V1, dict(V2, mounted=True))], check_mode=True)
        assert not failed and result['changed'] is False and result['plan'] == []

    def test_upload_streams_the_package(self, run, package):
        failed, result, exchange = run(dict(service='churn', archive=package, upload=True), [
            listing(),
            Call('POST', 'services/churn/generations/actions/importFromStream'),
            listing(V2),
        ])
        assert not failed and result['changed'] is True
        assert exchange.requests[1]['multipart'] is True

    def test_preload_only(self, run, package):
        failed, result, exchange = run(dict(service='churn', archive=package, preload=True), [
            listing(V2), Call('POST', PRELOAD), listing(dict(V2, mounted=True))])
        assert not failed and result['changed'] is True
        assert result['plan'] == ['service churn: generation v2 is not preloaded']
        assert result['generation']['mounted'] is True


class TestReplace:
    OTHER = dict(V2, createdOn=1600000000000)

    def test_another_package_under_the_same_id_needs_force(self, run, package):
        failed, result, exchange = run(dict(service='churn', archive=package), [listing(self.OTHER)])
        assert failed and 'Set force=true to replace it' in result['msg']
        assert exchange.writes() == []

    def test_force_deletes_then_imports(self, run, package):
        failed, result, exchange = run(dict(service='churn', archive=package, force=True), [
            listing(self.OTHER),
            Call('DELETE', 'services/churn/generations/v2'),
            Call('POST', IMPORT),
            listing(V2),
        ])
        assert not failed and result['changed'] is True
        assert result['plan'] == ['service churn: generation v2 on the node comes from another package '
                                  '(createdOn 1600000000000, the package 1700000002000)',
                                  'service churn: generation v2 is not on the node']

    def test_a_package_newer_than_the_node_is_refused(self, run, tmp_path):
        newer = make_package(tmp_path / 'v9.zip', dict(TAG, generationId='v9', createdWithDSSVersion='14.0.0'))
        failed, result, exchange = run(dict(service='churn', archive=newer), [listing(V1)])
        assert failed and 'newer than the node' in result['msg'] and exchange.writes() == []


class TestDelete:
    ABSENT = dict(service='churn', generation='v2', state='absent')

    def test_normal(self, run):
        failed, result, exchange = run(self.ABSENT, [listing(V1, V2), Call('DELETE', 'services/churn/generations/v2')],
                                       diff=True)
        assert not failed and result['changed'] is True and result['generation'] is None
        assert result['plan'] == ['service churn: generation v2 is on the node, the task wants it absent']
        assert result['diff'] == {'before': V2, 'after': {}}

    @pytest.mark.parametrize('check_mode', [False, True])
    def test_idempotent(self, run, check_mode):
        failed, result, exchange = run(self.ABSENT, [listing(V1)], check_mode=check_mode)
        assert not failed and result['changed'] is False and result['plan'] == []

    def test_check_mode(self, run):
        failed, result, exchange = run(self.ABSENT, [listing(V1, V2)], check_mode=True)
        assert not failed and result['changed'] is True and exchange.writes() == []
        assert result['plan'] == ['service churn: generation v2 is on the node, the task wants it absent']

    def test_a_mapped_generation_is_refused(self, run):
        failed, result, exchange = run(dict(self.ABSENT, generation='v1'), [listing(V1, V2)])
        assert failed and result['msg'].startswith('Generation v1 of service churn answers 100.0% of the traffic')


class TestMissingService:
    NOT_THERE = {'errorType': 'java.lang.IllegalArgumentException', 'message': 'Service does not exist: churn'}

    def test_check_mode_predicts_the_import(self, run, package):
        failed, result, exchange = run(dict(service='churn', archive=package), [
            Call('GET', GENERATIONS, self.NOT_THERE, status=400)], check_mode=True)
        assert not failed and result['changed'] is True
        assert result['plan'] == ['service churn: generation v2 is not on the node']
        assert 'Service churn cannot receive generation v2' in json.dumps(result['warnings'])

    def test_an_error_outside_check_mode(self, run, package):
        failed, result, exchange = run(dict(service='churn', archive=package), [
            Call('GET', GENERATIONS, self.NOT_THERE, status=400)])
        assert failed and 'Create the service first' in result['msg'] and 'plan' not in result
