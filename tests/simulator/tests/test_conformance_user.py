"""The official user client (dataikuapi.APINodeClient) works unchanged against deployed sample packages."""

import collections

import pytest
from dataikuapi.utils import DataikuException

from _conformance import covers
from apinode_sim import scoring

FEATURES = {"age": 42, "plan": "gold"}


@pytest.fixture(scope="module")
def deployed(sim_fleet, artefacts):
    """churn: v1 + v2 (v2 active) + v3 (failing endpoint); secured: private; multi: every endpoint type."""
    node = sim_fleet.nodes[0]
    client = node.admin_client()
    for service_id, names in (("churn", ("churn_v1", "churn_v2", "churn_v3")), ("secured", ("secured_v1",)),
                              ("multi", ("multi_v1",))):
        client.create_service(service_id)
        for name in names:
            client.service(service_id).import_generation_from_archive(artefacts["by_name"][name]["path"])
    client.service("churn").switch_to_single_generation("v2")
    client.service("secured").switch_to_newest()
    client.service("multi").switch_to_newest()
    return node


@covers("APINodeClient.predict_record")
def test_predict_record_matches_the_package_test_queries(deployed, artefacts):
    user = deployed.user_client("churn")
    for query in artefacts["by_name"]["churn_v2"]["test_queries"]["predict"]:
        answer = user.predict_record("predict", query["features"])
        assert answer["result"] == query["expected"]
        assert answer["apiContext"] == {"serviceId": "churn", "endpointId": "predict", "serviceGeneration": "v2"}
        assert isinstance(answer["timing"], dict)


def test_forced_generation_tells_generations_apart(deployed, artefacts):
    user = deployed.user_client("churn")
    # v1 is on disk but not mapped: forcing it is refused, like a real node.
    with pytest.raises(DataikuException, match="v1"):
        user.predict_record("predict", FEATURES, forced_generation="v1")
    answer = user.predict_record("predict", FEATURES, forced_generation="v2")
    assert answer["apiContext"]["serviceGeneration"] == "v2"
    assert answer["result"] == scoring.predict("v2", "predict", FEATURES)


def test_random_and_hash_based_dispatch(deployed):
    admin = deployed.admin_client().service("churn")
    admin.set_generations_mapping({"entries": [{"generation": "v1", "proba": 0.5},
                                               {"generation": "v2", "proba": 0.5}]})
    try:
        user = deployed.user_client("churn")
        seen = collections.Counter(user.predict_record("predict", FEATURES)["apiContext"]["serviceGeneration"]
                                   for call in range(60))
        assert set(seen) == {"v1", "v2"}
        forced = user.predict_record("predict", FEATURES, forced_generation="v1")
        assert forced["apiContext"]["serviceGeneration"] == "v1"
        admin.set_generations_mapping({"strategy": "HASH_BASED", "mode": "MULTI_GENERATION",
                                       "entries": [{"generation": "v1", "proba": 0.5},
                                                   {"generation": "v2", "proba": 0.5}]})
        with pytest.raises(DataikuException, match="dispatch key is mandatory"):
            user.predict_record("predict", FEATURES)
        routed = {user.predict_record("predict", FEATURES, dispatch_key="customer-7")["apiContext"]
                  ["serviceGeneration"] for call in range(10)}
        assert len(routed) == 1
    finally:
        admin.switch_to_single_generation("v2")


@covers("APINodeClient.predict_records")
def test_predict_records(deployed):
    records = [{"features": {"age": i}} for i in range(4)]
    answer = deployed.user_client("churn").predict_records("predict", records, forced_generation="v2")
    assert answer["results"] == [scoring.predict("v2", "predict", r["features"]) for r in records]
    assert answer["apiContext"]["serviceGeneration"] == "v2"


@covers("APINodeClient.predict_effect", "APINodeClient.predict_effects")
def test_predict_effects(deployed):
    user = deployed.user_client("churn")
    assert user.predict_effect("predict", FEATURES)["apiContext"]["serviceGeneration"] == "v2"
    answer = user.predict_effects("predict", [{"features": FEATURES}, {"features": {"age": 1}}])
    assert len(answer["results"]) == 2


@covers("APINodeClient.forecast")
def test_forecast(deployed):
    history = [{"date": "2015-01-04T00:00:00.000Z", "timeseries_id": "A", "target": 10.0},
               {"date": "2015-01-04T00:00:00.000Z", "timeseries_id": "B", "target": 4.5},
               {"date": "2015-01-05T00:00:00.000Z", "timeseries_id": "A", "target": 2.0},
               {"date": "2015-01-05T00:00:00.000Z", "timeseries_id": "B", "target": 1.3}]
    answer = deployed.user_client("churn").forecast("predict", history, forced_generation="v2")
    results = answer["results"]
    # One result per forecast step per time series, with the documented scalar shape.
    assert len(results) == scoring.FORECAST_HORIZON * 2
    assert [r["timeseriesIdentifier"] for r in results[:2]] == [{"timeseries_id": "A"}, {"timeseries_id": "B"}]
    assert [r["time"] for r in results[::2]] == ["2015-01-06T00:00:00.000000Z", "2015-01-07T00:00:00.000000Z",
                                                 "2015-01-08T00:00:00.000000Z"]
    for result in results:
        assert set(result) == {"forecast", "quantiles", "quantilesValues", "time", "timeseriesIdentifier", "ignored"}
        assert isinstance(result["forecast"], float) and result["ignored"] is False
        assert result["quantiles"] == [0.0001, 0.5, 0.9999]
        low, median, high = result["quantilesValues"]
        assert low <= median == result["forecast"] <= high
    assert results == scoring.forecast("v2", "predict", history)
    assert answer["apiContext"]["serviceGeneration"] == "v2"


@covers("APINodeClient.run_function")
def test_run_function(deployed):
    answer = deployed.user_client("multi").run_function("fn", a=1, b="two")
    assert answer["response"] == scoring.run("v1", "fn", {"a": 1, "b": "two"})
    assert answer["apiContext"]["endpointId"] == "fn"


@covers("APINodeClient.lookup_record", "APINodeClient.lookup_records")
def test_lookups(deployed):
    user = deployed.user_client("multi")
    assert user.lookup_record("look", {"customer_id": "c1"}) == scoring.lookup("v1", "look", {"customer_id": "c1"})
    answer = user.lookup_records("look", [{"data": {"customer_id": "c1"}}, {"data": {"customer_id": "c2"}}])
    assert len(answer["results"]) == 2


@covers("APINodeClient.sql_query")
def test_sql_query(deployed):
    answer = deployed.user_client("multi").sql_query("sql", {"limit": 3})
    assert answer["results"][0]["rows"]


def test_endpoint_of_another_type_is_refused(deployed):
    with pytest.raises(DataikuException, match="fn"):
        deployed.user_client("multi").predict_record("fn", FEATURES)


def test_failing_endpoint_fails_only_in_its_generation(deployed):
    admin = deployed.admin_client().service("churn")
    admin.switch_to_single_generation("v3")
    try:
        with pytest.raises(DataikuException, match="Simulated failure"):
            deployed.user_client("churn").predict_record("predict", FEATURES)
    finally:
        admin.switch_to_single_generation("v2")
    assert deployed.user_client("churn").predict_record("predict", FEATURES)["apiContext"]["serviceGeneration"] == "v2"


def test_private_service_needs_its_query_key(deployed, artefacts):
    (key,) = artefacts["by_name"]["secured_v1"]["query_keys"]
    with pytest.raises(DataikuException):
        deployed.user_client("secured").predict_record("predict", FEATURES)
    with pytest.raises(DataikuException):
        deployed.user_client("secured", api_key="wrong-key").predict_record("predict", FEATURES)
    # An admin key is not a user key.
    with pytest.raises(DataikuException):
        deployed.user_client("secured", api_key=deployed.admin_key).predict_record("predict", FEATURES)
    answer = deployed.user_client("secured", api_key=key).predict_record("predict", FEATURES)
    assert answer["result"] == scoring.predict("v1", "predict", FEATURES)


def test_disabled_service_is_not_active(deployed):
    admin = deployed.admin_client().service("churn")
    admin.disable()
    try:
        with pytest.raises(DataikuException, match="Service churn is not active"):
            deployed.user_client("churn").predict_record("predict", FEATURES)
    finally:
        admin.enable()
    assert deployed.user_client("churn").predict_record("predict", FEATURES)["result"]
