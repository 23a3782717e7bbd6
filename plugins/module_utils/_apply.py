# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run a release plan on one node: read the node once, plan, then apply the steps of the asked phases.

Every request goes through the shared client; every decision comes from ``_plan``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import time

from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.dss.apinode.plugins.module_utils import _plan, _run_lock
from ansible_collections.dss.apinode.plugins.module_utils._client import ApiNodeError, path
from ansible_collections.dss.apinode.plugins.module_utils._fingerprint import read_marker, write_marker
from ansible_collections.dss.apinode.plugins.module_utils._package import PackageError, identity, read_tag
from ansible_collections.dss.apinode.plugins.module_utils._service_state import list_generations, service_state

# Step fields that only the apply needs (the marker record is rebuilt from the step's own fields).
PRIVATE_STEP_FIELDS = ('record', 'tag')
# The user API answers errors with these statuses; the smoke test judges them instead of raising.
USER_API_ERRORS = tuple(range(400, 600))


def read_node(client, service_ids, markers=()):
    """GET services, then GET generations of each of ``service_ids`` that exists (sorted), and the marker
    files ``markers`` on this host: the ``node`` argument of ``_plan.build_plan``."""
    listed = sorted((s for s in client.get('services') or [] if isinstance(s, dict)), key=lambda s: s.get('serviceId') or '')
    summaries = dict((s.get('serviceId'), s) for s in listed)
    services, raw = [], {}
    for sid in sorted(set(service_ids)):
        summary = summaries.get(sid)
        if summary is not None:
            services.append(service_state(summary, list_generations(client, sid)))
            raw[sid] = summary.get('activeMapping')
    return dict(url=client.base_url, services=services, raw_mappings=raw,
                node_services=[service_state(summary, None) for summary in listed],
                markers=dict((marker, read_marker(marker)) for marker in markers))


def check_staged_packages(steps, check_mode):
    """Each package to import, read on this host, must be the package the release names (tag identity).

    In check mode a package that is not staged yet is fine: the transfer happens only in a real run.
    """
    for step in steps:
        if step['action'] != 'import_generation':
            continue
        if check_mode and not os.path.exists(step['path']):
            continue
        try:
            tag = read_tag(step['path'])
        except PackageError as err:
            raise _plan.PlanError('Service %s: %s' % (step['service'], to_text(err)))
        if identity(tag) != identity(step['tag']):
            raise _plan.PlanError('Staged package %s is generation %s created on %s, the release expects %s created on %s.'
                                  % (step['path'], tag['generationId'], tag['createdOn'],
                                     step['tag']['generationId'], step['tag']['createdOn']))


def apply(client, step):
    """Send the admin call of one plan step (and record an artefact import in its marker)."""
    action, sid = step['action'], step.get('service')
    if action == 'import_code_env':
        client.post('cached-code-envs', query=step['query'])
        write_marker(step['marker'], step['record'])
    elif action == 'import_model':
        client.post('model-cache', query=step['query'])
        write_marker(step['marker'], step['record'])
    elif action == 'create_service':
        client.post('services/', body=dict(serviceId=sid))
    elif action == 'import_generation':
        client.post(path('services', sid, 'generations', 'actions', 'importFromArchive'),
                    query=dict(filePath=os.path.abspath(step['path'])))
    elif action == 'preload_generation':
        client.post(path('services', sid, 'generations', step['generation'], 'preload'))
    elif action == 'set_mapping':
        client.post(path('services', sid, 'actions', 'setMapping'), body=step['body'])
    elif action == 'disable':
        client.post(path('services', sid, 'actions', 'disable'))
    elif action == 'delete_generation':
        client.delete(path('services', sid, 'generations', step['generation']))
    else:
        raise ValueError('unknown plan action %r' % action)


def public_step(step):
    return dict((k, v) for k, v in step.items() if k not in PRIVATE_STEP_FIELDS)


def smoke_test(client, service_id, test, retries=3, delay=2.0, sleep=time.sleep):
    """Query ``test`` through the user API until it passes or ``retries`` more tries failed.

    Returns ``{service, endpoint, generation, status, served_generation, prediction, passed, message}``
    (never the user key).
    """
    rel = '/public/api/v1/%s/%s/predict' % (path(service_id), path(test['endpoint']))
    body = dict(features=test['features'], dispatch=dict(forcedGeneration=test['generation']))
    key = test.get('api_key')
    if key:
        client.add_secret(key)
    credentials = 'Basic ' + to_text(base64.b64encode(to_bytes('%s:' % key))) if key else None
    for attempt in range(1 + max(0, retries)):
        if attempt:
            sleep(delay)
        try:
            response = client.request('POST', rel, body=body, auth=bool(key), credentials=credentials,
                                      expect_error_statuses=USER_API_ERRORS)
            verdict = _plan.judge_smoke(test, response.status, response.body, test['generation'])
        except ApiNodeError as err:
            verdict = _plan.judge_smoke(test, None, dict(message=err.msg), test['generation'])
        if verdict['passed']:
            break
    return dict(service=service_id, endpoint=test['endpoint'], generation=test['generation'], **verdict)


class ReleaseRun(object):
    """One call of apinode_release. ``params``: the module's options; ``client``: the admin client;
    ``user_client``: the client of the smoke tests (user API, its own timeout, no retries)."""

    def __init__(self, params, client, user_client, check_mode=False, diff=False, sleep=time.sleep):
        self.params = params
        self.client = client
        self.user_client = user_client
        self.check_mode = check_mode
        self.diff = diff
        self.sleep = sleep
        lock = params.get('lock') or None
        self.lock = lock
        self.warnings = []
        self._doing = 'run the release'
        self.result = dict(changed=False, phase=params['phase'], plan=[], drift=[], current=False, staged=False,
                           previous=[], services=[], smoke_tests=[],
                           lock=dict(path=lock['path'], taken=False, released=False) if lock else None)

    def run(self):
        """Returns ``(result, failure message or None)``; the lock is released on the way out when asked."""
        failure = None
        try:
            self._run()
        except (_plan.PlanError, _run_lock.LockHeld) as err:
            failure = to_text(err)
        except ApiNodeError as err:
            failure = err.msg
            self.result.update(status=err.status, error=err.as_dict())
        except (IOError, OSError) as err:
            failure = 'Cannot %s: %s' % (self._doing, to_text(err))
        finally:
            self._release_lock()
        self.result['api_calls'] = self.client.request_count + self.user_client.request_count
        return self.result, failure

    def _run(self):
        p = self.params
        release = _plan.normalise_release(p['services'], p['code_envs'], p['models'], p['cache_state_dir'])
        previous = _plan.normalise_previous(p['previous'])
        if p['phase'] == _plan.ROLLBACK and not previous:
            raise _plan.PlanError('phase=rollback needs previous: the previous list returned by the activate to undo.')
        ids = [s['id'] for s in release['services']] + [s['id'] for s in previous]
        node = read_node(self.client, ids, _plan.marker_paths(release, self.client.base_url))
        plan = _plan.build_plan(release, node, p['keep_generations'], p['preload'], previous)
        steps = plan.for_phases(_plan.PHASES[p['phase']])
        before = _plan.view(node['services'])
        self.result.update(plan=[public_step(s) for s in steps], drift=plan.drift, current=not plan.drift,
                           staged=plan.staged, previous=_plan.capture_previous(release, node),
                           services=node['services'], node_services=node['node_services'])
        check_staged_packages(steps, self.check_mode)
        if steps:
            self._take_lock()
        if self.check_mode:
            self.result['changed'] = bool(steps)
            if self.diff:
                self.result['diff'] = dict(before=before, after=_plan.predict_view(before, steps))
            return
        # The smoke tests close the activate phase, switched or not, before retention deletes anything.
        smoke_due = _plan.ACTIVATE in _plan.PHASES[p['phase']]
        for step in steps:
            if smoke_due and step['phase'] == _plan.RETAIN:
                self._smoke_tests(release)
                smoke_due = False
            apply(self.client, step)
            self.result['changed'] = True
        if smoke_due:
            self._smoke_tests(release)
        if self.result['changed']:
            node = read_node(self.client, ids)
            self.result['services'] = node['services']
        if self.diff:
            self.result['diff'] = dict(before=before, after=_plan.view(node['services']))

    def _smoke_tests(self, release):
        """After the switches, every smoke test of the release; fails naming each failed test."""
        p = self.params
        for service in release['services']:
            for test in service['smoke_tests']:
                self.result['smoke_tests'].append(
                    smoke_test(self.user_client, service['id'], test, p['smoke_retries'], p['smoke_delay'], self.sleep))
        failed = [t for t in self.result['smoke_tests'] if not t['passed']]
        if failed:
            raise _plan.PlanError('Smoke test failed: %s.' % '; '.join(
                'service %s endpoint %s (generation %s): %s' % (t['service'], t['endpoint'], t['generation'], t['message'])
                for t in failed))

    def _take_lock(self):
        if not self.lock:
            return
        if self.check_mode:
            _run_lock.check(self.lock['path'], self.lock['owner'])
            return
        self._doing = 'take the deploy lock %s' % self.lock['path']
        self.result['lock']['taken'] = _run_lock.acquire(self.lock['path'], self.lock['owner'], self.lock.get('holder'))
        self._doing = 'run the release'

    def _release_lock(self):
        if not self.lock or self.check_mode or not self.lock.get('release'):
            return
        try:
            self.result['lock']['released'] = _run_lock.release(self.lock['path'], self.lock['owner'])
        except (IOError, OSError) as err:
            self.warnings.append('Could not remove the deploy lock %s: %s' % (self.lock['path'], to_text(err)))
