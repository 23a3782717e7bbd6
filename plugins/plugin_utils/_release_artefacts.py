# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The artefacts of a release, on the controller and at their staging paths on the node.

Every artefact gets a staging path of its own, so that two artefacts can never overwrite each
other (two services whose packages are both called ``v1.zip``, say):

- a service package: ``<staging>/packages/<service>/<generation>/<file name>``;
- an exported code env: ``<staging>/code-envs/<16 hex digits of its fingerprint>/<folder name>``;
- a model archive: ``<staging>/models/<16 hex digits of its fingerprint>/<file name>``.

Code envs and models are content-addressed: a complete transfer leaves ``.complete`` next to the
artefact, so a path that has it holds exactly that content. A staged package is known by its size
here, and by its ``tag.json`` identity, which the module checks before importing it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import hashlib
import json
import os
import posixpath
import tarfile
import tempfile

from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible.module_utils.six.moves import shlex_quote

from ansible_collections.dss.apinode.plugins.module_utils._common import id_problem
from ansible_collections.dss.apinode.plugins.module_utils._fingerprint import fingerprint
from ansible_collections.dss.apinode.plugins.module_utils._package import PackageError, read_tag

COMPLETE = '.complete'
MARKERS_DIR = '.apinode-cache'
LOCK_DIR = '.deploy.lock'


class ReleaseInputError(Exception):
    """A release that cannot be staged: named in one line, before anything is copied."""


class NotOnController(Exception):
    """Raised by the ``find`` of ``locate`` for a relative path found nowhere: ``searched`` lists the controller
    folders it was looked up in, in order."""

    def __init__(self, searched):
        super(NotOnController, self).__init__('not found in %s' % ', '.join(searched))
        self.searched = list(searched)


def searched_folders(candidates, given):
    """The folders of ``candidates`` (the paths Ansible tried for the relative path ``given``, as in
    ``AnsibleFileNotFound.paths``), in order, each once."""
    folders = []
    suffix = '/' + given.strip('/')
    for candidate in candidates or []:
        candidate = to_text(candidate)
        folder = candidate[:-len(suffix)] if candidate.endswith(suffix) else os.path.dirname(candidate)
        if folder not in folders:
            folders.append(folder)
    return folders


def locate(args, staging_dir, find, transport='node'):
    """The artefacts of the release ``args`` (apinode_release options) as dicts with ``kind``,
    ``controller_path``, ``node_path`` and what identifies them (``tag``, ``fingerprint``, ``size``).

    ``find(path)`` returns the controller path of a file or folder given as in a task (relative to
    the role's or play's ``files/``), or None. With the ``api`` transport nothing is staged: the
    module runs on the controller and reads each artefact where it is (``node_path`` is the
    controller path).
    """
    if transport == 'api':
        staging_dir = None
    found = []
    seen = {}
    for index, service in enumerate(_items(args, 'services')):
        sid = service.get('id')
        label = 'services[%d] (%s)' % (index, sid) if sid else 'services[%d]' % index
        problem = id_problem('service', sid, '%s.id' % label.split(' ')[0])
        if problem:
            raise ReleaseInputError(problem)
        if sid in seen:
            raise ReleaseInputError('Service %s is listed twice in the release (services[%d] and services[%d]).'
                                    % (sid, seen[sid], index))
        seen[sid] = index
        if not service.get('package'):
            continue
        path = _find(find, service['package'], '%s: package' % label, want_dir=False)
        try:
            tag = read_tag(path)
        except PackageError as err:
            raise ReleaseInputError('%s: %s' % (label, to_native(err)))
        generation = tag['generationId']
        problem = id_problem('generation', generation, 'the generationId in the tag.json of package %s' % service['package'])
        if problem:
            raise ReleaseInputError('%s: %s' % (label, problem))
        wanted = service.get('generation')
        if wanted not in (None, '') and to_text(wanted) != generation:
            raise ReleaseInputError('%s: the release expects generation %s but package %s is generation %s '
                                    '(its tag.json); nothing was copied.' % (label, wanted, service['package'], generation))
        found.append(dict(kind='package', index=index, service=sid, controller_path=path, tag=tag,
                          size=os.path.getsize(path),
                          node_path=_under(staging_dir, 'packages', sid, generation, os.path.basename(path))
                          if transport != 'api' else path))
    for key, kind, want_dir in (('code_envs', 'code_env', True), ('models', 'model', False)):
        for index, item in enumerate(_items(args, key)):
            label = '%s[%d]' % (key, index)
            if not item.get('path'):
                raise ReleaseInputError('%s has no path.' % label)
            path = _find(find, item['path'], label, want_dir=want_dir)
            digest = cached_fingerprint(path)
            name = os.path.basename(os.path.normpath(path))
            if transport == 'api':
                found.append(dict(kind=kind, index=index, controller_path=path, fingerprint=digest, node_path=path))
                continue
            folder = _under(staging_dir, key.replace('_', '-'), digest.split(':', 1)[-1][:16])
            entry = dict(kind=kind, index=index, controller_path=path, fingerprint=digest,
                         node_path=posixpath.join(folder, name), complete=posixpath.join(folder, COMPLETE))
            if not want_dir:
                entry['size'] = os.path.getsize(path)
            found.append(entry)
    return found


def _items(args, key):
    value = args.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ReleaseInputError('%s must be a list of dictionaries.' % key)
    return value


def _find(find, given, label, want_dir):
    """The controller path of ``given``, else one sentence: what is there instead, or where it was looked for."""
    what = 'folder' if want_dir else 'file'
    searched = None
    try:
        path = find(given)
    except NotOnController as err:
        path, searched = None, err.searched
    if path and os.path.isdir(path) != want_dir:
        shown = '' if path == given else ' (%s)' % path
        raise ReleaseInputError('%s %s is not a %s on the controller: it is a %s%s.'
                                % (label, given, what, 'folder' if os.path.isdir(path) else 'file', shown))
    if path:
        return path
    if _is_absolute(given):
        # Nothing to look up: the hint about relative paths would only mislead.
        raise ReleaseInputError('%s %s is not a %s on the controller: nothing is at that path.' % (label, given, what))
    if searched:
        raise ReleaseInputError('%s %s is not a %s on the controller: a relative path is looked up like the src of '
                                'ansible.builtin.copy, in %s.' % (label, given, what, ', '.join(searched)))
    raise ReleaseInputError('%s %s is not a %s on the controller (a relative path is looked up like the src of '
                            'ansible.builtin.copy: in the files/ folders of the role and of the playbook, then '
                            'next to the playbook).' % (label, given, what))


def _is_absolute(given):
    # As Ansible reads a src: ~ is the controller user's home.
    return isinstance(given, str) and (given.startswith('/') or given.startswith('~'))


def _under(staging_dir, *parts):
    if not staging_dir or not posixpath.isabs(staging_dir):
        raise ReleaseInputError('staging_dir must be an absolute path on the node, got %r (with the deploy role: '
                                'apinode_deploy_staging_dir, by default <apinode_data_dir>/dss-apinode-staging, so give '
                                'apinode_data_dir as an absolute path).' % (staging_dir,))
    return posixpath.join(staging_dir, *parts)


def module_args(args, release):
    """The apinode_release arguments with controller paths replaced by staging paths on the node.

    ``staging_dir`` reaches the module with the node transport only (its retain phase prunes the staging
    folder, its activate phase keeps the rollout record there)."""
    out = copy.deepcopy(args)
    staging_dir = out.get('staging_dir')
    if (out.get('transport') or 'node') != 'node':
        out.pop('staging_dir', None)
    for controller_only in ('staging_owner', 'staging_group'):
        out.pop(controller_only, None)
    for item in release:
        if item['kind'] == 'package':
            out['services'][item['index']].update(package=item['node_path'], tag=item['tag'])
        else:
            key = 'code_envs' if item['kind'] == 'code_env' else 'models'
            out[key][item['index']].update(path=item['node_path'], fingerprint=item['fingerprint'])
    if staging_dir and (out.get('transport') or 'node') == 'node':
        out.setdefault('cache_state_dir', posixpath.join(staging_dir, MARKERS_DIR))
        if isinstance(out.get('lock'), dict) and not out['lock'].get('path'):
            out['lock'] = dict(out['lock'], path=posixpath.join(staging_dir, LOCK_DIR))
    return out


# -- what the node holds already, and how to put the rest there ------------------------------------------

def probe_command(release):
    """One shell command that prints, per artefact, ``D`` for a complete content-addressed code env or
    model, the size of a staged package, or ``-`` when it is not there."""
    checks = []
    for item in release:
        if item['kind'] != 'package':
            checks.append('if [ -f %s ]; then echo D; else echo -; fi' % shlex_quote(item['complete']))
        else:
            checks.append('if [ -f %s ]; then wc -c < %s | tr -d " "; else echo -; fi'
                          % (shlex_quote(item['node_path']), shlex_quote(item['node_path'])))
    return '; '.join(checks)


def missing_from_probe(release, out):
    answers = to_text(out).split()
    if len(answers) != len(release):
        raise ReleaseInputError('Unexpected answer when looking for staged artefacts on the node: %r' % to_text(out)[:200])
    missing = []
    for item, answer in zip(release, answers):
        present = answer == ('D' if item['kind'] != 'package' else str(item['size']))
        if not present:
            missing.append(item)
    return missing


class _Upload(object):
    def __init__(self, path, temporary=False):
        self.path = path
        self._temporary = temporary

    def cleanup(self):
        if self._temporary and os.path.exists(self.path):
            os.remove(self.path)


def upload_source(item):
    """The file to transfer: the artefact itself, or a tar of a code env folder (links kept as links)."""
    if item['kind'] != 'code_env':
        return _Upload(item['controller_path'])
    handle, tar_path = tempfile.mkstemp(prefix='dss-apinode-code-env-', suffix='.tar')
    os.close(handle)
    with tarfile.open(tar_path, 'w') as tar:
        tar.add(item['controller_path'], arcname=os.path.basename(item['node_path']))
    return _Upload(tar_path, temporary=True)


def install_command(item, remote, args):
    """The shell command that moves a transferred file to its staging path, atomically."""
    dest = item['node_path']
    folder = posixpath.dirname(dest)
    q = shlex_quote
    owner = args.get('staging_owner') or ''
    group = args.get('staging_group') or ''
    steps = ['set -e', 'umask 027', 'mkdir -p %s' % q(folder)]
    if item['kind'] == 'code_env':
        part = folder + '/.part-' + os.path.basename(dest)
        steps += ['rm -rf %s %s' % (q(part), q(dest)), 'mkdir %s' % q(part), 'tar -xf %s -C %s' % (q(remote), q(part)),
                  'mv %s %s' % (q(posixpath.join(part, os.path.basename(dest))), q(dest)), 'rmdir %s' % q(part)]
    else:
        part = dest + '.part'
        steps += ['cp %s %s' % (q(remote), q(part)), 'chmod 0640 %s' % q(part), 'mv -f %s %s' % (q(part), q(dest))]
    if owner or group:
        steps.append('chown -R %s %s' % (q('%s%s' % (owner, ':' + group if group else '')),
                                         q(posixpath.dirname(folder) if item['kind'] == 'package' else folder)))
    if item['kind'] != 'package':
        steps.append('touch %s' % q(item['complete']))
    steps.append('rm -f %s' % q(remote))
    return '; '.join(steps)


# -- fingerprints, computed once per run and artefact ------------------------------------------------------

def cached_fingerprint(path, cache_dir=None):
    """``fingerprint(path)``, kept for the rest of the run in Ansible's per-run local temp folder
    (shared by every host's worker), keyed by path, size and modification time."""
    if cache_dir is None:
        try:
            from ansible import constants as C
            cache_dir = C.DEFAULT_LOCAL_TMP  # no per-run folder (outside a run): computed every time
        except Exception:  # pylint: disable=broad-except
            cache_dir = None
    stat = os.stat(path)
    key = hashlib.sha256(to_bytes(json.dumps([os.path.realpath(path), stat.st_size, stat.st_mtime_ns,
                                              _newest_mtime(path)]))).hexdigest()
    entry = os.path.join(cache_dir, 'dss-apinode-fp-' + key) if cache_dir and os.path.isdir(cache_dir) else None
    if entry and os.path.isfile(entry):
        with open(entry) as handle:
            return handle.read().strip()
    value = fingerprint(path)
    if entry:
        fd, tmp = tempfile.mkstemp(dir=cache_dir)
        with os.fdopen(fd, 'w') as handle:
            handle.write(value)
        os.rename(tmp, entry)
    return value


def _newest_mtime(path):
    """A folder's content changes do not always touch the folder itself: use its newest entry."""
    if not os.path.isdir(path):
        return 0
    newest = 0
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            try:
                newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime_ns)
            except OSError:
                pass
    return newest
