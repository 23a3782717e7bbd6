"""The deploy role (rolling_deploy) against API nodes of other DSS versions and against nodes that store
admin keys hashed.

- Hashed admin keys (DSS 13.1+): listing keys gives ids, never secrets. The node transport bootstraps a
  node-local key through the node's CLI; the api transport's run lock is an admin key that must be
  deleted by id (on DSS 13.0, which has no delete by id, by its secret).
- DSS 12.4 (no model cache), 13.0 and the newest version: a model import on a node older than 12.5 is
  refused before any write on any node; the same release without the model rolls out.
- A package built by a DSS newer than a node is refused at preflight, naming both versions.

Every proof is read out of band: the simulators' request logs, their data dirs and the official client.
"""

import json
import os
import stat
import zipfile

import pytest

from harness import packages_of
from test_role_deploy import FEATURES, PLAN, ROLLING_DEPLOY, served, staging_dir

LOCK_LABEL = "dss.apinode deploy lock"
NODE_KEY_LABEL = "dss.apinode deploy"
NEWEST = None  # the simulator's default version is the newest it knows
MODEL_CACHE = "/admin/api/model-cache"
CODE_ENV_CACHE = "/admin/api/cached-code-envs"


def release_vars(manifest, version="v1", models=True, **extra):
    """The deploy role's variables for one service of ``manifest``, with its code env and, unless
    ``models`` is false, its model archive."""
    package = packages_of(manifest, version=version)[0]
    release = {
        # new: the first rollout creates the service on purpose.
        "apinode_deploy_services": [{"id": package["service"], "package": package["path"], "new": True,
                                     "smoke_tests": [{"endpoint": "predict", "features": FEATURES}]}],
        "apinode_deploy_code_envs": [{"path": env["path"]} for env in manifest["code_envs"]],
        "apinode_deploy_models": [{"path": model["path"]} for model in manifest["models"]] if models else [],
    }
    release.update(extra)
    return release


def inventory_of(path, nodes, **extra_hostvars):
    """An inventory of local-connection hosts named after ``nodes`` ({host name: SimNode}), which may come
    from several fleets (one fleet per DSS version)."""
    hosts = {}
    for name, node in nodes.items():
        hostvars = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                    "apinode_url": node.url, "apinode_admin_key": node.admin_key,
                    "apinode_data_dir": str(node.data_dir)}
        hostvars.update(extra_hostvars)
        hosts[name] = hostvars
    path.write_text(json.dumps({"all": {"children": {"apinodes": {"hosts": hosts}}}}))
    return path


def serves(node, generation, service="churn"):
    enabled, mapping = served(node, service) or (False, None)
    answer = node.user_client(service).predict_record("predict", FEATURES)
    return enabled and (mapping or {}).get("generation") == generation \
        and answer["apiContext"]["serviceGeneration"] == generation


def cached_models(node):
    """The model-cache folders on the node's disk."""
    cache = os.path.join(node.data_dir, "model-cache")
    return sorted(os.listdir(cache)) if os.path.isdir(cache) else []


def paths(node, method=None):
    return [r["path"] for r in node.requests() if method is None or r["method"] == method]


# --- nodes that store admin keys hashed -----------------------------------------------------------------

def test_hashed_node_gets_a_node_local_key_from_its_cli_and_rolls_out(sim_fleet, make_bundle, run_playbook, tmp_path):
    fleet = sim_fleet(nodes=2, hashed_keys=True)
    churn = make_bundle(services=["churn"], versions=["v1"])
    # No admin key in the inventory: the role creates one through each node's own CLI.
    inventory = inventory_of(tmp_path / "inventory.json", {n.name: n for n in fleet.nodes}, apinode_admin_key="")
    env = {"DATAIKU_APINODE_API_KEY": ""}
    for node in fleet.nodes:
        assert all("key" not in k for k in node.admin_client().auth().list_keys()), "the node lists secrets"
        node.clear_requests()

    result = run_playbook(ROLLING_DEPLOY, inventory=inventory, extra_vars=release_vars(churn), env=env)

    assert result.rc == 0, result.output
    for node in fleet.nodes:
        assert serves(node, "v1"), node.name
        key_file = os.path.join(node.data_dir, "config", "dss-apinode-deploy.key")
        assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
        with open(key_file) as handle:
            local_key = json.load(handle)["key"]
        # The node-local key is a working admin key of this node, listed by its label and id only.
        assert node.admin_client(api_key=local_key).list_services()[0]["serviceId"] == "churn"
        listed = [k for k in node.admin_client().auth().list_keys() if k.get("label") == NODE_KEY_LABEL]
        assert len(listed) == 1 and "key" not in listed[0] and listed[0].get("id"), listed
        admin_calls = [r for r in node.requests() if r["path"].startswith("/admin/api/")]
        assert admin_calls and all(r["status"] < 400 for r in admin_calls), admin_calls
        assert not os.path.exists(os.path.join(staging_dir(node), ".deploy.lock"))
    for secret in fleet.all_keys():
        assert secret not in result.output
    keys_after = {node.name: sorted(k["id"] for k in node.admin_keys() if k.get("id")) for node in fleet.nodes}
    for node in fleet.nodes:
        node.clear_requests()

    # A re-run reuses the node-local keys: no key created, nothing but reads.
    again = run_playbook(ROLLING_DEPLOY, inventory=inventory, extra_vars=release_vars(churn), env=env)

    assert again.rc == 0, again.output
    for node in fleet.nodes:
        assert again.task(PLAN, node.name)["current"] is True
        assert {r["method"] for r in node.requests()} == {"GET"}, (node.name, node.requests())
        assert sorted(k["id"] for k in node.admin_keys() if k.get("id")) == keys_after[node.name]


def test_hashed_node_api_lock_key_is_deleted_by_id(sim_fleet, make_bundle, run_playbook, tmp_path):
    fleet = sim_fleet(nodes=2, hashed_keys=True)
    churn = make_bundle(services=["churn"], versions=["v1"])
    inventory = inventory_of(tmp_path / "inventory.json", {n.name: n for n in fleet.nodes})
    ids_before = {}
    for node in fleet.nodes:
        ids_before[node.name] = sorted(k["id"] for k in node.admin_client().auth().list_keys())
        node.clear_requests()

    result = run_playbook(ROLLING_DEPLOY, inventory=inventory,
                          extra_vars=release_vars(churn, models=False, apinode_deploy_code_envs=[],
                                                  apinode_deploy_transport="api"))

    assert result.rc == 0, result.output
    for node in fleet.nodes:
        assert serves(node, "v1"), node.name
        log = node.requests()
        created = [r for r in log if r["method"] == "POST" and r["path"] == "/admin/api/keys"]
        deleted = [r for r in log if r["method"] == "DELETE" and r["path"].startswith("/admin/api/keys/")]
        assert len(created) == 1 and created[0]["status"] == 200, (node.name, created)
        # Deleted by id (the node lists no secret to delete by), accepted, and only once.
        assert len(deleted) == 1 and deleted[0]["path"].endswith("/key") and deleted[0]["status"] < 300, deleted
        lock_id = deleted[0]["path"][len("/admin/api/keys/"):-len("/key")]
        assert lock_id and lock_id not in ids_before[node.name], (lock_id, ids_before[node.name])
        # Between the two, the lock key held the node: created before the import, deleted after the switch.
        order = [r["path"] for r in log if r["method"] in ("POST", "DELETE")]
        assert order.index("/admin/api/keys") < order.index(
            "/admin/api/services/churn/generations/actions/importFromStream"), order
        assert order.index(deleted[0]["path"]) > order.index("/admin/api/services/churn/actions/setMapping"), order
        listed = node.admin_client().auth().list_keys()
        assert [k for k in listed if k.get("label") == LOCK_LABEL] == [], listed
        assert sorted(k["id"] for k in listed) == ids_before[node.name]
        assert [k for k in node.admin_keys() if k.get("label") == LOCK_LABEL] == []  # also gone from disk


def test_api_lock_key_on_a_node_without_delete_by_id(sim_fleet, make_bundle, run_playbook, tmp_path):
    """DSS 13.0 lists secrets and has no delete by id (13.1.1): the lock key goes by its secret."""
    fleet = sim_fleet(nodes=1, dss_version="13.0.2")
    node = fleet.nodes[0]
    churn = make_bundle(services=["churn"], versions=["v1"], dss_version="13.0.0")
    inventory = inventory_of(tmp_path / "inventory.json", {node.name: node})
    secrets_before = sorted(k["key"] for k in node.admin_client().auth().list_keys())
    node.clear_requests()

    result = run_playbook(ROLLING_DEPLOY, inventory=inventory,
                          extra_vars=release_vars(churn, models=False, apinode_deploy_code_envs=[],
                                                  apinode_deploy_transport="api"))

    assert result.rc == 0, result.output
    assert serves(node, "v1")
    deleted = [r for r in node.requests() if r["method"] == "DELETE" and r["path"].startswith("/admin/api/keys/")]
    by_value = [r for r in deleted if not r["path"].endswith("/key")]
    assert len(by_value) == 1 and by_value[0]["status"] < 300, deleted
    # A try by id, if any, met the 404 of a node that does not know the path, and was not repeated.
    assert [r["status"] for r in deleted if r["path"].endswith("/key")] in ([], [404]), deleted
    listed = node.admin_client().auth().list_keys()
    assert [k for k in listed if k.get("label") == LOCK_LABEL] == [], listed
    assert sorted(k["key"] for k in listed) == secrets_before
    for secret in fleet.all_keys():
        assert secret not in result.output


# --- nodes of other DSS versions -----------------------------------------------------------------------

@pytest.fixture
def versions_fleet(sim_fleet):
    """One node per DSS version: {host name: SimNode}."""
    return {"dss124": sim_fleet(nodes=1, dss_version="12.4.0").nodes[0],
            "dss130": sim_fleet(nodes=1, dss_version="13.0.2").nodes[0],
            "newest": sim_fleet(nodes=1, dss_version=NEWEST).nodes[0]}


def test_model_release_is_refused_on_12_4_and_rolls_out_without_the_model(versions_fleet, make_bundle, run_playbook,
                                                                          tmp_path):
    # Built by 12.4, so that the package suits every node and the model is the only thing 12.4 lacks.
    churn = make_bundle(services=["churn"], versions=["v1"], code_envs=["churn-py"], models=["churn-model"],
                        dss_version="12.4.0")
    inventory = inventory_of(tmp_path / "inventory.json", versions_fleet)
    for node in versions_fleet.values():
        node.clear_requests()

    refused = run_playbook(ROLLING_DEPLOY, inventory=inventory, extra_vars=release_vars(churn))

    assert refused.rc != 0
    assert "dss124" in refused.failed_hosts, refused.failed_hosts
    message = refused.task(PLAN, "dss124")["msg"]
    assert "needs DSS 12.5" in message and "12.4.0" in message, message
    assert "churn-model" in message, message
    # One node that cannot take the release stops every node before anything is written or copied.
    for name, node in versions_fleet.items():
        assert node.mutating_requests() == [], name
        assert node.admin_client().list_services() == [], name
        assert not os.path.exists(staging_dir(node)) or os.listdir(staging_dir(node)) == [], name
        assert cached_models(node) == [], name

    # 13.0 and the newest take the whole release, model included.
    both = run_playbook(ROLLING_DEPLOY, inventory=inventory, extra_vars=release_vars(churn), limit="dss130,newest")

    assert both.rc == 0, both.output
    for name in ("dss130", "newest"):
        node = versions_fleet[name]
        assert serves(node, "v1"), name
        assert paths(node, "POST").count(MODEL_CACHE) == 1, (name, paths(node, "POST"))
        assert paths(node, "POST").count(CODE_ENV_CACHE) == 1, (name, paths(node, "POST"))
        assert len(cached_models(node)) == 1, name
        assert all(r["status"] < 400 for r in node.requests() if r["path"].startswith("/admin/api/")), name
    assert versions_fleet["dss124"].mutating_requests() == []

    # 12.4 takes the same release without the model.
    old = versions_fleet["dss124"]
    alone = run_playbook(ROLLING_DEPLOY, inventory=inventory, extra_vars=release_vars(churn, models=False),
                         limit="dss124")

    assert alone.rc == 0, alone.output
    assert serves(old, "v1")
    assert paths(old, "POST").count(CODE_ENV_CACHE) == 1, paths(old, "POST")
    assert MODEL_CACHE not in paths(old)  # not even read: the model is not in the release
    assert cached_models(old) == []
    assert all(r["status"] < 400 for r in old.requests() if r["path"].startswith("/admin/api/")), old.requests()


def test_package_built_by_a_newer_dss_is_refused_at_preflight(sim_fleet, make_bundle, run_playbook, tmp_path):
    nodes = {"dss130": sim_fleet(nodes=1, dss_version="13.0.2").nodes[0],
             "newest": sim_fleet(nodes=1, dss_version=NEWEST).nodes[0]}
    # The 13.0 node is older than the DSS that built the package; the newest node could take it.
    newer = make_bundle(services=["churn"], versions=["v1"], dss_version="13.2.0")
    with zipfile.ZipFile(newer["packages"][0]["path"]) as package:
        assert json.loads(package.read("tag.json"))["createdWithDSSVersion"] == "13.2.0"
    inventory = inventory_of(tmp_path / "inventory.json", nodes)
    for node in nodes.values():
        node.clear_requests()

    result = run_playbook(ROLLING_DEPLOY, inventory=inventory, extra_vars=release_vars(newer))

    assert result.rc != 0
    assert "dss130" in result.failed_hosts, result.failed_hosts
    message = result.task(PLAN, "dss130")["msg"]
    assert "built with DSS 13.2.0" in message and "runs DSS 13.0.2" in message, message
    for name, node in nodes.items():
        assert node.mutating_requests() == [], name
        assert node.admin_client().list_services() == [], name
        assert not os.path.exists(staging_dir(node)) or os.listdir(staging_dir(node)) == [], name
