"""Helpers shared by the reliability scenarios (faults and bad input against simulated nodes).

Every scenario checks four things: the run's outcome and message, the final state of every node read
through the official client, that a re-run converges with nothing lost, and that no secret appears in
any output. The helpers below keep those checks short and identical across scenarios.
"""

import json
import os
import re
import sys
import threading
import time

import pytest

# The play builders are the shared harness's, re-exported so that scenarios import every helper from here.
from harness import install, module_play, packages_of, serve_everywhere, task  # noqa: F401  pylint: disable=unused-import

# Test modules import these helpers by a name that cannot collide with the other suites' conftest.py.
sys.modules["reliability_helpers"] = sys.modules[__name__]

READ_METHODS = ("GET", "HEAD", "OPTIONS")


# --- playbooks -----------------------------------------------------------------------------------

def failed_on(result, name):
    """Hosts where task ``name`` failed, ignored or not (fault scenarios run tasks with ignore_errors)."""
    return sorted(t["host"] for t in result.tasks if t["task"] == name and t["status"] in ("failed", "unreachable"))


def assert_no_secrets(result, secrets):
    """No secret in stdout, stderr, or any recorded module result."""
    recorded = json.dumps(result.tasks)
    for secret in secrets:
        assert secret, "an empty secret would match everything"
        assert secret not in result.output, "a secret leaked into the playbook output"
        assert secret not in recorded, "a secret leaked into a recorded task result"


def fleet_secrets(fleet, *extra):
    """Every admin key of the fleet (read from the data dirs, so revoked or new ones too) + ``extra``."""
    return set(fleet.all_keys()) | {s for s in extra if s}


def run_in_background(function, *args, **kwargs):
    """Start ``function`` in a thread; ``join()`` the returned handle to get its result."""
    box = {}

    def target():
        try:
            box["result"] = function(*args, **kwargs)
        except BaseException as err:  # surfaced by join()
            box["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()

    class Handle:
        @staticmethod
        def running():
            return thread.is_alive()

        @staticmethod
        def join(timeout=900):
            thread.join(timeout)
            assert not thread.is_alive(), "background run did not finish"
            if "error" in box:
                raise box["error"]
            return box["result"]

    return Handle()


# --- the simulator's request log -----------------------------------------------------------------

def settle(node):
    """The request log. The simulator logs each request before answering it, so a request whose
    answer came back is already there: no waiting needed."""
    return node.requests()


def clear_log(node):
    settle(node)
    node.clear_requests()


def calls(node, method, pattern, status=None):
    """Logged requests with this method whose path matches ``pattern`` (optionally this status)."""
    regex = re.compile(pattern)
    return [r for r in settle(node) if r["method"] == method and regex.search(r["path"])
            and (status is None or r["status"] == status)]


def mutating(node):
    """Logged admin requests other than reads, once the log has settled."""
    return [r for r in settle(node) if r["method"] not in READ_METHODS and r["path"].startswith("/admin/")]


def wait_for_request(node, method, pattern, timeout=60):
    """Poll the log until a matching request was answered; return it."""
    regex = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in node.requests():
            if entry["method"] == method and regex.search(entry["path"]):
                return entry
        time.sleep(0.05)
    raise AssertionError("no %s %s on %s within %s s" % (method, pattern, node.name, timeout))


# --- node state through the official client ------------------------------------------------------

def service_state(node, service_id, api_key=None):
    """``{"enabled", "mapping": {generation: proba}, "generations": {id: mounted}}`` or None."""
    client = node.admin_client(api_key=api_key)
    for item in client.list_services():
        if item["serviceId"] == service_id:
            mapping = item.get("activeMapping") or {}
            shares = {e["generation"]: e["proba"] for e in mapping.get("entries") or []}
            if mapping.get("mode") == "SINGLE_GENERATION" and mapping.get("generation"):
                shares = {mapping["generation"]: 1.0}  # setMapping in single mode carries no entries
            generations = client.service(service_id).list_generations()
            return {
                "enabled": item.get("enabled"),
                "mapping": shares,
                "generations": {g["generationId"]: g["mounted"] for g in generations},
            }
    return None


def serves(node, service_id, api_key=None):
    """The generation answering all the traffic of an enabled service, or None."""
    state = service_state(node, service_id, api_key)
    if not state or not state["enabled"]:
        return None
    full = [g for g, p in state["mapping"].items() if p == 1.0]
    return full[0] if full else None


@pytest.fixture
def one_node(sim_fleet):
    fleet = sim_fleet(nodes=1)
    return fleet, fleet.nodes[0]


# --- the deploy role -----------------------------------------------------------------------------

ROLLING_DEPLOY = "dss.apinode.rolling_deploy"
FLEET_STATUS = "dss.apinode.fleet_status"
FEATURES = {"age": 42, "plan": "gold", "monthly_charges": 70.5, "tenure_months": 12}


def deploy_vars(manifest, version, service="churn", **extra):
    """rolling_deploy variables for one service at ``version``, smoke-tested on ``predict``."""
    package = packages_of(manifest, service, version)[0]
    variables = {"apinode_deploy_services": [{
        "id": service, "new": True, "package": package["path"], "generation": version,
        "smoke_tests": [{"endpoint": "predict", "features": FEATURES}]}]}
    variables.update(extra)
    return variables


def lock_left(node):
    return os.path.exists(os.path.join(node.data_dir, "dss-apinode-staging", ".deploy.lock"))


def assert_fleet_serves(fleet, version, service="churn"):
    """Every node serves ``version`` alone, enabled, and holds no run lock."""
    for node in fleet.nodes:
        assert serves(node, service) == version, (node.name, service_state(node, service))
        assert not lock_left(node), "%s kept the run lock" % node.name


@pytest.fixture
def fleet_on_v1(sim_fleet, make_bundle):
    """Two nodes serving churn v1 (set up out of band), and a bundle holding v1, v2 and v3."""
    fleet = sim_fleet(nodes=2)
    manifest = make_bundle(services=["churn"], versions=["v1", "v2", "v3"])
    serve_everywhere(fleet, manifest, "v1")
    return fleet, manifest
