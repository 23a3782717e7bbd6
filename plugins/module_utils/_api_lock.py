# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The deploy lock of a node reached only through its admin API (``api`` transport): an admin API key.

The admin API has no lock, and no resource that two callers cannot both create. The lock is an
admin API key labelled ``dss.apinode deploy lock`` whose description holds
``{"owner": <run id>, "holder": <who/where>, "since": <ISO 8601 UTC>}``; its secret is random and
never shown or kept. The lock belongs to the **oldest** such key, ordered by the node's own
``createdOn`` (epoch ms), then by owner: a total order that every run computes the same way.

Why two runs can never both hold it: a run first creates its key, then lists the keys, and
proceeds only when every other run's lock key is strictly younger than its own (a later
``createdOn``); otherwise it deletes its key and stops. Of two racing runs, the one that lists
second sees both keys; if its key is younger it stops, and if the keys were created in the same
millisecond both stop (safe, and rare). The run that lists first saw no other key, so the other
run's key is younger and that run stops. So at most one run proceeds; the node's own clock orders
the keys, so controllers' clocks do not matter.

The same kind of key, labelled ``dss.apinode drain``, marks a node that a run took out of its load
balancer over the admin API (``_drain``), so that a later run can tell who drained it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import random
import string
import time

from ansible_collections.dss.apinode.plugins.module_utils import _versions
from ansible_collections.dss.apinode.plugins.module_utils._client import ApiNodeError, path

LOCK_LABEL = 'dss.apinode deploy lock'
_SECRET_CHARS = string.ascii_letters + string.digits


class ApiLockHeld(Exception):
    """Another run holds the node's lock key; the message says who and how to remove a stale one."""


def holder_of(key):
    """The ``{owner, holder, since}`` of a lock key, ``{}`` when its description is not ours."""
    try:
        data = json.loads(key.get('description') or '')
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def lock_keys(keys):
    """The lock keys of a ``GET keys`` answer, oldest first."""
    return marker_keys(keys, LOCK_LABEL)


def held_message(key):
    holder = holder_of(key)
    return ('Another rollout holds the deploy lock of this node: the admin API key labelled "%s" (%s, since %s). '
            'If no rollout is running any more, delete that key (dss.apinode.apinode_key with label "%s" and '
            'state absent, or bin/apinode-admin admin-key-delete on the node).'
            % (LOCK_LABEL, holder.get('holder') or 'holder unknown', holder.get('since') or 'an unknown time',
               LOCK_LABEL))


def _verdict(keys, owner):
    """'free', 'ours', or the other run's key that holds the lock."""
    mine = [k for k in keys if holder_of(k).get('owner') == owner]
    others = [k for k in keys if holder_of(k).get('owner') != owner]
    if not others:
        return 'ours' if mine else 'free'
    ours_since = min(k.get('createdOn') or 0 for k in mine) if mine else None
    if ours_since is not None and all((k.get('createdOn') or 0) > ours_since for k in others):
        return 'ours'  # the other run's key is younger: that run backs off
    return others[0]


def check(client, owner):
    """'free', 'ours' or raise ApiLockHeld, without changing anything (check mode)."""
    verdict = _verdict(lock_keys(client.get('keys')), owner)
    if isinstance(verdict, dict):
        raise ApiLockHeld(held_message(verdict))
    return verdict


def acquire(client, owner, holder, now=None, rng=None):
    """Take the lock for ``owner``: True when taken now, False when this owner held it already."""
    if check(client, owner) == 'ours':
        return False
    secret = create_marker(client, LOCK_LABEL, owner, holder, now=now, rng=rng)
    verdict = _verdict(lock_keys(client.get('keys')), owner)
    if isinstance(verdict, dict):
        release(client, owner, secret)
        raise ApiLockHeld(held_message(verdict))
    return True


def create_marker(client, label, owner, holder, now=None, rng=None):
    """Create an admin API key labelled ``label`` that names its owner; returns its random secret."""
    rng = rng or random.SystemRandom()
    secret = ''.join(rng.choice(_SECRET_CHARS) for _dummy in range(32))
    client.add_secret(secret)
    since = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now))
    description = json.dumps(dict(owner=owner, holder=holder or owner, since=since), sort_keys=True)
    client.post('keys', body=dict(label=label, description=description, createdBy='dss.apinode', key=secret))
    return secret


def marker_keys(keys, label):
    """The keys of a ``GET keys`` answer labelled ``label``, oldest first."""
    found = [k for k in keys or [] if isinstance(k, dict) and k.get('label') == label]
    return sorted(found, key=lambda k: (k.get('createdOn') or 0, holder_of(k).get('owner') or ''))


def delete_markers(client, label, owner=None, secret=None):
    """Delete the keys labelled ``label`` (of ``owner`` only, when given); True when one was deleted."""
    removed = False
    for key in marker_keys(client.get('keys'), label):
        if owner is not None and holder_of(key).get('owner') != owner:
            continue
        _delete(client, key, secret)
        removed = True
    return removed


def release(client, owner, secret=None):
    """Delete every lock key of ``owner``; True when one was deleted. Other owners' keys are left alone."""
    return delete_markers(client, LOCK_LABEL, owner, secret)


def _delete(client, key, secret):
    # Delete by id (DSS 13.1.1+); older nodes list the secret, and answer 404/405 to the id path.
    value = key.get('key') or secret
    by_id = _versions.has_feature('delete_key_by_id', _versions.node_version(client, probe=False)) is not False
    if key.get('id') and (by_id or not value):
        try:
            client.request('DELETE', path('keys', key['id'], 'key'), retry_safe=True)
            return
        except ApiNodeError as err:
            if err.status not in (404, 405) or not value:
                raise
    if not value:
        raise ApiNodeError('Cannot delete the lock key of this run: the node lists neither its id nor its secret.')
    client.add_secret(value)
    client.delete(path('keys', value), retry_safe=True)
