#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: apinode_info
short_description: Read what a Dataiku DSS API node runs - services, generations, keys, metrics, health, cache imports
version_added: 0.1.0
author: dss.apinode contributors (@dss-apinode)
description:
  - Reads, and never changes, the state of a DSS API node.
  - O(gather) selects what is read, so a caller pays only for the requests it needs
    (V(node) - 1 or 2 requests, V(services) - 1 + 1 per service, or 1 with O(generations=false),
    V(keys) - 1, V(metrics) - 1, V(cache_imports) - none).
  - Admin key secrets are never returned.
  - V(cache_imports) reads the import markers that M(dss.apinode.apinode_cache) leaves on the node's disk, so
    a task that gathers it must run on the node (where the admin API usually listens on
    C(http://127.0.0.1:<port>)), like the M(dss.apinode.apinode_cache) task that wrote them, with the same O(url).
extends_documentation_fragment:
  - dss.apinode.connection
  - dss.apinode.attributes
  - dss.apinode.attributes.INFO_MODULE
options:
  gather:
    description:
      - What to read.
      - V(node) - C(/isAlive/) (no authentication) and the DSS version from the admin API's response headers.
      - V(services) - every service with its active mapping and its generations.
      - V(keys) - the admin keys, without their secrets, returned as RV(admin_keys).
      - V(metrics) - the node's metrics registry, and a per-service summary of request counts.
      - V(cache_imports) - the code envs and model archives that M(dss.apinode.apinode_cache) imported into this
        node's caches, from its marker files in O(cache_state_dir); no request to the node.
    type: list
    elements: str
    choices: [services, keys, metrics, node, cache_imports]
    default: [services, node]
  generations:
    description:
      - Whether V(services) also reads the generations of each service (one more request per service).
      - With V(false), RV(services) has no C(generations) key; the enabled flag and the active mapping are
        still there, which is enough to tell which generation a service serves. O(gather=[services]) with
        O(generations=false) is then a single request.
    type: bool
    default: true
  cache_state_dir:
    description:
      - Folder on the node that holds the import markers of M(dss.apinode.apinode_cache) - its
        O(dss.apinode.apinode_cache#module:state_dir), or the C(.apinode-cache) folder beside the artefacts
        when that option was not set.
      - Required when O(gather) has V(cache_imports). A folder that does not exist means nothing was imported.
      - Only the markers written for this node (the same O(url)) are returned.
    type: path
  key_expiry_warning_days:
    description:
      - With V(keys) in O(gather), admin keys that expire within this many days (or have expired) get
        C(expires_soon=true) in RV(admin_keys), and the module warns about each of them.
    type: int
    default: 14
    version_added: 0.1.0
  services:
    description:
      - Only read these services (ids). Services that do not exist are left out of RV(services).
      - Also limits RV(metrics_summary).
    type: list
    elements: str
seealso:
  - module: dss.apinode.apinode_service
  - module: dss.apinode.apinode_generation
  - module: dss.apinode.apinode_key
  - module: dss.apinode.apinode_cache
'''

EXAMPLES = r'''
- name: Fleet facts
  hosts: apinodes
  module_defaults:
    group/dss.apinode.apinode:
      url: "{{ apinode_url }}"
      api_key: "{{ apinode_admin_key }}"
  tasks:
    - name: Services and node health (the default)
      dss.apinode.apinode_info:
      register: node_info

    - name: Show which generation each service serves
      ansible.builtin.debug:
        msg: "{{ item.id }}: {{ item.mapping.entries | default([]) | map(attribute='generation') | list }}"
      loop: "{{ node_info.services }}"

    - name: Request counts of one service only
      dss.apinode.apinode_info:
        gather: [metrics]
        services: [churn]
      register: churn_metrics

    - name: Admin keys (metadata only) and whether the node is drained
      dss.apinode.apinode_info:
        gather: [keys, node]
      register: keys_info

    - name: List the labels of the admin keys
      ansible.builtin.debug:
        msg: "{{ keys_info.admin_keys | map(attribute='label') | list }}"

    - name: Which generation each service serves, in one request
      dss.apinode.apinode_info:
        gather: [services]
        generations: false
      register: mapping_info

    # The play runs on the nodes, so the markers are read from each node's own disk; apinode_url must
    # be the URL the apinode_cache tasks used, since the markers are kept per node URL.
    - name: What the caches already received, from the markers of apinode_cache
      dss.apinode.apinode_info:
        gather: [cache_imports]
        cache_state_dir: /srv/apinode-staging/.markers
      register: cache_info

    - name: Fingerprints of the model archives already imported
      ansible.builtin.debug:
        msg: "{{ cache_info.cache_imports | selectattr('kind', 'equalto', 'model') | items2dict('path', 'fingerprint') }}"
'''

RETURN = r'''
node:
  description: Health and version of the node.
  returned: when O(gather) has V(node)
  type: dict
  contains:
    url:
      description: Base URL of the node.
      type: str
    alive:
      description: Whether C(/isAlive/) answered 200.
      type: bool
    forced_not_alive:
      description: Whether the node is drained (the not-alive flag file is present).
      type: bool
    dss_version:
      description: DSS version from the C(DSS-Version) response header.
      type: str
      returned: when the node sends it
    api_version:
      description: Admin API version, from the C(DSS-APINode-API-Version) or C(DSS-API-Version) header.
      type: str
      returned: when the node sends it
    features:
      description:
        - Whether the node's DSS version has each admin API feature that depends on the version -
          C(register_code_env) (12.4), C(model_cache) (12.5), C(cleanup) (13.0), C(hashed_keys) (13.1),
          C(delete_key_by_id) (13.1.1), C(key_expiry) (13.3).
        - C(hashed_keys) says that the node can store keys hashed, not that it does.
      type: dict
      returned: when the node sends a version
      sample: {"register_code_env": true, "model_cache": true, "cleanup": true, "hashed_keys": true,
               "delete_key_by_id": true, "key_expiry": false}
      version_added: 0.1.0
    health_checks:
      description: The health checks reported by C(/isAlive/).
      type: dict
      returned: when the node reports some
services:
  description: The services of the node, sorted by id.
  returned: when O(gather) has V(services)
  type: list
  elements: dict
  contains:
    id:
      description: Service id.
      type: str
    exists:
      description: Always V(true) here.
      type: bool
    enabled:
      description: Whether the service is enabled (V(false) when its start was aborted).
      type: bool
    mapping:
      description: The active mapping, normalised; V(null) for a service that was never switched.
      type: dict
      contains:
        mode:
          description: V(SINGLE_GENERATION) or V(MULTI_GENERATION).
          type: str
        generation:
          description: The generation in single mode.
          type: str
          returned: in single mode
        entries:
          description: The generations and their share of traffic (one entry with proba 1.0 in single mode).
          type: list
          elements: dict
        strategy:
          description: V(random) or V(hash_based), spelt like the O(dss.apinode.apinode_service#module:strategy) option.
          type: str
        auditRoutingKey:
          description: Routing key stamped on query-log events.
          type: str
          returned: when set
    generations:
      description: The generations on disk.
      returned: unless O(generations=false)
      type: list
      elements: dict
      contains:
        generationId:
          description: Generation id.
          type: str
        createdOn:
          description: Creation time of the package, epoch milliseconds.
          type: int
        createdWithDSSVersion:
          description: DSS version that built the package.
          type: str
        createdWithDSSConfVersion:
          description: DSS configuration version that built the package.
          type: str
        mounted:
          description: Whether the generation is loaded in memory.
          type: bool
        mapped:
          description: Share of traffic (0 to 1) in the current mapping.
          type: float
    start_aborted_reason:
      description: Why an enabled service failed to start.
      type: str
      returned: when the start was aborted
admin_keys:
  description:
    - The admin keys of the node, without secrets, sorted by label.
    - Named C(admin_keys) rather than C(keys), which Jinja dot notation cannot reach (C(keys) is a dict method).
  returned: when O(gather) has V(keys)
  type: list
  elements: dict
  contains:
    id:
      description: Id of the key.
      type: str
      returned: when the node gives ids
    label:
      description: Label.
      type: str
      returned: when set
    description:
      description: Description.
      type: str
      returned: when set
    createdBy:
      description: Creator.
      type: str
      returned: when set
    createdOn:
      description: Creation time, epoch milliseconds.
      type: int
      returned: when set
    expiry:
      description: The C(expiry) value stored with the key, as the node returns it.
      type: raw
      returned: when set
    expiresOn:
      description: Expiry date, epoch milliseconds, as the node returns it (V(0) - never).
      type: int
      returned: when the node gives it
      version_added: 0.1.0
    expires_on:
      description: Expiry date, ISO 8601 in UTC.
      type: str
      returned: when the key expires
      version_added: 0.1.0
    expires_soon:
      description: Whether the key expires within O(key_expiry_warning_days) days, or has expired.
      type: bool
      returned: when the key expires
      version_added: 0.1.0
cache_imports:
  description:
    - The artefacts that M(dss.apinode.apinode_cache) imported into this node's caches, sorted by path then kind,
      as recorded by its marker files in O(cache_state_dir).
    - A marker says what was imported, not that the cache still holds it (a cache emptied behind the
      module's back leaves stale markers).
  returned: when O(gather) has V(cache_imports)
  type: list
  elements: dict
  sample:
    - kind: model
      path: /srv/apinode-staging/models/sentiment.zip
      fingerprint: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
      options:
        modelArchivePath: /srv/apinode-staging/models/sentiment.zip
      recorded_on: 1764277200000
  contains:
    kind:
      description: V(code_env), V(built_code_env) or V(model), as in RV(dss.apinode.apinode_cache#module:imports).
      type: str
    path:
      description: Path of the artefact on the node.
      type: str
    fingerprint:
      description: sha256 content fingerprint of the artefact when it was imported.
      type: str
    options:
      description: The import options sent to the node (for example C(language), C(builtEnvDir), C(modelArchivePath)).
      type: dict
    recorded_on:
      description: When the import was recorded, epoch milliseconds.
      type: int
metrics:
  description: The node's raw metrics registry (Dropwizard JSON - gauges, counters, histograms, meters, timers).
  returned: when O(gather) has V(metrics)
  type: dict
metrics_summary:
  description: Request counts per service, from the C(dku.lambda.service.<service>.<endpoint>.*) meters.
  returned: when O(gather) has V(metrics)
  type: dict
  sample:
    churn:
      requests: 12
      success_requests: 11
      active_requests: 0
      endpoints:
        predict:
          requests: 12
          success_requests: 11
  contains:
    requests:
      description: Requests received by all endpoints of the service.
      type: int
    success_requests:
      description: Requests answered successfully.
      type: int
    active_requests:
      description: Requests in flight.
      type: int
    endpoints:
      description: The same counts per endpoint.
      type: dict
'''

from ansible_collections.dss.apinode.plugins.module_utils._common import (
    build_module,
    client_from_module,
    run_module,
    validate_id,
)
from ansible_collections.dss.apinode.plugins.module_utils._fingerprint import read_node_markers
from ansible_collections.dss.apinode.plugins.module_utils._keys import expiring, key_metadata, list_keys
from ansible_collections.dss.apinode.plugins.module_utils._versions import features_of
from ansible_collections.dss.apinode.plugins.module_utils._service_state import read_services

METRIC_PREFIX = 'dku.lambda.service.'


def main():
    module = build_module(
        dict(
            gather=dict(type='list', elements='str', default=['services', 'node'],
                        choices=['services', 'keys', 'metrics', 'node', 'cache_imports']),
            services=dict(type='list', elements='str'),
            generations=dict(type='bool', default=True),
            cache_state_dir=dict(type='path'),
            key_expiry_warning_days=dict(type='int', default=14, no_log=False),
        ),
        supports_check_mode=True,
    )
    for service_id in module.params['services'] or []:
        validate_id(module, 'service', service_id, 'services')
    if 'cache_imports' in module.params['gather'] and not module.params['cache_state_dir']:
        module.fail_json(msg='gather has cache_imports: set cache_state_dir to the folder of the import markers '
                             '(the state_dir of apinode_cache, or the .apinode-cache folder beside the artefacts).')
    client = client_from_module(module)
    run_module(module, client, lambda: gather_facts(module, client))


def gather_facts(module, client):
    gather = set(module.params['gather'])
    only = set(module.params['services']) if module.params['services'] is not None else None
    result = dict(changed=False)
    if 'services' in gather:
        result['services'] = read_services(client, only, generations=module.params['generations'])
    if 'keys' in gather:
        result['admin_keys'] = admin_keys(module, list_keys(client, module))
    if 'metrics' in gather:
        metrics = client.get('metrics') or {}
        result['metrics'] = metrics
        result['metrics_summary'] = summarise_metrics(metrics, only)
    if 'node' in gather:
        result['node'] = node_facts(client)
    if 'cache_imports' in gather:
        result['cache_imports'] = cache_imports(module.params['cache_state_dir'], client.base_url)
    return result


def admin_keys(module, listed):
    """Key metadata sorted by label, each flagged ``expires_soon``; one warning per such key."""
    soon = expiring(listed, module.params['key_expiry_warning_days'])
    keys = []
    for key in listed:
        data = key_metadata(key, show_mask=False)
        if 'expires_on' in data:
            data['expires_soon'] = any(key is other for other in soon)
        if data.get('expires_soon'):
            module.warn('The admin key %r %s on %s: rotate it (dss.apinode.apinode_key with rotate=true).'
                        % (key.get('label') or key.get('id') or '?',
                           'expired' if key_has_expired(key) else 'expires', data['expires_on']))
        keys.append(data)
    return sorted(keys, key=lambda k: (k.get('label') or '', k.get('id') or ''))


def key_has_expired(key):
    return bool(expiring([key], 0))


def cache_imports(state_dir, node_url):
    """What apinode_cache recorded for this node; its markers are keyed by the same base URL."""
    return [dict(kind=m['kind'], path=m['path'], fingerprint=m['fingerprint'],
                 options=m.get('query') if isinstance(m.get('query'), dict) else {},
                 recorded_on=m.get('recorded_on'))
            for m in read_node_markers(state_dir, node_url)]


def node_facts(client):
    """/isAlive/ (no auth; 503 when drained or unhealthy) + versions from an admin response's headers."""
    # Only successful admin responses carry the version headers; reuse those of an earlier read.
    headers = dict(client.last_headers) if client.request_count else {}
    if not headers.get('dss-version'):
        client.get('services')
        headers = client.last_headers
    alive = client.request('GET', '/isAlive/', auth=False, expect_error_statuses=(503,))
    body = alive.body if isinstance(alive.body, dict) else {}
    facts = dict(url=client.base_url, alive=alive.status == 200 and body.get('alive', True) is not False,
                 forced_not_alive=bool(body.get('forcedNotAlive')))
    if headers.get('dss-version'):
        facts['dss_version'] = headers['dss-version']
    api_version = headers.get('dss-apinode-api-version') or headers.get('dss-api-version')
    if api_version:
        facts['api_version'] = api_version
    features = features_of(headers.get('dss-version'))
    if features:
        facts['features'] = features
    if body.get('healthChecks'):
        facts['health_checks'] = body['healthChecks']
    return facts


def summarise_metrics(metrics, only=None):
    """Sum the per-endpoint request meters of each service (names from the reference's metric list)."""
    summary = {}

    def service_entry(sid):
        return summary.setdefault(sid, dict(requests=0, success_requests=0, active_requests=0, endpoints={}))

    for name, meter in (metrics.get('meters') or {}).items():
        if not name.startswith(METRIC_PREFIX):
            continue
        parts = name[len(METRIC_PREFIX):].split('.')
        if len(parts) != 3 or parts[2] not in ('requests', 'successRequests'):
            continue
        sid, endpoint, what = parts
        if only is not None and sid not in only:
            continue
        field = 'requests' if what == 'requests' else 'success_requests'
        count = int((meter or {}).get('count') or 0)
        entry = service_entry(sid)
        entry[field] += count
        entry['endpoints'].setdefault(endpoint, dict(requests=0, success_requests=0))[field] += count
    for name, counter in (metrics.get('counters') or {}).items():
        parts = name[len(METRIC_PREFIX):].split('.') if name.startswith(METRIC_PREFIX) else []
        if len(parts) == 2 and parts[1] == 'activeRequests' and (only is None or parts[0] in only):
            service_entry(parts[0])['active_requests'] = int((counter or {}).get('count') or 0)
    return summary


if __name__ == '__main__':
    main()
