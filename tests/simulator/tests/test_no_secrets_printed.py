"""No secret (admin key, user API key) in what the simulator prints or logs.

Every ``apinode-sim`` command's stdout and stderr, a node's log tail in an error, the traceback a
simulator bug writes to the node's log and the 500 it answers are searched for every secret the data
dirs hold. The secrets stay in the files made for them: ``ROOT/nodes.json`` (mode 0600) and each
``DATA_DIR/config/adminkeys.json``; the output says where they are.
"""

import json
import os

import pytest
import requests

from _server_support import ADMIN_KEY
from apinode_sim import fleet, server
from apinode_sim.redact import MASK, known_secrets
from test_cli_fleet import sim as sim_cli

QUERY_KEY = "UserQueryKey0123456789abcdefABCD"


def assert_no_secret(text, secrets):
    assert secrets, "nothing to look for"
    leaked = sorted(s for s in secrets if s in text)
    assert not leaked, "secrets printed: %d (first chars %s)" % (len(leaked), [s[:4] for s in leaked])


def test_no_command_prints_an_admin_key(tmp_path):
    root = tmp_path / "fleet"
    outputs = []

    def run(*args, check=True):
        result = sim_cli(*args, check=check)
        outputs.append(result.stdout + result.stderr)
        return result

    try:
        table = run("up", "--nodes", 2, "--root", root).stdout
        with open(root / "nodes.json") as handle:
            nodes = json.load(handle)["nodes"]
        # Name, URL, data dir and pid of each node, and where the keys are.
        for node in nodes:
            line = next(line for line in table.splitlines() if line.startswith(node["name"] + " "))
            assert node["url"] in line and node["data_dir"] in line and "pid %d" % node["pid"] in line
        assert "admin keys: %s" % (root / "nodes.json") in table
        listed = json.loads(run("up", "--nodes", 2, "--root", root, "--json").stdout)
        assert listed["keys_file"] == str(root / "nodes.json")
        assert [n["name"] for n in listed["nodes"]] == ["node1", "node2"]
        assert all("admin_key" not in n and n["url"] and n["data_dir"] and n["pid"] for n in listed["nodes"])
        run("status", "--root", root)
        run("status", "--root", root, "--json")
        run("init", root / "node1")
        given = json.loads(run("init", tmp_path / "given", "--admin-key", "GivenAdminKey0123456789abcdefABC").stdout)
        assert "key" not in given and given["keys_file"] == str(tmp_path / "given" / "config" / "adminkeys.json")
        assert given["createdBy"] == "apinode-sim" and given["id"]
        run("make-bundle", "--out", tmp_path / "bundle", "--query-key", QUERY_KEY)
        run("down", "--root", root, "--grace", 1)
        secrets = {n["admin_key"] for n in nodes} | {"GivenAdminKey0123456789abcdefABC", QUERY_KEY}
        for data_dir in [n["data_dir"] for n in nodes] + [str(tmp_path / "given")]:
            secrets |= known_secrets(data_dir)
        assert_no_secret("\n".join(outputs), secrets)
    finally:
        sim_cli("down", "--root", root, "--grace", 1, check=False)


def test_a_log_tail_in_an_error_shows_no_secret(tmp_path):
    data_dir = tmp_path / "n"
    key = fleet.init_node(str(data_dir))["key"]
    os.makedirs(data_dir / "run", exist_ok=True)
    with open(fleet.log_path(str(data_dir)), "w") as log:
        log.write("RuntimeError: admin key %s rejected\n" % key)
    with pytest.raises(fleet.FleetError, match="log tail") as error:
        fleet.spawn_node(str(data_dir), extra_args=["--certfile", str(tmp_path / "missing.pem"),
                                                    "--keyfile", str(tmp_path / "missing.pem")])
    assert "admin key %s rejected" % MASK in str(error.value)
    assert_no_secret(str(error.value), {key})


def test_a_simulator_bug_logs_and_answers_no_secret(sim, packages, monkeypatch, capfd):
    sim.create("secured")
    sim.import_package("secured", packages("v1", public=False, query_keys=[QUERY_KEY]))
    secrets = known_secrets(sim.data_dir)
    assert {ADMIN_KEY, QUERY_KEY} <= secrets

    def bug(unused_node, unused_request):
        raise RuntimeError("cannot compare %s with %s" % (ADMIN_KEY, QUERY_KEY))

    node = sim.server.node
    routes = [(methods, regex, bug if handler.__name__ == "list_services" else handler, admin)
              for methods, regex, handler, admin in node.routes]
    monkeypatch.setattr(node, "routes", routes)
    answer = sim.admin("GET", "services")
    assert answer.status_code == 500
    assert "cannot compare %s with %s" % (MASK, MASK) in answer.text
    assert_no_secret(answer.text, secrets)

    # An error outside any route goes through the server's own error report.
    def broken_read(unused_handler):
        raise RuntimeError("body of %s" % ADMIN_KEY)

    monkeypatch.setattr(server.Handler, "_read_body", broken_read)
    with pytest.raises(requests.ConnectionError):
        requests.get(sim.url + "/isAlive/", timeout=5)
    logged = capfd.readouterr().err
    assert "cannot compare %s with %s" % (MASK, MASK) in logged and "body of %s" % MASK in logged
    assert_no_secret(logged, secrets)


def test_a_deleted_key_is_not_in_the_request_log(sim):
    created = sim.admin("POST", "keys", json={"label": "x"}).json()
    assert sim.admin("DELETE", "keys/" + created["key"]).status_code == 200
    log = json.dumps(sim.hook("GET", "requests").json())
    assert "/admin/api/keys/%s" % MASK in log
    assert_no_secret(log, {created["key"], ADMIN_KEY})
