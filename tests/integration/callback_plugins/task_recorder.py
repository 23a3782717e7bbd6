# Copyright: dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record every task result as one JSON line, for the pytest harness (tests/conftest.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: task_recorder
type: aggregate
short_description: Write each task result as a JSON line for the test harness
description:
  - Appends one JSON object per host and task (task name, host, action, status, module result)
    to the file named by E(DSS_APINODE_TASK_RESULTS). Does nothing when it is not set.
  - Results of C(no_log) tasks are replaced by a censored placeholder, as on the console.
requirements:
  - enabled in the callbacks_enabled setting
"""

import json
import os

from ansible.module_utils.common.json import AnsibleJSONEncoder
from ansible.plugins.callback import CallbackBase
from ansible.vars.clean import module_response_deepcopy, strip_internal_keys

CENSORED = "the output has been hidden due to the fact that 'no_log: true' was specified for this result"


class _Encoder(AnsibleJSONEncoder):
    """Ansible's encoder, falling back to str() for anything it does not know."""

    def default(self, o):  # pylint: disable=method-hidden
        try:
            return super().default(o)
        except TypeError:
            return str(o)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_recorder"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._path = os.environ.get("DSS_APINODE_TASK_RESULTS")

    def _record(self, result, status, ignored=False):
        if not self._path:
            return
        data = result._result  # pylint: disable=protected-access
        if data.get("_ansible_no_log") or result._task.no_log:  # pylint: disable=protected-access
            data = {"censored": CENSORED, "changed": data.get("changed", False)}
        else:
            data = strip_internal_keys(module_response_deepcopy(data))
        entry = {
            "task": result.task_name or result._task.get_name(),  # pylint: disable=protected-access
            "host": result._host.get_name(),  # pylint: disable=protected-access
            "action": result._task.action,  # pylint: disable=protected-access
            "status": status,
            "ignored": ignored,
            "result": data,
        }
        with open(self._path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, cls=_Encoder, sort_keys=True) + "\n")

    def v2_runner_on_ok(self, result):
        self._record(result, "changed" if result._result.get("changed") else "ok")  # pylint: disable=protected-access

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed", ignored=ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")
