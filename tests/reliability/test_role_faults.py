"""rolling_deploy under faults: lost, killed and failing nodes, broken packages, revoked keys, stray generations.

Two nodes serve churn v1 (set up out of band); each scenario rolls v2 out with a fault on one node, then
checks the outcome and its message, what every node serves (official client), that the run lock is
gone, that a re-run without the fault converges, and that no secret was printed.
"""

import glob
import os
import re
import time

from reliability_helpers import (
    ROLLING_DEPLOY,
    assert_fleet_serves,
    assert_no_secrets,
    deploy_vars,
    fleet_secrets,
    packages_of,
    run_in_background,
    service_state,
    settle,
    wait_for_request,
)

SET_MAPPING = r"^/admin/api/services/churn/actions/(setMapping|switchTo)"
IMPORT = r"^/admin/api/services/churn/generations/actions/import"
GENERATIONS = r"^/admin/api/services/churn/generations$"


def count(node, method, pattern):
    return sum(1 for r in node.requests() if r["method"] == method and re.search(pattern, r["path"]))


def wait_for(condition, what, run, timeout=300):
    """Poll ``condition`` while the background ``run`` goes on; fail with its output if it ended first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if not run.running():
            raise AssertionError("the run ended before %s:\n%s" % (what, run.join().output[-3000:]))
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.05)


def converge(run_playbook, fleet, manifest, version="v2"):
    """A re-run without faults ends with every node on ``version``; returns the run."""
    for node in fleet.nodes:
        node.clear_faults()
    rerun = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(manifest, version))
    assert rerun.rc == 0, rerun.output[-3000:]
    assert_fleet_serves(fleet, version)
    assert_no_secrets(rerun, fleet_secrets(fleet))
    return rerun


def test_node_unreachable_in_preflight_stops_everything(fleet_on_v1, run_playbook):
    fleet, manifest = fleet_on_v1
    node1, node2 = fleet.nodes
    node2.kill()
    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(manifest, "v2"))
    assert result.rc != 0
    assert "node2" in result.failed_hosts and "refused" in result.output
    assert service_state(node1, "churn")["generations"] == {"v1": True}, "node1 must not even stage"
    assert_no_secrets(result, fleet_secrets(fleet))
    node2.start()
    assert_fleet_serves(fleet, "v1")
    converge(run_playbook, fleet, manifest)


def test_staging_faults_leave_traffic_untouched(fleet_on_v1, run_playbook):
    """node1 drops the import (lost mid-staging); node2's disk is full (ENOSPC, a fault rule)."""
    fleet, manifest = fleet_on_v1
    node1, node2 = fleet.nodes
    node1.add_fault(method="POST", path=IMPORT, drop=True)
    node2.add_fault(method="POST", path=IMPORT, status=500,
                    body={"errorType": "java.io.IOException", "message": "No space left on device"})
    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(manifest, "v2"))
    assert result.rc != 0
    assert result.failed_hosts == ["node1", "node2"]
    assert "No space left on device" in result.output
    assert_fleet_serves(fleet, "v1")
    for node in fleet.nodes:
        assert "v2" not in service_state(node, "churn")["generations"]
        assert not [r for r in settle(node) if r["method"] == "POST" and "setMapping" in r["path"]]
    assert_no_secrets(result, fleet_secrets(fleet))
    converge(run_playbook, fleet, manifest)


def test_node_unreachable_during_activation_rolls_the_fleet_back(fleet_on_v1, run_playbook):
    fleet, manifest = fleet_on_v1
    node1, node2 = fleet.nodes
    node2.add_fault(method="POST", path=SET_MAPPING, drop=True)
    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(manifest, "v2"))
    assert result.rc != 0 and result.failed_hosts == ["node2"]
    assert "node2" in result.output
    # node1 switched in the first batch and went back; node2's switch never reached the service.
    assert_fleet_serves(fleet, "v1")
    switches = [r for r in settle(node1) if r["method"] == "POST" and "setMapping" in r["path"]]
    assert len(switches) == 2, "node1: one switch to v2, one back to v1"
    assert_no_secrets(result, fleet_secrets(fleet))
    converge(run_playbook, fleet, manifest)


def test_node_killed_and_restarted_while_staging(fleet_on_v1, run_playbook, make_bundle):
    fleet, unused_extra = fleet_on_v1
    node2 = fleet.nodes[1]
    manifest = make_bundle(services=["churn"], versions=["v1", "v2"], size_mb=2)
    node2.set_costs(import_seconds_per_mb=5.0)  # about 10 s: killed in the middle
    staged = os.path.join(node2.data_dir, "dss-apinode-staging", "**", "churn_v2.zip")
    run = run_in_background(run_playbook, ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(manifest, "v2"))
    wait_for(lambda: glob.glob(staged, recursive=True), "the package staged on node2", run)
    # After the copy, the stage call reads the node (services, then churn's generations) and POSTs the
    # import (no create: churn is on the node).
    reads = count(node2, "GET", GENERATIONS)
    wait_for(lambda: count(node2, "GET", GENERATIONS) >= reads + 1, "the import task's read on node2", run)
    time.sleep(1.5)  # the import request is now in flight
    node2.kill()
    node2.start()
    result = run.join()
    assert result.rc != 0 and "node2" in result.failed_hosts
    assert "v2" not in service_state(node2, "churn")["generations"], "no half-imported generation"
    assert_fleet_serves(fleet, "v1")
    assert_no_secrets(result, fleet_secrets(fleet))
    converge(run_playbook, fleet, manifest)


def test_node_killed_and_restarted_while_switching(fleet_on_v1, run_playbook):
    fleet, manifest = fleet_on_v1
    node1, node2 = fleet.nodes
    node2.add_fault(method="POST", path=SET_MAPPING, delay=15, count=1)  # the switch hangs; the node dies
    run = run_in_background(run_playbook, ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(manifest, "v2"))
    wait_for_request(node1, "POST", r"^/public/api/v1/churn/predict/", timeout=300)  # batch 1 smoke-tested
    reads = count(node2, "GET", r"^/admin/api/services$")
    wait_for(lambda: count(node2, "GET", r"^/admin/api/services$") > reads, "the switch task's read on node2", run)
    time.sleep(1.5)  # the switch request is now in flight
    node2.kill()
    node2.start()
    result = run.join()
    assert result.rc != 0 and "node2" in result.failed_hosts
    assert_fleet_serves(fleet, "v1")
    assert_no_secrets(result, fleet_secrets(fleet))
    converge(run_playbook, fleet, manifest)


def test_corrupted_package_fails_before_any_switch(fleet_on_v1, run_playbook, make_bundle):
    fleet, good = fleet_on_v1
    broken = make_bundle(services=["churn"], versions=["v2"], corrupted=True)
    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(broken, "v2"))
    assert result.rc != 0 and result.failed_hosts == ["node1", "node2"]
    assert packages_of(broken)[0]["path"].rsplit("/", 1)[-1] in result.output
    for node in fleet.nodes:
        assert not [r for r in settle(node) if r["method"] == "POST" and re.search(IMPORT + "|setMapping", r["path"])]
    assert_fleet_serves(fleet, "v1")
    converge(run_playbook, fleet, good)


def test_failed_smoke_test_on_one_node_of_a_batch(fleet_on_v1, run_playbook):
    """Both nodes in one batch; node2's model fails to answer: both go back to v1."""
    fleet, manifest = fleet_on_v1
    node2 = fleet.nodes[1]
    node2.add_fault(method="POST", path=r"^/public/api/v1/churn/predict/", status=500,
                    body={"errorType": "com.dataiku.lambda.ModelLoadException", "message": "model failed to load"})
    variables = deploy_vars(manifest, "v2", apinode_deploy_serial=["100%"])
    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=variables)
    assert result.rc != 0 and result.failed_hosts == ["node2"]
    assert "model failed to load" in result.output and "predict" in result.output
    assert_fleet_serves(fleet, "v1")
    assert_no_secrets(result, fleet_secrets(fleet))
    converge(run_playbook, fleet, manifest)


def test_alive_node_with_failing_predictions_is_caught(fleet_on_v1, run_playbook, make_bundle):
    """/isAlive/ answers 200 while the new model fails every prediction: the smoke test catches it."""
    fleet, good = fleet_on_v1
    node1 = fleet.nodes[0]
    broken = make_bundle(services=["churn"], versions=["v2"], failing_endpoints=["churn:v2:predict"])
    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(broken, "v2"))
    assert result.rc != 0 and result.failed_hosts == ["node1"]  # batch 1 fails; node2 never switches
    assert "node1" in result.output and "predict" in result.output
    assert [r["status"] for r in settle(node1) if r["path"].startswith("/isAlive")][-1:] in ([], [200])
    assert_fleet_serves(fleet, "v1")
    assert_no_secrets(result, fleet_secrets(fleet))
    converge(run_playbook, fleet, good, version="v3")


def test_admin_key_revoked_on_one_node_mid_run(fleet_on_v1, run_playbook):
    """node2 starts rejecting the key at the switch (a 401 fault rule shaped like the node's answer)."""
    fleet, manifest = fleet_on_v1
    node2 = fleet.nodes[1]
    node2.add_fault(method="*", path=r"^/admin/api/services/churn/actions/", status=401,
                    body={"errorType": "com.dataiku.dip.exceptions.NotAuthenticatedException",
                          "message": "Unknown API key"})
    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(manifest, "v2"))
    assert result.rc != 0 and result.failed_hosts == ["node2"]
    assert "401" in result.output and "check the admin API key" in result.output
    assert_fleet_serves(fleet, "v1")
    assert_no_secrets(result, fleet_secrets(fleet))
    converge(run_playbook, fleet, manifest)


def test_stray_newer_generation_is_never_switched_to(fleet_on_v1, run_playbook):
    fleet, manifest = fleet_on_v1
    node2 = fleet.nodes[1]
    node2.admin_client().service("churn").import_generation_from_archive(packages_of(manifest, "churn", "v3")[0]["path"])
    rerun = converge(run_playbook, fleet, manifest, version="v2")
    assert service_state(node2, "churn")["mapping"] == {"v2": 1.0}
    assert "v3" in service_state(node2, "churn")["generations"]  # left alone, not switched to
    assert not any("switchToNewest" in r["path"] for r in settle(node2))
    assert rerun.failed_hosts == []
