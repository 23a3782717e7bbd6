# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Content fingerprints of artefacts on the node, and the marker files that remember them.

The admin API cannot list what the code-env and model caches hold, so a module that imports an
artefact records the artefact's fingerprint in a small JSON marker file, and a later run that
finds the same fingerprint for the same node knows that the import is already done.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import tempfile
import time

_CHUNK = 1024 * 1024
MARKER_FORMAT = 1


def fingerprint(file_or_dir):
    """sha256 of a file's content, or of a folder's relative file names and contents (symlinks as links)."""
    digest = hashlib.sha256()
    if os.path.isdir(file_or_dir):
        for root, dirs, files in os.walk(file_or_dir):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(root, name)
                rel = os.path.relpath(full, file_or_dir).replace(os.sep, '/')
                digest.update(b'F\0' + rel.encode('utf-8') + b'\0')
                if os.path.islink(full):
                    digest.update(b'L\0' + os.readlink(full).encode('utf-8') + b'\0')
                else:
                    _hash_file(digest, full)
    else:
        _hash_file(digest, file_or_dir)
    return 'sha256:' + digest.hexdigest()


def _hash_file(digest, file_path):
    with open(file_path, 'rb') as handle:
        while True:
            chunk = handle.read(_CHUNK)
            if not chunk:
                break
            digest.update(chunk)


def _node_tag(node_url):
    """Short hash of the node URL in marker file names (a trailing slash names the same node)."""
    return hashlib.sha256(node_url.rstrip('/').encode('utf-8')).hexdigest()[:12]


def marker_path(state_dir, kind, artefact, node_url):
    """One marker per (artefact, kind, node): a staging dir shared by several nodes stays correct."""
    name = os.path.basename(os.path.normpath(artefact)) or 'artefact'
    return os.path.join(state_dir, '%s.%s.%s.json' % (name, kind, _node_tag(node_url)))


def read_marker(marker):
    try:
        with open(marker, 'r') as handle:
            data = json.load(handle)
    except (IOError, OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_marker(marker, record):
    """Written atomically (temp file + rename) so that an interrupted run never leaves half a marker."""
    directory = os.path.dirname(marker)
    if not os.path.isdir(directory):
        os.makedirs(directory)
    record = dict(record, format=MARKER_FORMAT, recorded_on=int(time.time() * 1000))
    handle, tmp = tempfile.mkstemp(dir=directory, prefix='.marker-')
    try:
        with os.fdopen(handle, 'w') as out:
            json.dump(record, out, indent=2, sort_keys=True)
        os.rename(tmp, marker)
    except Exception:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return record


def forget_markers(state_dir, kind, node_url):
    """Remove the markers of one kind for one node (after a cache clean-up made them stale)."""
    suffix = '.%s.%s.json' % (kind, _node_tag(node_url))
    removed = []
    if os.path.isdir(state_dir):
        for name in sorted(os.listdir(state_dir)):
            if name.endswith(suffix):
                os.remove(os.path.join(state_dir, name))
                removed.append(name)
    return removed


def read_node_markers(state_dir, node_url):
    """The markers of one node in ``state_dir``, sorted by artefact path then kind.

    Files that are not markers, cannot be read, or were written for another node (by URL, not only
    by the hash in their name) are left out: the listing only reports what this node received.
    """
    tag = _node_tag(node_url)
    node = node_url.rstrip('/')
    records = []
    if not os.path.isdir(state_dir):
        return records
    for name in os.listdir(state_dir):
        if not name.endswith('.%s.json' % tag):
            continue
        record = read_marker(os.path.join(state_dir, name))
        if not record or not all(isinstance(record.get(k), str) for k in ('kind', 'path', 'fingerprint', 'node')):
            continue
        if record['node'].rstrip('/') != node or not name.endswith('.%s.%s.json' % (record['kind'], tag)):
            continue
        records.append(record)
    return sorted(records, key=lambda r: (r['path'], r['kind']))
