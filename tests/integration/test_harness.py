"""The pytest harness itself: playbook runs, the task recorder, simulated fleets, inventories,
and the suite runner that tolerates only suites without test files."""

import importlib
import subprocess
import sys
from pathlib import Path

import yaml

LOCAL_PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - name: Report the inputs
      ansible.builtin.debug:
        msg: "{{ greeting | default('none') }} check={{ ansible_check_mode }}"
      tags: [report]

    - name: Change something
      ansible.builtin.command: "true"
      changed_when: true

    - name: Skip this
      ansible.builtin.debug:
        msg: never
      when: false

    - name: Fail but carry on
      ansible.builtin.fail:
        msg: expected failure
      ignore_errors: true

    - name: Hide a secret
      ansible.builtin.set_fact:
        hidden: s3cr3t-value
      no_log: true
"""


def test_collection_is_importable(collections_path):
    collection = collections_path / "ansible_collections" / "dss" / "apinode"
    assert (collection / "galaxy.yml").is_file()
    assert collection.resolve() == Path(__file__).resolve().parents[2]
    module = importlib.import_module("ansible_collections.dss.apinode")
    assert Path(list(module.__path__)[0]).resolve() == collection.resolve()


def test_run_playbook_records_every_task(run_playbook):
    result = run_playbook(LOCAL_PLAY, extra_vars={"greeting": "hello"})

    assert result.rc == 0, result.output
    statuses = {t["task"]: t["status"] for t in result.tasks}
    assert statuses == {
        "Report the inputs": "ok",
        "Change something": "changed",
        "Skip this": "skipped",
        "Fail but carry on": "failed",
        "Hide a secret": "ok",
    }
    assert result.task("Report the inputs")["msg"] == "hello check=False"
    assert result.task("Report the inputs", host="localhost")["msg"] == "hello check=False"
    assert result.changed_count == 1
    assert result.failed_hosts == []  # the failure was ignored
    assert "s3cr3t-value" not in str(result.tasks)
    assert "s3cr3t-value" not in result.output


def test_run_playbook_passes_check_tags_and_failures(run_playbook, tmp_path):
    playbook = tmp_path / "play.yml"
    playbook.write_text(LOCAL_PLAY.replace("ignore_errors: true", "ignore_errors: false"))

    checked = run_playbook(str(playbook), check=True, tags=["report"])
    assert checked.rc == 0, checked.output
    assert [t["task"] for t in checked.tasks] == ["Report the inputs"]
    assert checked.task("Report the inputs")["msg"] == "none check=True"

    failed = run_playbook(playbook)
    assert failed.rc != 0
    assert failed.failed_hosts == ["localhost"]
    assert "expected failure" in failed.task("Fail but carry on")["msg"]
    assert "Hide a secret" not in {t["task"] for t in failed.tasks}


def test_fleet_inventory_and_uri_against_nodes(sim_fleet, fleet_inventory, run_playbook, tmp_path):
    fleet = sim_fleet(nodes=2)
    inventory = fleet_inventory(fleet, tmp_path / "inventory.yml", color="blue")
    for node in fleet.nodes:
        node.clear_requests()  # forget the start-up probes

    hosts = yaml.safe_load(inventory.read_text())["all"]["children"]["apinodes"]["hosts"]
    assert sorted(hosts) == ["node1", "node2"]
    assert hosts["node2"]["apinode_url"] == fleet.node("node2").url
    assert hosts["node1"]["color"] == "blue"

    result = run_playbook("""
- hosts: apinodes
  gather_facts: false
  tasks:
    - name: Probe the node
      ansible.builtin.uri:
        url: "{{ apinode_url }}/isAlive/"
        return_content: true
""", inventory=inventory, limit="node2")

    assert result.rc == 0, result.output
    probe = result.task("Probe the node", host="node2")
    assert probe["status"] == 200
    assert probe["url"] == fleet.node("node2").url + "/isAlive/"
    assert result.results("Probe the node").keys() == {"node2"}
    # The simulator saw exactly that request, on node2 only.
    assert [r["path"].rstrip("/") for r in fleet.node("node2").requests()] == ["/isAlive"]
    assert fleet.node("node1").requests() == []
    for key in fleet.all_keys():
        assert key not in result.output


def test_run_playbook_accepts_a_fleet_as_inventory(sim_fleet, run_playbook):
    fleet = sim_fleet(nodes=1)
    result = run_playbook("""
- hosts: apinodes
  gather_facts: false
  tasks:
    - name: Show the node URL
      ansible.builtin.debug:
        var: apinode_url
""", inventory=fleet)
    assert result.rc == 0, result.output
    assert result.task("Show the node URL", host="node1")["apinode_url"] == fleet.nodes[0].url


def test_make_bundle_writes_packages(make_bundle):
    manifest = make_bundle(services=["churn"], versions=["v1", "v2"])
    packages = manifest["packages"]
    assert [(p["service"], p["version"]) for p in packages] == [("churn", "v1"), ("churn", "v2")]
    for package in packages:
        assert Path(package["path"]).is_file()


def _pytest_suite(*suites):
    script = Path(__file__).resolve().parents[2] / "hack" / "pytest-suite"
    return subprocess.run(["bash", str(script), sys.executable, *map(str, suites), "-p", "no:cacheprovider"],
                          capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)


def test_pytest_suite_tolerates_only_suites_without_test_files(tmp_path):
    missing = _pytest_suite(tmp_path / "missing")
    assert missing.returncode == 0, missing.stdout + missing.stderr

    empty = tmp_path / "empty"
    (empty / "helpers").mkdir(parents=True)
    (empty / "helpers" / "support.py").write_text("VALUE = 1\n")
    assert _pytest_suite(empty).returncode == 0

    (empty / "test_nothing.py").write_text("VALUE = 2\n")  # a test file that collects no test
    assert _pytest_suite(empty).returncode == 5

    (empty / "test_nothing.py").write_text("def test_fails():\n    assert False\n")
    assert _pytest_suite(empty).returncode == 1
