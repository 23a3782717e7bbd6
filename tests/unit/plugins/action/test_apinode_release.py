# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""apinode_release's action plugin: the release's artefacts found on the controller the way copy finds its src,
and a path found nowhere named with the folders searched."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import zipfile

import pytest

from ansible.parsing.dataloader import DataLoader

from ansible_collections.dss.apinode.plugins.action.apinode_release import ActionModule
from ansible_collections.dss.apinode.plugins.plugin_utils import _release_artefacts as artefacts

STAGING = '/srv/staging'


class RoleTask(object):
    """A task of a role, as Ansible gives its search path: the role, then the folder of the task file."""

    def __init__(self, role):
        self.role = role

    def get_search_path(self):
        return [self.role, os.path.join(self.role, 'tasks')]


@pytest.fixture
def layout(tmp_path):
    """A playbook folder and a role with a task file; returns (play dir, role dir)."""
    play = tmp_path / 'play'
    role = play / 'roles' / 'deploy'
    (role / 'tasks').mkdir(parents=True)
    (role / 'tasks' / 'main.yml').write_text('---\n[]\n')
    return str(play), str(role)


@pytest.fixture
def find(layout):
    """The action plugin's own lookup, with a real loader whose base folder is the playbook's."""
    play, role = layout
    action = ActionModule.__new__(ActionModule)
    loader = DataLoader()
    loader.set_basedir(play)
    action._task = RoleTask(role)
    action._loader = loader
    return action._find_on_controller


def package(path, generation='v1'):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr('tag.json', json.dumps({'generationId': generation, 'createdOn': 1700000000000}))
    return path


def refusal(args, find):
    with pytest.raises(artefacts.ReleaseInputError) as err:
        artefacts.locate(args, STAGING, find)
    return str(err.value)


def test_a_relative_package_is_found_in_the_play_files_folder(layout, find):
    play, _role = layout
    path = package(os.path.join(play, 'files', 'churn', 'v1.zip'))
    release = artefacts.locate(dict(services=[dict(id='churn', package='churn/v1.zip')]), STAGING, find)
    assert release[0]['controller_path'] == path


def test_a_relative_package_found_nowhere_names_every_folder_searched_in_order(layout, find):
    play, role = layout
    message = refusal(dict(services=[dict(id='churn', package='churn/v1.zip')]), find)
    folders = [os.path.join(role, 'files'), role, os.path.join(role, 'tasks', 'files'), os.path.join(role, 'tasks'),
               os.path.join(play, 'files'), play]
    assert message == ('services[0] (churn): package churn/v1.zip is not a file on the controller: a relative path is '
                       'looked up like the src of ansible.builtin.copy, in %s.' % ', '.join(folders))
    assert '\n' not in message


def test_a_code_env_and_a_model_found_nowhere_name_the_folders_too(layout, find):
    play, _role = layout
    assert refusal(dict(code_envs=[dict(path='envs/py311')]), find).startswith(
        'code_envs[0] envs/py311 is not a folder on the controller: a relative path is looked up')
    message = refusal(dict(models=[dict(path='churn.zip')]), find)
    assert message.startswith('models[0] churn.zip is not a file on the controller: a relative path is looked up')
    assert message.endswith(', %s, %s.' % (os.path.join(play, 'files'), play))


@pytest.mark.parametrize('given', ['/nowhere/churn/v1.zip', '~/nowhere-for-this-test/v1.zip'])
def test_an_absolute_path_gets_no_relative_path_hint(find, given):
    message = refusal(dict(services=[dict(id='churn', package=given)]), find)
    assert message == 'services[0] (churn): package %s is not a file on the controller: nothing is at that path.' % given
    assert 'relative' not in message and 'files/' not in message


def test_a_folder_where_a_file_is_wanted_is_named_as_a_folder(layout, find):
    play, _role = layout
    os.makedirs(os.path.join(play, 'files', 'v1.zip'))
    message = refusal(dict(services=[dict(id='churn', package='v1.zip')]), find)
    assert message == ('services[0] (churn): package v1.zip is not a file on the controller: it is a folder (%s).'
                       % os.path.join(play, 'files', 'v1.zip'))
    absolute = os.path.join(play, 'files', 'v1.zip')
    assert refusal(dict(services=[dict(id='churn', package=absolute)]), find) == (
        'services[0] (churn): package %s is not a file on the controller: it is a folder.' % absolute)


def test_searched_folders_strip_the_relative_path_and_keep_each_folder_once():
    candidates = ['/r/files/a/b.zip', '/r/a/b.zip', '/p/files/a/b.zip', '/p/a/b.zip', '/p/a/b.zip']
    assert artefacts.searched_folders(candidates, 'a/b.zip') == ['/r/files', '/r', '/p/files', '/p']
    assert artefacts.searched_folders([], 'a.zip') == []
