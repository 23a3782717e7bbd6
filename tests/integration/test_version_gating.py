"""Version gating against simulated nodes of DSS 12.4, 13.0 and the newest: features a node is too old for fail
before any write, naming both versions; apinode_info reports the node's features and flags expiring admin keys."""

import time

import pytest
from harness import module_play, task

NEWEST = None  # the simulator's default version is the newest it knows
DAY = 86400


@pytest.fixture
def artefacts(make_bundle):
    manifest = make_bundle(services=["churn"], versions=["v1"], code_envs=["churn-py"], models=["sentiment"])
    return dict(env=manifest["code_envs"][0]["path"], model=manifest["models"][0]["path"],
                package=manifest["packages"][0]["path"])


def one_node(sim_fleet, version):
    fleet = sim_fleet(nodes=1, dss_version=version)
    return fleet, fleet.nodes[0]


def run_one(run_playbook, fleet, module, args, check=False):
    result = run_playbook(module_play(task("Gated", module, args)), inventory=fleet, check=check)
    return result, result.task("Gated")


GATED_CACHE_FEATURES = {
    "12.4.0": [
        ({"clear_model_cache": True}, "The model cache needs DSS 12.5 or newer, node runs 12.4.0."),
        ({"model_archive": "MODEL"}, "The model cache needs DSS 12.5 or newer, node runs 12.4.0."),
        ({"clean_code_envs": True}, "Cleaning the code-env cache needs DSS 13.0 or newer, node runs 12.4.0."),
    ],
    "12.3.0": [
        ({"code_env": "ENV", "built_env_path": "ENV"},
         "Registering a code env already built on the node needs DSS 12.4 or newer, node runs 12.3.0."),
    ],
}


@pytest.mark.parametrize("version", sorted(GATED_CACHE_FEATURES))
def test_cache_features_fail_before_any_write_on_older_nodes(sim_fleet, run_playbook, artefacts, version):
    """Each gated use is a task of one play, in check mode and not: each fails naming the version it needs."""
    fleet, node = one_node(sim_fleet, version)
    paths = {"MODEL": artefacts["model"], "ENV": artefacts["env"]}
    tasks, expected = [], {}
    for index, (args, msg) in enumerate(GATED_CACHE_FEATURES[version]):
        args = dict((k, paths.get(v, v)) for k, v in args.items())
        for check in (True, False):
            name = "Gated %d%s" % (index, " in check mode" if check else "")
            tasks.append(task(name, "apinode_cache", args, check_mode=check, ignore_errors=True))
            expected[name] = msg
    node.clear_requests()
    result = run_playbook(module_play(*tasks), inventory=fleet)
    for name, msg in expected.items():
        gated = result.task(name)
        assert result.status(name) == "failed" and gated["msg"] == msg, (name, gated)
    assert node.mutating_requests() == []


def test_cache_features_run_on_a_13_0_node(sim_fleet, run_playbook, artefacts):
    fleet, node = one_node(sim_fleet, "13.0.0")
    result, gated = run_one(run_playbook, fleet, "apinode_cache",
                            {"model_archive": artefacts["model"], "clean_code_envs": True})
    assert result.rc == 0, result.output
    assert [r["method"] + " " + r["path"] for r in node.mutating_requests()] == [
        "DELETE /admin/api/cached-code-envs", "POST /admin/api/model-cache"]


def test_a_package_built_by_a_newer_dss_is_refused(sim_fleet, run_playbook, make_bundle):
    fleet, node = one_node(sim_fleet, "13.0.0")
    node.admin_client().create_service("churn")
    newer = make_bundle(services=["churn"], versions=["v9"], dss_version="13.2.0")["packages"][0]["path"]
    node.clear_requests()
    result, gated = run_one(run_playbook, fleet, "apinode_generation", {"service": "churn", "archive": newer})
    assert result.rc != 0
    assert "built with DSS 13.2.0" in gated["msg"] and "runs DSS 13.0.0" in gated["msg"]
    assert node.mutating_requests() == []

    same = make_bundle(services=["churn"], versions=["v1"], dss_version="13.0.0")["packages"][0]["path"]
    result, gated = run_one(run_playbook, fleet, "apinode_generation", {"service": "churn", "archive": same})
    assert result.rc == 0, result.output
    assert [g["generationId"] for g in node.admin_client().service("churn").list_generations()] == ["v1"]


@pytest.mark.parametrize("version, features", [
    ("12.4.0", {"register_code_env": True, "model_cache": False, "cleanup": False, "hashed_keys": False,
                "delete_key_by_id": False, "key_expiry": False}),
    ("13.0.0", {"register_code_env": True, "model_cache": True, "cleanup": True, "hashed_keys": False,
                "delete_key_by_id": False, "key_expiry": False}),
    (NEWEST, {"register_code_env": True, "model_cache": True, "cleanup": True, "hashed_keys": True,
              "delete_key_by_id": True, "key_expiry": True}),
])
def test_info_reports_the_features_of_the_node_version(sim_fleet, run_playbook, version, features):
    fleet, node = one_node(sim_fleet, version)
    result, info = run_one(run_playbook, fleet, "apinode_info", {"gather": ["node"]})
    assert result.rc == 0, result.output
    assert info["node"]["features"] == features
    if version:
        assert info["node"]["dss_version"] == version


def test_info_flags_admin_keys_that_expire_soon(sim_fleet, run_playbook):
    fleet, node = one_node(sim_fleet, NEWEST)
    auth = node.admin_client().auth()
    auth.add_key(label="short", expiry=5)
    auth.add_key(label="long", expiry=60)
    result, info = run_one(run_playbook, fleet, "apinode_info", {"gather": ["keys"]})
    assert result.rc == 0, result.output
    keys = dict((k["label"], k) for k in info["admin_keys"])
    assert keys["short"]["expires_soon"] is True
    assert keys["long"]["expires_soon"] is False
    assert "expires_on" not in keys["Initial admin key"] and "expires_soon" not in keys["Initial admin key"]
    expected_day = time.strftime("%Y-%m-%d", time.gmtime(keys["short"]["expiresOn"] / 1000))
    assert keys["short"]["expires_on"].startswith(expected_day)
    assert abs(keys["short"]["expiresOn"] / 1000 - (time.time() + 5 * DAY)) < 3600
    warnings = info.get("warnings", [])
    assert len(warnings) == 1 and "'short' expires on " + expected_day in warnings[0]

    wider = run_playbook(module_play(task("Gated", "apinode_info", {"gather": ["keys"], "key_expiry_warning_days": 90})),
                         inventory=fleet)
    assert all(k["expires_soon"] for k in wider.task("Gated")["admin_keys"] if k["label"] != "Initial admin key")
