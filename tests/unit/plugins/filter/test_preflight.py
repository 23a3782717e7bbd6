# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""preflight (the deploy role's fleet-wide checks before any change) and warn (how it shows its warnings)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.dss.apinode.plugins.filter import warn as warn_plugin
from ansible_collections.dss.apinode.plugins.filter.preflight import KNOWN_VARIABLES, preflight

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
HOSTS = ['node1', 'node2']


def role_options():
    with open(os.path.join(ROOT, 'roles', 'deploy', 'meta', 'argument_specs.yml')) as spec:
        return yaml.safe_load(spec)['argument_specs']['main']['options']


def node(services=('churn',), staging=None, **variables):
    plan = {'plan': [], 'node_services': [{'id': s} for s in services]}
    if staging:
        plan['staging'] = {'machine': 'localhost', 'dir': staging}
    return dict(variables, apinode_deploy_plan=plan)


def test_a_fleet_with_nothing_to_say_passes():
    hostvars = {'node1': node(apinode_deploy_keep_generations=2), 'node2': node()}
    assert preflight(hostvars, HOSTS, [{'id': 'churn'}], options=role_options()) == {
        'refusal': '', 'warnings': [], 'unknown_variables': {}}


def test_every_refusal_is_said_at_once():
    hostvars = {'node1': node(staging='/srv/one'), 'node2': node(staging='/srv/one')}
    verdict = preflight(hostvars, HOSTS, [{'id': 'fruad'}])
    assert verdict['refusal'].startswith('Service fruad is new: no node of the play has it (node1, node2).')
    assert verdict['refusal'].endswith("Nodes would overwrite each other's staged files: node1, node2 stage into /srv/one "
                                       "on localhost. Give each node its own apinode_data_dir (or apinode_deploy_staging_dir).")


@pytest.mark.parametrize('serial', [3, '3', '30%', [1, '100%'], ('2', 5)])
def test_batch_sizes_ansible_takes_pass(serial):
    hostvars = {'node1': node(apinode_deploy_serial=serial), 'node2': node(apinode_deploy_serial=serial)}
    assert preflight(hostvars, HOSTS, [{'id': 'churn'}])['refusal'] == ''


@pytest.mark.parametrize('serial', ['abc', [1, 'abc'], [], '-1', 1.5, True, '30 %', None])
def test_a_serial_that_is_not_batch_sizes_is_refused_before_any_change(serial):
    hostvars = {'node1': node(apinode_deploy_serial=serial), 'node2': node(apinode_deploy_serial=serial)}
    refusal = preflight(hostvars, HOSTS, [{'id': 'churn'}])['refusal']
    assert refusal == ('apinode_deploy_serial is %r, which is not a batch size: give a number of nodes, a percentage such '
                       'as "30%%", or a list of them (the default is [1, "100%%"]).' % (serial,))


def test_a_new_mark_every_node_has_is_a_warning_not_a_refusal():
    verdict = preflight({'node1': node(), 'node2': node()}, HOSTS, [{'id': 'churn', 'new': True}])
    assert verdict['refusal'] == ''
    assert verdict['warnings'] == ['churn is marked new: true, and every node of the play has it already: remove new: true '
                                   'from apinode_deploy_services, so that a misspelt service id is refused again.']


def test_a_misspelt_role_variable_is_named_with_the_close_match_and_its_hosts():
    hostvars = {'node1': node(apinode_deploy_keep_generation=2, apinode_deploy_allow_new_service=True),
                'node2': node(apinode_deploy_keep_generation=2)}
    verdict = preflight(hostvars, HOSTS, [{'id': 'churn'}], options=role_options())
    assert verdict['refusal'] == ''
    assert verdict['unknown_variables'] == {'apinode_deploy_allow_new_service': ['node1'],
                                            'apinode_deploy_keep_generation': ['node1', 'node2']}
    assert verdict['warnings'] == [
        'apinode_deploy_allow_new_service (node1) is not a variable of the dss.apinode.deploy role and is ignored: '
        'did you mean apinode_deploy_allow_new_services?',
        'apinode_deploy_keep_generation (every node of the play) is not a variable of the dss.apinode.deploy role and '
        'is ignored: did you mean apinode_deploy_keep_generations?',
    ]


def test_a_name_close_to_nothing_points_to_the_role_documentation():
    verdict = preflight({'node1': node(apinode_deploy_zzz=1)}, ['node1'], [{'id': 'churn'}], options=['apinode_deploy_url'])
    assert verdict['warnings'] == ['apinode_deploy_zzz (node1) is not a variable of the dss.apinode.deploy role and is '
                                   'ignored: see ansible-doc -t role dss.apinode.deploy for its variables.']


def test_facts_playbook_options_internal_and_other_variables_are_not_warned_about():
    hostvars = {'node1': node(apinode_deploy_report={}, apinode_deploy_progressive=[], apinode_deploy_serial=[1],
                              apinode_deploy_hosts='apinodes', __apinode_deploy_local_key='x', apinode_url='http://n1',
                              apinode_data_dir='/srv/n1')}
    assert preflight(hostvars, ['node1'], [{'id': 'churn'}], options=role_options())['warnings'] == []


def test_without_options_variables_are_not_checked_and_bad_options_are_refused():
    assert preflight({'node1': node(apinode_deploy_zzz=1)}, ['node1'], [{'id': 'churn'}])['warnings'] == []
    with pytest.raises(AnsibleFilterError, match='options must be'):
        preflight({'node1': node()}, ['node1'], [{'id': 'churn'}], options='apinode_deploy_url')


def test_every_variable_the_role_and_playbooks_use_is_known():
    """A fact the role starts to set, or a playbook option, must not be warned about as misspelt."""
    used = set()
    for folder in ('roles/deploy/tasks', 'roles/deploy/vars', 'roles/deploy/defaults', 'playbooks'):
        for name in os.listdir(os.path.join(ROOT, folder)):
            with open(os.path.join(ROOT, folder, name)) as source:
                text = re.sub(r'(^|\s)#.*', '', source.read())  # comments, not uses
                used.update(re.findall(r'(?<![\w&*])apinode_deploy_\w+', text))  # not YAML anchors
    groups = {'apinode_deploy_changing'}  # the group of rolling_deploy, not a variable
    assert used - set(role_options()) - KNOWN_VARIABLES - groups == set()
    assert KNOWN_VARIABLES <= used  # no stale entry either


def test_warn_shows_each_line_once_as_a_warning_and_returns_them_marked(monkeypatch):
    shown = []
    monkeypatch.setattr(warn_plugin.Display, 'warning', lambda self, msg, *args, **kwargs: shown.append(msg))
    assert warn_plugin.warn(['first', '', 'second']) == ['Warning: first', 'Warning: second']
    assert shown == ['first', 'second']
    with pytest.raises(AnsibleFilterError, match='list of lines'):
        warn_plugin.warn('one line')


def test_each_host_is_read_once_from_hostvars():
    # ansible-core computes a host's variables anew on every hostvars[host]: a fleet of 20 nodes pays for each read.
    class CountingHostvars(dict):
        reads = 0

        def __getitem__(self, host):
            CountingHostvars.reads += 1
            return dict.__getitem__(self, host)

        def get(self, host, default=None):
            return self[host] if host in self else default

    hostvars = CountingHostvars(node1=node(staging='/srv/1'), node2=node(staging='/srv/2', apinode_deploy_zzz=1))
    preflight(hostvars, HOSTS, [{'id': 'churn', 'new': True}], options=role_options())
    assert CountingHostvars.reads == 2
