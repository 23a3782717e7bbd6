"""Concurrency (one lock, no corruption), persistence across restarts, and TLS / mTLS."""

import json
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import trustme

from _server_support import assert_java_error, make_package, running_node


def test_fifty_concurrent_mutations(sim, packages):
    sim.create("shared")
    package = packages("g1")

    def mutate(i):
        session = requests.Session()
        session.auth = (sim.admin_key, "")
        base = sim.url + "/admin/api/"
        kind = i % 5
        if kind == 0:
            return "create", session.post(base + "services/", json={"serviceId": "s%d" % i}).status_code
        if kind == 1:
            return "key", session.post(base + "keys", json={"label": "k%d" % i}).status_code
        if kind == 2:
            return "import", session.post(base + "services/shared/generations/actions/importFromArchive",
                                          params={"filePath": package}).status_code
        if kind == 3:
            return "dup", session.post(base + "services/", json={"serviceId": "dup"}).status_code
        return "audit", session.post(base + "audit-settings", json={"logQueries": i % 2 == 0}).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(mutate, range(50)))
    by_kind = {}
    for kind, status in results:
        by_kind.setdefault(kind, []).append(status)
    assert by_kind["create"] == [200] * 10
    assert by_kind["key"] == [200] * 10
    assert sorted(by_kind["import"]) == [200] + [400] * 9, "exactly one import of the same generation wins"
    assert sorted(by_kind["dup"]) == [200] + [400] * 9
    assert by_kind["audit"] == [200] * 10
    services = {s["serviceId"] for s in sim.admin("GET", "services").json()}
    assert services == {"shared", "dup"} | {"s%d" % i for i in range(0, 50, 5)}
    assert len(sim.admin("GET", "keys").json()) == 11
    with open(os.path.join(sim.data_dir, "config", "adminkeys.json")) as handle:
        assert len(json.load(handle)["keys"]) == 11
    for service in services:
        with open(os.path.join(sim.data_dir, "services", service, "state.json")) as handle:
            assert json.load(handle) == {"enabled": False}
    assert not os.listdir(os.path.join(sim.data_dir, "tmp")), "temp files left behind"


def test_fresh_server_sees_the_same_state(tmp_path):
    data_dir = tmp_path / "persist"
    package = make_package(tmp_path / "v1.zip", "v1", created_on=10)
    package2 = make_package(tmp_path / "v2.zip", "v2", created_on=20)
    with running_node(data_dir) as first:
        first.create("svc")
        first.create("off")
        first.import_package("svc", package)
        first.import_package("svc", package2)
        mapping = {"strategy": "RANDOM", "auditRoutingKey": "rk",
                   "entries": [{"generation": "v1", "proba": 0.4}, {"generation": "v2", "proba": 0.6}]}
        assert first.admin("POST", "services/svc/actions/setMapping", json=mapping).status_code == 200
        key = first.admin("POST", "keys", json={"label": "kept"}).json()
        first.admin("POST", "audit-settings", json={"logQueries": False})
        first.admin("POST", "services/svc/endpoints/ep1/settings", json={"pool": {"floor": 2}})
        services_before = sorted(first.admin("GET", "services").json(), key=lambda s: s["serviceId"])
        gens_before = first.generations("svc")
    with running_node(data_dir) as second:
        assert sorted(second.admin("GET", "services").json(), key=lambda s: s["serviceId"]) == services_before
        assert second.generations("svc") == gens_before
        assert key in second.admin("GET", "keys").json()
        assert second.admin("GET", "audit-settings").json() == {"logQueries": False}
        answer = second.user("POST", "svc/ep1/predict", json={"features": {}, "dispatch": {"forcedGeneration": "v2"}})
        assert answer.json()["apiContext"]["serviceGeneration"] == "v2"
    with open(os.path.join(str(data_dir), "config", "services", "svc", "ep1.json")) as handle:
        assert json.load(handle) == {"pool": {"floor": 2}}


def test_start_aborted_service_when_a_mapped_generation_vanished(tmp_path):
    data_dir = tmp_path / "aborted"
    with running_node(data_dir) as first:
        first.create("svc")
        first.import_package("svc", make_package(tmp_path / "v1.zip", "v1"))
        first.admin("POST", "services/svc/actions/switchTo/v1")
    import shutil
    shutil.rmtree(os.path.join(str(data_dir), "services", "svc", "gens", "v1"))
    with running_node(data_dir) as second:
        listed = second.admin("GET", "services").json()[0]
        assert listed["enabled"] is False and "v1" in listed["startAbortedReason"]
        error = assert_java_error(second.user("POST", "svc/ep1/predict", json={"features": {}}), 400)
        assert error["message"].startswith("Service svc is not active: ")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    root = tmp_path_factory.mktemp("certs")
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    client_cert = ca.issue_cert("client@example.com")
    paths = {name: str(root / name) for name in ("ca.pem", "server.pem", "server.key", "client.pem")}
    ca.cert_pem.write_to_path(paths["ca.pem"])
    server_cert.cert_chain_pems[0].write_to_path(paths["server.pem"])
    server_cert.private_key_pem.write_to_path(paths["server.key"])
    client_cert.private_key_and_cert_chain_pem.write_to_path(paths["client.pem"])
    return paths


def test_https(tmp_path, certs):
    with running_node(tmp_path / "tls", certfile=certs["server.pem"], keyfile=certs["server.key"]) as tls:
        assert tls.url.startswith("https://")
        response = requests.get(tls.url + "/admin/api/services", auth=(tls.admin_key, ""), verify=certs["ca.pem"])
        assert response.status_code == 200 and response.json() == []
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(tls.url + "/isAlive/")
        with pytest.raises(requests.ConnectionError):
            requests.get(tls.url.replace("https://", "http://") + "/isAlive/", timeout=5)


def test_mutual_tls(tmp_path, certs):
    with running_node(tmp_path / "mtls", certfile=certs["server.pem"], keyfile=certs["server.key"],
                      client_ca=certs["ca.pem"]) as mtls:
        url = mtls.url + "/admin/api/services"
        with pytest.raises((requests.exceptions.SSLError, requests.ConnectionError)):
            requests.get(url, auth=(mtls.admin_key, ""), verify=certs["ca.pem"], timeout=5)
        response = requests.get(url, auth=(mtls.admin_key, ""), verify=certs["ca.pem"], cert=certs["client.pem"])
        assert response.status_code == 200
        # the accept loop is not stuck after a failed handshake
        assert requests.get(mtls.url + "/isAlive/", verify=certs["ca.pem"], cert=certs["client.pem"]).ok


def test_keep_alive_connection_is_reused(sim):
    import base64
    import http.client
    host, port = sim.url.replace("http://", "").split(":")
    connection = http.client.HTTPConnection(host, int(port))
    auth = "Basic " + base64.b64encode((sim.admin_key + ":").encode()).decode()
    sockets = set()
    for path in ("/admin/api/services", "/admin/api/nowhere", "/admin/api/keys") * 5:
        connection.request("GET", path, headers={"Authorization": auth})
        response = connection.getresponse()
        body = response.read()
        assert response.getheader("Content-Length") == str(len(body))
        sockets.add(id(connection.sock))
    connection.close()
    assert len(sockets) == 1, "answers (errors included) must keep the connection open"
