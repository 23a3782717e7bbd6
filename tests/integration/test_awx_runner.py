# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the rolling_deploy playbook the way AWX runs a job: ansible-runner and a private data dir.

- ``env/envvars`` holds what the documented credential type injects (rendered from
  docs/awx/credential_type.yml), with one admin key shared by the whole fleet;
- ``inventory/`` holds the hosts with their URLs but no admin key: the role reads it from the injected
  environment on the controller, as the AWX guide says;
- ``project/`` holds the job template's playbook, which imports ``dss.apinode.rolling_deploy``.

Job events are what AWX shows to everyone who can read the job: no admin key and no user API key may
appear in them, nor anywhere in the artifacts, except in ansible-runner's own ``command`` file, which
records the environment it was given (the credential's value, as in env/envvars: AWX keeps it in the
private data dir it deletes afterwards).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import ansible_runner
import requests
import yaml

from awx_credential import render_injectors
from harness import packages_of

FLEET_KEY = "AwxFleetAdminKey0123456789abcdef"
ROLLBACK_TASK = "Roll back, to exactly what the nodes served before"

PROJECT_PLAYBOOK = """\
- name: Rolling deploy
  ansible.builtin.import_playbook: dss.apinode.rolling_deploy
"""


def share_fleet_key(fleet):
    """Give every node the same admin key, as one AWX credential holds one value."""
    for node in fleet.nodes:
        answer = requests.post(node.url + "/admin/api/keys", auth=(node.admin_key, ""), timeout=10,
                               json={"key": FLEET_KEY, "label": "awx", "createdBy": "tests"})
        answer.raise_for_status()


def private_data_dir(root, fleet, collections_path, services):
    (root / "env").mkdir(parents=True)
    (root / "credential").mkdir()
    env, _files = render_injectors({"api_key": FLEET_KEY}, root / "credential")
    env["ANSIBLE_COLLECTIONS_PATH"] = str(collections_path)
    (root / "env" / "envvars").write_text(yaml.safe_dump(env))
    hosts = {node.name: {"ansible_connection": "local",
                         "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                         "apinode_url": node.url,
                         "apinode_data_dir": str(node.data_dir)} for node in fleet.nodes}
    group_vars = {
        "apinode_deploy_services": services,
        "apinode_deploy_smoke_retries": 0,
        "apinode_deploy_smoke_delay": 0,
    }
    (root / "inventory").mkdir()
    (root / "inventory" / "hosts.yml").write_text(
        yaml.safe_dump({"all": {"children": {"apinodes": {"hosts": hosts, "vars": group_vars}}}}))
    (root / "project").mkdir()
    (root / "project" / "deploy.yml").write_text(PROJECT_PLAYBOOK)
    return root


def run_job(root, ident):
    return ansible_runner.run(private_data_dir=str(root), playbook="deploy.yml", ident=ident, quiet=True)


def service_item(manifest, version):
    package = packages_of(manifest, version=version)[0]
    query = package["test_queries"]["predict"][0]
    return {"id": package["service"], "new": True, "package": package["path"], "generation": version,
            "smoke_tests": [{"endpoint": "predict", "features": query["features"],
                             "api_key": package["query_keys"][0]}]}


def secrets_of(fleet, manifest):
    """{secret: what it is}, so that a failure names the kind of key without printing it."""
    user_keys = {key for package in manifest["packages"] for key in package["query_keys"]}
    assert user_keys, "the packages must be private so that smoke tests carry user keys"
    secrets = {key: "a user API key" for key in user_keys}
    secrets.update({key: "an admin key of a node" for key in fleet.all_keys()})
    secrets[FLEET_KEY] = "the credential's admin key"
    return secrets


def assert_no_secret_leaked(runner, root, secrets):
    events = list(runner.events)
    assert events and events[-1]["event"] == "playbook_on_stats"
    leaks = {"%s in %s events of task %r" % (what, event["event"], event.get("event_data", {}).get("task"))
             for event in events for secret, what in secrets.items() if secret in json.dumps(event)}
    assert not leaks, "keys appear in the job events: %s" % "; ".join(sorted(leaks))
    artifacts = root / "artifacts" / runner.config.ident
    checked = 0
    for path in artifacts.rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        allowed = {FLEET_KEY} if path.name == "command" and path.parent == artifacts else set()
        for secret, what in secrets.items():
            assert secret in allowed or secret not in text, "%s appears in %s" % (what, path.relative_to(root))
        checked += 1
    assert checked > 2  # status, rc, stdout, job events...


def serving(node, service):
    return {g["generationId"] for g in node.admin_client().service(service).list_generations() if g.get("mapped")}


def test_rolling_deploy_through_ansible_runner(tmp_path, sim_fleet, make_bundle, collections_path, monkeypatch):
    # ansible-runner looks up ansible-playbook on PATH: the one of this virtualenv.
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    manifest = make_bundle(services=["churn"], versions=["v1", "v2"], private=True,
                           failing_endpoints=["churn:v2:predict"])
    fleet = sim_fleet(nodes=3)
    share_fleet_key(fleet)
    secrets = secrets_of(fleet, manifest)
    node_keys_before = {node.name: len(node.admin_keys()) for node in fleet.nodes}

    # 1. v1 everywhere: the job succeeds and the credential's key did the work.
    root = private_data_dir(tmp_path / "job1", fleet, collections_path, [service_item(manifest, "v1")])
    first = run_job(root, "deploy-v1")
    assert first.status == "successful", first.stdout.read()
    assert first.rc == 0
    assert (root / "artifacts" / "deploy-v1" / "status").read_text().strip() == "successful"
    for node in fleet.nodes:
        assert serving(node, "churn") == {"v1"}
        # no node-local key was bootstrapped: the injected key was used
        assert len(node.admin_keys()) == node_keys_before[node.name]
    assert_no_secret_leaked(first, root, secrets)

    # 2. v2 fails its smoke test on the first node: the job fails and rolls that node back to v1.
    root = private_data_dir(tmp_path / "job2", fleet, collections_path, [service_item(manifest, "v2")])
    second = run_job(root, "deploy-v2")
    assert second.status == "failed"
    assert second.rc != 0
    events = list(second.events)
    rollback = [e for e in events if e["event"] in ("runner_on_ok", "runner_item_on_ok")
                and e["event_data"].get("task") == ROLLBACK_TASK]
    assert rollback, "no rollback event in the failed job"
    assert any(e["event_data"]["res"].get("changed") for e in rollback)
    failures = [e for e in events if e["event"] == "runner_on_failed" and not e["event_data"].get("ignore_errors")]
    assert failures and "predict" in json.dumps([e["event_data"]["res"].get("msg") for e in failures])
    for node in fleet.nodes:
        assert serving(node, "churn") == {"v1"}, "%s does not serve v1 after the rollback" % node.name
    assert_no_secret_leaked(second, root, secrets)


def test_the_guide_recipe_as_written(tmp_path, sim_fleet, make_bundle, collections_path, monkeypatch):
    """docs/docsite/rst/guide_awx.rst, "Trying a job locally": the collection installed into the project's
    collections folder from a built tarball, then ``ansible-runner run private -p deploy.yml``, with no
    collections path of the test suite and no admin key in the inventory."""
    guide = (Path(__file__).resolve().parents[2] / "docs" / "docsite" / "rst" / "guide_awx.rst").read_text()
    for step in ("ansible-galaxy collection build", "ansible-galaxy collection install dss-apinode-*.tar.gz -p "
                 "private/project/collections", "ansible-runner run private -p deploy.yml"):
        assert step in guide, step
    bin_dir = Path(sys.executable).parent
    manifest = make_bundle(services=["churn"], versions=["v1"], private=True)
    fleet = sim_fleet(nodes=2)
    share_fleet_key(fleet)
    private = tmp_path / "private"
    (private / "env").mkdir(parents=True)
    (tmp_path / "credential").mkdir()
    env, _files = render_injectors({"api_key": FLEET_KEY}, tmp_path / "credential")
    (private / "env" / "envvars").write_text(yaml.safe_dump(env))
    (private / "env" / "extravars").write_text(yaml.safe_dump({
        "apinode_deploy_services": [service_item(manifest, "v1")], "apinode_deploy_smoke_retries": 0,
        "apinode_deploy_report_file": "report.md"}))
    hosts = {node.name: {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                         "apinode_url": node.url, "apinode_data_dir": str(node.data_dir)} for node in fleet.nodes}
    (private / "inventory").mkdir()
    (private / "inventory" / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"apinodes": {"hosts": hosts}}}}))
    (private / "project").mkdir()
    (private / "project" / "deploy.yml").write_text(PROJECT_PLAYBOOK)

    clean = dict(os.environ, PATH=str(bin_dir) + os.pathsep + os.environ.get("PATH", ""))
    # Without the suite's collections path, only the project's collections folder holds dss.apinode.
    for default in (Path.home() / ".ansible" / "collections", Path("/usr/share/ansible/collections")):
        assert not (default / "ansible_collections" / "dss" / "apinode").exists(), default
    for name in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS", "DATAIKU_APINODE_API_KEY"):
        clean.pop(name, None)
    monkeypatch.chdir(tmp_path)
    collection = collections_path / "ansible_collections" / "dss" / "apinode"
    for command in (["ansible-galaxy", "collection", "build", str(collection)],
                    "ansible-galaxy collection install dss-apinode-*.tar.gz -p private/project/collections",
                    ["ansible-runner", "run", "private", "-p", "deploy.yml"]):
        proc = subprocess.run(command, shell=isinstance(command, str), cwd=str(tmp_path), env=clean,
                              capture_output=True, text=True, check=False, timeout=900)
        assert proc.returncode == 0, "%s failed:\n%s\n%s" % (command, proc.stdout[-3000:], proc.stderr[-3000:])

    status = list((private / "artifacts").glob("*/status"))
    assert [p.read_text().strip() for p in status] == ["successful"]
    for node in fleet.nodes:
        assert serving(node, "churn") == {"v1"}
    report = (private / "project" / "report.md").read_text()
    assert "| node1 | changed | churn | - | v1 | switched | smoke tests 1/1 passed |" in report
