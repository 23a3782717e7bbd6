# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fingerprint lookup: the content fingerprint that apinode_cache records, computed on the controller."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import socket

import pytest

from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader

from ansible_collections.dss.apinode.plugins.lookup.fingerprint import LookupModule
from ansible_collections.dss.apinode.plugins.module_utils._fingerprint import fingerprint


def make_env(root):
    os.makedirs(os.path.join(root, 'spec'))
    with open(os.path.join(root, 'desc.json'), 'w') as handle:
        handle.write('{"envName": "py311-fraud"}')
    with open(os.path.join(root, 'spec', 'requirements.txt'), 'w') as handle:
        handle.write('scikit-learn\n')
    os.symlink('spec/requirements.txt', os.path.join(root, 'requirements.txt'))
    return root


def run(terms, variables=None):
    return LookupModule(loader=DataLoader()).run(terms, variables=variables)


def test_folder_equals_the_fingerprint_of_a_copy_elsewhere(tmp_path):
    source = make_env(str(tmp_path / 'controller' / 'py311-fraud'))
    staged = str(tmp_path / 'node' / 'staging' / 'py311-fraud')
    shutil.copytree(source, staged, symlinks=True)
    [digest] = run([source])
    assert digest == fingerprint(staged)
    assert digest.startswith('sha256:') and len(digest) == len('sha256:') + 64


def test_file_equals_the_fingerprint_of_a_copy_elsewhere(tmp_path):
    model = tmp_path / 'model.zip'
    model.write_bytes(b'PK' + os.urandom(4096))
    copy = tmp_path / 'staged' / 'model.zip'
    copy.parent.mkdir()
    shutil.copyfile(str(model), str(copy))
    assert run([str(model)]) == [fingerprint(str(copy))]


def test_other_content_gives_another_fingerprint(tmp_path):
    one = make_env(str(tmp_path / 'one'))
    two = make_env(str(tmp_path / 'two'))
    with open(os.path.join(two, 'spec', 'requirements.txt'), 'a') as handle:
        handle.write('pandas\n')
    first, second = run([one, two])
    assert first != second


def test_list_term_and_relative_paths(tmp_path):
    env = make_env(str(tmp_path / 'files' / 'envs' / 'py311-fraud'))
    model = tmp_path / 'model.zip'
    model.write_bytes(b'model')
    variables = {'ansible_search_path': [str(tmp_path)]}
    assert run([['envs/py311-fraud', 'model.zip']], variables) == [fingerprint(env), fingerprint(str(model))]


def test_missing_path(tmp_path):
    with pytest.raises(AnsibleLookupError, match='Artefact .*absent was not found on the controller'):
        run([str(tmp_path / 'absent')])


def test_unreadable_entry_is_a_clear_error(tmp_path):
    # A socket inside the folder cannot be opened, not even by root.
    env = make_env(str(tmp_path / 'env'))
    listener = socket.socket(socket.AF_UNIX)
    try:
        listener.bind(os.path.join(env, 'agent.sock'))
        with pytest.raises(AnsibleLookupError, match='Cannot fingerprint .*env'):
            run([env])
    finally:
        listener.close()
