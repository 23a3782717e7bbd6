# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The example execution environment of docs/awx builds a valid ansible-builder context.

Building the image needs a container engine; this test checks everything before that: the build
context, the offline install of the collection tarball as the galaxy stage runs it, and the dependency
introspection that the builder stage runs on the installed collection.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
AWX_DOCS = REPO / "docs" / "awx"
BIN = Path(sys.executable).parent


def run(*args, cwd=None):
    proc = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, "%s failed:\n%s\n%s" % (args[0], proc.stdout, proc.stderr)
    return proc


def test_ansible_builder_create_and_galaxy_stage(tmp_path):
    version = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]
    built = "dss-apinode-%s.tar.gz" % version
    tarball = "dss-apinode.tar.gz"  # the documented name: no version to keep in step with galaxy.yml
    work = tmp_path / "ee"
    work.mkdir()
    for name in ("execution-environment.yml", "requirements.yml"):
        shutil.copy(AWX_DOCS / name, work / name)
    definition = yaml.safe_load((work / "execution-environment.yml").read_text())
    assert definition["version"] == 3
    assert [f["src"] for f in definition["additional_build_files"]] == [tarball]
    assert "0.1.0" not in (AWX_DOCS / "execution-environment.yml").read_text() + (AWX_DOCS / "requirements.yml").read_text()

    # The documented steps: build, then rename without the version.
    run(BIN / "ansible-galaxy", "collection", "build", REPO, "--output-path", work)
    (work / built).rename(work / tarball)

    context = tmp_path / "context"
    run(BIN / "ansible-builder", "create", "-f", work / "execution-environment.yml", "-c", context)
    build_file = next(p for p in (context / "Containerfile", context / "Dockerfile") if p.exists())
    instructions = build_file.read_text()
    assert "ansible-galaxy collection install" in instructions
    assert 'ANSIBLE_GALAXY_CLI_COLLECTION_OPTS="--offline"' in instructions
    build_dir = context / "_build"
    assert (build_dir / "collections" / tarball).is_file()

    # The galaxy stage: ansible-galaxy in /build (= _build) with the copied requirements, offline.
    installed = tmp_path / "installed"
    # --force: the test run's own collections path already holds dss.apinode, which would
    # otherwise make ansible-galaxy report "nothing to do" and install nothing.
    run(BIN / "ansible-galaxy", "collection", "install", "--offline", "--force", "-r", "requirements.yml",
        "-p", installed, cwd=build_dir)
    manifest = json.loads((installed / "ansible_collections" / "dss" / "apinode" / "MANIFEST.json").read_text())
    assert manifest["collection_info"]["version"] == version
    assert (installed / "ansible_collections" / "dss" / "apinode" / "meta" / "runtime.yml").is_file()

    # The builder stage: the collection's own meta/execution-environment.yml must introspect cleanly
    # and declare no Python or system package.
    proc = run(sys.executable, build_dir / "scripts" / "introspect.py", "introspect", installed)
    found = yaml.safe_load(proc.stdout) or {}
    assert not (found.get("python") or {}).get("dss.apinode")
    assert not (found.get("system") or {}).get("dss.apinode")
