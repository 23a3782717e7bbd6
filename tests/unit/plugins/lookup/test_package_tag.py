# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The package_tag lookup: the tag.json of service packages on the controller."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import zipfile

import pytest

from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader

from ansible_collections.dss.apinode.plugins.lookup.package_tag import LookupModule

TAG_A = {'generationId': 'v7', 'createdOn': 1700000007000, 'createdWithDSSVersion': '13.2.0'}
TAG_B = {'generationId': 'v8', 'createdOn': 1700000008000, 'createdWithDSSVersion': '13.2.1'}


def write_zip(path, members):
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(str(path), 'w') as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return str(path)


def package(path, tag):
    return write_zip(path, {'tag.json': json.dumps(tag), 'config.json': '{}'})


def run(terms, variables=None):
    return LookupModule(loader=DataLoader()).run(terms, variables=variables)


def test_one_package(tmp_path):
    assert run([package(tmp_path / 'a.zip', TAG_A)]) == [TAG_A]


def test_several_packages_in_order(tmp_path):
    a, b = package(tmp_path / 'a.zip', TAG_A), package(tmp_path / 'b.zip', TAG_B)
    assert run([b, a]) == [TAG_B, TAG_A]


def test_a_list_term_is_flattened(tmp_path):
    a, b = package(tmp_path / 'a.zip', TAG_A), package(tmp_path / 'b.zip', TAG_B)
    assert run([[a, b]]) == run([a, b]) == [TAG_A, TAG_B]


def test_relative_path_is_found_in_files_then_beside_the_play(tmp_path):
    package(tmp_path / 'files' / 'packages' / 'a.zip', TAG_A)
    package(tmp_path / 'b.zip', TAG_B)
    variables = {'ansible_search_path': [str(tmp_path)]}
    assert run(['packages/a.zip', 'b.zip'], variables) == [TAG_A, TAG_B]


def test_missing_package(tmp_path):
    with pytest.raises(AnsibleLookupError, match='nope.zip was not found on the controller'):
        run([str(tmp_path / 'nope.zip')])


def test_missing_tag_json(tmp_path):
    archive = write_zip(tmp_path / 'model.zip', {'model.bin': b'x'})
    with pytest.raises(AnsibleLookupError, match='has no tag.json at its root: it is not an API service package'):
        run([archive])


def test_bad_zip(tmp_path):
    broken = tmp_path / 'broken.zip'
    broken.write_bytes(b'NOT A ZIP' + b'\0' * 100)
    with pytest.raises(AnsibleLookupError, match='is not a readable zip file'):
        run([str(broken)])


def test_tag_without_created_on(tmp_path):
    archive = package(tmp_path / 'a.zip', {'generationId': 'v7'})
    with pytest.raises(AnsibleLookupError, match='no integer createdOn'):
        run([archive])


def test_a_folder_is_not_a_package(tmp_path):
    with pytest.raises(AnsibleLookupError, match='is not a regular file'):
        run([str(tmp_path)])


def test_options_are_refused(tmp_path):
    with pytest.raises(AnsibleLookupError, match='takes no options, got rstrip'):
        LookupModule(loader=DataLoader()).run([package(tmp_path / 'a.zip', TAG_A)], variables={}, rstrip=True)


def test_a_package_with_a_member_leaving_its_folder_is_refused(tmp_path):
    evil = write_zip(tmp_path / 'evil.zip', {'tag.json': json.dumps(TAG_A), '../../x.txt': 'owned'})
    with pytest.raises(AnsibleLookupError) as info:
        run([evil])
    assert "has an unsafe member '../../x.txt'" in str(info.value) and 'evil.zip' in str(info.value)
