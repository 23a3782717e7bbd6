"""Shared fixtures: sample artefacts and simulated nodes (real processes on free ports)."""

import pytest

from apinode_sim.testing import SimFleet, make_bundle
from _server_support import make_package, running_node


@pytest.fixture(scope="session")
def artefacts(tmp_path_factory):
    """Sample packages: churn v1/v2 (public), churn v3 with a failing endpoint, a private service,
    a package with every endpoint type, broken packages, a code env folder and a model archive."""
    out = tmp_path_factory.mktemp("artefacts")
    make_bundle(out, services=["churn"], versions=["v1", "v2", "v3"], failing_endpoints=["churn:v3:predict"])
    make_bundle(out, services=["secured"], versions=["v1"], private=True)
    make_bundle(out, services=["multi"], versions=["v1"],
                endpoints=["predict", "fn:PY_FUNCTION", "look:DATASETS_LOOKUP", "sql:SQL_QUERY"])
    corrupted = make_bundle(out / "broken-zip", services=["churn"], versions=["v9"], corrupted=True)
    no_tag = make_bundle(out / "broken-tag", services=["churn"], versions=["v8"], no_tag=True)
    manifest = make_bundle(out, code_envs=["py-env", "r-env:R"], models=["tiny"], services=["churn"],
                           versions=["v1"])
    manifest["dir"] = out
    manifest["corrupted"] = corrupted["packages"][0]["path"]
    manifest["no_tag"] = no_tag["packages"][0]["path"]
    manifest["by_name"] = {"%s_%s" % (p["service"], p["version"]): p for p in manifest["packages"]}
    return manifest


@pytest.fixture(scope="module")
def sim_fleet(tmp_path_factory):
    """One node with test hooks, shared by the tests of a module."""
    with SimFleet(tmp_path_factory.mktemp("fleet"), nodes=1) as fleet:
        yield fleet


@pytest.fixture
def node(sim_fleet):
    node = sim_fleet.nodes[0]
    node.clear_faults()
    return node


@pytest.fixture
def sim(tmp_path):
    """An in-process node with test hooks on (named `sim` so it never shadows the `node` fixture above)."""
    with running_node(tmp_path / "node", test_hooks=True) as running:
        yield running


@pytest.fixture
def packages(tmp_path):
    """A factory writing packages under tmp_path/pkgs."""
    root = tmp_path / "pkgs"
    root.mkdir()

    def factory(generation_id, **kwargs):
        return make_package(root / ("%s.zip" % generation_id), generation_id, **kwargs)

    return factory
