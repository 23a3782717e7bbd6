"""bootstrap_node: new nodes get a node-local key, every service, smoke tests, then the LB hook."""

import json
import os
import re
import stat

from test_role_deploy import FEATURES, deploy_vars, served

BOOTSTRAP = "dss.apinode.bootstrap_node"


def keyless_inventory(fleet, path):
    """New nodes: the inventory knows their URL and data dir, not an admin key."""
    hosts = {node.name: {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                         "apinode_url": node.url, "apinode_data_dir": str(node.data_dir)} for node in fleet.nodes}
    path.write_text(json.dumps({"all": {"children": {"apinodes": {"hosts": hosts}}}}))
    return path


def test_failing_new_node_stays_out_and_the_other_joins(sim_fleet, make_bundle, run_playbook, tmp_path):
    fleet = sim_fleet(nodes=2)
    churn = make_bundle(services=["churn"], versions=["v1"])
    joined = tmp_path / "joined"
    joined.mkdir()
    hook = tmp_path / "add_to_lb.yml"
    hook.write_text("- name: Add to the pool\n  ansible.builtin.file:\n"
                    "    path: \"%s/{{ inventory_hostname }}\"\n    state: touch\n    mode: '0644'\n" % joined)
    fleet.node("node2").add_fault(method="POST", path="^/public/api/v1/churn/predict/predict$", status=500,
                                  body={"message": "model failed to load"})
    keys_before = {node.name: len(node.admin_keys()) for node in fleet.nodes}
    inventory = keyless_inventory(fleet, tmp_path / "inventory.json")
    extra = dict(deploy_vars(churn, "v1"), apinode_bootstrap_lb_tasks=str(hook))

    result = run_playbook(BOOTSTRAP, inventory=inventory, extra_vars=extra)

    assert result.rc != 0
    assert result.failed_hosts == ["node2"]
    assert "node2" in result.output and "endpoint predict" in result.output
    assert sorted(os.listdir(joined)) == ["node1"]
    enabled, mapping = served(fleet.node("node1"))
    assert enabled and mapping["generation"] == "v1"
    assert fleet.node("node1").user_client("churn").predict_record("predict", FEATURES)["apiContext"][
        "serviceGeneration"] == "v1"
    enabled, unused_versions = served(fleet.node("node2"))
    assert not enabled  # rolled back: it had no mapping before
    for node in fleet.nodes:
        key_file = os.path.join(node.data_dir, "config", "dss-apinode-deploy.key")
        assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
        assert len(node.admin_keys()) >= keys_before[node.name] + 1
    for secret in fleet.all_keys():
        assert secret not in result.output

    # A second run reuses the node-local keys instead of creating more.
    keys_after = {node.name: len(node.admin_keys()) for node in fleet.nodes}
    fleet.node("node2").clear_faults()
    again = run_playbook(BOOTSTRAP, inventory=inventory, extra_vars=extra)
    assert again.rc == 0, again.output
    assert {node.name: len(node.admin_keys()) for node in fleet.nodes} == keys_after
    assert sorted(os.listdir(joined)) == ["node1", "node2"]
    # One call staged, switched and cleaned node2: the report splits its time by phase.
    assert re.search(r"node2: changed \(plan [\d.]+s, stage [\d.]+s, activate [\d.]+s, retain [\d.]+s\)", again.output), \
        again.output
