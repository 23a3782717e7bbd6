"""HTTPS and mutual TLS, through the official client and the fleet tools."""

import pytest
import requests
import trustme
from dataikuapi import APINodeAdminClient
from dataikuapi.utils import DataikuException

from apinode_sim.testing import SimFleet


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    base = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("client@example.com")
    paths = {"ca": base / "ca.pem", "cert": base / "server.pem", "key": base / "server.key",
             "client": base / "client.pem"}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    server.cert_chain_pems[0].write_to_path(str(paths["cert"]))
    server.private_key_pem.write_to_path(str(paths["key"]))
    client.private_key_and_cert_chain_pem.write_to_path(str(paths["client"]))
    return {k: str(v) for k, v in paths.items()}


def test_https(tmp_path, pki):
    args = ["--certfile", pki["cert"], "--keyfile", pki["key"]]
    with SimFleet(tmp_path / "f", nodes=1, extra_args=args) as fleet:
        node = fleet.nodes[0]
        assert node.url.startswith("https://")
        assert requests.get(node.url + "/isAlive/", verify=pki["ca"], timeout=10).status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(node.url + "/isAlive/", timeout=10)  # not trusted without the CA
        node.admin_client().create_service("over_tls")  # the helper sets no_check_certificate
        assert [r["path"].rstrip("/") for r in node.mutating_requests()] == ["/admin/api/services"]


def test_mutual_tls(tmp_path, pki, monkeypatch):
    args = ["--certfile", pki["cert"], "--keyfile", pki["key"], "--client-ca", pki["ca"]]
    with SimFleet(tmp_path / "f", nodes=1, extra_args=args, client_cert=pki["client"]) as fleet:
        node = fleet.nodes[0]
        with pytest.raises(requests.exceptions.RequestException):
            requests.get(node.url + "/isAlive/", verify=pki["ca"], timeout=10)
        ok = requests.get(node.url + "/isAlive/", verify=pki["ca"], cert=pki["client"], timeout=10)
        assert ok.status_code == 200
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", pki["ca"])  # trust the test CA, as a user would
        client = APINodeAdminClient(node.url, node.admin_key, client_certificate=pki["client"])
        assert isinstance(client.list_services(), list)
        anonymous = APINodeAdminClient(node.url, node.admin_key)
        with pytest.raises((DataikuException, requests.exceptions.RequestException)):
            anonymous.list_services()
        assert node.requests()
