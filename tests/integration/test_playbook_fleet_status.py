"""fleet_status: one table for the fleet, drift flagged, nothing written (also in --check)."""

import pytest

from test_role_deploy import ROLLING_DEPLOY, deploy_vars

FLEET_STATUS = "dss.apinode.fleet_status"


@pytest.fixture
def churn(make_bundle):
    return make_bundle(services=["churn"], versions=["v1", "v2"])


def table(result):
    return result.task("Print the fleet table", "node1")["msg"]


def row(lines, host):
    return next(line for line in lines if line.split()[0] == host)


def test_drift_is_flagged_per_node_without_any_write(sim_fleet, churn, run_playbook):
    fleet = sim_fleet(nodes=3)
    wanted = deploy_vars(churn, "v1", generation="v1")
    assert run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=wanted).rc == 0
    # Out-of-band drift: node2 disabled by hand, node3 switched to v2 by hand.
    fleet.node("node2").admin_client().service("churn").disable()
    node3 = fleet.node("node3").admin_client().service("churn")
    node3.import_generation_from_archive(next(p["path"] for p in churn["packages"] if p["version"] == "v2"))
    node3.switch_to_single_generation("v2")
    for node in fleet.nodes:
        node.clear_requests()

    result = run_playbook(FLEET_STATUS, inventory=fleet, extra_vars=wanted, check=True)

    assert result.rc == 0, result.output
    lines = table(result)
    assert lines[0] == "service churn (wanted: v1)"
    assert row(lines, "node1").endswith(" ok")
    assert "DRIFT" in row(lines, "node2") and "disabled" in row(lines, "node2")
    assert "DRIFT" in row(lines, "node3") and "other generation or mapping" in row(lines, "node3")
    assert " v2 " in row(lines, "node3")
    assert len(result.results("Print the fleet table")) == 1  # printed once for the fleet
    for node in fleet.nodes:
        assert node.mutating_requests() == [], node.name


def test_missing_service_and_dead_node_are_rows_not_crashes(sim_fleet, churn, run_playbook):
    fleet = sim_fleet(nodes=3)
    wanted = deploy_vars(churn, "v1", generation="v1")
    assert run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=wanted, limit="node1,node2").rc == 0
    fleet.node("node2").kill()

    result = run_playbook(FLEET_STATUS, inventory=fleet, extra_vars=dict(wanted, apinode_status_fail_on_drift=True))

    assert result.rc != 0  # asked to fail on drift
    lines = table(result)
    assert row(lines, "node1").endswith(" ok")
    assert "NOT ANSWERING" in row(lines, "node2")
    assert "service missing" in row(lines, "node3")
