# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What every module of the collection shares: connection options, module set-up, errors, diffs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible.module_utils.basic import AnsibleModule, env_fallback
from ansible.module_utils.six.moves.urllib.parse import urlparse

from ansible_collections.dss.apinode.plugins.module_utils._client import (
    ApiNodeClient,
    ApiNodeError,
)

SERVICE_ID_PATTERN = re.compile(r'^[\w-]+$')
# Version ids as the design node accepts them: letters, digits, '.', '-', '_', no leading dot.
GENERATION_ID_PATTERN = re.compile(r'^(?!\.)[\w.-]+$')

# Declared once; documented once in the doc fragment dss.apinode.connection.
CONNECTION_ARGUMENT_SPEC = dict(
    url=dict(type='str', fallback=(env_fallback, ['DATAIKU_APINODE_URL'])),
    api_key=dict(type='str', no_log=True, fallback=(env_fallback, ['DATAIKU_APINODE_API_KEY'])),
    validate_certs=dict(type='bool', default=True, fallback=(env_fallback, ['DATAIKU_APINODE_VALIDATE_CERTS'])),
    ca_path=dict(type='path', fallback=(env_fallback, ['DATAIKU_APINODE_CA_PATH'])),
    client_cert=dict(type='path'),
    client_key=dict(type='path', no_log=False),
    timeout=dict(type='int', default=30, fallback=(env_fallback, ['DATAIKU_APINODE_TIMEOUT'])),
    retries=dict(type='int', default=3),
)


def connection_argument_spec():
    return copy.deepcopy(CONNECTION_ARGUMENT_SPEC)


def build_module(argument_spec, required_together=None, **kwargs):
    """An AnsibleModule with the connection options added and checked."""
    spec = connection_argument_spec()
    spec.update(argument_spec)
    together = [['client_cert', 'client_key']] + list(required_together or [])
    module = AnsibleModule(argument_spec=spec, required_together=together, **kwargs)
    check_connection_params(module)
    return module


def check_connection_params(module):
    """One clear error for a missing or malformed URL or key, before any request."""
    params = module.params
    missing = []
    if not params.get('url'):
        missing.append('url (or the DATAIKU_APINODE_URL environment variable)')
    if not params.get('api_key'):
        missing.append('api_key (or the DATAIKU_APINODE_API_KEY environment variable)')
    if missing:
        module.fail_json(msg='Missing connection settings for the API node: %s.' % ', '.join(missing))
    parsed = urlparse(params['url'])
    if parsed.scheme not in ('http', 'https') or not parsed.netloc:
        module.fail_json(msg='url must look like http(s)://host[:port], got %r.' % params['url'])
    if parsed.path.strip('/') or parsed.query:
        module.fail_json(msg='url must be the node base URL http(s)://host[:port] without a path, got %r '
                             '(the admin API lives under /admin/api on that base).' % params['url'])
    if params['timeout'] is not None and params['timeout'] <= 0:
        module.fail_json(msg='timeout must be a positive number of seconds, got %s.' % params['timeout'])
    if params['retries'] is not None and params['retries'] < 0:
        module.fail_json(msg='retries must be 0 or more, got %s.' % params['retries'])


def client_from_module(module):
    p = module.params
    return ApiNodeClient(
        url=p['url'], api_key=p['api_key'], validate_certs=p['validate_certs'], ca_path=p['ca_path'],
        client_cert=p['client_cert'], client_key=p['client_key'], timeout=p['timeout'],
        retries=p['retries'], warn=module.warn)


def fail_from_error(module, client, err, **result):
    """Turn a client error into fail_json with the server's own explanation."""
    result.setdefault('changed', False)
    module.fail_json(msg=err.msg, status=err.status, error=err.as_dict(),
                     api_calls=client.request_count if client else 0, **result)


def run_module(module, client, logic):
    """Run ``logic()`` -> result dict; translate client errors; report how many requests it took."""
    try:
        result = logic()
    except ApiNodeError as err:
        fail_from_error(module, client, err)
    result['api_calls'] = client.request_count
    module.exit_json(**result)


def validate_service_id(module, value, option='name'):
    if not SERVICE_ID_PATTERN.match(value or ''):
        module.fail_json(msg='Invalid service id %r for %s: use letters, digits, "_" and "-" only.' % (value, option))


def validate_generation_id(module, value, option='generation'):
    if not GENERATION_ID_PATTERN.match(value or ''):
        module.fail_json(msg='Invalid generation id %r for %s: use letters, digits, ".", "_" and "-", '
                             'not starting with a dot.' % (value, option))


def diff_of(before, after):
    """The ``diff`` entry for --diff mode."""
    return dict(before=before if before is not None else {}, after=after if after is not None else {})
