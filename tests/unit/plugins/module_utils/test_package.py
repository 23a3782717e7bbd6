# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import zipfile

import pytest

from ansible_collections.dss.apinode.plugins.module_utils import _package

TAG = {'generationId': 'v7', 'createdOn': 1700000007000, 'createdWithDSSVersion': '13.2.0',
       'createdWithDSSConfVersion': '13200'}


def write_zip(path, members):
    with zipfile.ZipFile(str(path), 'w') as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return str(path)


def test_reads_the_tag(tmp_path):
    archive = write_zip(tmp_path / 'any-name.zip', {'tag.json': json.dumps(TAG), 'config.json': '{}'})
    assert _package.read_tag(archive) == TAG
    assert _package.identity(_package.read_tag(archive)) == ('v7', 1700000007000)


def test_reads_only_the_tag_member(tmp_path, monkeypatch):
    archive = write_zip(tmp_path / 'p.zip', {'tag.json': json.dumps(TAG), 'big.bin': b'x' * 100000})
    read = []
    original = zipfile.ZipFile.read

    def spy(self, name, pwd=None):
        read.append(getattr(name, 'filename', name))
        return original(self, name, pwd)

    monkeypatch.setattr(zipfile.ZipFile, 'read', spy)
    _package.read_tag(archive)
    assert read == ['tag.json']


def test_missing_archive(tmp_path):
    with pytest.raises(_package.PackageError, match='does not exist'):
        _package.read_tag(str(tmp_path / 'nope.zip'))


def test_directory_is_not_an_archive(tmp_path):
    with pytest.raises(_package.PackageError, match='not a regular file'):
        _package.read_tag(str(tmp_path))


def test_corrupted_zip(tmp_path):
    archive = tmp_path / 'broken.zip'
    archive.write_bytes(b'NOT A ZIP' + b'\0' * 100)
    with pytest.raises(_package.PackageError, match='not a readable zip file'):
        _package.read_tag(str(archive))


def test_zip_without_tag(tmp_path):
    archive = write_zip(tmp_path / 'p.zip', {'config.json': '{}'})
    with pytest.raises(_package.PackageError, match='has no tag.json at its root'):
        _package.read_tag(archive)


def test_tag_in_a_subfolder_does_not_count(tmp_path):
    archive = write_zip(tmp_path / 'p.zip', {'sub/tag.json': json.dumps(TAG)})
    with pytest.raises(_package.PackageError, match='has no tag.json at its root'):
        _package.read_tag(archive)


@pytest.mark.parametrize('raw, message', [
    ('{not json', 'not valid JSON'),
    ('[1, 2]', 'not a JSON object'),
    ('{"createdOn": 1}', 'has no generationId'),
    ('{"generationId": "v1"}', 'has no integer createdOn'),
    ('{"generationId": "v1", "createdOn": "yesterday"}', 'has no integer createdOn'),
])
def test_bad_tags(tmp_path, raw, message):
    archive = write_zip(tmp_path / 'p.zip', {'tag.json': raw})
    with pytest.raises(_package.PackageError, match=message):
        _package.read_tag(archive)
