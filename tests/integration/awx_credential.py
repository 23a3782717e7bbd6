# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Render the documented AWX credential type the way the controller does at job launch.

AWX renders each injector with a sandboxed Jinja environment whose namespace holds the credential's
input values plus ``tower.filename`` (the paths of the files written by the ``file`` injectors).
"""

from pathlib import Path

import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

CREDENTIAL_TYPE = Path(__file__).resolve().parents[2] / "docs" / "awx" / "credential_type.yml"


def load_credential_type():
    return yaml.safe_load(CREDENTIAL_TYPE.read_text())


def render_injectors(inputs, files_dir):
    """-> (env dict, {file id: path}) for the given input values, files written under files_dir."""
    definition = load_credential_type()
    values = {field["id"]: field.get("default", "") for field in definition["inputs"]["fields"]}
    values.update(inputs)
    jinja = ImmutableSandboxedEnvironment()
    files = {}
    for key, template in definition["injectors"].get("file", {}).items():
        name = key.split(".", 1)[1]
        path = Path(files_dir) / name
        path.write_text(jinja.from_string(template).render(**values))
        files[name] = str(path)
    namespace = dict(values, tower={"filename": files}, awx={"filename": files})
    env = {name: jinja.from_string(template).render(**namespace)
           for name, template in definition["injectors"].get("env", {}).items()}
    return env, files
