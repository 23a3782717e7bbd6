# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run a release plan on one node: read the node once, plan, then apply the steps of the asked phases.

Every request goes through the shared client; every decision comes from ``_plan``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.dss.apinode.plugins.module_utils import _api_lock, _drain, _plan, _run_lock, _versions
from ansible_collections.dss.apinode.plugins.module_utils import _staging
from ansible_collections.dss.apinode.plugins.module_utils import _predict, _progressive
from ansible_collections.dss.apinode.plugins.module_utils._client import ApiNodeError, path
from ansible_collections.dss.apinode.plugins.module_utils._fingerprint import read_marker, write_marker
from ansible_collections.dss.apinode.plugins.module_utils._package import PackageError, identity, read_tag
from ansible_collections.dss.apinode.plugins.module_utils._service_state import list_generations, service_state

# Step fields that only the apply needs (the marker record is rebuilt from the step's own fields).
PRIVATE_STEP_FIELDS = ('record', 'tag')
EMPTY_RELEASE = ('The release is empty: it names no service, code env or model (options services, code_envs and models; '
                 'with the dss.apinode.deploy role apinode_deploy_services, apinode_deploy_code_envs and '
                 'apinode_deploy_models). A misspelt variable name or a forgotten -e @release.yml leaves them empty.')


def read_node(client, service_ids, markers=(), drain_flag=None, drain_api=False):
    """GET services, then GET generations of each of ``service_ids`` that exists (sorted), and the marker
    files ``markers`` on this host: the ``node`` argument of ``_plan.build_plan``.

    Whether the node is out of its load balancer: from its not-alive flag file ``drain_flag`` (node
    transport), or with ``drain_api`` from ``/isAlive/`` and the admin API's drain keys (one more GET,
    two when it is out)."""
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
                markers=dict((marker, read_marker(marker)) for marker in markers),
                drain_flag=_drain.read_flag(drain_flag) if drain_flag else (_drain.read_api(client) if drain_api else None))


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


# Plan actions that need a DSS version newer than the first API nodes (see _versions.FEATURES).
STEP_FEATURES = {'import_model': 'model_cache'}


def check_package_versions(steps, node_version):
    """Refuse, before any write, a step the node is too old for, and a package built by a DSS newer than the
    node (its import would fail late). An unknown node version is tried, not refused."""
    for step in steps:
        feature = STEP_FEATURES.get(step['action'])
        problem = _versions.missing_feature(feature, node_version) if feature else None
        if problem:
            raise _plan.PlanError('%s (needed because %s).' % (problem.rstrip('.'), step['sentence']))
        if step['action'] == 'import_generation':
            problem = _versions.package_too_new(step['tag'], node_version)
            if problem:
                raise _plan.PlanError('Service %s: %s' % (step['service'], problem))


def apply(client, step, transport='node', drain_flag=None):
    """Send the admin call of one plan step (and record an artefact import in its marker).

    With the ``api`` transport the module runs away from the node: a package is streamed to it
    (``importFromStream``, multipart) instead of being named by its path on the node's disk.
    """
    action, sid = step['action'], step.get('service')
    if action == 'undrain':
        if transport == 'api':
            _drain.put_back_api(client)
        elif drain_flag:
            _drain.put_back_flag(drain_flag)
    elif action == 'import_generation' and transport == 'api':
        stream_package(client, sid, step['path'])
    elif action == 'import_code_env':
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


def stream_package(client, service_id, archive):
    rel = path('services', service_id, 'generations', 'actions', 'importFromStream')
    try:
        client.upload(rel, archive)
    except ApiNodeError as err:
        if err.status in (404, 405):
            raise _plan.PlanError('This node does not offer %s (HTTP %s): it cannot receive a package over the admin API '
                                  'alone. Use the node transport (the package is copied to the node and imported from '
                                  'its disk).' % (rel.replace(service_id, '{serviceId}', 1), err.status))
        raise


def public_step(step):
    return dict((k, v) for k, v in step.items() if k not in PRIVATE_STEP_FIELDS)


def smoke_test(client, service_id, test, retries=3, delay=2.0, sleep=time.sleep):
    """Send ``test`` (a ``_plan`` smoke test, a ``_predict`` query) through the user API until it passes or
    ``retries`` more tries failed.

    Returns ``{service, endpoint, generation, status, served_generation, prediction, passed, message}``
    (never the user key); ``generation`` is the generation forced, None for a test with a dispatch key.
    """
    for attempt in range(1 + max(0, retries)):
        if attempt:
            sleep(delay)
        answer = _predict.send(client, service_id, test)
        verdict = dict((k, answer[k]) for k in ('status', 'served_generation', 'prediction', 'passed', 'message'))
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
        self.transport = params.get('transport') or 'node'
        drain = params.get('drain') or {}
        # mode none drains nothing, but its flag_path still shows (and puts back) a node an interrupted rollout left out.
        self.drain_flag = drain.get('flag_path') if self.transport == 'node' else None
        self.drain_options = drain if drain.get('mode') not in (None, 'none') else None
        self.drain = None
        self.warnings = []
        self._doing = 'run the release'
        self._started = time.time()
        self._phase, self._phase_started, self._durations = None, None, {}
        # The record of what served before is kept on the node only where a staging folder is.
        self.staging_dir = params.get('staging_dir') if self.transport == 'node' else None
        self._recorded = False
        self.result = dict(changed=False, phase=params['phase'], plan=[], drift=[], current=False, staged=False,
                           previous=[], services=[], smoke_tests=[], targets=[],
                           lock=dict(path=lock.get('path'), taken=False, released=False) if lock else None)

    def run(self):
        """Returns ``(result, failure message or None)``; the lock is released on the way out when asked."""
        failure = None
        try:
            self._run()
        except (_plan.PlanError, _run_lock.LockHeld, _api_lock.ApiLockHeld) as err:
            failure = to_text(err)
        except ApiNodeError as err:
            failure = err.msg
            self.result.update(status=err.status, error=err.as_dict())
        except (IOError, OSError) as err:
            failure = 'Cannot %s: %s' % (self._doing, to_text(err))
        finally:
            self._give_back()
            self._release_lock()
        self._clock(None)
        self.result['api_calls'] = self.client.request_count + self.user_client.request_count
        self.result['duration'] = round(time.time() - self._started, 1)
        self.result['durations'] = dict((phase, round(seconds, 1)) for phase, seconds in self._durations.items())
        return self.result, failure

    def _clock(self, phase):
        """Charge the seconds since the last call to the phase running until now, then start ``phase``."""
        now = time.time()
        if self._phase is not None:
            self._durations[self._phase] = self._durations.get(self._phase, 0.0) + now - self._phase_started
        self._phase, self._phase_started = phase, now

    def _run(self):
        p = self.params
        release = _plan.normalise_release(p['services'], p['code_envs'], p['models'], p['cache_state_dir'])
        mode = (self.drain_options or {}).get('mode')
        if mode == 'flag' and (self.transport != 'node' or not self.drain_options.get('flag_path')):
            raise _plan.PlanError('drain.mode=flag writes the node\'s not-alive flag file: it needs the node transport and '
                                  'drain.flag_path (with the api transport use drain.mode=api).')
        if self.transport == 'api' and (release['code_envs'] or release['models']):
            raise _plan.PlanError(
                'The api transport cannot fill the code-env or model cache: their imports take a path on the node\'s '
                'own disk, and only the admin API is reached. Deploy the code envs and model archives with the node '
                'transport (once, for example when the node is bootstrapped), then leave them out of the release '
                'deployed over the api transport.')
        if not (release['services'] or release['code_envs'] or release['models']) and p['phase'] != _plan.ROLLBACK \
                and not p.get('allow_empty'):
            raise _plan.PlanError(EMPTY_RELEASE)
        given = p['previous']
        if p['phase'] == _plan.ROLLBACK and given is None:
            given = self._recorded_previous()
        previous = _plan.normalise_previous(given)
        ids = [s['id'] for s in release['services']] + [s['id'] for s in previous]
        flag = self.drain_flag
        node = read_node(self.client, ids, _plan.marker_paths(release, self.client.base_url), drain_flag=flag,
                         drain_api=self.transport == 'api')
        self.result['drained'] = self._drained(node)
        self.result['progressive'] = self._progressive(release, node, previous, p.get('step'))
        # After _progressive: with a step, the target is that step's mapping, as in the plan.
        self.result['targets'] = _plan.targets(release)
        plan = _plan.build_plan(release, node, p['keep_generations'], p['preload'], previous)
        self._check_dispatch_keys(release, node, plan)
        steps = plan.for_phases(_plan.PHASES[p['phase']])
        before = _plan.view(node['services'])
        self.result.update(plan=[public_step(s) for s in steps], drift=plan.drift, current=not plan.drift,
                           staged=plan.staged, previous=_plan.capture_previous(release, node),
                           services=node['services'], node_services=node['node_services'])
        check_staged_packages(steps, self.check_mode)
        check_package_versions(steps, _versions.node_version(self.client, probe=False))
        if steps:
            self._take_lock()
        if self.check_mode:
            self.result['changed'] = bool(steps)
            if _plan.RETAIN in _plan.PHASES[p['phase']]:
                self._prune(release, _plan.predict_view(before, steps), previous)
            if self.diff:
                self.result['diff'] = dict(before=before, after=_plan.predict_view(before, steps))
            return
        # The smoke tests close the activate phase, switched or not, before retention deletes anything.
        smoke_due = _plan.ACTIVATE in _plan.PHASES[p['phase']]
        for step in steps:
            if smoke_due and step['phase'] == _plan.RETAIN:
                self._clock(_plan.ACTIVATE)
                self._close_activation(release, previous=self.result['previous'], node=node)
                smoke_due = False
            self._clock(step['phase'])
            if step['phase'] == _plan.ACTIVATE:
                self._take_drain()
                self._record_previous()
            apply(self.client, step, self.transport, flag)
            self.result['changed'] = True
        if smoke_due:
            self._clock(_plan.ACTIVATE)
            self._close_activation(release, previous=self.result['previous'], node=node)
        if self.result['changed']:
            node = read_node(self.client, ids)
            self.result['services'] = node['services']
        if _plan.RETAIN in _plan.PHASES[p['phase']]:
            self._clock(_plan.RETAIN)
            self._prune(release, _plan.view(node['services']), previous)
        if self.diff:
            self.result['diff'] = dict(before=before, after=_plan.view(node['services']))

    def _progressive(self, release, node, previous, step):
        """The steps of each release service that has ``steps``, from the mapping it served before the rollout
        (``previous`` when given, else the node's): ``[{service, generation, base, steps: [{index, proba,
        bake_seconds, mapping}]}]`` (no steps: the switch is at once). With ``step``, the service is switched
        to that step's mapping instead of its final one."""
        current = dict((s['id'], s.get('mapping')) for s in node['services'] if s.get('exists', True))
        before = dict((item['id'], item['mapping'] if item['existed'] else None) for item in previous)
        out = []
        for service in release['services']:
            if not service['steps'] or not service['enabled']:
                continue
            sid = service['id']
            base = before[sid] if sid in before else current.get(sid)
            steps = _progressive.plan_steps(service['target'], service['steps'], base, service['strategy'])
            out.append(dict(service=sid, generation=service['target'], base=base, steps=steps))
            if step is not None:
                if step < 0:
                    raise _plan.PlanError('step must be 0 or more, got %s.' % step)
                service['step'] = step
                if steps:
                    service['wanted'] = steps[min(step, len(steps) - 1)]['mapping']
        return out

    def _check_dispatch_keys(self, release, node, plan):
        """Warn (or fail with require_dispatch_key) before a service switches to a hash_based mapping while
        it has traffic that may come from callers without a dispatch key."""
        switching = set(s['service'] for s in plan.steps if s['phase'] == _plan.ACTIVATE and s['action'] == 'set_mapping')
        candidates = [s for s in release['services'] if s['strategy'] == 'hash_based' and s['id'] in switching]
        if not candidates:
            return
        try:
            metrics = self.client.get('metrics') or {}
        except ApiNodeError as err:
            self.warnings.append('Cannot read the metrics to check the traffic of hash_based services: %s' % err.msg)
            return
        current = dict((s['id'], s.get('mapping')) for s in node['services'])
        risks = [r for r in (_progressive.dispatch_key_risk(s['id'], current.get(s['id']), s['strategy'], metrics)
                             for s in candidates) if r]
        self.result['dispatch_key_risks'] = risks
        if risks and self.params.get('require_dispatch_key'):
            raise _plan.PlanError('Refused (require_dispatch_key): %s.' % '; '.join(risks))
        self.warnings.extend(risks)

    def _recorded_previous(self):
        """The ``previous`` list of the node's last rollout record (rollback with no ``previous`` given)."""
        if self.transport == 'api':
            raise _plan.PlanError('A rollback without previous reads the record the last rollout kept in the node\'s staging '
                                  'folder, and the api transport keeps none (it reaches the admin API only): roll back by '
                                  'deploying the previous release again (or give apinode_release the previous of the rollout).')
        if not self.staging_dir:
            raise _plan.PlanError('phase=rollback needs previous, or staging_dir to read what the last rollout recorded there.')
        self._doing = 'read the last rollout record in %s' % self.staging_dir
        try:
            record = _staging.read_record(self.staging_dir)
        except ValueError as err:
            raise _plan.PlanError(to_text(err))
        self._doing = 'run the release'
        if record is None:
            raise _plan.PlanError('No rollout is recorded on this node (%s is missing): nothing to roll back to.'
                                  % _staging.record_path(self.staging_dir))
        self.result['last_rollout'] = dict(owner=record.get('owner'), at=record.get('at'))
        return record['previous']

    def _record_previous(self):
        """Before the first switch: what served before, for a rollback run later with the inventory alone."""
        if self._recorded or not self.staging_dir or self.params['phase'] == _plan.ROLLBACK:
            return
        self._doing = 'write the rollout record in %s' % self.staging_dir
        _staging.write_record(self.staging_dir, self.result['previous'], (self.lock or {}).get('owner'))
        self._doing = 'run the release'
        self._recorded = True

    def _prune(self, release, after, previous):
        """Staged packages of generations no longer on the node, and code envs or models the release no longer
        names: removed (listed only, in check mode). Packages of services outside the release are left alone."""
        if not self.staging_dir or not os.path.isdir(self.staging_dir):
            return
        keep = {}
        for service in release['services']:
            kept = set((after.get(service['id']) or {}).get('generations') or [])
            kept.update(g for g in [service['target']] if g)
            for item in previous:
                if item['id'] == service['id']:
                    kept.update(_plan.generations_of(item['mapping']))
            keep[service['id']] = kept
        fingerprints = [a['fingerprint'] for a in release['code_envs'] + release['models']]
        pruned = _staging.prunable(_staging.listing(self.staging_dir), keep, fingerprints)
        self.result['pruned'] = pruned
        if pruned and not self.check_mode:
            _staging.remove(self.staging_dir, pruned)
            self.result['changed'] = True

    def _close_activation(self, release, previous, node):
        """Smoke tests, then back into the load balancer. A drained node that fails them is first put back
        to what it served, so that it never re-enters the pool serving what failed."""
        try:
            self._smoke_tests(release)
        except _plan.PlanError:
            if self.drain is not None:
                for step in _plan.rollback_steps(_plan.normalise_previous(previous), read_node(self.client, [
                        s['id'] for s in release['services']])):
                    apply(self.client, step, self.transport)
                self.result['rolled_back'] = True
            raise
        self._give_back()

    def _drained(self, node):
        flag = node.get('drain_flag')
        if flag is not None:
            return dict(by='dss.apinode' if flag.get('ours') else 'someone else', owner=flag.get('owner'),
                        since=flag.get('since'))
        return None

    def _take_drain(self):
        if not self.drain_options or self.drain is not None or self.check_mode:
            return
        d = self.drain_options
        mode = d['mode']
        self.drain = _drain.Drain(self.client, mode if mode != 'wait' else None, flag_path=d.get('flag_path'),
                                  owner=(self.lock or {}).get('owner'), holder=(self.lock or {}).get('holder'),
                                  seconds=d.get('seconds') or 0, sleep=self.sleep)
        if mode == 'wait':
            # The user's own hook drained the node: only let the queries in flight finish.
            if d.get('seconds'):
                self.sleep(d['seconds'])
            return
        self.drain.take()
        self.result['drain'] = dict(mode=mode, taken=self.drain.taken, already_out=self.drain.was_out)

    def _give_back(self):
        if self.drain is None or not self.drain.taken:
            return
        try:
            self.drain.give_back()
            self.result['drain']['given_back'] = True
        except (ApiNodeError, IOError, OSError) as err:
            self.warnings.append('Could not put the node back into its load balancer: %s' % to_text(getattr(err, 'msg', err)))

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
        if not self.lock.get('owner'):
            raise _plan.PlanError('lock.owner is missing: the run id that the controller side of the module fills in.')
        if self.transport == 'api':
            if self.check_mode:
                _api_lock.check(self.client, self.lock['owner'])
            else:
                self.result['lock']['taken'] = _api_lock.acquire(self.client, self.lock['owner'], self.lock.get('holder'))
            return
        if not self.lock.get('path'):
            raise _plan.PlanError('lock.path is required with the node transport (a folder on the node).')
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
            if self.transport == 'api':
                self.result['lock']['released'] = _api_lock.release(self.client, self.lock['owner'])
            else:
                self.result['lock']['released'] = _run_lock.release(self.lock['path'], self.lock['owner'])
        except (IOError, OSError, ApiNodeError) as err:
            where = self.lock.get('path') or 'key "%s"' % _api_lock.LOCK_LABEL
            self.warnings.append('Could not remove the deploy lock %s: %s' % (where, to_text(getattr(err, 'msg', err))))
