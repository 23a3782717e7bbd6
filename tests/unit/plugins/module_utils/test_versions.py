# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Version gating: parsing the node's DSS-Version, the first version of each feature, package checks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dss.apinode.plugins.module_utils import _versions
from ansible_collections.dss.apinode.plugins.module_utils._client import ApiNodeClient


class Failed(Exception):
    pass


class FakeModule:
    """Records fail_json like AnsibleModule, stopping the flow the same way."""

    def __init__(self):
        self.failure = None

    def fail_json(self, **kwargs):
        self.failure = kwargs
        raise Failed(kwargs['msg'])


# -- parsing and comparing ------------------------------------------------------------------------

@pytest.mark.parametrize('text, parsed', [
    ('13.2.0', (13, 2, 0)),
    ('12.5', (12, 5)),
    ('14', (14,)),
    (' 13.1.1 ', (13, 1, 1)),
    ('13.3.0-SNAPSHOT', (13, 3, 0)),
    ('14.0.0.1', (14, 0, 0, 1)),
])
def test_parse_version_reads_the_leading_dotted_numbers(text, parsed):
    assert _versions.parse_version(text) == parsed


@pytest.mark.parametrize('text', [None, '', 'dev', 'unknown', 'v13.2.0'])
def test_parse_version_gives_none_for_what_is_not_a_version(text):
    assert _versions.parse_version(text) is None


@pytest.mark.parametrize('version, than, older', [
    ((13, 1), (13, 1, 1), True),
    ((13, 1, 0), (13, 1, 1), True),
    ((13, 1, 1), (13, 1, 1), False),
    ((13, 1, 2), (13, 1, 1), False),
    ((13, 3), (13, 3, 0), False),
    ((12, 10), (13, 0), True),
    ((12, 10), (12, 5), False),  # numeric, not text, comparison
])
def test_is_older_pads_missing_parts_with_zeros(version, than, older):
    assert _versions.is_older(version, than) is older


def test_format_version():
    assert _versions.format_version((13, 1, 1)) == '13.1.1'
    assert _versions.format_version((12, 5)) == '12.5'


# -- features --------------------------------------------------------------------------------------

def test_the_first_version_of_every_feature():
    firsts = dict((feature, _versions.format_version(first)) for feature, (dummy, first) in _versions.FEATURES.items())
    assert firsts == {'register_code_env': '12.4', 'model_cache': '12.5', 'cleanup': '13.0', 'hashed_keys': '13.1',
                      'delete_key_by_id': '13.1.1', 'key_expiry': '13.3'}


@pytest.mark.parametrize('feature, older, first', [
    ('register_code_env', '12.3.2', '12.4.0'),
    ('model_cache', '12.4.0', '12.5.0'),
    ('cleanup', '12.6.3', '13.0.0'),
    ('hashed_keys', '13.0.3', '13.1.0'),
    ('delete_key_by_id', '13.1.0', '13.1.1'),
    ('key_expiry', '13.2.0', '13.3.0'),
])
def test_has_feature_from_its_first_version_on(feature, older, first):
    assert _versions.has_feature(feature, older) is False
    assert _versions.has_feature(feature, first) is True
    assert _versions.has_feature(feature, '14.2.2') is True
    assert _versions.has_feature(feature, None) is None
    assert _versions.has_feature(feature, 'dev') is None


@pytest.mark.parametrize('feature, node, msg', [
    ('model_cache', '12.4.0', 'The model cache needs DSS 12.5 or newer, node runs 12.4.0.'),
    ('cleanup', '12.4.0', 'Cleaning the code-env cache needs DSS 13.0 or newer, node runs 12.4.0.'),
    ('key_expiry', '13.0.0', 'Admin key expiry needs DSS 13.3 or newer, node runs 13.0.0.'),
    ('delete_key_by_id', '13.1', 'Deleting an admin key by id needs DSS 13.1.1 or newer, node runs 13.1.'),
    ('register_code_env', '12.3.0', 'Registering a code env already built on the node needs DSS 12.4 or newer, '
                                    'node runs 12.3.0.'),
])
def test_missing_feature_names_both_versions(feature, node, msg):
    assert _versions.missing_feature(feature, node) == msg


@pytest.mark.parametrize('node', ['13.3.0', '14.2.2', None, '', 'nightly'])
def test_missing_feature_is_none_on_new_or_unknown_nodes(node):
    assert _versions.missing_feature('key_expiry', node) is None


def test_features_of_a_known_and_an_unknown_version():
    assert _versions.features_of('13.0.0') == {'register_code_env': True, 'model_cache': True, 'cleanup': True,
                                               'hashed_keys': False, 'delete_key_by_id': False, 'key_expiry': False}
    assert _versions.features_of(None) == {}
    assert _versions.features_of('dev') == {}


# -- the node's version, from the client -------------------------------------------------------------

def test_node_version_comes_from_the_last_answer_without_a_request(server, client):
    server.respond(200, [], headers={'DSS-Version': '13.1.1'})
    client.get('keys')
    assert _versions.node_version(client) == '13.1.1'
    assert len(server.requests) == 1


def test_node_version_probes_once_when_no_answer_was_seen(server, client):
    server.respond(200, {'logAuthFailures': True}, headers={'DSS-Version': '12.4.0'})
    assert _versions.node_version(client) == '12.4.0'
    assert [(r.method, r.raw_path) for r in server.requests] == [('GET', '/admin/api/audit-settings')]


def test_node_version_is_none_when_the_node_sends_none(server, client):
    server.respond(200, {})
    assert _versions.node_version(client) is None
    assert _versions.node_version(client, probe=False) is None
    assert len(server.requests) == 1


def test_require_fails_before_any_write_on_an_older_node(server, client):
    server.respond(200, [], headers={'DSS-Version': '12.4.0'})
    client.get('services')
    module = FakeModule()
    with pytest.raises(Failed):
        _versions.require(module, client, model_cache=True, cleanup=False)
    assert module.failure['msg'] == 'The model cache needs DSS 12.5 or newer, node runs 12.4.0.'
    assert module.failure['changed'] is False
    assert len(server.requests) == 1


def test_require_names_the_first_missing_feature_in_a_stable_order(server, client):
    server.respond(200, [], headers={'DSS-Version': '12.0.0'})
    client.get('services')
    module = FakeModule()
    with pytest.raises(Failed):
        _versions.require(module, client, model_cache=True, cleanup=True)
    assert module.failure['msg'].startswith('Cleaning the code-env cache needs DSS 13.0')


def test_require_passes_on_a_new_node_and_tries_an_unknown_one(server, client):
    server.respond(200, {}, headers={'DSS-Version': '13.3.0'})
    _versions.require(FakeModule(), client, key_expiry=True, model_cache=True)
    unknown = ApiNodeClient(server.url, api_key='k', timeout=10, retries=0)
    server.respond(200, {})
    _versions.require(FakeModule(), unknown, key_expiry=True)
    assert len(server.requests) == 2


def test_require_sends_nothing_when_no_feature_is_used(server, client):
    _versions.require(FakeModule(), client, model_cache=False, cleanup=None)
    assert server.requests == []


def test_require_rejects_an_unknown_feature_name(client):
    with pytest.raises(ValueError):
        _versions.require(FakeModule(), client, teleport=True)


# -- packages built by a newer DSS ------------------------------------------------------------------

def test_package_too_new_names_both_versions():
    msg = _versions.package_too_new({'generationId': 'v3', 'createdWithDSSVersion': '14.2.0'}, '13.2.0')
    assert msg.startswith('Package v3 was built with DSS 14.2.0, newer than the node, which runs DSS 13.2.0')


@pytest.mark.parametrize('built, node', [
    ('13.2.0', '13.2.0'),
    ('12.6.3', '13.2.0'),
    ('13.2', '13.2.0'),
    (None, '13.2.0'),
    ('13.2.0', None),
    ('dev', '13.2.0'),
])
def test_package_not_newer_or_unknown_is_accepted(built, node):
    tag = {'generationId': 'v1'}
    if built is not None:
        tag['createdWithDSSVersion'] = built
    assert _versions.package_too_new(tag, node) is None


def test_a_newer_patch_release_is_newer():
    assert _versions.package_too_new({'generationId': 'v1', 'createdWithDSSVersion': '13.2.1'}, '13.2.0')


def test_refuse_too_new_package_uses_the_version_seen(server, client):
    server.respond(200, {'generations': []}, headers={'DSS-Version': '12.4.0'})
    client.get('services/churn/generations')
    module = FakeModule()
    with pytest.raises(Failed):
        _versions.refuse_too_new_package(module, client, {'generationId': 'v2', 'createdWithDSSVersion': '13.2.0'})
    assert 'DSS 13.2.0' in module.failure['msg'] and 'DSS 12.4.0' in module.failure['msg']
    _versions.refuse_too_new_package(module, client, {'generationId': 'v1', 'createdWithDSSVersion': '12.4.0'})
    assert len(server.requests) == 1
