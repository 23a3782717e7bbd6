"""apinode_cache against a simulated node: imports with fingerprint markers, clean-ups, the keep safety, errors."""

import json
import os

import pytest
from harness import module_play, task


def cache_play(args):
    return module_play(task("Manage the caches", "apinode_cache", args))


@pytest.fixture
def fleet(sim_fleet):
    return sim_fleet(nodes=1)


@pytest.fixture
def node(fleet):
    return fleet.nodes[0]


@pytest.fixture
def artefacts(make_bundle):
    manifest = make_bundle(services=["churn"], versions=["v1", "v2", "v3"], code_envs=["churn-py", "scoring-r:R"],
                           models=["sentiment"])
    envs = dict((e["name"], e["path"]) for e in manifest["code_envs"])
    return dict(python_env=envs["churn-py"], r_env=envs["scoring-r"], model=manifest["models"][0]["path"],
                packages=dict((p["version"], p["path"]) for p in manifest["packages"]))


def cached_envs(node, language):
    folder = os.path.join(node.data_dir, "code-envs-cache", language)
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def cached_models(node):
    return sorted(os.listdir(os.path.join(node.data_dir, "model-cache")))


def imports_sent(node):
    return [(r["method"], r["path"]) for r in node.mutating_requests()]


def test_code_env_check_mode_import_rerun_and_content_change(fleet, node, artefacts, run_playbook):
    play = cache_play({"code_env": artefacts["python_env"], "language": "python"})
    node.clear_requests()

    check = run_playbook(play, inventory=fleet, check=True, diff=True)
    assert check.rc == 0, check.output
    task = check.task("Manage the caches")
    assert task["changed"] is True
    assert task["imports"][0]["changed"] is True
    assert task["diff"]["before"]["imported"] == {artefacts["python_env"]: None}
    assert node.mutating_requests() == []
    assert cached_envs(node, "python") == []
    assert not os.path.exists(task["imports"][0]["marker"])

    first = run_playbook(play, inventory=fleet)
    assert first.rc == 0, first.output
    task = first.task("Manage the caches")
    assert task["changed"] is True
    assert task["imports"][0]["kind"] == "code_env"
    assert task["imports"][0]["fingerprint"].startswith("sha256:")
    assert cached_envs(node, "python") == ["churn-py"]
    assert imports_sent(node) == [("POST", "/admin/api/cached-code-envs")]
    marker = json.load(open(task["imports"][0]["marker"]))
    assert marker["fingerprint"] == task["imports"][0]["fingerprint"]
    assert os.path.dirname(task["imports"][0]["marker"]) == os.path.join(
        os.path.dirname(artefacts["python_env"]), ".apinode-cache")

    node.clear_requests()
    again = run_playbook(play, inventory=fleet)
    assert again.task("Manage the caches")["changed"] is False
    assert node.mutating_requests() == []

    with open(os.path.join(artefacts["python_env"], "spec", "requirements.txt"), "a") as handle:
        handle.write("requests==2.31.0\n")
    changed = run_playbook(play, inventory=fleet)
    assert changed.task("Manage the caches")["changed"] is True
    assert imports_sent(node) == [("POST", "/admin/api/cached-code-envs")]

    node.clear_requests()
    forced = run_playbook(cache_play({"code_env": artefacts["python_env"], "force": True}), inventory=fleet)
    assert forced.task("Manage the caches")["changed"] is True
    assert imports_sent(node) == [("POST", "/admin/api/cached-code-envs")]


def test_register_built_r_env_with_state_dir(fleet, node, artefacts, run_playbook, tmp_path):
    built = tmp_path / "built-r-env"
    built.mkdir()
    (built / "bin").mkdir()
    state_dir = str(tmp_path / "markers")
    play = cache_play({"code_env": artefacts["r_env"], "language": "R", "built_env_path": str(built),
                       "state_dir": state_dir})
    node.clear_requests()
    first = run_playbook(play, inventory=fleet)
    assert first.rc == 0, first.output
    task = first.task("Manage the caches")
    assert task["imports"][0]["kind"] == "built_code_env"
    assert task["imports"][0]["marker"].startswith(state_dir)
    assert cached_envs(node, "R") == ["scoring-r"]
    assert [r["path"] for r in node.mutating_requests()] == ["/admin/api/register-global-code-env"]
    query = node.mutating_requests()[0]["query"]
    assert "builtEnvDir" in json.dumps(query) and "language" in json.dumps(query)

    node.clear_requests()
    assert run_playbook(play, inventory=fleet).task("Manage the caches")["changed"] is False
    assert node.mutating_requests() == []


def test_model_import_clear_and_reimport(fleet, node, artefacts, run_playbook):
    play = cache_play({"model_archive": artefacts["model"]})
    node.clear_requests()
    check = run_playbook(play, inventory=fleet, check=True)
    assert check.task("Manage the caches")["changed"] is True
    assert node.mutating_requests() == []

    first = run_playbook(play, inventory=fleet)
    assert first.rc == 0, first.output
    assert len(cached_models(node)) == 1
    assert run_playbook(play, inventory=fleet).task("Manage the caches")["changed"] is False

    # Clearing forgets the markers, so the same task imports the archive again.
    node.clear_requests()
    cleared = run_playbook(cache_play({"model_archive": artefacts["model"], "clear_model_cache": True}),
                           inventory=fleet)
    assert cleared.rc == 0, cleared.output
    task = cleared.task("Manage the caches")
    assert [c["action"] for c in task["cleanups"]] == ["clear_model_cache"]
    assert task["imports"][0]["changed"] is True
    assert imports_sent(node) == [("DELETE", "/admin/api/model-cache"), ("POST", "/admin/api/model-cache")]
    assert len(cached_models(node)) == 1

    node.clear_requests()
    only_clear = run_playbook(cache_play({"clear_model_cache": True}), inventory=fleet, check=True)
    assert only_clear.task("Manage the caches")["changed"] is True
    assert node.mutating_requests() == []
    run_playbook(cache_play({"clear_model_cache": True}), inventory=fleet)
    assert cached_models(node) == []


def test_clean_code_envs(fleet, node, artefacts, run_playbook):
    assert run_playbook(cache_play({"code_env": artefacts["python_env"]}), inventory=fleet).rc == 0
    node.clear_requests()
    result = run_playbook(cache_play({"clean_code_envs": True}), inventory=fleet)
    assert result.rc == 0, result.output
    task = result.task("Manage the caches")
    assert task["changed"] is True
    assert task["cleanups"][0]["response"]["deletedCodeEnvs"] == [{"envName": "churn-py", "language": "python"}]
    assert imports_sent(node) == [("DELETE", "/admin/api/cached-code-envs")]
    assert cached_envs(node, "python") == []


def test_clean_unused_services_keeps_mapped_loaded_and_kept(fleet, node, artefacts, run_playbook):
    admin = node.admin_client()
    # churn: v1, v2, v3 on disk, v3 serving, v2 kept on purpose, v1 unused.
    admin.create_service("churn")
    churn = admin.service("churn")
    for version in ("v1", "v2", "v3"):
        churn.import_generation_from_archive(artefacts["packages"][version])
    churn.switch_to_single_generation("v3")
    # paused: disabled but still mapped to v1 -> must survive (the node-wide call would delete it).
    admin.create_service("paused")
    paused = admin.service("paused")
    paused.import_generation_from_archive(artefacts["packages"]["v1"])
    paused.switch_to_single_generation("v1")
    paused.disable()
    # empty: disabled, never mapped -> removed.
    admin.create_service("empty")

    play = cache_play({"clean_unused_services": True, "keep": ["churn/v2"]})
    node.clear_requests()
    check = run_playbook(play, inventory=fleet, check=True, diff=True)
    assert check.rc == 0, check.output
    planned = check.task("Manage the caches")
    assert planned["changed"] is True
    assert node.mutating_requests() == []
    assert sorted((c["action"], c.get("service"), c.get("generation")) for c in planned["cleanups"]) == [
        ("delete_generation", "churn", "v1"), ("delete_service", "empty", None)]

    done = run_playbook(play, inventory=fleet)
    assert done.rc == 0, done.output
    task = done.task("Manage the caches")
    assert sorted(task["kept"]) == ["churn/v2", "churn/v3", "paused/v1"]
    services = sorted(s["serviceId"] for s in admin.list_services())
    assert services == ["churn", "paused"]
    assert sorted(g["generationId"] for g in churn.list_generations()) == ["v2", "v3"]
    assert [g["generationId"] for g in paused.list_generations()] == ["v1"]
    assert "/admin/api/services-clean-unused" not in [r["path"] for r in node.mutating_requests()]

    node.clear_requests()
    again = run_playbook(play, inventory=fleet)
    assert again.task("Manage the caches")["changed"] is False
    assert node.mutating_requests() == []


def test_wrong_language_fails_before_any_request(fleet, node, artefacts, run_playbook):
    node.clear_requests()
    mismatch = run_playbook(cache_play({"code_env": artefacts["r_env"], "language": "python"}), inventory=fleet)
    assert mismatch.rc != 0
    assert "envLang=R" in mismatch.task("Manage the caches")["msg"]

    unknown = run_playbook(cache_play({"code_env": artefacts["python_env"], "language": "julia"}), inventory=fleet)
    assert unknown.rc != 0
    assert "language" in unknown.task("Manage the caches")["msg"]
    assert node.requests() == []


def test_missing_paths_fail_before_any_request(fleet, node, artefacts, run_playbook, tmp_path):
    node.clear_requests()
    for args, option in (({"code_env": str(tmp_path / "nope")}, "code_env"),
                         ({"model_archive": str(tmp_path / "nope.zip")}, "model_archive"),
                         ({"code_env": artefacts["python_env"], "built_env_path": str(tmp_path / "nope")},
                          "built_env_path")):
        result = run_playbook(cache_play(args), inventory=fleet)
        assert result.rc != 0
        msg = result.task("Manage the caches")["msg"]
        assert msg.startswith(option + "=") and "no such" in msg
    nothing = run_playbook(cache_play({"force": True}), inventory=fleet)
    assert "Nothing to do" in nothing.task("Manage the caches")["msg"]
    assert node.requests() == []


def test_node_errors_are_reported(fleet, node, artefacts, run_playbook):
    bad_key = run_playbook(cache_play({"model_archive": artefacts["model"], "api_key": "WrongKey00000000000000000000000"}),
                           inventory=fleet)
    task = bad_key.task("Manage the caches")
    assert bad_key.rc != 0 and task["status"] == 401
    assert not os.path.exists(os.path.join(os.path.dirname(artefacts["model"]), ".apinode-cache"))

    node.stop()
    down = run_playbook(cache_play({"model_archive": artefacts["model"], "retries": 0}), inventory=fleet)
    assert down.rc != 0
    assert "Cannot reach the API node" in down.task("Manage the caches")["msg"]
