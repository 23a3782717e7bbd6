# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What every module of the collection shares: connection options, module set-up, id rules, errors, diffs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.dss.apinode.plugins.module_utils._client import (
    ApiNodeClient,
    ApiNodeError,
)
from ansible_collections.dss.apinode.plugins.module_utils._urls import url_problem, user_info_secrets

# Ids end up in URL paths and in file names on the node, so one name per file: 255 characters at most.
MAX_ID_LENGTH = 255
# The rules of the design node, whose Java \w is ASCII only. Anchored with \A and \Z (never ^ and $,
# which also match before a final newline), so they mean the same with re.match, re.search,
# re.fullmatch and Jinja's match and search tests.
ID_REGEX = {
    'service': r'\A[A-Za-z0-9_-]{1,255}\Z',
    # Version ids: letters, digits, '.', '-', '_', no leading dot (so never '.' or '..').
    'generation': r'\A(?!\.)[A-Za-z0-9_.-]{1,255}\Z',
    'endpoint': r'\A[A-Za-z0-9_-]{1,255}\Z',
}
ID_PATTERNS = dict((kind, re.compile(regex)) for kind, regex in ID_REGEX.items())
ID_RULES = {
    'service': 'letters, digits, "_" and "-" only',
    'generation': 'letters, digits, ".", "_" and "-", not starting with a dot',
    'endpoint': 'letters, digits, "_" and "-" only',
}
SERVICE_ID_PATTERN = ID_PATTERNS['service']
GENERATION_ID_PATTERN = ID_PATTERNS['generation']

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
    use_proxy=dict(type='bool', default=True, fallback=(env_fallback, ['DATAIKU_APINODE_USE_PROXY'])),
)


def connection_argument_spec():
    return copy.deepcopy(CONNECTION_ARGUMENT_SPEC)


def build_module(argument_spec, required_together=None, needs_api_key=True, **kwargs):
    """An AnsibleModule with the connection options added and checked (``needs_api_key``: see
    ``connection_problem``)."""
    spec = connection_argument_spec()
    spec.update(argument_spec)
    together = [['client_cert', 'client_key']] + list(required_together or [])
    module = AnsibleModule(argument_spec=spec, required_together=together, **kwargs)
    check_connection_params(module, needs_api_key=needs_api_key)
    return module


# What the dss.apinode.deploy role calls each connection setting, per host and for the whole play: its users
# never write url or api_key themselves.
ROLE_VARIABLES = {
    'url': ('apinode_url', 'apinode_deploy_url'),
    'api_key': ('apinode_admin_key', 'apinode_deploy_admin_key'),
}
ENVIRONMENT_VARIABLES = {'url': 'DATAIKU_APINODE_URL', 'api_key': 'DATAIKU_APINODE_API_KEY'}


def connection_problem(params, needs_api_key=True):
    """None when the connection options ``params`` can be used, else one sentence naming the problem: a missing
    URL (or admin key, unless ``needs_api_key`` is false - the user API of apinode_predict takes none), a
    malformed URL, a timeout or a retry count out of range."""
    missing = [option for option in ('url', 'api_key')
               if not params.get(option) and (needs_api_key or option != 'api_key')]
    if missing:
        return ('Missing connection settings for the API node: %s. With the dss.apinode.deploy role: %s per host, '
                'or %s.' % (', '.join('%s (or the %s environment variable)' % (o, ENVIRONMENT_VARIABLES[o]) for o in missing),
                            ' and '.join(ROLE_VARIABLES[o][0] for o in missing),
                            ' and '.join(ROLE_VARIABLES[o][1] for o in missing)))
    problem = url_problem(params['url'])
    if problem:
        return problem
    if params.get('timeout') is not None and params['timeout'] <= 0:
        return 'timeout must be a positive number of seconds, got %s.' % params['timeout']
    if params.get('retries') is not None and params['retries'] < 0:
        return 'retries must be 0 or more, got %s.' % params['retries']
    return None


def check_connection_params(module, needs_api_key=True):
    """Fail the module with the ``connection_problem`` of its options, before any request."""
    problem = connection_problem(module.params, needs_api_key=needs_api_key)
    if problem:
        # The invocation echo shows the options: keep the user-info of a refused URL out of it too.
        module.no_log_values.update(user_info_secrets(module.params.get('url') or ''))
        module.fail_json(msg=problem)


def client_from_module(module):
    p = module.params
    return ApiNodeClient(
        url=p['url'], api_key=p['api_key'], validate_certs=p['validate_certs'], ca_path=p['ca_path'],
        client_cert=p['client_cert'], client_key=p['client_key'], timeout=p['timeout'],
        retries=p['retries'], warn=module.warn, use_proxy=p['use_proxy'])


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


class InvalidIdError(ValueError):
    """An id that breaks the rules of its kind; the message names the option and the rule."""


def _shown_id(value):
    # repr() makes a newline, a carriage return or a NUL visible; a long value is cut.
    shown = repr(value)
    if isinstance(value, str) and len(value) > 60:
        shown = '%r... (%d characters)' % (value[:40], len(value))
    return shown


def id_problem(kind, value, option=None):
    """None when ``value`` is a valid id of ``kind`` (``service``, ``generation`` or ``endpoint``), else one
    sentence naming ``option`` (default: the kind) and the rule; the value is shown with repr()."""
    option = option or kind
    if isinstance(value, str) and ID_PATTERNS[kind].match(value):
        return None
    if isinstance(value, str) and len(value) > MAX_ID_LENGTH:
        return 'Invalid %s id %s for %s: at most %d characters.' % (kind, _shown_id(value), option, MAX_ID_LENGTH)
    return 'Invalid %s id %s for %s: use %s.' % (kind, _shown_id(value), option, ID_RULES[kind])


def check_id(kind, value, option=None):
    """Raise InvalidIdError unless ``value`` is a valid id of ``kind`` (for callers without a module)."""
    problem = id_problem(kind, value, option)
    if problem:
        raise InvalidIdError(problem)


def validate_id(module, kind, value, option=None):
    """Fail the module, before any request, unless ``value`` is a valid id of ``kind``."""
    problem = id_problem(kind, value, option)
    if problem:
        module.fail_json(msg=problem)


def validate_service_id(module, value, option='name'):
    validate_id(module, 'service', value, option)


def validate_generation_id(module, value, option='generation'):
    validate_id(module, 'generation', value, option)


def prerequisite_missing(module, msg, **result):
    """A prerequisite that an earlier task of the play may create (a service, a copied file) is missing.

    Outside check mode: fail with ``msg`` (and ``result``). In check mode that earlier task changed nothing, so this
    warns and returns True; the caller then reports the change it would make.
    """
    if not module.check_mode:
        module.fail_json(msg=msg, **result)
    module.warn('%s In check mode this is reported as a change, assuming an earlier task of the play creates it.'
                % msg)
    return True


def diff_of(before, after):
    """The ``diff`` entry for --diff mode."""
    return dict(before=before if before is not None else {}, after=after if after is not None else {})
