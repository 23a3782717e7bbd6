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
proceeds only when its own key is the first of the order; otherwise it deletes its key and stops.
Of two racing runs, the one whose key is older in the order is first in every listing made after
both keys exist, and the other run lists after creating its own key, so it sees the older key and
stops. A run that lists before the other run's key exists has the older key. So at most one run
proceeds; the node's own clock orders the keys, so controllers' clocks do not matter.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import random
import string
import time

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
    """The lock keys of a ``GET keys`` answer, oldest first (the first one holds the lock)."""
    found = [k for k in keys or [] if isinstance(k, dict) and k.get('label') == LOCK_LABEL]
    return sorted(found, key=lambda k: (k.get('createdOn') or 0, holder_of(k).get('owner') or ''))


def held_message(key):
    holder = holder_of(key)
    return ('Another rollout holds the deploy lock of this node: the admin API key labelled "%s" (%s, since %s). '
            'If no rollout is running any more, delete that key (dss.apinode.apinode_key with label "%s" and '
            'state absent, or bin/apinode-admin admin-key-delete on the node).'
            % (LOCK_LABEL, holder.get('holder') or 'holder unknown', holder.get('since') or 'an unknown time',
               LOCK_LABEL))


def check(client, owner):
    """'free', 'ours' or raise ApiLockHeld, without changing anything (check mode)."""
    keys = lock_keys(client.get('keys'))
    if not keys:
        return 'free'
    if holder_of(keys[0]).get('owner') == owner:
        return 'ours'
    raise ApiLockHeld(held_message(keys[0]))


def acquire(client, owner, holder, now=None, rng=None):
    """Take the lock for ``owner``: True when taken now, False when this owner held it already."""
    if check(client, owner) == 'ours':
        return False
    rng = rng or random.SystemRandom()
    secret = ''.join(rng.choice(_SECRET_CHARS) for _dummy in range(32))
    client.add_secret(secret)
    since = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now))
    description = json.dumps(dict(owner=owner, holder=holder or owner, since=since), sort_keys=True)
    client.post('keys', body=dict(label=LOCK_LABEL, description=description, createdBy='dss.apinode', key=secret))
    keys = lock_keys(client.get('keys'))
    if keys and holder_of(keys[0]).get('owner') != owner:
        release(client, owner, secret)
        raise ApiLockHeld(held_message(keys[0]))
    return True


def release(client, owner, secret=None):
    """Delete every lock key of ``owner``; True when one was deleted. Other owners' keys are left alone."""
    removed = False
    for key in lock_keys(client.get('keys')):
        if holder_of(key).get('owner') != owner:
            continue
        _delete(client, key, secret)
        removed = True
    return removed


def _delete(client, key, secret):
    # Delete by id (DSS 13.1.1+); older nodes list the secret, and answer 404/405 to the id path.
    value = key.get('key') or secret
    if key.get('id'):
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
