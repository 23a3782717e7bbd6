# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Refuse archives whose members would land outside the folder they are unpacked in.

A node unpacks service packages and model archives with a reader that does not refuse such names,
so every archive the collection reads or ships is checked here first: a member whose name is
absolute or has a ``..`` component, and a link member whose target leaves the archive, are refused.

For a zip, only the central directory is read (plus the few bytes of each symbolic link's target),
so a 1 GB package costs milliseconds. A tar has no directory: its member headers are read in
order, which for a compressed tar means decompressing it once.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re
import stat
import tarfile
import zipfile

from ansible.module_utils.common.text.converters import to_text

# A Windows drive (C:) or UNC start is absolute on the platform that may unpack it.
_DRIVE = re.compile(r'\A[A-Za-z]:')
# Longest link target read from a zip; a real target is a short path.
MAX_LINK_BYTES = 4096


class ArchiveError(Exception):
    """The archive cannot be read, or one of its members is unsafe; ``member`` names that member."""

    def __init__(self, msg, member=None):
        super(ArchiveError, self).__init__(msg)
        self.member = member


def name_problem(name):
    """Why a member name is unsafe ('absolute', 'has a .. component'), or None."""
    name = to_text(name)
    unified = name.replace('\\', '/')
    if unified.startswith('/') or _DRIVE.match(unified):
        return 'its name is absolute'
    if '..' in unified.split('/'):
        return 'its name has a ".." component'
    if '\x00' in name:
        return 'its name has a NUL character'
    return None


def link_problem(name, target):
    """Why a symbolic link member ``name`` -> ``target`` is unsafe (it leaves the archive), or None."""
    unified = to_text(target).replace('\\', '/')
    if unified.startswith('/') or _DRIVE.match(unified):
        return 'it is a link to the absolute path %s' % target
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(to_text(name).replace('\\', '/')), unified))
    if resolved == '..' or resolved.startswith('../'):
        return 'it is a link to %s, outside the archive' % target
    return None


def _refuse(archive, member, why, what):
    raise ArchiveError('%s %s has an unsafe member %r: %s. Refused before it is copied or sent, because the node '
                       'would unpack it outside its folder.' % (what, archive, to_text(member), why), member=member)


def check_zip(package, archive, what='Archive'):
    """Check every member of an open ``zipfile.ZipFile``; raise ArchiveError naming the first unsafe one."""
    for info in package.infolist():
        why = name_problem(info.filename)
        if why is None and stat.S_ISLNK(info.external_attr >> 16):
            if info.file_size > MAX_LINK_BYTES:
                why = 'it is a link with a %d-byte target' % info.file_size
            else:
                why = link_problem(info.filename, to_text(package.read(info), errors='surrogate_or_replace'))
        if why:
            _refuse(archive, info.filename, why, what)


def check_tar(bundle, archive, what='Archive'):
    """Check every member of an open ``tarfile.TarFile``; raise ArchiveError naming the first unsafe one."""
    for info in bundle:
        why = name_problem(info.name)
        if why is None and info.issym():
            why = link_problem(info.name, info.linkname)
        elif why is None and info.islnk():
            # A hard link names another member of the archive, from its root.
            target_problem = name_problem(info.linkname)
            why = 'it is a hard link to %s, outside the archive' % info.linkname if target_problem else None
        elif why is None and (info.ischr() or info.isblk()):
            why = 'it is a device file'
        if why:
            _refuse(archive, info.name, why, what)


def check_members(archive, what='Archive'):
    """Check a zip or tar file on disk (any compression tarfile reads); raise ArchiveError when a member is unsafe,
    or when the file is neither a readable zip nor a readable tar. ``what`` starts the message ('Package archive')."""
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as package:
                check_zip(package, archive, what)
            return
        if tarfile.is_tarfile(archive):
            with tarfile.open(archive, 'r:*') as bundle:
                check_tar(bundle, archive, what)
            return
    except (zipfile.BadZipfile, zipfile.LargeZipFile, tarfile.TarError, EOFError) as err:
        raise ArchiveError('%s %s is not a readable archive (corrupted or truncated?): %s' % (what, archive, to_text(err)))
    except (IOError, OSError) as err:
        raise ArchiveError('Cannot read %s %s: %s' % (what.lower(), archive, to_text(err)))
    raise ArchiveError('%s %s is neither a zip nor a tar archive.' % (what, archive))
