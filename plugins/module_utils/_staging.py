# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The staging folder of a node: which staged files are still needed, and the record of the last rollout.

Layout (the action plugin copies the artefacts there, each under a path of its own):

- ``<staging>/packages/<service>/<generation>/<file>``: a service package;
- ``<staging>/code-envs/<16 hex digits of its fingerprint>/<folder>``: an exported code env;
- ``<staging>/models/<16 hex digits of its fingerprint>/<file>``: a model archive;
- ``<staging>/last-rollout.json``: what each service served before the last activation that switched
  something (``{owner, at, previous: [{id, existed, enabled, mapping}]}``), read back by a rollback.

``prunable`` is pure logic; ``listing``, ``remove``, ``read_record`` and ``write_record`` touch the disk.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import tempfile
import time

PACKAGES = 'packages'
CONTENT_ADDRESSED = ('code-envs', 'models')
RECORD_FILE = 'last-rollout.json'
FINGERPRINT_DIGITS = 16


def listing(staging_dir):
    """What the staging folder holds, as ``{'packages': {service: [generation]}, 'code-envs': [hex],
    'models': [hex]}`` (missing folders are empty)."""
    out = {PACKAGES: {}}
    packages = os.path.join(staging_dir, PACKAGES)
    for service in _dirs(packages):
        out[PACKAGES][service] = _dirs(os.path.join(packages, service))
    for kind in CONTENT_ADDRESSED:
        out[kind] = _dirs(os.path.join(staging_dir, kind))
    return out


def _dirs(path):
    try:
        return sorted(n for n in os.listdir(path) if not n.startswith('.') and os.path.isdir(os.path.join(path, n)))
    except (IOError, OSError):
        return []


def prunable(found, keep_generations, keep_fingerprints):
    """The staging folders (relative paths) that nothing needs any more.

    ``found``: a ``listing``. ``keep_generations``: ``{service: set of generation ids}`` for every release
    service - the generations still on the node after retention (rollback targets among them) and the one
    the release brings; packages of other services are never touched. ``keep_fingerprints``: the
    ``sha256:<hex>`` fingerprints of the release's code envs and model archives.
    """
    out = []
    for service, generations in sorted(found.get(PACKAGES, {}).items()):
        if service not in keep_generations:
            continue
        for generation in generations:
            if generation not in keep_generations[service]:
                out.append('/'.join((PACKAGES, service, generation)))
    wanted = set(f.split(':', 1)[-1][:FINGERPRINT_DIGITS] for f in keep_fingerprints)
    for kind in CONTENT_ADDRESSED:
        out.extend('%s/%s' % (kind, digest) for digest in found.get(kind, []) if digest not in wanted)
    return out


def remove(staging_dir, relative_paths):
    """Delete the folders ``relative_paths`` of the staging folder, and a service folder left empty."""
    for rel in relative_paths:
        shutil.rmtree(os.path.join(staging_dir, rel), ignore_errors=True)
        parent = os.path.dirname(os.path.join(staging_dir, rel))
        if os.path.basename(os.path.dirname(parent)) == PACKAGES:
            try:
                os.rmdir(parent)  # only when empty
            except OSError:
                pass


def record_path(staging_dir):
    return os.path.join(staging_dir, RECORD_FILE)


def read_record(staging_dir):
    """The record of the last rollout, or None when there is none. Raises ValueError for a damaged file."""
    path = record_path(staging_dir)
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        data = json.load(handle)
    if not isinstance(data, dict) or not isinstance(data.get('previous'), list):
        raise ValueError('%s is not a rollout record (it has no previous list)' % path)
    return data


def write_record(staging_dir, previous, owner, now=None):
    """Write the record atomically: ``{owner, at (ISO 8601 UTC), previous}``; returns it."""
    record = dict(owner=owner, at=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now)), previous=previous)
    if not os.path.isdir(staging_dir):
        os.makedirs(staging_dir)
    handle, tmp = tempfile.mkstemp(dir=staging_dir, prefix='.last-rollout-')
    with os.fdopen(handle, 'w') as out:
        json.dump(record, out, sort_keys=True, indent=1)
    os.rename(tmp, record_path(staging_dir))
    return record
