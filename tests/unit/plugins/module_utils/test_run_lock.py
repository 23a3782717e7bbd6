# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.dss.apinode.plugins.module_utils import _run_lock


@pytest.fixture
def lock(tmp_path):
    return str(tmp_path / 'staging' / '.deploy.lock')


def test_take_writes_the_holder(lock):
    assert _run_lock.check(lock, 'run-1') == 'free'
    assert _run_lock.acquire(lock, 'run-1', 'alice from ctl', now=0) is True
    with open(os.path.join(lock, 'holder.json')) as handle:
        assert json.load(handle) == dict(owner='run-1', holder='alice from ctl', since='1970-01-01T00:00:00Z')
    assert os.listdir(lock) == ['holder.json']


def test_same_owner_accepts_its_own_lock(lock):
    _run_lock.acquire(lock, 'run-1', 'alice')
    assert _run_lock.acquire(lock, 'run-1', 'alice again') is False
    assert _run_lock.check(lock, 'run-1') == 'ours'
    assert _run_lock.read_holder(lock)['holder'] == 'alice'


def test_another_owner_is_refused_with_the_way_out(lock):
    _run_lock.acquire(lock, 'run-1', 'alice from ctl', now=86400)
    for attempt in (lambda: _run_lock.acquire(lock, 'run-2', 'bob'), lambda: _run_lock.check(lock, 'run-2')):
        with pytest.raises(_run_lock.LockHeld) as info:
            attempt()
        assert str(info.value) == ("Another rollout holds the deploy lock %s (alice from ctl, since 1970-01-02T00:00:00Z). "
                                   "If no rollout is running any more, remove the stale lock with: rm -r '%s'" % (lock, lock))
    assert _run_lock.release(lock, 'run-2') is False
    assert os.path.isdir(lock)


def test_a_lock_without_holder_file_is_held_by_someone_unknown(lock):
    os.makedirs(lock)
    with pytest.raises(_run_lock.LockHeld) as info:
        _run_lock.acquire(lock, 'run-1', 'alice')
    assert '(holder unknown, since an unknown time)' in str(info.value)


def test_release(lock):
    assert _run_lock.release(lock, 'run-1') is False
    _run_lock.acquire(lock, 'run-1', 'alice')
    assert _run_lock.release(lock, 'run-1') is True
    assert not os.path.exists(lock)
    assert _run_lock.acquire(lock, 'run-2', 'bob') is True
