"""``apinode-sim init/up/status/down/serve`` through the real command line."""

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest
import requests

from apinode_sim import fleet
from apinode_sim.testing import package_env


def sim(*args, check=True, timeout=120):
    result = subprocess.run([sys.executable, "-m", "apinode_sim.cli"] + [str(a) for a in args],
                            capture_output=True, text=True, env=package_env(), timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError("apinode-sim %s failed (%d): %s" % (args, result.returncode, result.stderr))
    return result


def first_key(data_dir):
    """The first admin key of a data dir, read where init writes it (init prints no secret)."""
    with open(os.path.join(data_dir, "config", "adminkeys.json")) as handle:
        return json.load(handle)["keys"][0]


def up(*args):
    """``apinode-sim up``, then the nodes as ROOT/nodes.json lists them (the output holds no key)."""
    root = args[args.index("--root") + 1]
    sim("up", *args)
    with open(os.path.join(str(root), "nodes.json")) as handle:
        return json.load(handle)["nodes"]


def _alive(url):
    with urllib.request.urlopen(url + "/isAlive/", timeout=5) as response:
        return response.status


def test_init_creates_a_data_dir_and_is_idempotent(tmp_path):
    first = json.loads(sim("init", tmp_path / "n").stdout)
    key = first_key(tmp_path / "n")
    # The key's metadata and where it is, never the secret.
    keys_file = str(tmp_path / "n" / "config" / "adminkeys.json")
    assert first == dict([(k, v) for k, v in key.items() if k != "key"], keys_file=keys_file)
    assert len(key["key"]) == 32 and first["createdBy"] == "apinode-sim"
    for sub in ("config/adminkeys.json", "config/server.json", "services", "run", "bin/apinode-admin"):
        assert os.path.exists(tmp_path / "n" / sub), sub
    assert os.access(tmp_path / "n" / "bin" / "apinode-admin", os.X_OK)
    with open(tmp_path / "n" / "config" / "server.json") as handle:
        server = json.load(handle)
    # Like a fresh install: the audit log and the code env settings admins edit there.
    assert server["codeEnvsSettings"] == {"pipInstallExtraOptions": [], "preventOverrideFromImportedEnvs": False,
                                          "condaInstallExtraOptions": [], "condaCreateExtraOptions": []}
    assert server["auditLog"]["logQueries"] is True
    again = json.loads(sim("init", tmp_path / "n").stdout)
    assert again == first and first_key(tmp_path / "n") == key
    sim("init", tmp_path / "m", "--admin-key", "K" * 32)
    assert first_key(tmp_path / "m")["key"] == "K" * 32


def test_up_status_down(tmp_path):
    root = tmp_path / "fleet"
    try:
        nodes = up("--nodes", 2, "--root", root)
        assert [n["name"] for n in nodes] == ["node1", "node2"]
        assert os.stat(root / "nodes.json").st_mode & 0o077 == 0  # it holds admin keys
        assert len({n["port"] for n in nodes}) == 2
        for node in nodes:
            assert _alive(node["url"]) == 200
            assert node["data_dir"] == str(root / node["name"])
            with open(os.path.join(node["data_dir"], "config", "adminkeys.json")) as handle:
                assert node["admin_key"] in {k["key"] for k in json.load(handle)["keys"]}
        status = sim("status", "--root", root, "--json")
        assert [n["state"] for n in json.loads(status.stdout)["nodes"]] == ["alive", "alive"]
        # A second up keeps the running nodes.
        again = up("--nodes", 2, "--root", root)
        assert [n["pid"] for n in again] == [n["pid"] for n in nodes]
        os.kill(nodes[1]["pid"], 9)
        status = sim("status", "--root", root, check=False)
        assert status.returncode == 1
        assert "down" in status.stdout.splitlines()[1]
        down = sim("down", "--root", root)
        assert "stopped" in down.stdout.splitlines()[0]
        assert "not running" in down.stdout.splitlines()[1]
        assert not fleet.pid_running(nodes[0]["pid"])
        assert sim("status", "--root", root, check=False).returncode == 1
    finally:
        sim("down", "--root", root, "--grace", 1, check=False)


def test_up_with_base_port_and_restart_keeps_the_port(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        base = probe.getsockname()[1]
    root = tmp_path / "fleet"
    try:
        nodes = up("--nodes", 1, "--root", root, "--base-port", base)
        assert nodes[0]["port"] == base and nodes[0]["url"] == "http://127.0.0.1:%d" % base
    finally:
        sim("down", "--root", root, "--grace", 1, check=False)


def test_up_passes_key_and_version_options_to_every_node(tmp_path):
    root = tmp_path / "fleet"
    try:
        nodes = up("--nodes", 1, "--root", root, "--hashed-keys", "--key-expiry-unit", "ms", "--dss-version", "13.3.1")
        url, key = nodes[0]["url"], nodes[0]["admin_key"]
        session = requests.Session()
        session.auth = (key, "")
        listed = session.get(url + "/admin/api/keys", timeout=10)
        assert listed.headers["DSS-Version"] == "13.3.1"
        assert listed.json() and all("key" not in k for k in listed.json())  # hashed keys
        created = session.post(url + "/admin/api/keys", json={"label": "x", "expiry": 1234}, timeout=10).json()
        assert created["expiresOn"] == 1234  # ms: an absolute date
        assert session.delete(url + "/admin/api/keys/%s/key" % created["id"], timeout=10).status_code == 200
        refused = sim("up", "--nodes", 1, "--root", tmp_path / "old", "--hashed-keys", "--dss-version", "12.0.0",
                      check=False)
        assert refused.returncode == 1 and "hashed keys need DSS 13.1.0" in refused.stderr
        assert not os.path.exists(tmp_path / "old")
    finally:
        sim("down", "--root", root, "--grace", 1, check=False)


def test_status_and_down_without_nodes_file(tmp_path):
    for command in ("status", "down"):
        result = sim(command, "--root", tmp_path, check=False)
        assert result.returncode == 1
        assert "nodes.json not found" in result.stderr and "apinode-sim up" in result.stderr


def test_serve_on_a_port_in_use(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = sim("serve", "--data-dir", tmp_path / "n", "--port", port, check=False, timeout=30)
        assert result.returncode != 0
        assert "port %d on 127.0.0.1 is already in use" % port in result.stderr
        up = sim("up", "--nodes", 1, "--root", tmp_path / "f", "--base-port", port, check=False)
        assert up.returncode == 1 and "already in use" in up.stderr


def test_data_dir_that_is_a_file(tmp_path):
    target = tmp_path / "file"
    target.write_text("not a directory")
    result = sim("init", target, check=False)
    assert result.returncode == 1
    assert "error:" in result.stderr and str(target) in result.stderr


def test_node_that_dies_at_start_shows_its_log(tmp_path):
    with pytest.raises(fleet.FleetError, match="log tail") as error:
        fleet.spawn_node(str(tmp_path / "n"), extra_args=["--certfile", str(tmp_path / "missing.pem"),
                                                          "--keyfile", str(tmp_path / "missing.pem")])
    assert "missing.pem" in str(error.value)


def test_help_texts_name_every_command():
    text = sim("--help").stdout
    for command in ("init", "serve", "up", "status", "down", "make-bundle"):
        assert command in text
    assert "--base-port" in sim("up", "--help").stdout
    assert "--size-mb" in sim("make-bundle", "--help").stdout


def test_down_kills_a_node_that_ignores_sigterm(tmp_path):
    root = tmp_path / "fleet"
    try:
        (node,) = up("--nodes", 1, "--root", root)
        os.kill(node["pid"], signal.SIGSTOP)  # a stopped process cannot act on SIGTERM
        down = sim("down", "--root", root, "--grace", "0.5")
        assert "killed" in down.stdout
        assert not fleet.pid_running(node["pid"])
    finally:
        sim("down", "--root", root, "--grace", 1, check=False)
