# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Admin API keys as the node lists them, and how to show them without their secrets.

The list call of the admin API returns every key with its secret (``key``); nothing read here
may leave a module with that value in it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dss.apinode.plugins.module_utils._client import MASK, path

# Metadata fields a key may carry; the server omits the ones that are null.
KEY_FIELDS = ('id', 'label', 'description', 'createdBy', 'createdOn', 'expiry')


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
    """The key without its secret; ``key`` becomes a mask when the node had listed the secret."""
    if key is None:
        return None
    data = dict((field, key[field]) for field in KEY_FIELDS if key.get(field) is not None)
    if show_mask and key.get('key'):
        data['key'] = MASK
    return data


def keys_with_label(keys, label):
    return [key for key in keys if key.get('label') == label]


def delete_key(client, key):
    """Delete by id when the node gives ids (newer nodes), else by secret value (9.0.5)."""
    if key.get('id'):
        client.delete(path('keys', key['id'], 'key'))
    else:
        client.add_secret(key['key'])
        client.delete(path('keys', key['key']))
