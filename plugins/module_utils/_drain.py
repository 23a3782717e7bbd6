# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Take a node out of its load balancer while it switches, and put it back.

A node answers ``/isAlive/`` with 503 while its data dir holds ``apinode-not-alive.txt`` (DSS health
monitoring docs); load balancers that probe ``/isAlive/`` stop sending it queries. Two ways in:

- ``flag``: the module runs on the node (``node`` transport) and writes the flag file itself. The
  file says that dss.apinode wrote it, for which run, so that a later run can tell a node left
  drained by an interrupted rollout (put back) from one an operator drained by hand (left alone).
- ``api``: the admin API's ``set-not-alive`` / ``set-alive`` (seen in DSS 9.0.5; they touch and
  remove the same file). The node does not say who drained it, so the run also creates an admin API
  key labelled ``dss.apinode drain`` that names it (``_api_lock``), deleted when the node is put
  back: a node found out of its pool with such a key was left out by an interrupted rollout.

A node that was already out of the pool before the switch is never put back by the switch.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile
import time

from ansible_collections.dss.apinode.plugins.module_utils import _api_lock

FLAG_NAME = 'apinode-not-alive.txt'
MARK = 'dss.apinode drain'
DRAIN_LABEL = MARK  # the label of the admin API key that names who drained a node over the admin API


def read_flag(flag_path):
    """None when the node is not drained by its flag file, else ``{ours, owner, holder, since}``."""
    try:
        with open(flag_path) as handle:
            text = handle.read()
    except (IOError, OSError):
        return None if not os.path.exists(flag_path) else dict(ours=False)
    lines = text.splitlines()
    if not lines or lines[0].strip() != MARK:
        return dict(ours=False)
    fields = dict(line.split(': ', 1) for line in lines[1:] if ': ' in line)
    return dict(ours=True, owner=fields.get('owner'), holder=fields.get('holder'), since=fields.get('since'))


def write_flag(flag_path, owner, holder, now=None):
    since = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now))
    handle, tmp = tempfile.mkstemp(dir=os.path.dirname(flag_path) or '.', prefix='.not-alive-')
    with os.fdopen(handle, 'w') as out:
        out.write('%s\nowner: %s\nholder: %s\nsince: %s\n' % (MARK, owner, holder or owner, since))
    os.rename(tmp, flag_path)


def api_drained(client):
    """True when ``/isAlive/`` answers 503 (forced not alive, or unhealthy)."""
    response = client.request('GET', '/isAlive/', auth=False, expect_error_statuses=(503,))
    return response.status == 503


def read_api(client):
    """Like ``read_flag``, over the admin API: None when ``/isAlive/`` answers 200, else who drained it
    (from a ``dss.apinode drain`` key, when there is one)."""
    if not api_drained(client):
        return None
    markers = _api_lock.marker_keys(client.get('keys'), DRAIN_LABEL)
    if not markers:
        return dict(ours=False)
    holder = _api_lock.holder_of(markers[0])
    return dict(ours=True, owner=holder.get('owner'), holder=holder.get('holder'), since=holder.get('since'))


def put_back_api(client):
    """Put back a node that dss.apinode drained over the admin API (its drain keys go too)."""
    client.post('set-alive', retry_safe=True)
    _api_lock.delete_markers(client, DRAIN_LABEL)


class Drain(object):
    """One node's drain for one switch: ``take()`` before it, ``give_back()`` on every way out."""

    def __init__(self, client, mode, flag_path=None, owner=None, holder=None, seconds=0, sleep=time.sleep):
        if mode == 'flag' and not flag_path:
            raise ValueError('the flag drain needs the path of the flag file')
        self.client, self.mode, self.flag_path = client, mode, flag_path
        self.owner, self.holder, self.seconds, self.sleep = owner, holder, seconds, sleep
        self.taken = False
        self.was_out = False

    def take(self):
        """Out of the pool, then wait ``seconds`` for the queries in flight. A node already out stays as it is."""
        if self.mode == 'flag':
            found = read_flag(self.flag_path)
            self.was_out = found is not None and not found.get('ours')
            if not self.was_out:
                write_flag(self.flag_path, self.owner, self.holder)
        elif self.mode == 'api':
            self.was_out = api_drained(self.client)
            if not self.was_out:
                _api_lock.create_marker(self.client, DRAIN_LABEL, self.owner, self.holder)
                self.client.post('set-not-alive', retry_safe=True)
        else:
            return
        self.taken = not self.was_out
        if self.seconds and self.taken:
            self.sleep(self.seconds)

    def give_back(self):
        """Back in the pool if this drain took it out. Returns True when it did."""
        if not self.taken:
            return False
        if self.mode == 'flag':
            put_back_flag(self.flag_path)
        else:
            self.client.post('set-alive', retry_safe=True)
            _api_lock.delete_markers(self.client, DRAIN_LABEL, self.owner)
        self.taken = False
        return True


def put_back_flag(flag_path):
    """Remove a flag file that dss.apinode wrote (never an operator's). True when removed."""
    found = read_flag(flag_path)
    if not found or not found.get('ours'):
        return False
    try:
        os.remove(flag_path)
    except OSError:
        if os.path.exists(flag_path):
            raise
    return True


def describe(found):
    """A sentence for a node found drained at the start of a call (plan and fleet status)."""
    if not found.get('ours'):
        return 'the node is out of its load balancer (its not-alive flag not written by dss.apinode): left as it is'
    return ('the node was left out of its load balancer by an interrupted rollout (%s, since %s): it is put back'
            % (found.get('holder') or found.get('owner') or 'holder unknown', found.get('since') or 'an unknown time'))
