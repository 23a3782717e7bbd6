# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read, plan, then apply: the one flow of every module that changes a node.

A module gives ``converge``:

- ``read()``: the current state, with reads only (any shape the module likes);
- ``plan(current)``: a pure function that returns a ``Change``: the ordered steps, each a dict
  ``{action, sentence, ...}`` (see ``step``), and the resource before and as predicted after them;
- how to ``apply`` one step (by default the HTTP call the step carries, see ``send``);
- how to ``reread`` the resource once the steps ran.

In check mode the flow stops after the plan: ``changed`` is whether there are steps and the result
shows the predicted resource. Otherwise each step is sent through the shared client, in order, and
the resource is read back. Every module thus returns ``changed``, ``plan`` (the sentences of the
steps) and, with ``--diff``, ``diff`` the same way, and client errors go through the one translator
(``_common.fail_from_error``).

Sentences name the difference; they never hold a secret, so the plan can always be shown.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dss.apinode.plugins.module_utils._client import ApiNodeError
from ansible_collections.dss.apinode.plugins.module_utils._common import diff_of, fail_from_error, run_module
from ansible_collections.dss.apinode.plugins.module_utils._versions import require


class Refused(Exception):
    """The module must not act: an option or a node state it cannot converge from.

    ``msg`` is the one-line reason; ``fields`` are extra keys of the failed result.
    """

    def __init__(self, msg, **fields):
        super(Refused, self).__init__(msg)
        self.msg = msg
        self.fields = fields


class Change(object):
    """What a planning function returns.

    ``steps``: the ordered steps (dicts from ``step``). ``before``: the resource as read (None: absent).
    ``after``: the resource predicted once the steps ran (None: absent). ``returns``: other result keys the
    plan already knows (the package read, a message). ``predicted``: result keys that only the writes can
    tell, as check mode shows them (a placeholder for a secret the node will generate); the real run
    takes them from ``reread``. ``features``: names of ``_versions.FEATURES`` the run needs besides those its
    steps name (checked before any write, in check mode too). ``warnings``: sentences the module shows as
    warnings.
    """

    def __init__(self, steps=None, before=None, after=None, returns=None, predicted=None, features=(), warnings=()):
        self.steps = list(steps or [])
        self.before = before
        self.after = after
        self.returns = dict(returns or {})
        self.predicted = dict(predicted or {})
        self.features = tuple(features)
        self.warnings = list(warnings)

    @property
    def sentences(self):
        return sentences(self.steps)


def step(action, sentence, **fields):
    """One planned step: ``{action, sentence, **fields}``.

    For the default ``send``, the fields are ``method`` and ``path`` (relative admin path) and optionally
    ``body`` (JSON), ``query`` and ``upload`` (a local file streamed as multipart). ``feature`` names a
    ``_versions.FEATURES`` entry the node must have for the step.
    """
    result = dict(action=action, sentence=sentence)
    result.update(fields)
    return result


def sentences(steps):
    """The plan as the modules return it: one sentence per step, in order."""
    return [s['sentence'] for s in steps]


def send(client, planned):
    """Send the HTTP call a step carries; returns the node's answer (parsed JSON, or None)."""
    if planned.get('upload'):
        return client.upload(planned['path'], planned['upload'])
    return client.request(planned['method'], planned['path'], body=planned.get('body'),
                          query=planned.get('query')).body


def needed_features(change):
    """The node features the change needs, sorted: ``change.features`` and the ``feature`` of each step."""
    wanted = set(change.features)
    wanted.update(s['feature'] for s in change.steps if s.get('feature'))
    return sorted(wanted)


def converge(module, client, read, plan, resource=None, previous=None, view=None, apply=send, reread=None,
             salvage=None):
    """Run one module call: read -> plan -> (check mode: stop) -> apply each step -> re-read.

    ``resource``: result key of the resource (``after``), or None when the module returns none.
    ``previous``: result key of the resource as read (``before``), or None.
    ``view(resource)``: what ``diff`` shows of the resource (default: all of it).
    ``apply(client, step)``: sends one step, returns the node's answer (default: ``send``).
    ``reread(change, answers)``: the result keys once the steps ran, at least ``resource`` (default: the
    predicted ones); ``answers`` holds the answer of each step, in order.
    ``salvage(change, answers)``: result keys a failed run must still return, from the answers of the steps
    that went through (a secret the node generated before a later step failed).

    Returns the result: ``changed``, ``plan``, the resource keys, ``change.returns`` (with
    ``change.predicted`` in check mode) and, in diff mode, ``diff`` (``before`` / ``after``; ``{}`` for an
    absent resource). Raises ``Refused``; a client error while reading or planning propagates, one while
    applying fails the module at once with ``plan``, ``applied`` and ``changed`` true when a step went through
    (``run`` turns the rest into a failure).
    """
    change = plan(read())
    for warning in change.warnings:
        module.warn(warning)
    features = needed_features(change)
    if features:
        require(module, client, **dict((name, True) for name in features))
    result = dict(change.returns)
    after = change.after
    if module.check_mode:
        result.update(change.predicted)
    elif change.steps:
        answers = []
        for planned in change.steps:
            try:
                answers.append(apply(client, planned))
            except ApiNodeError as err:
                # The steps before the failed one did change the node: say which.
                applied = change.sentences[:len(answers)]
                kept = salvage(change, answers) if salvage is not None else {}
                fail_from_error(module, client, err, changed=bool(applied), plan=change.sentences, applied=applied,
                                **kept)
        if reread is not None:
            result.update(reread(change, answers))
            after = result.get(resource, after) if resource else after
    if resource:
        result.setdefault(resource, after)
    if previous:
        result[previous] = change.before
    result.update(changed=bool(change.steps), plan=change.sentences)
    if module._diff:
        show = view or (lambda value: value)
        result['diff'] = diff_of(show(change.before), show(after))
    return result


def checked(module, check, *args):
    """``check(*args)``, with a Refused turned into a failed module; for option checks before any request."""
    try:
        return check(*args)
    except Refused as err:
        module.fail_json(msg=err.msg, **err.fields)


def run(module, client, read, plan, **options):
    """``converge`` inside ``_common.run_module``: exits the module with the result, or fails it with one message."""
    def logic():
        try:
            return converge(module, client, read, plan, **options)
        except Refused as err:
            fields = dict(changed=False, api_calls=client.request_count)
            fields.update(err.fields)
            module.fail_json(msg=err.msg, **fields)
    run_module(module, client, logic)
