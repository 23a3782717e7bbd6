# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark callback: wall time of every task (from its start to the next task's start), as JSON.

Enabled by the benchmarks only; writes ``[{"task": name, "seconds": s}]`` to $DSS_APINODE_BENCH_TIMES.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = '''
name: bench_timer
type: aggregate
short_description: records the wall time of each task for the benchmarks
description: Writes the wall time of each task to the file named by DSS_APINODE_BENCH_TIMES.
requirements: [enable in the benchmark's configuration]
'''


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._times = []
        self._current = None

    def _close(self):
        if self._current is not None:
            name, started = self._current
            self._times.append({'task': name, 'seconds': time.perf_counter() - started})
            self._current = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        self._current = (task.get_name(), time.perf_counter())

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def v2_playbook_on_stats(self, stats):
        self._close()
        target = os.environ.get('DSS_APINODE_BENCH_TIMES')
        if target:
            with open(target, 'w') as handle:
                json.dump(self._times, handle)
