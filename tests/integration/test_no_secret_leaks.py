"""No admin key appears anywhere: every module, the bootstrap and the rolling deploy, run at -vvv.

The playbooks below exercise every module of the collection (reads, changes, check mode, diff mode and
failures, whose messages carry URLs) and the collection's playbooks: rolling_deploy, also when it
fails and rolls every node back, and fleet_status. All their output,
and the task results recorded by the harness, is searched for every admin key the simulated nodes
know (read from their data dirs after the runs) and every secret the playbooks handled.
"""

import json
from pathlib import Path

from harness import module_play, task

REPO = Path(__file__).resolve().parents[2]
USER_SECRET = "FleetVaultedKey0123456789abcdefAB"
WRONG_KEY = "NotAnAdminKeyOfThisNode0123456789"
SMOKE_TEST = {"endpoint": "predict", "features": {"age": 42, "plan": "gold"}}

EVERY_MODULE_PLAY = module_play(
    task("Service", "apinode_service", {"name": "churn"}),
    task("Generation", "apinode_generation", {"service": "churn", "archive": "{{ package }}", "generation": "v1"}),
    task("Switch", "apinode_service", {"name": "churn", "generation": "v1"}),
    task("Generated key (its result holds the new secret, so no_log)", "apinode_key", {"label": "deployer"},
         no_log=True),
    task("Vaulted key, created then kept", "apinode_key", {"label": "awx", "secret": "{{ user_secret }}"}),
    task("Rotated key (new secret, so no_log)", "apinode_key", {"label": "monitoring", "rotate": True}, no_log=True),
    task("Deleted key", "apinode_key", {"label": "old-script", "state": "absent"}),
    task("Refused deletion of the key in use (its value would be in the message)", "apinode_key",
         {"label": "awx", "state": "absent", "api_key": "{{ user_secret }}"}, ignore_errors=True),
    task("Wrong admin key (401)", "apinode_info", {"api_key": "{{ wrong_key }}"}, ignore_errors=True),
    task("Caches", "apinode_cache", {"code_env": "{{ code_env }}", "model_archive": "{{ model }}"}),
    task("Clean-up", "apinode_cache", {"clean_unused_services": True, "clean_code_envs": True}),
    task("Everything the node knows", "apinode_info", {"gather": ["services", "keys", "metrics", "node"]}),
)

BOOTSTRAP_PLAY = """
- hosts: apinodes
  gather_facts: false
  vars:
    key_file: "{{ apinode_data_dir }}/config/ansible-bootstrap-key.json"
  tasks:
    - name: Bootstrap key with the node's CLI, once
      ansible.builtin.shell:
        cmd: umask 077 && bin/apinode-admin admin-key-create --label ansible-bootstrap --output json > "{{ key_file }}"
        chdir: "{{ apinode_data_dir }}"
        creates: "{{ key_file }}"

    - name: Read it
      ansible.builtin.slurp:
        src: "{{ key_file }}"
      register: __bootstrap
      no_log: true

    - name: Use it
      ansible.builtin.set_fact:
        apinode_admin_key: "{{ (__bootstrap.content | b64decode | from_json).key }}"
      no_log: true

    - name: Keys seen with the bootstrap key
      dss.apinode.apinode_info:
        url: "{{ apinode_url }}"
        api_key: "{{ apinode_admin_key }}"
        gather: [keys]
"""


def recorded(result):
    return json.dumps(result.tasks)


def assert_no_secret(texts, secrets):
    for secret in secrets:
        for name, text in texts.items():
            assert secret not in text, "a secret (%s...) appears in %s" % (secret[:4], name)


def test_no_admin_key_in_any_output(sim_fleet, make_bundle, run_playbook, fleet_inventory, tmp_path):
    fleet = sim_fleet(nodes=2)
    manifest = make_bundle(services=["churn"], versions=["v1", "v2"], code_envs=["churn-py"], models=["sentiment"])
    extra = {"package": manifest["packages"][0]["path"], "code_env": manifest["code_envs"][0]["path"],
             "model": manifest["models"][0]["path"], "user_secret": USER_SECRET, "wrong_key": WRONG_KEY}
    inventory = fleet_inventory(fleet, tmp_path / "inventory.json")
    for node in fleet.nodes:
        auth = node.admin_client().auth()
        auth.add_key(label="old-script")
        auth.add_key(label="monitoring")
    # Keys that the runs delete (old-script, the rotated monitoring key) are gone from disk afterwards.
    secrets_before = fleet.all_keys()
    runs = {}

    runs["modules"] = run_playbook(EVERY_MODULE_PLAY, inventory=inventory, extra_vars=extra, diff=True, verbosity=3)
    assert runs["modules"].rc == 0, runs["modules"].output
    refused = [t["status"] for t in runs["modules"].tasks if t["task"].startswith("Refused deletion")]
    assert refused == ["failed", "failed"]
    runs["modules-rerun-check"] = run_playbook(EVERY_MODULE_PLAY, inventory=inventory, extra_vars=extra,
                                               check=True, diff=True, verbosity=3)
    assert runs["modules-rerun-check"].rc == 0, runs["modules-rerun-check"].output

    no_key_inventory = fleet_inventory(fleet, tmp_path / "no-key.json", apinode_admin_key="")
    for attempt in ("first", "second"):
        runs["bootstrap-" + attempt] = run_playbook(BOOTSTRAP_PLAY, inventory=no_key_inventory, verbosity=3)
        assert runs["bootstrap-" + attempt].rc == 0, runs["bootstrap-" + attempt].output

    deploy_vars = {"apinode_deploy_services": [{"id": "fraud", "new": True, "package": manifest["packages"][0]["path"],
                                                "generation": "v1", "smoke_tests": [SMOKE_TEST]}]}
    runs["rolling_deploy"] = run_playbook(str(REPO / "playbooks" / "rolling_deploy.yml"), inventory=inventory,
                                          extra_vars=deploy_vars, verbosity=3)
    assert runs["rolling_deploy"].rc == 0, runs["rolling_deploy"].output

    # A failed rollout: the rollback reaches every node with the connection each one kept.
    fleet.node("node2").add_fault(method="POST", path="^/public/api/v1/fraud/predict/predict$", status=500,
                                  body={"message": "model failed to load"})
    failing_vars = {"apinode_deploy_services": [{"id": "fraud", "package": manifest["packages"][1]["path"],
                                                 "smoke_tests": [SMOKE_TEST]}]}
    runs["rolling_deploy-rolled-back"] = run_playbook(str(REPO / "playbooks" / "rolling_deploy.yml"),
                                                      inventory=inventory, extra_vars=failing_vars, verbosity=3)
    assert runs["rolling_deploy-rolled-back"].rc != 0
    assert runs["rolling_deploy-rolled-back"].ran("Roll back, to exactly what the nodes served before")
    fleet.node("node2").clear_faults()
    runs["fleet_status"] = run_playbook(str(REPO / "playbooks" / "fleet_status.yml"), inventory=inventory,
                                        extra_vars=failing_vars, check=True, diff=True, verbosity=3)
    assert runs["fleet_status"].rc == 0, runs["fleet_status"].output

    secrets = secrets_before | fleet.all_keys() | {USER_SECRET, WRONG_KEY}
    for node in fleet.nodes:
        labels = {k.get("label") for k in node.admin_keys()}
        assert {"deployer", "awx", "monitoring", "ansible-bootstrap"} <= labels and "old-script" not in labels
    # Per node: initial, old-script, old and new monitoring, deployer, bootstrap, CLI key; plus 2 shared.
    assert len(secrets) >= 2 * 7 + 2
    texts = {}
    for name, result in runs.items():
        texts[name + " output"] = result.output
        texts[name + " recorded results"] = recorded(result)
    assert_no_secret(texts, secrets)
