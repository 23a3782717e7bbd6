# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What ``apinode_generation`` changes: the package checked, the generations read, and the plan.

``check_ids``, ``read_package`` (a local file) and ``plan_generation`` make no request;
``read_generations`` only reads. The steps are those of ``_change`` (``import_generation``,
``preload_generation``, ``delete_generation``), each with the HTTP call it sends.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.dss.apinode.plugins.module_utils import _package
from ansible_collections.dss.apinode.plugins.module_utils._change import Change, Refused, step
from ansible_collections.dss.apinode.plugins.module_utils._client import path
from ansible_collections.dss.apinode.plugins.module_utils._common import id_problem
from ansible_collections.dss.apinode.plugins.module_utils._versions import package_too_new

TAG_FIELDS = ('generationId', 'createdOn', 'createdWithDSSVersion', 'createdWithDSSConfVersion')


def normal_generation(gen):
    """A generation as listed by the node, in the returned shape (``mounted`` bool, ``mapped`` float)."""
    result = dict((k, gen.get(k)) for k in TAG_FIELDS)
    result['mounted'] = bool(gen.get('mounted'))
    result['mapped'] = float(gen.get('mapped') or 0.0)
    return result


def _check_id(kind, value, option):
    problem = id_problem(kind, value, option)
    if problem:
        raise Refused(problem)


def check_ids(params):
    """The ids of the options (``service``, ``generation``); raises Refused naming a bad one."""
    _check_id('service', params['service'], 'service')
    if params['generation'] is not None:
        _check_id('generation', params['generation'], 'generation')


def archive_missing(params):
    """The sentence for an ``archive`` that does not exist yet with state=present (an earlier task may copy it), else None."""
    if params['archive'] is None or params['state'] != 'present' or os.path.exists(params['archive']):
        return None
    return 'Package archive %s does not exist (on the host where the module runs).' % params['archive']


def read_package(params):
    """The ``tag.json`` of ``archive`` (None without one), checked against ``generation``; raises Refused."""
    if params['archive'] is None:
        return None
    try:
        tag = _package.read_tag(params['archive'])
    except _package.PackageError as err:
        raise Refused(to_text(err))
    if params['generation'] is not None and tag['generationId'] != params['generation']:
        raise Refused('Package archive %s holds generation %s (its tag.json), not the expected %s.'
                      % (params['archive'], tag['generationId'], params['generation']))
    _check_id('generation', tag['generationId'], 'the generationId of tag.json')
    return tag


def read_generations(client, service_id):
    """``(generationId -> generation, None)``, or ``(None, the node's message)`` when the service does not exist.

    One GET; the node answers 400 "Service does not exist" for an unknown service.
    """
    response = client.request('GET', path('services', service_id, 'generations'), expect_error_statuses=(400, 404))
    if response.status >= 400:
        return None, (response.body or {}).get('message') if isinstance(response.body, dict) else None
    generations = (response.body or {}).get('generations') or []
    return dict((g.get('generationId'), normal_generation(g)) for g in generations), None


def generation_id(params, tag):
    """The generation the task is about: the package's, else the ``generation`` option."""
    return tag['generationId'] if tag else params['generation']


def plan_generation(params, tag, on_node, node_version=None):
    """The Change that brings the generation to the options.

    ``tag``: from ``read_package`` (None: no archive, or one not copied yet in check mode). ``on_node``:
    from ``read_generations`` (None: the service does not exist yet, check mode only). ``node_version``:
    the node's DSS version, for refusing a package built by a newer DSS. ``after`` predicts the
    generation, None when absent. Raises Refused for a mapped generation to delete or replace, and for
    another package under the same id without ``force``.
    """
    service, gid = params['service'], generation_id(params, tag)
    before = (on_node or {}).get(gid)
    returns = dict(package=tag) if tag is not None else {}
    if params['state'] == 'absent':
        if before is None:
            return Change([], None, None, returns=returns)
        if before['mapped'] > 0:
            raise Refused('Generation %s of service %s answers %s%% of the traffic: switch the service to other '
                          'generations before deleting it.' % (gid, service, round(before['mapped'] * 100, 4)))
        return Change([_delete(service, gid, 'service %s: generation %s is on the node, the task wants it absent'
                               % (service, gid))], before, None, returns=returns)

    if tag is None or on_node is None:
        # Check mode only (outside it both are errors before the plan): the import that the run would make.
        return _predicted_import(params, tag, gid, before, returns)

    steps = []
    after = copy.deepcopy(before)
    if before is not None and _package.identity(before) != _package.identity(tag):
        what = ('Service %s already has a generation %s from another package (createdOn %s on the node, %s in %s).'
                % (service, gid, before['createdOn'], tag['createdOn'], params['archive']))
        if not params['force']:
            raise Refused(what + ' Set force=true to replace it, or give the package a new version id.')
        if before['mapped'] > 0:
            raise Refused(what + ' It answers %s%% of the traffic, so it cannot be replaced: switch the service to '
                                 'other generations first.' % round(before['mapped'] * 100, 4))
        steps.append(_delete(service, gid, 'service %s: generation %s on the node comes from another package '
                                           '(createdOn %s, the package %s)'
                             % (service, gid, before['createdOn'], tag['createdOn'])))
        after = None
    if after is None:
        too_new = package_too_new(tag, node_version)
        if too_new:
            raise Refused(too_new)
        steps.append(_import(params, gid, 'service %s: generation %s is not on the node' % (service, gid)))
        after = dict((k, tag.get(k)) for k in TAG_FIELDS)
        after.update(mounted=False, mapped=0.0)
    if params['preload'] and not after['mounted']:
        steps.append(_preload(service, gid))
        after['mounted'] = True
    return Change(steps, before, after, returns=returns)


def _predicted_import(params, tag, gid, before, returns):
    service = params['service']
    what = gid or os.path.basename(params['archive'])
    steps = [_import(params, what, 'service %s: generation %s is not on the node' % (service, what))]
    after = None
    if gid is not None:
        after = dict((k, (tag or {}).get(k)) for k in TAG_FIELDS)
        after.update(generationId=gid, mounted=bool(params['preload']), mapped=0.0)
    if params['preload']:
        steps.append(_preload(service, what))
    return Change(steps, before, after, returns=returns)


def _import(params, gid, sentence):
    service, archive = params['service'], params['archive']
    if params['upload']:
        return step('import_generation', sentence, generation=gid, method='POST', upload=archive,
                    path=path('services', service, 'generations', 'actions', 'importFromStream'))
    return step('import_generation', sentence, generation=gid, method='POST',
                path=path('services', service, 'generations', 'actions', 'importFromArchive'),
                query=dict(filePath=os.path.abspath(archive)))


def _preload(service, gid):
    return step('preload_generation', 'service %s: generation %s is not preloaded' % (service, gid), generation=gid,
                method='POST', path=path('services', service, 'generations', gid, 'preload'))


def _delete(service, gid, sentence):
    return step('delete_generation', sentence, generation=gid, method='DELETE',
                path=path('services', service, 'generations', gid))
