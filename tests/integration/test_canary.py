"""A canary release end to end: v1 alone, then 90 % v1 / 10 % v2, then v2 alone, then a rollback;
with the modules one by one, and as releases of the deploy role.

Real predictions through the official user client show which generation answered each query.
"""

from collections import Counter

from harness import module_play, serve_everywhere, task

SERVICE = "churn"
FEATURES = {"age": 42, "plan": "gold", "monthly_charges": 70.5, "tenure_months": 12}

STAGE = module_play(
    task("Service", "apinode_service", {"name": SERVICE}),
    task("Import v1", "apinode_generation", {"service": SERVICE, "archive": "{{ packages.v1 }}", "generation": "v1"}),
    task("Import and preload v2", "apinode_generation",
         {"service": SERVICE, "archive": "{{ packages.v2 }}", "generation": "v2", "preload": True}),
    task("Serve v1", "apinode_service", {"name": SERVICE, "generation": "v1", "enabled": True}),
)

CANARY = module_play(
    task("Canary", "apinode_service",
         {"name": SERVICE, "mapping": [{"generation": "v1", "proba": 0.9}, {"generation": "v2", "proba": 0.1}]}),
)

PROMOTE = module_play(
    task("Promote", "apinode_service", {"name": SERVICE, "generation": "v2"}, register="promote"),
    task("Roll back to exactly what was there", "apinode_service",
         {"name": SERVICE, "mapping": "{{ promote.previous.mapping.entries }}",
          "strategy": "{{ promote.previous.mapping.strategy }}", "enabled": "{{ promote.previous.enabled }}"},
         when="rollback | default(false) | bool"),
)


def answered(node, count, forced=None):
    """Which generation answered each of ``count`` predictions."""
    user = node.user_client(SERVICE)
    return Counter(user.predict_record("predict", FEATURES, forced_generation=forced)["apiContext"]["serviceGeneration"]
                   for query in range(count))


def mapping_of(node):
    for item in node.admin_client().list_services():
        if item["serviceId"] == SERVICE:
            return item.get("activeMapping")
    return None


def test_canary_v1_to_v2(sim_fleet, make_bundle, run_playbook):
    fleet = sim_fleet(nodes=1)
    node = fleet.nodes[0]
    manifest = make_bundle(services=[SERVICE], versions=["v1", "v2"])
    packages = dict((p["version"], p["path"]) for p in manifest["packages"])
    extra_vars = {"packages": packages}

    result = run_playbook(STAGE, inventory=fleet, extra_vars=extra_vars)
    assert result.rc == 0, result.output
    assert result.changed_count == 4
    assert answered(node, 50) == Counter({"v1": 50})
    # v2 is loaded but gets no traffic unless a query asks for it.
    assert answered(node, 3, forced="v2") == Counter({"v2": 3})

    result = run_playbook(CANARY, inventory=fleet)
    assert result.rc == 0, result.output
    task = result.task("Canary")
    assert task["changed"] is True and task["previous"]["mapping"]["generation"] == "v1"
    shares = dict((g["generationId"], g["mapped"]) for g in node.admin_client().service(SERVICE).list_generations())
    assert shares == {"v1": 0.9, "v2": 0.1}
    draws = answered(node, 400)
    assert set(draws) == {"v1", "v2"}
    # 10 % of 400 is 40 (standard deviation 6): far outside these bounds means the mapping is not applied.
    assert 10 <= draws["v2"] <= 90, draws
    assert answered(node, 3, forced="v1") == Counter({"v1": 3})
    assert answered(node, 3, forced="v2") == Counter({"v2": 3})

    # A promotion that fails its checks is rolled back to exactly the canary mapping it replaced.
    result = run_playbook(PROMOTE, inventory=fleet, extra_vars={"rollback": True})
    assert result.rc == 0, result.output
    assert result.task("Promote")["changed"] is True
    assert result.task("Roll back to exactly what was there")["changed"] is True
    restored = mapping_of(node)
    assert restored["strategy"] == "RANDOM"
    assert sorted((e["generation"], e["proba"]) for e in restored["entries"]) == [("v1", 0.9), ("v2", 0.1)]

    result = run_playbook(PROMOTE, inventory=fleet)
    assert result.rc == 0, result.output
    assert result.task("Promote")["changed"] is True
    assert mapping_of(node)["generation"] == "v2"
    assert answered(node, 50) == Counter({"v2": 50})

    node.clear_requests()
    result = run_playbook(PROMOTE, inventory=fleet)
    assert result.rc == 0, result.output
    assert result.task("Promote")["changed"] is False
    assert node.mutating_requests() == []


def test_canary_through_the_deploy_role(sim_fleet, make_bundle, run_playbook):
    """The same canary as a release of the deploy role: a failed promotion puts every node back to
    exactly the canary mapping it served."""
    from test_role_deploy import ROLLING_DEPLOY, deploy_vars, served

    fleet = sim_fleet(nodes=2)
    manifest = make_bundle(services=[SERVICE], versions=["v1", "v2"])
    serve_everywhere(fleet, manifest, "v1", SERVICE)

    canary = deploy_vars(manifest, "v2", mapping=[{"generation": "v1", "proba": 0.9}, {"generation": "v2", "proba": 0.1}])
    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=canary)
    assert result.rc == 0, result.output
    for node in fleet.nodes:
        shares = dict((g["generationId"], g["mapped"]) for g in node.admin_client().service(SERVICE).list_generations())
        assert shares == {"v1": 0.9, "v2": 0.1}, node.name
        # The smoke test forced the new generation; real traffic goes mostly to v1.
        assert any(r["path"] == "/public/api/v1/churn/predict/predict" for r in node.requests())
    draws = answered(fleet.node("node1"), 400)
    assert set(draws) == {"v1", "v2"} and 10 <= draws["v2"] <= 90, draws
    canary_served = {node.name: served(node) for node in fleet.nodes}

    # The promotion fails its smoke test on node2: both nodes go back to the canary mapping, exactly.
    fleet.node("node2").add_fault(method="POST", path="^/public/api/v1/churn/predict/predict$", status=500,
                                  body={"message": "model failed to load"})
    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(manifest, "v2"))
    assert result.rc != 0
    assert result.failed_hosts == ["node2"]
    for node in fleet.nodes:
        assert served(node) == canary_served[node.name], node.name
        restored = mapping_of(node)
        assert restored["strategy"] == "RANDOM"
        assert sorted((e["generation"], e["proba"]) for e in restored["entries"]) == [("v1", 0.9), ("v2", 0.1)]

    fleet.node("node2").clear_faults()
    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(manifest, "v2"))
    assert result.rc == 0, result.output
    for node in fleet.nodes:
        assert mapping_of(node)["generation"] == "v2"
        assert answered(node, 50) == Counter({"v2": 50})
        node.clear_requests()

    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=deploy_vars(manifest, "v2"))
    assert result.rc == 0, result.output
    assert result.changed_count == 0
    for node in fleet.nodes:
        assert node.mutating_requests() == [], node.name
