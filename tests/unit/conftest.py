# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures shared by the unit tests.

- ``module_side`` (every test): keeps module-side tests on the module side when controller-side tests
  share the run. ansible-test runs module and module_utils tests apart from controller plugin tests. In
  one pytest run, importing any controller code (a lookup, a filter, ``ansible.errors``) switches
  ansible-core 2.19+ module_utils to controller mode for the whole process, where module warnings go to
  the display instead of into the module result.
- ``no_proxy`` (every test): no proxy variable reaches the client.
- ``server``: a started ``HttpTestServer`` on 127.0.0.1, stopped after the test.
- ``client``: an ``ApiNodeClient`` of ``server`` with the admin key ``ADMIN_KEY`` and no retries.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dss.apinode.plugins.module_utils._client import ApiNodeClient
from ansible_collections.dss.apinode.tests.unit.plugins.module_utils.http_test_server import HttpTestServer

try:
    from ansible.module_utils import _internal
except ImportError:  # ansible-core before 2.17 has no controller mode
    _internal = None

MODULE_SIDE_DIRS = ('module_utils', 'modules')
ADMIN_KEY = 'adminKey-Zx81qPq0'
PROXY_VARIABLES = ('http_proxy', 'https_proxy', 'all_proxy', 'no_proxy',
                   'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY')


@pytest.fixture(autouse=True)
def module_side(request, monkeypatch):
    if _internal is not None and hasattr(_internal, 'is_controller') and request.path.parent.name in MODULE_SIDE_DIRS:
        monkeypatch.setattr(_internal, 'is_controller', False)


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    # The client honours proxy variables; a developer's proxy must not intercept 127.0.0.1.
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server():
    with HttpTestServer() as srv:
        yield srv


@pytest.fixture
def client(server):
    return ApiNodeClient(server.url, api_key=ADMIN_KEY, timeout=10, retries=0)
