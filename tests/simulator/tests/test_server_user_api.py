"""User API: endpoint kinds, auth from the package's config.json, failures, liveness probes."""

import os

import pytest
import requests

from apinode_sim import scoring
from _server_support import assert_java_error

QUERY_KEY = "query-key-0123456789"
ENDPOINTS = [
    {"id": "pred", "type": "STD_PREDICTION"},
    {"id": "fn", "type": "PY_FUNCTION"},
    {"id": "look", "type": "DATASETS_LOOKUP"},
    {"id": "sql", "type": "SQL_QUERY"},
    {"id": "broken", "type": "STD_PREDICTION", "simFailure": {"status": 500, "message": "model exploded"}},
]


@pytest.fixture
def live(sim, packages):
    sim.create("svc")
    sim.import_package("svc", packages("v1", endpoints=ENDPOINTS))
    sim.admin("POST", "services/svc/actions/switchTo/v1")
    return sim


@pytest.fixture
def private(sim, packages):
    sim.create("priv")
    sim.import_package("priv", packages("p1", public=False, query_keys=[QUERY_KEY]))
    sim.admin("POST", "services/priv/actions/switchTo/p1")
    return sim


def test_every_endpoint_kind(live):
    features = {"a": 1}
    predict = live.user("POST", "svc/pred/predict", json={"features": features}).json()
    assert predict["result"] == scoring.predict("v1", "pred", features)
    assert predict["apiContext"]["serviceGeneration"] == "v1"
    multi = live.user("POST", "svc/pred/predict-multi", json={"items": [{"features": features}, {"features": {}}]})
    assert multi.json()["results"][0] == predict["result"] and len(multi.json()["results"]) == 2
    simple = live.user("GET", "svc/pred/predict-simple", params={"a": "1"}).json()
    assert simple["result"] == scoring.predict("v1", "pred", {"a": "1"})
    run = live.user("POST", "svc/fn/run", json={"x": 2}).json()
    assert run["response"] == scoring.run("v1", "fn", {"x": 2}) and "timing" in run
    lookup = live.user("POST", "svc/look/lookup", json={"data": {"id": 3}}).json()
    assert lookup["results"] == [scoring.lookup("v1", "look", {"id": 3})]
    lookup_multi = live.user("POST", "svc/look/lookup-multi", json={"items": [{"data": {"id": 3}}]}).json()
    assert lookup_multi["results"] == lookup["results"]
    query = live.user("POST", "svc/sql/query", json={"p": 1}).json()
    assert query["results"][0]["rows"][0][0] == "v1"
    assert live.user("GET", "ping").json() == {}


def test_forecast_groups_series_and_needs_a_date(live):
    history = [{"day": "2024-03-01", "store": "s1", "region": "eu", "sales": 5},
               {"day": "2024-03-08", "store": "s1", "region": "eu", "sales": 7}]
    results = live.user("POST", "svc/pred/forecast", json={"items": history}).json()["results"]
    assert [r["time"] for r in results] == ["2024-03-15T00:00:00.000000Z", "2024-03-22T00:00:00.000000Z",
                                            "2024-03-29T00:00:00.000000Z"]
    assert all(r["timeseriesIdentifier"] == {"store": "s1", "region": "eu"} for r in results)
    assert live.user("POST", "svc/pred/forecast", json={"items": []}).json()["results"] == []
    assert_java_error(live.user("POST", "svc/pred/forecast", json={"items": [{"a": 1}]}), 400,
                      message="Cannot forecast: no time column: forecast records need a date (ISO 8601 string) column")
    assert_java_error(live.user("POST", "svc/pred/forecast", json={"items": [1]}), 400)


def test_user_errors(live):
    assert_java_error(live.user("POST", "svc/pred/predict", json={}), 400, message="'features' is required")
    assert_java_error(live.user("POST", "svc/pred/predict-multi", json={}), 400, message="'items' is required")
    assert_java_error(live.user("POST", "svc/nope/predict", json={"features": {}}), 400,
                      message="Endpoint does not exist: nope")
    assert_java_error(live.user("POST", "ghost/pred/predict", json={"features": {}}), 400,
                      message="Service ghost does not exist")
    assert_java_error(live.user("POST", "svc/fn/predict", json={"features": {}}), 400)
    assert_java_error(live.user("POST", "svc/pred/predict", data="{bad"), 400)


def test_simulated_failure(live):
    assert_java_error(live.user("POST", "svc/broken/predict", json={"features": {}}), 500, message="model exploded")


def test_disabled_service_is_not_active(live):
    live.admin("POST", "services/svc/actions/disable")
    assert_java_error(live.user("POST", "svc/pred/predict", json={"features": {}}), 400,
                      message="Service svc is not active")


def test_private_service_auth(private):
    path = "priv/ep1/predict"
    body = {"features": {"f": 1}}
    assert_java_error(private.user("POST", path, json=body), 401, message="API Key not provided")
    assert_java_error(private.user("POST", path, json=body, auth=("wrong", "")), 401, message="Unknown API key")
    assert private.user("POST", path, json=body, auth=(QUERY_KEY, "")).status_code == 200
    bearer = private.user("POST", path, json=body, headers={"Authorization": "Bearer " + QUERY_KEY})
    assert bearer.status_code == 200
    assert_java_error(private.user("POST", path, json=body, headers={"Authorization": "Bearer x"}), 401)


def test_is_alive_and_drain_file(sim):
    for path in ("/isAlive/", "/isAlive"):
        response = requests.get(sim.url + path)
        assert response.status_code == 200 and response.json()["alive"] is True
    assert sim.admin("POST", "set-not-alive").status_code == 200
    assert os.path.exists(os.path.join(sim.data_dir, "apinode-not-alive.txt"))
    response = requests.get(sim.url + "/isAlive/")
    assert response.status_code == 503
    assert response.json() == {"forcedNotAlive": True, "alive": False}
    sim.admin("GET", "set-alive")
    assert requests.get(sim.url + "/isAlive/").status_code == 200
    # An operator can drain the sim by hand, as on a real sim.
    open(os.path.join(sim.data_dir, "apinode-not-alive.txt"), "w").close()
    assert requests.get(sim.url + "/isAlive/").status_code == 503


def test_service_alive_simple(live):
    url = live.url + "/monitoring/api/svc/isAliveSimple"
    assert requests.get(url).json() == {"ok": True}
    assert live.admin("POST", "services/svc/actions/setNotAlive").json() == {"ok": True}
    assert_java_error(requests.get(url), 400)
    live.admin("POST", "services/svc/actions/setAlive")
    assert requests.get(url).status_code == 200
    live.admin("POST", "services/svc/actions/disable")
    assert_java_error(requests.get(url), 400, message="Service svc is not active")
    assert_java_error(live.admin("POST", "services/svc/actions/setNotAlive"), 400, message="Service svc is not active")
