#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: apinode_service
short_description: Manage an API service on a Dataiku DSS API node, and which generations it serves
version_added: 0.1.0
description:
  - Creates or deletes an API service on a Dataiku DSS API node, enables or disables it, and sets which
    generation (package version) it serves, or how the traffic is shared between several generations
    (A/B tests, canary releases).
  - Reads the service first and calls the admin API only for what differs from the options you set, so a
    re-run changes nothing. Options you leave out are left as they are on the node.
  - The generations must already be imported on the node, see M(dss.apinode.apinode_generation).
author: dss.apinode contributors (@dss-apinode)
options:
  name:
    description:
      - Id of the service, letters, digits, V(_) and V(-) only (the design node's rule).
    type: str
    required: true
    aliases: [service]
  state:
    description:
      - V(present) creates the service if needed and applies the other options.
      - V(absent) deletes the service with all its generations, immediately, even while it serves traffic.
        No other option may be set with V(absent).
    type: str
    choices: [present, absent]
    default: present
  enabled:
    description:
      - Whether the service answers queries.
      - A service can only be enabled once it has a generation or a mapping; a new service is disabled.
      - When not set, the current value is kept, except that setting a new O(generation) or O(mapping)
        enables the service (the node does so).
      - See the notes for V(false) together with O(generation) or O(mapping).
    type: bool
  generation:
    description:
      - Serve exactly this generation to all queries.
      - Equal to a O(mapping) with this one generation at proba 1.
      - Mutually exclusive with O(mapping).
    type: str
  mapping:
    description:
      - Share the traffic between several generations, each with a probability.
      - The probas must each be greater than 0 and at most 1, and sum to 1 (within 1e-6); a generation may
        appear only once. Order does not matter.
      - Every generation must already be imported on the node; the module lists the missing ones and the
        ones present otherwise.
      - Mutually exclusive with O(generation).
    type: list
    elements: dict
    suboptions:
      generation:
        description: Id of a generation of the service.
        type: str
        required: true
      proba:
        description: Share of the queries this generation answers, greater than 0 and at most 1.
        type: float
        required: true
  strategy:
    description:
      - How the node picks the generation of each query when O(mapping) has several generations.
      - V(random) draws at random for each query. V(hash_based) hashes the C(dispatchKey) of each query, so
        a key always reaches the same generation (on one node, until it restarts); queries must then carry a
        dispatch key.
      - Only with O(mapping). When not set, V(random) is used.
    type: str
    choices: [random, hash_based]
  audit_routing_key:
    description:
      - Routing key stamped on the query-log events of this service.
      - Only with O(generation) or O(mapping). When not set, the current key is kept. Set to an empty
        string to remove it.
    type: str
extends_documentation_fragment:
  - dss.apinode.connection
  - dss.apinode.attributes
  - dss.apinode.attributes.ACTIONS
attributes:
  idempotent:
    description: Running the module twice with the same options changes nothing the second time.
    support: full
notes:
  - The node's enable and disable calls fail when repeated, and importing or switching is never needed
    twice; the module reads the state first and sends only the calls that make a difference, so it is
    safe to re-run.
  - Two mappings are equal when they give the same probas to the same generations (order and differences
    below 1e-6 ignored); the strategy counts only when several generations share the traffic.
  - Setting a mapping on the node always enables the service. So with O(enabled=false) and a new
    O(generation) or O(mapping), the module sets the mapping and then disables the service when it is
    currently enabled (it was serving anyway; the new mapping serves for the moment between the two calls).
    When the service is currently disabled or new, the module refuses instead of serving traffic from a
    service meant to stay off; set O(enabled=true), or leave the mapping out.
  - In check mode, no change is sent; the result predicts the service after the run, and RV(plan) lists the
    changes the run would make.
  - C(previous) always holds the service as it was before the run, so that a rollout can return to it exactly.
seealso:
  - module: dss.apinode.apinode_generation
    description: Import the generations a service serves.
  - module: dss.apinode.apinode_info
    description: Read services, generations and mappings of a node without changing anything.
'''

EXAMPLES = r'''
- name: Manage the churn service
  hosts: apinodes
  module_defaults:
    group/dss.apinode.apinode:
      url: "{{ apinode_url }}"
      api_key: "{{ apinode_admin_key }}"
  tasks:
    - name: Create the service (disabled until it has a generation)
      dss.apinode.apinode_service:
        name: churn

    - name: Serve generation v1 to every query
      dss.apinode.apinode_service:
        name: churn
        generation: v1
        enabled: true

    - name: Canary, 10 % of the queries go to v2
      dss.apinode.apinode_service:
        name: churn
        mapping:
          - generation: v1
            proba: 0.9
          - generation: v2
            proba: 0.1

    - name: A/B test where each customer always sees the same version (queries carry a dispatchKey)
      dss.apinode.apinode_service:
        name: churn
        strategy: hash_based
        audit_routing_key: churn-ab
        mapping:
          - generation: v1
            proba: 0.5
          - generation: v2
            proba: 0.5

    - name: Stop serving, keeping the mapping for later
      dss.apinode.apinode_service:
        name: churn
        enabled: false

    - name: Delete the service and all its generations
      dss.apinode.apinode_service:
        name: churn
        state: absent

- name: Switch, then roll back to exactly what was there
  hosts: apinodes
  tasks:
    - name: Switch to v3
      dss.apinode.apinode_service:
        url: "{{ apinode_url }}"
        api_key: "{{ apinode_admin_key }}"
        name: churn
        generation: v3
      register: switch

    - name: Roll back
      dss.apinode.apinode_service:
        url: "{{ apinode_url }}"
        api_key: "{{ apinode_admin_key }}"
        name: churn
        mapping: "{{ switch.previous.mapping.entries }}"
        strategy: "{{ switch.previous.mapping.strategy }}"
        enabled: "{{ switch.previous.enabled }}"
      when: switch.previous.mapping is not none
'''

RETURN = r'''
service:
  description: The service after the run (predicted in check mode).
  returned: always
  type: dict
  contains:
    id:
      description: Service id.
      type: str
      sample: churn
    exists:
      description: Whether the service exists on the node.
      type: bool
      sample: true
    enabled:
      description: Whether the service answers queries. V(false) for a service that failed to start.
      type: bool
      sample: true
    mapping:
      description: The generations mapping, or V(null) for a service that never had one.
      type: dict
      contains:
        mode:
          description: V(SINGLE_GENERATION) when one generation answers everything, else V(MULTI_GENERATION).
          type: str
          sample: MULTI_GENERATION
        generation:
          description: The generation, in single mode only.
          type: str
          returned: in single mode
          sample: v1
        entries:
          description: Each generation and its share of the traffic (one entry at proba 1 in single mode).
          type: list
          elements: dict
          sample: [{"generation": "v1", "proba": 0.9}, {"generation": "v2", "proba": 0.1}]
        strategy:
          description: V(random) or V(hash_based), in the form of the O(strategy) option.
          type: str
          sample: random
        auditRoutingKey:
          description: Routing key of the query-log events.
          type: str
          returned: when set
          sample: churn-ab
    generations:
      description: The generations imported for this service.
      type: list
      elements: dict
      sample:
        - generationId: v1
          createdOn: 1700001000000
          createdWithDSSVersion: 13.2.0
          createdWithDSSConfVersion: "13200"
          mounted: true
          mapped: 0.9
      contains:
        generationId:
          description: Generation id, the version id of the package.
          type: str
        createdOn:
          description: When the package was made, epoch milliseconds.
          type: int
        createdWithDSSVersion:
          description: DSS version of the design node that made the package.
          type: str
        createdWithDSSConfVersion:
          description: Configuration version of that design node.
          type: str
        mounted:
          description: Whether the generation is loaded in memory.
          type: bool
        mapped:
          description: Share of the traffic it answers, 0 to 1.
          type: float
    start_aborted_reason:
      description: Why the node could not start this enabled service.
      type: str
      returned: when the service failed to start
previous:
  description:
    - The service before the run, in the same shape as RV(service).
    - Use it to roll back to exactly what was there.
  returned: always
  type: dict
  sample: {"id": "churn", "exists": true, "enabled": true, "mapping": {"mode": "SINGLE_GENERATION", "generation": "v1",
           "entries": [{"generation": "v1", "proba": 1.0}], "strategy": "random"}, "generations": []}
diff:
  description: The service before and after (exists, enabled, mapping), with C(--diff).
  returned: in diff mode
  type: dict
  contains:
    before:
      description: Before the run.
      type: dict
    after:
      description: After the run.
      type: dict
plan:
  description:
    - What the run changes on the node, or would change in check mode - one sentence per admin call, in order.
      Empty when the node already matches the options.
    - Check mode and a real run plan the same way, so a check-mode run shows exactly what the real run sends.
    - When a call fails, the failed result also holds C(plan) and C(applied), the sentences of the calls sent
      before the failure.
  returned: always
  type: list
  elements: str
  sample: ["service churn serves generation v1, the task wants generation v2"]
  version_added: 0.1.0
'''

from ansible_collections.dss.apinode.plugins.module_utils import _change
from ansible_collections.dss.apinode.plugins.module_utils._common import build_module, client_from_module
from ansible_collections.dss.apinode.plugins.module_utils._mapping import mapping_argument_spec
from ansible_collections.dss.apinode.plugins.module_utils._service_plan import (
    plan_service,
    read_service,
    view,
    wanted_mapping,
)


def main():
    argument_spec = dict(
        name=dict(type='str', required=True, aliases=['service']),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        enabled=dict(type='bool'),
        generation=dict(type='str'),
        # A label for the query log, not a credential.
        audit_routing_key=dict(type='str', no_log=False),
    )
    argument_spec.update(mapping_argument_spec())
    module = build_module(argument_spec, supports_check_mode=True,
                          mutually_exclusive=[['generation', 'mapping']])
    params = module.params
    wanted = _change.checked(module, wanted_mapping, params)
    client = client_from_module(module)

    def reread(change, answers):
        return dict(service=read_service(client, params['name'])[0] if change.after['exists'] else change.after)

    _change.run(module, client, read=lambda: read_service(client, params['name']),
                plan=lambda current: plan_service(params, current, wanted),
                resource='service', previous='previous', view=view, reread=reread)


if __name__ == '__main__':
    main()
