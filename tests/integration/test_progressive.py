"""Progressive rollouts through the rolling_deploy playbook, against simulated fleets under synthetic traffic.

Every node serves v1; the release brings v2 in steps. Synthetic user queries (the simulator's traffic hook,
dispatched and counted like real ones) are sent by a background thread while the playbook runs; a
generation fault makes v2 fail a share of its queries. What each node serves at the end is read back with
the official client, and the step figures from the run report (set_stats) and the recorded tasks.
"""

import os
import threading

import pytest

from harness import packages_of, serve_everywhere
from test_role_deploy import ONE_PHASE_PLAY

ROLLING_DEPLOY = "dss.apinode.rolling_deploy"
SERVICE = "churn"
FEATURES = {"age": 42, "plan": "gold", "monthly_charges": 70.5, "tenure_months": 12}
JUDGE = "Decide from the metrics of every node of the batch"
STEP_SWITCH = "Serve the step on the node"
PLAN = "Plan the release on this node"


class Traffic:
    """Synthetic queries to every node, in the background, until stopped."""

    def __init__(self, fleet, count=5, pause=0.2, dispatch_key_share=0.0):
        self.fleet = fleet
        self.count = count
        self.pause = pause
        self.dispatch_key_share = dispatch_key_share
        self.stopped = threading.Event()
        self.sent = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stopped.is_set():
            for node in self.fleet.nodes:
                try:
                    answer = node.send_traffic(SERVICE, "predict", self.count, dispatch_key_share=self.dispatch_key_share)
                    self.sent += answer["sent"]
                except Exception:  # a node between two states: the next round counts again
                    pass
            self.stopped.wait(self.pause)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stopped.set()
        self.thread.join(30)


def served(node):
    for item in node.admin_client().list_services():
        if item["serviceId"] == SERVICE:
            return item["enabled"], item.get("activeMapping")
    return None


def shares(mapping):
    if mapping.get("mode") == "SINGLE_GENERATION":
        return {mapping["generation"]: 1.0}
    return dict((e["generation"], round(e["proba"], 6)) for e in mapping["entries"])


def release_vars(manifest, steps, analysis=None, **extra):
    package = packages_of(manifest, version="v2")[0]
    service = {"id": SERVICE, "package": package["path"], "steps": steps,
               "smoke_tests": [{"endpoint": "predict", "features": FEATURES}]}
    if analysis is not None:
        service["analysis"] = analysis
    service.update(extra.pop("service", {}))
    result = {"apinode_deploy_services": [service], "apinode_deploy_serial": ["100%"]}
    result.update(extra)
    return result


@pytest.fixture
def v1_fleet(sim_fleet, make_bundle):
    """Two nodes serving churn v1 (installed out of band), and the bundle with v2."""
    manifest = make_bundle(services=[SERVICE], versions=["v1", "v2"])
    fleet = sim_fleet(nodes=2)
    serve_everywhere(fleet, manifest, "v1", SERVICE)
    return fleet, manifest


def verdicts(result):
    """The decisions of every look at a step, from the recorded verdict task (one per look)."""
    return [t["result"]["ansible_facts"]["__apinode_deploy_progress"] for t in result.tasks
            if t["task"].endswith(JUDGE) and t["status"] == "ok"]


def test_healthy_generation_is_promoted_through_every_step(v1_fleet, run_playbook):
    fleet, manifest = v1_fleet
    steps = [{"proba": 0.2, "bake_seconds": 1}, {"proba": 0.5, "bake_seconds": 1}, {"proba": 1.0}]
    analysis = {"min_requests": 3, "max_error_rate": 0.05, "max_wait_seconds": 20}
    with Traffic(fleet):
        result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=release_vars(manifest, steps, analysis))
    assert result.rc == 0, result.output
    looks = verdicts(result)
    promoted = [v for v in looks if v["decision"] == "promote"]
    assert [v["step"] for v in promoted] == [0, 1], looks
    for verdict in promoted:
        figures = verdict["services"][0]
        assert figures["generation"] == "v2" and figures["new_requests"] >= 3
        assert sorted(figures["hosts"]) == ["node1", "node2"]
        assert figures["endpoints"]["predict"]["errors"] == 0
    # The second step served 50 % on every node, then the last one v2 alone.
    for host, switch in result.results(STEP_SWITCH).items():
        assert switch.get("skipped") or switch["changed"]
    for node in fleet.nodes:
        enabled, mapping = served(node)
        assert enabled and shares(mapping) == {"v2": 1.0}, (node.name, mapping)
        answer = node.user_client(SERVICE).predict_record("predict", FEATURES)
        assert answer["apiContext"]["serviceGeneration"] == "v2"
    # Check mode showed the steps before: the plan's sentence names them.
    plan = result.task(PLAN, "node1")
    assert any("progressive: 20 % for 1 s, 50 % for 1 s, then 100 %" in s for s in plan["drift"]), plan["drift"]


def assert_serves_v1_exactly(fleet):
    """Every node serves exactly what it served before the run: v1 alone, answering real queries."""
    for node in fleet.nodes:
        enabled, mapping = served(node)
        assert enabled and mapping.get("mode") == "SINGLE_GENERATION" and mapping["generation"] == "v1", (node.name, mapping)
        answer = node.user_client(SERVICE).predict_record("predict", FEATURES)
        assert answer["apiContext"]["serviceGeneration"] == "v1"


@pytest.mark.parametrize("share", [1.0, 0.5])
def test_failing_generation_is_stopped_at_its_first_step(v1_fleet, run_playbook, share):
    """v2 fails every query, or half of them (above max_error_rate 20 % at a 30 % weight): step 0 rolls back."""
    fleet, manifest = v1_fleet
    for node in fleet.nodes:
        node.add_generation_fault(SERVICE, "v2", share=share)
    steps = [{"proba": 0.3, "bake_seconds": 1}, {"proba": 1.0}]
    analysis = {"min_requests": 5, "max_error_rate": 0.2, "max_wait_seconds": 20}
    # Smoke tests would catch a v2 that fails every query before any bake: leave them out to test the analysis.
    extra = release_vars(manifest, steps, analysis, service={"smoke_tests": []})
    with Traffic(fleet):
        result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=extra)
    assert result.rc != 0, result.output
    looks = [v for v in verdicts(result) if v["decision"] != "wait"]
    assert [(v["step"], v["decision"]) for v in looks] == [(0, "rollback")], result.output[-6000:]
    figures = looks[0]["services"][0]
    assert figures["endpoints"]["predict"]["new_error_rate"] > 0.2
    assert "above max_error_rate" in " ".join(looks[0]["reasons"])
    assert not result.ran(STEP_SWITCH)
    assert_serves_v1_exactly(fleet)
    assert "Rolled back: node1, node2" in result.output


@pytest.mark.parametrize("on_insufficient", ["fail", "hold"])
def test_step_without_enough_traffic_waits_then_fails_or_holds(v1_fleet, run_playbook, on_insufficient):
    fleet, manifest = v1_fleet
    steps = [{"proba": 0.5, "bake_seconds": 1}, {"proba": 1.0}]
    analysis = {"min_requests": 50, "max_error_rate": 0.05, "max_wait_seconds": 2,
                "on_insufficient_traffic": on_insufficient}
    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=release_vars(manifest, steps, analysis))
    # A hold ends the run without failing it (the held nodes keep serving); a failure fails it.
    assert (result.rc == 0) == (on_insufficient == "hold"), result.output[-5000:]
    looks = verdicts(result)
    # It waited for traffic (bake 1 s + up to 2 s), then gave up: never promoted.
    assert looks[0]["decision"] == "wait", looks
    assert looks[-1]["decision"] == ("rollback" if on_insufficient == "fail" else "hold"), result.output[-5000:]
    assert looks[-1]["waited"] >= 3
    assert "not enough traffic to judge" in " ".join(looks[-1]["reasons"])
    assert not any(v["decision"] == "promote" for v in looks)
    assert not result.ran(STEP_SWITCH)
    if on_insufficient == "fail":
        assert_serves_v1_exactly(fleet)
    else:
        assert "HOLD at step 0" in result.output
        for node in fleet.nodes:
            assert shares(served(node)[1]) == {"v2": 0.5, "v1": 0.5}
            # The retention play ran: no run lock left behind, both generations kept.
            assert sorted(g["generationId"] for g in node.admin_client().service(SERVICE).list_generations()) == ["v1", "v2"]
            assert not os.path.exists(os.path.join(node.data_dir, "dss-apinode-staging", ".deploy.lock"))


@pytest.mark.parametrize("on_failure", ["rollback_fleet", "isolate"])
def test_a_failed_node_in_a_batch_that_holds_is_put_back_and_fails_the_run(v1_fleet, run_playbook, on_failure):
    """Own play, one batch: node2 fails its smoke test at the first step while node1 holds that step (no traffic).
    The hold used to end the play before the gate: node2 kept serving the failed generation and the run passed."""
    fleet, manifest = v1_fleet
    node1, node2 = fleet.nodes
    node2.add_fault(method="POST", path="^/public/api/v1/churn/predict/predict$", status=500,
                    body={"errorType": "com.dataiku.lambda.ModelLoadException", "message": "model failed to load"})
    steps = [{"proba": 0.5, "bake_seconds": 1}, {"proba": 1.0}]
    analysis = {"min_requests": 50, "max_wait_seconds": 1, "on_insufficient_traffic": "hold"}

    result = run_playbook(ONE_PHASE_PLAY, inventory=fleet, extra_vars=dict(
        release_vars(manifest, steps, analysis), phase="all", apinode_deploy_on_failure=on_failure))

    assert result.rc == 2
    assert result.failed_hosts == ["node2"], result.failed_hosts
    assert verdicts(result)[-1]["decision"] == "hold"
    assert shares(served(node2)[1]) == {"v1": 1.0}
    # rollback_fleet puts the holding node back too; isolate leaves it holding the step.
    assert shares(served(node1)[1]) == ({"v1": 1.0} if on_failure == "rollback_fleet" else {"v2": 0.5, "v1": 0.5})
    for node in fleet.nodes:
        assert not os.path.exists(os.path.join(node.data_dir, "dss-apinode-staging", ".deploy.lock")), node.name


def test_hash_based_release_is_caught(v1_fleet, run_playbook):
    """Callers of churn sent no dispatch key so far: a hash_based release warns, or is refused before any change."""
    fleet, manifest = v1_fleet
    for node in fleet.nodes:
        node.send_traffic(SERVICE, "predict", 5)
    steps = [{"proba": 0.5, "bake_seconds": 0}, {"proba": 1.0}]
    extra = release_vars(manifest, steps, {"min_requests": 3, "max_wait_seconds": 20}, service={"strategy": "hash_based"},
                         apinode_deploy_require_dispatch_key=True)
    for node in fleet.nodes:
        node.clear_requests()
    refused = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=extra)
    assert refused.rc != 0
    # ansible-core 2.16 wraps long warnings and messages across lines: compare with the white space folded.
    refused_text = " ".join(refused.output.split())
    assert "Refused (require_dispatch_key)" in refused_text and "HTTP 400" in refused_text
    for node in fleet.nodes:
        assert [r for r in node.mutating_requests() if not r["path"].startswith("/public/")] == []
    assert_serves_v1_exactly(fleet)

    extra["apinode_deploy_require_dispatch_key"] = False
    # Callers that do send a key: the hash_based step serves them, and is promoted.
    with Traffic(fleet, dispatch_key_share=1.0):
        warned = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=extra)
    assert warned.rc == 0, warned.output
    assert "do not tell whether they carried a dispatch key" in " ".join(warned.output.split())
    # The smoke tests also sent a keyed query, answered by the hash_based step.
    tests = warned.task("Switch the services and smoke-test the node", "node1")["smoke_tests"]
    assert [t["generation"] for t in tests] == ["v2", None] and all(t["passed"] for t in tests)
    for node in fleet.nodes:
        assert shares(served(node)[1]) == {"v2": 1.0}
