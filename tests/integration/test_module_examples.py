# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every module's EXAMPLES are valid playbooks, and they run against a simulated node.

The examples are written for real fleets, so before running them the test maps what only exists there
onto the test's own world, always by plain text substitution (see ``SUBSTITUTIONS``):

- absolute paths on a node (``/srv/apinode-staging``, ``/opt/envs``, ``/root``) become folders under the
  test's temporary directory, filled with the artefacts the example expects;
- the example host name of the upload examples, and the node-local URL ``http://127.0.0.1:12000``,
  become the simulated node's URL;
- relative ``packages/...`` paths on the controller become absolute paths to sample packages;
- relative ``files/...`` paths are left as they are: the play is written in a project folder whose
  ``files/`` folder holds the sample packages, as ``copy`` and the release examples expect;
- ``vault_*`` variables and the user key of the smoke tests (``churn_user_key``) are given as extra
  variables; the inventory group ``apinodes`` holds the node
  with ``apinode_url``, ``apinode_admin_key`` and ``apinode_data_dir``, as the examples expect.

Each play runs on a fresh node prepared with what the play needs (``prepare_node``). An example that
cannot run would be listed in ``NOT_RUNNABLE`` with the reason; none is at the moment.
"""

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if not p.name.startswith("_"))
AWX_KEY = "AwxFleetKey0123456789abcdefABCDEF"
USER_KEY = "ChurnQueryKey0123456789abcdefABCD"

# (module, play index) -> why that play cannot run against the simulator.
NOT_RUNNABLE = {}


def examples_text(module):
    tree = ast.parse((REPO / "plugins" / "modules" / (module + ".py")).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "EXAMPLES" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("%s has no EXAMPLES" % module)


def examples_plays(module):
    """The EXAMPLES as a list of plays (a bare task list becomes one play on the apinodes group)."""
    data = yaml.safe_load(examples_text(module))
    assert isinstance(data, list) and data, "%s: EXAMPLES must be a non-empty YAML list" % module
    if all("hosts" in item or "import_playbook" in item for item in data):
        return data
    assert not any("hosts" in item for item in data), "%s: EXAMPLES mix plays and tasks" % module
    return [{"name": "Examples of %s" % module, "hosts": "apinodes", "gather_facts": False,
             "module_defaults": {"group/dss.apinode.apinode": {
                 "url": "{{ apinode_url }}", "api_key": "{{ apinode_admin_key }}"}},
             "tasks": data}]


PLAYS = [(m, i) for m in MODULES for i in range(len(examples_plays(m)))]


def collection_env(collections_path):
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections_path), ANSIBLE_NOCOLOR="1")


@pytest.mark.parametrize("module", MODULES)
def test_examples_are_valid_playbooks(module, tmp_path, collections_path):
    plays = examples_plays(module)
    assert any(t.get("dss.apinode." + module) is not None or "dss.apinode." + module in t
               for play in plays for t in play.get("tasks", [])), "%s: no example calls the module" % module
    playbook = tmp_path / "examples.yml"
    playbook.write_text(yaml.safe_dump(plays))
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"children": {"apinodes": {"hosts": {"node1": {}}}}}}))
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "--syntax-check",
                           "-i", str(inventory), str(playbook)],
                          env=collection_env(collections_path), capture_output=True, text=True,
                          check=False, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def prepare_node(module, node, bundle_dir):
    """Service churn with the generations the examples of ``module`` act on."""
    admin = node.admin_client()
    admin.create_service("churn")
    service = admin.service("churn")
    wanted = {"apinode_service": ["v1", "v2", "v3"]}.get(module, ["v0", "v1"])
    for version in wanted:
        service.import_generation_from_archive(str(bundle_dir / ("churn_%s.zip" % version)))
    service.switch_to_single_generation("v1")


def prepare_world(root, bundle_dir, node):
    """Folders standing for the node's and controller's paths used in the examples; -> substitutions."""
    staging = root / "srv-apinode-staging"
    shutil.copytree(bundle_dir / "code-envs", staging / "code-envs")
    shutil.copytree(bundle_dir / "models", staging / "models")
    (root / "opt-envs" / "scoring-r").mkdir(parents=True)
    (root / "etc").mkdir()
    packages = root / "packages"
    packages.mkdir()
    files = root / "project" / "files"
    files.mkdir(parents=True)
    for zip_file in bundle_dir.glob("churn_*.zip"):
        shutil.copy(zip_file, packages / zip_file.name)
        shutil.copy(zip_file, files / zip_file.name)
    return {
        "/srv/apinode-staging": str(staging),
        "/opt/envs": str(root / "opt-envs"),
        "/etc/dss-apinode/": str(root / "etc") + "/",
        "https://apinode-1.example.com:12000": node.url,
        "http://127.0.0.1:12000": node.url,
        " packages/": " %s/" % packages,
    }


@pytest.mark.parametrize("module,play_index", PLAYS, ids=["%s-play%d" % p for p in PLAYS])
def test_example_runs_against_the_simulator(module, play_index, tmp_path, sim_fleet, make_bundle,
                                            run_playbook):
    if (module, play_index) in NOT_RUNNABLE:
        pytest.fail("not runnable (%s): remove it from NOT_RUNNABLE once it is" % NOT_RUNNABLE[(module, play_index)])
    manifest = make_bundle(services=["churn"], versions=["v0", "v1", "v2", "v3"], endpoints=["predict", "segment:PY_FUNCTION"],
                           code_envs=["churn-py", "scoring-r:R"], models=["sentiment"])
    bundle_dir = Path(manifest["packages"][0]["path"]).parent
    fleet = sim_fleet(nodes=1)
    node = fleet.nodes[0]
    prepare_node(module, node, bundle_dir)
    substitutions = prepare_world(tmp_path, bundle_dir, node)

    text = yaml.safe_dump([examples_plays(module)[play_index]], sort_keys=False, width=1000)
    for old, new in substitutions.items():
        text = text.replace(old, new)
    inventory = {"all": {
        "hosts": {"localhost": {"ansible_connection": "local",
                                "ansible_python_interpreter": "{{ ansible_playbook_python }}"}},
        "children": {"apinodes": {"hosts": {node.name: {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "apinode_url": node.url,
            "apinode_admin_key": node.admin_key,
            "apinode_data_dir": str(node.data_dir)}}}}}}
    inventory_file = tmp_path / "inventory.json"
    inventory_file.write_text(json.dumps(inventory))

    playbook = tmp_path / "project" / "examples.yml"
    playbook.write_text(text)
    result = run_playbook(str(playbook), inventory=inventory_file, extra_vars={
        "vault_apinode_admin_key": node.admin_key, "vault_apinode_awx_key": AWX_KEY, "churn_user_key": USER_KEY,
        "vault_churn_user_key": USER_KEY})

    assert result.rc == 0, result.output
    play = yaml.safe_load(text)[0]
    for task in play["tasks"]:
        # A block's own tasks must all run; its rescue tasks must not (nothing failed).
        for inner in task.get("block", [task]):
            statuses = {t["status"] for t in result.tasks if t["task"] == inner["name"]}
            allowed = {"ok", "changed"} | ({"skipped"} if "when" in inner else set())
            assert statuses and statuses <= allowed, "%s: task %r ended %s" % (module, inner["name"], statuses)
        for inner in task.get("rescue", []):
            assert not [t for t in result.tasks if t["task"] == inner["name"]], "%s: %r ran" % (module, inner["name"])
    for secret in fleet.all_keys() | {AWX_KEY, USER_KEY}:
        assert secret not in result.output, "%s: an admin key appears in the output" % module
