"""dss.apinode.apinode_generation run by ansible-playbook against a simulated node.

State is read back through the official client; the simulator's request log proves which calls were sent.
"""

import pytest
from harness import module_play, task

SERVICE = "churn"


def run(run_playbook, inventory, args, **kwargs):
    play = module_play(task("Generation", "apinode_generation", args), connection={"retries": 0})
    result = run_playbook(play, inventory=inventory, **kwargs)
    return result, result.task("Generation")


def mutating_paths(node):
    return [r["method"] + " " + r["path"].replace("/admin/api/services/%s/" % SERVICE, "")
            for r in node.mutating_requests()]


def on_node(node):
    """generationId -> generation, as the official client lists them."""
    return dict((g["generationId"], g) for g in node.admin_client().service(SERVICE).list_generations())


@pytest.fixture
def setup(sim_fleet, make_bundle):
    """A node with an empty service, packages v1 and v2 of it."""
    fleet = sim_fleet(nodes=1)
    node = fleet.nodes[0]
    node.admin_client().create_service(SERVICE)
    manifest = make_bundle(services=[SERVICE], versions=["v1", "v2"])
    packages = dict((p["version"], p) for p in manifest["packages"])
    node.clear_requests()
    return fleet, node, packages


def test_lifecycle(setup, run_playbook):
    fleet, node, packages = setup
    v1 = packages["v1"]
    args = {"service": SERVICE, "archive": v1["path"], "generation": "v1"}

    # check-mode import: predicted, nothing sent
    result, task = run(run_playbook, fleet, args, check=True, diff=True)
    assert result.rc == 0 and task["changed"] is True, result.output
    assert task["generation"]["generationId"] == "v1" and task["generation"]["createdOn"] == v1["created_on"]
    assert task["package"]["generationId"] == "v1"
    assert task["diff"]["before"] == {}
    assert task["plan"] == ["service churn: generation v1 is not on the node"]
    assert node.mutating_requests() == []
    assert on_node(node) == {}

    # import
    result, task = run(run_playbook, fleet, args)
    assert result.rc == 0 and task["changed"] is True, result.output
    assert mutating_paths(node) == ["POST generations/actions/importFromArchive"]
    assert task["plan"] == ["service churn: generation v1 is not on the node"]
    gen = on_node(node)["v1"]
    assert gen["createdOn"] == v1["created_on"] and gen["mounted"] is False
    assert task["generation"] == dict(gen, mapped=0.0)

    # idempotent re-run: one read, nothing sent
    node.clear_requests()
    result, task = run(run_playbook, fleet, args)
    assert result.rc == 0 and task["changed"] is False, result.output
    assert task["api_calls"] == 1 and task["plan"] == []
    assert node.mutating_requests() == []

    # check-mode change, then change: preload
    result, task = run(run_playbook, fleet, dict(args, preload=True), check=True, diff=True)
    assert result.rc == 0 and task["changed"] is True, result.output
    assert task["diff"]["before"]["mounted"] is False and task["diff"]["after"]["mounted"] is True
    assert node.mutating_requests() == []
    assert on_node(node)["v1"]["mounted"] is False
    result, task = run(run_playbook, fleet, dict(args, preload=True))
    assert result.rc == 0 and task["changed"] is True, result.output
    assert mutating_paths(node) == ["POST generations/v1/preload"]
    assert on_node(node)["v1"]["mounted"] is True
    node.clear_requests()
    result, task = run(run_playbook, fleet, dict(args, preload=True))
    assert result.rc == 0 and task["changed"] is False, result.output
    assert node.mutating_requests() == []

    # check-mode delete, delete, delete again
    absent = {"service": SERVICE, "generation": "v1", "state": "absent"}
    result, task = run(run_playbook, fleet, absent, check=True)
    assert result.rc == 0 and task["changed"] is True and task["generation"] is None, result.output
    assert node.mutating_requests() == []
    result, task = run(run_playbook, fleet, absent, diff=True)
    assert result.rc == 0 and task["changed"] is True, result.output
    assert task["diff"]["before"]["generationId"] == "v1" and task["diff"]["after"] == {}
    assert on_node(node) == {}
    node.clear_requests()
    result, task = run(run_playbook, fleet, absent)
    assert result.rc == 0 and task["changed"] is False, result.output
    assert node.mutating_requests() == []


def test_upload_streams_the_package(setup, run_playbook):
    fleet, node, packages = setup
    args = {"service": SERVICE, "archive": packages["v2"]["path"], "upload": True, "preload": True}
    result, task = run(run_playbook, fleet, args)
    assert result.rc == 0 and task["changed"] is True, result.output
    assert mutating_paths(node) == ["POST generations/actions/importFromStream", "POST generations/v2/preload"]
    assert on_node(node)["v2"]["mounted"] is True
    node.clear_requests()
    result, task = run(run_playbook, fleet, args)
    assert result.rc == 0 and task["changed"] is False, result.output
    assert node.mutating_requests() == []


def test_same_id_other_package_needs_force(setup, run_playbook, make_bundle):
    fleet, node, packages = setup
    result = run(run_playbook, fleet, {"service": SERVICE, "archive": packages["v1"]["path"]})[0]
    assert result.rc == 0, result.output
    rebuilt = make_bundle(services=[SERVICE], versions=["v1"], created_on=1800000000000)["packages"][0]
    node.clear_requests()

    result, task = run(run_playbook, fleet, {"service": SERVICE, "archive": rebuilt["path"]})
    assert result.rc != 0
    assert "already has a generation v1 from another package" in task["msg"]
    assert "Set force=true to replace it" in task["msg"]
    assert node.mutating_requests() == []

    result, task = run(run_playbook, fleet, {"service": SERVICE, "archive": rebuilt["path"], "force": True},
                       check=True)
    assert result.rc == 0 and task["changed"] is True, result.output
    assert task["generation"]["createdOn"] == 1800000000000
    assert node.mutating_requests() == []

    result, task = run(run_playbook, fleet, {"service": SERVICE, "archive": rebuilt["path"], "force": True})
    assert result.rc == 0 and task["changed"] is True, result.output
    assert mutating_paths(node) == ["DELETE generations/v1", "POST generations/actions/importFromArchive"]
    assert on_node(node)["v1"]["createdOn"] == 1800000000000

    # A mapped generation is never replaced.
    node.admin_client().service(SERVICE).switch_to_single_generation("v1")
    node.clear_requests()
    result, task = run(run_playbook, fleet, {"service": SERVICE, "archive": packages["v1"]["path"], "force": True})
    assert result.rc != 0
    assert "answers 100.0% of the traffic, so it cannot be replaced" in task["msg"]
    assert node.mutating_requests() == []


def test_absent_refused_while_mapped(setup, run_playbook):
    fleet, node, packages = setup
    node.admin_client().service(SERVICE).import_generation_from_archive(packages["v1"]["path"])
    node.admin_client().service(SERVICE).switch_to_single_generation("v1")
    node.clear_requests()
    result, task = run(run_playbook, fleet, {"service": SERVICE, "archive": packages["v1"]["path"], "state": "absent"})
    assert result.rc != 0
    assert "Generation v1 of service churn answers 100.0% of the traffic" in task["msg"]
    assert node.mutating_requests() == []
    assert "v1" in on_node(node)


def test_bad_input_changes_nothing(setup, run_playbook, make_bundle, tmp_path):
    """Each bad input is a task of one play: each fails with its own one-line message; none reaches the node."""
    fleet, node, packages = setup
    good = {"service": SERVICE, "archive": packages["v1"]["path"]}
    corrupted = make_bundle(services=[SERVICE], versions=["v3"], corrupted=True)["packages"][0]["path"]
    untagged = make_bundle(services=[SERVICE], versions=["v4"], no_tag=True)["packages"][0]["path"]
    cases = [
        (dict(good, archive=str(tmp_path / "nowhere" / "churn_v9.zip")), "does not exist (on the host where the module runs)"),
        (dict(good, archive=corrupted), "is not a readable zip file (corrupted or truncated?)"),
        (dict(good, archive=untagged), "has no tag.json at its root: it is not an API service package"),
        (dict(good, generation="v2"), "holds generation v1 (its tag.json), not the expected v2"),
        (dict(good, service="churn x"), "Invalid service id 'churn x' for service"),
        (dict(good, service="nope"), "Service nope cannot receive generation v1: Service does not exist"),
    ]
    tasks = [task("Bad input %d" % index, "apinode_generation", case[0], ignore_errors=True)
             for index, case in enumerate(cases)]
    result = run_playbook(module_play(*tasks, connection={"retries": 0}), inventory=fleet)
    for index, (args, message) in enumerate(cases):
        outcome = result.task("Bad input %d" % index)
        assert result.status("Bad input %d" % index) == "failed", (args, outcome)
        assert message in outcome["msg"] and "\n" not in outcome["msg"], (args, outcome["msg"])
    assert node.mutating_requests() == []
    assert on_node(node) == {}


def test_wrong_admin_key(setup, run_playbook, fleet_inventory, tmp_path):
    fleet, node, packages = setup
    inventory = fleet_inventory(fleet, tmp_path / "wrong-key.json", apinode_admin_key="wrong-key-0123456789")
    result, task = run(run_playbook, inventory, {"service": SERVICE, "archive": packages["v1"]["path"]})
    assert result.rc != 0
    assert task["status"] == 401 and "check the admin API key" in task["msg"]
    assert "wrong-key-0123456789" not in result.output
    assert node.mutating_requests() == []


def test_node_down(setup, run_playbook):
    fleet, node, packages = setup
    node.stop()
    result, task = run(run_playbook, fleet, {"service": SERVICE, "archive": packages["v1"]["path"]})
    assert result.rc != 0
    assert "Cannot reach the API node" in task["msg"] and "connection refused" in task["msg"]
    node.start()
    assert on_node(node) == {}


def test_server_error_body_is_passed_through(setup, run_playbook):
    fleet, node, packages = setup
    body = {"errorType": "java.lang.IllegalArgumentException", "message": "No space left",
            "detailedMessage": "No space left on device while unzipping the package"}
    node.add_fault(method="GET", path="/generations$", status=500, body=body, count=1)
    result, task = run(run_playbook, fleet, {"service": SERVICE, "archive": packages["v1"]["path"]})
    assert result.rc != 0
    assert "HTTP 500" in task["msg"] and "No space left on device while unzipping the package" in task["msg"]
    assert node.mutating_requests() == []

    # The same pass-through when the import itself fails.
    node.add_fault(method="POST", path="importFromArchive", status=400, body=body, count=1)
    result, task = run(run_playbook, fleet, {"service": SERVICE, "archive": packages["v1"]["path"]})
    assert result.rc != 0
    assert task["status"] == 400 and task["error"]["error_type"] == "java.lang.IllegalArgumentException"
    assert "No space left on device while unzipping the package" in task["msg"]
    assert on_node(node) == {}
