"""Generations mappings: validation, storage as given, mapped shares, dispatch of user queries."""

import collections

import pytest

from apinode_sim import scoring
from _server_support import assert_java_error


@pytest.fixture
def two_gens(sim, packages):
    sim.create("svc")
    sim.import_package("svc", packages("v1", created_on=1))
    sim.import_package("svc", packages("v2", created_on=2))
    return sim


def set_mapping(sim, body):
    return sim.admin("POST", "services/svc/actions/setMapping", json=body)


@pytest.mark.parametrize("body, fragment", [
    ({"entries": []}, "no entries"),
    ({}, "no entries"),
    ({"entries": [{"generation": "v1", "proba": 0.5}, {"generation": "v2", "proba": 0.4}]}, "sum to 1"),
    ({"entries": [{"generation": "v1", "proba": 0.5}, {"generation": "zz", "proba": 0.5}]}, "zz"),
    ({"entries": [{"generation": "v1", "proba": "x"}]}, "proba"),
    ({"mode": "SINGLE_GENERATION"}, "generation"),
    ({"mode": "SINGLE_GENERATION", "generation": "nope"}, "nope"),
    ({"mode": "SINGLE_GENERATION", "generation": "v1", "entries": [{"generation": "v2", "proba": 1.0}]},
     "for generation v1 has entries for generation v2"),
    ({"mode": "SINGLE_GENERATION", "entries": [{"generation": "v1", "proba": 0.5}, {"generation": "v2", "proba": 0.5}]},
     "maps one generation, its entries name: v1, v2"),
    ({"mode": "WEIRD", "entries": [{"generation": "v1", "proba": 1}]}, "WEIRD"),
    ({"strategy": "ROUND_ROBIN", "entries": [{"generation": "v1", "proba": 1}]}, "ROUND_ROBIN"),
])
def test_invalid_mappings_are_rejected(two_gens, body, fragment):
    error = assert_java_error(set_mapping(two_gens, body), 400)
    assert fragment in error["message"]
    assert two_gens.admin("GET", "services").json()[0] == {"serviceId": "svc", "enabled": False}


def test_unparseable_mapping(two_gens):
    response = two_gens.admin("POST", "services/svc/actions/setMapping", data="[1, 2")
    assert_java_error(response, 400, message="Could not parse a GenerationsMapping from request body")


def test_sum_tolerance(two_gens):
    body = {"entries": [{"generation": "v1", "proba": 0.3}, {"generation": "v2", "proba": 0.7000000001}]}
    assert set_mapping(two_gens, body).status_code == 200


def test_mapping_stored_as_given_and_enables(two_gens):
    body = {"mode": "MULTI_GENERATION", "strategy": "HASH_BASED", "auditRoutingKey": "route-1",
            "auditMetadata": {"team": "ml"},
            "entries": [{"generation": "v1", "proba": 0.25}, {"generation": "v2", "proba": 0.75}]}
    assert set_mapping(two_gens, body).json() == {"ok": True}
    listed = two_gens.admin("GET", "services").json()[0]
    assert listed == {"serviceId": "svc", "enabled": True, "activeMapping": body}
    assert two_gens.admin("GET", "services/svc/mapping").json() == body
    gens = two_gens.generations("svc")
    assert (gens["v1"]["mapped"], gens["v2"]["mapped"]) == (0.25, 0.75)
    assert gens["v1"]["mounted"] and gens["v2"]["mounted"]


@pytest.mark.parametrize("body", [
    {"mode": "SINGLE_GENERATION", "generation": "v2"},
    {"mode": "SINGLE_GENERATION", "generation": "v2", "entries": [{"generation": "v2", "proba": 1.0}]},
    {"mode": "SINGLE_GENERATION", "entries": [{"generation": "v2", "proba": 1.0}]},
    {"entries": [{"generation": "v2", "proba": 1.0}]},
    {"mode": "SINGLE_GENERATION", "generation": "v2", "strategy": "HASH_BASED"},
], ids=["mode-generation", "mode-generation-entries", "mode-entries", "entries", "leftover-strategy"])
def test_every_single_generation_form(two_gens, body):
    set_mapping(two_gens, {"entries": [{"generation": "v1", "proba": 1.0}]})
    assert set_mapping(two_gens, body).json() == {"ok": True}
    assert two_gens.admin("GET", "services/svc/mapping").json() == body
    gens = two_gens.generations("svc")
    assert (gens["v1"]["mapped"], gens["v2"]["mapped"]) == (0.0, 1.0)
    assert (gens["v1"]["mounted"], gens["v2"]["mounted"]) == (False, True)
    # No dispatch key needed: a single generation answers everything, whatever strategy is left over.
    answer = predict(two_gens, {"a": 1})
    assert answer.status_code == 200, answer.text
    assert answer.json()["apiContext"]["serviceGeneration"] == "v2"


def test_switch_to_keeps_audit_routing_key_and_unmounts(two_gens):
    set_mapping(two_gens, {"auditRoutingKey": "rk", "entries": [{"generation": "v1", "proba": 1.0}]})
    assert two_gens.admin("POST", "services/svc/actions/switchTo/v2").status_code == 200
    mapping = two_gens.admin("GET", "services/svc/mapping").json()
    assert mapping["auditRoutingKey"] == "rk"
    assert mapping["mode"] == "SINGLE_GENERATION" and mapping["generation"] == "v2"
    gens = two_gens.generations("svc")
    assert (gens["v1"]["mounted"], gens["v1"]["mapped"]) == (False, 0.0)
    assert (gens["v2"]["mounted"], gens["v2"]["mapped"]) == (True, 1.0)


def predict(sim, features, dispatch=None, service="svc", endpoint="ep1", **kwargs):
    body = {"features": features}
    if dispatch is not None:
        body["dispatch"] = dispatch
    return sim.user("POST", "%s/%s/predict" % (service, endpoint), json=body, **kwargs)


def test_forced_generation(two_gens):
    set_mapping(two_gens, {"entries": [{"generation": "v1", "proba": 0.5}, {"generation": "v2", "proba": 0.5}]})
    for gen in ("v1", "v2"):
        for attempt in range(5):
            answer = predict(two_gens, {"x": 1}, {"forcedGeneration": gen}).json()
            assert answer["apiContext"] == {"serviceId": "svc", "endpointId": "ep1", "serviceGeneration": gen}
            assert answer["result"] == scoring.predict(gen, "ep1", {"x": 1})
            assert "timing" in answer


def test_forced_generation_must_be_loaded(two_gens):
    two_gens.admin("POST", "services/svc/actions/switchTo/v1")
    assert_java_error(predict(two_gens, {"x": 1}, {"forcedGeneration": "v2"}), 400,
                      message="Invalid selected generation: v2")
    two_gens.admin("POST", "services/svc/generations/v2/preload")
    assert predict(two_gens, {"x": 1}, {"forcedGeneration": "v2"}).json()["apiContext"]["serviceGeneration"] == "v2"


def test_random_dispatch_follows_probabilities(two_gens):
    set_mapping(two_gens, {"entries": [{"generation": "v1", "proba": 0.2}, {"generation": "v2", "proba": 0.8}]})
    seen = collections.Counter(predict(two_gens, {"i": i}).json()["apiContext"]["serviceGeneration"]
                               for i in range(300))
    assert set(seen) == {"v1", "v2"}
    assert seen["v2"] > seen["v1"]


def test_hash_based_dispatch(two_gens):
    set_mapping(two_gens, {"strategy": "HASH_BASED",
                           "entries": [{"generation": "v1", "proba": 0.5}, {"generation": "v2", "proba": 0.5}]})
    assert_java_error(predict(two_gens, {"x": 1}), 400,
                      message="For a HASH_BASED dispatch, the dispatch key is mandatory in queries")
    by_key = {}
    for i in range(40):
        key = "customer-%d" % i
        gens = {predict(two_gens, {"x": i}, {"dispatchKey": key}).json()["apiContext"]["serviceGeneration"]
                for call in range(3)}
        assert len(gens) == 1, "a dispatch key must always reach the same generation"
        by_key[key] = gens.pop()
    assert set(by_key.values()) == {"v1", "v2"}


def test_generations_differ_in_predictions(two_gens):
    set_mapping(two_gens, {"entries": [{"generation": "v1", "proba": 0.5}, {"generation": "v2", "proba": 0.5}]})
    features = {"age": 42, "country": "FR"}
    p1 = predict(two_gens, features, {"forcedGeneration": "v1"}).json()["result"]
    p2 = predict(two_gens, features, {"forcedGeneration": "v2"}).json()["result"]
    assert p1["probas"] != p2["probas"]
    assert p1 == predict(two_gens, features, {"forcedGeneration": "v1"}).json()["result"]
