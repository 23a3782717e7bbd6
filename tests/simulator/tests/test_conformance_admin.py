"""The official admin client (dataikuapi.APINodeAdminClient, APINodeService, APINodeAuth) works unchanged."""

import json
import os

import pytest
import requests
from dataikuapi.utils import DataikuException

from _conformance import covers
from apinode_sim.testing import SimFleet


def _gens(service):
    return {g["generationId"]: g for g in service.list_generations()}


def _service_entry(client, service_id):
    return {s["serviceId"]: s for s in client.list_services()}.get(service_id)


@covers("APINodeAdminClient.create_service", "APINodeAdminClient.list_services")
def test_create_and_list_services(node):
    client = node.admin_client()
    client.create_service("svc_create")
    entry = _service_entry(client, "svc_create")
    assert entry == {"serviceId": "svc_create", "enabled": False}
    assert os.path.isfile(os.path.join(node.data_dir, "services", "svc_create", "state.json"))
    with pytest.raises(DataikuException, match="Service already exists: svc_create"):
        client.create_service("svc_create")


@covers("APINodeAdminClient.service", "APINodeService.import_generation_from_archive",
        "APINodeService.list_generations")
def test_import_and_list_generations(node, artefacts):
    client = node.admin_client()
    client.create_service("svc_import")
    service = client.service("svc_import")
    v1, v2 = artefacts["by_name"]["churn_v1"], artefacts["by_name"]["churn_v2"]
    service.import_generation_from_archive(v1["path"])
    service.import_generation_from_archive(v2["path"])
    gens = _gens(service)
    assert set(gens) == {"v1", "v2"}
    assert gens["v1"]["createdOn"] == v1["created_on"]
    assert gens["v2"]["createdWithDSSVersion"] == "13.2.0"
    assert gens["v1"]["mapped"] == 0 and gens["v1"]["mounted"] is False
    assert os.path.isfile(os.path.join(node.data_dir, "services", "svc_import", "gens", "v1", "tag.json"))
    with pytest.raises(DataikuException, match="Target dir .* already exists"):
        service.import_generation_from_archive(v1["path"])


def test_import_of_broken_packages_fails_and_leaves_nothing(node, artefacts):
    client = node.admin_client()
    client.create_service("svc_broken")
    service = client.service("svc_broken")
    for path in (artefacts["corrupted"], artefacts["no_tag"], "/nonexistent/archive.zip"):
        with pytest.raises(DataikuException):
            service.import_generation_from_archive(path)
    assert service.list_generations() == []


@covers("APINodeService.switch_to_newest", "APINodeService.switch_to_single_generation")
def test_switch_to_newest_and_to_one_generation(node, artefacts):
    client = node.admin_client()
    client.create_service("svc_switch")
    service = client.service("svc_switch")
    for name in ("churn_v2", "churn_v1"):  # import order must not matter: newest = largest createdOn
        service.import_generation_from_archive(artefacts["by_name"][name]["path"])
    assert service.switch_to_newest() == {"switchedToGeneration": "v2"}
    entry = _service_entry(client, "svc_switch")
    assert entry["enabled"] is True
    assert _gens(service)["v2"]["mapped"] == 1.0
    service.switch_to_single_generation("v1")
    gens = _gens(service)
    assert (gens["v1"]["mapped"], gens["v2"]["mapped"]) == (1.0, 0.0)
    assert gens["v1"]["mounted"] is True
    with pytest.raises(DataikuException):
        service.switch_to_single_generation("v404")


def test_switch_to_newest_without_generation(node):
    client = node.admin_client()
    client.create_service("svc_empty")
    with pytest.raises(DataikuException, match="Found no available generation for service svc_empty"):
        client.service("svc_empty").switch_to_newest()


@covers("APINodeService.set_generations_mapping")
def test_set_generations_mapping(node, artefacts):
    client = node.admin_client()
    client.create_service("svc_mapping")
    service = client.service("svc_mapping")
    for name in ("churn_v1", "churn_v2"):
        service.import_generation_from_archive(artefacts["by_name"][name]["path"])
    mapping = {"entries": [{"generation": "v1", "proba": 0.25}, {"generation": "v2", "proba": 0.75}]}
    service.set_generations_mapping(mapping)
    gens = _gens(service)
    assert (gens["v1"]["mapped"], gens["v2"]["mapped"]) == (0.25, 0.75)
    entry = _service_entry(client, "svc_mapping")
    assert entry["enabled"] is True
    assert entry["activeMapping"]["entries"] == mapping["entries"]
    for bad in ({"entries": []},
                {"entries": [{"generation": "v1", "proba": 0.5}, {"generation": "v2", "proba": 0.4}]},
                {"entries": [{"generation": "v404", "proba": 1.0}]}):
        with pytest.raises(DataikuException):
            service.set_generations_mapping(bad)
    assert _service_entry(client, "svc_mapping")["activeMapping"]["entries"] == mapping["entries"]


@covers("APINodeService.enable", "APINodeService.disable")
def test_enable_and_disable_are_not_idempotent(node, artefacts):
    client = node.admin_client()
    client.create_service("svc_toggle")
    service = client.service("svc_toggle")
    with pytest.raises(DataikuException, match="Cannot enable a service without a generations mapping"):
        service.enable()
    service.import_generation_from_archive(artefacts["by_name"]["churn_v1"]["path"])
    service.switch_to_newest()
    with pytest.raises(DataikuException, match="Service svc_toggle is already enabled"):
        service.enable()
    service.disable()
    entry = _service_entry(client, "svc_toggle")
    assert entry["enabled"] is False and entry["activeMapping"]  # the mapping is kept
    with pytest.raises(DataikuException, match="Service svc_toggle is not enabled"):
        service.disable()
    service.enable()
    assert _service_entry(client, "svc_toggle")["enabled"] is True


@covers("APINodeService.preload_generation")
def test_preload_generation_mounts_without_mapping(node, artefacts):
    client = node.admin_client()
    client.create_service("svc_preload")
    service = client.service("svc_preload")
    service.import_generation_from_archive(artefacts["by_name"]["churn_v1"]["path"])
    service.preload_generation("v1")
    assert _gens(service)["v1"]["mounted"] is True
    assert _gens(service)["v1"]["mapped"] == 0
    assert _service_entry(client, "svc_preload")["enabled"] is False


@covers("APINodeService.delete")
def test_delete_service(node, artefacts):
    client = node.admin_client()
    client.create_service("svc_delete")
    service = client.service("svc_delete")
    service.import_generation_from_archive(artefacts["by_name"]["churn_v1"]["path"])
    service.switch_to_newest()
    service.delete()
    assert _service_entry(client, "svc_delete") is None
    assert not os.path.exists(os.path.join(node.data_dir, "services", "svc_delete"))
    with pytest.raises(DataikuException):
        service.delete()


def test_unknown_service_is_a_400(node):
    service = node.admin_client().service("nope")
    for call in (service.list_generations, service.enable, service.disable, service.switch_to_newest):
        with pytest.raises(DataikuException, match="nope"):
            call()


@covers("APINodeAdminClient.auth", "APINodeAuth.list_keys", "APINodeAuth.add_key", "APINodeAuth.delete_key",
        "APINodeAuth.delete_key_by_id")
def test_admin_keys(node):
    auth = node.admin_client().auth()
    created = auth.add_key(label="deployer", description="for tests", created_by="pytest")
    assert len(created["key"]) == 32 and created["key"].isalnum()
    assert created["label"] == "deployer" and created["createdBy"] == "pytest"
    assert isinstance(created["createdOn"], int)
    assert "expiry" not in created  # nulls are omitted
    assert created["key"] in {k["key"] for k in auth.list_keys()}
    # The new key really is an admin key.
    assert isinstance(node.admin_client(api_key=created["key"]).list_services(), list)
    auth.delete_key(created["key"])
    assert created["key"] not in {k["key"] for k in auth.list_keys()}
    with pytest.raises(DataikuException, match="Key to delete not found$"):
        auth.delete_key(created["key"])
    with pytest.raises(DataikuException):
        node.admin_client(api_key=created["key"]).list_services()
    second = auth.add_key(label="by-id")
    auth.delete_key_by_id(second["id"])
    assert second["key"] not in {k["key"] for k in auth.list_keys()}


def test_wrong_or_missing_admin_key_is_a_401(node):
    with pytest.raises(DataikuException, match="Unknown API key"):
        node.admin_client(api_key="not-a-key").list_services()
    wrong = requests.get(node.url + "/admin/api/services", auth=("not-a-key", ""), timeout=10)
    assert wrong.status_code == 401 and wrong.json()["message"] == "Unknown API key"
    missing = requests.get(node.url + "/admin/api/services", timeout=10)
    assert missing.status_code == 401 and "API Key not provided" in missing.json()["message"]


@covers("APINodeAdminClient.get_metrics")
def test_metrics_count_user_calls(node, artefacts):
    client = node.admin_client()
    client.create_service("svc_metrics")
    service = client.service("svc_metrics")
    service.import_generation_from_archive(artefacts["by_name"]["churn_v1"]["path"])
    service.switch_to_newest()
    name = "dku.lambda.service.svc_metrics.predict.requests"
    before = client.get_metrics().get("meters", {}).get(name, {}).get("count", 0)
    user = node.user_client("svc_metrics")
    for attempt in range(3):
        user.predict_record("predict", {"age": 1})
    metrics = client.get_metrics()
    assert {"gauges", "counters", "histograms", "meters", "timers"} <= set(metrics)
    assert metrics["meters"][name]["count"] == before + 3


@covers("APINodeAdminClient.import_code_env_in_cache", "APINodeAdminClient.register_code_env_in_cache",
        "APINodeAdminClient.clean_code_env_cache")
def test_code_env_cache(node, artefacts, tmp_path, capsys):
    client = node.admin_client()
    envs = {e["name"]: e["path"] for e in artefacts["code_envs"]}
    answer = client.import_code_env_in_cache(envs["py-env"], "python")
    assert isinstance(answer, dict)
    cache = os.path.join(node.data_dir, "code-envs-cache")
    cached = [root for root, dirs, unused_files in os.walk(cache) if "py-env" in dirs]
    assert cached, "the code env is not in the node's cache"
    with pytest.raises(DataikuException, match="(?i)R.*PYTHON|PYTHON.*R"):
        client.import_code_env_in_cache(envs["py-env"], "R")
    built = tmp_path / "built-r-env"
    built.mkdir()
    assert isinstance(client.register_code_env_in_cache(envs["r-env"], str(built), "R"), dict)
    capsys.readouterr()
    client.clean_code_env_cache()  # the client prints the answer and returns None
    answer = json.loads(capsys.readouterr().out)
    assert "py-env" in json.dumps(answer)  # unused, so cleaned
    assert not [root for root, dirs, unused_files in os.walk(cache) if "py-env" in dirs]
    with pytest.raises(DataikuException, match="does not exist"):
        client.import_code_env_in_cache(str(tmp_path / "missing"), "python")


@covers("APINodeAdminClient.import_model_archive_in_cache", "APINodeAdminClient.clear_model_cache")
def test_model_cache(node, artefacts, tmp_path):
    client = node.admin_client()
    (model,) = [m for m in artefacts["models"] if m["name"] == "tiny"]
    answer = client.import_model_archive_in_cache(model["path"])
    assert isinstance(answer, dict)
    cache = os.path.join(node.data_dir, "model-cache")
    assert os.listdir(cache)
    client.clear_model_cache()
    assert not [n for n in os.listdir(cache) if not n.startswith(".")]
    bad = tmp_path / "not-a-model.zip"
    bad.write_bytes(b"nothing")
    with pytest.raises(DataikuException, match="not-a-model.zip"):
        client.import_model_archive_in_cache(str(bad))


@covers("APINodeAdminClient.clean_unused_services_and_generations")
def test_clean_unused_services_and_generations(tmp_path, artefacts, capsys):
    # Destructive for every service of the node: run on a node of its own.
    with SimFleet(tmp_path / "fleet", nodes=1) as fleet:
        client = fleet.nodes[0].admin_client()
        for service_id in ("kept", "disabled"):
            client.create_service(service_id)
            for name in ("churn_v1", "churn_v2"):
                client.service(service_id).import_generation_from_archive(artefacts["by_name"][name]["path"])
        client.service("kept").switch_to_single_generation("v2")
        capsys.readouterr()
        client.clean_unused_services_and_generations()  # the client prints the answer and returns None
        assert "disabled" in json.loads(capsys.readouterr().out)["deletedServices"]
        assert [s["serviceId"] for s in client.list_services()] == ["kept"]
        assert set(_gens(client.service("kept"))) == {"v2"}
