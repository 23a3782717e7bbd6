# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The deploy lock of a node: a folder on the node's disk, taken by one rollout (one run) at a time.

Taking it is an atomic ``mkdir``; ``holder.json`` inside says who holds it:
``{"owner": <run id>, "holder": <who/where, human text>, "since": <ISO 8601 UTC>}``. The plays of one
run share the owner, so a later play of the same run accepts the lock an earlier play took.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import shutil
import tempfile
import time

HOLDER_FILE = 'holder.json'


class LockHeld(Exception):
    """Another owner holds the lock; the message says who and how to remove a stale lock."""


def read_holder(path):
    """The ``holder.json`` of the lock folder ``path`` as a dict, ``{}`` if unreadable, None if there is no lock."""
    if not os.path.isdir(path):
        return None
    try:
        with open(os.path.join(path, HOLDER_FILE)) as handle:
            data = json.load(handle)
    except (IOError, OSError, ValueError):
        return {}  # taken a moment ago and not written yet, or damaged: held, by someone unknown
    return data if isinstance(data, dict) else {}


def held_message(path, holder):
    holder = holder or {}
    who, since = holder.get('holder') or 'holder unknown', holder.get('since') or 'an unknown time'
    return ('Another rollout holds the deploy lock %s (%s, since %s). If no rollout is running any more, remove the '
            'stale lock with: rm -r \'%s\'' % (path, who, since, path))


def check(path, owner):
    """'free', 'ours' or raise LockHeld, without changing anything (check mode)."""
    holder = read_holder(path)
    if holder is None:
        return 'free'
    if holder.get('owner') == owner:
        return 'ours'
    raise LockHeld(held_message(path, holder))


def acquire(path, owner, holder, now=None):
    """Take the lock for ``owner``: True when taken now, False when this owner held it already.

    Raises LockHeld when another owner holds it, and OSError when the folder cannot be made.
    """
    parent = os.path.dirname(os.path.normpath(path))
    if parent and not os.path.isdir(parent):
        os.makedirs(parent)
    try:
        os.mkdir(path)
    except OSError as err:
        if err.errno != errno.EEXIST:
            raise
        check(path, owner)
        return False
    since = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now))
    handle, tmp = tempfile.mkstemp(dir=path, prefix='.holder-')
    with os.fdopen(handle, 'w') as out:
        json.dump(dict(owner=owner, holder=holder or owner, since=since), out, sort_keys=True)
    os.rename(tmp, os.path.join(path, HOLDER_FILE))
    return True


def release(path, owner):
    """Remove the lock if ``owner`` holds it; True when removed. Another owner's lock is left alone."""
    holder = read_holder(path)
    if holder is None or holder.get('owner') != owner:
        return False
    shutil.rmtree(path)
    return True
