"""Version gating: a node started with --dss-version V answers like a real node of version V for the
features newer than V (404 for a path it does not know, 405 for a known path with a newer method)."""

import subprocess
import sys

import pytest
from dataikuapi.utils import DataikuException

from _server_support import running_node
from apinode_sim import versions
from apinode_sim.testing import SimFleet, package_env


def test_one_table_of_first_versions():
    assert {name: first for name, (first, unused_what) in versions.FEATURES.items()} == {
        "register_code_env": "12.4.0", "model_cache": "12.5.0", "cleanup": "13.0.0", "hashed_keys": "13.1.0",
        "delete_key_by_id": "13.1.1", "key_expiry": "13.3.0"}
    assert versions.supports("13.1.1", "delete_key_by_id") and not versions.supports("13.1.0", "delete_key_by_id")
    assert versions.supports(None, "key_expiry") and versions.parse("13.2") == (13, 2, 0)
    with pytest.raises(ValueError, match="invalid DSS version"):
        versions.parse("latest")


# (version, method, path, status): each gated route just before and at its first version.
GATED = [
    ("12.3.9", "POST", "register-global-code-env?exportedEnvDir=x&builtEnvDir=y&language=python", 404),
    ("12.4.0", "POST", "register-global-code-env?exportedEnvDir=x&builtEnvDir=y&language=python", 400),
    ("12.4.0", "POST", "model-cache?modelArchivePath=/nonexistent.zip", 404),
    ("12.4.0", "DELETE", "model-cache", 404),
    ("12.5.0", "POST", "model-cache?modelArchivePath=/nonexistent.zip", 400),
    ("12.5.0", "DELETE", "model-cache", 200),
    ("12.6.0", "DELETE", "services-clean-unused", 404),
    ("12.6.0", "DELETE", "cached-code-envs", 405),  # POST cached-code-envs is older: known path
    ("13.0.0", "DELETE", "services-clean-unused", 200),
    ("13.0.0", "DELETE", "cached-code-envs", 200),
    ("13.1.0", "DELETE", "keys/someid/key", 404),
    ("13.1.1", "DELETE", "keys/someid/key", 400),  # exists: the id is unknown
]


@pytest.mark.parametrize("version, method, path, status", GATED)
def test_gated_routes(tmp_path, version, method, path, status):
    with running_node(tmp_path / "n", dss_version=version) as sim:
        response = sim.admin(method, path)
        assert response.status_code == status, response.text
        assert sim.admin("GET", "services").headers["DSS-Version"] == version
        if status == 404:
            assert response.json()["message"].startswith("No handler found for %s" % method)
        if status == 405:
            assert response.json()["message"] == "Request method '%s' not supported" % method


def test_every_route_exists_on_the_default_version(sim):
    assert sim.admin("DELETE", "keys/someid/key").status_code == 400
    assert sim.admin("DELETE", "services-clean-unused").status_code == 200
    assert sim.admin("DELETE", "model-cache").status_code == 200


def test_official_client_against_an_older_node(tmp_path):
    with SimFleet(tmp_path / "fleet", nodes=1, dss_version="12.0.0") as fleet:
        node = fleet.nodes[0]
        client = node.admin_client()
        client.create_service("old")
        assert [s["serviceId"] for s in client.list_services()] == ["old"]
        created = client.auth().add_key(label="old-node", expiry=30)
        assert "expiry" not in created and "expiresOn" not in created
        with pytest.raises(DataikuException, match="No handler found for DELETE"):
            client.auth().delete_key_by_id(created["id"])
        with pytest.raises(DataikuException, match="No handler found for DELETE"):
            client.clear_model_cache()
        with pytest.raises(DataikuException, match="No handler found for DELETE"):
            client.clean_unused_services_and_generations()
        with pytest.raises(DataikuException, match="not supported"):
            client.clean_code_env_cache()
        client.auth().delete_key(created["key"])  # delete by value is as old as keys
        assert [r["status"] for r in node.requests() if r["path"].endswith("/key")] == [404]


def test_serve_refuses_hashed_keys_on_an_old_version(tmp_path):
    result = subprocess.run([sys.executable, "-m", "apinode_sim.cli", "serve", "--data-dir", str(tmp_path / "n"),
                             "--hashed-keys", "--dss-version", "13.0.0"], capture_output=True, text=True,
                            env=package_env(), timeout=60, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: hashed keys need DSS 13.1.0 or later (the node runs 13.0.0)"
    result = subprocess.run([sys.executable, "-m", "apinode_sim.cli", "serve", "--data-dir", str(tmp_path / "n"),
                             "--dss-version", "new"], capture_output=True, text=True, env=package_env(),
                            timeout=60, check=False)
    assert result.returncode == 1 and "invalid DSS version 'new'" in result.stderr
