#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: apinode_predict
short_description: Query one endpoint of a Dataiku DSS API node service through the user API
version_added: 0.1.0
author: dss.apinode contributors (@dss-apinode)
description:
  - Sends one query to one endpoint of a service through the node's user API,
    C(<url>/public/api/v1/<service>/<endpoint>/<type>), as a caller of the service would, and returns the answer,
    its HTTP status, the generation that answered and the latency.
  - Every endpoint type is covered - prediction endpoints (V(predict), V(predict-multi), V(forecast)), Python and
    R function endpoints (V(run)), SQL query endpoints (V(query)) and dataset lookup endpoints (V(lookup)).
  - The query can be forced to one generation (O(generation)) or carry a dispatch key (O(dispatch_key)), which
    the node needs to pick a generation of a V(HASH_BASED) mapping.
  - The task fails unless the answer meets the expectations - its status is one of O(expected_status) (by default
    200), it comes from O(generation) when one is forced, its prediction is O(expected_prediction) and every path
    of O(expect) holds its value. A failure names what differs - a status that is not expected alone, else every
    expectation that fails, in one message; a failed path names the path, the value expected and the value found.
  - The release engine's smoke tests (M(dss.apinode.apinode_release), role C(dss.apinode.deploy)) send the same
    queries and judge them the same way.
  - The query is authenticated with one of the service's own API keys (O(user_api_key)) or a token
    (O(bearer_token)) when the service is not public, and with nothing when it is. The node's admin key
    (O(api_key)) is neither needed nor sent.
extends_documentation_fragment:
  - dss.apinode.connection
  - dss.apinode.query
  - dss.apinode.attributes
attributes:
  check_mode:
    description: The query is sent in check mode too - querying an endpoint changes nothing on the node.
    support: full
    details: A function endpoint (V(run)) runs its own code, which may act on other systems.
  diff_mode:
    description: This module only queries; there is nothing to diff.
    support: N/A
  idempotent:
    description: Querying the node changes nothing; the module never reports C(changed).
    support: full
options:
  service:
    description: Service id.
    type: str
    required: true
  api_key:
    description:
      - Not used - a query never sends the node's admin key, so this module needs none (neither as an option nor
        through E(DATAIKU_APINODE_API_KEY)).
      - Accepted so that the connection options set for every module of the collection (C(module_defaults) of
        C(group/dss.apinode.apinode), an AWX credential) can be set for this one too.
      - To query a service that is not public, give O(user_api_key) or O(bearer_token).
    type: str
  user_api_key:
    description:
      - One of the service's own API keys (defined with the service in DSS, in the API designer, not on the node).
        Needed when the service is not public, which the node otherwise answers with HTTP 401; leave it out for a
        public service.
      - Sent with HTTP Basic authentication as the user name with an empty password. Never logged or returned.
      - Not with O(bearer_token).
    type: str
  bearer_token:
    description:
      - Sent as C(Authorization) C(Bearer <token>) - a JWT or OAuth2 token for a service that uses them, or one of the
        service's API keys, which nodes accept this way too.
      - Not with O(user_api_key). Never logged or returned.
    type: str
notes:
  - The answer's body is returned as parsed JSON; a body that is not JSON is returned as a dict with the text as C(message).
  - The query is sent once when the node answers, whatever the status. A query that could not reach the node is
    retried after the connection failure (O(retries)), except a function call (O(type=run)), which is sent once.
  - For O(type=run) and O(type=query) the C(dispatch) object travels in the body with the parameters, where the
    node reads it.
  - The node answers HTTP 400 C(Invalid selected generation) when the query forces a generation (O(generation)) that
    is not loaded. A generation is loaded while the service's mapping names it, or after it is preloaded
    (M(dss.apinode.apinode_generation) with O(dss.apinode.apinode_generation#module:preload=true)); an imported
    generation that is neither is not. The task's message then starts with C(generation <id> is not loaded on the
    node). M(dss.apinode.apinode_info) shows which generations are loaded (C(mounted)).
  - The node answers HTTP 400 C(For a HASH_BASED dispatch, the dispatch key is mandatory in queries) when the
    service's mapping is V(hash_based) and the query has neither O(dispatch_key) nor O(generation).
seealso:
  - module: dss.apinode.apinode_release
  - module: dss.apinode.apinode_info
'''

EXAMPLES = r'''
- name: Query the churn service
  hosts: apinodes
  module_defaults:
    group/dss.apinode.apinode:
      # The URL is enough: queries never send the node's admin key.
      url: http://127.0.0.1:12000
  tasks:
    - name: Score one record (public service)
      dss.apinode.apinode_predict:
        service: churn
        endpoint: predict
        features: {age: 42, plan: gold, monthly_charges: 70.5, tenure_months: 12}
      register: scored

    - name: Show the prediction and the generation that answered
      ansible.builtin.debug:
        msg: "{{ scored.prediction }} from {{ scored.served_generation }} in {{ scored.latency_ms }} ms"

    - name: Force one generation (it must be loaded - mapped, or preloaded before a switch) and check the answer
      dss.apinode.apinode_predict:
        service: churn
        endpoint: predict
        generation: v1
        features: {age: 23, plan: basic, monthly_charges: 19.9, tenure_months: 2}
        expect:
          apiContext.endpointId: predict

    - name: Several records in one query, as a caller of a hash-based mapping (with a dispatch key)
      dss.apinode.apinode_predict:
        service: churn
        endpoint: predict
        type: predict-multi
        dispatch_key: customer-1234
        items:
          - {age: 42, plan: gold, monthly_charges: 70.5, tenure_months: 12}
          - {age: 67, plan: silver, monthly_charges: 45.0, tenure_months: 60}

    - name: A service that is not public, with one of its own API keys (not the node's admin key)
      dss.apinode.apinode_predict:
        service: churn
        endpoint: predict
        features: {age: 42, plan: gold, monthly_charges: 70.5, tenure_months: 12}
        user_api_key: "{{ vault_churn_user_key }}"

    - name: A gate of your own - fail the play unless the endpoint says the customer stays (runs in check mode too)
      dss.apinode.apinode_predict:
        service: churn
        endpoint: predict
        features: {age: 67, plan: silver, monthly_charges: 45.0, tenure_months: 60}
        # Quoted: unquoted, YAML reads no as a boolean.
        expected_prediction: "no"
        expect:
          apiContext.serviceId: churn

    - name: Call a Python function endpoint with its parameters; its return value is in json.response
      dss.apinode.apinode_predict:
        service: churn
        endpoint: segment
        type: run
        params: {customer_id: 1234}
      register: segment
'''

RETURN = r'''
json:
  description: The answer, parsed. Null when the node could not be reached.
  returned: always
  type: raw
  sample:
    result: {prediction: "yes", probas: {"yes": 0.73, "no": 0.27}}
    timing: {preProcessing: 0, wait: 0, enrich: 0, preparation: 0, prediction: 812, postProcessing: 0}
    apiContext: {serviceId: churn, endpointId: predict, serviceGeneration: v2}
status:
  description: The HTTP status of the answer; null when the node could not be reached.
  returned: always
  type: int
  sample: 200
served_generation:
  description: The generation that answered (C(apiContext.serviceGeneration)); null when the answer does not say.
  returned: always
  type: str
  sample: v2
prediction:
  description: C(result.prediction) (V(predict)) or the list of C(results[].prediction) (V(predict-multi)).
  returned: when O(type) is V(predict) or V(predict-multi)
  type: raw
  sample: "yes"
latency_ms:
  description: Milliseconds from sending the query to the whole answer read, as seen where the module runs.
  returned: always
  type: float
  sample: 12.4
api_calls:
  description: Number of HTTP requests the call made.
  returned: always
  type: int
  sample: 1
'''

from ansible_collections.dss.apinode.plugins.module_utils import _predict
from ansible_collections.dss.apinode.plugins.module_utils._common import (
    build_module,
    client_from_module,
    id_problem,
)

# The query's options are apinode_release's smoke-test options too (_predict.QUERY_ARGUMENT_SPEC).
ARGUMENT_SPEC = _predict.query_argument_spec(
    service=dict(type='str', required=True),
    user_api_key=dict(type='str', no_log=True),
    bearer_token=dict(type='str', no_log=True),
)


def main():
    # The user API needs no admin key: the shared check asks only for the URL and the request settings.
    module = build_module(ARGUMENT_SPEC, needs_api_key=False, supports_check_mode=True,
                          mutually_exclusive=[['generation', 'dispatch_key'], ['user_api_key', 'bearer_token']])
    p = module.params
    problem = (id_problem('service', p['service'], 'service') or id_problem('endpoint', p['endpoint'], 'endpoint')
               or (p['generation'] and id_problem('generation', p['generation'], 'generation')))
    query = dict((k, p[k]) for k in ARGUMENT_SPEC if k not in ('service', 'user_api_key'))
    query['api_key'] = p['user_api_key']
    problem = problem or _predict.query_problem(query)
    if problem:
        module.fail_json(msg=problem)
    client = client_from_module(module)
    answer = _predict.send(client, p['service'], query)
    result = dict(changed=False, json=answer['json'], status=answer['status'],
                  served_generation=answer['served_generation'], latency_ms=answer['latency_ms'],
                  api_calls=client.request_count)
    if p['type'] in _predict.PREDICTION_TYPES:
        result['prediction'] = answer['prediction']
    if not answer['passed']:
        module.fail_json(msg='The %s query of endpoint %s of service %s failed: %s.'
                         % (p['type'], p['endpoint'], p['service'], answer['message']), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
