"""Test hooks on user queries: synthetic traffic and faults of one generation, seen through the metrics."""

import pytest

from _server_support import assert_java_error, running_node

ENDPOINTS = [{"id": "ep1", "type": "STD_PREDICTION"}, {"id": "ep2", "type": "STD_PREDICTION"},
             {"id": "fn", "type": "PY_FUNCTION"}, {"id": "look", "type": "DATASETS_LOOKUP"},
             {"id": "sql", "type": "SQL_QUERY"}]
PREFIX = "dku.lambda.service.svc."


@pytest.fixture
def live(sim, packages):
    """svc with v1 and v2 (both loaded), serving 50/50 at random."""
    sim.create("svc")
    sim.import_package("svc", packages("v1", endpoints=ENDPOINTS))
    sim.import_package("svc", packages("v2", created_on=1700000001000, endpoints=ENDPOINTS))
    set_mapping(sim, "RANDOM")
    return sim


def set_mapping(sim, strategy):
    body = {"mode": "MULTI_GENERATION", "strategy": strategy,
            "entries": [{"generation": "v1", "proba": 0.5}, {"generation": "v2", "proba": 0.5}]}
    response = sim.admin("POST", "services/svc/actions/setMapping", json=body)
    assert response.status_code == 200, response.text


def meters(sim):
    dump = sim.admin("GET", "metrics").json()["meters"]
    return dict((name[len(PREFIX):], meter["count"]) for name, meter in dump.items() if name.startswith(PREFIX))


def traffic(sim, **body):
    response = sim.hook("POST", "traffic", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_traffic_is_counted_per_endpoint_and_per_generation(live):
    forced = traffic(live, service="svc", endpoint="ep1", count=7, generation="v2")
    assert forced == {"sent": 7, "statuses": {"200": 7}, "generations": {"v2": 7}, "with_dispatch_key": 0}
    spread = traffic(live, service="svc", endpoint="ep2", count=40)
    assert spread["statuses"] == {"200": 40}
    assert sum(spread["generations"].values()) == 40 and set(spread["generations"]) <= {"v1", "v2"}
    counts = meters(live)
    assert counts["ep1.requests"] == counts["ep1.successRequests"] == 7
    assert counts["ep2.requests"] == counts["ep2.successRequests"] == 40
    assert counts["requestsPerGeneration.v2"] == 7 + spread["generations"].get("v2", 0)
    assert counts["requestsPerGeneration.v1"] == spread["generations"].get("v1", 0)
    # Synthetic traffic is not in the request log: the log shows only what clients sent.
    assert [e["path"] for e in live.hook("GET", "requests").json()["requests"]
            if e["path"].startswith("/public/")] == []


@pytest.mark.parametrize("endpoint, action", [("fn", "run"), ("look", "lookup"), ("sql", "query"), ("ep1", "predict")])
def test_traffic_uses_the_action_of_the_endpoint_type(live, endpoint, action):
    sent = traffic(live, service="svc", endpoint=endpoint, count=3, generation="v1")
    assert sent["statuses"] == {"200": 3}, (action, sent)
    assert meters(live)["%s.successRequests" % endpoint] == 3


def test_traffic_with_forecast_and_multi_actions(live):
    assert traffic(live, service="svc", endpoint="ep1", count=2, action="forecast")["statuses"] == {"200": 2}
    assert traffic(live, service="svc", endpoint="ep1", count=2, action="predict-multi")["statuses"] == {"200": 2}
    wrong = traffic(live, service="svc", endpoint="fn", count=2, action="predict")
    assert wrong["statuses"] == {"400": 2} and wrong["generations"] == {}


def test_traffic_without_dispatch_keys_on_a_hash_based_mapping(live):
    set_mapping(live, "HASH_BASED")
    refused = traffic(live, service="svc", endpoint="ep1", count=5)
    assert refused == {"sent": 5, "statuses": {"400": 5}, "generations": {}, "with_dispatch_key": 0}
    mixed = traffic(live, service="svc", endpoint="ep1", count=8, dispatch_key_share=0.5)
    assert mixed["with_dispatch_key"] == 4
    assert mixed["statuses"] == {"200": 4, "400": 4}
    keyed = traffic(live, service="svc", endpoint="ep1", count=6, dispatch_key_share=1)
    assert keyed["statuses"] == {"200": 6} and keyed["with_dispatch_key"] == 6
    # Refused before any endpoint runs: only the keyed queries reach the endpoint's meters.
    assert meters(live)["ep1.requests"] == 10


def test_a_generation_fails_an_exact_share_of_its_queries(live):
    added = live.hook("POST", "generation-faults", json={"service": "svc", "generation": "v2", "share": 0.25})
    assert added.status_code == 200, added.text
    rule = added.json()
    on_v2 = traffic(live, service="svc", endpoint="ep1", count=20, generation="v2")
    on_v1 = traffic(live, service="svc", endpoint="ep2", count=10, generation="v1")
    assert on_v2["statuses"] == {"200": 15, "500": 5}
    assert on_v1["statuses"] == {"200": 10}
    counts = meters(live)
    assert counts["ep1.requests"] == 20 and counts["ep1.successRequests"] == 15
    assert counts["requestsPerGeneration.v2"] == 20
    listed = live.hook("GET", "generation-faults").json()["faults"]
    assert listed == [{"id": rule["id"], "service": "svc", "generation": "v2", "share": 0.25, "status": 500,
                       "seen": 20, "hits": 5}]


def test_a_failing_generation_answers_a_java_error_to_callers(live):
    live.hook("POST", "generation-faults", json={"service": "svc", "generation": "v1", "status": 503})
    response = live.user("POST", "svc/ep1/predict", json={"features": {}, "dispatch": {"forcedGeneration": "v1"}})
    assert_java_error(response, 503, message="Injected failure of generation v1 (simulator test hook)")
    ok = live.user("POST", "svc/ep1/predict", json={"features": {}, "dispatch": {"forcedGeneration": "v2"}})
    assert ok.status_code == 200 and ok.json()["apiContext"]["serviceGeneration"] == "v2"


def test_a_custom_answer_has_its_own_status_and_body(live):
    live.hook("POST", "generation-faults", json={"service": "svc", "generation": "v1", "endpoint": "fn",
                                                 "status": 422, "body": {"error": "bad input", "code": 7}})
    live.hook("POST", "generation-faults", json={"service": "svc", "generation": "v2", "endpoint": "fn",
                                                 "body": {"status": "degraded"}})
    refused = live.user("POST", "svc/fn/run", json={"x": 1, "dispatch": {"forcedGeneration": "v1"}})
    assert refused.status_code == 422 and refused.json() == {"error": "bad input", "code": 7}
    custom = live.user("POST", "svc/fn/run", json={"x": 1, "dispatch": {"forcedGeneration": "v2"}})
    assert custom.status_code == 200 and custom.json() == {"status": "degraded"}
    counts = meters(live)
    assert counts["fn.requests"] == 2 and counts["fn.successRequests"] == 1
    # Other endpoints of the generation answer normally.
    assert live.user("POST", "svc/ep1/predict", json={"features": {}, "dispatch": {"forcedGeneration": "v1"}}
                     ).status_code == 200


def test_a_slower_generation_shows_in_the_processing_timer(live):
    live.hook("POST", "generation-faults", json={"service": "svc", "generation": "v2", "delay_ms": 60})
    assert traffic(live, service="svc", endpoint="ep1", count=2, generation="v2")["statuses"] == {"200": 2}
    assert traffic(live, service="svc", endpoint="ep2", count=2, generation="v1")["statuses"] == {"200": 2}
    timers = live.admin("GET", "metrics").json()["timers"]
    assert timers[PREFIX + "ep1.totalProcessing"]["min"] >= 60.0
    assert timers[PREFIX + "ep2.totalProcessing"]["max"] < 60.0


def test_clearing_generation_faults(live):
    live.hook("POST", "generation-faults", json={"service": "svc", "generation": "v1", "status": 500})
    assert live.hook("DELETE", "generation-faults").json() == {"ok": True}
    assert live.hook("GET", "generation-faults").json() == {"faults": []}
    assert traffic(live, service="svc", endpoint="ep1", count=3, generation="v1")["statuses"] == {"200": 3}


@pytest.mark.parametrize("path, body, message", [
    ("generation-faults", {"service": "svc"}, "a generation fault needs a service and a generation"),
    ("generation-faults", {"service": "svc", "generation": "v1", "status": 500, "share": 1.5},
     "share must be a number from 0.0 to 1.0"),
    ("generation-faults", {"service": "svc", "generation": "v1", "status": 99}, "status must be an integer number from 100 to 599"),
    ("traffic", {"service": "svc"}, "traffic needs a service and an endpoint"),
    ("traffic", {"service": "svc", "endpoint": "ep1", "count": 0}, "count must be an integer number from 1 to 100000"),
    ("traffic", {"service": "svc", "endpoint": "ep1", "dispatch_key_share": -1},
     "dispatch_key_share must be a number from 0.0 to 1.0"),
])
def test_bad_hook_bodies_are_refused(live, path, body, message):
    assert_java_error(live.hook("POST", path, json=body), 400, message=message)


def test_hooks_are_off_without_the_flag(tmp_path):
    with running_node(tmp_path / "plain") as plain:
        assert plain.hook("POST", "traffic", json={"service": "svc", "endpoint": "ep1"}).status_code == 404
        assert plain.hook("GET", "generation-faults").status_code == 404
