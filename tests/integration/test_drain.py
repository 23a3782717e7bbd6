"""The deploy role takes each node out of its load balancer around its switch (``apinode_deploy_drain``).

A node is out of its pool while its not-alive flag file exists: ``/isAlive/`` answers 503, which is
what a load balancer probes. The simulated nodes log, with every request, whether the node was out at
that moment (``not_alive``), so the request logs show where each switch and smoke test happened.
"""

import json
import os
import urllib.error
import urllib.request

import pytest

from ansible_collections.dss.apinode.plugins.module_utils._drain import write_flag
from harness import packages_of, serve_everywhere
from test_role_deploy import FEATURES, PLAN, ROLLING_DEPLOY, lock_dir, served

SET_MAPPING = "/admin/api/services/churn/actions/setMapping"
SMOKE_TEST = "/public/api/v1/churn/predict/predict"
FLAG = "apinode-not-alive.txt"


@pytest.fixture
def churn(make_bundle):
    return make_bundle(services=["churn"], versions=["v1", "v2"])


def release(manifest, version, **extra):
    package = packages_of(manifest, version=version)[0]
    # new: the first rollout creates the service on purpose.
    variables = {"apinode_deploy_services": [{"id": "churn", "package": package["path"], "new": True,
                                              "smoke_tests": [{"endpoint": "predict", "features": FEATURES}]}],
                 "apinode_deploy_smoke_retries": 1, "apinode_deploy_smoke_delay": 0}
    variables.update(extra)
    return variables


def is_alive(node):
    """The status of ``GET /isAlive/``, as a load balancer probes it."""
    try:
        with urllib.request.urlopen(node.url + "/isAlive/", timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as err:
        return err.code


def logged(node, path):
    """``not_alive`` of each request to ``path``, in order."""
    return [r["not_alive"] for r in node.requests() if r["path"] == path]


def flag_file(node):
    return os.path.join(node.data_dir, FLAG)


def test_each_node_switches_and_is_smoke_tested_out_of_its_pool(sim_fleet, churn, run_playbook):
    fleet = sim_fleet(nodes=3)
    serve_everywhere(fleet, churn, "v1")

    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=release(
        churn, "v2", apinode_deploy_drain=True, apinode_deploy_drain_seconds=0.2))

    assert result.rc == 0, result.output
    for node in fleet.nodes:
        assert served(node)[1]["generation"] == "v2"
        # The import happened in the pool (traffic untouched); the switch and the smoke test out of it.
        assert logged(node, "/admin/api/services/churn/generations/actions/importFromArchive") == [False]
        assert logged(node, SET_MAPPING) == [True], node.name
        assert logged(node, SMOKE_TEST) and all(logged(node, SMOKE_TEST)), node.name
        assert is_alive(node) == 200 and not os.path.exists(flag_file(node)), node.name
        # The retention that followed ran back in the pool.
        assert all(not r["not_alive"] for r in node.requests() if r["method"] == "DELETE")


def test_a_node_that_fails_its_smoke_test_is_rolled_back_before_it_rejoins(sim_fleet, churn, run_playbook):
    fleet = sim_fleet(nodes=3)
    serve_everywhere(fleet, churn, "v1")
    before = {node.name: served(node) for node in fleet.nodes}
    node2 = fleet.node("node2")
    node2.add_generation_fault("churn", "v2", status=500, body={"message": "model failed to load"})
    for node in fleet.nodes:
        node.clear_requests()

    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=release(churn, "v2", apinode_deploy_drain=True))

    assert result.rc != 0
    assert result.failed_hosts == ["node2"]
    # node2 switched to v2 and back to v1 while out of its pool: it never served v2 to the pool.
    assert logged(node2, SET_MAPPING) == [True, True]
    assert logged(node2, SMOKE_TEST) and all(logged(node2, SMOKE_TEST))
    assert result.task("Switch the services and smoke-test the node", "node2")["rolled_back"] is True
    for node in fleet.nodes:
        assert served(node) == before[node.name], node.name
        assert is_alive(node) == 200 and not os.path.exists(flag_file(node)), node.name
        assert not os.path.exists(lock_dir(node))
        assert logged(node, SET_MAPPING)[0] is True, node.name  # every node's switch to v2 was drained


@pytest.mark.core_sensitive
def test_api_transport_drains_through_the_admin_api(sim_fleet, churn, run_playbook, fleet_inventory, tmp_path):
    fleet = sim_fleet(nodes=2)
    inventory = fleet_inventory(fleet, tmp_path / "inventory.json")
    for node in fleet.nodes:
        node.clear_requests()

    result = run_playbook(ROLLING_DEPLOY, inventory=inventory, extra_vars=release(
        churn, "v1", apinode_deploy_transport="api", apinode_deploy_drain=True))

    assert result.rc == 0, result.output
    for node in fleet.nodes:
        order = [(r["path"], r["not_alive"]) for r in node.requests()
                 if r["path"] in ("/admin/api/set-not-alive", SET_MAPPING, "/admin/api/set-alive")]
        assert order == [("/admin/api/set-not-alive", False), (SET_MAPPING, True), ("/admin/api/set-alive", True)]
        assert all(logged(node, SMOKE_TEST))
        assert is_alive(node) == 200


def test_a_node_left_drained_by_an_interrupted_rollout_is_put_back(sim_fleet, churn, run_playbook):
    fleet = sim_fleet(nodes=2)
    serve_everywhere(fleet, churn, "v1")
    node1, node2 = fleet.nodes
    # What a rollout killed during node1's switch leaves behind: node1 drained by dss.apinode.
    write_flag(flag_file(node1), "ctl:4242:1234", "alice from ci-runner-7")
    assert is_alive(node1) == 503
    for node in fleet.nodes:
        node.clear_requests()

    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=release(churn, "v1"))

    assert result.rc == 0, result.output
    plan = result.task(PLAN, "node1")
    assert plan["drained"]["by"] == "dss.apinode" and plan["drained"]["owner"] == "ctl:4242:1234"
    assert [s["action"] for s in plan["plan"]] == ["undrain"]
    assert any("interrupted rollout" in line and "alice from ci-runner-7" in line for line in plan["drift"])
    assert is_alive(node1) == 200 and not os.path.exists(flag_file(node1))
    assert served(node1)[1]["generation"] == "v1"
    assert not any(r["path"] == SET_MAPPING for r in node1.requests())  # it served the release already
    # node2 was not touched.
    assert result.task(PLAN, "node2")["current"] is True
    assert {r["method"] for r in node2.requests()} == {"GET"}


def test_an_interrupted_run_s_lock_is_named_first_then_the_node_is_put_back(sim_fleet, churn, run_playbook):
    fleet = sim_fleet(nodes=1)
    node = fleet.nodes[0]
    serve_everywhere(fleet, churn, "v1")
    # A rollout killed during the switch leaves its lock (held from stage to retain) and its flag.
    owner, holder = "ctl:4242:1234", "alice from ci-runner-7"
    os.makedirs(lock_dir(node))
    with open(os.path.join(lock_dir(node), "holder.json"), "w") as handle:
        json.dump({"owner": owner, "holder": holder, "since": "2026-01-01T00:00:00Z"}, handle)
    write_flag(flag_file(node), owner, holder)
    node.clear_requests()

    refused = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=release(churn, "v1", apinode_deploy_drain=True))

    assert refused.rc != 0 and holder in refused.output and "rm -r" in refused.output
    assert refused.task(PLAN)["drained"]["by"] == "dss.apinode"
    assert node.mutating_requests() == [] and is_alive(node) == 503  # the run stopped before any change

    os.remove(os.path.join(lock_dir(node), "holder.json"))
    os.rmdir(lock_dir(node))  # what the message says to do, once no rollout runs any more
    recovered = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=release(churn, "v1", apinode_deploy_drain=True))

    assert recovered.rc == 0, recovered.output
    assert is_alive(node) == 200 and not os.path.exists(flag_file(node))
    assert not os.path.exists(lock_dir(node))


def test_an_operator_s_flag_is_reported_and_left_alone(sim_fleet, churn, run_playbook):
    fleet = sim_fleet(nodes=1)
    node = fleet.nodes[0]
    serve_everywhere(fleet, churn, "v1")
    with open(flag_file(node), "w") as handle:
        handle.write("maintenance: disk replacement\n")
    node.clear_requests()

    again = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=release(churn, "v1", apinode_deploy_drain=True))

    assert again.rc == 0, again.output
    assert again.task(PLAN)["drained"]["by"] == "someone else"
    assert again.task(PLAN)["current"] is True
    assert is_alive(node) == 503
    with open(flag_file(node)) as handle:
        assert handle.read() == "maintenance: disk replacement\n"
    assert {r["method"] for r in node.requests()} == {"GET"}


HOOK = """
- name: Tell the load balancer ({{ apinode_deploy_drain_state }})
  ansible.builtin.uri:
    url: "{{ apinode_url }}/admin/api/{{ 'set-not-alive' if apinode_deploy_drain_state == 'drained' else 'set-alive' }}"
    method: POST
    headers:
      Authorization: "Basic {{ (apinode_admin_key ~ ':') | b64encode }}"
  no_log: true

- name: Write down the state
  ansible.builtin.shell:
    cmd: echo "$HOST $STATE" >> "$LOG"
  environment:
    HOST: "{{ inventory_hostname }}"
    STATE: "{{ apinode_deploy_drain_state }}"
    LOG: "{{ hook_log }}"
  changed_when: true
"""


@pytest.mark.core_sensitive
def test_the_hook_is_called_drained_then_serving_around_the_switch(sim_fleet, churn, run_playbook, tmp_path):
    fleet = sim_fleet(nodes=2)
    hook = tmp_path / "load_balancer.yml"
    hook.write_text(HOOK)
    hook_log = tmp_path / "hook.log"
    for node in fleet.nodes:
        node.clear_requests()
    hooked = dict(apinode_deploy_drain=True, apinode_deploy_drain_tasks=str(hook), hook_log=str(hook_log))

    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=release(churn, "v1", **hooked))

    assert result.rc == 0, result.output
    lines = hook_log.read_text().splitlines()
    for node in fleet.nodes:
        assert [line for line in lines if line.startswith(node.name + " ")] == [
            node.name + " drained", node.name + " serving"]
        order = [(r["path"], r["not_alive"]) for r in node.requests()
                 if r["path"] in ("/admin/api/set-not-alive", SET_MAPPING, "/admin/api/set-alive")]
        # The module itself drained nothing: the hook did, before the switch, and undid it after.
        assert order == [("/admin/api/set-not-alive", False), (SET_MAPPING, True), ("/admin/api/set-alive", True)]
        assert is_alive(node) == 200

    # A failed smoke test: the hook still puts the node back, after the node went back to v1 out of its pool.
    node1 = fleet.node("node1")
    node1.add_generation_fault("churn", "v2", status=500)
    hook_log.write_text("")
    for node in fleet.nodes:
        node.clear_requests()

    failed = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=release(churn, "v2", **hooked))

    assert failed.rc != 0 and failed.failed_hosts == ["node1"]
    assert hook_log.read_text().splitlines() == ["node1 drained", "node1 serving"]  # node1 was the canary
    assert logged(node1, SET_MAPPING) == [True, True]
    assert served(node1)[1]["generation"] == "v1" and is_alive(node1) == 200
    assert logged(fleet.node("node2"), SET_MAPPING) == []  # staged, never switched
