# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The collection playbooks: the plays on the nodes that change accept an empty group without a warning."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import jinja2
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
CHANGING = 'apinode_deploy_changing'


def plays(name):
    with open(os.path.join(ROOT, 'playbooks', name)) as playbook:
        return yaml.safe_load(playbook)


def hosts_of(play, groups):
    # Plain Jinja is enough here: the expression only reads groups and uses default.
    return jinja2.Environment().from_string(play['hosts']).render(groups=groups)


def test_the_plays_on_the_changing_nodes_take_the_group_members_not_a_pattern():
    on_changing = [play for play in plays('rolling_deploy.yml') if CHANGING in play['hosts']]
    assert [play['name'] for play in on_changing] == ['Activate the release, batch by batch',
                                                      'Clean old generations and release the run locks']
    for play in on_changing:
        # A bare pattern of an empty group makes ansible-core warn "Could not match supplied host pattern".
        assert play['hosts'].strip() != CHANGING
        assert hosts_of(play, {}) == '[]'  # no node changes: an empty list, the play is skipped quietly
        assert hosts_of(play, {CHANGING: ['node2', 'node3']}) == "['node2', 'node3']"
