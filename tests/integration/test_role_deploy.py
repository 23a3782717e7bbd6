"""The deploy role through the rolling_deploy playbook, against simulated fleets.

State is always read back out of band: with the official client (``node.admin_client()``) and the
simulators' request logs, never from the playbook's own output alone.
"""

import os

import pytest

ROLLING_DEPLOY = "dss.apinode.rolling_deploy"
FEATURES = {"age": 42, "plan": "gold", "monthly_charges": 70.5, "tenure_months": 12}


def deploy_vars(manifest, version, **service):
    package = next(p for p in manifest["packages"] if p["version"] == version)
    service.setdefault("smoke_tests", [{"endpoint": "predict", "features": FEATURES}])
    service.update(id=package["service"], package=package["path"])
    return {
        "apinode_deploy_services": [service],
        "apinode_deploy_code_envs": [{"path": env["path"]} for env in manifest["code_envs"]],
        "apinode_deploy_models": [{"path": model["path"]} for model in manifest["models"]],
    }


def served(node, service="churn"):
    """(enabled, active mapping) of a service as the node itself reports it."""
    for item in node.admin_client().list_services():
        if item["serviceId"] == service:
            return item["enabled"], item.get("activeMapping")
    return None


def generations(node, service="churn"):
    return sorted(g["generationId"] for g in node.admin_client().service(service).list_generations())


@pytest.fixture
def churn(make_bundle):
    return make_bundle(services=["churn"], versions=["v1", "v2"], code_envs=["churn-py"], models=["churn-model"])


def test_rollout_then_unchanged_rerun_sends_nothing(sim_fleet, churn, run_playbook):
    fleet = sim_fleet(nodes=3)
    first = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(churn, "v1"))
    assert first.rc == 0, first.output
    for node in fleet.nodes:
        enabled, mapping = served(node)
        assert enabled and mapping["generation"] == "v1", (node.name, mapping)
        prediction = node.user_client("churn").predict_record("predict", FEATURES)
        assert prediction["apiContext"]["serviceGeneration"] == "v1"
        node.clear_requests()

    again = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(churn, "v1"))
    assert again.rc == 0, again.output
    assert again.changed_count == 0, [t["task"] for t in again.tasks if t["status"] == "changed"]
    assert "Already serves the release: left alone." in again.output
    for node in fleet.nodes:
        assert again.task("Compare the node with the release", node.name)["ansible_facts"]["apinode_deploy_drift"] == []
        # The preflight read is all: no lock, no copy, and not a single write or prediction reached the node.
        assert not again.ran("Take the run lock of this node", node.name)
        assert not again.ran("Copy the service packages", node.name)
        assert {r["method"] for r in node.requests()} == {"GET"}, (node.name, node.requests())
        assert not os.path.exists(os.path.join(node.data_dir, "dss-apinode-staging", ".deploy.lock"))


def test_rerun_with_skip_current_false_runs_every_phase(sim_fleet, churn, run_playbook):
    fleet = sim_fleet(nodes=1)
    assert run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(churn, "v1")).rc == 0
    for node in fleet.nodes:
        node.clear_requests()

    again = run_playbook(ROLLING_DEPLOY, inventory=fleet,
                         extra_vars=dict(deploy_vars(churn, "v1"), apinode_deploy_skip_current=False))

    assert again.rc == 0, again.output
    assert again.changed_count == 0, [t["task"] for t in again.tasks if t["status"] == "changed"]
    for node in fleet.nodes:
        assert not again.task("Copy the service packages", node.name)["changed"]
        # Every phase ran: the smoke test reached the node, but no admin write did.
        assert any(r["path"] == "/public/api/v1/churn/predict/predict" for r in node.requests()), node.name
        assert [r for r in node.mutating_requests() if not r["path"].startswith("/public/api/")] == []


def test_drift_on_one_node_is_named_and_only_that_node_is_rolled_out(sim_fleet, churn, run_playbook):
    fleet = sim_fleet(nodes=2)
    assert run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(churn, "v1")).rc == 0
    node2 = fleet.node("node2")
    node2.admin_client().service("churn").disable()
    for node in fleet.nodes:
        node.clear_requests()

    again = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(churn, "v1"))

    assert again.rc == 0, again.output
    drift = again.task("Compare the node with the release", "node2")["ansible_facts"]["apinode_deploy_drift"]
    # Disabling a service also unloads its generation: both are named.
    assert any("disabled" in line for line in drift) and all("churn" in line for line in drift), drift
    assert served(node2)[0] is True, "node2 was not enabled again"
    assert node2.mutating_requests(), "node2 was not rolled out"
    assert {r["method"] for r in fleet.node("node1").requests()} == {"GET"}


def test_changed_code_env_content_is_drift_and_imported_again(sim_fleet, churn, run_playbook):
    fleet = sim_fleet(nodes=1)
    node = fleet.nodes[0]
    assert run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(churn, "v1")).rc == 0
    env_dir = churn["code_envs"][0]["path"]
    with open(os.path.join(env_dir, "spec", "requirements.txt"), "a") as handle:
        handle.write("\n# pinned again\n")
    node.clear_requests()

    again = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(churn, "v1"))

    assert again.rc == 0, again.output
    drift = again.task("Compare the node with the release")["ansible_facts"]["apinode_deploy_drift"]
    assert len(drift) == 1 and os.path.basename(env_dir) in drift[0], drift
    posts = [r["path"] for r in node.mutating_requests()]
    assert any("cached-code-envs" in p for p in posts), posts
    assert not any("import" in p for p in posts), posts  # the generation was already there


def test_failed_smoke_test_on_node2_rolls_every_switched_node_back(sim_fleet, churn, run_playbook):
    fleet = sim_fleet(nodes=3)
    assert run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(churn, "v1")).rc == 0
    node2 = fleet.node("node2")
    node2.add_fault(method="POST", path="^/public/api/v1/churn/predict/predict$", status=500,
                    body={"errorType": "com.dataiku.lambda.ModelLoadException", "message": "model failed to load"})

    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(churn, "v2"))

    assert result.rc != 0
    assert result.failed_hosts == ["node2"], result.failed_hosts
    assert "node2" in result.output and "endpoint predict" in result.output
    assert "model failed to load" in result.output
    # node1 switched in the first batch, node2 and node3 in the second: all are back on v1, and
    # nothing else moved (v2 stays imported, as staged, ready for the next attempt).
    for node in fleet.nodes:
        enabled, mapping = served(node)
        assert enabled and mapping.get("generation") == "v1" and not mapping.get("entries"), (node.name, mapping)
        assert generations(node) == ["v1", "v2"]
        assert not os.path.exists(os.path.join(node.data_dir, "dss-apinode-staging", ".deploy.lock"))
    rolled_back = result.results("Roll back the nodes that switched, to exactly what they served before")
    assert len(rolled_back) == 1  # run once for the fleet


def test_check_mode_on_a_bare_fleet_reports_changes_and_sends_no_write(sim_fleet, churn, run_playbook):
    fleet = sim_fleet(nodes=2)
    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(churn, "v1"), check=True)
    assert result.rc == 0, result.output
    assert result.changed_count > 0
    for node in fleet.nodes:
        assert node.mutating_requests() == [], node.name
        assert node.admin_client().list_services() == []
        assert not os.path.exists(os.path.join(node.data_dir, "dss-apinode-staging"))


def test_a_held_lock_stops_the_run_before_anything_is_copied(sim_fleet, churn, run_playbook):
    fleet = sim_fleet(nodes=3)
    lock = os.path.join(fleet.node("node2").data_dir, "dss-apinode-staging", ".deploy.lock")
    os.makedirs(lock)
    with open(os.path.join(lock, "holder"), "w") as handle:
        handle.write("alice from ci-runner-7, since 2026-01-01T00:00:00Z\n")

    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(churn, "v1"))

    assert result.rc != 0
    assert "node2" in result.failed_hosts
    assert "alice from ci-runner-7" in result.output and "rm -r" in result.output
    assert os.path.isdir(lock), "another run's lock must never be removed"
    for node in fleet.nodes:
        assert node.admin_client().list_services() == [], node.name
        if node.name != "node2":
            own_lock = os.path.join(node.data_dir, "dss-apinode-staging", ".deploy.lock")
            assert not os.path.exists(own_lock), node.name
            assert os.listdir(os.path.join(node.data_dir, "dss-apinode-staging")) == []


def test_retention_keeps_the_newest_and_the_rollback_target(sim_fleet, make_bundle, run_playbook):
    fleet = sim_fleet(nodes=1)
    churn = make_bundle(services=["churn"], versions=["v1", "v2", "v3"])
    for version in ("v1", "v2", "v3"):
        extra = dict(deploy_vars(churn, version), apinode_deploy_keep_generations=1)
        result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=extra)
        assert result.rc == 0, result.output
    node = fleet.node("node1")
    # v3 is the newest and serves; v2 is what v3 replaced (the rollback target); v1 had to go.
    assert generations(node) == ["v2", "v3"]
    assert served(node)[1]["generation"] == "v3"
    deleted = result.task("Delete the generations beyond retention", "node1")["results"]
    assert [r["item"] for r in deleted if r.get("changed")] == [{"service": "churn", "generation": "v1"}]
