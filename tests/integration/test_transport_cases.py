"""Transport cases end to end: a vaulted admin key, a node published under a path prefix, and a 429
with ``Retry-After``.

Every case runs real playbooks against simulated nodes and reads the outcome back out of band: the
nodes' request logs, the official client and the log of the reverse proxy in front of them.
"""

import json
import subprocess
import sys
import threading
import http.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness import module_play, task
from test_role_deploy import FEATURES, ROLLBACK, deploy_vars, generations, served

ROLLING_DEPLOY = "dss.apinode.rolling_deploy"
FLEET_STATUS = "dss.apinode.fleet_status"
VAULT_PASSWORD = "correct horse battery staple"
# Hop-by-hop and framing headers: the proxy sets its own.
HOP_HEADERS = ("connection", "keep-alive", "transfer-encoding", "content-length", "host", "proxy-connection")


@pytest.fixture
def churn(make_bundle):
    return make_bundle(services=["churn"], versions=["v1", "v2"])


def recorded(result):
    return json.dumps(result.tasks)


# --- a vaulted admin key -------------------------------------------------------------------------------

def vault_inline(value, password_file, name="apinode_admin_key"):
    """``value`` encrypted with ansible-vault: the lines of its ``!vault |`` block."""
    ansible_vault = Path(sys.executable).parent / "ansible-vault"
    proc = subprocess.run([str(ansible_vault), "encrypt_string", "--vault-password-file", str(password_file),
                           "--stdin-name", name],
                          input=value, capture_output=True, text=True, check=True, timeout=120)
    block = proc.stdout.split("!vault |", 1)[1]
    lines = [line.strip() for line in block.splitlines() if line.strip()]
    assert lines[0].startswith("$ANSIBLE_VAULT;"), proc.stdout
    assert value not in proc.stdout
    return lines


def vaulted_inventory(fleet, path, password_file, variable):
    """A YAML inventory of the fleet whose admin keys are inline ``!vault`` values, as users write them."""
    out = ["all:", "  children:", "    apinodes:", "      hosts:"]
    for node in fleet.nodes:
        out += ["        %s:" % node.name,
                "          ansible_connection: local",
                "          ansible_python_interpreter: '{{ ansible_playbook_python }}'",
                "          apinode_url: %s" % node.url,
                "          apinode_data_dir: %s" % json.dumps(str(node.data_dir)),
                "          %s: !vault |" % variable]
        out += ["            " + line for line in vault_inline(node.admin_key, password_file, variable)]
    path.write_text("\n".join(out) + "\n")
    return path


# The inventory's apinode_admin_key reaches the role through its default; apinode_deploy_admin_key
# is the role's own option, validated as it is given.
@pytest.mark.parametrize("variable", ["apinode_admin_key", "apinode_deploy_admin_key"])
def test_vaulted_admin_key_deploys_and_never_shows(sim_fleet, churn, run_playbook, tmp_path, variable):
    fleet = sim_fleet(nodes=2)
    password_file = tmp_path / "vault-password"
    password_file.write_text(VAULT_PASSWORD + "\n")
    password_file.chmod(0o600)
    inventory = vaulted_inventory(fleet, tmp_path / "vaulted.yml", password_file, variable)
    assert all(node.admin_key not in inventory.read_text() for node in fleet.nodes)
    keys_before = {node.name: len(node.admin_keys()) for node in fleet.nodes}

    result = run_playbook(ROLLING_DEPLOY, inventory=inventory, extra_vars=deploy_vars(churn, "v1"), verbosity=3,
                          env={"ANSIBLE_VAULT_PASSWORD_FILE": str(password_file)})

    assert result.rc == 0, result.output
    for node in fleet.nodes:
        enabled, mapping = served(node)
        assert enabled and mapping["generation"] == "v1", (node.name, mapping)
        assert node.user_client("churn").predict_record("predict", FEATURES)["apiContext"]["serviceGeneration"] == "v1"
        # The vaulted key itself did the work: every admin call was accepted, and the role did not fall
        # back to creating a node-local key through the node's CLI.
        admin_calls = [r for r in node.requests() if r["path"].startswith("/admin/api/")]
        assert admin_calls and all(r["status"] < 400 for r in admin_calls), admin_calls
        assert len(node.admin_keys()) == keys_before[node.name], node.name
        assert not (Path(node.data_dir) / "config" / "dss-apinode-deploy.key").exists()
    secrets = {node.admin_key for node in fleet.nodes} | {VAULT_PASSWORD}
    for secret in secrets:
        assert secret not in result.output, "a secret (%s...) is in the output" % secret[:4]
        assert secret not in recorded(result), "a secret (%s...) is in the recorded results" % secret[:4]


def test_vaulted_admin_key_stays_hidden_when_the_argument_check_fails(sim_fleet, churn, run_playbook, tmp_path):
    fleet = sim_fleet(nodes=1)
    password_file = tmp_path / "vault-password"
    password_file.write_text(VAULT_PASSWORD + "\n")
    inventory = vaulted_inventory(fleet, tmp_path / "vaulted.yml", password_file, "apinode_deploy_admin_key")

    result = run_playbook(ROLLING_DEPLOY, inventory=inventory, verbosity=3,
                          extra_vars=dict(deploy_vars(churn, "v1"), apinode_deploy_on_failure="carry_on"),
                          env={"ANSIBLE_VAULT_PASSWORD_FILE": str(password_file)})

    assert result.rc != 0
    # The bad option is named; the vaulted one neither fails the check nor shows.
    assert "apinode_deploy_on_failure" in result.output and "carry_on" in result.output
    assert "Unknown parameter type" not in result.output
    node = fleet.nodes[0]
    assert node.admin_key not in result.output and node.admin_key not in recorded(result)
    assert node.mutating_requests() == []
