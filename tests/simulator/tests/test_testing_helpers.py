"""SimNode / SimFleet helpers: request log, faults, costs, key collection, nodes.json."""

import json
import os

import pytest
import requests
from dataikuapi.utils import DataikuException

from apinode_sim.testing import SimFleet


def test_request_log_and_mutating_requests(node):
    node.clear_requests()
    client = node.admin_client()
    client.list_services()
    client.create_service("logged")
    requests.get(node.url + "/isAlive/", timeout=10)
    log = node.requests()
    # The log records paths without their trailing slash.
    assert [(r["method"], r["path"].rstrip("/")) for r in log] == [
        ("GET", "/admin/api/services"), ("POST", "/admin/api/services"), ("GET", "/isAlive")]
    assert [r["seq"] for r in log] == sorted(r["seq"] for r in log)
    assert log[1]["status"] == 200 and isinstance(log[1]["duration_ms"], (int, float))
    assert [(r["method"], r["path"].rstrip("/")) for r in node.mutating_requests()] == \
        [("POST", "/admin/api/services")]
    assert node.requests(clear=True)
    assert node.requests() == []


def test_faults_by_count_and_path(node):
    client = node.admin_client()
    fault = node.add_fault(method="GET", path=r"/admin/api/services$", status=503, count=1)
    assert isinstance(fault, int)
    with pytest.raises(DataikuException):
        client.list_services()
    assert isinstance(client.list_services(), list)  # count exhausted
    node.add_fault(method="*", path="/keys", status=500, body={"errorType": "Boom", "message": "injected"})
    with pytest.raises(DataikuException, match="Boom: injected"):
        client.auth().list_keys()
    assert node.faults()["faults"]
    node.clear_faults()
    assert node.faults()["faults"] == []
    assert isinstance(client.auth().list_keys(), list)


def test_dropped_connection(node):
    node.add_fault(method="GET", path="/admin/api/metrics", drop=True, count=1)
    with pytest.raises(requests.ConnectionError):
        requests.get(node.url + "/admin/api/metrics", auth=(node.admin_key, ""), timeout=10)
    assert requests.get(node.url + "/admin/api/metrics", auth=(node.admin_key, ""), timeout=10).status_code == 200


def test_set_costs(node):
    answer = node.set_costs(import_seconds_per_mb=0.0, preload_seconds=0.0)
    assert answer["preload_seconds"] == 0.0


def test_hooks_are_404_without_the_flag(tmp_path):
    with SimFleet(tmp_path / "f", nodes=1, test_hooks=False) as fleet:
        node = fleet.nodes[0]
        assert requests.get(node.url + "/__sim__/requests", timeout=10).status_code == 404
        with pytest.raises(AssertionError, match="404"):
            node.requests()


def test_fleet_nodes_file_and_all_keys(tmp_path):
    with SimFleet(tmp_path / "f", nodes=2) as fleet:
        assert [n.name for n in fleet] == ["node1", "node2"] and len(fleet) == 2
        with open(tmp_path / "f" / "nodes.json") as handle:
            listed = json.load(handle)["nodes"]
        assert [(n["name"], n["url"], n["admin_key"]) for n in listed] == \
            [(n.name, n.url, n.admin_key) for n in fleet]
        extra = fleet.node("node2").admin_client().auth().add_key(label="x")["key"]
        keys = fleet.all_keys()
        assert {fleet.node("node1").admin_key, fleet.node("node2").admin_key, extra} <= keys
        with pytest.raises(KeyError):
            fleet.node("node9")
        pids = [n.pid for n in fleet]
    for node, pid in zip(fleet, pids):
        assert not node.running
        assert not os.path.exists("/proc/%d/status" % pid) or "zombie" not in open("/proc/%d/status" % pid).read()


def test_sim_fleet_with_hashed_keys(tmp_path):
    with SimFleet(tmp_path / "fleet", nodes=1, hashed_keys=True) as fleet:
        node = fleet.nodes[0]
        auth = node.admin_client().auth()
        created = auth.add_key(label="hashed", expiry=7)
        assert created["expiresOn"] == created["createdOn"] + 7 * 24 * 3600 * 1000  # default unit: days
        listed = auth.list_keys()
        assert all("key" not in k for k in listed) and created["id"] in {k["id"] for k in listed}
        # The data dir keeps the secrets, so leak checks still see every key.
        assert {node.admin_key, created["key"]} <= fleet.all_keys()
        auth.delete_key_by_id(created["id"])
        assert created["id"] not in {k.get("id") for k in auth.list_keys()}
