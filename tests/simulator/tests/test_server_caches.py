"""Code-env and model caches, settings endpoints and the cleanup of unused services/generations."""

import io
import json
import os
import tarfile
import zipfile

import pytest

from _server_support import assert_java_error, make_package


def code_env(root, name, lang="PYTHON"):
    path = root / name
    (path / "spec").mkdir(parents=True)
    (path / "desc.json").write_text(json.dumps({"envName": name, "envLang": lang}))
    (path / "spec" / ("requirements.txt" if lang == "PYTHON" else "packages.txt")).write_text("pandas\n")
    return str(path)


def model_archive(path, key="hf@org/tiny", kind="zip", root="tiny", with_model=True):
    files = {"%s/model_metadata.json" % root: json.dumps({"modelDefinition": {"key": key}})}
    if with_model:
        files["%s/model/config.json" % root] = "{}"
    if kind == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            for name, content in files.items():
                archive.writestr(name, content)
    else:
        with tarfile.open(path, "w:gz") as archive:
            for name, content in files.items():
                data = content.encode()
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return str(path)


def test_code_env_import_and_clean(sim, tmp_path):
    env = code_env(tmp_path, "py-env")
    answer = sim.admin("POST", "cached-code-envs", params={"fileDir": env, "language": "python"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["envName"] == "py-env" and answer.json()["alreadyCached"] is False
    cached = os.path.join(sim.data_dir, "code-envs-cache", "python", "py-env")
    assert os.path.isfile(os.path.join(cached, "ready.txt")) and os.path.isfile(os.path.join(cached, "desc.json"))
    again = sim.admin("POST", "cached-code-envs", params={"fileDir": env, "language": "python"}).json()
    assert again["alreadyCached"] is True
    r_env = code_env(tmp_path, "r-env", "R")
    error = assert_java_error(sim.admin("POST", "cached-code-envs", params={"fileDir": r_env, "language": "python"}),
                              400)
    assert "python" in error["message"] and "R" in error["message"]
    assert_java_error(sim.admin("POST", "cached-code-envs", params={"fileDir": str(tmp_path / "none"),
                                                                    "language": "python"}), 400)
    assert_java_error(sim.admin("POST", "cached-code-envs", params={"fileDir": env}), 400)
    cleaned = sim.admin("DELETE", "cached-code-envs").json()
    assert cleaned["deletedCodeEnvs"] == [{"envName": "py-env", "language": "python"}]
    assert not os.path.exists(cached)


def test_code_env_used_by_a_generation_is_kept(sim, tmp_path):
    env = code_env(tmp_path, "used-env")
    sim.admin("POST", "cached-code-envs", params={"fileDir": env, "language": "python"})
    package = make_package(tmp_path / "v1.zip", "v1", extra_files={
        "endpoint-ep1/python-env-desc/desc.json": json.dumps({"envName": "used-env", "envLang": "PYTHON"})})
    sim.create("svc")
    sim.import_package("svc", package)
    assert sim.admin("DELETE", "cached-code-envs").json()["deletedCodeEnvs"] == []


def test_register_global_code_env(sim, tmp_path):
    env = code_env(tmp_path, "global-env")
    built = tmp_path / "built"
    built.mkdir()
    params = {"exportedEnvDir": env, "builtEnvDir": str(built), "language": "python"}
    answer = sim.admin("POST", "register-global-code-env", params=params)
    assert answer.status_code == 200 and answer.json()["builtEnvDir"] == str(built)
    assert sim.admin("DELETE", "cached-code-envs").json()["deletedCodeEnvs"] == []
    params["builtEnvDir"] = str(tmp_path / "missing")
    assert_java_error(sim.admin("POST", "register-global-code-env", params=params), 400)


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_model_cache(sim, tmp_path, kind):
    archive = model_archive(tmp_path / ("model." + kind), kind=kind)
    answer = sim.admin("POST", "model-cache", params={"modelArchivePath": archive})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"modelKey": "hf@org/tiny", "alreadyCached": False}
    target = os.path.join(sim.data_dir, "model-cache", "hf@org--tiny")
    assert os.path.isfile(os.path.join(target, "model_metadata.json"))
    assert os.path.isdir(os.path.join(target, "model"))
    assert sim.admin("DELETE", "model-cache").status_code == 200
    assert os.listdir(os.path.join(sim.data_dir, "model-cache")) == []


def test_bad_model_archives(sim, tmp_path):
    no_model = model_archive(tmp_path / "nomodel.zip", with_model=False)
    error = assert_java_error(sim.admin("POST", "model-cache", params={"modelArchivePath": no_model}), 400)
    assert no_model in error["message"]
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"junk")
    assert_java_error(sim.admin("POST", "model-cache", params={"modelArchivePath": str(junk)}), 400)
    assert_java_error(sim.admin("POST", "model-cache", params={"modelArchivePath": str(tmp_path / "x")}), 400)


def test_clean_unused_services_and_generations(sim, packages):
    sim.create("live")
    sim.create("off")
    sim.import_package("live", packages("v1", created_on=1))
    sim.import_package("live", packages("v2", created_on=2))
    sim.admin("POST", "services/live/actions/switchTo/v2")
    answer = sim.admin("DELETE", "services-clean-unused").json()
    assert answer["deletedServices"] == ["off"]
    assert answer["deletedGenerations"] == [{"serviceId": "live", "generationId": "v1"}]
    assert [s["serviceId"] for s in sim.admin("GET", "services").json()] == ["live"]
    assert list(sim.generations("live")) == ["v2"]


@pytest.mark.parametrize("pool, rule", [
    ({"floor": 0}, "pool.floor must be a positive integer (got 0)"),
    ({"cruise": 2.5}, "pool.cruise must be a positive integer (got 2.5)"),
    ({"ceil": "8"}, "pool.ceil must be a positive integer (got '8')"),
    ({"floor": 3, "cruise": 2, "ceil": 8}, "the pool needs 1 <= floor <= cruise <= ceil (got floor=3, cruise=2, ceil=8)"),
    ({"floor": 1, "cruise": 4, "ceil": 3}, "the pool needs 1 <= floor <= cruise <= ceil (got floor=1, cruise=4, ceil=3)"),
    ({"ceil": 1}, "the pool needs 1 <= floor <= cruise <= ceil (got floor=1, cruise=2, ceil=1)"),  # default cruise
])
def test_endpoint_tuning_is_validated(sim, pool, rule):
    sim.create("svc")
    response = sim.admin("POST", "services/svc/endpoints/ep1/settings", json={"pool": pool})
    assert_java_error(response, 400, message="Invalid endpoint tuning: " + rule)
    assert not os.path.exists(os.path.join(sim.data_dir, "config", "services", "svc", "ep1.json"))


def test_endpoint_tuning_edge_values_are_accepted(sim):
    sim.create("svc")
    for pool in ({"floor": 1, "cruise": 1, "ceil": 1}, {"floor": 4, "cruise": 4, "ceil": 4, "queue": 0}, {}):
        response = sim.admin("POST", "services/svc/endpoints/ep1/settings", json={"pool": pool})
        assert response.json() == {"ok": True}, response.text
    assert sim.admin("POST", "services/svc/endpoints/ep1/settings", json={"sql": {"x": 1}}).json() == {"ok": True}


def test_settings_endpoints(sim):
    sim.create("svc")
    settings = {"pool": {"floor": 1, "ceil": 4, "cruise": 2, "queue": 16, "timeout": 10000}}
    assert sim.admin("POST", "services/svc/endpoints/ep1/settings", json=settings).json() == {"ok": True}
    path = os.path.join(sim.data_dir, "config", "services", "svc", "ep1.json")
    with open(path) as handle:
        assert json.load(handle) == settings
    assert sim.admin("POST", "services/svc/actions/reset-endpoints-settings").json() == {"ok": True}
    assert not os.path.exists(path)
    assert_java_error(sim.admin("POST", "services/ghost/endpoints/ep1/settings", json=settings), 400)
    audit = sim.admin("GET", "audit-settings").json()
    assert audit["logQueries"] is True
    response = sim.admin("POST", "audit-settings", json=dict(audit, logQueries=False))
    assert response.status_code == 200 and response.content == b""
    assert sim.admin("GET", "audit-settings").json()["logQueries"] is False
