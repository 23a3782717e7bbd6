# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which DSS version of an API node has which admin API feature, decided in one place.

The node's version is the ``DSS-Version`` header of its successful admin API answers. A feature
the node is too old for fails before any write, with one sentence naming both versions; a node whose
version is unknown (no header, or a value that is not a dotted version) is tried, never refused.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# feature -> (name in messages, first DSS version that has it). Sources: the official client's
# history and the DSS 12/13 release notes.
FEATURES = {
    'register_code_env': ('Registering a code env already built on the node', (12, 4)),
    'model_cache': ('The model cache', (12, 5)),
    'cleanup': ('Cleaning the code-env cache', (13, 0)),
    'hashed_keys': ('Hashed admin keys', (13, 1)),
    'delete_key_by_id': ('Deleting an admin key by id', (13, 1, 1)),
    'key_expiry': ('Admin key expiry', (13, 3)),
}

# A cheap admin read: small answer, admin authentication, present on every known version.
PROBE_PATH = 'audit-settings'

_VERSION = re.compile(r'^\s*(\d+(?:\.\d+)*)')


def parse_version(text):
    """``'13.2.0'`` -> ``(13, 2, 0)``; a suffix after the digits is ignored; None when no version is there."""
    if text is None:
        return None
    match = _VERSION.match(str(text))
    if not match:
        return None
    return tuple(int(part) for part in match.group(1).split('.'))


def format_version(version):
    """``(13, 1, 1)`` -> ``'13.1.1'``, ``(12, 5)`` -> ``'12.5'``."""
    return '.'.join(str(part) for part in version)


def is_older(version, than):
    """Whether the version tuple ``version`` comes before ``than`` (missing parts count as 0)."""
    width = max(len(version), len(than))
    return tuple(version) + (0,) * (width - len(version)) < tuple(than) + (0,) * (width - len(than))


def has_feature(feature, node_version):
    """True or False for a known node version (a string), None when the version is unknown."""
    parsed = parse_version(node_version)
    if parsed is None:
        return None
    return not is_older(parsed, FEATURES[feature][1])


def missing_feature(feature, node_version):
    """The error sentence when the node's version (a string) is known and too old for ``feature``, else None."""
    if has_feature(feature, node_version) is not False:
        return None
    name, first = FEATURES[feature]
    return '%s needs DSS %s or newer, node runs %s.' % (name, format_version(first), str(node_version).strip())


def features_of(node_version):
    """``{feature: bool}`` for a known node version, ``{}`` when the version is unknown."""
    if parse_version(node_version) is None:
        return {}
    return dict((feature, has_feature(feature, node_version)) for feature in FEATURES)


def node_version(client, probe=True):
    """The node's DSS version (a string) or None.

    Read from the last successful answer the client received; with ``probe`` and no version seen yet,
    one ``GET audit-settings`` asks for it. Raises the client's ApiNodeError when that read fails.
    """
    version = (client.last_headers or {}).get('dss-version')
    if not version and probe:
        client.get(PROBE_PATH)
        version = (client.last_headers or {}).get('dss-version')
    return version or None


def require(module, client, **wanted):
    """Fail the module, before any write, when the node is too old for a feature asked for.

    ``wanted`` maps feature names to whether the run uses them, e.g.
    ``require(module, client, model_cache=bool(p['model_archive']), cleanup=p['clean_code_envs'])``.
    The version is only read when some feature is used.
    """
    used = sorted(feature for feature, on in wanted.items() if on)
    unknown = [feature for feature in used if feature not in FEATURES]
    if unknown:
        raise ValueError('unknown feature(s): %s' % ', '.join(unknown))
    if not used:
        return
    version = node_version(client)
    for feature in used:
        msg = missing_feature(feature, version)
        if msg:
            module.fail_json(msg=msg, changed=False, dss_version=version, api_calls=client.request_count)


def package_too_new(tag, node_version):
    """The refusal sentence when a package was built by a DSS newer than the node, else None.

    ``tag`` is the package's ``tag.json`` (``generationId``, ``createdWithDSSVersion``); ``node_version``
    the node's ``DSS-Version``. Unknown versions on either side are not refused.
    """
    built_with = (tag or {}).get('createdWithDSSVersion')
    built, node = parse_version(built_with), parse_version(node_version)
    if built is None or node is None or not is_older(node, built):
        return None
    return ('Package %s was built with DSS %s, newer than the node, which runs DSS %s: export it from a DSS '
            'not newer than %s, or upgrade the node.'
            % ((tag or {}).get('generationId') or '?', str(built_with).strip(), str(node_version).strip(),
               str(node_version).strip()))


def refuse_too_new_package(module, client, tag):
    """Fail the module, before the import, when ``tag`` was built by a DSS newer than the node."""
    msg = package_too_new(tag, node_version(client))
    if msg:
        module.fail_json(msg=msg, changed=False, api_calls=client.request_count)
