# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read the identity of an API service package (a zip made by the design node's "Prepare package").

Only the zip's central directory and the small ``tag.json`` member are read, so a 1 GB package
costs the same few milliseconds as a small one. A package with an unsafe member (see ``_archive``)
is refused here, so every reader of a package refuses it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import zipfile

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.dss.apinode.plugins.module_utils._archive import ArchiveError, check_zip

TAG_FILE = 'tag.json'
# Most tags are a few hundred bytes; a bigger one is not a package tag.
MAX_TAG_BYTES = 1024 * 1024


class PackageError(Exception):
    """The archive is missing, unreadable or not an API service package."""


def read_tag(archive):
    """The package's ``tag.json`` as a dict with at least ``generationId`` (str) and ``createdOn`` (int).

    Raises PackageError when the file is missing, not a zip, has no valid tag, or has a member whose
    name is absolute, has a ``..`` component, or is a link leaving the archive.
    """
    if not os.path.exists(archive):
        raise PackageError('Package archive %s does not exist (on the host where the module runs).' % archive)
    if not os.path.isfile(archive):
        raise PackageError('Package archive %s is not a regular file.' % archive)
    try:
        with zipfile.ZipFile(archive) as package:
            try:
                info = package.getinfo(TAG_FILE)
            except KeyError:
                raise PackageError('Package archive %s has no %s at its root: it is not an API service package '
                                   '(use the zip made by "Prepare package" in the API Designer).' % (archive, TAG_FILE))
            if info.file_size > MAX_TAG_BYTES:
                raise PackageError('The %s of package archive %s is %d bytes: not a package tag.'
                                   % (TAG_FILE, archive, info.file_size))
            raw = package.read(info)
            check_zip(package, archive, 'Package archive')
    except ArchiveError as err:
        raise PackageError(to_text(err))
    except (zipfile.BadZipfile, zipfile.LargeZipFile, EOFError) as err:
        raise PackageError('Package archive %s is not a readable zip file (corrupted or truncated?): %s'
                           % (archive, to_text(err)))
    except (IOError, OSError) as err:
        raise PackageError('Cannot read package archive %s: %s' % (archive, to_text(err)))
    return parse_tag(raw, archive)


def parse_tag(raw, archive='package'):
    """Check the fields of a ``tag.json`` body (bytes or text) and return it as a dict."""
    try:
        tag = json.loads(to_text(raw, errors='surrogate_or_strict'))
    except (ValueError, UnicodeError) as err:
        raise PackageError('The %s of package archive %s is not valid JSON: %s' % (TAG_FILE, archive, to_text(err)))
    if not isinstance(tag, dict):
        raise PackageError('The %s of package archive %s is not a JSON object.' % (TAG_FILE, archive))
    generation = tag.get('generationId')
    if not isinstance(generation, str) or not generation.strip():
        raise PackageError('The %s of package archive %s has no generationId.' % (TAG_FILE, archive))
    created_on = tag.get('createdOn')
    if isinstance(created_on, bool) or not isinstance(created_on, int):
        raise PackageError('The %s of package archive %s has no integer createdOn (epoch milliseconds), got %r.'
                           % (TAG_FILE, archive, created_on))
    return tag


def identity(tag_or_generation):
    """What makes two packages the same: (generationId, createdOn)."""
    return (tag_or_generation.get('generationId'), tag_or_generation.get('createdOn'))
