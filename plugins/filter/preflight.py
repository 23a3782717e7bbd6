# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: preflight
short_description: The fleet-wide checks of a release before any change - one refusal and the warnings
version_added: 0.1.0
author: dss.apinode contributors
description:
  - From the plans that M(dss.apinode.apinode_release) computed on the nodes of a play (C(apinode_deploy_plan), as the
    C(dss.apinode.deploy) role registers it at preflight) and from the variables of those nodes, every check that needs
    the whole fleet, at once. The C(dss.apinode.deploy) role shows the warnings, then fails with the refusal.
  - Refused - a release service that no node of the play has yet (a misspelt service id looks exactly like that), unless
    the release marks it C(new) or O(allow_new) is set; the decision of P(dss.apinode.new_services#filter).
  - Refused - nodes of one machine that would stage into one folder; the decision of P(dss.apinode.shared_staging#filter).
  - Refused - an C(apinode_deploy_serial) (the batches of the rolling_deploy playbook) that is not a number of nodes, a
    percentage such as V(30%) or a list of them; ansible-core would fail on it only when the first batch is formed,
    after every node staged.
  - Warned - a service still marked C(new) that every node has already (so a later misspelt id would not be refused).
  - Warned - a host variable named C(apinode_deploy_...) that the role does not know (for example
    C(apinode_deploy_keep_generation) for C(apinode_deploy_keep_generations)), with the closest known name, since
    Ansible ignores it silently. Known are the options of O(options), the facts the role sets itself (C(apinode_deploy_plan),
    C(apinode_deploy_report), C(apinode_deploy_progressive)), the variable of a drain hook (C(apinode_deploy_drain_state))
    and the options of the collection playbooks (C(apinode_deploy_hosts), C(apinode_deploy_serial)). Host variables are
    those of the inventory, of C(group_vars) and C(host_vars), and extra variables; variables of a play or of an
    C(include_role) are not seen.
extends_documentation_fragment:
  - dss.apinode.play_hosts
  - dss.apinode.play_hosts.result
  - dss.apinode.play_hosts.new_services
options:
  options:
    description:
      - The options of the role (its argument specification's C(main) options, or their names), against which the host
        variables named C(apinode_deploy_...) are checked.
      - Omitted, host variables are not checked.
    type: raw
'''

EXAMPLES = r'''
- name: Warn about the release
  ansible.builtin.debug:
    msg: "{{ verdict.warnings | dss.apinode.warn }}"
  when: verdict.warnings | length > 0
  run_once: true
  vars:
    verdict: "{{ hostvars | dss.apinode.preflight(ansible_play_hosts_all, apinode_deploy_services) }}"

- name: Refuse a release that the fleet shows to be wrong
  ansible.builtin.fail:
    msg: "{{ verdict.refusal }}"
  when: verdict.refusal | length > 0
  run_once: true
  vars:
    verdict: "{{ hostvars | dss.apinode.preflight(ansible_play_hosts_all, apinode_deploy_services) }}"
'''

RETURN = r'''
_value:
  description: The decision.
  type: dict
  contains:
    refusal:
      description: Why the release is refused, one line per refused check, joined; empty when nothing is refused.
      type: str
    warnings:
      description: One line per warning, in the order of the checks.
      type: list
      elements: str
    unknown_variables:
      description: Per host variable named C(apinode_deploy_...) that the role does not know, the hosts that set it.
      type: dict
'''

import difflib
import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.dss.apinode.plugins.filter.new_services import new_services
from ansible_collections.dss.apinode.plugins.filter.shared_staging import shared_staging

PREFIX = 'apinode_deploy_'

# Named apinode_deploy_... but not options of the role: the facts it sets (register, set_fact), the variable it
# passes to a drain hook, and the options of the collection playbooks.
KNOWN_VARIABLES = frozenset([
    'apinode_deploy_plan',
    'apinode_deploy_report',
    'apinode_deploy_progressive',
    'apinode_deploy_drain_state',
    'apinode_deploy_hosts',
    'apinode_deploy_serial',
])


SERIAL = 'apinode_deploy_serial'
# What ansible-core takes as the size of a batch (serial): a number of hosts, or a percentage of them.
BATCH_SIZE = re.compile(r'^\d+%?$')


def serial_problem(hostvars, hosts):
    """Why the ``apinode_deploy_serial`` that the hosts see is not batch sizes (a number of nodes, a percentage,
    or a list of them), or an empty string; also when unset."""
    for host in hosts:
        if SERIAL not in (hostvars.get(host) or {}):
            continue
        serial = hostvars[host][SERIAL]
        sizes = serial if isinstance(serial, (list, tuple)) else [serial]
        if sizes and all(not isinstance(s, bool) and BATCH_SIZE.match(str(s)) for s in sizes):
            return ''
        return ('%s is %r, which is not a batch size: give a number of nodes, a percentage such as "30%%", or a list of '
                'them (the default is [1, "100%%"]).' % (SERIAL, serial))
    return ''


def unknown_variables(hostvars, hosts, known):
    """{name: [hosts]} for the host variables named apinode_deploy_... that are not in ``known``, by name."""
    unknown = {}
    for host in hosts:
        names = hostvars.get(host) or {}
        for name in names:
            if isinstance(name, str) and name.startswith(PREFIX) and name not in known:
                unknown.setdefault(name, []).append(host)
    return dict(sorted(unknown.items()))


def _variable_warning(name, where, hosts, known):
    # Compared without the common prefix, which would make every name look close to every other.
    suffixes = dict((k[len(PREFIX):], k) for k in sorted(known) if k.startswith(PREFIX))
    close = difflib.get_close_matches(name[len(PREFIX):], list(suffixes), n=1)
    hint = ('did you mean %s?' % suffixes[close[0]]) if close else 'see ansible-doc -t role dss.apinode.deploy for its variables.'
    return ('%s (%s) is not a variable of the dss.apinode.deploy role and is ignored: %s'
            % (name, 'every node of the play' if len(where) == len(hosts) > 1 else ', '.join(where), hint))


def preflight(hostvars, hosts, services, allow_new=False, options=None, result='apinode_deploy_plan'):
    if options is not None and not isinstance(options, (Mapping, list)):
        raise AnsibleFilterError('preflight: options must be the options of the role argument specification, or their names')
    refusals, warnings = [], []
    # Each host's variables once: every hostvars[host] of ansible-core computes them anew.
    hostvars = dict((host, hostvars.get(host) or {}) for host in hosts)

    services_verdict = new_services(hostvars, hosts, services, allow_new=allow_new, result=result)
    refusals.append(services_verdict['message'])
    warnings.append(services_verdict['warning'])

    refusals.append(shared_staging(hostvars, hosts, result=result)['message'])
    refusals.append(serial_problem(hostvars, hosts))

    unknown = {}
    if options is not None:
        known = KNOWN_VARIABLES.union(options)
        unknown = unknown_variables(hostvars, hosts, known)
        warnings.extend(_variable_warning(name, where, hosts, known) for name, where in unknown.items())

    return dict(refusal=' '.join(r for r in refusals if r), warnings=[w for w in warnings if w], unknown_variables=unknown)


class FilterModule(object):

    def filters(self):
        return {'preflight': preflight}
