"""The deploy role over the admin API alone (``apinode_deploy_transport: api``), like the DSS API Deployer.

The inventory hosts are names whose connection could not run anything: SSH to an address that no
route reaches. Every proof comes from the simulated nodes themselves: their request logs, their
data dirs and the official client.
"""

import json
import os

import pytest

from harness import packages_of, serve_everywhere
from test_role_deploy import FEATURES, PLAN, ROLLBACK, ROLLING_DEPLOY, generations, served

STAGE = "Stage the release (copy, import, preload; traffic untouched)"
IMPORT_FROM_STREAM = "/admin/api/services/churn/generations/actions/importFromStream"
IMPORT_FROM_ARCHIVE = "/admin/api/services/churn/generations/actions/importFromArchive"
LOCK_LABEL = "dss.apinode deploy lock"
UNROUTABLE = "192.0.2.10"  # TEST-NET-1 (RFC 5737): never routed


@pytest.fixture
def churn(make_bundle):
    return make_bundle(services=["churn"], versions=["v1", "v2"])


def api_vars(manifest, version, **extra):
    package = packages_of(manifest, version=version)[0]
    release = {
        "apinode_deploy_transport": "api",
        # new: the first rollout creates the service on purpose.
        "apinode_deploy_services": [{"id": "churn", "package": package["path"], "new": True,
                                     "smoke_tests": [{"endpoint": "predict", "features": FEATURES}]}],
    }
    release.update(extra)
    return release


def unreachable_inventory(fleet, path):
    """One host per node that only names it: SSH to an unroutable address, so any task that ran on the
    host (a copy, a module, a shell) would fail; the node is reached through ``apinode_url`` only."""
    hosts = {}
    for node in fleet.nodes:
        hosts[node.name] = {
            "ansible_connection": "ssh",
            "ansible_host": UNROUTABLE,
            "ansible_user": "nobody",
            "ansible_ssh_common_args": "-o ConnectTimeout=3 -o BatchMode=yes",
            "apinode_url": node.url,
            "apinode_admin_key": node.admin_key,
        }
    # No localhost in the inventory: the modules run on Ansible's implicit localhost, the controller.
    path.write_text(json.dumps({"all": {"children": {"apinodes": {"hosts": hosts}}}}))
    return path


def staging_dirs_under(node):
    return [root for root, dirs, _files in os.walk(node.data_dir) if "dss-apinode-staging" in dirs]


def lock_keys(node):
    return [k for k in node.admin_keys() if k.get("label") == LOCK_LABEL]


def paths(node, method=None):
    return [r["path"] for r in node.requests() if method is None or r["method"] == method]


@pytest.mark.core_sensitive
def test_api_rollout_streams_packages_and_never_reaches_the_hosts(sim_fleet, churn, run_playbook, tmp_path):
    fleet = sim_fleet(nodes=3)
    inventory = unreachable_inventory(fleet, tmp_path / "inventory.json")
    for node in fleet.nodes:
        node.clear_requests()

    first = run_playbook(ROLLING_DEPLOY, inventory=inventory, extra_vars=api_vars(churn, "v1"))

    assert first.rc == 0, first.output
    assert "UNREACHABLE" not in first.output and UNROUTABLE not in first.output
    for node in fleet.nodes:
        enabled, mapping = served(node)
        assert enabled and mapping["generation"] == "v1", (node.name, mapping)
        answer = node.user_client("churn").predict_record("predict", FEATURES)
        assert answer["apiContext"]["serviceGeneration"] == "v1"
        posts = paths(node, "POST")
        assert posts.count(IMPORT_FROM_STREAM) == 1, (node.name, posts)
        assert IMPORT_FROM_ARCHIVE not in paths(node), node.name
        # The lock was an admin API key: created, then deleted when the run ended.
        assert "/admin/api/keys" in posts, posts
        assert any(r["method"] == "DELETE" and r["path"].startswith("/admin/api/keys/") for r in node.requests())
        assert lock_keys(node) == [], node.name
        # Nothing was written to the node's disk by the rollout: no staging folder, no marker, no lock folder.
        assert staging_dirs_under(node) == [], node.name
        assert not os.path.exists(os.path.join(node.data_dir, "dss-apinode-staging"))
        node.clear_requests()

    again = run_playbook(ROLLING_DEPLOY, inventory=inventory, extra_vars=api_vars(churn, "v1"))

    assert again.rc == 0, again.output
    assert again.changed_count == 0, [t["task"] for t in again.tasks if t["status"] == "changed"]
    for node in fleet.nodes:
        assert again.task(PLAN, node.name)["current"] is True
        assert not again.ran(STAGE, node.name)
        # Only reads: no lock key, no import, no switch, not even a smoke test.
        assert {r["method"] for r in node.requests()} == {"GET"}, (node.name, node.requests())
        assert not any(p.startswith("/public/api/") for p in paths(node)), node.name


@pytest.mark.core_sensitive
def test_api_rollout_rolls_back_exactly_on_a_failed_smoke_test(sim_fleet, churn, run_playbook, tmp_path):
    fleet = sim_fleet(nodes=3)
    inventory = unreachable_inventory(fleet, tmp_path / "inventory.json")
    serve_everywhere(fleet, churn, "v1")
    before = {node.name: served(node) for node in fleet.nodes}
    node2 = fleet.node("node2")
    # v2 fails on node2 only: its predictions answer 500.
    node2.add_generation_fault("churn", "v2", status=500, body={"message": "model failed to load"})
    for node in fleet.nodes:
        node.clear_requests()

    result = run_playbook(ROLLING_DEPLOY, inventory=inventory, extra_vars=api_vars(
        churn, "v2", apinode_deploy_smoke_retries=1, apinode_deploy_smoke_delay=0))

    assert result.rc != 0
    assert result.failed_hosts == ["node2"], result.failed_hosts
    assert "endpoint predict" in result.output
    assert "UNREACHABLE" not in result.output
    for node in fleet.nodes:
        assert served(node) == before[node.name], node.name
        switches = [r for r in node.requests() if r["path"].endswith("/actions/setMapping")]
        assert len(switches) == 2, (node.name, switches)  # to v2, then back to exactly v1
        assert generations(node) == ["v1", "v2"]  # v2 stays imported, staged for the next attempt
        assert IMPORT_FROM_ARCHIVE not in paths(node)
        assert lock_keys(node) == [], node.name
        assert staging_dirs_under(node) == []
    put_back = [r["item"] for r in next(iter(result.results(ROLLBACK).values()))["results"] if r.get("changed")]
    assert sorted(put_back) == ["node1", "node2", "node3"]


def test_api_transport_refuses_code_envs_before_any_write(sim_fleet, make_bundle, run_playbook, tmp_path):
    fleet = sim_fleet(nodes=2)
    inventory = unreachable_inventory(fleet, tmp_path / "inventory.json")
    manifest = make_bundle(services=["churn"], versions=["v1"], code_envs=["churn-py"])
    for node in fleet.nodes:
        node.clear_requests()

    result = run_playbook(ROLLING_DEPLOY, inventory=inventory, extra_vars=api_vars(
        manifest, "v1", apinode_deploy_code_envs=[{"path": manifest["code_envs"][0]["path"]}]))

    assert result.rc != 0
    assert sorted(result.failed_hosts) == ["node1", "node2"]
    assert "api transport cannot fill the code-env or model cache" in result.output
    for node in fleet.nodes:
        assert node.mutating_requests() == [], node.name
        assert node.admin_client().list_services() == []


def test_a_node_without_import_from_stream_gets_a_clear_error(sim_fleet, churn, run_playbook, tmp_path):
    fleet = sim_fleet(nodes=1)
    node = fleet.nodes[0]
    inventory = unreachable_inventory(fleet, tmp_path / "inventory.json")
    node.add_fault(method="POST", path="importFromStream$", status=404,
                   body={"errorType": "javax.ws.rs.NotFoundException", "message": "HTTP 404 Not Found"})

    result = run_playbook(ROLLING_DEPLOY, inventory=inventory, extra_vars=api_vars(churn, "v1"))

    assert result.rc != 0
    assert result.failed_hosts == ["node1"]
    assert "importFromStream (HTTP 404)" in result.output and "node transport" in result.output
    assert node.admin_client().service("churn").list_generations() == []
    assert lock_keys(node) == []


def test_local_connection_hosts_deploy_the_same_way(sim_fleet, churn, run_playbook, fleet_inventory, tmp_path):
    """The other inventory shape: a host per node with ``ansible_connection: local``."""
    fleet = sim_fleet(nodes=2)
    inventory = fleet_inventory(fleet, tmp_path / "inventory.json")
    for node in fleet.nodes:
        node.clear_requests()

    result = run_playbook(ROLLING_DEPLOY, inventory=inventory, extra_vars=api_vars(churn, "v1"))

    assert result.rc == 0, result.output
    for node in fleet.nodes:
        assert served(node)[1]["generation"] == "v1"
        assert IMPORT_FROM_STREAM in paths(node, "POST") and IMPORT_FROM_ARCHIVE not in paths(node)
        assert staging_dirs_under(node) == []


def background_staging_is_safe(transport):
    """Mirror of the role's rule: ansible-core before 2.20.3 polls a delegated background task with the
    inventory host's Python (ansible/ansible#86491), so the api transport stages in the foreground there."""
    from ansible.module_utils.compat.version import LooseVersion
    from ansible.release import __version__ as core_version

    return transport == "node" or LooseVersion(core_version) >= LooseVersion("2.20.3")


@pytest.mark.core_sensitive
@pytest.mark.parametrize("transport", ["node", "api"])
def test_a_long_import_prints_progress_where_the_core_can_poll_it(
        sim_fleet, churn, run_playbook, fleet_inventory, tmp_path, transport):
    """A 2 s preload: progress lines every second where the background poll is safe; elsewhere one call
    that ends (before the fix, an api-transport stage waited for the whole stage timeout)."""
    fleet = sim_fleet(nodes=1)
    fleet.nodes[0].set_costs(preload_seconds=2)
    inventory = (unreachable_inventory(fleet, tmp_path / "inventory.json") if transport == "api"
                 else fleet_inventory(fleet, tmp_path / "inventory.json"))

    result = run_playbook(ROLLING_DEPLOY, inventory=inventory, extra_vars=api_vars(
        churn, "v1", apinode_deploy_transport=transport, apinode_deploy_progress_seconds=1,
        apinode_deploy_stage_timeout=60))

    assert result.rc == 0, result.output
    assert served(fleet.nodes[0])[1]["generation"] == "v1"
    assert ("ASYNC POLL on node1" in result.output) is background_staging_is_safe(transport), result.output


def test_the_rollback_playbook_stops_over_the_api_transport_naming_the_nodes(sim_fleet, churn, run_playbook, tmp_path):
    """The api transport keeps no rollout record on the node: the playbook says so once, before any change."""
    fleet = sim_fleet(nodes=2)
    inventory = unreachable_inventory(fleet, tmp_path / "inventory.json")
    assert run_playbook(ROLLING_DEPLOY, inventory=inventory, extra_vars=api_vars(churn, "v1")).rc == 0
    for node in fleet.nodes:
        node.clear_requests()

    result = run_playbook("dss.apinode.rollback", inventory=inventory, extra_vars={"apinode_deploy_transport": "api"})

    assert result.rc != 0
    assert "node1, node2: A rollback without previous reads the record the last rollout kept" in result.output
    assert "deploying the previous release again" in result.output
    assert "UNREACHABLE" not in result.output
    for node in fleet.nodes:
        assert node.mutating_requests() == [], node.name
        assert served(node)[1]["generation"] == "v1"
