# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The release plan: what must change on one node for it to serve a release, as ordered steps.

Pure logic, no I/O. ``normalise_release`` checks the module options and puts them in one shape;
``build_plan`` compares that release with one read of the node and returns the steps of every
phase, each with the sentence that names the difference. Check mode, drift reports and the apply
all use this one function, so that they always agree.

A step is a dict ``{phase, action, sentence}`` plus, depending on the action, ``service``,
``generation``, ``path``, ``mapping`` (normal form), ``body`` (the setMapping body), ``query``,
``fingerprint``, ``marker`` and ``record`` (the import marker to write). Actions, in order:

- stage: ``undrain`` (a node left out of its load balancer by an interrupted rollout),
  ``import_code_env``, ``import_model``, ``create_service``, ``import_generation``, ``preload_generation``;
- activate: ``set_mapping`` (a switch, and the enable of a disabled service), ``disable``;
- retain: ``delete_generation``;
- rollback: ``set_mapping``, ``disable``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import posixpath

from ansible_collections.dss.apinode.plugins.module_utils import _mapping
from ansible_collections.dss.apinode.plugins.module_utils import _predict
from ansible_collections.dss.apinode.plugins.module_utils import _progressive
from ansible_collections.dss.apinode.plugins.module_utils._common import id_problem
from ansible_collections.dss.apinode.plugins.module_utils._drain import describe as describe_drain
from ansible_collections.dss.apinode.plugins.module_utils._fingerprint import marker_path
from ansible_collections.dss.apinode.plugins.module_utils._package import identity
from ansible_collections.dss.apinode.plugins.module_utils._release import (
    beyond_retention,
    describe_mapping,
    generations_of,
)

STAGE = 'stage'
ACTIVATE = 'activate'
RETAIN = 'retain'
ROLLBACK = 'rollback'
PHASES = {
    STAGE: (STAGE,),
    ACTIVATE: (ACTIVATE,),
    RETAIN: (RETAIN,),
    ROLLBACK: (ROLLBACK,),
    'all': (STAGE, ACTIVATE, RETAIN),
}
# The phases whose differences are drift: a node with none of them already serves the release.
DRIFT_PHASES = (STAGE, ACTIVATE, RETAIN)
STAGE_ORDER = ('undrain', 'import_code_env', 'import_model', 'create_service', 'import_generation', 'preload_generation')
# The dispatch key of the smoke test added to a hash_based service whose smoke tests send none.
SMOKE_DISPATCH_KEY = 'dss-apinode-smoke'
# apinode_cache keeps its markers there when no folder is given; the same default finds the same markers.
MARKERS_DIR_NAME = '.apinode-cache'


class PlanError(Exception):
    """The release cannot be planned: bad input, or a node state the release must not overwrite."""


# --- the release --------------------------------------------------------------------------------

def normalise_release(services, code_envs=None, models=None, cache_state_dir=None):
    """The release options in one checked shape.

    ``services``: list of dicts with ``id``, ``package``, ``tag``, ``generation``, ``mapping``,
    ``strategy``, ``enabled``, ``smoke_tests`` (the module options). Returns ``{services: [{id,
    package, tag, generation, target, wanted, enabled, smoke_tests}], code_envs: [{path,
    fingerprint, language}], models: [{path, fingerprint}], cache_state_dir}`` where ``target`` is
    the generation the release brings (the explicit one, else the package's) and ``wanted`` the
    mapping in ``_mapping`` normal form (None for a service the release only keeps disabled).
    Raises PlanError naming the first problem.
    """
    out = dict(services=[], code_envs=[], models=[], cache_state_dir=cache_state_dir)
    seen, packages = {}, {}
    for index, item in enumerate(services or []):
        service = _service(item, index)
        sid = service['id']
        if sid in seen:
            raise PlanError('Service %s is listed twice in the release (services[%d] and services[%d]).'
                            % (sid, seen[sid], index))
        seen[sid] = index
        if service['package']:
            other = packages.get(service['package'])
            if other is not None:
                raise PlanError('Services %s and %s are given the same staged package %s: each service needs its own '
                                'package path.' % (other, sid, service['package']))
            packages[service['package']] = sid
        out['services'].append(service)
    for key, kind in (('code_envs', 'code_env'), ('models', 'model')):
        paths = set()
        for index, item in enumerate((code_envs if key == 'code_envs' else models) or []):
            artefact = _artefact(item, '%s[%d]' % (key, index), kind)
            if artefact['path'] in paths:
                raise PlanError('%s[%d]: %s is listed twice.' % (key, index, artefact['path']))
            paths.add(artefact['path'])
            out[key].append(artefact)
    return out


def _service(item, index):
    sid = item.get('id')
    _check_id('service', sid, 'services[%d].id' % index)
    package, tag = item.get('package') or None, item.get('tag') or None
    if package and tag is None:
        raise PlanError('Service %s: package %s is given without its tag (the tag.json read on the controller).'
                        % (sid, package))
    if tag is not None:
        _check_tag(sid, tag)
    generation = item.get('generation')
    generation = None if generation in (None, '') else str(generation)
    if generation is not None:
        _check_generation_id(generation, 'services[%d].generation' % index)
        if tag is not None and generation != tag['generationId']:
            raise PlanError('Service %s: the release expects generation %s but its package %s is generation %s '
                            '(tag.json generationId).' % (sid, generation, package or '', tag['generationId']))
    target = generation or (tag or {}).get('generationId')
    enabled = True if item.get('enabled') is None else bool(item['enabled'])
    mapping = item.get('mapping')
    if mapping:
        entries = []
        for entry in mapping:
            name = None if entry.get('generation') in (None, '') else str(entry['generation'])
            _check_generation_id(name, 'the mapping of service %s' % sid)
            entries.append(dict(generation=name, proba=float(entry.get('proba') or 0.0)))
        wanted = _mapping.desired(mapping=entries, strategy=item.get('strategy'))
        found = _mapping.problems(wanted)
        if found:
            raise PlanError('Invalid mapping for service %s: %s.' % (sid, '; '.join(found)))
    elif item.get('strategy') and not item.get('steps'):
        raise PlanError('Service %s: strategy applies only to a mapping of several generations (or to its steps).' % sid)
    else:
        wanted = _mapping.desired(generation=target) if target else None
    try:
        steps = _progressive.normalise_steps(item.get('steps'), 'service %s steps' % sid)
        _progressive.normalise_analysis(item.get('analysis'), where='service %s analysis' % sid)
    except _progressive.ProgressiveError as err:
        raise PlanError(str(err))
    if steps and (mapping or not target):
        raise PlanError('Service %s: steps shift the traffic to the generation of its package (or its generation); '
                        'they do not go with a mapping.' % sid)
    if wanted is None and enabled:
        raise PlanError('Service %s has nothing to serve: give its package (with its tag), a generation or a mapping.'
                        % sid)
    tests = []
    for number, test in enumerate(item.get('smoke_tests') or []):
        tests.append(_smoke_test(sid, number, test, target, enabled))
    strategy = item.get('strategy') or 'random'
    if strategy == 'hash_based' and tests and not any(t['dispatch_key'] for t in tests):
        # Callers of a hash_based mapping must send a key: prove that a keyed query is answered too.
        tests.append(dict(tests[0], generation=None, expected_generation=None, dispatch_key=SMOKE_DISPATCH_KEY))
    return dict(id=sid, package=package, tag=tag, generation=generation, target=target, wanted=wanted,
                enabled=enabled, smoke_tests=tests, steps=steps, strategy=strategy)


def targets(release):
    """Per release service what the plan brings the node to: ``[{id, enabled, mapping}]``, ``mapping`` being the
    normal-form ``wanted`` the activate steps compare with (None for a service kept disabled: it is never switched).

    Returned as is, so that a report compares the node with the target the plan resolved (the package's
    tag.json when no generation is given) rather than guessing it from the nodes."""
    return [dict(id=s['id'], enabled=s['enabled'], mapping=s['wanted'] if s['enabled'] else None)
            for s in release['services']]


def _check_tag(sid, tag):
    if not isinstance(tag, dict) or not isinstance(tag.get('generationId'), str) or not tag['generationId']:
        raise PlanError('Service %s: its tag has no generationId.' % sid)
    created_on = tag.get('createdOn')
    if isinstance(created_on, bool) or not isinstance(created_on, int):
        raise PlanError('Service %s: its tag has no integer createdOn (epoch milliseconds), got %r.' % (sid, created_on))
    _check_generation_id(tag['generationId'], 'the generationId of the tag of service %s' % sid)


def _check_id(kind, value, where):
    problem = id_problem(kind, value, where)
    if problem:
        raise PlanError(problem)


def _check_generation_id(value, where):
    _check_id('generation', value, where)


def _smoke_test(sid, number, test, target, enabled):
    """One smoke test as a ``_predict`` query: ``{endpoint, type, <its input>, generation (forced, or None with a
    dispatch key), expected_generation (the same), dispatch_key, api_key, expected_status, expected_prediction,
    expect}``. A dispatch key and a generation do not go together (a forced generation would hide the key)."""
    where = 'service %s smoke test #%d (%s)' % (sid, number, test.get('endpoint'))
    kind = test.get('type') or _predict.DEFAULT_TYPE
    problem = _predict.query_problem(dict(test, type=kind), 'the ' + where)
    if problem:
        raise PlanError(problem)
    _check_id('endpoint', test.get('endpoint'), where)
    if not enabled:
        raise PlanError('The %s cannot run: the release keeps the service disabled.' % where)
    generation = test.get('generation')
    generation = str(generation) if generation not in (None, '') else None
    dispatch_key = test.get('dispatch_key') or None
    if dispatch_key is not None:
        # The node picks the generation from the key, as for a real caller: any generation it serves may answer.
        forced = None
    else:
        forced = generation or target
        if not forced:
            raise PlanError('The %s needs a generation: the service has a mapping and no package or generation.' % where)
    result = dict(endpoint=test['endpoint'], type=kind, generation=forced, expected_generation=forced,
                  dispatch_key=dispatch_key, api_key=test.get('api_key') or None,
                  expected_status=list(test.get('expected_status') or _predict.DEFAULT_STATUS))
    option = _predict.INPUTS[kind][0]
    result[option] = test.get(option)
    for name in ('expected_prediction', 'expect'):
        if test.get(name) is not None:
            result[name] = test[name]
    return result


def _artefact(item, label, kind):
    if not item.get('path'):
        raise PlanError('%s has no path.' % label)
    if not str(item.get('fingerprint') or '').startswith('sha256:'):
        raise PlanError('%s (%s) has no sha256 fingerprint.' % (label, item['path']))
    artefact = dict(kind=kind, path=posixpath.normpath(item['path']), fingerprint=item['fingerprint'])
    if kind == 'code_env':
        artefact['language'] = item.get('language') or 'python'
    return artefact


# --- import markers (the same records as apinode_cache writes) ---------------------------------

def artefact_marker(release, artefact, node_url):
    """(marker file path, the record apinode_cache writes after importing ``artefact`` on this node)."""
    state_dir = release.get('cache_state_dir') or os.path.join(os.path.dirname(artefact['path']), MARKERS_DIR_NAME)
    if artefact['kind'] == 'code_env':
        query = dict(language=artefact['language'])
    else:
        query = dict(modelArchivePath=artefact['path'])
    record = dict(kind=artefact['kind'], path=artefact['path'], fingerprint=artefact['fingerprint'],
                  node=node_url, query=query)
    return marker_path(state_dir, artefact['kind'], artefact['path'], node_url), record


def marker_paths(release, node_url):
    """Every marker file the plan looks at, to read before ``build_plan``."""
    return [artefact_marker(release, a, node_url)[0] for a in release['code_envs'] + release['models']]


# --- previous state -------------------------------------------------------------------------------

def capture_previous(release, node):
    """What each release service serves before this call: ``[{id, existed, enabled, mapping}]``."""
    services = _by_id(node)
    out = []
    for service in release['services']:
        current = services.get(service['id'])
        if current is None:
            out.append(dict(id=service['id'], existed=False, enabled=False, mapping=None))
        else:
            out.append(dict(id=service['id'], existed=True, enabled=bool(current.get('enabled')),
                            mapping=current.get('mapping')))
    return out


def normalise_previous(previous):
    """The ``previous`` option checked: list of ``{id, existed, enabled, mapping}`` with mappings in normal form."""
    out = []
    for index, item in enumerate(previous or []):
        if not isinstance(item, dict):
            raise PlanError('previous[%d] must be a dict {id, existed, enabled, mapping} (as returned by an earlier '
                            'activate).' % index)
        _check_id('service', item.get('id'), 'previous[%d].id' % index)
        mapping = item.get('mapping')
        if mapping:
            if not isinstance(mapping, dict):
                raise PlanError('previous[%d] (%s): mapping must be a dict.' % (index, item['id']))
            mapping = _mapping.from_server(mapping)
        out.append(dict(id=item['id'], existed=item.get('existed', True) is not False,
                        enabled=bool(item.get('enabled')), mapping=mapping or None))
    return out


# --- the plan -------------------------------------------------------------------------------------

class Plan(object):
    """The ordered steps for one node: ``steps`` holds every step of every phase, in order.

    ``rollback_problem``: why the rollback steps cannot be planned (raised only when they are asked for).
    """

    def __init__(self, steps, rollback_problem=None):
        self.steps = steps
        self.rollback_problem = rollback_problem

    def for_phases(self, phases):
        """The steps of ``phases`` (a tuple of PHASES values); raises PlanError when they cannot run alone."""
        if ROLLBACK in phases and self.rollback_problem:
            raise PlanError(self.rollback_problem)
        chosen = [s for s in self.steps if s['phase'] in phases]
        if ACTIVATE in phases and STAGE not in phases:
            for step in chosen:
                if step['action'] != 'set_mapping':
                    continue
                for waiting in self.steps:
                    if waiting.get('service') != step['service']:
                        continue
                    if waiting['action'] == 'create_service' or (
                            waiting['action'] == 'import_generation'
                            and waiting['generation'] in generations_of(step['mapping'])):
                        raise PlanError('Service %s cannot be activated before it is staged (%s): run the stage '
                                        'phase first.' % (step['service'], waiting['sentence']))
        return chosen

    @property
    def drift(self):
        return [s['sentence'] for s in self.steps if s['phase'] in DRIFT_PHASES]

    @property
    def staged(self):
        """Nothing left to stage: the release is on the node, whether it serves it or not."""
        return not any(s['phase'] == STAGE for s in self.steps)


def build_plan(release, node, keep_generations=3, preload=True, previous=None):
    """Compare ``release`` (from ``normalise_release``) with ``node`` and return a Plan.

    ``node``: ``{url, services: [_service_state dicts with generations, for the release services that
    exist], raw_mappings: {id: activeMapping as the node lists it}, markers: {marker path: record or
    None}}``. ``keep_generations``: newest generations kept per service (None: no retention).
    ``previous``: the ``normalise_previous`` list, kept by retention and restored by the rollback steps.
    Raises PlanError for a node state the release must not overwrite.
    """
    services = _by_id(node)
    raw = node.get('raw_mappings') or {}
    previous = previous or []
    stage = dict((action, []) for action in STAGE_ORDER)
    activate, retain = [], []

    flag = node.get('drain_flag')
    if flag and flag.get('ours'):
        # Left out of its load balancer by an interrupted rollout: the next rollout puts it back first.
        stage['undrain'].append(_step(STAGE, 'undrain', describe_drain(flag)))

    for kind, action in (('code_envs', 'import_code_env'), ('models', 'import_model')):
        for artefact in release[kind]:
            step = _artefact_step(release, node, artefact, action)
            if step:
                stage[action].append(step)

    for service in release['services']:
        sid = service['id']
        current = services.get(sid)
        present = dict((g['generationId'], g) for g in (current or {}).get('generations') or [])
        if current is None:
            stage['create_service'].append(_step(STAGE, 'create_service', 'service %s is missing' % sid, service=sid))
        importing = _import_step(service, present)
        if importing:
            stage['import_generation'].append(importing)
        target = service['target']
        if (preload and service['enabled'] and target and (target in present or importing)
                and not (present.get(target) or {}).get('mounted')):
            stage['preload_generation'].append(_step(STAGE, 'preload_generation', 'service %s: generation %s is not preloaded'
                                                     % (sid, target), service=sid, generation=target))
        available = set(present) | set([importing['generation']] if importing else [])
        activate.extend(_activate_steps(service, current, raw.get(sid), available))
        if keep_generations is not None:
            predicted = _predicted_generations(present, importing)
            retain.extend(_retention_steps(service, current, predicted, keep_generations, previous))

    steps = [s for action in STAGE_ORDER for s in stage[action]] + activate + retain
    problem = None
    try:
        steps.extend(rollback_steps(previous, node))
    except PlanError as err:
        problem = str(err)  # only a rollback call fails on it; retain just keeps these generations
    return Plan(steps, problem)


def _step(phase, action, sentence, **fields):
    step = dict(phase=phase, action=action, sentence=sentence)
    step.update(fields)
    return step


def _artefact_step(release, node, artefact, action):
    marker, record = artefact_marker(release, artefact, node.get('url'))
    found = (node.get('markers') or {}).get(marker) or {}
    if all(found.get(k) == v for k, v in record.items()):
        return None
    what = '%s %s' % (artefact['kind'], artefact['path'])
    if not found:
        sentence = '%s was never imported' % what
    elif found.get('fingerprint') != artefact['fingerprint']:
        sentence = '%s was imported with other content' % what
    else:
        sentence = '%s was imported with other options' % what
    return _step(STAGE, action, sentence, path=artefact['path'], fingerprint=artefact['fingerprint'],
                 query=dict(record['query'], **({'fileDir': artefact['path']} if artefact['kind'] == 'code_env' else {})),
                 marker=marker, record=record)


def _import_step(service, present):
    """The import of the service's package when its generation is not on the node; refuses another package."""
    tag = service['tag']
    if tag is None:
        return None
    sid, generation = service['id'], tag['generationId']
    on_node = present.get(generation)
    if on_node is not None:
        if identity(on_node) != identity(tag):
            raise PlanError('Service %s: generation %s on the node comes from another package (created on %s, the '
                            'package on %s); give the package a new version id, or delete that generation first.'
                            % (sid, generation, on_node.get('createdOn'), tag.get('createdOn')))
        return None
    if not service['package']:
        raise PlanError('Service %s: generation %s is not on the node and the release gives no package to import it from.'
                        % (sid, generation))
    return _step(STAGE, 'import_generation', 'service %s: generation %s is not on the node' % (sid, generation),
                 service=sid, generation=generation, path=service['package'], tag=tag)


def _activate_steps(service, current, raw, available):
    sid, wanted = service['id'], service['wanted']
    current_mapping = (current or {}).get('mapping')
    enabled = bool((current or {}).get('enabled'))
    if not service['enabled']:
        if enabled:
            return [_step(ACTIVATE, 'disable', 'service %s is enabled, the release wants it disabled' % sid, service=sid)]
        return []
    if _mapping.same(current_mapping, wanted) and enabled:
        return []
    missing = _mapping.missing_generations(wanted, available)
    if missing:
        raise PlanError('Service %s: generation(s) %s of the release are not on the node (present: %s) and no package of '
                        'the release provides them.' % (sid, ', '.join(missing), ', '.join(sorted(available)) or 'none'))
    if not _mapping.same(current_mapping, wanted):
        sentence = 'service %s serves %s, the release wants %s' % (sid, describe_mapping(current_mapping),
                                                                   describe_mapping(wanted))
        steps = _progressive.plan_steps(service['target'], service.get('steps'), current_mapping,
                                        service.get('strategy')) if service.get('step') is None else []
        if steps:
            sentence += ' (progressive: %s)' % _progressive.describe_steps(steps)
    else:
        sentence = 'service %s is disabled, the release wants it enabled' % sid
        if (current or {}).get('start_aborted_reason'):
            sentence += ' (its start was aborted: %s)' % current['start_aborted_reason']
    return [_step(ACTIVATE, 'set_mapping', sentence, service=sid, mapping=wanted,
                  body=_mapping.request_body(wanted, raw))]


def _predicted_generations(present, importing):
    """The service's generations once staged: retention counts the imported one among the newest."""
    generations = list(present.values())
    if importing:
        tag = importing['tag']
        generations.append(dict(generationId=tag['generationId'], createdOn=tag['createdOn'], mounted=False, mapped=0.0))
    return generations


def _retention_steps(service, current, predicted, keep_generations, previous):
    sid = service['id']
    keep = set(generations_of(service['wanted']))
    keep.update(generations_of((current or {}).get('mapping')))
    if service['target']:
        keep.add(service['target'])
    for item in previous:
        if item['id'] == sid:
            keep.update(generations_of(item['mapping']))
    state = dict(generations=predicted, mapping=(current or {}).get('mapping'))
    return [_step(RETAIN, 'delete_generation', retention_sentence(sid, [gid], keep_generations),
                  service=sid, generation=gid)
            for gid in beyond_retention(state, keep_generations, also_keep=keep)]


def retention_sentence(service_id, generations, keep_generations):
    """'service X: generation v1 is beyond retention (keep 3) and would be deleted'."""
    if len(generations) == 1:
        what = 'generation %s is' % generations[0]
    else:
        what = 'generations %s are' % ', '.join(generations)
    return 'service %s: %s beyond retention (keep %d) and would be deleted' % (service_id, what, keep_generations)


def rollback_steps(previous, node):
    """The steps that put back exactly what ``previous`` records; a service that did not exist, or had no
    mapping, goes back to disabled (the node cannot remove a mapping)."""
    services = _by_id(node)
    raw = node.get('raw_mappings') or {}
    steps = []
    for item in previous or []:
        sid = item['id']
        current = services.get(sid)
        if current is None:
            continue  # nothing to put back on a service that is not there (any more)
        enabled, mapping = bool(current.get('enabled')), current.get('mapping')
        want_mapping = item['mapping'] if item['existed'] else None
        want_enabled = item['enabled'] and want_mapping is not None
        set_it = want_mapping is not None and (
            not _mapping.same(mapping, want_mapping, compare_audit_key=True) or (want_enabled and not enabled))
        if set_it:
            present = [g['generationId'] for g in current.get('generations') or []]
            missing = _mapping.missing_generations(want_mapping, present)
            if missing:
                raise PlanError('Service %s cannot be rolled back to %s: generation(s) %s are not on the node any more.'
                                % (sid, describe_mapping(want_mapping), ', '.join(missing)))
            steps.append(_step(ROLLBACK, 'set_mapping', 'service %s goes back from %s to %s'
                               % (sid, describe_mapping(mapping), describe_mapping(want_mapping)),
                               service=sid, mapping=want_mapping,
                               body=_mapping.request_body(want_mapping, raw.get(sid), keep_audit_key=False)))
            enabled = True
        if enabled and not want_enabled:
            steps.append(_step(ROLLBACK, 'disable', 'service %s goes back to disabled (before the rollout it was %s)'
                               % (sid, 'disabled' if item['existed'] else 'not there'), service=sid))
    return steps


def _by_id(node):
    return dict((s['id'], s) for s in node.get('services') or [] if s.get('exists', True))


# --- smoke tests ----------------------------------------------------------------------------------

def judge_smoke(test, status, body, generation):
    """Whether a smoke-test answer passes (``_predict.judge``): by default HTTP 200,
    ``apiContext.serviceGeneration == generation`` and, when the test sets ``expected_prediction``,
    ``result.prediction`` equal to it; the test's ``expected_status`` and ``expect`` when it sets them.

    ``status``: the HTTP status (None when the node could not be reached); ``body``: the parsed answer
    (or an error message as text); ``generation``: the generation that must answer, None for any.
    Returns ``{status, served_generation, prediction, passed, message}``.
    """
    return _predict.judge(dict(test, expected_generation=generation), status, body)


# --- what the diff shows --------------------------------------------------------------------------

def view(services):
    """Per service id: ``{enabled, mapping, generations: [ids]}`` (the diff's shape)."""
    return dict((s['id'], dict(enabled=bool(s.get('enabled')), mapping=s.get('mapping'),
                               generations=sorted(g['generationId'] for g in s.get('generations') or [])))
                for s in services if s.get('exists', True))


def predict_view(before, steps):
    """The ``view`` once ``steps`` ran, predicted without asking the node (check mode)."""
    after = dict((k, dict(v, generations=list(v['generations']))) for k, v in before.items())
    for step in steps:
        sid, action = step.get('service'), step['action']
        if action == 'create_service':
            after[sid] = dict(enabled=False, mapping=None, generations=[])
        elif action == 'import_generation':
            after[sid]['generations'] = sorted(after[sid]['generations'] + [step['generation']])
        elif action == 'set_mapping':
            after[sid].update(enabled=True, mapping=step['mapping'])
        elif action == 'disable':
            after[sid]['enabled'] = False
        elif action == 'delete_generation':
            after[sid]['generations'] = [g for g in after[sid]['generations'] if g != step['generation']]
    return after
