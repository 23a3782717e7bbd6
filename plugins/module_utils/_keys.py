# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Admin API keys as the node lists them, how to show them without their secrets, and their expiry.

Older nodes list every key with its secret (``key``); nodes that store keys hashed (DSS 13.1 and
later, when enabled) list ids and metadata only. Nothing read here may leave a module with a secret
in it.

Expiry (DSS 13.3 and later): the node returns ``expiresOn``, epoch milliseconds (absent or 0: never).
What the ``expiry`` field of a new key means is not published for API nodes. The DSS and Govern keys,
the only public analogue, read it as a lifetime in days, so ``days`` is the default unit here
(INFERRED); ``ms`` reads it as an absolute date in epoch milliseconds.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import calendar
import datetime
import re
import time

from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.dss.apinode.plugins.module_utils._client import MASK, path
from ansible_collections.dss.apinode.plugins.module_utils._versions import PROBE_PATH, has_feature

# Metadata fields a key may carry; the server omits the ones that are null.
KEY_FIELDS = ('id', 'label', 'description', 'createdBy', 'createdOn', 'expiry', 'expiresOn')

DAY_MS = 86400 * 1000
EXPIRY_UNITS = ('days', 'ms')
# A node that read `expiry` in the other unit lands decades away; two days absorbs rounding and clocks.
EXPIRY_TOLERANCE_MS = 2 * DAY_MS

_ISO = re.compile(r'^(\d{4})-(\d{2})-(\d{2})'
                  r'(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?'
                  r'(Z|[+-]\d{2}:?\d{2})?$')


def list_keys(client, module=None):
    """GET keys, with every secret registered so that it is scrubbed from messages and results."""
    keys = client.get('keys') or []
    for key in keys:
        protect_secret(client, module, key.get('key'))
    return keys


def protect_secret(client, module, value):
    """Mask ``value`` in the client's messages and in everything the module returns or logs."""
    if not value:
        return
    client.add_secret(value)
    if module is not None:
        module.no_log_values.add(value)


def key_metadata(key, show_mask=True):
    """The key without its secret; ``key`` becomes a mask when the node had listed the secret.

    ``expires_on`` (ISO 8601, UTC) is added when the node gives a non-zero ``expiresOn``.
    """
    if key is None:
        return None
    data = dict((field, key[field]) for field in KEY_FIELDS if key.get(field) is not None)
    expires = expires_on_ms(key)
    if expires is not None:
        data['expires_on'] = iso_from_ms(expires)
    if show_mask and key.get('key'):
        data['key'] = MASK
    return data


def keys_with_label(keys, label):
    return [key for key in keys if key.get('label') == label]


# -- authentication --------------------------------------------------------------------------------

def basic_credentials(secret):
    """The Authorization header of an admin key: the key as user name, an empty password."""
    return 'Basic ' + to_text(base64.b64encode(to_bytes('%s:' % secret)))


def authenticates(client, module, secret):
    """Whether ``secret`` is an admin key the node accepts (one cheap admin GET made with it).

    A hashed node cannot say which key holds a secret, only whether some key does. Raises the
    client's ApiNodeError for any answer but 2xx, 401 and 403.
    """
    protect_secret(client, module, secret)
    response = client.request('GET', PROBE_PATH, credentials=basic_credentials(secret),
                              expect_error_statuses=(401, 403))
    return response.status < 400


# -- deletion --------------------------------------------------------------------------------------

def delete_key(client, key, dss_version=None):
    """Delete ``key`` (as listed) by id when it has one, else by secret value.

    By id needs DSS 13.1.1: a node known to be older, or one answering 404/405 to it, gets the delete
    by value (DSS 9.0.5) when the secret is known. Returns ``'id'`` or ``'value'``.
    """
    secret = key.get('key')
    if secret:
        client.add_secret(secret)
    if key.get('id') and not (secret and has_feature('delete_key_by_id', dss_version) is False):
        response = client.request('DELETE', path('keys', key['id'], 'key'),
                                  expect_error_statuses=(404, 405) if secret else ())
        if response.status < 400:
            return 'id'
    client.delete(path('keys', secret))
    return 'value'


def deletable(key, dss_version):
    """None when ``key`` can be deleted on a node of ``dss_version``, else the feature that is missing."""
    if key.get('key'):
        return None
    if has_feature('delete_key_by_id', dss_version) is False or not key.get('id'):
        return 'delete_key_by_id'
    return None


# -- expiry ----------------------------------------------------------------------------------------

def now_ms():
    return int(time.time() * 1000)


def expires_on_ms(key):
    """``expiresOn`` of a listed key as an int, or None when the key never expires."""
    value = (key or {}).get('expiresOn')
    try:
        value = int(value)
    except (TypeError, ValueError):
        return None
    return value if value > 0 else None


def iso_from_ms(epoch_ms):
    """Epoch milliseconds -> ``'2026-05-01T12:00:00Z'`` (UTC, whole seconds).

    Dates past year 9999 (a lifetime of billions of days) show as ``9999-12-31T23:59:59Z``.
    """
    try:
        moment = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=int(epoch_ms))
    except OverflowError:
        moment = datetime.datetime.max
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


def parse_iso(text):
    """An ISO 8601 date or date-time -> epoch milliseconds.

    A date alone is midnight UTC; a date-time without offset is UTC; ``Z`` or ``+HH:MM`` offsets are
    honoured. Raises ValueError naming the accepted forms.
    """
    match = _ISO.match(to_text(text).strip())
    if not match:
        raise ValueError('%r is not an ISO 8601 date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM])'
                         % text)
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        moment = datetime.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                                   int(second or 0))
    except ValueError as err:
        raise ValueError('%r is not a valid date: %s' % (text, err))
    epoch_ms = calendar.timegm(moment.timetuple()) * 1000 + int((fraction or '0')[:3].ljust(3, '0'))
    if offset and offset != 'Z':
        sign = -1 if offset[0] == '-' else 1
        digits = offset[1:].replace(':', '')
        epoch_ms -= sign * (int(digits[:2]) * 60 + int(digits[2:])) * 60 * 1000
    return epoch_ms


def expiry_for_node(unit, days=None, expires_on=None, now=None):
    """The ``expiry`` value to send for a lifetime in ``days`` or an absolute ``expires_on`` (epoch ms).

    Returns ``(value, expected expiresOn in epoch ms)``. With ``unit='days'`` an absolute date becomes
    the whole number of days that reaches it (rounded up). Raises ValueError for a date not in the
    future or a lifetime under one day.
    """
    if unit not in EXPIRY_UNITS:
        raise ValueError('unknown expiry unit %r' % unit)
    now = now_ms() if now is None else now
    if days is not None:
        if days < 1:
            raise ValueError('expiry_days must be 1 or more, got %s' % days)
        if unit == 'days':
            return days, now + days * DAY_MS
        return now + days * DAY_MS, now + days * DAY_MS
    if expires_on <= now:
        raise ValueError('expires_on %s is not in the future' % iso_from_ms(expires_on))
    if unit == 'ms':
        return expires_on, expires_on
    whole_days = -(-(expires_on - now) // DAY_MS)
    return whole_days, now + whole_days * DAY_MS


def expiry_mismatch(key, expected):
    """A sentence when the node's ``expiresOn`` for a new key is far from ``expected`` (epoch ms), else None."""
    actual = expires_on_ms(key)
    if expected is None or actual is None or abs(actual - expected) <= EXPIRY_TOLERANCE_MS:
        return None
    return ('the node set expiresOn %s for it, not about %s as asked' % (iso_from_ms(actual), iso_from_ms(expected)))


def expiring(keys, within_days, now=None):
    """The keys (as listed) whose expiry is within ``within_days`` of ``now`` (past expiries included)."""
    limit = (now_ms() if now is None else now) + within_days * DAY_MS
    return [key for key in keys if expires_on_ms(key) is not None and expires_on_ms(key) <= limit]
