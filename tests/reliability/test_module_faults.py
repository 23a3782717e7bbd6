"""Module-level faults: retries, timeouts, lost nodes, failing imports, revoked keys, stray generations.

Reads are retried; changes are never repeated blindly (the request log proves each was sent once), and
a re-run after the fault converges without losing anything.
"""

import time

import pytest

from reliability_helpers import (
    assert_no_secrets,
    failed_on,
    calls,
    clear_log,
    fleet_secrets,
    install,
    module_play,
    mutating,
    packages_of,
    run_in_background,
    service_state,
    serves,
    settle,
    task,
    wait_for_request,
)

SERVICE = "churn"
# The module switches with setMapping (explicit generation); switchTo is the official client's way.
SWITCH = r"/services/churn/actions/(switchTo|setMapping)"
IMPORT = r"/services/churn/generations/actions/importFromArchive"


def switch_play(generation, **connection):
    args = dict({"name": SERVICE, "generation": generation}, **connection)
    return module_play(task("Switch", "apinode_service", args, ignore_errors=True))


def import_play(package, preload=False, **connection):
    return module_play(task("Import", "apinode_generation",
                            dict({"service": SERVICE, "archive": package, "preload": preload}, **connection),
                            ignore_errors=True))


@pytest.fixture
def two_generations(one_node, make_bundle):
    """One node whose service serves v1 and also holds v2."""
    fleet, node = one_node
    manifest = make_bundle(services=[SERVICE], versions=["v1", "v2"])
    install(node, SERVICE, packages_of(manifest), switch_to="v1")
    return fleet, node, manifest


def test_reads_are_retried_after_503s(one_node, run_playbook):
    fleet, node = one_node
    node.add_fault(method="GET", path=r"^/admin/api/services$", status=503, count=2)
    result = run_playbook(module_play(task("Read", "apinode_info", {"gather": ["services"]})), inventory=fleet)
    assert result.rc == 0, result.output
    read = result.task("Read")
    assert read["services"] == []
    assert len(read["warnings"]) == 2 and all("retrying" in w for w in read["warnings"])
    assert [r["status"] for r in calls(node, "GET", r"^/admin/api/services$")][:3] == [503, 503, 200]
    assert_no_secrets(result, fleet_secrets(fleet))


def test_switch_answered_503_is_not_repeated_and_a_rerun_converges(two_generations, run_playbook):
    fleet, node, unused_extra = two_generations
    node.add_fault(method="POST", path=SWITCH, status=503, count=1)
    first = run_playbook(switch_play("v2"), inventory=fleet)
    assert failed_on(first, "Switch") == ["node1"]
    assert "503" in first.task("Switch")["msg"]
    assert len(calls(node, "POST", SWITCH)) == 1, "a switch must never be repeated blindly"
    assert serves(node, SERVICE) == "v1"

    second = run_playbook(switch_play("v2"), inventory=fleet)
    assert second.rc == 0 and second.task("Switch")["changed"] is True
    assert [r["status"] for r in calls(node, "POST", SWITCH)] == [503, 200]
    assert serves(node, SERVICE) == "v2"

    clear_log(node)
    third = run_playbook(switch_play("v2"), inventory=fleet)
    assert third.rc == 0 and third.task("Switch")["changed"] is False
    assert mutating(node) == []
    for result in (first, second, third):
        assert_no_secrets(result, fleet_secrets(fleet))


def test_import_answered_503_is_not_repeated_and_a_rerun_imports_once(one_node, make_bundle, run_playbook):
    fleet, node = one_node
    package = packages_of(make_bundle(services=[SERVICE], versions=["v1"]))[0]["path"]
    node.admin_client().create_service(SERVICE)
    node.add_fault(method="POST", path=IMPORT, status=503, count=1)
    first = run_playbook(import_play(package), inventory=fleet)
    assert failed_on(first, "Import") == ["node1"] and "503" in first.task("Import")["msg"]
    assert len(calls(node, "POST", IMPORT)) == 1
    assert service_state(node, SERVICE)["generations"] == {}

    second = run_playbook(import_play(package), inventory=fleet)
    assert second.rc == 0 and second.task("Import")["changed"] is True
    assert [r["status"] for r in calls(node, "POST", IMPORT)] == [503, 200]
    clear_log(node)
    third = run_playbook(import_play(package), inventory=fleet)
    assert third.task("Import")["changed"] is False and mutating(node) == []
    assert list(service_state(node, SERVICE)["generations"]) == ["v1"]


def test_preload_failure_keeps_the_import_and_a_rerun_only_preloads(one_node, make_bundle, run_playbook):
    fleet, node = one_node
    package = packages_of(make_bundle(services=[SERVICE], versions=["v1"]))[0]["path"]
    node.admin_client().create_service(SERVICE)
    node.add_fault(method="POST", path=r"/generations/v1/preload", status=500, count=1,
                   body={"errorType": "java.lang.OutOfMemoryError", "message": "Failed to load model: Java heap space"})
    first = run_playbook(import_play(package, preload=True), inventory=fleet)
    assert failed_on(first, "Import") == ["node1"]
    assert "Failed to load model" in first.task("Import")["msg"]
    assert service_state(node, SERVICE)["generations"] == {"v1": False}

    clear_log(node)
    second = run_playbook(import_play(package, preload=True), inventory=fleet)
    assert second.rc == 0 and second.task("Import")["changed"] is True
    assert [r["path"] for r in mutating(node)] == ["/admin/api/services/churn/generations/v1/preload"]
    assert service_state(node, SERVICE)["generations"] == {"v1": True}


def test_slow_reads_time_out_then_succeed_on_retry(one_node, run_playbook):
    fleet, node = one_node
    node.add_fault(method="GET", path=r"^/admin/api/services$", delay=3, count=1)
    play = module_play(task("Read", "apinode_info", {"gather": ["services"], "timeout": 1, "retries": 1}))
    result = run_playbook(play, inventory=fleet)
    assert result.rc == 0, result.output
    assert any("timeout" in w for w in result.task("Read")["warnings"])

    node.add_fault(method="GET", path=r"^/admin/api/services$", delay=3)
    play = module_play(task("Read", "apinode_info", {"gather": ["services"], "timeout": 1, "retries": 0},
                            ignore_errors=True))
    failed = run_playbook(play, inventory=fleet)
    node.clear_faults()
    assert failed_on(failed, "Read") == ["node1"]
    assert "no answer within 1 seconds (timeout)" in failed.task("Read")["msg"]
    assert_no_secrets(failed, fleet_secrets(fleet))


def test_slow_switch_times_out_once_and_the_rerun_finds_it_done(two_generations, run_playbook):
    fleet, node, unused_extra = two_generations
    node.add_fault(method="POST", path=SWITCH, delay=4, count=1)
    first = run_playbook(switch_play("v2", timeout=1), inventory=fleet)
    assert failed_on(first, "Switch") == ["node1"] and "timeout" in first.task("Switch")["msg"]
    wait_for_request(node, "POST", SWITCH)  # the node finishes the late switch on its own
    assert len(calls(node, "POST", SWITCH)) == 1, "a timed-out switch must not be sent again"
    assert serves(node, SERVICE) == "v2"

    clear_log(node)
    second = run_playbook(switch_play("v2"), inventory=fleet)
    assert second.rc == 0 and second.task("Switch")["changed"] is False
    assert mutating(node) == []


def test_unreachable_node_fails_clearly_and_dropped_reads_are_retried(one_node, run_playbook):
    fleet, node = one_node
    node.kill()
    play = module_play(task("Read", "apinode_info", {"retries": 1}, ignore_errors=True))
    down = run_playbook(play, inventory=fleet)
    assert failed_on(down, "Read") == ["node1"]
    message = down.task("Read")["msg"]
    assert node.url in message and "refused" in message.lower()

    node.start()
    node.add_fault(method="GET", path=r"^/admin/api/services$", drop=True, count=1)
    back = run_playbook(play, inventory=fleet)
    assert back.rc == 0 and back.failed_hosts == []
    assert back.task("Read")["node"]["alive"] is True
    for result in (down, back):
        assert_no_secrets(result, fleet_secrets(fleet))


def test_node_killed_during_an_import_leaves_no_half_generation(one_node, make_bundle, run_playbook):
    fleet, node = one_node
    package = packages_of(make_bundle(services=[SERVICE], versions=["v1"], size_mb=2))[0]["path"]
    node.admin_client().create_service(SERVICE)
    node.set_costs(import_seconds_per_mb=4.0)  # an import of about 8 s, killed after about 1 s
    clear_log(node)
    run = run_in_background(run_playbook, import_play(package), inventory=fleet)
    wait_for_request(node, "GET", r"/services/churn/generations$")
    time.sleep(1.0)
    node.kill()
    node.start()
    interrupted = run.join()
    assert failed_on(interrupted, "Import") == ["node1"]
    assert service_state(node, SERVICE)["generations"] == {}, "an interrupted import must leave nothing behind"

    node.set_costs(import_seconds_per_mb=0.0)
    rerun = run_playbook(import_play(package), inventory=fleet)
    assert rerun.rc == 0 and rerun.task("Import")["changed"] is True
    assert service_state(node, SERVICE)["generations"] == {"v1": False}
    assert_no_secrets(interrupted, fleet_secrets(fleet))


@pytest.mark.parametrize("breakage", ["corrupted", "no_tag"])
def test_broken_package_is_refused_before_any_request(one_node, make_bundle, run_playbook, breakage):
    fleet, node = one_node
    package = packages_of(make_bundle(services=[SERVICE], versions=["v1"], **{breakage: True}))[0]["path"]
    node.admin_client().create_service(SERVICE)
    clear_log(node)
    result = run_playbook(import_play(package), inventory=fleet)
    assert failed_on(result, "Import") == ["node1"]
    message = result.task("Import")["msg"]
    assert package in message and ("tag.json" in message or "zip" in message.lower())
    assert mutating(node) == []
    assert service_state(node, SERVICE)["generations"] == {}


def test_import_rejected_by_the_node_reports_its_message(one_node, make_bundle, run_playbook):
    """The node, not the module, finds the package unusable (e.g. a newer DSS format)."""
    fleet, node = one_node
    package = packages_of(make_bundle(services=[SERVICE], versions=["v1"]))[0]["path"]
    node.admin_client().create_service(SERVICE)
    node.add_fault(method="POST", path=IMPORT, status=400, count=1,
                   body={"errorType": "java.lang.IllegalArgumentException",
                         "message": "Package was created with a newer DSS version (14.9.0)"})
    result = run_playbook(import_play(package), inventory=fleet)
    assert failed_on(result, "Import") == ["node1"]
    assert "newer DSS version" in result.task("Import")["msg"]
    assert len(calls(node, "POST", IMPORT)) == 1
    assert service_state(node, SERVICE)["generations"] == {}


def test_disk_full_during_import(one_node, make_bundle, run_playbook):
    """ENOSPC on the node, simulated with a fault rule shaped like the node's Java error.

    A real small filesystem would need mount privileges that a test run cannot assume.
    """
    fleet, node = one_node
    package = packages_of(make_bundle(services=[SERVICE], versions=["v1"]))[0]["path"]
    node.admin_client().create_service(SERVICE)
    node.add_fault(method="POST", path=IMPORT, status=500, count=1,
                   body={"errorType": "java.io.IOException", "message": "No space left on device"})
    full = run_playbook(import_play(package), inventory=fleet)
    assert failed_on(full, "Import") == ["node1"]
    assert "No space left on device" in full.task("Import")["msg"]
    assert service_state(node, SERVICE)["generations"] == {}

    freed = run_playbook(import_play(package), inventory=fleet)
    assert freed.rc == 0 and freed.task("Import")["changed"] is True
    assert service_state(node, SERVICE)["generations"] == {"v1": False}


def test_revoked_admin_key_fails_once_without_retry_or_leak(two_generations, run_playbook, fleet_inventory, tmp_path):
    fleet, node, unused_extra = two_generations
    replacement = node.admin_client().auth().add_key(label="replacement")["key"]
    node.admin_client(api_key=replacement).auth().delete_key(node.admin_key)
    clear_log(node)
    revoked = run_playbook(switch_play("v2"), inventory=fleet)
    assert failed_on(revoked, "Switch") == ["node1"]
    result = revoked.task("Switch")
    assert result["status"] == 401
    assert [r["status"] for r in settle(node)] == [401], "a rejected key must not be retried"
    assert serves(node, SERVICE, replacement) == "v1"

    inventory = fleet_inventory(fleet, tmp_path / "new-key.json", apinode_admin_key=replacement)
    rerun = run_playbook(switch_play("v2"), inventory=str(inventory))
    assert rerun.rc == 0 and serves(node, SERVICE, replacement) == "v2"
    for run in (revoked, rerun):
        assert_no_secrets(run, fleet_secrets(fleet, node.admin_key, replacement))


def test_stray_newer_generation_is_never_switched_to(one_node, make_bundle, run_playbook):
    fleet, node = one_node
    manifest = make_bundle(services=[SERVICE], versions=["v1", "v2", "v3"])
    install(node, SERVICE, packages_of(manifest), switch_to="v1")  # v3: newest, imported by hand
    result = run_playbook(switch_play("v2"), inventory=fleet)
    assert result.rc == 0 and failed_on(result, "Switch") == [], result.task("Switch")
    assert serves(node, SERVICE) == "v2"
    assert service_state(node, SERVICE)["mapping"] == {"v2": 1.0}
    paths = [r["path"] for r in mutating(node)]
    assert paths == ["/admin/api/services/churn/actions/setMapping"]
    assert not any("switchToNewest" in p for p in paths)
