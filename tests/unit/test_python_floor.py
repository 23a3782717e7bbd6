# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The module side's Python floor is declared once, stated in the README, and covered by the sanity run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import glob
import os
import re
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))


def declared_floor():
    with open(os.path.join(ROOT, 'tests', 'config.yml')) as handle:
        config = yaml.safe_load(handle)
    match = re.match(r'>=\s*(\d+)\.(\d+)\Z', config['modules']['python_requires'])
    assert match, config
    return int(match.group(1)), int(match.group(2))


def test_the_readme_states_the_declared_floor():
    with open(os.path.join(ROOT, 'README.md')) as handle:
        compatibility = handle.read().split('## Compatibility', 1)[1].split('\n## ', 1)[0]
    assert 'Python %d.%d or newer' % declared_floor() in compatibility


def test_the_module_side_parses_with_the_floor_grammar():
    files = glob.glob(os.path.join(ROOT, 'plugins', 'modules', '*.py')) + \
        glob.glob(os.path.join(ROOT, 'plugins', 'module_utils', '*.py'))
    assert files
    for path in files:
        with open(path) as handle:
            ast.parse(handle.read(), filename=path, feature_version=declared_floor())


def test_the_sanity_run_tests_the_floor():
    out = subprocess.check_output([os.path.join(ROOT, 'hack', 'sanity'), sys.executable, '--list-pythons'],
                                  universal_newlines=True)
    lines = dict(line.split(':', 1) for line in out.strip().splitlines())
    floor = '%d.%d' % declared_floor()
    assert lines['floor'].strip() == floor
    tested = lines['tested'].split()
    assert floor in tested
    assert all(tuple(int(p) for p in v.split('.')) >= declared_floor() for v in tested)
