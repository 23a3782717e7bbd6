"""The request log tells whether the node was drained (forced not alive) when each request arrived."""

import os

import pytest
import requests


@pytest.fixture
def live(sim, packages):
    sim.create("svc")
    sim.import_package("svc", packages("v1"))
    sim.import_package("svc", packages("v2", created_on=1700000001000))
    sim.admin("POST", "services/svc/actions/switchTo/v1")
    sim.hook("DELETE", "requests")
    return sim


def logged(node):
    return [(e["method"], e["path"], e["status"], e["not_alive"]) for e in node.hook("GET", "requests").json()["requests"]]


def test_switch_while_drained_through_the_admin_api_is_logged_not_alive(live):
    assert live.admin("POST", "set-not-alive").status_code == 200
    assert requests.get(live.url + "/isAlive/").status_code == 503
    assert live.admin("POST", "services/svc/actions/switchTo/v2").status_code == 200
    assert live.admin("POST", "set-alive").status_code == 200
    assert requests.get(live.url + "/isAlive/").status_code == 200

    assert logged(live) == [
        ("POST", "/admin/api/set-not-alive", 200, False),  # arrived while the node was still in its pool
        ("GET", "/isAlive", 503, True),
        ("POST", "/admin/api/services/svc/actions/switchTo/v2", 200, True),
        ("POST", "/admin/api/set-alive", 200, True),
        ("GET", "/isAlive", 200, False),
    ]


def test_a_flag_file_written_on_disk_is_seen_too(live):
    flag = os.path.join(live.data_dir, "apinode-not-alive.txt")
    with open(flag, "w") as handle:
        handle.write("drained by hand\n")
    live.admin("POST", "services/svc/actions/switchTo/v2")
    os.remove(flag)
    live.admin("POST", "services/svc/actions/switchTo/v1")

    assert [(path, not_alive) for _m, path, _s, not_alive in logged(live)] == [
        ("/admin/api/services/svc/actions/switchTo/v2", True),
        ("/admin/api/services/svc/actions/switchTo/v1", False),
    ]


def test_injected_faults_and_dropped_connections_carry_the_flag(live):
    live.hook("POST", "faults", json={"method": "GET", "path": "^/admin/api/services$", "status": 503, "count": 1})
    live.admin("POST", "set-not-alive")
    assert live.admin("GET", "services").status_code == 503
    live.hook("POST", "faults", json={"method": "GET", "path": "^/admin/api/services$", "drop": True, "count": 1})
    with pytest.raises(Exception):
        live.admin("GET", "services")
    entries = live.hook("GET", "requests").json()["requests"]
    assert [(e["status"], e["not_alive"], e.get("dropped", False)) for e in entries[1:]] == [
        (503, True, False), (0, True, True)]
