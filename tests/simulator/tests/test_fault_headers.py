"""Fault rules that carry response headers, e.g. a 429 or 503 with ``Retry-After``."""

import pytest

from _server_support import assert_java_error


def test_fault_headers_are_sent_with_the_injected_answer_only(sim):
    rule = sim.hook("POST", "faults", json={"method": "GET", "path": "/admin/api/services$", "status": 429,
                                            "headers": {"Retry-After": 1, "X-Sim-Fault": "busy"}, "count": 1})
    assert rule.status_code == 200, rule.text
    assert sim.hook("GET", "faults").json()["faults"][0]["headers"] == {"Retry-After": "1", "X-Sim-Fault": "busy"}

    faulted = sim.admin("GET", "services")
    assert_java_error(faulted, 429)
    assert faulted.headers["Retry-After"] == "1" and faulted.headers["X-Sim-Fault"] == "busy"
    # An injected answer is an error: it carries no DSS version headers.
    assert "DSS-Version" not in faulted.headers

    answered = sim.admin("GET", "services")
    assert answered.status_code == 200 and "Retry-After" not in answered.headers
    assert answered.headers["DSS-Version"]
    assert [e["status"] for e in sim.hook("GET", "requests").json()["requests"]
            if e["path"] == "/admin/api/services"] == [429, 200]
    assert sim.hook("GET", "faults").json() == {"faults": []}


def test_fault_headers_with_a_custom_body(sim):
    sim.hook("POST", "faults", json={"path": "/services$", "status": 503, "body": {"message": "busy"},
                                     "headers": {"Retry-After": "Wed, 21 Oct 2037 07:28:00 GMT"}})
    response = sim.admin("GET", "services")
    assert response.status_code == 503 and response.json() == {"message": "busy"}
    assert response.headers["Retry-After"] == "Wed, 21 Oct 2037 07:28:00 GMT"


@pytest.mark.parametrize("headers", [
    ["Retry-After", "1"],                  # not an object
    {"Retry After": "1"},                  # not a header name
    {"Retry-After": "1\r\nX-Other: 2"},    # would split the answer
    {"Retry-After": True},                 # not a string or a number
    {"Retry-After": {"seconds": 1}},
    {"Content-Length": "0"},               # framing belongs to the server
    {"Transfer-Encoding": "chunked"},
])
def test_bad_fault_headers_are_refused(sim, headers):
    response = sim.hook("POST", "faults", json={"path": "/services$", "status": 429, "headers": headers})
    assert response.status_code == 400, response.text
    assert sim.hook("GET", "faults").json() == {"faults": []}
    assert sim.admin("GET", "services").status_code == 200


def test_fault_headers_need_a_status(sim):
    response = sim.hook("POST", "faults", json={"path": "/services$", "delay": 0.1, "headers": {"Retry-After": "1"}})
    assert response.status_code == 400
    assert "status" in response.json()["message"]
