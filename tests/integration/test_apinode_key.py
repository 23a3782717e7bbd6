"""apinode_key against a simulated node: create once, secret once, replace, rotate, delete, errors, bootstrap,
hashed keys, expiry and version gating."""

import json
import os
import subprocess
import time

import pytest
from harness import module_play, task

MASK = "********"
DAY_MS = 86400 * 1000
INITIAL_LABEL = "Initial admin key"


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


# --- nodes that store keys hashed (DSS 13.1+) -----------------------------------------------------------

@pytest.fixture
def hashed_fleet(sim_fleet):
    return sim_fleet(nodes=1, hashed_keys=True)


def audit_probes(node):
    return [r for r in node.requests() if r["method"] == "GET" and r["path"] == "/admin/api/audit-settings"]


def test_hashed_node_create_rerun_and_own_key(hashed_fleet, run_playbook):
    node = hashed_fleet.nodes[0]
    assert all("key" not in k for k in node.admin_client().auth().list_keys())
    play = key_play({"label": "deployer"})
    first = run_playbook(play, inventory=hashed_fleet)
    assert first.rc == 0, first.output
    created = first.task("Manage the key")
    assert created["changed"] is True
    assert node.admin_client(api_key=created["secret"]).list_services() == []

    node.clear_requests()
    again = run_playbook(play, inventory=hashed_fleet)
    assert again.task("Manage the key")["changed"] is False
    assert "key" not in again.task("Manage the key")["key"]
    assert "secret" not in again.task("Manage the key")
    assert node.mutating_requests() == []

    # Two keys now: the node cannot say which one the task uses, so nothing is deleted without consent.
    node.clear_requests()
    refused = run_playbook(key_play({"label": "deployer", "state": "absent"}), inventory=hashed_fleet)
    assert refused.rc != 0
    assert "cannot tell whether it is the key this task authenticates with" in refused.task("Manage the key")["msg"]
    assert node.mutating_requests() == []

    allowed = run_playbook(key_play({"label": "deployer", "state": "absent", "allow_own_key_removal": True}),
                           inventory=hashed_fleet)
    assert allowed.rc == 0, allowed.output
    assert [r["path"].endswith("/key") for r in node.mutating_requests()] == [True]
    assert keys_labelled(node, "deployer") == []

    # The node's only key is necessarily the one the task authenticates with.
    own = run_playbook(key_play({"label": INITIAL_LABEL, "state": "absent"}), inventory=hashed_fleet)
    assert own.rc != 0
    assert "lock itself out" in own.task("Manage the key")["msg"]
    assert len(keys_labelled(node, INITIAL_LABEL)) == 1


def test_hashed_node_secret_is_checked_by_authenticating(hashed_fleet, run_playbook):
    node = hashed_fleet.nodes[0]
    first_secret, second_secret = "HashedVaultKeyOne0123456789abcdef", "HashedVaultKeyTwo0123456789abcdef"
    created = run_playbook(key_play({"label": "awx", "secret": first_secret}), inventory=hashed_fleet)
    assert created.rc == 0, created.output
    assert created.task("Manage the key")["changed"] is True

    node.clear_requests()
    same = run_playbook(key_play({"label": "awx", "secret": first_secret}), inventory=hashed_fleet)
    assert same.rc == 0, same.output
    assert same.task("Manage the key")["changed"] is False
    assert len(audit_probes(node)) == 1  # the secret was tried once, and accepted
    assert node.mutating_requests() == []

    node.clear_requests()
    other = key_play({"label": "awx", "secret": second_secret, "allow_own_key_removal": True})
    check = run_playbook(other, inventory=hashed_fleet, check=True)
    assert check.task("Manage the key")["changed"] is True
    assert node.mutating_requests() == []

    replaced = run_playbook(other, inventory=hashed_fleet)
    assert replaced.rc == 0, replaced.output
    assert "Replaced" in replaced.task("Manage the key")["msg"]
    assert [k["key"] for k in node.admin_keys() if k.get("label") == "awx"] == [second_secret]
    assert node.admin_client(api_key=second_secret).list_services() == []
    for secret in (first_secret, second_secret):
        assert secret not in replaced.output + check.output + same.output


def test_hashed_node_replace_without_consent_is_refused(hashed_fleet, run_playbook):
    node = hashed_fleet.nodes[0]
    node.admin_client().auth().add_key(label="awx")
    node.clear_requests()
    result = run_playbook(key_play({"label": "awx", "secret": "HashedVaultKeyNew0123456789abcdef"}),
                          inventory=hashed_fleet)
    assert result.rc != 0
    assert "Refusing to replace the key 'awx'" in result.task("Manage the key")["msg"]
    assert node.mutating_requests() == []


# --- expiry --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("unit", ["days", "ms"])
def test_expiry_days_gives_an_expiry_30_days_ahead(sim_fleet, run_playbook, unit):
    fleet = sim_fleet(nodes=1, key_expiry_unit=unit)
    node = fleet.nodes[0]
    before = int(time.time() * 1000)
    result = run_playbook(key_play({"label": "ci", "expiry_days": 30, "expiry_unit": unit}), inventory=fleet)
    after = int(time.time() * 1000)
    assert result.rc == 0, result.output
    task = result.task("Manage the key")
    assert not task.get("warnings")
    stored = keys_labelled(node, "ci")[0]
    assert before + 30 * DAY_MS - 60000 <= stored["expiresOn"] <= after + 30 * DAY_MS + 60000
    assert task["key"]["expiresOn"] == stored["expiresOn"]
    expected_day = time.strftime("%Y-%m-%d", time.gmtime(stored["expiresOn"] / 1000))
    assert task["key"]["expires_on"].startswith(expected_day) and task["key"]["expires_on"].endswith("Z")
    # The key works until then.
    assert node.admin_client(api_key=task["secret"]).list_services() == []


def test_expires_on_and_a_unit_that_does_not_match_the_node(sim_fleet, run_playbook):
    fleet = sim_fleet(nodes=1, key_expiry_unit="ms")
    node = fleet.nodes[0]
    target = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 90 * 86400))
    exact = run_playbook(key_play({"label": "dated", "expires_on": target, "expiry_unit": "ms"}), inventory=fleet)
    assert exact.rc == 0, exact.output
    assert exact.task("Manage the key")["key"]["expires_on"] == target + "T00:00:00Z"

    # Days sent to a node that reads epoch ms: an expiry in 1970, which the module reports.
    wrong = run_playbook(key_play({"label": "wrong-unit", "expiry_days": 30}), inventory=fleet)
    assert wrong.rc == 0, wrong.output
    warnings = " ".join(wrong.task("Manage the key").get("warnings", []))
    assert "set expiry_unit=ms" in warnings and "1970-01-01" in warnings


def test_expiry_options_are_checked_before_any_request(fleet, node, run_playbook):
    node.clear_requests()
    for args, msg in (({"expires_on": "2020-01-01"}, "is not in the future"),
                      ({"expires_on": "next week"}, "expires_on: 'next week' is not an ISO 8601 date"),
                      ({"expiry_days": 0}, "expiry_days must be 1 or more")):
        result = run_playbook(key_play(dict(label="bad", **args)), inventory=fleet)
        assert result.rc != 0
        assert msg in result.task("Manage the key")["msg"]
    assert node.requests() == []


def test_deprecated_expiry_keeps_its_meaning_and_warns(fleet, node, run_playbook):
    result = run_playbook(key_play({"label": "legacy", "expiry": "5"}), inventory=fleet)
    assert result.rc == 0, result.output
    task = result.task("Manage the key")
    assert keys_labelled(node, "legacy")[0]["expiry"] == 5
    assert any("expiry option of apinode_key is deprecated" in d["msg"] for d in task.get("deprecations", []))


# --- version gating ------------------------------------------------------------------------------------

def test_key_expiry_needs_dss_13_3(sim_fleet, run_playbook):
    fleet = sim_fleet(nodes=1, dss_version="13.0.0")
    node = fleet.nodes[0]
    node.clear_requests()
    result = run_playbook(key_play({"label": "ci", "expiry_days": 30}), inventory=fleet)
    assert result.rc != 0
    assert result.task("Manage the key")["msg"] == "Admin key expiry needs DSS 13.3 or newer, node runs 13.0.0."
    assert node.mutating_requests() == []
    assert keys_labelled(node, "ci") == []


@pytest.mark.parametrize("version, by_id", [("12.4.0", False), ("13.0.0", False), (None, True)])
def test_delete_by_value_on_nodes_older_than_13_1_1(sim_fleet, run_playbook, version, by_id):
    fleet = sim_fleet(nodes=1, dss_version=version)
    node = fleet.nodes[0]
    old = node.admin_client().auth().add_key(label="old-script")
    node.clear_requests()
    result = run_playbook(key_play({"label": "old-script", "state": "absent"}), inventory=fleet)
    assert result.rc == 0, result.output
    deletes = node.mutating_requests()
    assert len(deletes) == 1 and deletes[0]["path"].endswith("/key") is by_id
    assert keys_labelled(node, "old-script") == []
    assert old["key"] not in result.output


def test_delete_by_id_falls_back_to_the_value_on_404(fleet, node, run_playbook):
    node.admin_client().auth().add_key(label="old-script")
    node.add_fault(method="DELETE", path=r"/admin/api/keys/[^/]+/key", status=404, count=1,
                   body={"message": "Not found"})
    node.clear_requests()
    result = run_playbook(key_play({"label": "old-script", "state": "absent"}), inventory=fleet)
    assert result.rc == 0, result.output
    assert [r["path"].endswith("/key") for r in node.mutating_requests()] == [True, False]
    assert keys_labelled(node, "old-script") == []
