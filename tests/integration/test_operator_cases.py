"""What an operator meets first, each run through the collection playbooks against simulated fleets.

1. an empty release (a misspelt variable) fails at preflight, naming the variables, and changes nothing;
2. a service that no node has (a misspelt id) is refused before any change, naming it and the nodes;
   fleet_status lists services outside the release as unmanaged, with per-node facts, and a report file;
4. every rollout ends with one run report: on screen, as set_stats, in a JSON or Markdown file;
5. a misspelt service-level key is named in one line, without a dump of the argument spec;
6. fleet_status writes the same table to a file (JSON, or Markdown);
7. a bootstrapped node's key is usable in one's own plays;
and the rollback playbook puts the fleet back to what it served before the last rollout, with the
inventory alone.

State is read back out of band: the official client, the simulators' request logs and the nodes' disks.
"""

import json
import os

import pytest

from harness import serve_everywhere

from test_playbook_bootstrap_node import keyless_inventory
from test_role_deploy import FEATURES, ROLLING_DEPLOY, deploy_vars, served, staging_dir

FLEET_STATUS = "dss.apinode.fleet_status"
BOOTSTRAP = "dss.apinode.bootstrap_node"
ROLLBACK = "dss.apinode.rollback"
REPORT = "Show the run report"


def serving(node, service="churn"):
    found = served(node, service)
    return found and found[0] and found[1]["generation"]


@pytest.mark.core_sensitive
def test_an_empty_release_fails_naming_the_variables_and_changes_nothing(sim_fleet, make_bundle, run_playbook):
    fleet = sim_fleet(nodes=2)
    churn = make_bundle(services=["churn"], versions=["v1"])
    misspelt = {"apinode_deploy_service": deploy_vars(churn, "v1")["apinode_deploy_services"]}

    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=misspelt)

    assert result.rc != 0
    assert "Already serves the release" not in result.output
    assert "The release is empty" in result.output and "apinode_deploy_services" in result.output
    assert result.failed_hosts == ["node1", "node2"]
    for node in fleet.nodes:
        assert node.mutating_requests() == [], node.name
        assert node.admin_client().list_services() == []


def test_batches_that_ansible_cannot_form_are_refused_before_any_change(sim_fleet, make_bundle, run_playbook):
    # ansible-core reads apinode_deploy_serial only when it forms the first batch: after every node staged.
    fleet = sim_fleet(nodes=2)
    churn = make_bundle(services=["churn"], versions=["v1"])

    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=dict(deploy_vars(churn, "v1"), apinode_deploy_serial="abc"))

    assert result.rc != 0
    assert "apinode_deploy_serial is 'abc', which is not a batch size" in result.output
    assert "Traceback" not in result.output and "Unexpected Exception" not in result.output
    for node in fleet.nodes:
        assert node.mutating_requests() == [], node.name
        assert node.admin_client().list_services() == []
        assert not os.path.exists(os.path.join(staging_dir(node), ".deploy.lock")), node.name


@pytest.mark.core_sensitive
def test_a_misspelt_service_id_is_refused_before_any_change(sim_fleet, make_bundle, run_playbook):
    fleet = sim_fleet(nodes=3)
    manifest = make_bundle(services=["fraud"], versions=["v1"])
    serve_everywhere(fleet, manifest, "v1", "fraud")
    package = manifest["packages"][0]["path"]
    typo = {"apinode_deploy_services": [{"id": "fruad", "package": package}]}

    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=typo)

    assert result.rc != 0
    assert "Service fruad is new: no node of the play has it (node1, node2, node3)." in result.output
    for node in fleet.nodes:
        assert node.mutating_requests() == [], node.name
        assert [s["serviceId"] for s in node.admin_client().list_services()] == ["fraud"]
        assert not os.path.exists(os.path.join(staging_dir(node), "packages", "fruad"))

    # Said on purpose (new: true), for one node: created there, and fleet_status names it as on node1 only.
    marked = {"apinode_deploy_services": [{"id": "fruad", "package": package, "new": True}]}
    assert run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=marked, limit="node1").rc == 0
    assert serving(fleet.node("node1"), "fruad") == "v1"
    # A node joining a fleet whose other nodes of the play serve the service: not new, no mark needed.
    joining = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=typo, limit="node1,node2")
    assert joining.rc == 0, joining.output
    assert serving(fleet.node("node2"), "fruad") == "v1"

    status = run_playbook(FLEET_STATUS, inventory=fleet, extra_vars=dict(
        deploy_vars(manifest, "v1"), apinode_status_report_file="status.md"))
    assert status.rc == 0, status.output
    lines = status.task("Print the fleet table", "node1")["msg"]
    assert "service fruad (unmanaged: not in the release; most nodes serve v1)" in lines
    node1 = next(line for line in lines if line.split()[0] == "node1" and "fruad" not in line and "unmanaged" in line)
    assert node1.endswith("unmanaged: present on node1, node2 only")
    node3 = [line for line in lines if line.split()[0] == "node3"][-1]
    assert node3.endswith("unmanaged: not on this node") and "DRIFT" not in node3
    markdown = (status.workdir / "status.md").read_text()
    assert "## service fruad (unmanaged" in markdown
    assert "| node1 | v1 | unmanaged: present on node1, node2 only |" in markdown
    assert "| node3 | - | unmanaged: not on this node |" in markdown


def test_bootstrap_node_creates_new_services_by_design(sim_fleet, make_bundle, run_playbook):
    fleet = sim_fleet(nodes=1)
    churn = make_bundle(services=["churn"], versions=["v1"])
    release = deploy_vars(churn, "v1")
    release["apinode_deploy_services"][0].pop("new")

    refused = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=release)
    assert refused.rc != 0 and "Service churn is new" in refused.output

    result = run_playbook(BOOTSTRAP, inventory=fleet, extra_vars=release)
    assert result.rc == 0, result.output
    assert serving(fleet.nodes[0]) == "v1"


def test_every_rollout_ends_with_one_report(sim_fleet, make_bundle, run_playbook, tmp_path):
    fleet = sim_fleet(nodes=3)
    churn = make_bundle(services=["churn"], versions=["v1", "v2"])
    first = run_playbook(ROLLING_DEPLOY, inventory=fleet,
                         extra_vars=dict(deploy_vars(churn, "v1"), apinode_deploy_report_file="v1.json"))
    assert first.rc == 0, first.output
    # A relative name lands in the working directory of a collection playbook (the project folder under AWX).
    data = json.loads((first.workdir / "v1.json").read_text())
    assert data["outcome"] == "ok" and data["summary"] == {"changed": 3}
    for name in ("node1", "node2", "node3"):
        node = data["nodes"][name]
        assert node["services"] == [{"id": "churn", "from": "-", "to": "v1", "result": "switched"}]
        assert [(t["endpoint"], t["passed"]) for t in node["smoke_tests"]] == [("predict", True)]
        assert set(node["durations"]) == {"plan", "stage", "activate", "retain"}
    shown = first.task(REPORT, "node1")["msg"]
    assert shown[0] == "Rollout ok: 3 nodes - 3 changed"
    assert "  churn: - -> v1, switched, smoke tests 1/1 passed" in shown
    assert len(first.results(REPORT)) == 1  # once for the run
    stats = first.task("Give the run report to the job (set_stats)", "node1")["ansible_stats"]["data"]
    assert stats["apinode_deploy_report"]["nodes"]["node2"]["services"][0]["to"] == "v1"

    # node2 fails its smoke test on v2: the report of the failed run says who switched, failed and went back.
    fleet.node("node2").add_fault(method="POST", path="^/public/api/v1/churn/predict/predict$", status=500,
                                  body={"message": "model failed to load"})
    failed = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=dict(
        deploy_vars(churn, "v2"), apinode_deploy_report_file=str(tmp_path / "v2.md"), apinode_deploy_serial=[2, "100%"]))
    assert failed.rc != 0
    markdown = (tmp_path / "v2.md").read_text()
    assert markdown.startswith("# Rollout report")
    assert "| node1 | rolled back - another node failed: put back to what it served | churn | v1 | v2 | rolled back to v1 |" \
        in markdown
    assert "| node2 | failed - " in markdown and "smoke tests 0/1 passed" in markdown
    assert "| node3 | not reached - the rollout stopped before its batch | churn | v1 | v2 | not switched |" in markdown
    assert "Rollout FAILED: 3 nodes" in failed.output
    for node in fleet.nodes:
        assert serving(node) == "v1", node.name

    # A no-op run reports every node as left alone, and why.
    fleet.node("node2").clear_faults()
    again = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(churn, "v1"))
    assert again.rc == 0, again.output
    # Seconds as the report writes them (%g: 0.3 -> "0.3", 0.0 -> "0").
    assert again.task(REPORT, "node1")["msg"][1] == "node1: left alone - already serves the release (plan %gs)" % \
        again.task("Plan the release on this node", "node1")["duration"]


@pytest.mark.core_sensitive
def test_a_misspelt_service_key_is_named_in_one_line(sim_fleet, make_bundle, run_playbook):
    fleet = sim_fleet(nodes=1)
    churn = make_bundle(services=["churn"], versions=["v1"])
    release = deploy_vars(churn, "v1")
    release["apinode_deploy_services"][0]["genration"] = "v1"

    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=release)

    assert result.rc != 0
    message = result.task("Name the wrong variable", "node1")["msg"]
    assert message.startswith("Wrong variables for the dss.apinode.deploy role: apinode_deploy_services.genration.")
    assert "\n" not in message
    assert "argument_spec_data" not in result.output and "Admin API key of the node" not in result.output
    assert len(result.output) < 6000, len(result.output)
    assert fleet.nodes[0].mutating_requests() == []


def test_fleet_status_report_file_holds_the_screen_table(sim_fleet, make_bundle, run_playbook, tmp_path):
    fleet = sim_fleet(nodes=2)
    churn = make_bundle(services=["churn"], versions=["v1", "v2"])
    serve_everywhere(fleet, churn, "v1")
    # Staged on node2 but not switched: STAGED, not serving yet.
    stage_only = """
- name: Stage only
  hosts: node2
  gather_facts: false
  tasks:
    - name: Stage
      ansible.builtin.include_role:
        name: dss.apinode.deploy
      vars:
        apinode_deploy_phase: stage
"""
    staged = run_playbook(stage_only, inventory=fleet, extra_vars=deploy_vars(churn, "v2"))
    assert staged.rc == 0, staged.output

    result = run_playbook(FLEET_STATUS, inventory=fleet, extra_vars=dict(
        deploy_vars(churn, "v2"), apinode_status_report_file=str(tmp_path / "status.json")))

    assert result.rc == 0, result.output
    lines = result.task("Print the fleet table", "node1")["msg"]
    data = json.loads((tmp_path / "status.json").read_text())
    assert data["lines"] == lines
    assert data["services"]["churn"]["node2"]["status"] == "STAGED"
    assert data["services"]["churn"]["node1"]["status"] == "DRIFT"
    assert any(line.split()[0] == "node2" and "STAGED, not serving yet" in line for line in lines)


@pytest.mark.core_sensitive
def test_a_bootstrapped_node_key_in_ones_own_play(sim_fleet, make_bundle, run_playbook, tmp_path):
    fleet = sim_fleet(nodes=1)
    node = fleet.nodes[0]
    churn = make_bundle(services=["churn"], versions=["v1"])
    inventory = keyless_inventory(fleet, tmp_path / "inventory.json")
    assert run_playbook(BOOTSTRAP, inventory=inventory, extra_vars=deploy_vars(churn, "v1")).rc == 0
    own_play = """
- name: My own play on bootstrapped nodes
  hosts: apinodes
  gather_facts: false
  tasks:
    - name: Use the node-local admin key
      ansible.builtin.include_role:
        name: dss.apinode.deploy
        tasks_from: node_key

    - name: My tasks
      module_defaults:
        group/dss.apinode.apinode:
          url: "{{ apinode_url }}"
          api_key: "{{ apinode_admin_key }}"
      block:
        - name: Read the node
          dss.apinode.apinode_info:
          register: info
"""
    result = run_playbook(own_play, inventory=inventory)

    assert result.rc == 0, result.output
    assert [s["id"] for s in result.task("Read the node", "node1")["services"]] == ["churn"]
    for secret in fleet.all_keys():
        assert secret not in result.output
        assert secret not in json.dumps(result.tasks)
    assert node.requests()[-1]["method"] == "GET"


@pytest.mark.core_sensitive
def test_rollback_playbook_puts_back_what_the_last_rollout_changed(sim_fleet, make_bundle, run_playbook):
    fleet = sim_fleet(nodes=3)
    churn = make_bundle(services=["churn"], versions=["v1", "v2"])
    serve_everywhere(fleet, churn, "v1")
    assert run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(churn, "v2"), limit="node1").rc == 0
    # The last rollout: node2 and node3 switch to v2, node1 already served it (left alone).
    assert run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(churn, "v2")).rc == 0
    assert [serving(n) for n in fleet.nodes] == ["v2", "v2", "v2"]

    check = run_playbook(ROLLBACK, inventory=fleet, check=True)
    assert check.rc == 0, check.output
    assert [serving(n) for n in fleet.nodes] == ["v2", "v2", "v2"]
    would = check.task("Say what goes back", "node1")["msg"]
    assert would[0].startswith("Check mode, nothing is changed. Last rollout: ")
    assert "node3: service churn goes back from generation v2 to generation v1" in would

    result = run_playbook(ROLLBACK, inventory=fleet)  # the inventory alone: no release, no report

    assert result.rc == 0, result.output
    assert [serving(n) for n in fleet.nodes] == ["v2", "v1", "v1"]
    said = result.task("Say what goes back", "node1")["msg"]
    assert said[1].startswith("node1: left alone - its record is from an earlier rollout")
    assert "node2: service churn goes back from generation v2 to generation v1" in said
    for name in ("node2", "node3"):
        prediction = fleet.node(name).user_client("churn").predict_record("predict", FEATURES)
        assert prediction["apiContext"]["serviceGeneration"] == "v1"
        assert not os.path.exists(os.path.join(staging_dir(fleet.node(name)), ".deploy.lock"))


def test_two_nodes_of_one_machine_sharing_a_staging_folder_are_refused_before_any_copy(
        sim_fleet, make_bundle, run_playbook, tmp_path):
    """Two API nodes on one machine with one data dir would overwrite each other's staged packages."""
    from harness import write_fleet_inventory

    fleet = sim_fleet(nodes=2)
    churn = make_bundle(services=["churn"], versions=["v1"])
    shared = tmp_path / "one-data-dir"
    inventory = write_fleet_inventory(fleet, tmp_path / "inventory.json", apinode_data_dir=str(shared))
    for node in fleet.nodes:
        node.clear_requests()

    result = run_playbook(ROLLING_DEPLOY, inventory=inventory, extra_vars=deploy_vars(churn, "v1"))

    assert result.rc != 0
    assert ("Nodes would overwrite each other's staged files: node1, node2 stage into %s/dss-apinode-staging on "
            "localhost." % shared) in " ".join(result.output.split())
    assert not shared.exists()  # nothing copied
    for node in fleet.nodes:
        assert node.mutating_requests() == [], node.name
