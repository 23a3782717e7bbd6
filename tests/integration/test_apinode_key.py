"""apinode_key against a simulated node: create once, secret once, replace, rotate, delete, errors, bootstrap."""

import json
import os
import subprocess

import pytest
from harness import module_play, task

MASK = "********"


def key_play(args):
    return module_play(task("Manage the key", "apinode_key", args))


def keys_labelled(node, label):
    return [k for k in node.admin_client().auth().list_keys() if k.get("label") == label]


@pytest.fixture
def fleet(sim_fleet):
    return sim_fleet(nodes=1)


@pytest.fixture
def node(fleet):
    return fleet.nodes[0]


def test_create_check_mode_then_create_then_rerun(fleet, node, run_playbook):
    play = key_play({"label": "deployer", "description": "API Deployer"})
    node.clear_requests()

    check = run_playbook(play, inventory=fleet, check=True, diff=True)
    assert check.rc == 0, check.output
    result = check.task("Manage the key")
    assert result["changed"] is True
    assert result["secret"] != MASK and "check mode" in result["secret"]
    assert result["key"]["label"] == "deployer"
    assert result["diff"]["before"] == {}
    assert node.mutating_requests() == []
    assert keys_labelled(node, "deployer") == []

    first = run_playbook(play, inventory=fleet)
    assert first.rc == 0, first.output
    created = first.task("Manage the key")
    assert created["changed"] is True
    stored = keys_labelled(node, "deployer")
    assert len(stored) == 1
    assert created["secret"] == stored[0]["key"]
    assert created["key"]["key"] == MASK
    assert created["key"]["id"] == stored[0]["id"]
    assert created["key"]["description"] == "API Deployer"
    assert created["key"]["createdBy"] == "ansible"
    # The new key works: the secret returned once is a real admin key.
    assert node.admin_client(api_key=created["secret"]).list_services() == []

    node.clear_requests()
    again = run_playbook(play, inventory=fleet, diff=True)
    assert again.rc == 0, again.output
    rerun = again.task("Manage the key")
    assert rerun["changed"] is False
    assert "secret" not in rerun
    assert rerun["key"]["key"] == MASK
    assert node.mutating_requests() == []
    assert len(keys_labelled(node, "deployer")) == 1


def test_metadata_drift_only_warns(fleet, node, run_playbook):
    node.admin_client().auth().add_key(label="svc", description="old", created_by="ops")
    result = run_playbook(key_play({"label": "svc", "description": "new"}), inventory=fleet)
    assert result.rc == 0, result.output
    task = result.task("Manage the key")
    assert task["changed"] is False
    assert any("description" in w for w in task.get("warnings", []))
    assert keys_labelled(node, "svc")[0]["description"] == "old"


def test_expiry_is_stored(fleet, node, run_playbook):
    result = run_playbook(key_play({"label": "temp", "expiry": "1893456000000", "created_by": "ci-pipeline"}),
                          inventory=fleet)
    assert result.rc == 0, result.output
    stored = keys_labelled(node, "temp")[0]
    assert stored["expiry"] == 1893456000000
    assert stored["createdBy"] == "ci-pipeline"
    assert result.task("Manage the key")["key"]["createdBy"] == "ci-pipeline"


def test_user_secret_create_keep_and_replace(fleet, node, run_playbook):
    first_secret, second_secret = "VaultedKeyNumberOne0123456789abc", "VaultedKeyNumberTwo0123456789abc"
    play = key_play({"label": "awx", "secret": first_secret})
    created = run_playbook(play, inventory=fleet)
    assert created.rc == 0, created.output
    assert created.task("Manage the key")["changed"] is True
    assert "secret" not in created.task("Manage the key")
    assert [k["key"] for k in keys_labelled(node, "awx")] == [first_secret]
    assert first_secret not in created.output

    same = run_playbook(play, inventory=fleet)
    assert same.task("Manage the key")["changed"] is False

    node.clear_requests()
    check = run_playbook(key_play({"label": "awx", "secret": second_secret}), inventory=fleet,
                         check=True)
    assert check.task("Manage the key")["changed"] is True
    assert node.mutating_requests() == []

    replaced = run_playbook(key_play({"label": "awx", "secret": second_secret}), inventory=fleet,
                            diff=True)
    assert replaced.rc == 0, replaced.output
    task = replaced.task("Manage the key")
    assert task["changed"] is True
    assert "Replaced" in task["msg"] and not task.get("warnings")
    assert [k["key"] for k in keys_labelled(node, "awx")] == [second_secret]
    for secret in (first_secret, second_secret):
        assert secret not in replaced.output
        assert secret not in json.dumps(task)


def test_rotate_replaces_the_key_every_run(fleet, node, run_playbook):
    old = node.admin_client().auth().add_key(label="monitoring", description="agent")
    play = key_play({"label": "monitoring", "rotate": True})

    node.clear_requests()
    check = run_playbook(play, inventory=fleet, check=True)
    assert check.task("Manage the key")["changed"] is True
    assert node.mutating_requests() == []

    rotated = run_playbook(play, inventory=fleet)
    assert rotated.rc == 0, rotated.output
    task = rotated.task("Manage the key")
    keys = keys_labelled(node, "monitoring")
    assert len(keys) == 1
    assert keys[0]["key"] == task["secret"] != old["key"]
    assert keys[0]["description"] == "agent"
    assert old["key"] not in rotated.output

    again = run_playbook(play, inventory=fleet)
    assert again.task("Manage the key")["changed"] is True
    assert keys_labelled(node, "monitoring")[0]["key"] != task["secret"]


def test_delete_check_mode_delete_and_again(fleet, node, run_playbook):
    node.admin_client().auth().add_key(label="old-script")
    play = key_play({"label": "old-script", "state": "absent"})

    node.clear_requests()
    check = run_playbook(play, inventory=fleet, check=True)
    assert check.task("Manage the key")["changed"] is True
    assert node.mutating_requests() == []
    assert len(keys_labelled(node, "old-script")) == 1

    deleted = run_playbook(play, inventory=fleet, diff=True)
    assert deleted.rc == 0, deleted.output
    task = deleted.task("Manage the key")
    assert task["changed"] is True and task["key"] is None
    assert task["diff"]["after"] == {}
    assert keys_labelled(node, "old-script") == []
    # Deleted by id: the secret never travels in a URL.
    assert [r["path"].endswith("/key") for r in node.mutating_requests()] == [True]

    node.clear_requests()
    again = run_playbook(play, inventory=fleet)
    assert again.task("Manage the key")["changed"] is False
    assert node.mutating_requests() == []


def test_unknown_key_to_delete_is_not_an_error(fleet, node, run_playbook):
    node.clear_requests()
    result = run_playbook(key_play({"label": "never-created", "state": "absent"}), inventory=fleet)
    assert result.rc == 0, result.output
    assert result.task("Manage the key")["changed"] is False
    assert "No key" in result.task("Manage the key")["msg"]
    assert node.mutating_requests() == []


def test_key_gone_between_list_and_delete_fails_clearly(fleet, node, run_playbook):
    node.admin_client().auth().add_key(label="racy")
    node.add_fault(method="DELETE", path=r"/admin/api/keys/.*", status=400, count=1,
                   body={"errorType": "java.lang.IllegalArgumentException", "message": "Key to delete not found",
                         "detailedMessage": "Key to delete not found"})
    result = run_playbook(key_play({"label": "racy", "state": "absent"}), inventory=fleet)
    assert result.rc != 0
    task = result.task("Manage the key")
    assert task["status"] == 400
    assert "Key to delete not found" in task["msg"]


def test_refuses_to_remove_its_own_key(fleet, node, run_playbook):
    own = node.admin_client().auth().add_key(label="ansible-self")
    play = key_play({"label": "ansible-self", "state": "absent", "api_key": own["key"]})
    refused = run_playbook(play, inventory=fleet)
    assert refused.rc != 0
    assert "lock itself out" in refused.task("Manage the key")["msg"]
    assert len(keys_labelled(node, "ansible-self")) == 1
    assert own["key"] not in refused.output

    allowed = run_playbook(key_play({"label": "ansible-self", "state": "absent", "api_key": own["key"],
                                     "allow_own_key_removal": True}), inventory=fleet)
    assert allowed.rc == 0, allowed.output
    assert keys_labelled(node, "ansible-self") == []


def test_duplicate_labels_fail_without_change(fleet, node, run_playbook):
    auth = node.admin_client().auth()
    auth.add_key(label="twin")
    auth.add_key(label="twin")
    node.clear_requests()
    result = run_playbook(key_play({"label": "twin", "state": "absent"}), inventory=fleet)
    assert result.rc != 0
    assert "2 keys of the node have the label 'twin'" in result.task("Manage the key")["msg"]
    assert node.mutating_requests() == []


def test_wrong_admin_key_gives_401(fleet, node, run_playbook):
    result = run_playbook(key_play({"label": "x", "api_key": "NotAKeyOfThisNode0000000000000000"}),
                          inventory=fleet)
    assert result.rc != 0
    task = result.task("Manage the key")
    assert task["status"] == 401
    assert "check the admin API key" in task["msg"]
    assert "NotAKeyOfThisNode" not in result.output


def test_node_down_fails_clearly(fleet, node, run_playbook):
    node.stop()
    result = run_playbook(key_play({"label": "x", "retries": 0}), inventory=fleet)
    assert result.rc != 0
    assert "Cannot reach the API node" in result.task("Manage the key")["msg"]


BOOTSTRAP_PLAY = """
- hosts: apinodes
  gather_facts: false
  vars:
    apinode_key_file: "{{ apinode_data_dir }}/config/ansible-bootstrap-key.json"
  tasks:
    - name: Create the bootstrap admin key with apinode-admin (first run only)
      ansible.builtin.shell:
        cmd: umask 077 && bin/apinode-admin admin-key-create --label ansible-bootstrap --output json > "{{ apinode_key_file }}"
        chdir: "{{ apinode_data_dir }}"
        creates: "{{ apinode_key_file }}"

    - name: Read the bootstrap key
      ansible.builtin.slurp:
        src: "{{ apinode_key_file }}"
      register: __bootstrap
      no_log: true

    - name: Use it from now on
      ansible.builtin.set_fact:
        apinode_admin_key: "{{ (__bootstrap.content | b64decode | from_json).key }}"
      no_log: true

    - name: A key for the deployer, made with the bootstrap key
      dss.apinode.apinode_key:
        url: "{{ apinode_url }}"
        api_key: "{{ apinode_admin_key }}"
        label: deployer
      no_log: true
"""


def test_bootstrap_first_key_with_the_node_cli_once(fleet, node, run_playbook, fleet_inventory, tmp_path):
    # The inventory knows no admin key: the play must get one from the node itself.
    inventory = fleet_inventory(fleet, tmp_path / "no-key-inventory.json", apinode_admin_key="")
    first = run_playbook(BOOTSTRAP_PLAY, inventory=inventory)
    assert first.rc == 0, first.output
    assert first.task("Create the bootstrap admin key with apinode-admin (first run only)")["changed"] is True
    assert first.task("A key for the deployer, made with the bootstrap key")["changed"] is True
    bootstrap = keys_labelled(node, "ansible-bootstrap")
    assert len(bootstrap) == 1

    second = run_playbook(BOOTSTRAP_PLAY, inventory=inventory)
    assert second.rc == 0, second.output
    assert second.task("Create the bootstrap admin key with apinode-admin (first run only)")["changed"] is False
    assert second.task("A key for the deployer, made with the bootstrap key")["changed"] is False
    assert keys_labelled(node, "ansible-bootstrap") == bootstrap
    assert len(keys_labelled(node, "deployer")) == 1
    for secret in node.admin_keys():
        assert secret["key"] not in first.output + second.output


def test_key_without_id_is_deleted_by_value_masked(fleet, node, run_playbook):
    # The node's CLI writes its own key straight into the data dir, without an id (like DSS 9.0.5 keys).
    cli = subprocess.run([os.path.join(node.data_dir, "bin", "apinode-admin"), "admin-keys-list", "--output", "json"],
                         capture_output=True, text=True, check=False)
    assert cli.returncode == 0, cli.stderr
    cli_keys = [k for k in node.admin_keys() if k.get("createdBy") == "cli-apinode-admin"]
    assert len(cli_keys) == 1 and "id" not in cli_keys[0]
    secret = cli_keys[0]["key"]

    node.clear_requests()
    result = run_playbook(key_play({"label": cli_keys[0]["label"], "state": "absent"}), inventory=fleet,
                          diff=True, verbosity=3)
    assert result.rc == 0, result.output
    assert result.task("Manage the key")["changed"] is True
    assert [r["method"] for r in node.mutating_requests()] == ["DELETE"]
    assert not node.mutating_requests()[0]["path"].endswith("/key")
    assert [k for k in node.admin_keys() if k.get("createdBy") == "cli-apinode-admin"] == []
    assert secret not in result.output
