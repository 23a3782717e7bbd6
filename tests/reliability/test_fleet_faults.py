"""Fleet-level faults: drift injected out of band, two rollouts at once, and bad role input."""

import os

from reliability_helpers import (
    FLEET_STATUS,
    ROLLING_DEPLOY,
    assert_fleet_serves,
    assert_no_secrets,
    clear_log,
    deploy_vars,
    fleet_secrets,
    install,
    mutating,
    packages_of,
    run_in_background,
    service_state,
    serves,
)


def test_drift_is_reported_by_fleet_status_and_repaired_by_rolling_deploy(fleet_on_v1, run_playbook):
    fleet, manifest = fleet_on_v1
    node1, node2 = fleet.nodes
    wanted = deploy_vars(manifest, "v1")
    node1.admin_client().service("churn").disable()
    install(node2, "churn", packages_of(manifest, "churn", "v2"), switch_to="v2")
    for node in fleet.nodes:
        clear_log(node)

    status = run_playbook(FLEET_STATUS, inventory=fleet, extra_vars=wanted, check=True)
    assert status.rc == 0, status.output[-3000:]
    table = "\n".join(status.task("Print the fleet table", "node1")["msg"])
    rows = {line.split()[0]: line for line in table.splitlines() if line.split() and line.split()[0] in ("node1", "node2")}
    assert "DRIFT" in rows["node1"] and "disabled" in rows["node1"]
    assert "DRIFT" in rows["node2"] and "v2" in rows["node2"]
    assert all(mutating(node) == [] for node in fleet.nodes), "fleet_status must not write"

    repair = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=wanted)
    assert repair.rc == 0, repair.output[-3000:]
    assert_fleet_serves(fleet, "v1")
    again = run_playbook(FLEET_STATUS, inventory=fleet, extra_vars=wanted)
    assert "DRIFT" not in "\n".join(again.task("Print the fleet table", "node1")["msg"])
    for result in (status, repair, again):
        assert_no_secrets(result, fleet_secrets(fleet))


def test_two_rollouts_at_once_never_leave_a_node_half_switched(fleet_on_v1, run_playbook):
    fleet, manifest = fleet_on_v1
    first = run_in_background(run_playbook, ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(manifest, "v2"))
    second = run_in_background(run_playbook, ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(manifest, "v3"))
    results = [first.join(), second.join()]

    refused = [r for r in results if r.rc != 0]
    assert refused, "two rollouts ran on the same nodes at the same time"
    for result in refused:
        assert "Another rollout holds the deploy lock" in result.output
        assert "rm -r" in result.output  # how to clear a stale lock
    # Every node serves one whole generation, the same across the fleet, and no lock is left behind.
    served = {serves(node, "churn") for node in fleet.nodes}
    assert len(served) == 1 and served <= {"v1", "v2", "v3"}, served
    for node in fleet.nodes:
        assert len(service_state(node, "churn")["mapping"]) == 1
        assert not os.path.exists(os.path.join(node.data_dir, "dss-apinode-staging", ".deploy.lock"))
    for result in results:
        assert_no_secrets(result, fleet_secrets(fleet))

    rerun = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(manifest, "v3"))
    assert rerun.rc == 0, rerun.output[-3000:]
    assert_fleet_serves(fleet, "v3")


def test_bad_role_input_is_refused_before_any_write(fleet_on_v1, run_playbook, tmp_path):
    fleet, manifest = fleet_on_v1
    package = packages_of(manifest, "churn", "v2")[0]["path"]
    # The release is refused at its first problem, named in one line: one run per bad input.
    cases = [
        ({"apinode_deploy_services": [{"id": "churn v2!", "package": package}]}, ["churn v2!"]),
        ({"apinode_deploy_services": [{"id": "fraud", "package": str(tmp_path / "missing.zip")}]}, ["missing.zip"]),
        ({"apinode_deploy_services": [{"id": "upsell", "package": package, "generation": ".bad"}]}, [".bad"]),
        ({"apinode_deploy_services": [{"id": "upsell", "package": package, "mapping": [
            {"generation": "v1", "proba": 0.7}, {"generation": "v2", "proba": 0.2}]}]}, ["upsell", "sum to 1", "0.9"]),
        ({"apinode_deploy_code_envs": [{"path": str(tmp_path / "no-env")}]}, ["no-env"]),
        ({"apinode_deploy_models": [{"path": str(tmp_path / "no-model.zip")}]}, ["no-model.zip"]),
    ]
    runs, problems = [], []
    for bad, expected in cases:
        result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=bad)
        runs.append(result)
        if result.rc == 0 or sorted(result.failed_hosts) != ["node1", "node2"]:
            problems.append("%r: rc %s, failed hosts %s" % (bad, result.rc, result.failed_hosts))
        problems.extend("%r: the output does not say %r" % (bad, part) for part in expected if part not in result.output)
        for node in fleet.nodes:
            if mutating(node):
                problems.append("%r reached %s: %s" % (bad, node.name, mutating(node)))
    assert not problems, "\n".join(problems)

    # Out-of-range choices are caught by the role's argument specs, before the preflight.
    choices = dict(deploy_vars(manifest, "v2"), apinode_deploy_code_envs=[{"path": str(tmp_path), "language": "java"}])
    choices["apinode_deploy_services"][0].update(strategy="round_robin", mapping=[{"generation": "v2", "proba": 1}])
    out_of_range = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=choices)
    assert out_of_range.rc != 0
    assert "round_robin" in out_of_range.output and "java" in out_of_range.output
    for node in fleet.nodes:
        assert mutating(node) == [], node.name
    assert_fleet_serves(fleet, "v1")
    for run in runs + [out_of_range]:
        assert_no_secrets(run, fleet_secrets(fleet))

    wrong_type = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars={"apinode_deploy_services": "churn"})
    assert wrong_type.rc != 0 and "apinode_deploy_services" in wrong_type.output
    wrong_tls = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=dict(
        deploy_vars(manifest, "v2"), apinode_deploy_ca_path=str(tmp_path / "no-ca.pem"),
        apinode_deploy_url=fleet.nodes[0].url.replace("http://", "https://")))
    assert wrong_tls.rc != 0 and "no-ca.pem" in wrong_tls.output
    for node in fleet.nodes:
        assert mutating(node) == [], node.name
    assert_fleet_serves(fleet, "v1")
