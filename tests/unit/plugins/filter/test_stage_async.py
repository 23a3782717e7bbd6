# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""stage_async: whether the deploy role stages a node in the background, and the ansible-core gate of the api transport."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.dss.apinode.plugins.filter.stage_async import stage_async

TO_STAGE = {'staged': False}


@pytest.mark.parametrize('core, background', [
    ('2.16.14', False),
    ('2.19.4', False),
    ('2.20.2', False),
    ('2.20.3', True),
    ('2.20.3rc1', True),  # like the version test: a pre-release of the fixed version counts as fixed
    ('2.20.10', True),
    ('2.21.0', True),
    ('2.21.5', True),
])
def test_the_api_transport_stages_in_the_background_from_ansible_core_2_20_3(core, background):
    # ansible/ansible#86491: before 2.20.3 a delegated background task is polled with the inventory host's Python.
    assert stage_async(TO_STAGE, 'api', core, 3, 3600) == (3600 if background else 0)


@pytest.mark.parametrize('core', ['2.16.14', '2.19.4', '2.20.2', '2.21.5'])
def test_the_node_transport_stages_in_the_background_on_every_core(core):
    assert stage_async(TO_STAGE, 'node', core, 3, 3600) == 3600


@pytest.mark.parametrize('plan', [{'staged': True}, {'plan': []}, {}, None])
def test_a_node_with_nothing_to_stage_stages_in_one_call(plan):
    assert stage_async(plan, 'node', '2.21.5', 3, 3600) == 0


@pytest.mark.parametrize('seconds', [0, -1, '0', 'none', None])
def test_no_progress_lines_asked_stages_in_one_call(seconds):
    assert stage_async(TO_STAGE, 'node', '2.21.5', seconds, 3600) == 0


def test_numbers_given_as_strings_are_read_like_the_int_filter():
    assert stage_async(TO_STAGE, 'node', '2.16.14', '5', '120') == 120


def test_an_input_that_is_not_a_plan_is_refused():
    with pytest.raises(AnsibleFilterError, match='the input must be the node plan'):
        stage_async(['staged'], 'node', '2.21.5', 3, 3600)
