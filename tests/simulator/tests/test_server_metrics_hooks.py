"""Metrics that really count user queries, and the test hooks (request log, faults, costs)."""

import pytest
import requests

from _server_support import assert_java_error, running_node

ENDPOINTS = [{"id": "ep1", "type": "STD_PREDICTION"},
             {"id": "bad", "type": "STD_PREDICTION", "simFailure": {"status": 503}}]


@pytest.fixture
def live(sim, packages):
    sim.create("svc")
    sim.import_package("svc", packages("v1", endpoints=ENDPOINTS))
    sim.admin("POST", "services/svc/actions/switchTo/v1")
    return sim


def test_metrics_count_user_requests(live):
    for i in range(3):
        assert live.user("POST", "svc/ep1/predict", json={"features": {"i": i}}).status_code == 200
    assert live.user("POST", "svc/bad/predict", json={"features": {}}).status_code == 503
    dump = live.admin("GET", "metrics").json()
    assert set(dump) >= {"version", "gauges", "counters", "histograms", "meters", "timers"}
    prefix = "dku.lambda.service.svc."
    assert dump["counters"][prefix + "activeRequests"] == {"count": 0}
    assert dump["meters"][prefix + "requestsPerGeneration.v1"]["count"] == 4
    assert dump["meters"][prefix + "ep1.requests"]["count"] == 3
    assert dump["meters"][prefix + "ep1.successRequests"]["count"] == 3
    assert dump["meters"][prefix + "bad.requests"]["count"] == 1
    assert prefix + "bad.successRequests" not in dump["meters"]
    assert dump["meters"][prefix + "ep1.requests"]["units"] == "events/second"
    timer = dump["timers"][prefix + "ep1.totalProcessing"]
    assert timer["count"] == 3 and timer["duration_units"] == "milliseconds" and timer["max"] >= timer["min"]
    stats = live.admin("GET", "services/svc/stats").json()
    by_endpoint = {e["enpdointId"]: e for e in stats["endpoints"]}
    assert by_endpoint["ep1"]["requests"]["count"] == 3
    assert by_endpoint["bad"]["successRequests"]["count"] == 0
    assert by_endpoint["ep1"]["processingTime"]["count"] == 3
    assert_java_error(live.admin("GET", "services/ghost/stats"), 404)
    text = live.admin("GET", "metrics-prometheus").text
    assert "dku_lambda_service_svc_ep1_requests_total 3" in text


def test_request_log(live):
    assert live.hook("DELETE", "requests").status_code == 200
    live.admin("GET", "services")
    live.admin("POST", "services/svc/actions/disable")
    secret = live.admin("POST", "keys", json={"label": "t"}).json()["key"]
    live.admin("DELETE", "keys/" + secret)
    entries = live.hook("GET", "requests").json()["requests"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("GET", "/admin/api/services", 200),
        ("POST", "/admin/api/services/svc/actions/disable", 200),
        ("POST", "/admin/api/keys", 200),
        ("DELETE", "/admin/api/keys/<redacted>", 200)]
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    assert all(e["duration_ms"] >= 0 and "query" in e and "time" in e for e in entries)
    assert secret not in str(entries)
    live.hook("DELETE", "requests")
    assert live.hook("GET", "requests").json() == {"requests": []}


def test_request_is_logged_before_it_is_answered(live):
    # Tests read the log right after their own request returns, with no waiting: every answered
    # request must already be there, on every try.
    live.hook("DELETE", "requests")
    for attempt in range(30):
        live.admin("GET", "services/svc/generations")
        entries = live.hook("GET", "requests").json()["requests"]
        assert len(entries) == attempt + 1, entries
        assert entries[-1]["path"] == "/admin/api/services/svc/generations"
        assert entries[-1]["status"] == 200


def test_fault_status_with_count(live):
    rule = live.hook("POST", "faults", json={"method": "POST", "path": "actions/disable", "status": 503,
                                             "body": {"message": "busy"}, "count": 2}).json()
    assert isinstance(rule["id"], int)
    assert live.hook("GET", "faults").json()["faults"][0]["id"] == rule["id"]
    for attempt in range(2):
        response = live.admin("POST", "services/svc/actions/disable")
        assert response.status_code == 503 and response.json() == {"message": "busy"}
    assert live.admin("GET", "services").json()[0]["enabled"] is True, "a faulted call must not run"
    assert live.admin("POST", "services/svc/actions/disable").status_code == 200
    assert live.hook("GET", "faults").json() == {"faults": []}
    statuses = [e["status"] for e in live.hook("GET", "requests").json()["requests"]
                if e["path"].endswith("actions/disable")]
    assert statuses == [503, 503, 200]


def test_fault_method_filter_and_default_body(live):
    live.hook("POST", "faults", json={"method": "DELETE", "path": "^/admin/api/services", "status": 500})
    assert live.admin("GET", "services").status_code == 200
    assert_java_error(live.admin("DELETE", "services/svc"), 500)
    live.hook("DELETE", "faults")
    assert live.admin("DELETE", "services/svc").status_code == 200


def test_fault_drop_closes_the_connection(live):
    live.hook("POST", "faults", json={"method": "*", "path": "/generations$", "drop": True, "count": 1})
    with pytest.raises(requests.ConnectionError):
        requests.get(live.url + "/admin/api/services/svc/generations", auth=(live.admin_key, ""))
    assert requests.get(live.url + "/admin/api/services/svc/generations", auth=(live.admin_key, "")).ok
    dropped = [e for e in live.hook("GET", "requests").json()["requests"] if e.get("dropped")]
    assert len(dropped) == 1


def test_fault_delay_without_status_delays_the_real_answer(live):
    live.hook("POST", "faults", json={"path": "/services$", "delay": 0.3, "count": 1})
    response = live.admin("GET", "services")
    assert response.status_code == 200 and response.json()[0]["serviceId"] == "svc"
    entry = [e for e in live.hook("GET", "requests").json()["requests"] if e["path"] == "/admin/api/services"][-1]
    assert entry["duration_ms"] >= 300


def test_fault_probability_zero_never_fires(live):
    live.hook("POST", "faults", json={"path": "/services$", "status": 500, "probability": 0.0})
    assert all(live.admin("GET", "services").status_code == 200 for call in range(10))


def test_bad_fault_rule(live):
    assert live.hook("POST", "faults", json={"path": "("}).status_code == 400
    assert live.hook("POST", "faults", json={"path": "x"}).status_code == 400


def test_costs_can_be_changed(live):
    assert live.hook("POST", "costs", json={"import_seconds_per_mb": 2.5, "preload_seconds": 0.1}).json() == {
        "import_seconds_per_mb": 2.5, "preload_seconds": 0.1}
    assert live.hook("GET", "costs").json()["import_seconds_per_mb"] == 2.5
    assert live.hook("POST", "costs", json={"preload_seconds": -1}).status_code == 400


def test_preload_cost_is_paid_outside_the_lock(live, packages):
    """A slow preload must not block other requests: they are served (and logged) before it ends."""
    import threading
    live.import_package("svc", packages("v2", created_on=5))
    live.hook("POST", "costs", json={"preload_seconds": 1.0})
    live.hook("DELETE", "requests")
    thread = threading.Thread(target=live.admin, args=("POST", "services/svc/generations/v2/preload"))
    thread.start()
    try:
        for attempt in range(5):
            assert live.admin("GET", "services").status_code == 200
    finally:
        thread.join()
    order = [e["path"] for e in live.hook("GET", "requests").json()["requests"]]
    assert order[-1].endswith("/preload"), order
    assert live.generations("svc")["v2"]["mounted"] is True


def test_hooks_absent_without_the_flag(tmp_path):
    with running_node(tmp_path / "plain") as plain:
        assert_java_error(requests.get(plain.url + "/__sim__/requests"), 404)
        assert_java_error(requests.post(plain.url + "/__sim__/faults", json={"status": 500}), 404)
