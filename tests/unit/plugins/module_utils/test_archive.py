# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unsafe archive members: absolute names, '..' components, links leaving the archive."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import stat
import tarfile
import zipfile

import pytest

from ansible_collections.dss.apinode.plugins.module_utils import _archive, _package

TAG = json.dumps({'generationId': 'v1', 'createdOn': 1700000001000}).encode('utf-8')


def write_zip(path, members, links=None):
    """``members`` name -> bytes; ``links`` name -> target, stored as symbolic links (Unix external attributes)."""
    with zipfile.ZipFile(str(path), 'w') as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return str(path)


def write_tar(path, members, links=None, hardlinks=None):
    with tarfile.open(str(path), 'w:gz') as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for kind, table in ((tarfile.SYMTYPE, links or {}), (tarfile.LNKTYPE, hardlinks or {})):
            for name, target in table.items():
                info = tarfile.TarInfo(name)
                info.type = kind
                info.linkname = target
                archive.addfile(info)
    return str(path)


UNSAFE_NAMES = ['../../x.txt', 'model/../../x.txt', '/etc/cron.d/x', '..', 'a/../..', 'C:/Windows/x', '..\\x.txt',
                '\\\\server\\share\\x']


@pytest.mark.parametrize('name', UNSAFE_NAMES)
def test_zip_members_with_unsafe_names_are_refused_by_name(tmp_path, name):
    archive = write_zip(tmp_path / 'p.zip', {'tag.json': TAG, name: b'x'})
    with pytest.raises(_archive.ArchiveError) as info:
        _archive.check_members(archive, 'Package archive')
    assert info.value.member == name
    assert repr(name) in str(info.value) and str(info.value).startswith('Package archive %s has an unsafe member' % archive)


@pytest.mark.parametrize('name', UNSAFE_NAMES)
def test_tar_members_with_unsafe_names_are_refused(tmp_path, name):
    archive = write_tar(tmp_path / 'm.tar.gz', {'model/config.json': b'{}', name: b'x'})
    with pytest.raises(_archive.ArchiveError) as info:
        _archive.check_members(archive, 'Model archive')
    assert info.value.member == name


@pytest.mark.parametrize('target', ['../../etc/passwd', '/etc/passwd', '../..', 'a/../../..'])
def test_links_leaving_the_archive_are_refused(tmp_path, target):
    zipped = write_zip(tmp_path / 'p.zip', {'tag.json': TAG}, links={'model/link': target})
    tarred = write_tar(tmp_path / 'm.tgz', {'model/a': b'a'}, links={'model/link': target})
    for archive in (zipped, tarred):
        with pytest.raises(_archive.ArchiveError) as info:
            _archive.check_members(archive)
        assert info.value.member == 'model/link' and target in str(info.value)


def test_hard_links_outside_the_archive_are_refused(tmp_path):
    archive = write_tar(tmp_path / 'm.tar', {'a': b'a'}, hardlinks={'b': '../../etc/shadow'})
    with pytest.raises(_archive.ArchiveError, match="'b'"):
        _archive.check_members(archive)


def test_links_inside_the_archive_and_dotted_names_are_accepted(tmp_path):
    members = {'tag.json': TAG, 'model/..data/x': b'1', 'model/v1..2/y': b'2', './model/z': b'3'}
    links = {'model/current': 'v1..2/y', 'model/up': '../tag.json'}
    _archive.check_members(write_zip(tmp_path / 'ok.zip', members, links=links))
    _archive.check_members(write_tar(tmp_path / 'ok.tgz', members, links=links, hardlinks={'h': 'model/..data/x'}))


def test_a_file_that_is_no_archive_is_refused(tmp_path):
    junk = tmp_path / 'model.bin'
    junk.write_bytes(b'not an archive at all' * 50)
    with pytest.raises(_archive.ArchiveError, match='neither a zip nor a tar archive'):
        _archive.check_members(str(junk), 'Model archive')


def test_only_the_central_directory_and_link_targets_are_read(tmp_path, monkeypatch):
    archive = write_zip(tmp_path / 'big.zip', {'tag.json': TAG, 'padding.bin': b'\0' * 2000000},
                        links={'model/link': 'padding.bin'})
    read = []
    original = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        read.append(getattr(name, 'filename', name))
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, 'open', spy)
    _archive.check_members(archive)
    assert read == ['model/link']


def test_read_tag_refuses_a_package_with_a_traversal_member(tmp_path):
    archive = write_zip(tmp_path / 'evil.zip', {'tag.json': TAG, '../../x.txt': b'owned'})
    with pytest.raises(_package.PackageError) as info:
        _package.read_tag(archive)
    assert "unsafe member '../../x.txt'" in str(info.value)
