"""The deploy role through the rolling_deploy playbook, against simulated fleets.

State is always read back out of band: with the official client (``node.admin_client()``), the
simulators' request logs and the staging folders on the nodes' disks, never from the playbook's own
output alone.
"""

import json
import os

import pytest

from harness import install, packages_of, serve_everywhere, write_fleet_inventory

ROLLING_DEPLOY = "dss.apinode.rolling_deploy"
FEATURES = {"age": 42, "plan": "gold", "monthly_charges": 70.5, "tenure_months": 12}

# Task names of the role, as the recorder sees them.
PLAN = "Plan the release on this node"
STAGE = "Stage the release (copy, import, preload; traffic untouched)"
ACTIVATE = "Switch the services and smoke-test the node"
RETAIN = "Delete the generations beyond retention"
ROLLBACK = "Roll back, to exactly what the nodes served before"
LEFT_ALONE = "Already serves the release: left alone."


def deploy_vars(manifest, version, **service):
    package = packages_of(manifest, version=version)[0]
    service.setdefault("smoke_tests", [{"endpoint": "predict", "features": FEATURES}])
    service.setdefault("new", True)  # the first rollout creates the service on purpose
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


def staging_dir(node):
    return os.path.join(node.data_dir, "dss-apinode-staging")


def lock_dir(node):
    return os.path.join(staging_dir(node), ".deploy.lock")


def staged_package(node, service, generation, file_name):
    """Where the role stages a package on the node: a path of its own per service and generation."""
    return os.path.join(staging_dir(node), "packages", service, generation, file_name)


def tasks_on(result, host):
    """How many tasks the run ran or skipped on ``host``."""
    return sum(1 for t in result.tasks if t["host"] == host)


def admin_writes(node):
    return [r for r in node.mutating_requests() if not r["path"].startswith("/public/api/")]


@pytest.fixture
def churn(make_bundle):
    return make_bundle(services=["churn"], versions=["v1", "v2"], code_envs=["churn-py"], models=["churn-model"])


def test_rollout_then_unchanged_rerun_sends_nothing(sim_fleet, churn, run_playbook):
    fleet = sim_fleet(nodes=3)
    first = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(churn, "v1"))
    assert first.rc == 0, first.output
    staged = {}
    for node in fleet.nodes:
        enabled, mapping = served(node)
        assert enabled and mapping["generation"] == "v1", (node.name, mapping)
        prediction = node.user_client("churn").predict_record("predict", FEATURES)
        assert prediction["apiContext"]["serviceGeneration"] == "v1"
        staged[node.name] = os.stat(staged_package(node, "churn", "v1", "churn_v1.zip")).st_mtime_ns
        assert not os.path.exists(lock_dir(node)), node.name  # released by the last play
        node.clear_requests()
    # The tasks per node that the role's README gives (node3 runs no run_once task).
    assert tasks_on(first, "node3") == 24, [t["task"] for t in first.tasks if t["host"] == "node3"]

    again = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(churn, "v1"))
    assert again.rc == 0, again.output
    assert again.changed_count == 0, [t["task"] for t in again.tasks if t["status"] == "changed"]
    assert LEFT_ALONE in again.output
    assert tasks_on(again, "node3") == 10, [t["task"] for t in again.tasks if t["host"] == "node3"]
    # The release still marks churn new although every node has it now: the run says to remove the mark.
    stale = "Warning: churn is marked new: true, and every node of the play has it already"
    assert stale not in " ".join(first.output.split()) and stale in " ".join(again.output.split())
    for node in fleet.nodes:
        plan = again.task(PLAN, node.name)
        assert plan["drift"] == [] and plan["current"] is True, plan["drift"]
        # The preflight read is all: no phase ran, so no lock, no copy, and not a single write or
        # prediction reached the node.
        for phase in (STAGE, ACTIVATE, RETAIN):
            assert not again.ran(phase, node.name), (phase, node.name)
        assert {r["method"] for r in node.requests()} == {"GET"}, (node.name, node.requests())
        assert not os.path.exists(lock_dir(node))
        assert os.stat(staged_package(node, "churn", "v1", "churn_v1.zip")).st_mtime_ns == staged[node.name]


def test_rerun_with_skip_current_false_runs_every_phase(sim_fleet, churn, run_playbook):
    fleet = sim_fleet(nodes=1)
    node = fleet.nodes[0]
    assert run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(churn, "v1")).rc == 0
    package = staged_package(node, "churn", "v1", "churn_v1.zip")
    copied_at = os.stat(package).st_mtime_ns
    node.clear_requests()

    again = run_playbook(ROLLING_DEPLOY, inventory=fleet,
                         extra_vars=dict(deploy_vars(churn, "v1"), apinode_deploy_skip_current=False))

    assert again.rc == 0, again.output
    assert again.changed_count == 0, [t["task"] for t in again.tasks if t["status"] == "changed"]
    for phase in (STAGE, ACTIVATE, RETAIN):
        assert again.ran(phase, node.name), phase
    assert not again.task(STAGE, node.name)["changed"]
    assert os.stat(package).st_mtime_ns == copied_at  # not copied again
    # Every phase ran: the smoke test reached the node, but no admin write did.
    assert any(r["path"] == "/public/api/v1/churn/predict/predict" for r in node.requests()), node.requests()
    assert admin_writes(node) == []
    assert not os.path.exists(lock_dir(node))


def test_drift_on_one_node_is_named_and_only_that_node_is_rolled_out(sim_fleet, churn, run_playbook):
    fleet = sim_fleet(nodes=2)
    assert run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(churn, "v1")).rc == 0
    node2 = fleet.node("node2")
    node2.admin_client().service("churn").disable()
    for node in fleet.nodes:
        node.clear_requests()

    again = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(churn, "v1"))

    assert again.rc == 0, again.output
    drift = again.task(PLAN, "node2")["drift"]
    # Disabling a service also unloads its generation: both are named.
    assert any("disabled" in line for line in drift) and all("churn" in line for line in drift), drift
    assert again.task(PLAN, "node1")["drift"] == []
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
    old_envs = os.listdir(os.path.join(staging_dir(node), "code-envs"))

    again = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(churn, "v1"))

    assert again.rc == 0, again.output
    drift = again.task(PLAN)["drift"]
    assert len(drift) == 1 and os.path.basename(env_dir) in drift[0], drift
    posts = [r["path"] for r in node.mutating_requests()]
    assert any("cached-code-envs" in p for p in posts), posts
    assert not any("import" in p for p in posts), posts  # the generation was already there
    # The new content has a staging folder of its own; retention removed the old one, which nothing needs.
    envs = os.listdir(os.path.join(staging_dir(node), "code-envs"))
    assert len(envs) == 1 and len(old_envs) == 1 and envs != old_envs, (old_envs, envs)


def test_failed_smoke_test_on_node2_rolls_every_switched_node_back(sim_fleet, churn, run_playbook):
    fleet = sim_fleet(nodes=3)
    serve_everywhere(fleet, churn, "v1")
    before = {node.name: served(node) for node in fleet.nodes}
    node2 = fleet.node("node2")
    node2.add_fault(method="POST", path="^/public/api/v1/churn/predict/predict$", status=500,
                    body={"errorType": "com.dataiku.lambda.ModelLoadException", "message": "model failed to load"})
    for node in fleet.nodes:
        node.clear_requests()

    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(churn, "v2"))

    assert result.rc != 0
    assert result.failed_hosts == ["node2"], result.failed_hosts
    assert "node2" in result.output and "endpoint predict" in result.output
    assert "model failed to load" in result.output
    # node1 switched in the first batch, node2 and node3 in the second: all are back to exactly
    # what they served, and nothing else moved (v2 stays imported, as staged, ready for the next attempt).
    for node in fleet.nodes:
        assert served(node) == before[node.name], node.name
        assert before[node.name][1]["generation"] == "v1"
        switches = [r for r in node.mutating_requests() if r["path"].endswith("/actions/setMapping")]
        assert len(switches) == 2, (node.name, switches)  # to v2, then back
        assert generations(node) == ["v1", "v2"]
        assert not os.path.exists(lock_dir(node))
    rolled_back = result.results(ROLLBACK)
    assert len(rolled_back) == 1  # run once for the fleet
    put_back = [r["item"] for r in next(iter(rolled_back.values()))["results"] if r.get("changed")]
    assert sorted(put_back) == ["node1", "node2", "node3"]


def fail_predictions(node):
    node.add_fault(method="POST", path="^/public/api/v1/churn/predict/predict$", status=500,
                   body={"errorType": "com.dataiku.lambda.ModelLoadException", "message": "model failed to load"})


def test_isolate_in_rolling_deploy_puts_back_the_failed_node_and_releases_every_lock(sim_fleet, make_bundle, run_playbook,
                                                                                     tmp_path):
    """isolate in the inventory, batches of two, node2 fails: rolling_deploy stops at a failure (max_fail_percentage
    0); node2 alone goes back, node1 keeps the release, node3 and node4 keep v1, and no run lock stays (they were
    left on node1, node3 and node4)."""
    fleet = sim_fleet(nodes=4)
    churn = make_bundle(services=["churn"], versions=["v1", "v2"])
    serve_everywhere(fleet, churn, "v1")
    fail_predictions(fleet.node("node2"))
    inventory = write_fleet_inventory(fleet, tmp_path / "inventory.json", apinode_deploy_on_failure="isolate")

    release = dict(deploy_vars(churn, "v2"), apinode_deploy_serial=[2])
    result = run_playbook(ROLLING_DEPLOY, inventory=inventory, extra_vars=release)

    assert result.rc == 2
    assert result.failed_hosts == ["node2"], result.failed_hosts
    for node in fleet.nodes:
        assert served(node)[1]["generation"] == ("v2" if node.name == "node1" else "v1"), node.name
        assert not os.path.exists(lock_dir(node)), node.name


def test_isolate_when_the_canary_fails_releases_every_lock(sim_fleet, make_bundle, run_playbook):
    """The canary (node1) fails: a batch whose nodes all failed ends the play; node2 and node3, staged, keep
    serving v1 and hold no lock."""
    fleet = sim_fleet(nodes=3)
    churn = make_bundle(services=["churn"], versions=["v1", "v2"])
    serve_everywhere(fleet, churn, "v1")
    fail_predictions(fleet.node("node1"))

    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=dict(
        deploy_vars(churn, "v2"), apinode_deploy_on_failure="isolate"))

    assert result.rc == 2
    assert result.failed_hosts == ["node1"], result.failed_hosts
    for node in fleet.nodes:
        assert served(node)[1]["generation"] == "v1", node.name
        assert not os.path.exists(lock_dir(node)), node.name


# The role in a play of one's own, one phase per run (-e phase=...).
ONE_PHASE_PLAY = """
- name: One phase of the release
  hosts: apinodes
  gather_facts: false
  tasks:
    - name: Deploy
      ansible.builtin.include_role:
        name: dss.apinode.deploy
      vars:
        apinode_deploy_phase: "{{ phase }}"
"""


def test_isolate_in_one_play_puts_back_the_failed_node_alone_and_reports_once(sim_fleet, make_bundle, run_playbook):
    """The role's default phase (all) with isolate: node1 already serves v2, node2 fails its smoke test."""
    fleet = sim_fleet(nodes=3)
    churn = make_bundle(services=["churn"], versions=["v1", "v2"])
    serve_everywhere(fleet, churn, "v1")
    node1, node2, node3 = fleet.nodes
    install(node1, "churn", packages_of(churn, "churn", "v2"), switch_to="v2")
    node2.add_fault(method="POST", path="^/public/api/v1/churn/predict/predict$", status=500,
                    body={"errorType": "com.dataiku.lambda.ModelLoadException", "message": "model failed to load"})

    result = run_playbook(ONE_PHASE_PLAY, inventory=fleet, extra_vars=dict(deploy_vars(churn, "v2"), phase="all",
                                                                           apinode_deploy_on_failure="isolate"))

    assert result.rc != 0
    assert result.failed_hosts == ["node2"], result.failed_hosts
    assert "model failed to load" in result.output
    assert served(node1)[1]["generation"] == "v2" and admin_writes(node1) == []  # current: only read
    assert served(node2)[1]["generation"] == "v1"  # back to what it served
    assert served(node3)[1]["generation"] == "v2"  # isolate: the others keep the release
    put_back = [r["item"] for r in next(iter(result.results(ROLLBACK).values()))["results"] if r.get("changed")]
    assert put_back == ["node2"]
    # One report for the run, from the gate, although node1 did not run the phase that failed.
    reports = [t for t in result.tasks if t["task"].endswith("Show the run report") and t["status"] != "skipped"]
    assert len(reports) == 1, reports


ONE_AT_A_TIME = """
- name: Roll the release out one node at a time
  hosts: apinodes
  gather_facts: false
  serial: 1
  tasks:
    - name: Deploy
      ansible.builtin.include_role:
        name: dss.apinode.deploy
"""


@pytest.mark.core_sensitive  # run_once on an include_tasks
def test_a_play_in_serial_batches_reports_once_at_its_end(sim_fleet, churn, run_playbook):
    """Phase all, one node per batch: one report, after the last batch, with every node (each batch printed its
    own before, the first naming the others "not reached")."""
    fleet = sim_fleet(nodes=3)

    result = run_playbook(ONE_AT_A_TIME, inventory=fleet, extra_vars=deploy_vars(churn, "v1"))

    assert result.rc == 0, result.output
    reports = [t for t in result.tasks if t["task"].endswith("Show the run report") and t["status"] != "skipped"]
    assert len(reports) == 1, reports
    assert reports[0]["host"] == "node3"
    assert reports[0]["result"]["msg"][0] == "Rollout ok: 3 nodes - 3 changed"


# A play that reads the fleet (phase status), before or after a rollout play of the same run.
STATUS_PLAY = """
- name: Read the fleet
  hosts: apinodes
  gather_facts: false
  tasks:
    - name: Status
      ansible.builtin.include_role:
        name: dss.apinode.deploy
      vars:
        apinode_deploy_phase: status
"""

STATUS_THEN_TWO_AT_A_TIME = STATUS_PLAY + """
- name: Roll the release out two nodes at a time
  hosts: apinodes
  gather_facts: false
  serial: 2
  tasks:
    - name: Deploy
      ansible.builtin.include_role:
        name: dss.apinode.deploy
"""


@pytest.mark.core_sensitive  # how any_errors_fatal ends the play and sets the exit code
def test_own_plays_after_a_status_play_roll_the_batch_back_and_stop(sim_fleet, make_bundle, run_playbook):
    """serial 2 on 4 nodes, after a status play: node1 already serves v2 and node2 fails its smoke test. node2
    goes back, and the run stops, failed, before the second batch (node3, node4) changes anything."""
    fleet = sim_fleet(nodes=4)
    churn = make_bundle(services=["churn"], versions=["v1", "v2"])
    serve_everywhere(fleet, churn, "v1")
    node1, node2, node3, node4 = fleet.nodes
    install(node1, "churn", packages_of(churn, "churn", "v2"), switch_to="v2")
    node2.add_fault(method="POST", path="^/public/api/v1/churn/predict/predict$", status=500,
                    body={"errorType": "com.dataiku.lambda.ModelLoadException", "message": "model failed to load"})

    result = run_playbook(STATUS_THEN_TWO_AT_A_TIME, inventory=fleet, extra_vars=deploy_vars(churn, "v2"))

    assert result.rc == 2  # was 0: meta end_play after the failure reset the nodes' failed state
    assert result.failed_hosts == ["node2"], result.failed_hosts
    assert "Rollout FAILED" in " ".join(result.task("Show the run report", "node1")["msg"])
    assert served(node1)[1]["generation"] == "v2" and admin_writes(node1) == []  # current: only read
    assert served(node2)[1]["generation"] == "v1"  # put back with the connection its plan kept
    for node in (node3, node4):
        assert served(node)[1]["generation"] == "v1" and admin_writes(node) == [], node.name


WRAPPED_TWO_AT_A_TIME = """
- name: Roll the release out two nodes at a time, the role in a block
  hosts: apinodes
  gather_facts: false
  serial: 2
  tasks:
    - name: Deploy, and say so when it fails
      block:
        - name: Deploy
          ansible.builtin.include_role:
            name: dss.apinode.deploy
      rescue:
        - name: Say it failed
          ansible.builtin.debug:
            msg: rescued
      ignore_errors: "{{ ignore | default(false) }}"
""" + STATUS_PLAY


@pytest.mark.core_sensitive  # how rescue and ignore_errors meet any_errors_fatal
@pytest.mark.parametrize("ignore", [False, True], ids=["rescue", "ignore_errors"])
def test_a_rescued_or_ignored_failure_still_stops_the_rollout(sim_fleet, make_bundle, run_playbook, ignore):
    """The role in a block with a rescue (or ignore_errors): node2 fails its smoke test, the first batch goes back,
    and the second batch (node3, node4) changes nothing although the play goes on."""
    fleet = sim_fleet(nodes=4)
    churn = make_bundle(services=["churn"], versions=["v1", "v2"])
    serve_everywhere(fleet, churn, "v1")
    node1, node2, node3, node4 = fleet.nodes
    node2.add_fault(method="POST", path="^/public/api/v1/churn/predict/predict$", status=500,
                    body={"errorType": "com.dataiku.lambda.ModelLoadException", "message": "model failed to load"})

    result = run_playbook(WRAPPED_TWO_AT_A_TIME, inventory=fleet, extra_vars=dict(deploy_vars(churn, "v2"), ignore=ignore))

    for node in (node1, node2):
        assert served(node)[1]["generation"] == "v1", node.name  # put back
    for node in (node3, node4):
        assert served(node)[1]["generation"] == "v1" and admin_writes(node) == [], node.name
    last = [t for t in result.tasks if t["task"].endswith("Show the run report") and t["status"] != "skipped"][-1]
    for node in ("node3", "node4"):
        assert any(line.startswith("%s: not reached - the rollout stopped before this node" % node)
                   for line in last["result"]["msg"]), last["result"]["msg"]
    # The status play reads the nodes; it does not judge the rollout's results again (it ran the gate once more,
    # and crashed in its rollback).
    gates = [t for t in result.tasks if t["task"].endswith("Roll back, to exactly what the nodes served before")]
    assert len(gates) == 1, gates
    for node in ("node3", "node4"):
        assert result.status("Read the node and compare it with the release", node) == "ok", node


def test_check_mode_on_a_bare_fleet_reports_changes_and_sends_no_write(sim_fleet, churn, run_playbook, tmp_path):
    fleet = sim_fleet(nodes=2)
    report = tmp_path / "plan.md"
    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, check=True,
                          extra_vars=dict(deploy_vars(churn, "v1"), apinode_deploy_report_file=str(report)))
    assert result.rc == 0, result.output
    assert result.changed_count > 0
    # Not even the report file on the controller: the report says where it would go.
    assert not report.exists()
    lines = result.task("Show the run report")["msg"]
    assert lines[0] == "Check mode, nothing is changed. Rollout plan ok: 2 nodes - 2 planned"
    assert lines[-1] == "Check mode: the report would be written to %s; nothing was written." % report
    for node in fleet.nodes:
        assert result.task(PLAN, node.name)["drift"], node.name
        assert node.mutating_requests() == [], node.name
        assert node.admin_client().list_services() == []
        assert not os.path.exists(staging_dir(node))


def test_a_held_lock_stops_the_run_before_anything_is_copied(sim_fleet, churn, run_playbook):
    fleet = sim_fleet(nodes=3)
    lock = lock_dir(fleet.node("node2"))
    os.makedirs(lock)
    holder = {"owner": "ci-runner-7:4242:1234567", "holder": "alice from ci-runner-7", "since": "2026-01-01T00:00:00Z"}
    with open(os.path.join(lock, "holder.json"), "w") as handle:
        json.dump(holder, handle)

    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(churn, "v1"))

    assert result.rc != 0
    assert "node2" in result.failed_hosts
    assert "alice from ci-runner-7" in result.output and "rm -r" in result.output
    assert os.path.isdir(lock), "another run's lock must never be removed"
    with open(os.path.join(lock, "holder.json")) as handle:
        assert json.load(handle) == holder
    for node in fleet.nodes:
        assert node.admin_client().list_services() == [], node.name
        assert node.mutating_requests() == [], node.name
        if node.name != "node2":
            assert not os.path.exists(lock_dir(node)), node.name
            # Nothing was copied: the staging folder is not even there.
            assert not os.path.exists(staging_dir(node)) or os.listdir(staging_dir(node)) == [], node.name
    assert os.listdir(staging_dir(fleet.node("node2"))) == [".deploy.lock"]


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
    retained = result.task(RETAIN, "node1")
    assert retained["changed"] is True
    deleted = [(s["service"], s["generation"]) for s in retained["plan"] if s["action"] == "delete_generation"]
    assert deleted == [("churn", "v1")]
    deletes = [r["path"] for r in node.mutating_requests() if r["method"] == "DELETE"]
    assert deletes == ["/admin/api/services/churn/generations/v1"], deletes
    # The staging folder is pruned the same way: v1's package is gone, the rollback target's kept.
    assert sorted(os.listdir(os.path.join(staging_dir(node), "packages", "churn"))) == ["v2", "v3"]
    assert os.path.exists(staged_package(node, "churn", "v2", "churn_v2.zip"))
