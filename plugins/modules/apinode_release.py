#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: apinode_release
short_description: Bring one Dataiku DSS API node to a release - plan, stage, activate, retain, roll back
version_added: 0.1.0
author: dss.apinode contributors (@dss-apinode)
description:
  - A I(release) is what one API node should serve - its services (each with a package, a generation or a
    mapping, a strategy, enabled or not), the exported code envs and model archives they need, and how many
    generations to keep.
  - The module reads the node once (the services, the generations of the release's services, and the import
    markers of the caches), compares it with the release and builds a I(plan) - the ordered admin calls, each
    with a sentence naming the difference. A node whose plan is empty already serves the release and is only read.
  - Check mode returns the plan and sends no write, so a preflight, a drift report and the deploy itself
    always agree.
  - O(phase) chooses what is applied - V(stage) (import code envs and models into the caches, create missing
    services, import and preload generations; traffic untouched), V(activate) (switch each service to its
    explicit generation or mapping, enable or disable it, then run its smoke tests), V(retain) (delete the
    generations beyond retention), V(rollback) (put back exactly what O(previous) records), or V(all)
    (stage, activate, retain).
  - Each phase is computed from the release and the node alone, so a stage run and an activate run can be days
    apart. The generation a service switches to, when none is given, is the C(generationId) of its package's
    C(tag.json).
  - In a playbook, give each artefact (O(services[].package), O(code_envs[].path), O(models[].path)) as a path
    on the controller, found like the C(src) of M(ansible.builtin.copy) (C(files/) folders, then next to the
    playbook; or absolute). The collection's action plugin reads the package's C(tag.json) there (it fills
    O(services[].tag) in), fingerprints the code envs and models, and copies what the node lacks to a staging
    path under O(staging_dir) (with O(transport=api) it streams the package instead). The module itself, on
    the node, only sees those staged paths.
extends_documentation_fragment:
  - dss.apinode.connection
  - dss.apinode.attributes
attributes:
  check_mode:
    description: Can run in check_mode and return the plan without modifying the node.
    support: full
  diff_mode:
    description: Returns each release service before and after (enabled, mapping, generation ids) in diff mode.
    support: full
  idempotent:
    description: A second run with the same options finds nothing to do and reports C(changed=false).
    support: full
options:
  phase:
    description:
      - Which steps of the plan to apply.
      - V(activate) refuses a service whose package is not imported yet (run V(stage) first).
      - V(rollback) needs O(previous).
    type: str
    choices: [stage, activate, retain, rollback, all]
    default: all
  services:
    description:
      - The services of the release. Services of the node that are not listed are left alone.
    type: list
    elements: dict
    default: []
    suboptions:
      id:
        description: Service id.
        type: str
        required: true
      package:
        description:
          - The service's package (the zip made by "Prepare package"), imported unless its generation is on the
            node already. A path on the controller in a playbook (the action plugin stages it on the node).
          - Leave it out when the generation is expected on the node already (with O(services[].generation) or
            O(services[].mapping)).
        type: path
      tag:
        description:
          - The package's C(tag.json). Filled in by the action plugin from the package on the controller; give it
            only when calling the module without the action plugin.
          - A generation of the same id on the node must have the same C(createdOn), otherwise the plan fails
            (it comes from another package and is never replaced silently).
          - Before the import, the C(tag.json) of the staged package is read on the node and must match.
        type: dict
      generation:
        description:
          - The generation to serve. Defaults to the C(generationId) of O(services[].tag).
          - With a package it must equal that C(generationId).
        type: str
      mapping:
        description:
          - Share the traffic between several generations (canary, A/B). The probabilities must sum to 1.
          - The order of the entries does not matter.
        type: list
        elements: dict
        suboptions:
          generation:
            description: Generation id.
            type: str
            required: true
          proba:
            description: Share of the traffic, greater than 0 and at most 1.
            type: float
            required: true
      strategy:
        description: How the node picks a generation of O(services[].mapping) for each query.
        type: str
        choices: [random, hash_based]
      enabled:
        description:
          - Whether the service serves traffic. A disabled service is created and staged, but not switched.
        type: bool
        default: true
      new:
        description:
          - The release creates this service on purpose. The module itself creates a missing service either way; the
            C(dss.apinode.deploy) role refuses, before any change, a service that no node of its play has yet unless
            it is marked new (a misspelt service id would otherwise be deployed as a new service).
        type: bool
        default: false
      steps:
        description:
          - A progressive rollout - the traffic shifts to the service's new generation (its package's, or
            O(services[].generation)) in steps, the generation(s) it served before sharing the rest in proportion.
          - The module applies one step per call (O(step)); the C(dss.apinode.deploy) role bakes and judges each
            step from the node's metrics and promotes or rolls back. A last step at C(1.0) is added when missing.
          - Without a mapping served before (a new service or node), the switch is at once.
          - With O(services[].strategy=hash_based) the steps dispatch by key.
        type: list
        elements: dict
        suboptions:
          proba:
            description: Share of the queries served by the new generation, greater than 0 and at most 1; increasing.
            type: float
            required: true
          bake_seconds:
            description: How long the step is watched before it is judged.
            type: float
            default: 0
      analysis:
        description:
          - How the C(dss.apinode.deploy) role judges each of O(services[].steps) (checked here, used by the role's
            C(dss.apinode.progressive_verdict) filter); unset keys take the role's C(apinode_deploy_analysis).
        type: dict
        suboptions:
          min_requests:
            description: Queries the new generation must receive across the batch during a step before it is judged.
            type: int
          max_error_rate:
            description: Highest error rate (0 to 1) of the new generation, estimated from its endpoints' error rates.
            type: float
          max_wait_seconds:
            description: How long a step may extend its bake waiting for O(services[].analysis.min_requests).
            type: float
          on_insufficient_traffic:
            description: What a step without enough traffic does after that wait - V(fail) rolls back, V(hold) keeps the step's mapping and stops.
            type: str
            choices: [fail, hold]
          max_latency_ms:
            description: Highest p95 of the endpoints' C(totalProcessing) timers during a step, in milliseconds.
            type: float
      smoke_tests:
        description:
          - Queries sent through the user API (C(/public/api/v1/<service>/<endpoint>/<type>)) right after the
            switch, forced to one generation unless they send a dispatch key, the same queries and verdicts as
            M(dss.apinode.apinode_predict). By default a test passes on HTTP 200 when C(apiContext.serviceGeneration)
            is that generation and, if set, the prediction is O(services[].smoke_tests[].expected_prediction).
          - O(services[].smoke_tests[].expected_status) and O(services[].smoke_tests[].expect) judge endpoints whose
            answers are custom (a Python endpoint that answers its own status and body, without C(apiContext)).
          - Run after the switches of the node.
        type: list
        elements: dict
        default: []
        suboptions:
          endpoint:
            description: Endpoint id.
            type: str
            required: true
          type:
            description:
              - What the query asks of the endpoint, which is also the last segment of its path.
              - V(predict) - one prediction from O(services[].smoke_tests[].features) (prediction endpoints, standard
                or custom).
              - V(predict-multi) - one prediction per record of O(services[].smoke_tests[].items).
              - V(forecast) - a time-series forecast from the history records in O(services[].smoke_tests[].items).
              - V(run) - call a Python or R function endpoint with O(services[].smoke_tests[].params) as its keyword
                arguments.
              - V(query) - run a SQL query endpoint with O(services[].smoke_tests[].params) as its named parameters.
              - V(lookup) - look O(services[].smoke_tests[].data) up in a dataset lookup endpoint.
            type: str
            choices: [predict, predict-multi, forecast, run, query, lookup]
            default: predict
          features:
            description: The features of the record to score. Required with O(services[].smoke_tests[].type=predict).
            type: dict
          items:
            description:
              - Required with O(services[].smoke_tests[].type=predict-multi) (the features of each record to score) and
                O(services[].smoke_tests[].type=forecast) (the history, one record per time step and time series, with
                its date, target and identifier columns).
            type: list
            elements: dict
          params:
            description:
              - The keyword arguments of the function (O(services[].smoke_tests[].type=run)) or the named parameters of
                the SQL query (O(services[].smoke_tests[].type=query)), sent as the body of the query. Defaults to none.
            type: dict
          data:
            description: The record to look up. Required with O(services[].smoke_tests[].type=lookup).
            type: dict
          generation:
            description:
              - Force the query to this generation (C(dispatch.forcedGeneration)), whatever the service's mapping.
                Defaults to the generation the service switches to (O(services[].generation), or its package's).
              - The generation must be loaded on the node - in the service's mapping, or preloaded. Otherwise the node
                answers HTTP 400 C(Invalid selected generation) and the test fails, saying the generation is not loaded.
              - The answer must then come from this generation (C(apiContext.serviceGeneration)) unless it carries no
                C(apiContext) and the test judges it with O(services[].smoke_tests[].expect) or
                O(services[].smoke_tests[].expected_status).
              - Not with O(services[].smoke_tests[].dispatch_key).
            type: str
          dispatch_key:
            description:
              - Send this dispatch key (C(dispatch.dispatchKey)) and let the node pick the generation, as it does for
                callers. A mapping with the V(hash_based) strategy sends the same key to the same generation, and refuses
                (HTTP 400) queries without one. Any generation the service serves may answer.
              - Not with O(services[].smoke_tests[].generation). When a service with O(services[].strategy=hash_based)
                has no test with a dispatch key, its first test is also sent with the key C(dss-apinode-smoke).
            type: str
          api_key:
            description:
              - One of the service's own API keys (defined with the service in DSS, in the API designer, not on the
                node), for a service that is not public; not the node's admin key.
              - Sent with HTTP Basic authentication as the user name with an empty password. Never logged or returned.
            type: str
          expected_status:
            description:
              - The HTTP statuses that pass. A Python endpoint that answers errors with its own status (for example 422)
                can be tested for it.
            type: list
            elements: int
            default: [200]
          expected_prediction:
            description:
              - The prediction expected - C(result.prediction) with O(services[].smoke_tests[].type=predict), the list of
                C(results[].prediction) with O(services[].smoke_tests[].type=predict-multi), compared as a JSON value
                (C(1) and C("1") differ).
              - Quote a label that YAML would read as something else - V("no") is a string, V(no) unquoted is a
                boolean.
              - Only with O(services[].smoke_tests[].type=predict) and O(services[].smoke_tests[].type=predict-multi);
                for the other types use O(services[].smoke_tests[].expect).
            type: raw
          expect:
            description:
              - Values the answer must hold, by dotted path into its JSON - names of object fields and indexes of lists
                joined by dots, for example C(result.probas.yes), C(results.0.data.segment) or C(response.status).
              - A path missing from the answer fails the test, like a different value. Values compare as JSON values
                (C(1) and C("1") differ).
            type: dict
  code_envs:
    description: Exported code env folders on the node, imported into the code-env cache unless already imported.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Path of the exported code env folder on the node.
        type: path
        required: true
      fingerprint:
        description: sha256 content fingerprint of the folder (C(sha256:<hex>)), computed on the controller.
        type: str
        required: true
      language:
        description: Language of the code env.
        type: str
        choices: [python, R]
        default: python
  models:
    description: Model archives on the node, imported into the model cache unless already imported.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Path of the model archive on the node.
        type: path
        required: true
      fingerprint:
        description: sha256 content fingerprint of the archive, computed on the controller.
        type: str
        required: true
  staging_dir:
    description:
      - Folder on the node where the action plugin copies the artefacts given as controller paths, each under a
        path of its own - C(packages/<service>/<generation>/), C(code-envs/<fingerprint>/), C(models/<fingerprint>/).
      - Also the default home of O(cache_state_dir) (C(<staging_dir>/.apinode-cache)) and of the O(lock) folder.
      - The V(retain) phase removes the staged files that nothing needs any more - the packages of the release's
        services whose generation is no longer on the node (never a rollback target's, since retention keeps those),
        and the code envs and model archives the release no longer names. Files of other services are left alone.
      - The first switch of V(activate) (or V(all)) writes C(last-rollout.json) there - what each release service served
        before (RV(previous)) - which V(rollback) reads when O(previous) is not given.
    type: path
  allow_empty:
    description:
      - Accept a release with no service, code env or model. By default such a release fails, naming the options (and
        the role variables) it expected, since it is usually a misspelt variable or a forgotten variables file.
      - V(rollback) never needs a release.
    type: bool
    default: false
  cache_state_dir:
    description:
      - Folder on the node of the import markers, shared with M(dss.apinode.apinode_cache) (same files, same
        records). Defaults to a C(.apinode-cache) folder beside each artefact.
    type: path
  preload:
    description: Load each service's new generation in memory during V(stage), before the switch.
    type: bool
    default: true
  keep_generations:
    description:
      - Generations kept per release service by V(retain) - the newest N (by C(createdOn)), plus every generation
        that is mapped, named in the release, in the current mapping or in O(previous).
    type: int
    default: 3
  previous:
    description:
      - The RV(previous) list returned by an earlier V(activate) or V(all). V(rollback) puts it back exactly;
        V(retain) keeps its generations.
      - V(rollback) without it reads C(<staging_dir>/last-rollout.json), the record the last switch on this node
        wrote (node transport), and returns its RV(last_rollout).
    type: list
    elements: dict
  transport:
    description:
      - How the release reaches the node.
      - V(node) (the module runs on the node, which the admin API URL usually names as C(127.0.0.1)) imports packages
        from their staging paths on the node's disk and can fill the code-env and model caches.
      - V(api) (the module runs on the controller or an execution node, like the DSS API Deployer) streams each package
        with C(POST services/{id}/generations/actions/importFromStream) (multipart), with no copy, no staging folder and no SSH.
        O(services[].package) is then a path where the module runs. A release with O(code_envs) or O(models) is refused,
        because their imports take paths on the node's disk; a node without C(importFromStream) (known from DSS 9.0.5,
        not confirmed on 12-14) fails with a message that names it and suggests V(node).
      - The run lock follows the transport, see O(lock).
    type: str
    choices: [node, api]
    default: node
  drain:
    description:
      - Take the node out of its load balancer before its first switch, and put it back after its smoke tests, on every
        way out. A node that fails its smoke tests while drained is first put back to what it served (RV(previous)),
        then back into the pool, so it never re-enters it serving what failed.
      - A node already out of the pool (its not-alive flag set by someone else) is left out.
    type: dict
    suboptions:
      mode:
        description:
          - V(flag) writes the node's not-alive flag file O(drain.flag_path) (node transport), which makes C(/isAlive/)
            answer 503; the file says it was written by dss.apinode, so a node left drained by an interrupted rollout is
            put back by the next one (a V(stage) step), while a flag set by an operator is never removed.
          - V(api) calls the admin API's C(set-not-alive) and C(set-alive) (DSS 9.0.5; the same flag file).
          - V(wait) only waits O(drain.seconds), because the caller drained the node itself (a load balancer hook).
          - V(none) drains nothing; with O(drain.flag_path) the call still reports a node out of its pool (RV(drained))
            and puts back one that an interrupted rollout left out.
        type: str
        default: none
        choices: [none, flag, api, wait]
      flag_path:
        description: The not-alive flag file, C(<data dir>/apinode-not-alive.txt). Required with O(drain.mode=flag).
          Read with the node transport only.
        type: path
      seconds:
        description: Seconds to wait after draining, before the switch, for the queries in flight to finish.
        type: float
        default: 0
  lock:
    description:
      - The node's deploy lock, taken before the first write of a call that has something to do (a node that already
        serves the release is only read). Another owner's lock fails the call before any write, and in check mode.
      - With O(transport=node), a folder on the node (O(lock.path)), taken with an atomic C(mkdir).
      - With O(transport=api), an admin API key labelled C(dss.apinode deploy lock), whose description names the holder;
        the oldest such key (by the node's C(createdOn)) holds the lock, and a run whose key is not the oldest deletes
        it and stops, so two runs can never both proceed. Its secret is random and never shown.
    type: dict
    suboptions:
      path:
        description: Lock folder on the node, with O(transport=node). Defaults to C(<staging_dir>/.deploy.lock).
        type: path
      owner:
        description:
          - Run id; a lock held by the same owner (an earlier play of the same run) is accepted.
          - Filled in on the controller when left out - the controller's host name and the process id and start time of
            the C(ansible-playbook) process, the same in every play of one run.
        type: str
      holder:
        description: Who and where, shown to whoever finds the lock held.
        type: str
      release:
        description: Remove the lock when the call ends, also on failure, if this owner holds it.
        type: bool
        default: false
  step:
    description:
      - Switch the services that have O(services[].steps) to the mapping of this step (0 for the first) instead of
        their final one. The mapping served before the rollout comes from O(previous) when given, else from the node.
      - Without it, such services switch to their final mapping and the drift sentence lists the steps.
    type: int
  require_dispatch_key:
    description:
      - A service that switches to a V(hash_based) mapping while the node's metrics show it received queries is
        refused (before any write) instead of warned about. The node's metrics count queries, not whether they carried a
        dispatch key, so the module cannot prove that the callers send one; a query without one gets HTTP 400.
    type: bool
    default: false
  smoke_retries:
    description: How many times a failed smoke test is tried again.
    type: int
    default: 3
  smoke_delay:
    description: Seconds between two tries of a smoke test.
    type: float
    default: 2
  smoke_timeout:
    description: Seconds a smoke-test query may take.
    type: int
    default: 30
notes:
  - A service the release keeps disabled is staged but not preloaded; the release's mapping is set only on services
    that serve traffic, since the node enables a service whenever its mapping is set.
  - V(rollback) of a service that did not exist, or had no mapping, disables it (the node cannot remove a mapping).
seealso:
  - module: dss.apinode.apinode_service
  - module: dss.apinode.apinode_generation
  - module: dss.apinode.apinode_cache
'''

EXAMPLES = r'''
- name: Roll a release out to the API nodes
  hosts: apinodes
  module_defaults:
    group/dss.apinode.apinode:
      url: http://127.0.0.1:12000
      api_key: "{{ apinode_admin_key }}"
  tasks:
    - name: Plan only (what would change)
      dss.apinode.apinode_release:
        staging_dir: /srv/apinode-staging
        services:
          - id: churn
            package: files/churn_v2.zip
      check_mode: true
      register: plan

    - name: Stage, switch with a smoke test, keep 3 generations; put back what was served if it fails
      block:
        - name: Roll out under the node's run lock (<staging_dir>/.deploy.lock, owned by this run)
          dss.apinode.apinode_release:
            staging_dir: /srv/apinode-staging
            lock:
              holder: "{{ lookup('ansible.builtin.env', 'USER') }}"
              release: true
            services:
              - id: churn
                package: files/churn_v2.zip
                smoke_tests:
                  - endpoint: predict
                    features: {tenure: 12, plan: basic}
                    api_key: "{{ churn_user_key }}"
            keep_generations: 3
          register: release
      rescue:
        - name: Put back what the node served before the release
          dss.apinode.apinode_release:
            phase: rollback
            previous: "{{ release.previous }}"

    - name: Canary - 10 % of the traffic to v3, sticky per dispatch key
      dss.apinode.apinode_release:
        staging_dir: /srv/apinode-staging
        services:
          - id: churn
            package: files/churn_v3.zip
            mapping:
              - {generation: v2, proba: 0.9}
              - {generation: v3, proba: 0.1}
            strategy: hash_based
'''

RETURN = r'''
phase:
  description: The phase applied.
  returned: always
  type: str
  sample: all
plan:
  description: The steps of O(phase), in order - applied, or that would be in check mode.
  returned: always
  type: list
  elements: dict
  sample:
    - {phase: stage, action: import_generation, service: churn, generation: v2, path: /srv/staging/packages/churn/v2/churn_v2.zip,
       sentence: "service churn: generation v2 is not on the node"}
    - {phase: activate, action: set_mapping, service: churn, sentence: "service churn serves generation v1, the release wants generation v2"}
  contains:
    phase:
      description: V(stage), V(activate), V(retain) or V(rollback).
      type: str
    action:
      description:
        - V(import_code_env), V(import_model), V(create_service), V(import_generation), V(preload_generation),
          V(set_mapping), V(disable) or V(delete_generation).
      type: str
    sentence:
      description: The difference this step removes.
      type: str
    service:
      description: Service id.
      type: str
      returned: for service steps
    generation:
      description: Generation id.
      type: str
      returned: for generation steps
    path:
      description: Path on the node of the artefact imported.
      type: str
      returned: for import steps
    mapping:
      description: The mapping set, in the normal form of RV(services[].mapping).
      type: dict
      returned: for set_mapping
drift:
  description:
    - Every difference between the node and the release (stage, activate and retain), one sentence each,
      whatever O(phase), as the node was found at the start of the call. Empty when the node already serves the release.
  returned: always
  type: list
  elements: str
  sample: ["service churn serves generation v1, the release wants generation v2"]
current:
  description: Whether the node already serves the release (RV(drift) is empty).
  returned: always
  type: bool
staged:
  description: Whether everything the release needs was on the node at the start of the call (no stage step), served or not yet.
  returned: always
  type: bool
drained:
  description:
    - Set when the node was out of its load balancer at the start of the call (its not-alive flag file exists; read
      when O(drain.flag_path) is given). C(by) is C(dss.apinode) for a flag an interrupted rollout left (put back by the
      V(stage) phase), else C(someone else) (left as it is).
  returned: always
  type: dict
  sample: {by: dss.apinode, owner: "ctl:4242:1234", since: "2026-11-30T10:00:00Z"}
drain:
  description: What the drain of this call did, when the node was drained.
  returned: when the call switched a service with O(drain)
  type: dict
  contains:
    mode:
      description: V(flag) or V(api).
      type: str
    taken:
      description: Whether this call took the node out of its load balancer.
      type: bool
    already_out:
      description: Whether the node was already out (then it is left out).
      type: bool
    given_back:
      description: Whether the node was put back.
      type: bool
rolled_back:
  description: True when the node, drained, failed its smoke tests and was put back to RV(previous) before re-entering its pool.
  returned: when it happened
  type: bool
previous:
  description:
    - Each release service as it was before this call changed it. Give it to a later V(rollback) call to put it back.
  returned: always
  type: list
  elements: dict
  sample: [{id: churn, existed: true, enabled: true, mapping: {mode: SINGLE_GENERATION, generation: v1,
            entries: [{generation: v1, proba: 1.0}], strategy: random}}]
  contains:
    id:
      description: Service id.
      type: str
    existed:
      description: Whether the service existed.
      type: bool
    enabled:
      description: Whether it was enabled.
      type: bool
    mapping:
      description: Its mapping, or null.
      type: dict
targets:
  description:
    - Each release service as the release wants it on this node, resolved - O(services[].mapping), else
      O(services[].generation), else the C(generationId) of the package's C(tag.json); with O(step), that step's
      mapping. It is what the activate steps of RV(plan) compare the node with, in every phase and in check mode.
    - Lets a report show the resolved target rather than guess it from what most nodes serve
      (P(dss.apinode.fleet_status#filter) uses it for its C(wanted) header).
    - Empty when the call failed before its plan (options refused, node not read).
  returned: always
  type: list
  elements: dict
  sample: [{id: churn, enabled: true, mapping: {mode: SINGLE_GENERATION, generation: v3,
            entries: [{generation: v3, proba: 1.0}], strategy: random}}]
  contains:
    id:
      description: Service id.
      type: str
    enabled:
      description: Whether the release wants the service enabled (O(services[].enabled)).
      type: bool
    mapping:
      description:
        - The mapping the release wants, in the normal form of RV(services[].mapping); null for a service the release
          keeps disabled (it is staged, never switched).
      type: dict
node_services:
  description:
    - Every service of the node as listed when the call started (those outside the release too), without their
      generations; what C(dss.apinode.fleet_status) reports for services the release does not declare.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Service id.
      type: str
    enabled:
      description: Whether the service serves queries.
      type: bool
    mapping:
      description: The active mapping in the normal form of RV(services[].mapping), or null.
      type: dict
services:
  description: The node's release services after the call (before it, in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Service id.
      type: str
    exists:
      description: Always true here.
      type: bool
    enabled:
      description: Whether the service serves traffic.
      type: bool
    mapping:
      description:
        - The active mapping in normal form - C(mode), C(generation) (single mode), C(entries) (generation and proba),
          C(strategy) - or null.
      type: dict
    generations:
      description: The generations on the node (generationId, createdOn, createdWithDSSVersion, createdWithDSSConfVersion,
        mounted, mapped).
      type: list
      elements: dict
smoke_tests:
  description: The smoke tests run, with their verdicts. Never holds a user key.
  returned: always
  type: list
  elements: dict
  contains:
    service:
      description: Service id.
      type: str
    endpoint:
      description: Endpoint id.
      type: str
    generation:
      description: Generation the query was forced to; null for a test that sends a dispatch key.
      type: str
    status:
      description: HTTP status of the last try, null when the node could not be reached.
      type: int
    served_generation:
      description: C(apiContext.serviceGeneration) of the answer.
      type: str
    prediction:
      description: C(result.prediction) of the answer (V(predict)), the list of C(results[].prediction) (V(predict-multi)).
      type: raw
    passed:
      description: Whether the test passed.
      type: bool
    message:
      description: V(ok), or why the test failed.
      type: str
progressive:
  description:
    - For each release service with O(services[].steps), the mapping of each step, from the mapping it served before
      the rollout (C(base)); C(steps) is empty when the switch is at once (nothing served before).
  returned: always
  type: list
  elements: dict
  sample: [{service: churn, generation: v2, base: {mode: SINGLE_GENERATION, generation: v1}, steps: [
            {index: 0, proba: 0.1, bake_seconds: 300, mapping: {mode: MULTI_GENERATION, strategy: random,
             entries: [{generation: v2, proba: 0.1}, {generation: v1, proba: 0.9}]}}]}]
dispatch_key_risks:
  description: Services switching to a V(hash_based) mapping although they received queries that may carry no dispatch key.
  returned: when a service switches to a hash_based mapping
  type: list
  elements: str
lock:
  description: The deploy lock - its path, whether this call took it, whether it released it. Null without O(lock).
  returned: always
  type: dict
  sample: {path: /srv/staging/.deploy.lock, taken: true, released: true}
api_calls:
  description: Number of HTTP requests the call made.
  returned: always
  type: int
duration:
  description: Seconds the call took on the host where the module ran.
  returned: always
  type: float
  sample: 12.4
durations:
  description:
    - Seconds spent in each phase the call applied (C(stage), C(activate) with its smoke tests, C(retain), C(rollback)),
      from the first step of the phase to the next; reading and planning are part of RV(duration) only.
    - Empty in check mode and when there was nothing to apply.
  returned: always
  type: dict
  sample: {stage: 10.2, activate: 1.9, retain: 0.3}
pruned:
  description: Staging folders (relative to O(staging_dir)) that nothing needs any more, removed (to remove, in check mode).
  returned: when the phase includes V(retain) and O(staging_dir) exists
  type: list
  elements: str
  sample: [packages/churn/v1, code-envs/0f3a9c2b5d6e7f81]
last_rollout:
  description: The record V(rollback) read when O(previous) was not given - the run that wrote it (C(owner)) and when (C(at)).
  returned: when V(rollback) read the node's record
  type: dict
  sample: {owner: "ctl:4242:1234", at: "2026-11-30T10:00:00Z"}
staging:
  description:
    - Where this node's artefacts are staged - C(machine) (V(localhost) for a local connection, else the address the
      connection reaches) and C(dir) (O(staging_dir)). Added on the controller by the action plugin, so that two
      nodes of one machine sharing a folder can be refused (filter P(dss.apinode.shared_staging#filter)).
  returned: with O(transport=node) and O(staging_dir)
  type: dict
  sample: {machine: apinode-1.example.com, dir: /opt/dataiku/apinode/dss-apinode-staging}
diff:
  description: Per release service id, C(enabled), C(mapping) and C(generations) (ids) before and after.
  returned: in diff mode
  type: dict
'''

from ansible_collections.dss.apinode.plugins.module_utils import _mapping, _predict
from ansible_collections.dss.apinode.plugins.module_utils._apply import ReleaseRun
from ansible_collections.dss.apinode.plugins.module_utils._client import ApiNodeClient
from ansible_collections.dss.apinode.plugins.module_utils._common import build_module, client_from_module

ARGUMENT_SPEC = dict(
    phase=dict(type='str', default='all', choices=['stage', 'activate', 'retain', 'rollback', 'all']),
    services=dict(type='list', elements='dict', default=[], options=dict(
        _mapping.mapping_argument_spec(),
        id=dict(type='str', required=True),
        package=dict(type='path'),
        tag=dict(type='dict'),
        generation=dict(type='str'),
        enabled=dict(type='bool', default=True),
        new=dict(type='bool', default=False),
        steps=dict(type='list', elements='dict', options=dict(
            proba=dict(type='float', required=True),
            bake_seconds=dict(type='float', default=0),
        )),
        analysis=dict(type='dict', options=dict(
            min_requests=dict(type='int'),
            max_error_rate=dict(type='float'),
            max_wait_seconds=dict(type='float'),
            on_insufficient_traffic=dict(type='str', choices=['fail', 'hold']),
            max_latency_ms=dict(type='float'),
        )),
        # apinode_predict's query options, with the service's user key as api_key.
        smoke_tests=dict(type='list', elements='dict', default=[], options=_predict.query_argument_spec(
            api_key=dict(type='str', no_log=True),
        )),
    )),
    code_envs=dict(type='list', elements='dict', default=[], options=dict(
        path=dict(type='path', required=True),
        fingerprint=dict(type='str', required=True),
        language=dict(type='str', default='python', choices=['python', 'R']),
    )),
    models=dict(type='list', elements='dict', default=[], options=dict(
        path=dict(type='path', required=True),
        fingerprint=dict(type='str', required=True),
    )),
    staging_dir=dict(type='path'),
    allow_empty=dict(type='bool', default=False),
    cache_state_dir=dict(type='path'),
    preload=dict(type='bool', default=True),
    keep_generations=dict(type='int', default=3),
    previous=dict(type='list', elements='dict'),
    transport=dict(type='str', default='node', choices=['node', 'api']),
    drain=dict(type='dict', options=dict(
        mode=dict(type='str', default='none', choices=['none', 'flag', 'api', 'wait']),
        flag_path=dict(type='path'),
        seconds=dict(type='float', default=0),
    )),
    lock=dict(type='dict', options=dict(
        path=dict(type='path'),
        owner=dict(type='str'),
        holder=dict(type='str'),
        release=dict(type='bool', default=False),
    )),
    step=dict(type='int'),
    require_dispatch_key=dict(type='bool', default=False),
    smoke_retries=dict(type='int', default=3),
    smoke_delay=dict(type='float', default=2.0),
    smoke_timeout=dict(type='int', default=30),
)


def main():
    module = build_module(ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    for option in ('keep_generations', 'smoke_retries', 'smoke_delay'):
        if p[option] < 0:
            module.fail_json(msg='%s must be 0 or more, got %s.' % (option, p[option]))
    if p['smoke_timeout'] <= 0:
        module.fail_json(msg='smoke_timeout must be a positive number of seconds, got %s.' % p['smoke_timeout'])
    client = client_from_module(module)
    # Smoke tests speak to the user API with the service's own key, once per try: no admin key, no retries.
    user_client = ApiNodeClient(p['url'], validate_certs=p['validate_certs'], ca_path=p['ca_path'],
                                client_cert=p['client_cert'], client_key=p['client_key'],
                                timeout=p['smoke_timeout'], retries=0, warn=module.warn,
                                **dict((k, p[k]) for k in ('use_proxy',) if k in p))
    run = ReleaseRun(p, client, user_client, check_mode=module.check_mode, diff=module._diff)
    result, failure = run.run()
    for warning in run.warnings:
        module.warn(warning)
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
