# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Admin keys: masking, expiry conversion, authentication probes and deletion against a real local server."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

import pytest

from ansible_collections.dss.apinode.plugins.module_utils import _keys
from ansible_collections.dss.apinode.plugins.module_utils._client import MASK, ApiNodeError

SECRET = 'OtherKey-7hG2kL9p'
DAY = _keys.DAY_MS
# 2026-01-01T00:00:00Z
JAN_1 = 1767225600000


class FakeModule:
    def __init__(self):
        self.no_log_values = set()


def sent_user(request):
    scheme, encoded = request.headers['authorization'].split(' ', 1)
    assert scheme == 'Basic'
    return base64.b64decode(encoded).decode('ascii')


# -- listing and masking ---------------------------------------------------------------------------

def test_list_keys_registers_every_listed_secret(server, client):
    server.respond(200, [{'id': 'a', 'label': 'x', 'key': SECRET}, {'id': 'b', 'label': 'y'}])
    module = FakeModule()
    keys = _keys.list_keys(client, module)
    assert [k['id'] for k in keys] == ['a', 'b']
    assert module.no_log_values == {SECRET}
    assert client.scrub('value %s here' % SECRET) == 'value %s here' % MASK


def test_key_metadata_masks_the_secret_and_keeps_expiry_fields():
    key = {'id': 'a', 'label': 'ci', 'key': SECRET, 'createdOn': 1, 'expiry': 30, 'expiresOn': JAN_1,
           'unknown': 'dropped', 'description': None}
    assert _keys.key_metadata(key) == {'id': 'a', 'label': 'ci', 'createdOn': 1, 'expiry': 30,
                                       'expiresOn': JAN_1, 'expires_on': '2026-01-01T00:00:00Z', 'key': MASK}
    assert 'key' not in _keys.key_metadata(key, show_mask=False)
    assert _keys.key_metadata(None) is None


@pytest.mark.parametrize('expires', [None, 0, -5, 'never'])
def test_a_key_that_never_expires_has_no_expires_on(expires):
    data = _keys.key_metadata({'id': 'a', 'expiresOn': expires})
    assert 'expires_on' not in data
    assert _keys.expires_on_ms({'expiresOn': expires}) is None


def test_keys_with_label():
    keys = [{'label': 'a'}, {'label': 'b'}, {'label': 'a', 'id': '2'}, {}]
    assert _keys.keys_with_label(keys, 'a') == [{'label': 'a'}, {'label': 'a', 'id': '2'}]


# -- ISO dates -------------------------------------------------------------------------------------

@pytest.mark.parametrize('text, epoch_ms', [
    ('2026-01-01', JAN_1),
    ('2026-01-01T00:00:00Z', JAN_1),
    ('2026-01-01T00:00', JAN_1),
    ('2026-01-01 06:30:15', JAN_1 + (6 * 3600 + 30 * 60 + 15) * 1000),
    ('2026-01-01T00:00:00.250Z', JAN_1 + 250),
    ('2026-01-01T02:00:00+02:00', JAN_1),
    ('2025-12-31T19:00:00-0500', JAN_1),
])
def test_parse_iso_reads_dates_and_date_times_as_utc(text, epoch_ms):
    assert _keys.parse_iso(text) == epoch_ms


@pytest.mark.parametrize('text', ['2026-13-01', '2026-02-30', 'tomorrow', '1767225600000', '2026/01/01', ''])
def test_parse_iso_rejects_what_is_not_a_date(text):
    with pytest.raises(ValueError):
        _keys.parse_iso(text)


def test_iso_from_ms():
    assert _keys.iso_from_ms(JAN_1 + 1500) == '2026-01-01T00:00:01Z'
    # A node that saturates expiresOn at the largest Java long.
    assert _keys.iso_from_ms(2 ** 63 - 1) == '9999-12-31T23:59:59Z'


# -- expiry conversion -----------------------------------------------------------------------------

def test_expiry_days_on_a_days_node_is_sent_as_is():
    assert _keys.expiry_for_node('days', days=30, now=JAN_1) == (30, JAN_1 + 30 * DAY)


def test_expiry_days_on_an_ms_node_becomes_an_absolute_date():
    assert _keys.expiry_for_node('ms', days=30, now=JAN_1) == (JAN_1 + 30 * DAY, JAN_1 + 30 * DAY)


def test_expires_on_on_an_ms_node_is_sent_as_epoch_ms():
    target = JAN_1 + 45 * DAY
    assert _keys.expiry_for_node('ms', expires_on=target, now=JAN_1) == (target, target)


def test_expires_on_on_a_days_node_is_rounded_up_to_whole_days():
    target = JAN_1 + 10 * DAY + 1000
    assert _keys.expiry_for_node('days', expires_on=target, now=JAN_1) == (11, JAN_1 + 11 * DAY)
    assert _keys.expiry_for_node('days', expires_on=JAN_1 + 1, now=JAN_1) == (1, JAN_1 + DAY)


@pytest.mark.parametrize('kwargs', [dict(days=0), dict(days=-3), dict(expires_on=JAN_1), dict(expires_on=JAN_1 - 1)])
def test_expiry_that_is_not_in_the_future_is_refused(kwargs):
    for unit in _keys.EXPIRY_UNITS:
        with pytest.raises(ValueError):
            _keys.expiry_for_node(unit, now=JAN_1, **kwargs)


def test_unknown_unit_is_refused():
    with pytest.raises(ValueError):
        _keys.expiry_for_node('weeks', days=1, now=JAN_1)


def test_expiry_mismatch_only_when_far_off():
    expected = JAN_1 + 30 * DAY
    assert _keys.expiry_mismatch({'expiresOn': expected + DAY}, expected) is None
    assert _keys.expiry_mismatch({}, expected) is None
    assert _keys.expiry_mismatch({'expiresOn': expected}, None) is None
    # A days node reading an epoch-ms value, an ms node reading a day count.
    assert '1970-01-01' in _keys.expiry_mismatch({'expiresOn': 30}, expected)
    assert _keys.expiry_mismatch({'expiresOn': JAN_1 + expected * DAY}, expected)


def test_expiring_includes_past_expiries_and_leaves_out_keys_that_never_expire():
    keys = [{'label': 'past', 'expiresOn': JAN_1 - DAY}, {'label': 'soon', 'expiresOn': JAN_1 + 13 * DAY},
            {'label': 'edge', 'expiresOn': JAN_1 + 14 * DAY}, {'label': 'later', 'expiresOn': JAN_1 + 15 * DAY},
            {'label': 'never'}, {'label': 'zero', 'expiresOn': 0}]
    assert [k['label'] for k in _keys.expiring(keys, 14, now=JAN_1)] == ['past', 'soon', 'edge']
    assert [k['label'] for k in _keys.expiring(keys, 0, now=JAN_1)] == ['past']


# -- authentication probe --------------------------------------------------------------------------

def test_authenticates_with_the_given_secret_and_masks_it(server, client):
    server.respond(200, {}).respond(401, {'message': 'Unknown API key'})
    module = FakeModule()
    assert _keys.authenticates(client, module, SECRET) is True
    assert _keys.authenticates(client, module, 'wrong-secret-123') is False
    assert [r.raw_path for r in server.requests] == ['/admin/api/audit-settings'] * 2
    assert sent_user(server.requests[0]) == SECRET + ':'
    assert sent_user(server.requests[1]) == 'wrong-secret-123:'
    assert {SECRET, 'wrong-secret-123'} <= module.no_log_values


def test_authentication_probe_raises_on_other_errors(server, client):
    server.respond(500, {'message': 'boom'})
    with pytest.raises(ApiNodeError) as info:
        _keys.authenticates(client, FakeModule(), SECRET)
    assert info.value.status == 500
    assert SECRET not in info.value.msg


# -- deletion --------------------------------------------------------------------------------------

def test_delete_by_id_when_the_key_has_one(server, client):
    server.respond(200)
    assert _keys.delete_key(client, {'id': 'k/1', 'key': SECRET}, '13.2.0') == 'id'
    assert [(r.method, r.raw_path) for r in server.requests] == [('DELETE', '/admin/api/keys/k%2F1/key')]


@pytest.mark.parametrize('status', [404, 405])
def test_delete_by_id_falls_back_to_the_value_on_an_old_node(server, client, status):
    server.respond(status, {'message': 'no such path'}).respond(200, {'ok': True})
    assert _keys.delete_key(client, {'id': 'abc', 'key': SECRET}) == 'value'
    assert [(r.method, r.segments[-1]) for r in server.requests] == [('DELETE', 'key'), ('DELETE', SECRET)]
    assert SECRET not in str(client.calls)


def test_a_node_known_to_be_older_gets_the_delete_by_value_at_once(server, client):
    server.respond(200, {'ok': True})
    assert _keys.delete_key(client, {'id': 'abc', 'key': SECRET}, '13.1.0') == 'value'
    assert [r.segments[-1] for r in server.requests] == [SECRET]


def test_no_fallback_without_the_secret(server, client):
    server.respond(404, {'message': 'no such path'})
    with pytest.raises(ApiNodeError) as info:
        _keys.delete_key(client, {'id': 'abc'})
    assert info.value.status == 404
    assert len(server.requests) == 1


def test_other_errors_of_the_delete_by_id_are_not_retried_by_value(server, client):
    server.respond(400, {'message': 'Key to delete not found'})
    with pytest.raises(ApiNodeError):
        _keys.delete_key(client, {'id': 'abc', 'key': SECRET})
    assert len(server.requests) == 1


def test_a_key_without_id_is_deleted_by_value(server, client):
    server.respond(200, {'ok': True})
    assert _keys.delete_key(client, {'key': SECRET}) == 'value'
    assert server.requests[0].segments[-1] == SECRET


@pytest.mark.parametrize('key, version, missing', [
    ({'id': 'a', 'key': SECRET}, '9.0.5', None),
    ({'key': SECRET}, None, None),
    ({'id': 'a'}, '13.1.1', None),
    ({'id': 'a'}, None, None),
    ({'id': 'a'}, '13.1.0', 'delete_key_by_id'),
    ({}, '14.0.0', 'delete_key_by_id'),
])
def test_deletable(key, version, missing):
    assert _keys.deletable(key, version) == missing
