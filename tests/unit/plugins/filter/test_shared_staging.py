# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dss.apinode.plugins.filter.shared_staging import shared_staging

STAGING = '/opt/dataiku/apinode/dss-apinode-staging'


def plan(machine, folder=STAGING):
    return {'apinode_deploy_plan': {'plan': [], 'staging': {'machine': machine, 'dir': folder}}}


def test_two_nodes_of_one_machine_in_one_folder_are_named_with_the_folder():
    hostvars = {'node1': plan('localhost'), 'node2': plan('localhost'), 'node3': plan('apinode-3.example.com')}
    verdict = shared_staging(hostvars, ['node1', 'node2', 'node3'])
    assert verdict['hosts'] == ['node1', 'node2']
    assert verdict['message'] == ("Nodes would overwrite each other's staged files: node1, node2 stage into %s on "
                                  "localhost. Give each node its own apinode_data_dir (or apinode_deploy_staging_dir)."
                                  % STAGING)


def test_own_folders_other_machines_api_transport_and_unplanned_hosts_pass():
    hostvars = {
        'node1': plan('localhost', '/srv/node1/dss-apinode-staging'),
        'node2': plan('localhost', '/srv/node2/dss-apinode-staging'),
        'node3': plan('10.0.0.3'),
        'node4': plan('10.0.0.4'),
        'node5': {'apinode_deploy_plan': {'plan': []}},  # api transport: nothing staged
        'node6': {},  # not planned
    }
    assert shared_staging(hostvars, sorted(hostvars)) == {'hosts': [], 'message': ''}
