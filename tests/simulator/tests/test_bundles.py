"""The bundle maker writes the package, code env and model formats the simulator and tests rely on."""

import json
import os
import subprocess
import sys
import tarfile
import zipfile

import pytest

from apinode_sim import bundles, scoring
from apinode_sim.testing import make_bundle, package_env


def _zip_json(path, member):
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read(member))


def test_package_content(tmp_path):
    manifest = make_bundle(tmp_path, services=["churn"], versions=["v1"])
    (package,) = manifest["packages"]
    assert package["path"] == str(tmp_path / "churn_v1.zip")
    with zipfile.ZipFile(package["path"]) as archive:
        names = set(archive.namelist())
        assert archive.testzip() is None
    assert {"tag.json", "config.json", "testqueries-predict.json", "endpoint-predict/model/model.json"} <= names
    tag = _zip_json(package["path"], "tag.json")
    assert tag["generationId"] == "v1"
    assert tag["createdOn"] == package["created_on"]
    assert tag["createdWithDSSVersion"] == "13.2.0"
    assert isinstance(tag["createdWithDSSConfVersion"], str)
    config = _zip_json(package["path"], "config.json")
    assert config["publicAccess"] is True
    assert config["endpoints"] == [{"id": "predict", "type": "STD_PREDICTION"}]


def test_test_queries_expect_the_scoring_of_their_generation(tmp_path):
    manifest = make_bundle(tmp_path, services=["churn"], versions=["v1", "v2"])
    by_version = {p["version"]: p for p in manifest["packages"]}
    for version, package in by_version.items():
        queries = _zip_json(package["path"], "testqueries-predict.json")["queries"]
        assert len(queries) == len(bundles.SAMPLE_FEATURES)
        for query in queries:
            assert query["expected"] == scoring.predict(version, "predict", query["q"]["features"])
        assert [q["expected"] for q in package["test_queries"]["predict"]] == [q["expected"] for q in queries]
    v1 = by_version["v1"]["test_queries"]["predict"]
    v2 = by_version["v2"]["test_queries"]["predict"]
    assert [q["expected"] for q in v1] != [q["expected"] for q in v2]


@pytest.mark.parametrize("older,newer", [("v1", "v2"), ("v2", "v10"), ("1.9", "1.10"), ("1.0.9", "1.1.0")])
def test_created_on_follows_version_numbers_whatever_the_call_order(tmp_path, older, newer):
    later = make_bundle(tmp_path / "a", versions=[newer])["packages"][0]["created_on"]
    earlier = make_bundle(tmp_path / "b", versions=[older])["packages"][0]["created_on"]
    assert earlier < later


def test_created_on_can_be_given(tmp_path):
    manifest = make_bundle(tmp_path, versions=["v1", "v2"], created_on={"v1": 5, "v2": 3})
    assert {p["version"]: _zip_json(p["path"], "tag.json")["createdOn"] for p in manifest["packages"]} == \
        {"v1": 5, "v2": 3}


def test_private_package_lists_its_query_key(tmp_path):
    manifest = make_bundle(tmp_path, services=["a", "b"], versions=["v1"], private=True)
    keys = {}
    for package in manifest["packages"]:
        config = _zip_json(package["path"], "config.json")
        assert config["publicAccess"] is False
        assert [k["key"] for k in config["authRealm"]["queryKeys"]] == package["query_keys"]
        assert len(package["query_keys"][0]) == 32
        keys[package["service"]] = package["query_keys"][0]
    assert keys["a"] != keys["b"]
    given = make_bundle(tmp_path / "given", query_keys=["user-key-1"])["packages"][0]
    assert _zip_json(given["path"], "config.json")["authRealm"]["queryKeys"][0]["key"] == "user-key-1"


def test_failing_endpoint_only_in_the_named_package(tmp_path):
    manifest = make_bundle(tmp_path, services=["s"], versions=["v1", "v2"],
                           failing_endpoints=["s:v2:predict:503"])
    configs = {p["version"]: _zip_json(p["path"], "config.json") for p in manifest["packages"]}
    assert "simFailure" not in configs["v1"]["endpoints"][0]
    assert configs["v2"]["endpoints"][0]["simFailure"]["status"] == 503
    assert [p["endpoints"][0]["failing"] for p in manifest["packages"]] == [False, True]


def test_failing_endpoint_must_name_a_built_package(tmp_path):
    with pytest.raises(bundles.BundleError, match="not built"):
        make_bundle(tmp_path, services=["s"], versions=["v1"], failing_endpoints=["s:v9:predict"])


def test_corrupted_package_is_not_a_zip(tmp_path):
    package = make_bundle(tmp_path, corrupted=True)["packages"][0]
    assert package["broken"] == "corrupted"
    assert not zipfile.is_zipfile(package["path"])


def test_no_tag_package_lacks_tag_json_only(tmp_path):
    package = make_bundle(tmp_path, no_tag=True)["packages"][0]
    assert package["broken"] == "no-tag"
    with zipfile.ZipFile(package["path"]) as archive:
        assert "tag.json" not in archive.namelist()
        assert "config.json" in archive.namelist()


def test_size_mb_pads_with_stored_incompressible_data(tmp_path):
    package = make_bundle(tmp_path, size_mb=3)["packages"][0]
    assert package["size_bytes"] >= 3 * 1024 * 1024
    with zipfile.ZipFile(package["path"]) as archive:
        padding = [i for i in archive.infolist() if i.filename.endswith("padding.bin")]
        assert len(padding) == 1
        assert padding[0].compress_type == zipfile.ZIP_STORED
        assert padding[0].file_size == 3 * 1024 * 1024
        assert archive.testzip() is None


def test_endpoint_types(tmp_path):
    package = make_bundle(tmp_path, endpoints=["score", "fn:PY_FUNCTION", "look:DATASETS_LOOKUP"])["packages"][0]
    config = _zip_json(package["path"], "config.json")
    assert [(e["id"], e["type"]) for e in config["endpoints"]] == \
        [("score", "STD_PREDICTION"), ("fn", "PY_FUNCTION"), ("look", "DATASETS_LOOKUP")]
    with zipfile.ZipFile(package["path"]) as archive:
        names = archive.namelist()
    assert "endpoint-fn/code.py" in names
    assert "testqueries-score.json" in names and "testqueries-fn.json" not in names
    with pytest.raises(bundles.BundleError, match="unknown endpoint type"):
        make_bundle(tmp_path, endpoints=["x:NOPE"])


def test_invalid_ids_are_refused(tmp_path):
    with pytest.raises(bundles.BundleError, match="service id"):
        make_bundle(tmp_path, services=["a/b"])
    with pytest.raises(bundles.BundleError, match="version id"):
        make_bundle(tmp_path, versions=[".hidden"])


def test_code_env_folders(tmp_path):
    manifest = make_bundle(tmp_path, code_envs=["py311", "rlang:R"])
    envs = {e["name"]: e for e in manifest["code_envs"]}
    py = envs["py311"]["path"]
    with open(os.path.join(py, "desc.json")) as handle:
        desc = json.load(handle)
    assert desc["envName"] == "py311" and desc["envLang"] == "PYTHON"
    assert os.path.isfile(os.path.join(py, "spec", "requirements.txt"))
    with open(os.path.join(envs["rlang"]["path"], "desc.json")) as handle:
        assert json.load(handle)["envLang"] == "R"
    assert os.path.isfile(os.path.join(envs["rlang"]["path"], "spec", "packages.txt"))


@pytest.mark.parametrize("fmt", ["zip", "tar.gz"])
def test_model_archive_has_one_root_with_model_and_metadata(tmp_path, fmt):
    model = make_bundle(tmp_path, models=["tiny-bert"], model_format=fmt)["models"][0]
    assert model["path"].endswith("tiny-bert." + fmt)
    if fmt == "zip":
        with zipfile.ZipFile(model["path"]) as archive:
            names = archive.namelist()
            metadata = json.loads(archive.read("tiny-bert/model_metadata.json"))
    else:
        with tarfile.open(model["path"]) as archive:
            names = archive.getnames()
            metadata = json.load(archive.extractfile("tiny-bert/model_metadata.json"))
    assert {n.split("/")[0] for n in names} == {"tiny-bert"}
    assert any(n.startswith("tiny-bert/model/") for n in names)
    assert metadata["modelDefinition"]["key"] == "hf@sim-org/tiny-bert" == model["key"]


def test_manifest_file_accumulates_runs(tmp_path):
    make_bundle(tmp_path, services=["s"], versions=["v1"])
    make_bundle(tmp_path, services=["s"], versions=["v2"], corrupted=True)
    make_bundle(tmp_path, services=["s"], versions=["v1"])  # rewrites v1: listed once
    with open(tmp_path / "manifest.json") as handle:
        manifest = json.load(handle)
    assert sorted((p["version"], p["broken"]) for p in manifest["packages"]) == [("v1", None), ("v2", "corrupted")]


def test_make_bundle_command_line(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "apinode_sim.cli", "make-bundle", "--out", str(out), "--service", "churn",
         "--version", "v1", "--version", "v2", "--failing-endpoint", "churn:v2:predict", "--private",
         "--code-env", "py", "--model", "m", "--created-on", "v1=1000"],
        capture_output=True, text=True, check=True, env=package_env())
    listed = result.stdout.split()
    assert str(out / "churn_v1.zip") in listed and str(out / "models" / "m.zip") in listed
    with open(out / "manifest.json") as handle:
        manifest = json.load(handle)
    assert [p["created_on"] for p in manifest["packages"]][0] == 1000
    for key in manifest["packages"][0]["query_keys"]:
        assert key not in result.stdout + result.stderr


def test_make_bundle_command_line_errors(tmp_path):
    result = subprocess.run([sys.executable, "-m", "apinode_sim.cli", "make-bundle", "--out", str(tmp_path),
                             "--failing-endpoint", "nonsense"], capture_output=True, text=True, env=package_env(),
                            check=False)
    assert result.returncode == 1
    assert "SERVICE:VERSION:ENDPOINT" in result.stderr
