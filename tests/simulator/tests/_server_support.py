"""Helpers for the server tests: in-process nodes and tiny service packages built on the spot (their
fixtures, `sim` and `packages`, live in conftest.py)."""

import contextlib
import json
import threading
import zipfile

import requests

from apinode_sim.datadir import init_data_dir
from apinode_sim.server import make_server

ADMIN_KEY = "TestAdminKey0123456789abcdefghij"


def make_package(path, generation_id, created_on=1700000000000, endpoints=None, public=True, query_keys=(),
                 extra_files=None):
    """Write a service package zip (tag.json, config.json, endpoint folders) and return its path."""
    endpoints = endpoints if endpoints is not None else [{"id": "ep1", "type": "STD_PREDICTION"}]
    config = {"publicAccess": public, "endpoints": endpoints}
    if query_keys:
        config["authRealm"] = {"queryKeys": [{"key": k, "label": "test"} for k in query_keys]}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("tag.json", json.dumps({
            "generationId": generation_id, "createdOn": created_on,
            "createdWithDSSVersion": "13.2.0", "createdWithDSSConfVersion": "13200"}))
        archive.writestr("config.json", json.dumps(config))
        for endpoint in endpoints:
            archive.writestr("endpoint-%s/README" % endpoint["id"], "endpoint folder")
        for name, content in (extra_files or {}).items():
            archive.writestr(name, content)
    return str(path)


class RunningNode:
    def __init__(self, server, data_dir, admin_key):
        self.server = server
        self.url = server.url
        self.data_dir = str(data_dir)
        self.admin_key = admin_key
        self.session = requests.Session()
        self.session.auth = (admin_key, "")

    def admin(self, method, path, **kwargs):
        return self.session.request(method, self.url + "/admin/api/" + path.lstrip("/"), **kwargs)

    def user(self, method, path, **kwargs):
        return requests.request(method, self.url + "/public/api/v1/" + path.lstrip("/"), **kwargs)

    def hook(self, method, path, **kwargs):
        return requests.request(method, self.url + "/__sim__/" + path.lstrip("/"), **kwargs)

    # common flows
    def create(self, service):
        response = self.admin("POST", "services/", json={"serviceId": service})
        assert response.status_code == 200, response.text

    def import_package(self, service, package):
        response = self.admin("POST", "services/%s/generations/actions/importFromArchive" % service,
                              params={"filePath": package})
        assert response.status_code == 200, response.text

    def generations(self, service):
        response = self.admin("GET", "services/%s/generations" % service)
        assert response.status_code == 200, response.text
        return {g["generationId"]: g for g in response.json()["generations"]}


@contextlib.contextmanager
def running_node(data_dir, **kwargs):
    key = init_data_dir(str(data_dir), admin_key=ADMIN_KEY)["key"]
    server = make_server(str(data_dir), **kwargs)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield RunningNode(server, data_dir, key)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def assert_java_error(response, status, message=None, suffix=None, error_type=None):
    assert response.status_code == status, response.text
    body = response.json()
    for field in ("errorType", "message", "detailedMessage", "detailedMessageHTML", "stackTrace"):
        assert field in body, body
    assert body["stackTrace"] == []
    if message is not None:
        assert body["message"] == message, body
    if suffix is not None:
        assert body["message"].endswith(suffix), body
    if error_type is not None:
        assert body["errorType"] == error_type, body
    assert "DSS-APINode-API-Version" not in response.headers
    return body
