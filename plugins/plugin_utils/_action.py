# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The controller side of every dss.apinode module: each ``plugins/action/<module>.py`` is this class.

- Connection options are resolved on the controller: the task's arguments (``module_defaults``
  already merged in by Ansible), then the controller's ``DATAIKU_APINODE_*`` variables, which is
  where an AWX credential injects them. They reach the module as arguments, secrets as ``no_log``
  options, so a module running on an API node over SSH sees the same connection as the controller.
- For ``apinode_release``, the release's artefacts (service packages, exported code envs, model
  archives) are files on the controller: they are found the way ``copy`` finds its ``src``, read
  there (package ``tag.json``, content fingerprints) and transferred to a staging path unique to
  each artefact on the node, only when it is not there already.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket

from ansible.errors import AnsibleError, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.action import ActionBase

from ansible_collections.dss.apinode.plugins.module_utils._common import CONNECTION_ARGUMENT_SPEC
from ansible_collections.dss.apinode.plugins.plugin_utils import _release_artefacts as artefacts

RELEASE_MODULE = 'apinode_release'
STAGING_PHASES = ('stage', 'all')


def controller_connection(args, environ=None):
    """``args`` with each connection option the task left unset taken from the controller's
    environment variable of that option (the ``env_fallback`` names of the argument spec)."""
    environ = os.environ if environ is None else environ
    resolved = dict(args)
    for option, spec in CONNECTION_ARGUMENT_SPEC.items():
        if resolved.get(option) not in (None, ''):
            continue
        fallback = spec.get('fallback')
        for name in (fallback[1] if fallback else []):
            if environ.get(name, '') != '':
                resolved[option] = environ[name]
                break
    return resolved


def run_id():
    """Who this run is, the same in every play of one ``ansible-playbook`` process: the controller's
    host name, and the process id and start time of the main process (the workers' parent)."""
    pid = os.getppid()
    started = ''
    try:
        with open('/proc/%d/stat' % pid) as handle:
            started = handle.read().rsplit(')', 1)[1].split()[19]
    except (IOError, OSError, IndexError):
        pass
    return '%s:%d:%s' % (socket.gethostname(), pid, started)


class ApiNodeAction(ActionBase):

    # Only apinode_release transfers files, and only when something is missing on the node.
    TRANSFERS_FILES = False
    # The role stages long imports in the background (async + poll) to show that they are running.
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super(ApiNodeAction, self).run(tmp, task_vars)
        del tmp  # the remote tmp dir is the connection's own (ansible-core >= 2.10)
        module = self._module_name()
        wrap_async = self._task.async_val and not self._connection.has_native_async
        args = controller_connection(self._task.args)
        try:
            if module.rsplit('.', 1)[-1] == RELEASE_MODULE:
                args = self._prepare_release(args, task_vars)
        except artefacts.ReleaseInputError as err:
            result.update(failed=True, changed=False, msg=to_native(err))
            return result
        try:
            result.update(self._execute_module(module_name=module, module_args=args, task_vars=task_vars,
                                               wrap_async=wrap_async))
        finally:
            if not wrap_async:
                self._remove_tmp_path(self._connection._shell.tmpdir)
        if module.rsplit('.', 1)[-1] == RELEASE_MODULE and (args.get('transport') or 'node') == 'node' \
                and args.get('staging_dir'):
            # Where this node's files go, for the role's check that no two nodes share a staging folder.
            result['staging'] = dict(machine=self._machine(), dir=args['staging_dir'])
        return result

    def _machine(self):
        """The machine the connection reaches: localhost for a local connection, else its address."""
        if self._connection.transport.rsplit('.', 1)[-1] == 'local':
            return 'localhost'
        try:
            return self._connection.get_option('host') or self._play_context.remote_addr
        except (AttributeError, KeyError, AnsibleError):
            return self._play_context.remote_addr

    def _module_name(self):
        """The module of the same name as this action plugin, fully qualified."""
        return self._task.resolved_action or self._task.action

    # -- apinode_release ------------------------------------------------------------------------------
    def _prepare_release(self, args, task_vars):
        staging_dir = args.get('staging_dir')
        transport = args.get('transport') or 'node'
        release = artefacts.locate(args, staging_dir, self._find_on_controller, transport)
        args = artefacts.module_args(args, release)
        lock = args.get('lock')
        if isinstance(lock, dict) and not lock.get('owner'):
            args['lock'] = dict(lock, owner=run_id())
        phase = args.get('phase') or 'all'
        if release and transport == 'node' and phase in STAGING_PHASES and not self._task.check_mode:
            self._stage(release, args)
        return args

    def _find_on_controller(self, path):
        """The controller path of ``path`` as ``copy`` finds its ``src``; for a relative path found nowhere,
        NotOnController with the folders searched (Ansible's own list), None otherwise."""
        try:
            return self._find_needle('files', path)
        except AnsibleFileNotFound as err:
            folders = artefacts.searched_folders(err.paths, to_native(path))
            if folders:
                raise artefacts.NotOnController(folders)
            return None
        except AnsibleError:
            return None

    def _stage(self, release, args):
        """Transfer every artefact that its staging path on the node does not hold yet."""
        missing = self._missing_on_node(release)
        if not missing:
            return
        remote_tmp = self._connection._shell.tmpdir or self._make_tmp_path()
        for index, item in enumerate(missing):
            upload = artefacts.upload_source(item)
            try:
                remote = self._connection._shell.join_path(remote_tmp, 'artefact-%d' % index)
                self._transfer_file(upload.path, remote)
                self._fixup_perms2([remote_tmp, remote], execute=False)
                self._run_shell(artefacts.install_command(item, remote, args), 'install %s on the node' % item['node_path'])
            finally:
                upload.cleanup()

    def _missing_on_node(self, release):
        out = self._run_shell(artefacts.probe_command(release), 'look for staged artefacts on the node')
        return artefacts.missing_from_probe(release, out)

    def _run_shell(self, command, what):
        res = self._low_level_execute_command(command, sudoable=True)
        if res.get('rc') != 0:
            raise artefacts.ReleaseInputError('Could not %s: %s' % (what, (res.get('stderr') or res.get('stdout') or '').strip()))
        return res.get('stdout') or ''
