# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The release's artefacts on the controller and their staging paths on the node."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import tarfile
import zipfile

import pytest

from ansible_collections.dss.apinode.plugins.plugin_utils import _release_artefacts as artefacts
from ansible_collections.dss.apinode.plugins.plugin_utils._action import controller_connection

STAGING = '/srv/staging'


def package(path, generation, created_on=1700000000000):
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(str(path), 'w') as archive:
        archive.writestr('tag.json', json.dumps({'generationId': generation, 'createdOn': created_on}))
    return str(path)


def code_env(path, requirement='numpy==2.1.0'):
    (path / 'spec').mkdir(parents=True)
    (path / 'spec' / 'requirements.txt').write_text(requirement)
    return str(path)


def find_in(root):
    """find(path) as the action plugin gives it: relative paths under ``root`` (a play's files/ folder)."""
    def find(path):
        full = path if os.path.isabs(path) else os.path.join(str(root), path)
        return full if os.path.exists(full) else None
    return find


def test_packages_with_the_same_file_name_get_their_own_staging_paths(tmp_path):
    churn = package(tmp_path / 'art' / 'churn' / 'v1.zip', 'v1')
    fraud = package(tmp_path / 'art' / 'fraud' / 'v1.zip', 'v1', created_on=1700000000999)
    args = dict(services=[dict(id='churn', package=churn), dict(id='fraud', package=fraud)])

    release = artefacts.locate(args, STAGING, find_in(tmp_path))

    paths = [item['node_path'] for item in release]
    assert paths == ['/srv/staging/packages/churn/v1/v1.zip', '/srv/staging/packages/fraud/v1/v1.zip']
    out = artefacts.module_args(dict(args, staging_dir=STAGING), release)
    assert [s['package'] for s in out['services']] == paths
    assert out['services'][1]['tag']['createdOn'] == 1700000000999
    assert out['staging_dir'] == STAGING and out['cache_state_dir'] == '/srv/staging/.apinode-cache'
    assert args['services'][0]['package'] == churn, 'the task arguments themselves are left alone'


def test_relative_paths_resolve_like_copy_src(tmp_path):
    package(tmp_path / 'files' / 'churn_v1.zip', 'v1')
    release = artefacts.locate(dict(services=[dict(id='churn', package='files/churn_v1.zip')]), STAGING, find_in(tmp_path))
    assert release[0]['controller_path'] == str(tmp_path / 'files' / 'churn_v1.zip')


@pytest.mark.parametrize('service, expected', [
    (dict(id='churn', package='missing.zip'), 'services[0] (churn): package missing.zip is not a file on the controller'),
    (dict(id='churn\n', package='v1.zip'), "Invalid service id 'churn\\n'"),
    (dict(id='churn', package='v1.zip', generation='v2'), 'expects generation v2 but package v1.zip is generation v1'),
    (dict(id='churn', package='env'), 'package env is not a file on the controller'),
])
def test_bad_services_are_refused_before_anything_is_copied(tmp_path, service, expected):
    package(tmp_path / 'v1.zip', 'v1')
    code_env(tmp_path / 'env')
    with pytest.raises(artefacts.ReleaseInputError, match=None) as err:
        artefacts.locate(dict(services=[service]), STAGING, find_in(tmp_path))
    assert expected in str(err.value)


def test_a_service_listed_twice_is_refused(tmp_path):
    args = dict(services=[dict(id='churn'), dict(id='churn')])
    with pytest.raises(artefacts.ReleaseInputError, match='listed twice'):
        artefacts.locate(args, STAGING, find_in(tmp_path))


def test_a_package_whose_tag_has_a_hostile_generation_id_is_refused(tmp_path):
    package(tmp_path / 'evil.zip', '../../etc')
    with pytest.raises(artefacts.ReleaseInputError, match='Invalid generation id'):
        artefacts.locate(dict(services=[dict(id='churn', package='evil.zip')]), STAGING, find_in(tmp_path))


def test_staging_dir_must_be_absolute(tmp_path):
    package(tmp_path / 'v1.zip', 'v1')
    with pytest.raises(artefacts.ReleaseInputError, match='staging_dir must be an absolute path'):
        artefacts.locate(dict(services=[dict(id='churn', package='v1.zip')]), 'staging', find_in(tmp_path))


def test_code_envs_and_models_are_content_addressed(tmp_path):
    env_a = code_env(tmp_path / 'a' / 'churn-py')
    env_b = code_env(tmp_path / 'b' / 'churn-py', requirement='numpy==2.2.0')
    args = dict(code_envs=[dict(path=env_a)], models=[dict(path=package(tmp_path / 'model.zip', 'm'))])
    first = artefacts.locate(args, STAGING, find_in(tmp_path))
    second = artefacts.locate(dict(code_envs=[dict(path=env_b)]), STAGING, find_in(tmp_path))

    env, model = first
    assert env['node_path'].startswith('/srv/staging/code-envs/') and env['node_path'].endswith('/churn-py')
    assert model['node_path'].startswith('/srv/staging/models/') and model['node_path'].endswith('/model.zip')
    assert env['fingerprint'].startswith('sha256:')
    assert second[0]['node_path'] != env['node_path'], 'other content, other path'


def test_fingerprints_are_cached_per_run_and_follow_content(tmp_path):
    cache = tmp_path / 'run'
    cache.mkdir()
    env = code_env(tmp_path / 'churn-py')
    first = artefacts.cached_fingerprint(env, cache_dir=str(cache))
    assert len(os.listdir(str(cache))) == 1
    assert artefacts.cached_fingerprint(env, cache_dir=str(cache)) == first
    with open(os.path.join(env, 'spec', 'requirements.txt'), 'a') as handle:
        handle.write('\npandas==2.0\n')
    os.utime(os.path.join(env, 'spec', 'requirements.txt'), ns=(1, 10 ** 18))
    assert artefacts.cached_fingerprint(env, cache_dir=str(cache)) != first


def test_probe_and_install_commands_stage_files_for_real(tmp_path):
    """The shell commands run as written: staged once, found by the probe on the next run."""
    staging = str(tmp_path / 'staging')
    pkg = package(tmp_path / 'v1.zip', 'v1')
    env = code_env(tmp_path / 'churn-py')
    args = dict(services=[dict(id='churn', package=pkg)], code_envs=[dict(path=env)])
    release = artefacts.locate(args, staging, find_in(tmp_path))

    def sh(command):
        return subprocess.run(['/bin/sh', '-c', command], check=True, capture_output=True, text=True).stdout

    assert artefacts.missing_from_probe(release, sh(artefacts.probe_command(release))) == release
    for index, item in enumerate(release):
        upload = artefacts.upload_source(item)
        remote = str(tmp_path / ('upload-%d' % index))
        with open(upload.path, 'rb') as src, open(remote, 'wb') as dst:
            dst.write(src.read())
        upload.cleanup()
        sh(artefacts.install_command(item, remote, args))
        assert not os.path.exists(remote)
    assert artefacts.missing_from_probe(release, sh(artefacts.probe_command(release))) == []
    staged_env = release[1]['node_path']
    assert open(os.path.join(staged_env, 'spec', 'requirements.txt')).read() == 'numpy==2.1.0'
    assert artefacts.cached_fingerprint(staged_env, cache_dir=None) == release[1]['fingerprint']


def test_a_staged_package_of_another_size_is_sent_again(tmp_path):
    pkg = package(tmp_path / 'v1.zip', 'v1')
    release = artefacts.locate(dict(services=[dict(id='churn', package=pkg)]), STAGING, find_in(tmp_path))
    assert artefacts.missing_from_probe(release, '%d\n' % release[0]['size']) == []
    assert artefacts.missing_from_probe(release, '12\n') == release
    with pytest.raises(artefacts.ReleaseInputError, match='Unexpected answer'):
        artefacts.missing_from_probe(release, '')


def test_code_env_tar_keeps_links_as_links(tmp_path):
    env = code_env(tmp_path / 'churn-py')
    os.symlink('spec/requirements.txt', os.path.join(env, 'link'))
    item = artefacts.locate(dict(code_envs=[dict(path=env)]), STAGING, find_in(tmp_path))[0]
    upload = artefacts.upload_source(item)
    try:
        with tarfile.open(upload.path) as tar:
            assert tar.getmember('churn-py/link').issym()
    finally:
        upload.cleanup()
    assert not os.path.exists(upload.path)


def test_connection_options_come_from_the_task_then_the_controller_environment():
    environ = {'DATAIKU_APINODE_URL': 'http://controller:12000', 'DATAIKU_APINODE_API_KEY': 'from-env',
               'DATAIKU_APINODE_TIMEOUT': '90'}
    resolved = controller_connection({'url': 'http://task:12000', 'api_key': ''}, environ)
    assert resolved['url'] == 'http://task:12000'
    assert resolved['api_key'] == 'from-env', 'an empty task value counts as unset'
    assert resolved['timeout'] == '90'
    assert 'ca_path' not in resolved
