"""apinode_info against simulated nodes: each gather subset, its cost in requests, no secrets, errors."""

import json
import os

import pytest
from harness import module_play, task


def info_play(args=None):
    return module_play(task("Read the node", "apinode_info", args or {}))


@pytest.fixture
def fleet(sim_fleet):
    return sim_fleet(nodes=1, extra_args=["--dss-version", "14.1.2"])


@pytest.fixture
def node(fleet):
    return fleet.nodes[0]


@pytest.fixture
def deployed(node, make_bundle):
    """churn serving v2 with v1 on disk, fraud created but never switched; three predictions on churn."""
    manifest = make_bundle(services=["churn"], versions=["v1", "v2"])
    admin = node.admin_client()
    admin.create_service("churn")
    churn = admin.service("churn")
    for package in manifest["packages"]:
        churn.import_generation_from_archive(package["path"])
    churn.switch_to_single_generation("v2")
    admin.create_service("fraud")
    user = node.user_client("churn")
    for dummy in range(3):
        user.predict_record("predict", {"age": 42, "plan": "gold", "monthly_charges": 70.5, "tenure_months": 12})
    return manifest


def test_default_gathers_services_and_node(fleet, node, deployed, run_playbook):
    node.clear_requests()
    result = run_playbook(info_play(), inventory=fleet, check=True)
    assert result.rc == 0, result.output
    info = result.task("Read the node")
    assert info["changed"] is False
    assert set(info) >= {"services", "node"} and "admin_keys" not in info and "metrics" not in info
    assert [s["id"] for s in info["services"]] == ["churn", "fraud"]
    churn, fraud = info["services"]
    assert churn["enabled"] is True
    assert churn["mapping"]["mode"] == "SINGLE_GENERATION"
    assert churn["mapping"]["generation"] == "v2"
    assert churn["mapping"]["entries"] == [{"generation": "v2", "proba": 1.0}]
    generations = dict((g["generationId"], g) for g in churn["generations"])
    assert sorted(generations) == ["v1", "v2"]
    assert generations["v2"]["mapped"] == 1.0 and generations["v2"]["mounted"] is True
    assert generations["v1"]["mapped"] == 0.0
    assert fraud["enabled"] is False and fraud["mapping"] is None and fraud["generations"] == []
    assert info["node"] == {"url": node.url, "alive": True, "forced_not_alive": False,
                            "dss_version": "14.1.2", "api_version": "1",
                            "health_checks": {"deadlocks": {"healthy": True}},
                            # what the node's version has, from the one table of first versions
                            "features": {"register_code_env": True, "model_cache": True, "cleanup": True,
                                         "hashed_keys": True, "delete_key_by_id": True, "key_expiry": True}}
    # services (1) + generations per service (2) + isAlive (1); the version comes from the services read.
    assert info["api_calls"] == 4
    assert node.mutating_requests() == []


def test_services_filter_limits_the_reads(fleet, node, deployed, run_playbook):
    result = run_playbook(info_play({"gather": ["services"], "services": ["fraud", "missing"]}), inventory=fleet)
    info = result.task("Read the node")
    assert [s["id"] for s in info["services"]] == ["fraud"]
    assert info["api_calls"] == 2
    assert "node" not in info


def test_services_without_generations_is_one_request(fleet, node, deployed, run_playbook):
    node.clear_requests()
    result = run_playbook(info_play({"gather": ["services"], "generations": False}), inventory=fleet)
    assert result.rc == 0, result.output
    info = result.task("Read the node")
    assert [(r["method"], r["path"]) for r in node.requests()] == [("GET", "/admin/api/services")]
    assert info["api_calls"] == 1
    churn, fraud = info["services"]
    assert churn["id"] == "churn" and churn["enabled"] is True
    assert churn["mapping"]["generation"] == "v2"
    assert fraud["id"] == "fraud" and fraud["enabled"] is False and fraud["mapping"] is None
    assert all("generations" not in s for s in info["services"])


def test_cache_imports_lists_what_apinode_cache_imported_per_node(sim_fleet, make_bundle, run_playbook, tmp_path):
    fleet = sim_fleet(nodes=2)
    one, two = fleet.nodes
    manifest = make_bundle(services=["churn"], versions=["v1"], code_envs=["churn-py"], models=["sentiment"])
    model, env = manifest["models"][0]["path"], manifest["code_envs"][0]["path"]
    state_dir = str(tmp_path / "markers")
    # One folder shared by both nodes (as on a shared staging disk): each must see only its own imports.
    import_model = module_play(task("Import", "apinode_cache", {"model_archive": model, "state_dir": state_dir}))
    imported_model = run_playbook(import_model, inventory=fleet, limit=one.name)
    assert imported_model.rc == 0, imported_model.output
    import_env = module_play(task("Import", "apinode_cache", {"code_env": env, "state_dir": state_dir}))
    imported_env = run_playbook(import_env, inventory=fleet, limit=two.name)
    assert imported_env.rc == 0, imported_env.output
    (tmp_path / "markers" / "notes.txt").write_text("not a marker")

    for node in fleet.nodes:
        node.clear_requests()
    result = run_playbook(info_play({"gather": ["cache_imports"], "cache_state_dir": state_dir}),
                          inventory=fleet, check=True)
    assert result.rc == 0, result.output

    model_import = imported_model.task("Import")["imports"][0]
    on_one = result.task("Read the node", host=one.name)
    assert on_one["changed"] is False and on_one["api_calls"] == 0
    assert [set(i) for i in on_one["cache_imports"]] == [{"kind", "path", "fingerprint", "options", "recorded_on"}]
    entry = on_one["cache_imports"][0]
    assert (entry["kind"], entry["path"], entry["fingerprint"]) == ("model", model, model_import["fingerprint"])
    assert entry["options"] == {"modelArchivePath": model}
    assert isinstance(entry["recorded_on"], int) and entry["recorded_on"] > 0

    env_import = imported_env.task("Import")["imports"][0]
    on_two = result.task("Read the node", host=two.name)
    assert [(i["kind"], i["path"], i["fingerprint"]) for i in on_two["cache_imports"]] == [
        ("code_env", env, env_import["fingerprint"])]
    assert on_two["cache_imports"][0]["options"] == {"language": "python"}
    assert all(node.requests() == [] for node in fleet.nodes)

    missing = run_playbook(info_play({"gather": ["cache_imports"], "cache_state_dir": str(tmp_path / "none")}),
                           inventory=fleet, limit=one.name)
    assert missing.rc == 0, missing.output
    assert missing.task("Read the node")["cache_imports"] == []


def test_cache_imports_needs_the_state_dir(fleet, node, run_playbook):
    node.clear_requests()
    result = run_playbook(info_play({"gather": ["services", "cache_imports"]}), inventory=fleet)
    assert result.rc != 0
    assert "cache_state_dir" in result.task("Read the node")["msg"]
    assert node.requests() == []


def test_keys_without_secrets(fleet, node, run_playbook):
    created = node.admin_client().auth().add_key(label="deployer", description="API Deployer", created_by="ops")
    result = run_playbook(info_play({"gather": ["keys"]}), inventory=fleet, verbosity=3)
    assert result.rc == 0, result.output
    info = result.task("Read the node")
    assert info["api_calls"] == 1
    labels = [k.get("label") for k in info["admin_keys"]]
    assert "deployer" in labels
    deployer = info["admin_keys"][labels.index("deployer")]
    assert deployer == {"id": created["id"], "label": "deployer", "description": "API Deployer", "createdBy": "ops",
                        "createdOn": created["createdOn"]}
    assert all("key" not in k for k in info["admin_keys"])
    for secret in fleet.all_keys():
        assert secret not in result.output
        assert secret not in json.dumps(info)


def test_metrics_and_summary(fleet, node, deployed, run_playbook):
    result = run_playbook(info_play({"gather": ["metrics"]}), inventory=fleet)
    info = result.task("Read the node")
    assert info["api_calls"] == 1
    assert "meters" in info["metrics"]
    churn = info["metrics_summary"]["churn"]
    assert churn["requests"] == 3
    assert churn["success_requests"] == 3
    assert churn["endpoints"]["predict"] == {"requests": 3, "success_requests": 3}
    assert churn["active_requests"] == 0

    limited = run_playbook(info_play({"gather": ["metrics"], "services": ["fraud"]}), inventory=fleet)
    assert "churn" not in limited.task("Read the node")["metrics_summary"]


def test_node_drained(fleet, node, run_playbook):
    open(os.path.join(node.data_dir, "apinode-not-alive.txt"), "w").close()
    result = run_playbook(info_play({"gather": ["node"]}), inventory=fleet)
    assert result.rc == 0, result.output
    facts = result.task("Read the node")["node"]
    assert facts["alive"] is False and facts["forced_not_alive"] is True
    assert facts["dss_version"] == "14.1.2"


def test_everything_at_once_on_a_fleet(sim_fleet, run_playbook):
    fleet = sim_fleet(nodes=2)
    result = run_playbook(info_play({"gather": ["services", "keys", "metrics", "node"]}), inventory=fleet)
    assert result.rc == 0, result.output
    for node in fleet.nodes:
        info = result.task("Read the node", host=node.name)
        assert info["node"]["url"] == node.url
        assert info["services"] == []
        assert info["admin_keys"] and info["metrics_summary"] == {}


def test_bad_gather_value_and_errors(fleet, node, run_playbook):
    node.clear_requests()
    bad = run_playbook(info_play({"gather": ["secrets"]}), inventory=fleet)
    assert bad.rc != 0 and "gather" in bad.task("Read the node")["msg"]
    assert node.requests() == []

    unauthorised = run_playbook(info_play({"api_key": "NotTheKey000000000000000000000000"}), inventory=fleet)
    task = unauthorised.task("Read the node")
    assert unauthorised.rc != 0 and task["status"] == 401
    assert "NotTheKey" not in unauthorised.output

    node.stop()
    down = run_playbook(info_play({"gather": ["node"], "retries": 0}), inventory=fleet)
    assert down.rc != 0
    assert "Cannot reach the API node" in down.task("Read the node")["msg"]
