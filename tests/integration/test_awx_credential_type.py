# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The documented AWX credential type injects exactly what the modules read."""

from awx_credential import load_credential_type, render_injectors


def module_env_fallbacks():
    from ansible_collections.dss.apinode.plugins.module_utils._common import CONNECTION_ARGUMENT_SPEC
    names = set()
    for spec in CONNECTION_ARGUMENT_SPEC.values():
        if spec.get("fallback"):
            names.update(spec["fallback"][1])
    return names


def test_env_injectors_are_exactly_the_module_fallbacks(collections_path):
    injected = set(load_credential_type()["injectors"]["env"])
    assert injected == module_env_fallbacks()
    assert not any(name.startswith("ANSIBLE_") for name in injected)


def test_definition_is_a_valid_custom_credential_type():
    definition = load_credential_type()
    assert definition["kind"] in ("cloud", "net")
    fields = {field["id"]: field for field in definition["inputs"]["fields"]}
    assert set(definition["inputs"]["required"]) <= set(fields)
    assert fields["api_key"]["secret"] is True
    assert all(field["type"] in ("string", "boolean") for field in fields.values())
    # multi-file syntax only: AWX rejects a mix of template and template.<name>
    assert all(key.startswith("template.") for key in definition["injectors"]["file"])


def test_ca_bundle_is_injected_as_a_file(tmp_path):
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    env, files = render_injectors(
        {"url": "https://node1:12000", "api_key": "s3cret", "validate_certs": False, "ca_bundle": pem},
        tmp_path)
    assert env["DATAIKU_APINODE_CA_PATH"] == files["ca_bundle"]
    assert (tmp_path / "ca_bundle").read_text() == pem
    assert env["DATAIKU_APINODE_API_KEY"] == "s3cret"
    assert env["DATAIKU_APINODE_URL"] == "https://node1:12000"
    assert env["DATAIKU_APINODE_VALIDATE_CERTS"] == "False"


def test_optional_inputs_left_empty_do_not_break_the_modules(tmp_path):
    env, _files = render_injectors({"api_key": "s3cret"}, tmp_path)
    # an empty CA path means "system trust store"; the timeout always converts to an int
    assert env["DATAIKU_APINODE_CA_PATH"] == ""
    assert int(env["DATAIKU_APINODE_TIMEOUT"]) == 30
    assert env["DATAIKU_APINODE_VALIDATE_CERTS"] == "True"
