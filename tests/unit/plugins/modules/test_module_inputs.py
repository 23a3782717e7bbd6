# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every module option that takes an id refuses bad ids before any request; check mode and missing prerequisites."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import json
import zipfile

import pytest

from ansible.module_utils import basic

ADMIN_KEY = 'adminKey-M0dUl3s'
BAD_IDS = ['ab\n', 'ab\r', 'a\x00b', '.hidden', '..', 'a/b', 'a%2Fb', 'a b', 'x' * 256]
TAG = {'generationId': 'v1', 'createdOn': 1700000001000}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ('DATAIKU_APINODE_URL', 'DATAIKU_APINODE_API_KEY'):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def package(tmp_path):
    path = tmp_path / 'v1.zip'
    with zipfile.ZipFile(str(path), 'w') as archive:
        archive.writestr('tag.json', json.dumps(TAG))
    return str(path)


@pytest.fixture
def run_module(monkeypatch, capsys, server):
    """Run a module's main() with ``args`` against the test server; return (exit code, result)."""
    def runner(name, args, check_mode=False):
        args = dict(args, url=server.url, api_key=ADMIN_KEY, _ansible_check_mode=check_mode)
        # No syslog: it refuses a NUL before the module could (a real run fails either way, sending nothing).
        monkeypatch.setattr(basic.AnsibleModule, 'log', lambda self, msg, log_args=None: None)
        monkeypatch.setattr(basic, '_ANSIBLE_ARGS', json.dumps({'ANSIBLE_MODULE_ARGS': args}).encode('utf-8'))
        if hasattr(basic, '_ANSIBLE_PROFILE'):
            monkeypatch.setattr(basic, '_ANSIBLE_PROFILE', 'legacy')
        module = importlib.import_module('ansible_collections.dss.apinode.plugins.modules.%s' % name)
        with pytest.raises(SystemExit) as info:
            module.main()
        out = capsys.readouterr().out
        return info.value.code, json.loads(out.strip().splitlines()[-1])
    return runner


def id_options(package):
    """(module, args with BAD in the id) for every option that takes an id."""
    return [
        ('apinode_service', 'name', dict(name='BAD')),
        ('apinode_service', 'generation', dict(name='churn', generation='BAD')),
        ('apinode_service', 'mapping', dict(name='churn', mapping=[dict(generation='v1', proba=0.5),
                                                                   dict(generation='BAD', proba=0.5)])),
        ('apinode_generation', 'service', dict(service='BAD', archive=package)),
        ('apinode_generation', 'generation', dict(service='churn', generation='BAD', state='absent')),
        ('apinode_info', 'services', dict(services=['churn', 'BAD'], gather=['services'])),
        ('apinode_cache', 'keep', dict(clean_unused_services=True, keep=['BAD'])),
        ('apinode_cache', 'keep', dict(clean_unused_services=True, keep=['churn/BAD'])),
    ]


def substitute(value, bad):
    if isinstance(value, dict):
        return dict((k, substitute(v, bad)) for k, v in value.items())
    if isinstance(value, list):
        return [substitute(v, bad) for v in value]
    return bad if value == 'BAD' else value.replace('/BAD', '/' + bad) if isinstance(value, str) else value


@pytest.mark.parametrize('bad', BAD_IDS, ids=repr)
def test_every_id_option_refuses_bad_ids_before_any_request(run_module, server, package, bad):
    problems = []
    for module, option, args in id_options(package):
        if option == 'keep' and '/' in bad:
            continue  # a slash in keep separates the service from the generation
        code, result = run_module(module, substitute(args, bad))
        msg = result.get('msg', '')
        if code != 1 or not msg.startswith('Invalid ') or ' for %s: ' % option not in msg:
            problems.append('%s %s=%r: %r' % (module, option, bad, msg))
    assert not problems, '\n'.join(problems)
    assert server.requests == []


def test_a_service_created_by_an_earlier_task_is_a_change_in_check_mode(run_module, server, package):
    server.respond(400, {'errorType': 'java.lang.IllegalArgumentException', 'message': 'Service does not exist: fraud'})
    code, result = run_module('apinode_generation', dict(service='fraud', archive=package, preload=True), check_mode=True)
    assert code == 0, result
    assert result['changed'] is True
    assert result['generation']['generationId'] == 'v1' and result['generation']['mounted'] is True
    assert 'Service fraud cannot receive generation v1' in json.dumps(result['warnings'])
    assert [r.method for r in server.requests] == ['GET']


def test_a_missing_service_is_still_an_error_outside_check_mode(run_module, server, package):
    server.respond(400, {'errorType': 'java.lang.IllegalArgumentException', 'message': 'Service does not exist: fraud'})
    code, result = run_module('apinode_generation', dict(service='fraud', archive=package))
    assert code == 1 and 'Create the service first' in result['msg']


def test_an_archive_copied_by_an_earlier_task_is_a_change_in_check_mode(run_module, server, tmp_path):
    server.respond(200, {'generations': []})
    missing = str(tmp_path / 'staging' / 'churn_v2.zip')
    code, result = run_module('apinode_generation', dict(service='churn', archive=missing, generation='v2'),
                              check_mode=True)
    assert code == 0, result
    assert result['changed'] is True and result['generation']['generationId'] == 'v2'
    assert 'Package archive %s does not exist' % missing in json.dumps(result['warnings'])
    assert all(r.method == 'GET' for r in server.requests)


def test_a_missing_archive_is_still_an_error_outside_check_mode(run_module, server, tmp_path):
    missing = str(tmp_path / 'churn_v2.zip')
    code, result = run_module('apinode_generation', dict(service='churn', archive=missing))
    assert code == 1 and result['msg'].startswith('Package archive %s does not exist' % missing)
    assert server.requests == []


def test_a_model_archive_copied_by_an_earlier_task_is_a_change_in_check_mode(run_module, server, tmp_path):
    missing = str(tmp_path / 'models' / 'sentiment.zip')
    code, result = run_module('apinode_cache', dict(model_archive=missing), check_mode=True)
    assert code == 0, result
    assert result['changed'] is True
    assert result['imports'][0]['path'] == missing and result['imports'][0]['fingerprint'] is None
    assert 'model_archive=%s: no such' % missing in json.dumps(result['warnings'])
    assert server.requests == []
    code, result = run_module('apinode_cache', dict(model_archive=missing))
    assert code == 1 and 'no such a model archive file' in result['msg']


def test_an_unsafe_model_archive_is_refused_before_any_request(run_module, server, tmp_path):
    evil = str(tmp_path / 'evil.zip')
    with zipfile.ZipFile(evil, 'w') as archive:
        archive.writestr('sentiment/model_metadata.json', '{}')
        archive.writestr('../../../etc/cron.d/x', 'owned')
    code, result = run_module('apinode_cache', dict(model_archive=evil))
    assert code == 1
    assert result['msg'].startswith("Model archive %s has an unsafe member '../../../etc/cron.d/x'" % evil)
    assert server.requests == []


def test_an_unsafe_package_is_refused_before_the_upload(run_module, server, tmp_path):
    evil = str(tmp_path / 'evil.zip')
    with zipfile.ZipFile(evil, 'w') as archive:
        archive.writestr('tag.json', json.dumps(TAG))
        archive.writestr('/tmp/x', 'owned')
    code, result = run_module('apinode_generation', dict(service='churn', archive=evil, upload=True))
    assert code == 1 and "unsafe member '/tmp/x'" in result['msg']
    assert server.requests == []
