# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Connection options and module plumbing, exercised through real AnsibleModule invocations."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

import pytest

from ansible.module_utils import basic

from ansible_collections.dss.apinode.plugins.module_utils import _common
from ansible_collections.dss.apinode.plugins.module_utils._client import ApiNodeClient
from ansible_collections.dss.apinode.tests.unit.plugins.module_utils.http_test_server import HttpTestServer

ADMIN_KEY = 'adminKey-Q7w2e9'
ENV_NAMES = ('DATAIKU_APINODE_URL', 'DATAIKU_APINODE_API_KEY', 'DATAIKU_APINODE_VALIDATE_CERTS',
             'DATAIKU_APINODE_CA_PATH', 'DATAIKU_APINODE_TIMEOUT', 'DATAIKU_APINODE_USE_PROXY')


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def module_args(monkeypatch):
    """Hand arguments to the next AnsibleModule, the way core's own module runner does.

    ``ansible.module_utils.testing.patch_module_args`` only exists from core 2.19, so this sets the
    same module globals directly (plus the serialization profile that 2.19+ requires).
    """
    def setter(args):
        payload = json.dumps({'ANSIBLE_MODULE_ARGS': args}).encode('utf-8')
        monkeypatch.setattr(basic, '_ANSIBLE_ARGS', payload)
        if hasattr(basic, '_ANSIBLE_PROFILE'):
            monkeypatch.setattr(basic, '_ANSIBLE_PROFILE', 'legacy')
    return setter


def module_result(capsys, action):
    """Run ``action`` until the module exits; return (exit code, the JSON result, raw stdout)."""
    with pytest.raises(SystemExit) as info:
        action()
    out = capsys.readouterr().out
    return info.value.code, json.loads(out.strip().splitlines()[-1]), out


def build(argument_spec=None, **kwargs):
    return _common.build_module(argument_spec or {}, **kwargs)


# -- the argument spec -----------------------------------------------------------------------

def test_connection_options_are_declared_with_environment_fallbacks():
    spec = _common.connection_argument_spec()
    assert set(spec) == {'url', 'api_key', 'validate_certs', 'ca_path', 'client_cert', 'client_key',
                         'timeout', 'retries', 'use_proxy'}
    fallbacks = dict((name, opt['fallback'][1]) for name, opt in spec.items() if 'fallback' in opt)
    assert fallbacks == {
        'url': ['DATAIKU_APINODE_URL'],
        'api_key': ['DATAIKU_APINODE_API_KEY'],
        'validate_certs': ['DATAIKU_APINODE_VALIDATE_CERTS'],
        'ca_path': ['DATAIKU_APINODE_CA_PATH'],
        'timeout': ['DATAIKU_APINODE_TIMEOUT'],
        'use_proxy': ['DATAIKU_APINODE_USE_PROXY'],
    }
    assert (spec['use_proxy']['type'], spec['use_proxy']['default']) == ('bool', True)
    assert spec['api_key']['no_log'] is True
    assert spec['validate_certs']['default'] is True
    assert (spec['ca_path']['type'], spec['client_cert']['type'], spec['client_key']['type']) == ('path',) * 3


def test_argument_spec_is_a_fresh_copy_each_time():
    spec = _common.connection_argument_spec()
    spec['url']['required'] = True
    spec['timeout']['default'] = 1
    again = _common.connection_argument_spec()
    assert 'required' not in again['url']
    assert again['timeout']['default'] == 30


def test_module_options_are_merged_with_the_connection_options(module_args):
    module_args({'url': 'https://node1:12443', 'api_key': ADMIN_KEY, 'name': 'churn'})
    module = build(dict(name=dict(type='str', required=True)), supports_check_mode=True)
    assert module.params['name'] == 'churn'
    assert module.params['url'] == 'https://node1:12443'
    assert module.params['validate_certs'] is True
    assert module.params['timeout'] == 30 and module.params['retries'] == 3
    assert module.check_mode is False


def test_environment_fallbacks_fill_the_connection_options(module_args, monkeypatch, tmp_path):
    ca = tmp_path / 'ca.pem'
    monkeypatch.setenv('DATAIKU_APINODE_URL', 'http://node2:12000/')
    monkeypatch.setenv('DATAIKU_APINODE_API_KEY', ADMIN_KEY)
    monkeypatch.setenv('DATAIKU_APINODE_VALIDATE_CERTS', 'false')
    monkeypatch.setenv('DATAIKU_APINODE_CA_PATH', str(ca))
    monkeypatch.setenv('DATAIKU_APINODE_TIMEOUT', '7')
    module_args({})
    params = build().params
    assert params['url'] == 'http://node2:12000/'  # a trailing slash is not a path
    assert params['api_key'] == ADMIN_KEY
    assert params['validate_certs'] is False
    assert params['ca_path'] == str(ca)
    assert params['timeout'] == 7


def test_explicit_options_win_over_the_environment(module_args, monkeypatch):
    monkeypatch.setenv('DATAIKU_APINODE_URL', 'http://from-env:12000')
    monkeypatch.setenv('DATAIKU_APINODE_API_KEY', 'env-key')
    module_args({'url': 'http://explicit:12000', 'api_key': ADMIN_KEY})
    params = build().params
    assert (params['url'], params['api_key']) == ('http://explicit:12000', ADMIN_KEY)


# -- connection checks -------------------------------------------------------------------------

def test_missing_url_and_key_give_one_clear_error(module_args, capsys):
    module_args({})
    code, result, _out = module_result(capsys, build)
    assert code == 1 and result['failed'] is True
    assert result['msg'] == ('Missing connection settings for the API node: url (or the DATAIKU_APINODE_URL '
                             'environment variable), api_key (or the DATAIKU_APINODE_API_KEY environment variable). '
                             'With the dss.apinode.deploy role: apinode_url and apinode_admin_key per host, or '
                             'apinode_deploy_url and apinode_deploy_admin_key.')


def test_missing_key_alone_is_named(module_args, capsys):
    module_args({'url': 'http://node:12000'})
    _code, result, _out = module_result(capsys, build)
    assert 'api_key' in result['msg'] and 'url (' not in result['msg']
    # The role's variables of the missing setting only.
    assert result['msg'].endswith('With the dss.apinode.deploy role: apinode_admin_key per host, or apinode_deploy_admin_key.')


@pytest.mark.parametrize('params, expected', [
    ({}, 'Missing connection settings for the API node: url (or the DATAIKU_APINODE_URL environment variable). '
         'With the dss.apinode.deploy role: apinode_url per host, or apinode_deploy_url.'),
    ({'url': 'http://node:12000'}, None),
    ({'url': 'http://node:12000', 'api_key': ''}, None),
    ({'url': 'http://node:12000', 'retries': -1}, 'retries must be 0 or more, got -1.'),
    ({'url': 'http://node:12000/admin/api'}, 'the collection adds /admin/api itself'),
])
def test_a_module_without_admin_key_needs_only_the_url(params, expected):
    # apinode_predict queries the user API, which takes no admin key.
    problem = _common.connection_problem(dict({'timeout': 30, 'retries': 3}, **params), needs_api_key=False)
    if expected is None:
        assert problem is None
    else:
        assert expected in problem


def test_the_admin_key_is_needed_by_default():
    assert _common.connection_problem({'url': 'http://node:12000', 'timeout': 30, 'retries': 3}).startswith(
        'Missing connection settings for the API node: api_key (or the DATAIKU_APINODE_API_KEY environment variable).')


def test_build_module_without_admin_key(module_args):
    module_args({'url': 'http://node:12000'})
    module = build(needs_api_key=False)
    assert module.params['api_key'] is None


@pytest.mark.parametrize('url, node_path', [
    ('http://node:12000/admin/api', '/admin/api'),
    ('https://lb.example/apinode1/admin/api/', '/admin/api'),
    ('https://lb.example/apinode1/public/api/v1', '/public/api'),
    ('http://node:12000/isAlive/', '/isAlive'),
])
def test_url_naming_the_node_api_itself_is_rejected(module_args, capsys, url, node_path):
    module_args({'url': url, 'api_key': ADMIN_KEY})
    code, result, out = module_result(capsys, build)
    assert code == 1
    assert result['msg'] == ('url must be the node base URL (the part before %s/), got %r: the collection adds %s '
                             'itself.' % (node_path, url, node_path))
    assert ADMIN_KEY not in out  # api_key is no_log: masked in the invocation echo too


@pytest.mark.parametrize('url, message', [
    ('http://node:12000/?x=1', "url must not have a query or a fragment, got 'http://node:12000/?x=1'."),
    ('http://node:12000#top', "url must not have a query or a fragment, got 'http://node:12000#top'."),
    ('http://node:port', "url has an invalid port, got 'http://node:port'."),
])
def test_url_with_a_query_or_a_bad_port_is_rejected(module_args, capsys, url, message):
    module_args({'url': url, 'api_key': ADMIN_KEY})
    _code, result, _out = module_result(capsys, build)
    assert result['msg'] == message


@pytest.mark.parametrize('url', ['https://lb.example/apinode1', 'https://lb.example/a/b/apinode-2/',
                                 'http://node:12000/', 'http://[::1]:12000'])
def test_url_with_a_path_prefix_is_accepted(module_args, url):
    module_args({'url': url, 'api_key': ADMIN_KEY})
    module = build()
    assert _common.client_from_module(module).base_url == url.rstrip('/')


@pytest.mark.parametrize('url', ['node:12000', 'ftp://node:12000', 'http://'])
def test_url_without_http_scheme_or_host_is_rejected(module_args, capsys, url):
    module_args({'url': url, 'api_key': ADMIN_KEY})
    _code, result, _out = module_result(capsys, build)
    assert result['msg'] == 'url must look like http(s)://host[:port][/path-prefix], got %r.' % url


@pytest.mark.parametrize('url, shown', [
    ('http://gw:Pa55-w0rd-xyz@node:12000', 'http://gw:****@node:12000'),
    ('https://UserOnlyKey123@node:12443/prefix', 'https://****@node:12443/prefix'),
    ('ftp://gw:Pa55-w0rd-xyz@node', 'ftp://gw:****@node'),
])
def test_url_with_user_info_is_refused_without_showing_it(module_args, capsys, url, shown):
    module_args({'url': url, 'api_key': ADMIN_KEY})
    code, result, out = module_result(capsys, build)
    assert code == 1
    assert shown in result['msg']
    assert 'Pa55-w0rd-xyz' not in out and 'UserOnlyKey123' not in out  # nor in the invocation echo
    if not url.startswith('ftp'):
        assert result['msg'].startswith('url must not carry a user name or password (%s)' % shown)


@pytest.mark.parametrize('option, value, expected', [
    ('timeout', 0, 'timeout must be a positive number of seconds, got 0.'),
    ('timeout', -5, 'timeout must be a positive number of seconds, got -5.'),
    ('retries', -1, 'retries must be 0 or more, got -1.'),
])
def test_timeout_and_retries_are_range_checked(module_args, capsys, option, value, expected):
    module_args({'url': 'http://node:12000', 'api_key': ADMIN_KEY, option: value})
    _code, result, _out = module_result(capsys, build)
    assert result['msg'] == expected


def test_zero_retries_is_allowed(module_args):
    module_args({'url': 'http://node:12000', 'api_key': ADMIN_KEY, 'retries': 0})
    assert build().params['retries'] == 0


def test_client_cert_and_key_are_required_together(module_args, capsys, tmp_path):
    module_args({'url': 'https://node:12443', 'api_key': ADMIN_KEY, 'client_cert': str(tmp_path / 'c.pem')})
    _code, result, _out = module_result(capsys, build)
    assert 'client_cert' in result['msg'] and 'client_key' in result['msg']


def test_extra_required_together_is_kept(module_args, capsys):
    module_args({'url': 'http://node:12000', 'api_key': ADMIN_KEY, 'a': 'x'})
    spec = dict(a=dict(type='str'), b=dict(type='str'))
    _code, result, _out = module_result(capsys, lambda: build(spec, required_together=[['a', 'b']]))
    assert 'a' in result['msg'] and 'b' in result['msg'] and result['failed'] is True


def test_api_key_is_masked_in_the_output(module_args, capsys):
    module_args({'url': 'http://node:12000', 'api_key': ADMIN_KEY})
    module = build()
    with pytest.raises(SystemExit):
        module.exit_json(changed=False, echo='the key is %s' % ADMIN_KEY)
    out = capsys.readouterr().out
    assert ADMIN_KEY not in out


# -- from module to client and back --------------------------------------------------------

def test_client_from_module_passes_every_connection_option(module_args, tmp_path):
    paths = dict((name, str(tmp_path / name)) for name in ('ca', 'cert', 'key'))
    module_args({'url': 'https://node:12443', 'api_key': ADMIN_KEY, 'validate_certs': False,
                 'ca_path': paths['ca'], 'client_cert': paths['cert'], 'client_key': paths['key'],
                 'timeout': 12, 'retries': 1})
    module = build()
    client = _common.client_from_module(module)
    assert isinstance(client, ApiNodeClient)
    assert (client.base_url, client.api_key, client.validate_certs, client.ca_path, client.client_cert,
            client.client_key, client.timeout, client.retries) == (
        'https://node:12443', ADMIN_KEY, False, paths['ca'], paths['cert'], paths['key'], 12, 1)


def test_run_module_reports_the_result_and_the_request_count(module_args, capsys):
    with HttpTestServer() as server:
        server.respond(200, {'id': 'churn'})
        module_args({'url': server.url, 'api_key': ADMIN_KEY})
        module = build()
        client = _common.client_from_module(module)
        code, result, _out = module_result(
            capsys, lambda: _common.run_module(module, client, lambda: dict(changed=True, service=client.get('services/churn'))))
    assert code == 0
    assert result['changed'] is True
    assert result['service'] == {'id': 'churn'}
    assert result['api_calls'] == 1


def test_run_module_turns_client_errors_into_a_failure(module_args, capsys):
    with HttpTestServer() as server:
        server.respond(404, {'errorType': 'com.dataiku.dip.exceptions.NotFoundException',
                             'message': 'Service not found: churn'})
        module_args({'url': server.url, 'api_key': ADMIN_KEY})
        module = build()
        client = _common.client_from_module(module)
        code, result, out = module_result(
            capsys, lambda: _common.run_module(module, client, lambda: dict(service=client.get('services/churn'))))
    assert code == 1
    assert result['failed'] is True and result['changed'] is False
    assert result['msg'].endswith('HTTP 404: com.dataiku.dip.exceptions.NotFoundException: Service not found: churn')
    assert result['status'] == 404
    assert result['error']['error_type'] == 'com.dataiku.dip.exceptions.NotFoundException'
    assert result['error']['url'] == server.url + '/admin/api/services/churn'
    assert result['api_calls'] == 1
    assert ADMIN_KEY not in out


def test_retry_warnings_reach_the_module_output(module_args, capsys):
    with HttpTestServer() as server:
        server.respond(503).respond(200, {})
        module_args({'url': server.url, 'api_key': ADMIN_KEY, 'retries': 1})
        module = build()
        client = _common.client_from_module(module)
        client._sleep = lambda seconds: None  # keep the test free of real waiting
        _code, result, _out = module_result(capsys, lambda: _common.run_module(
            module, client, lambda: dict(changed=False, services=client.get('services'))))
    assert result['api_calls'] == 2
    # core 2.19+ reports warnings as structured events, older cores as strings: look at the text.
    warnings = json.dumps(result['warnings'])
    assert 'HTTP 503' in warnings and 'retrying in 1.0 s' in warnings


# -- small helpers --------------------------------------------------------------------------

BAD_IDS = ['ab\n', 'ab\r', 'a\x00b', '.hidden', '..', 'a/b', 'a%2Fb', 'a b', 'x' * 256, '', None, 'caf\u00e9',
           '\nab', 'ab\r\n', 42]


@pytest.mark.parametrize('kind', ['service', 'generation', 'endpoint'])
@pytest.mark.parametrize('value', BAD_IDS, ids=repr)
def test_every_kind_of_id_refuses_the_bad_ids(kind, value):
    problem = _common.id_problem(kind, value, 'opt')
    assert problem is not None and problem.startswith('Invalid %s id ' % kind) and ' for opt: ' in problem
    assert '\n' not in problem and '\r' not in problem and '\x00' not in problem  # shown escaped
    with pytest.raises(_common.InvalidIdError) as info:
        _common.check_id(kind, value, 'opt')
    assert str(info.value) == problem
    regex = _common.ID_REGEX[kind]
    assert not (isinstance(value, str) and re.match(regex, value)) and not (isinstance(value, str) and re.search(regex, value))


@pytest.mark.parametrize('kind, value', [('service', 'churn_model-2'), ('generation', 'v4-new.customer_2'),
                                         ('endpoint', 'predict-1'), ('service', 'x' * 255), ('generation', 'v' * 255)])
def test_good_ids_pass(kind, value):
    assert _common.id_problem(kind, value) is None
    _common.check_id(kind, value)
    assert re.match(_common.ID_REGEX[kind], value)


def test_an_over_long_id_is_cut_in_the_message():
    problem = _common.id_problem('service', 'y' * 300, 'name')
    assert problem == 'Invalid service id %r... (300 characters) for name: at most 255 characters.' % ('y' * 40)


@pytest.mark.parametrize('value, valid', [
    ('churn', True), ('churn_model-2', True), ('churn.v2', False), ('a b', False), ('', False), (None, False),
    ('churn\n', False),
])
def test_service_id_validation(module_args, capsys, value, valid):
    module_args({'url': 'http://node:12000', 'api_key': ADMIN_KEY})
    module = build()
    if valid:
        assert _common.validate_service_id(module, value) is None
    else:
        _code, result, _out = module_result(capsys, lambda: _common.validate_service_id(module, value, option='service'))
        assert result['msg'].startswith('Invalid service id %r for service' % value)


@pytest.mark.parametrize('value, valid', [
    ('v1', True), ('v4-new-customer_features.2', True), ('.hidden', False), ('v1/2', False), ('', False),
    ('v1\n', False),
])
def test_generation_id_validation(module_args, capsys, value, valid):
    module_args({'url': 'http://node:12000', 'api_key': ADMIN_KEY})
    module = build()
    if valid:
        assert _common.validate_generation_id(module, value) is None
    else:
        _code, result, _out = module_result(capsys, lambda: _common.validate_generation_id(module, value))
        assert result['msg'].startswith('Invalid generation id %r for generation' % value)


def test_a_missing_prerequisite_fails_outside_check_mode(module_args, capsys):
    module_args({'url': 'http://node:12000', 'api_key': ADMIN_KEY})
    module = build(supports_check_mode=True)
    code, result, _out = module_result(capsys, lambda: _common.prerequisite_missing(module, 'Service x does not exist.',
                                                                                    api_calls=1))
    assert code == 1 and result['msg'] == 'Service x does not exist.' and result['api_calls'] == 1


def test_a_missing_prerequisite_warns_in_check_mode(module_args, capsys):
    module_args({'url': 'http://node:12000', 'api_key': ADMIN_KEY, '_ansible_check_mode': True})
    module = build(supports_check_mode=True)
    assert _common.prerequisite_missing(module, 'Service x does not exist.') is True
    code, result, _out = module_result(capsys, lambda: module.exit_json(changed=True))
    assert code == 0
    warnings = json.dumps(result['warnings'])
    assert 'Service x does not exist. In check mode this is reported as a change' in warnings


def test_diff_of_uses_empty_dicts_for_missing_sides():
    assert _common.diff_of(None, {'a': 1}) == {'before': {}, 'after': {'a': 1}}
    assert _common.diff_of({'a': 1}, None) == {'before': {'a': 1}, 'after': {}}
    assert _common.diff_of({'a': 1}, {'a': 2}) == {'before': {'a': 1}, 'after': {'a': 2}}
