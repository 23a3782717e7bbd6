"""apinode_predict against a simulated node: every endpoint type the simulator serves (the bundle maker's
endpoint kinds), a forced generation, a dispatch key on a hash-based mapping, a service that is not public
(its key never in the output), custom answers and failed expectations. What the node received is read back
from its request log and its metrics."""

import pytest
from harness import module_play, task

from apinode_sim import scoring

RECORD = {"age": 42, "plan": "gold", "monthly_charges": 70.5, "tenure_months": 12}
HISTORY = [{"date": "2024-01-0%d" % day, "store": "s1", "sales": 100.0 + day} for day in range(1, 6)]
ENDPOINTS = ["predict", "custom:CUSTOM_PREDICTION", "rmodel:CUSTOM_R_PREDICTION", "fn:PY_FUNCTION",
             "rfn:R_FUNCTION", "look:DATASETS_LOOKUP", "sql:SQL_QUERY"]


def predict(name, args, **keywords):
    return task(name, "apinode_predict", args, **keywords)


@pytest.fixture
def fleet(sim_fleet):
    return sim_fleet(nodes=1)


@pytest.fixture
def node(fleet):
    return fleet.nodes[0]


@pytest.fixture
def deployed(node, make_bundle):
    """multi: v1 and v2 both mapped (random 50/50), every endpoint kind; hashed: the same, HASH_BASED;
    secured: v1, not public, one query key."""
    admin = node.admin_client()
    for service, strategy in (("multi", "RANDOM"), ("hashed", "HASH_BASED")):
        manifest = make_bundle(services=[service], versions=["v1", "v2"], endpoints=ENDPOINTS)
        admin.create_service(service)
        handle = admin.service(service)
        for package in manifest["packages"]:
            handle.import_generation_from_archive(package["path"])
        handle.set_generations_mapping({"mode": "MULTI_GENERATION", "strategy": strategy, "entries": [
            {"generation": "v1", "proba": 0.5}, {"generation": "v2", "proba": 0.5}]})
    secured = make_bundle(services=["secured"], versions=["v1"], private=True)["packages"][0]
    admin.create_service("secured")
    admin.service("secured").import_generation_from_archive(secured["path"])
    admin.service("secured").switch_to_single_generation("v1")
    return {"secured_key": secured["query_keys"][0]}


def statuses(result, name):
    return [t["status"] for t in result.tasks if t["task"] == name]


def endpoint_meters(node, service):
    meters = node.admin_client().get_metrics()["meters"]
    prefix = "dku.lambda.service.%s." % service
    return dict((name[len(prefix):], meter["count"]) for name, meter in meters.items() if name.startswith(prefix))


def test_every_endpoint_type(fleet, node, deployed, run_playbook):
    expected = scoring.predict("v1", "predict", RECORD)["prediction"]
    play = module_play(
        predict("Predict", {"service": "multi", "endpoint": "predict", "features": RECORD, "generation": "v1",
                            "expected_prediction": expected}),
        predict("Predict multi", {"service": "multi", "endpoint": "predict", "type": "predict-multi",
                                  "items": [RECORD, dict(RECORD, age=23)], "generation": "v2"}),
        predict("Custom prediction", {"service": "multi", "endpoint": "custom", "features": RECORD, "generation": "v2"}),
        predict("Custom R prediction", {"service": "multi", "endpoint": "rmodel", "features": RECORD, "generation": "v1"}),
        predict("Forecast", {"service": "multi", "endpoint": "predict", "type": "forecast", "items": HISTORY,
                             "generation": "v2", "expect": {"results.0.timeseriesIdentifier.store": "s1",
                                                            "results.0.time": "2024-01-06T00:00:00.000000Z"}}),
        predict("Python function", {"service": "multi", "endpoint": "fn", "type": "run", "params": {"x": 1},
                                    "generation": "v2", "expect": {"response.params.x": 1, "response.generation": "v2"}}),
        predict("R function", {"service": "multi", "endpoint": "rfn", "type": "run", "generation": "v1"}),
        predict("SQL query", {"service": "multi", "endpoint": "sql", "type": "query", "params": {"limit": 1},
                              "generation": "v1", "expect": {"results.0.rows.0.0": "v1"}}),
        predict("Lookup", {"service": "multi", "endpoint": "look", "type": "lookup", "data": {"customer_id": "c1"},
                           "generation": "v2", "expect": {"results.0.data.customer_id": "c1"}}),
    )
    node.clear_requests()
    result = run_playbook(play, inventory=fleet)
    assert result.rc == 0, result.output

    first = result.task("Predict")
    assert first["changed"] is False and first["status"] == 200 and first["served_generation"] == "v1"
    assert first["prediction"] == expected and first["json"]["result"]["prediction"] == expected
    assert first["api_calls"] == 1 and first["latency_ms"] >= 0
    multi = result.task("Predict multi")
    assert multi["prediction"] == [scoring.predict("v2", "predict", r)["prediction"] for r in (RECORD, dict(RECORD, age=23))]
    assert result.task("Custom prediction")["served_generation"] == "v2"
    assert len(result.task("Forecast")["json"]["results"]) == scoring.FORECAST_HORIZON
    assert result.task("R function")["json"]["response"]["generation"] == "v1"
    assert "prediction" not in result.task("SQL query")
    assert result.task("Lookup")["json"]["results"][0]["data"]["enrichment"] == scoring.lookup(
        "v2", "look", {"customer_id": "c1"})["data"]["enrichment"]

    # Out of band: one query per task, on the path of its type, each answered 200.
    assert [(r["method"], r["path"], r["status"]) for r in node.requests()] == [
        ("POST", "/public/api/v1/multi/predict/predict", 200),
        ("POST", "/public/api/v1/multi/predict/predict-multi", 200),
        ("POST", "/public/api/v1/multi/custom/predict", 200),
        ("POST", "/public/api/v1/multi/rmodel/predict", 200),
        ("POST", "/public/api/v1/multi/predict/forecast", 200),
        ("POST", "/public/api/v1/multi/fn/run", 200),
        ("POST", "/public/api/v1/multi/rfn/run", 200),
        ("POST", "/public/api/v1/multi/sql/query", 200),
        ("POST", "/public/api/v1/multi/look/lookup", 200),
    ]
    meters = endpoint_meters(node, "multi")
    assert meters["predict.successRequests"] == 3
    assert meters["requestsPerGeneration.v1"] == 4 and meters["requestsPerGeneration.v2"] == 5


def test_dispatch_key_on_a_hash_based_mapping(fleet, node, deployed, run_playbook):
    play = module_play(
        predict("With a dispatch key", {"service": "hashed", "endpoint": "predict", "features": RECORD,
                                        "dispatch_key": "customer-7"}),
        predict("Same key again", {"service": "hashed", "endpoint": "predict", "features": RECORD,
                                   "dispatch_key": "customer-7"}),
        predict("Without a key", {"service": "hashed", "endpoint": "predict", "features": RECORD}, ignore_errors=True),
    )
    result = run_playbook(play, inventory=fleet)
    assert result.rc == 0, result.output
    keyed = result.task("With a dispatch key")
    assert keyed["served_generation"] in ("v1", "v2")
    assert result.task("Same key again")["served_generation"] == keyed["served_generation"]
    refused = result.task("Without a key")
    assert statuses(result, "Without a key") == ["failed"] and refused["status"] == 400
    assert refused["msg"] == ("The predict query of endpoint predict of service hashed failed: HTTP 400: For a "
                              "HASH_BASED dispatch, the dispatch key is mandatory in queries.")


def test_service_that_is_not_public(fleet, node, deployed, run_playbook):
    key = deployed["secured_key"]
    play = module_play(
        predict("With its key", {"service": "secured", "endpoint": "predict", "features": RECORD,
                                 "user_api_key": "{{ secured_key }}"}),
        predict("With its key as a bearer token", {"service": "secured", "endpoint": "predict", "features": RECORD,
                                                   "bearer_token": "{{ secured_key }}"}),
        predict("Without a key", {"service": "secured", "endpoint": "predict", "features": RECORD}, ignore_errors=True),
        predict("With a wrong key", {"service": "secured", "endpoint": "predict", "features": RECORD,
                                     "user_api_key": "NotTheKey0123456789abcdefghijklm"}, ignore_errors=True),
    )
    result = run_playbook(play, inventory=fleet, extra_vars={"secured_key": key}, verbosity=3)
    assert result.rc == 0, result.output
    assert result.task("With its key")["served_generation"] == "v1"
    assert result.task("With its key as a bearer token")["status"] == 200
    assert result.task("Without a key")["msg"].endswith("HTTP 401: API Key not provided.")
    assert result.task("With a wrong key")["msg"].endswith("HTTP 401: Unknown API key.")
    assert key not in result.output
    assert key not in str(result.tasks)
    assert [r["status"] for r in node.requests() if r["path"].startswith("/public/")] == [200, 200, 401, 401]


def test_expectations_and_custom_answers(fleet, node, deployed, run_playbook):
    # v2 of multi answers its function endpoint with its own status and body, like a Python endpoint would.
    node.add_generation_fault("multi", "v2", endpoint="fn", status=422, body={"error": {"code": "BAD_INPUT"}})
    play = module_play(
        predict("Custom answer expected", {"service": "multi", "endpoint": "fn", "type": "run", "generation": "v2",
                                           "expected_status": [422], "expect": {"error.code": "BAD_INPUT"}}),
        predict("Custom answer not expected", {"service": "multi", "endpoint": "fn", "type": "run",
                                               "generation": "v2"}, ignore_errors=True),
        predict("Wrong value", {"service": "multi", "endpoint": "fn", "type": "run", "generation": "v1",
                                "params": {"x": 1}, "expect": {"response.params.x": 2}}, ignore_errors=True),
        predict("Missing path", {"service": "multi", "endpoint": "look", "type": "lookup", "generation": "v1",
                                 "data": {"customer_id": "c1"}, "expect": {"results.1.data": {}}}, ignore_errors=True),
        predict("Wrong prediction", {"service": "multi", "endpoint": "predict", "features": RECORD, "generation": "v1",
                                     "expected_prediction": "maybe"}, ignore_errors=True),
        predict("Wrong prediction and path", {"service": "multi", "endpoint": "predict", "features": RECORD,
                                              "generation": "v1", "expected_prediction": "maybe",
                                              "expect": {"apiContext.serviceGeneration": "v2"}}, ignore_errors=True),
        predict("Generation not loaded", {"service": "secured", "endpoint": "predict", "features": RECORD,
                                          "generation": "v9"}, ignore_errors=True),
    )
    result = run_playbook(play, inventory=fleet)
    assert result.rc == 0, result.output
    custom = result.task("Custom answer expected")
    assert custom["status"] == 422 and custom["json"] == {"error": {"code": "BAD_INPUT"}}
    assert custom["served_generation"] is None and statuses(result, "Custom answer expected") == ["ok"]
    assert statuses(result, "Wrong value") == ["failed"]
    prefix = "The run query of endpoint fn of service multi failed: "
    assert result.task("Custom answer not expected")["msg"] == prefix + 'HTTP 422: {"error": {"code": "BAD_INPUT"}}.'
    assert result.task("Wrong value")["msg"] == prefix + "response.params.x: expected 2, got 1."
    assert result.task("Missing path")["msg"].endswith("results.1.data: not in the answer, expected {}.")
    expected = scoring.predict("v1", "predict", RECORD)["prediction"]
    assert result.task("Wrong prediction")["msg"].endswith("predicted %r, expected 'maybe'." % expected)
    # Every failed expectation in one message.
    assert result.task("Wrong prediction and path")["msg"].endswith(
        "predicted %r, expected 'maybe'; apiContext.serviceGeneration: expected 'v2', got 'v1'." % expected)
    assert result.task("Generation not loaded")["msg"].endswith("HTTP 400: Invalid selected generation: v9.")
    fault = node.generation_faults()[0]
    assert (fault["seen"], fault["hits"]) == (2, 2)


def test_check_mode_queries_and_changes_nothing(fleet, node, deployed, run_playbook):
    play = module_play(predict("Predict", {"service": "multi", "endpoint": "predict", "features": RECORD}))
    node.clear_requests()
    result = run_playbook(play, inventory=fleet, check=True)
    assert result.rc == 0, result.output
    assert result.task("Predict")["changed"] is False and result.task("Predict")["status"] == 200
    # The query, and no admin call.
    assert [(r["method"], r["path"]) for r in node.requests()] == [("POST", "/public/api/v1/multi/predict/predict")]
