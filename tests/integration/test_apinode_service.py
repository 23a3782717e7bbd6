"""dss.apinode.apinode_service run by ansible-playbook against a simulated node.

Every step reads the node back through the official client and, where nothing may change, proves with the
simulator's request log that no POST or DELETE was sent.
"""

import pytest
from harness import module_play, task

SERVICE = "churn"


def service_play(args):
    return module_play(task("Service", "apinode_service", args))


@pytest.fixture
def node(sim_fleet):
    return sim_fleet(nodes=1).nodes[0]


@pytest.fixture
def fleet_node(sim_fleet):
    fleet = sim_fleet(nodes=1)
    return fleet, fleet.nodes[0]


def server_service(node, service_id=SERVICE):
    """The service as the official client lists it, or None."""
    for item in node.admin_client().list_services():
        if item["serviceId"] == service_id:
            return item
    return None


def shares(node, service_id=SERVICE):
    gens = node.admin_client().service(service_id).list_generations()
    return dict((g["generationId"], g["mapped"]) for g in gens)


def with_generations(node, make_bundle, versions=("v1", "v2")):
    """A service holding the given generations, set up out of band with the official client."""
    client = node.admin_client()
    client.create_service(SERVICE)
    manifest = make_bundle(services=[SERVICE], versions=list(versions))
    for package in manifest["packages"]:
        client.service(SERVICE).import_generation_from_archive(package["path"])
    node.clear_requests()


def run(run_playbook, fleet, args, retries=None, **kwargs):
    if retries is not None:
        args = dict(args, retries=retries)
    result = run_playbook(service_play(args), inventory=fleet, **kwargs)
    return result, result.task("Service")


def test_lifecycle(fleet_node, run_playbook, make_bundle):
    fleet, node = fleet_node
    node.clear_requests()

    # check-mode create: predicted, nothing sent
    result, task = run(run_playbook, fleet, {"name": SERVICE}, check=True)
    assert result.rc == 0, result.output
    assert task["changed"] is True
    assert task["service"]["exists"] is True and task["service"]["enabled"] is False
    assert task["previous"]["exists"] is False
    assert task["plan"] == ["service churn is missing"]
    assert node.mutating_requests() == []
    assert server_service(node) is None

    # create
    result, task = run(run_playbook, fleet, {"name": SERVICE}, diff=True)
    assert result.rc == 0, result.output
    assert task["changed"] is True
    assert task["diff"]["before"] == {}
    assert task["diff"]["after"] == {"exists": True, "enabled": False, "mapping": None}
    assert task["plan"] == ["service churn is missing"]
    assert server_service(node) == {"serviceId": SERVICE, "enabled": False}

    # idempotent re-run
    node.clear_requests()
    result, task = run(run_playbook, fleet, {"name": SERVICE})
    assert result.rc == 0 and task["changed"] is False, result.output
    assert task["plan"] == []
    assert node.mutating_requests() == []

    # change: serve v1 (imported out of band)
    manifest = make_bundle(services=[SERVICE], versions=["v1", "v2"])
    for package in manifest["packages"]:
        node.admin_client().service(SERVICE).import_generation_from_archive(package["path"])
    result, task = run(run_playbook, fleet, {"name": SERVICE, "generation": "v1", "enabled": True})
    assert result.rc == 0 and task["changed"] is True, result.output
    listed = server_service(node)
    assert listed["enabled"] is True
    assert listed["activeMapping"]["generation"] == "v1"
    assert shares(node) == {"v1": 1.0, "v2": 0.0}
    assert task["service"]["mapping"]["entries"] == [{"generation": "v1", "proba": 1.0}]

    # the same thing said as a one-entry mapping is no change
    node.clear_requests()
    result, task = run(run_playbook, fleet, {"name": SERVICE, "mapping": [{"generation": "v1", "proba": 1}],
                                             "enabled": True})
    assert result.rc == 0 and task["changed"] is False, result.output
    assert node.mutating_requests() == []

    # check-mode change with diff: predicted, nothing sent
    mapping = [{"generation": "v1", "proba": 0.5}, {"generation": "v2", "proba": 0.5}]
    result, task = run(run_playbook, fleet, {"name": SERVICE, "mapping": mapping}, check=True, diff=True)
    assert result.rc == 0 and task["changed"] is True, result.output
    assert task["diff"]["before"]["mapping"]["generation"] == "v1"
    assert task["diff"]["after"]["mapping"]["entries"] == mapping
    assert task["plan"] == ["service churn serves generation v1, the task wants the mapping v1 50%, v2 50% (random)"]
    assert {g["generationId"]: g["mapped"] for g in task["service"]["generations"]} == {"v1": 0.5, "v2": 0.5}
    assert node.mutating_requests() == []
    assert shares(node) == {"v1": 1.0, "v2": 0.0}

    # delete
    result, task = run(run_playbook, fleet, {"name": SERVICE, "state": "absent"}, diff=True)
    assert result.rc == 0 and task["changed"] is True, result.output
    assert task["previous"]["mapping"]["generation"] == "v1"
    assert task["service"]["exists"] is False
    assert task["diff"]["after"] == {}
    assert server_service(node) is None

    # delete again
    node.clear_requests()
    result, task = run(run_playbook, fleet, {"name": SERVICE, "state": "absent"})
    assert result.rc == 0 and task["changed"] is False, result.output
    assert node.mutating_requests() == []


def test_enable_and_disable_are_sent_once(fleet_node, run_playbook, make_bundle):
    fleet, node = fleet_node
    with_generations(node, make_bundle)
    result = run(run_playbook, fleet, {"name": SERVICE, "generation": "v1"})[0]
    assert result.rc == 0, result.output

    for attempt in range(2):
        node.clear_requests()
        result, task = run(run_playbook, fleet, {"name": SERVICE, "enabled": False})
        assert result.rc == 0, result.output
        assert server_service(node)["enabled"] is False
    # The second run sent nothing: the node answers 400 to a repeated disable.
    assert task["changed"] is False and node.mutating_requests() == []
    assert shares(node) == {"v1": 0.0, "v2": 0.0}
    # The mapping is kept while disabled.
    assert task["service"]["mapping"]["generation"] == "v1"

    result, task = run(run_playbook, fleet, {"name": SERVICE, "enabled": True})
    assert result.rc == 0 and task["changed"] is True, result.output
    assert [r["path"] for r in node.mutating_requests()] == ["/admin/api/services/%s/actions/enable" % SERVICE]
    assert server_service(node)["enabled"] is True
    assert shares(node)["v1"] == 1.0


def test_disabled_service_with_a_new_mapping(fleet_node, run_playbook, make_bundle):
    fleet, node = fleet_node
    with_generations(node, make_bundle)

    # A new or disabled service would start serving if its mapping were set: refused, nothing sent.
    result, task = run(run_playbook, fleet, {"name": SERVICE, "generation": "v1", "enabled": False})
    assert result.rc != 0
    assert "enables a service whenever its mapping is set" in task["msg"]
    assert node.mutating_requests() == []
    assert "activeMapping" not in server_service(node)

    # An enabled service: the mapping is set, then the service is disabled.
    result = run(run_playbook, fleet, {"name": SERVICE, "generation": "v1"})[0]
    assert result.rc == 0, result.output
    node.clear_requests()
    result, task = run(run_playbook, fleet, {"name": SERVICE, "generation": "v2", "enabled": False})
    assert result.rc == 0 and task["changed"] is True, result.output
    assert [r["path"].rsplit("/", 1)[-1] for r in node.mutating_requests()] == ["setMapping", "disable"]
    listed = server_service(node)
    assert listed["enabled"] is False and listed["activeMapping"]["generation"] == "v2"
    assert task["service"]["enabled"] is False and task["service"]["mapping"]["generation"] == "v2"

    # Same options again: nothing to do, and keeping the mapping while disabled is not refused.
    node.clear_requests()
    result, task = run(run_playbook, fleet, {"name": SERVICE, "generation": "v2", "enabled": False})
    assert result.rc == 0 and task["changed"] is False, result.output
    assert node.mutating_requests() == []


def test_hash_based_mapping(fleet_node, run_playbook, make_bundle):
    fleet, node = fleet_node
    with_generations(node, make_bundle)
    mapping = [{"generation": "v1", "proba": 0.5}, {"generation": "v2", "proba": 0.5}]
    args = {"name": SERVICE, "mapping": mapping, "strategy": "hash_based", "audit_routing_key": "churn-ab"}

    result, task = run(run_playbook, fleet, args)
    assert result.rc == 0 and task["changed"] is True, result.output
    active = server_service(node)["activeMapping"]
    assert active["strategy"] == "HASH_BASED" and active["auditRoutingKey"] == "churn-ab"
    assert task["service"]["mapping"]["strategy"] == "hash_based"

    user = node.user_client(SERVICE)
    features = {"age": 42, "plan": "gold", "monthly_charges": 70.5, "tenure_months": 12}
    answered = {}
    for key in ("customer-%d" % i for i in range(40)):
        generations = {user.predict_record("predict", features, dispatch_key=key)["apiContext"]["serviceGeneration"]
                       for attempt in range(3)}
        assert len(generations) == 1, "a dispatch key must always reach the same generation"
        answered[key] = generations.pop()
    assert set(answered.values()) == {"v1", "v2"}

    node.clear_requests()
    result, task = run(run_playbook, fleet, {"name": SERVICE, "mapping": list(reversed(mapping)),
                                             "strategy": "hash_based"})
    assert result.rc == 0 and task["changed"] is False, result.output
    assert node.mutating_requests() == []

    # Only the strategy changes; the audit routing key, not set here, is kept.
    result, task = run(run_playbook, fleet, {"name": SERVICE, "mapping": mapping})
    assert result.rc == 0 and task["changed"] is True, result.output
    active = server_service(node)["activeMapping"]
    assert active["strategy"] == "RANDOM" and active["auditRoutingKey"] == "churn-ab"


BAD_INPUT = [
    ({"name": "churn/../x"}, "Invalid service id 'churn/../x' for name"),
    ({"name": SERVICE, "mapping": [{"generation": "v1", "proba": 0.5}, {"generation": "v2", "proba": 0.4}]},
     "the probas must sum to 1, they sum to 0.9"),
    ({"name": SERVICE, "mapping": [{"generation": "v1", "proba": 0.5}, {"generation": "v1", "proba": 0.5}]},
     "generation v1 is listed more than once"),
    ({"name": SERVICE, "mapping": [{"generation": "v1", "proba": 0.5}, {"generation": "v9", "proba": 0.5}]},
     "Generation(s) v9 of service churn are not on the node (present: v1, v2)"),
    ({"name": SERVICE, "generation": "v1", "strategy": "hash_based"}, "strategy applies only to a mapping"),
    ({"name": SERVICE, "audit_routing_key": "k"}, "audit_routing_key is part of the generations mapping"),
    ({"name": SERVICE, "state": "absent", "enabled": False}, "do not set enabled with it"),
    ({"name": "other", "enabled": True}, "Service other cannot be enabled: it has no generation to serve yet"),
]


def test_bad_input_changes_nothing(fleet_node, run_playbook, make_bundle):
    """Each bad input is a task of one play: each fails with its own one-line message; none reaches the node."""
    fleet, node = fleet_node
    with_generations(node, make_bundle)
    tasks = [task("Bad input %d" % index, "apinode_service", case[0], ignore_errors=True)
             for index, case in enumerate(BAD_INPUT)]
    result = run_playbook(module_play(*tasks), inventory=fleet)
    for index, (args, message) in enumerate(BAD_INPUT):
        outcome = result.task("Bad input %d" % index)
        assert result.status("Bad input %d" % index) == "failed", (args, outcome)
        assert message in outcome["msg"] and "\n" not in outcome["msg"], (args, outcome["msg"])
    assert node.mutating_requests() == []
    assert [s["serviceId"] for s in node.admin_client().list_services()] == [SERVICE]


def test_wrong_admin_key(fleet_node, run_playbook, fleet_inventory, tmp_path):
    fleet, node = fleet_node
    node.clear_requests()
    inventory = fleet_inventory(fleet, tmp_path / "wrong-key.json", apinode_admin_key="not-a-key-0123456789")
    result = run_playbook(service_play({"name": SERVICE}), inventory=inventory)
    task = result.task("Service")
    assert result.rc != 0
    assert task["status"] == 401
    assert "HTTP 401" in task["msg"] and "check the admin API key" in task["msg"]
    assert "not-a-key-0123456789" not in result.output
    assert node.mutating_requests() == []


def test_node_down(fleet_node, run_playbook):
    fleet, node = fleet_node
    node.stop()
    result, task = run(run_playbook, fleet, {"name": SERVICE}, retries=0)
    assert result.rc != 0
    assert "Cannot reach the API node" in task["msg"] and "connection refused" in task["msg"]
    node.start()
    assert server_service(node) is None


def test_server_error_body_is_passed_through(fleet_node, run_playbook):
    fleet, node = fleet_node
    node.clear_requests()
    node.add_fault(method="GET", path="^/admin/api/services$", status=500,
                   body={"errorType": "com.dataiku.common.server.DKUControllerBase$InternalError",
                         "message": "Disk full", "detailedMessage": "Disk full on /data: cannot read state"})
    result, task = run(run_playbook, fleet, {"name": SERVICE}, retries=0)
    assert result.rc != 0
    assert "HTTP 500" in task["msg"] and "Disk full on /data: cannot read state" in task["msg"]
    assert task["error"]["error_type"] == "com.dataiku.common.server.DKUControllerBase$InternalError"
    assert node.mutating_requests() == []
