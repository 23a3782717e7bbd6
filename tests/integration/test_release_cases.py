"""Releases that used to give wrong results that looked green, each run through the deploy role.

1. two services whose packages have the same file name each serve their own package;
2. stage and activate in two separate runs, with no explicit generation, and no lock left between them;
3. a node serving the release's mapping with its entries in another order is not drift;
4. a relative package path is found from the playbook's folder, whatever the working directory;
5. a node that requires client certificates, and an import that takes 40 s;
6. a module whose own environment has the connection variables emptied uses the controller's.

State is read back out of band: the official client, the simulators' request logs and the nodes' disks.
"""

import json
import os
import shutil

import pytest

from harness import serve_everywhere

from test_role_deploy import (
    FEATURES,
    LEFT_ALONE,
    ONE_PHASE_PLAY,
    PLAN,
    ROLLING_DEPLOY,
    deploy_vars,
    generations,
    lock_dir,
    served,
    staged_package,
)

FLEET_STATUS = "dss.apinode.fleet_status"


def predict(node, service, endpoint):
    """The generation that answers a real prediction through the official user client."""
    return node.user_client(service).predict_record(endpoint, FEATURES)["apiContext"]["serviceGeneration"]


def paths(node, method=None, suffix=""):
    found = [r["path"].rstrip("/") for r in node.requests() if method is None or r["method"] == method]
    return [p for p in found if p.endswith(suffix)]


def read_bytes(path):
    with open(path, "rb") as handle:
        return handle.read()


# --- 1. same file name, two services ------------------------------------------------------------

def test_two_services_whose_packages_share_a_file_name_each_serve_their_own(
        sim_fleet, make_bundle, run_playbook, tmp_path):
    fleet = sim_fleet(nodes=2)
    churn = make_bundle(services=["churn"], versions=["v1"], endpoints=["predict"])["packages"][0]["path"]
    fraud = make_bundle(services=["fraud"], versions=["v1"], endpoints=["score"])["packages"][0]["path"]
    # The naming a package download script produces: art/<service>/<version>.zip.
    packages = {}
    for service, source in (("churn", churn), ("fraud", fraud)):
        target = tmp_path / "art" / service / "v1.zip"
        target.parent.mkdir(parents=True)
        shutil.copyfile(source, target)
        packages[service] = str(target)
    release = {"apinode_deploy_services": [
        {"id": "churn", "new": True, "package": packages["churn"], "smoke_tests": [{"endpoint": "predict", "features": FEATURES}]},
        {"id": "fraud", "new": True, "package": packages["fraud"], "smoke_tests": [{"endpoint": "score", "features": FEATURES}]},
    ]}

    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=release)

    assert result.rc == 0, result.output
    for node in fleet.nodes:
        assert predict(node, "churn", "predict") == "v1"
        assert predict(node, "fraud", "score") == "v1"
        # Each service has its own package: churn has no score endpoint, fraud no predict endpoint.
        for service, endpoint in (("churn", "score"), ("fraud", "predict")):
            with pytest.raises(Exception):
                predict(node, service, endpoint)
        for service in ("churn", "fraud"):
            assert read_bytes(staged_package(node, service, "v1", "v1.zip")) == read_bytes(packages[service])
        imports = paths(node, "POST", "/generations/actions/importFromArchive")
        assert sorted(imports) == ["/admin/api/services/churn/generations/actions/importFromArchive",
                                   "/admin/api/services/fraud/generations/actions/importFromArchive"], imports


# --- 2. stage one day, activate the next --------------------------------------------------------

def test_stage_and_activate_in_two_runs_without_explicit_generation(sim_fleet, make_bundle, run_playbook):
    fleet = sim_fleet(nodes=2)
    churn = make_bundle(services=["churn"], versions=["v1"], code_envs=["churn-py"])
    release = deploy_vars(churn, "v1")
    assert "generation" not in release["apinode_deploy_services"][0]

    staged = run_playbook(ONE_PHASE_PLAY, inventory=fleet, extra_vars=dict(release, phase="stage"))

    assert staged.rc == 0, staged.output
    copied_at = {}
    for node in fleet.nodes:
        # Imported, traffic untouched, and the run released its lock.
        assert generations(node) == ["v1"]
        enabled, mapping = served(node)
        assert not enabled and not mapping, (node.name, mapping)
        assert paths(node, "POST", "/actions/setMapping") == []
        assert not os.path.exists(lock_dir(node)), node.name
        copied_at[node.name] = os.stat(staged_package(node, "churn", "v1", "churn_v1.zip")).st_mtime_ns
        node.clear_requests()

    # In between, the report knows the release is on the nodes but not served yet.
    status = run_playbook(FLEET_STATUS, inventory=fleet, extra_vars=release, check=True)
    assert status.rc == 0, status.output
    lines = status.task("Print the fleet table", "node1")["msg"]
    # No generation given and no node serving it yet: the title says the package's, as the module resolved it.
    assert lines[0] == "service churn (wanted: v1)", lines
    for node in fleet.nodes:
        line = next(line for line in lines[1:] if line.split()[0] == node.name)
        assert "STAGED, not serving yet" in line, lines
        plan = status.task("Read the node and compare it with the release", node.name)
        assert plan["current"] is False and plan["staged"] is True, plan
        assert [s["phase"] for s in plan["plan"] if s["phase"] == "stage"] == []
        node.clear_requests()

    activated = run_playbook(ONE_PHASE_PLAY, inventory=fleet, extra_vars=dict(release, phase="activate"))

    assert activated.rc == 0, activated.output
    for node in fleet.nodes:
        enabled, mapping = served(node)
        assert enabled and mapping["generation"] == "v1", (node.name, mapping)
        assert predict(node, "churn", "predict") == "v1"
        assert paths(node, "POST", "/actions/importFromArchive") == []  # staged the day before
        assert paths(node, "POST", "/actions/setMapping") == ["/admin/api/services/churn/actions/setMapping"]
        assert paths(node, "POST", "/public/api/v1/churn/predict/predict")  # smoke-tested
        assert os.stat(staged_package(node, "churn", "v1", "churn_v1.zip")).st_mtime_ns == copied_at[node.name]
        assert not os.path.exists(lock_dir(node)), node.name

    retained = run_playbook(ONE_PHASE_PLAY, inventory=fleet, extra_vars=dict(release, phase="retain"))
    assert retained.rc == 0, retained.output
    for node in fleet.nodes:
        assert generations(node) == ["v1"]
        assert not os.path.exists(lock_dir(node)), node.name


# --- 3. the same mapping, listed in another order -----------------------------------------------

def test_reordered_mapping_is_not_drift(sim_fleet, make_bundle, run_playbook):
    fleet = sim_fleet(nodes=2)
    churn = make_bundle(services=["churn"], versions=["v1", "v2"])
    serve_everywhere(fleet, churn, "v1")
    canary = deploy_vars(churn, "v2", mapping=[{"generation": "v1", "proba": 0.9}, {"generation": "v2", "proba": 0.1}])
    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=canary)
    assert result.rc == 0, result.output
    # node2 gets the same mapping again by hand, its entries in the other order.
    node2 = fleet.node("node2")
    mapping = served(node2)[1]
    reordered = dict(mapping, entries=list(reversed(mapping["entries"])))
    node2.admin_client().service("churn").set_generations_mapping(reordered)
    listed = [e["generation"] for e in served(node2)[1]["entries"]]
    assert listed == ["v2", "v1"], listed  # the node really lists them in the other order
    for node in fleet.nodes:
        node.clear_requests()

    status = run_playbook(FLEET_STATUS, inventory=fleet, extra_vars=dict(canary, apinode_status_fail_on_drift=True))

    assert status.rc == 0, status.output
    lines = status.task("Print the fleet table", "node1")["msg"]
    # The title and the rows write the mapping alike, whatever order its entries were given or listed in.
    assert lines[0] == "service churn (wanted: v1:0.9,v2:0.1 (random))", lines
    for host in ("node1", "node2"):
        line = next(line for line in lines[1:] if line.split()[0] == host)
        assert line.endswith(" ok") and " v1:0.9,v2:0.1 (random) " in line, lines

    again = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=canary)

    assert again.rc == 0, again.output
    assert again.changed_count == 0
    assert LEFT_ALONE in again.output
    for node in fleet.nodes:
        assert again.task(PLAN, node.name)["drift"] == [], node.name
        assert {r["method"] for r in node.requests()} == {"GET"}, node.name
    assert [e["generation"] for e in served(node2)[1]["entries"]] == ["v2", "v1"]


# --- 4. a relative path, from another working directory -----------------------------------------

def test_relative_package_path_is_found_from_the_playbook_folder(sim_fleet, make_bundle, run_playbook, tmp_path):
    fleet = sim_fleet(nodes=1)
    node = fleet.nodes[0]
    # A playbook in a project subfolder, as AWX runs it: the working directory is not its folder.
    project = tmp_path / "project" / "deploy"
    (project / "files").mkdir(parents=True)
    package = make_bundle(services=["churn"], versions=["v1"])["packages"][0]["path"]
    shutil.copyfile(package, project / "files" / "churn_v1.zip")
    playbook = project / "release.yml"
    playbook.write_text(ONE_PHASE_PLAY)
    release = {"phase": "all", "apinode_deploy_services": [
        {"id": "churn", "new": True, "package": "files/churn_v1.zip", "smoke_tests": [{"endpoint": "predict", "features": FEATURES}]}]}

    result = run_playbook(str(playbook), inventory=fleet, extra_vars=release)

    assert result.rc == 0, result.output
    assert not (tmp_path / "files").exists()
    assert predict(node, "churn", "predict") == "v1"
    assert read_bytes(staged_package(node, "churn", "v1", "churn_v1.zip")) == read_bytes(package)


# --- 5. client certificates; a long import ----------------------------------------------------

@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    import trustme

    base = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("deploy@example.com")
    files = {"ca": ca.cert_pem, "server": server.cert_chain_pems[0], "server_key": server.private_key_pem,
             "client": client.cert_chain_pems[0], "client_key": client.private_key_pem}
    out = {}
    for name, blob in files.items():
        blob.write_to_path(str(base / (name + ".pem")))
        out[name] = str(base / (name + ".pem"))
    return out


def test_rollout_to_a_node_that_requires_client_certificates(sim_fleet, make_bundle, run_playbook, pki):
    fleet = sim_fleet(nodes=1, extra_args=["--certfile", pki["server"], "--keyfile", pki["server_key"],
                                           "--client-ca", pki["ca"]],
                      client_cert=(pki["client"], pki["client_key"]))
    node = fleet.nodes[0]
    assert node.url.startswith("https://")
    churn = make_bundle(services=["churn"], versions=["v1"])
    tls = {"apinode_deploy_ca_path": pki["ca"], "apinode_deploy_client_cert": pki["client"],
           "apinode_deploy_client_key": pki["client_key"]}

    # The node refuses a caller without a client certificate: the preflight stops before any change.
    refused = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=dict(deploy_vars(churn, "v1"),
                                                                            apinode_deploy_ca_path=pki["ca"]))
    assert refused.rc != 0
    assert refused.failed_hosts == ["node1"]
    assert node.admin_client().list_services() == []

    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=dict(deploy_vars(churn, "v1"), **tls))

    assert result.rc == 0, result.output
    enabled, mapping = served(node)
    assert enabled and mapping["generation"] == "v1"
    assert predict(node, "churn", "predict") == "v1"
    assert paths(node, "POST", "/actions/importFromArchive") == ["/admin/api/services/churn/generations/actions/importFromArchive"]
    assert paths(node, "POST", "/public/api/v1/churn/predict/predict")  # the smoke test went through mTLS too


def test_an_import_of_40_seconds_with_a_timeout_of_120(sim_fleet, make_bundle, run_playbook):
    from apinode_sim.state import MB

    fleet = sim_fleet(nodes=1)
    node = fleet.nodes[0]
    churn = make_bundle(services=["churn"], versions=["v1"], size_mb=1)
    size = churn["packages"][0]["size_bytes"]
    # The simulator's realistic cost: import time grows with the archive's size; this one takes 40 s.
    node.set_costs(import_seconds_per_mb=40.0 * MB / size)

    result = run_playbook(ROLLING_DEPLOY, inventory=fleet, extra_vars=dict(deploy_vars(churn, "v1"),
                                                                           apinode_deploy_timeout=120))

    assert result.rc == 0, result.output
    imports = [r for r in node.requests() if r["path"].endswith("/actions/importFromArchive")]
    assert len(imports) == 1, imports  # answered once, never repeated
    assert imports[0]["status"] == 200 and imports[0]["duration_ms"] >= 40000, imports
    assert served(node)[1]["generation"] == "v1"
    assert predict(node, "churn", "predict") == "v1"


# --- 6. connection variables on the controller ------------------------------------------------

def test_a_module_uses_the_controller_connection_variables(sim_fleet, run_playbook):
    fleet = sim_fleet(nodes=1)
    node = fleet.nodes[0]
    node.admin_client().create_service("fraud")
    play = json.dumps([{
        "hosts": "localhost",
        "gather_facts": False,
        # The module's own environment has them emptied; the controller (ansible-playbook) has them.
        "environment": {"DATAIKU_APINODE_URL": "", "DATAIKU_APINODE_API_KEY": ""},
        "tasks": [
            {"name": "Read the node", "dss.apinode.apinode_info": {"gather": ["services"]}, "register": "info",
             "environment": {"DATAIKU_APINODE_URL": "", "DATAIKU_APINODE_API_KEY": ""}},
            {"name": "Create a service", "dss.apinode.apinode_service": {"name": "churn"},
             "environment": {"DATAIKU_APINODE_URL": "", "DATAIKU_APINODE_API_KEY": ""}},
        ],
    }]) + "\n"
    node.clear_requests()

    result = run_playbook(play, env={"DATAIKU_APINODE_URL": node.url, "DATAIKU_APINODE_API_KEY": node.admin_key})

    assert result.rc == 0, result.output
    assert [s["id"] for s in result.task("Read the node")["services"]] == ["fraud"]
    assert sorted(s["serviceId"] for s in node.admin_client().list_services()) == ["churn", "fraud"]
    assert paths(node, "POST") == ["/admin/api/services"]
    assert node.admin_key not in result.output
