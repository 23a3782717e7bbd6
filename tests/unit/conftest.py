# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Keep module-side tests on the module side when controller-side tests share the run.

ansible-test runs module and module_utils tests apart from controller plugin tests. In one pytest
run, importing any controller code (a lookup, a filter, ``ansible.errors``) switches ansible-core
2.19+ module_utils to controller mode for the whole process, where module warnings go to the
display instead of into the module result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

try:
    from ansible.module_utils import _internal
except ImportError:  # ansible-core before 2.17 has no controller mode
    _internal = None

MODULE_SIDE_DIRS = ('module_utils', 'modules')


@pytest.fixture(autouse=True)
def module_side(request, monkeypatch):
    if _internal is not None and hasattr(_internal, 'is_controller') and request.path.parent.name in MODULE_SIDE_DIRS:
        monkeypatch.setattr(_internal, 'is_controller', False)
