# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every module and the role render with ansible-doc, which is how users learn them."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if not p.name.startswith("_"))
ANSIBLE_DOC = Path(sys.executable).parent / "ansible-doc"


def ansible_doc(collections_path, *args):
    # without a terminal, ansible-doc marks bold text with asterisks
    return ansible_doc_raw(collections_path, *args).replace("*", "")


def ansible_doc_raw(collections_path, *args):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections_path), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([str(ANSIBLE_DOC), *args], env=env, capture_output=True, text=True, check=False,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ours = [line for line in proc.stderr.splitlines() if not _is_core_noise(line)]
    assert not any("[WARNING]" in line or "ERROR" in line for line in ours), proc.stderr
    return proc.stdout


def _is_core_noise(line):
    # ansible-core 2.21 warns about its own internal collection when ANSIBLE_COLLECTIONS_PATH is
    # set; that warning says nothing about this collection's documentation.
    return "ansible_collections/ansible/_protomatter" in line


def test_every_module_is_listed(collections_path):
    listed = json.loads(ansible_doc_raw(collections_path, "-t", "module", "--list", "--json", "dss.apinode"))
    assert sorted(listed) == ["dss.apinode." + m for m in MODULES]
    assert all(listed.values()), "every module needs a short_description"


@pytest.mark.parametrize("module", MODULES)
def test_module_renders(collections_path, module):
    text = ansible_doc(collections_path, "-t", "module", "dss.apinode." + module)
    # "> MODULE dss.apinode.x" since ansible-core 2.17, "> DSS.APINODE.X    (path)" before.
    header = text.split("\n", 1)[0].lower()
    assert header.startswith(("> module dss.apinode.%s" % module, "> dss.apinode.%s " % module)), header
    for section in ("OPTIONS", "ATTRIBUTES", "EXAMPLES:", "RETURN VALUES:"):
        assert section in text, "%s has no %s section" % (module, section)
    # the shared connection options come from the doc fragment
    assert "DATAIKU_APINODE_URL" in text and "DATAIKU_APINODE_API_KEY" in text
    data = json.loads(ansible_doc_raw(collections_path, "-t", "module", "--json", "dss.apinode." + module))
    doc = data["dss.apinode." + module]["doc"]
    assert doc["version_added"] == "0.1.0" and doc["author"]
    assert doc["attributes"]["action_group"]["membership"] == ["dss.apinode.apinode"]


def test_role_renders(collections_path):
    if not (REPO / "roles" / "deploy" / "meta" / "argument_specs.yml").is_file():
        pytest.fail("roles/deploy/meta/argument_specs.yml is missing: ansible-doc cannot document the role")
    text = ansible_doc(collections_path, "-t", "role", "dss.apinode.deploy")
    assert "ENTRY POINT: main" in text
    assert "apinode_deploy_services" in text
