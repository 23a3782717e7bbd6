"""fleet_status: one table for the fleet, drift flagged, nothing written (also in --check).

A declared service drifts where the node's release plan (apinode_release in check mode) would change
it, in the plan's own sentences; a service the release does not declare is unmanaged - never drift -
with facts per node: where it is, and whether a node serves another generation than most nodes.
"""

import json

import pytest

from harness import install, packages_of, serve_everywhere
from test_role_deploy import deploy_vars

FLEET_STATUS = "dss.apinode.fleet_status"
# Against a dead node the client's retries (1 + 2 + 4 s of back-off, unit-tested) only make the run longer.
NO_RETRIES = {"apinode_deploy_retries": 0}


@pytest.fixture
def churn(make_bundle):
    return make_bundle(services=["churn"], versions=["v1", "v2"])


@pytest.fixture
def fraud(make_bundle):
    """A service that the release does not declare, put on the nodes by hand: its packages by version."""
    return dict((p["version"], p) for p in make_bundle(services=["fraud"], versions=["v1", "v2"])["packages"])


def table(result):
    return result.task("Print the fleet table", "node1")["msg"]


def section(lines, service):
    """The lines of one service: its title, then one line per host."""
    start = next(i for i, line in enumerate(lines) if line.startswith("service %s " % service))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("service ")), len(lines))
    return lines[start:end]


def row(lines, host):
    return next(line for line in lines[1:] if line.split()[0] == host)


def test_drift_is_flagged_per_node_without_any_write(sim_fleet, churn, fraud, run_playbook):
    fleet = sim_fleet(nodes=3)
    wanted = deploy_vars(churn, "v1", generation="v1")
    serve_everywhere(fleet, churn, "v1")
    # Out-of-band drift: node2 disabled by hand, node3 switched to v2 by hand.
    fleet.node("node2").admin_client().service("churn").disable()
    node3 = fleet.node("node3").admin_client().service("churn")
    node3.import_generation_from_archive(next(p["path"] for p in churn["packages"] if p["version"] == "v2"))
    node3.switch_to_single_generation("v2")
    # fraud is not in the release: v1 on node1 and node2, v2 on node3.
    for node in fleet.nodes:
        version = "v2" if node.name == "node3" else "v1"
        install(node, "fraud", [fraud[version]], switch_to=version)

    result = run_playbook(FLEET_STATUS, inventory=fleet, extra_vars=wanted, check=True)

    assert result.rc == 0, result.output
    lines = section(table(result), "churn")
    assert lines[0] == "service churn (wanted: v1)"
    assert row(lines, "node1").endswith(" ok")
    assert "DRIFT" in row(lines, "node2") and "disabled" in row(lines, "node2")
    assert "DRIFT" in row(lines, "node3") and "serves generation v2, the release wants generation v1" in row(lines, "node3")
    assert " v2 " in row(lines, "node3")
    undeclared = section(table(result), "fraud")
    assert undeclared[0] == "service fraud (unmanaged: not in the release; most nodes serve v1)"
    assert row(undeclared, "node1").endswith(" unmanaged") and row(undeclared, "node2").endswith(" unmanaged")
    assert row(undeclared, "node3").endswith(" unmanaged: other generation or mapping than most nodes (v1)")
    assert not any("DRIFT" in line for line in undeclared)
    assert result.task("Build the fleet table", "node1")["ansible_facts"]["apinode_fleet_status"]["unmanaged"] == ["fraud"]
    assert len(result.results("Print the fleet table")) == 1  # printed once for the fleet
    for node in fleet.nodes:
        assert node.mutating_requests() == [], node.name


def test_missing_service_and_dead_node_are_rows_not_crashes(sim_fleet, churn, fraud, run_playbook):
    fleet = sim_fleet(nodes=3)
    wanted = deploy_vars(churn, "v1", generation="v1")
    for name in ("node1", "node2"):
        install(fleet.node(name), "churn", packages_of(churn, "churn", "v1"), switch_to="v1")
    install(fleet.node("node1"), "fraud", [fraud["v1"]], switch_to="v1")
    fleet.node("node2").kill()
    fleet.node("node3").clear_requests()

    result = run_playbook(FLEET_STATUS, inventory=fleet, extra_vars=dict(wanted, apinode_status_fail_on_drift=True,
                                                                         **NO_RETRIES))

    assert result.rc != 0  # asked to fail on drift
    assert "The fleet has drifted" in result.output
    lines = section(table(result), "churn")
    assert row(lines, "node1").endswith(" ok")
    assert "NOT ANSWERING" in row(lines, "node2")
    assert "DRIFT" in row(lines, "node3") and "service churn is missing" in row(lines, "node3")
    undeclared = section(table(result), "fraud")
    assert row(undeclared, "node1").endswith(" unmanaged: present on node1 only")
    assert "NOT ANSWERING" in row(undeclared, "node2")
    assert row(undeclared, "node3").endswith(" unmanaged: not on this node")
    # Not even without --check does the report write anything.
    assert fleet.node("node3").mutating_requests() == []
    assert fleet.node("node3").admin_client().list_services() == []


def test_a_fleet_where_no_node_answers_fails_after_its_table_and_report(sim_fleet, churn, run_playbook, tmp_path):
    fleet = sim_fleet(nodes=2)
    wanted = deploy_vars(churn, "v1", generation="v1")
    for node in fleet.nodes:
        node.kill()
    report = tmp_path / "status.json"

    result = run_playbook(FLEET_STATUS, inventory=fleet, extra_vars=dict(wanted, apinode_status_report_file=str(report),
                                                                         **NO_RETRIES))

    assert result.rc != 0, result.output
    failed = result.task("Fail when no node answered, or on drift when asked to", "node1")
    assert failed["msg"] == "No node answered: node1, node2 could not be read; see the table above."
    # The table and the report come first, and say why, node by node.
    lines = section(table(result), "churn")
    assert "NOT ANSWERING" in row(lines, "node1") and "NOT ANSWERING" in row(lines, "node2")
    assert json.loads(report.read_text())["failure"] == failed["msg"]


def test_without_a_release_the_table_says_how_to_give_one_and_check_mode_writes_no_report(
        sim_fleet, churn, fraud, run_playbook, tmp_path):
    fleet = sim_fleet(nodes=1)
    install(fleet.node("node1"), "fraud", [fraud["v1"]], switch_to="v1")
    report = tmp_path / "reports" / "status.md"

    result = run_playbook(FLEET_STATUS, inventory=fleet, extra_vars=dict(apinode_status_report_file=str(report)),
                          check=True)

    assert result.rc == 0, result.output
    lines = table(result)
    assert lines[0].startswith("No release given (apinode_deploy_services is empty)")
    assert "-e @release.yml" in lines[0]
    assert "service fraud (unmanaged: not in the release; most nodes serve v1)" in lines
    assert lines[-1] == "Check mode: the report would be written to %s; nothing was written." % report
    assert not report.exists() and not report.parent.exists()
    assert not result.ran("Write the fleet table on the controller")
