"""Bad input for every module: a clear error naming the problem, and not one mutating request.

Each module gets one playbook of many failing tasks (ignore_errors), so that a whole family of bad
inputs costs one ansible-playbook start.
"""

import zipfile

import pytest
import trustme

from reliability_helpers import (
    assert_no_secrets,
    clear_log,
    failed_on,
    fleet_secrets,
    module_play,
    mutating,
    settle,
    task,
)


def run_cases(run_playbook, fleet, node, module, cases):
    """Run every ``(args, expected message part)`` case; check each failed with that message."""
    tasks = [task("case %d" % index, module, args, ignore_errors=True) for index, (args, unused_expected) in enumerate(cases)]
    clear_log(node)
    result = run_playbook(module_play(*tasks), inventory=fleet)
    problems = []
    for index, (args, expected) in enumerate(cases):
        name = "case %d" % index
        message = result.task(name).get("msg", "")
        if failed_on(result, name) != [node.name] or expected.lower() not in message.lower():
            problems.append("%s %r: expected a failure saying %r, got %r" % (module, args, expected, message))
    assert not problems, "\n".join(problems)
    assert mutating(node) == [], "bad input must not reach the node"
    assert_no_secrets(result, fleet_secrets(fleet))
    return result


@pytest.fixture
def node_with_package(one_node, make_bundle):
    fleet, node = one_node
    node.admin_client().create_service("churn")
    package = make_bundle(services=["churn"], versions=["v1"])["packages"][0]["path"]
    return fleet, node, package


def test_apinode_service(node_with_package, run_playbook):
    fleet, node, unused_extra = node_with_package
    run_cases(run_playbook, fleet, node, "apinode_service", [
        ({"name": "churn v2!"}, "Invalid service id"),
        ({"name": "churn\n"}, "Invalid service id 'churn\\n' for name"),
        ({"name": "churn", "generation": "v1\n"}, "Invalid generation id 'v1\\n' for generation"),
        ({"name": "churn", "enabled": "maybe"}, "enabled"),
        ({"name": "churn", "generation": "v1", "mapping": [{"generation": "v1", "proba": 1}]}, "mutually exclusive"),
        ({"name": "churn", "mapping": [{"generation": "v1", "proba": 0.6}, {"generation": "v2", "proba": 0.3}]},
         "sum"),
        ({"name": "churn", "mapping": [{"generation": "v1", "proba": "most"}]}, "float"),
        ({"name": "churn", "mapping": [{"generation": "..", "proba": 1.0}]}, "Invalid generation id"),
        ({"name": "churn", "generation": "v9"}, "v9"),  # not on the node
        ({"name": "churn", "mapping": [{"generation": "v1", "proba": 1.0}], "strategy": "round_robin"},
         "strategy"),
        ({"name": "churn", "generation": "v1", "url": "ftp://127.0.0.1"}, "url must look like"),
        ({"name": "churn", "generation": "v1", "url": node.url + "/admin/api"}, "the collection adds /admin/api itself"),
        ({"name": "churn", "generation": "v1", "api_key": ""}, "api_key"),
        ({"name": "churn", "generation": "v1", "timeout": 0}, "timeout must be a positive"),
        ({"name": "churn", "generation": "v1", "retries": -1}, "retries must be 0 or more"),
        ({"name": "churn", "generation": "v1", "client_cert": "/nonexistent/cert.pem"}, "client_key"),
    ])


def test_apinode_generation(node_with_package, run_playbook, tmp_path):
    fleet, node, package = node_with_package
    not_a_zip = tmp_path / "notes.txt"
    not_a_zip.write_text("not a package")
    run_cases(run_playbook, fleet, node, "apinode_generation", [
        ({"service": "churn", "archive": str(tmp_path / "missing.zip")}, "missing.zip"),
        ({"service": "churn", "archive": str(not_a_zip)}, "notes.txt"),
        ({"service": "churn", "archive": package, "generation": "v2"}, "not the expected v2"),
        ({"service": "churn", "archive": package, "generation": ".hidden"}, "Invalid generation id"),
        ({"service": "bad/id", "archive": package}, "Invalid service id"),
        ({"service": "churn\n", "archive": package}, "Invalid service id"),
        ({"service": "churn", "state": "absent"}, "generation"),
        ({"service": "churn"}, "archive"),
        ({"service": "churn", "archive": package, "preload": "soon"}, "preload"),
        ({"service": "nosuch", "archive": package}, "Create the service first"),
    ])


def test_unsafe_package_is_refused_before_any_request(node_with_package, run_playbook, tmp_path):
    fleet, node, package = node_with_package
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(package) as source, zipfile.ZipFile(str(evil), "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        target.writestr("../../x.txt", "outside")
    run_cases(run_playbook, fleet, node, "apinode_generation", [
        ({"service": "churn", "archive": str(evil)}, "unsafe member '../../x.txt'"),
        ({"service": "churn", "archive": str(evil), "upload": True}, "unsafe member '../../x.txt'"),
    ])
    assert mutating(node) == []
    assert node.admin_client().service("churn").list_generations() == []


def test_password_in_the_url_is_refused_and_never_shown(one_node, run_playbook):
    fleet, node = one_node
    password = "Gw-Pa55w0rd-9f3k"
    url = node.url.replace("://", "://gw:%s@" % password)
    clear_log(node)
    result = run_playbook(module_play(task("Read", "apinode_info", {"url": url}, ignore_errors=True)), inventory=fleet)
    message = result.task("Read")["msg"]
    assert message.startswith("url must not carry a user name or password (%s)" % node.url.replace("://", "://gw:****@"))
    assert password not in result.output
    assert_no_secrets(result, fleet_secrets(fleet, password))
    assert settle(node) == []


def test_apinode_key(one_node, run_playbook):
    fleet, node = one_node
    run_cases(run_playbook, fleet, node, "apinode_key", [
        ({"label": "  "}, "label must not be empty"),
        ({"label": "ci", "rotate": True, "secret": "s3cr3t-value-for-the-test"}, "mutually exclusive"),
        ({"label": "ci", "state": "gone"}, "state"),
        ({"label": "ci", "rotate": "often"}, "rotate"),
    ])


def test_apinode_cache(one_node, run_playbook, tmp_path, make_bundle):
    fleet, node = one_node
    manifest = make_bundle(code_envs=["py311"], models=["tiny"])
    code_env = manifest["code_envs"][0]["path"]
    run_cases(run_playbook, fleet, node, "apinode_cache", [
        ({"code_env": str(tmp_path / "no-env")}, "no-env"),
        ({"code_env": code_env, "language": "java"}, "language"),
        ({"model_archive": str(tmp_path / "no-model.zip")}, "no-model.zip"),
        ({"built_env_path": str(tmp_path)}, "code_env"),
        ({"code_env": code_env, "built_env_path": str(tmp_path / "no-built-env")}, "no-built-env"),
        ({"keep": "not-a-list-of-dicts", "clean_code_envs": "yes please"}, "clean_code_envs"),
        ({"clean_unused_services": True, "keep": ["churn/v1\n"]}, "Invalid generation id 'v1\\n' for keep"),
    ])


def test_apinode_info(one_node, run_playbook):
    fleet, node = one_node
    run_cases(run_playbook, fleet, node, "apinode_info", [
        ({"gather": ["everything"]}, "gather"),
        ({"services": ["churn", "a/../b"]}, "Invalid service id 'a/../b' for services"),
        ({"gather": "node,bogus"}, "bogus"),
        ({"url": "127.0.0.1:12000"}, "url must look like"),
    ])


@pytest.fixture
def tls_node(sim_fleet, tmp_path):
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    paths = {name: str(tmp_path / name) for name in ("ca.pem", "server.pem", "server.key")}
    ca.cert_pem.write_to_path(paths["ca.pem"])
    server.cert_chain_pems[0].write_to_path(paths["server.pem"])
    server.private_key_pem.write_to_path(paths["server.key"])
    fleet = sim_fleet(nodes=1, extra_args=["--certfile", paths["server.pem"], "--keyfile", paths["server.key"]])
    return fleet, fleet.nodes[0], paths["ca.pem"]


def test_wrong_tls_settings(tls_node, run_playbook, tmp_path):
    fleet, node, ca = tls_node
    assert node.url.startswith("https://")
    plain_url = node.url.replace("https://", "http://")
    result = run_cases(run_playbook, fleet, node, "apinode_info", [
        ({"retries": 0}, "certificate"),  # self-signed: not trusted by default
        ({"retries": 0, "ca_path": str(tmp_path / "no-ca.pem")}, "missing file: ca_path"),
        ({"retries": 0, "url": plain_url}, plain_url),
        ({"retries": 0, "client_key": ca}, "client_cert"),
    ])
    assert "Traceback" not in result.output
    trusted = run_playbook(module_play(task("Trusted", "apinode_info", {"ca_path": ca})), inventory=fleet)
    assert trusted.rc == 0 and trusted.task("Trusted")["node"]["alive"] is True
