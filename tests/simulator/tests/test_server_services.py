"""Services, generations and activation through the admin API (HTTP level)."""

import os

import requests

from _server_support import assert_java_error
from apinode_sim import versions


def test_auth_is_required(sim):
    response = requests.get(sim.url + "/admin/api/services")
    assert_java_error(response, 401, error_type="com.dataiku.dip.exceptions.NotAuthenticatedException")
    response = requests.get(sim.url + "/admin/api/services", auth=("not-a-key", ""))
    assert_java_error(response, 401, message="Unknown API key")


def test_success_headers_and_both_service_paths(sim):
    response = sim.admin("GET", "services")
    assert response.status_code == 200
    assert response.json() == []
    assert response.headers["DSS-APINode-API-Version"] == "1"
    # Default: the newest known version, so every feature is there.
    assert response.headers["DSS-Version"] == versions.NEWEST
    assert "DSS-API-Version" in response.headers
    assert response.headers["Content-Type"].startswith("application/json")
    sim.create("svc")
    assert sim.admin("GET", "services/").json() == [{"serviceId": "svc", "enabled": False}]


def test_create_duplicate_and_ignore_if_exists(sim):
    sim.create("svc")
    assert_java_error(sim.admin("POST", "services", json={"serviceId": "svc"}), 400,
                      message="Service already exists: svc", error_type="java.lang.IllegalArgumentException")
    response = sim.admin("POST", "services", params={"ignoreIfExists": "true"}, json={"serviceId": "svc"})
    assert response.json() == {"ok": True}


def test_create_parses_json_without_content_type(sim):
    response = sim.admin("POST", "services/", data='{"serviceId": "raw"}')
    assert response.status_code == 200
    assert [s["serviceId"] for s in sim.admin("GET", "services").json()] == ["raw"]


def test_create_bad_bodies(sim):
    assert_java_error(sim.admin("POST", "services/", data="{nope"), 400,
                      message="Could not parse a ProtoService from request body")
    body = assert_java_error(sim.admin("POST", "services/", json={"serviceId": ""}), 500, message="No service id")
    assert body["code"] == "ERR_APINODE_BAD_SERVICE_CREATION_CALL"
    assert body["title"] == "Bad service creation call"
    assert_java_error(sim.admin("POST", "services/", json={"serviceId": "a b"}), 400)
    assert sim.admin("GET", "services").json() == []


def test_dotted_ids_are_accepted(sim):
    sim.create("my.svc-1")
    assert sim.admin("DELETE", "services/my.svc-1").json() == {"ok": True}


def test_delete_unknown_service(sim):
    body = assert_java_error(sim.admin("DELETE", "services/ghost"), 400)
    assert body["message"].startswith("Service directory does not exist: ")


def test_unknown_route_and_method(sim):
    assert_java_error(sim.admin("GET", "nowhere"), 404)
    assert_java_error(requests.get(sim.url + "/totally/unknown"), 404)
    assert_java_error(sim.admin("PUT", "services"), 405)


def test_import_list_and_duplicate(sim, packages):
    sim.create("svc")
    sim.import_package("svc", packages("v1", created_on=1700000000000))
    gens = sim.generations("svc")
    assert gens == {"v1": {"generationId": "v1", "createdOn": 1700000000000, "createdWithDSSVersion": "13.2.0",
                           "createdWithDSSConfVersion": "13200", "mounted": False, "mapped": 0.0}}
    target = os.path.join(sim.data_dir, "services", "svc", "gens", "v1")
    marker = os.path.join(target, "marker")
    open(marker, "w").close()
    other = packages("v1", created_on=1800000000000)
    response = sim.admin("POST", "services/svc/generations/actions/importFromArchive", params={"filePath": other})
    assert_java_error(response, 400, message="Target dir %s already exists" % target)
    assert os.path.exists(marker), "the existing generation was overwritten"
    assert sim.generations("svc")["v1"]["createdOn"] == 1700000000000


def test_import_errors(sim, packages, tmp_path):
    response = sim.admin("POST", "services/ghost/generations/actions/importFromArchive",
                         params={"filePath": packages("v1")})
    assert_java_error(response, 400, message="Service does not exist: ghost")
    sim.create("svc")
    missing = str(tmp_path / "missing.zip")
    response = sim.admin("POST", "services/svc/generations/actions/importFromArchive", params={"filePath": missing})
    assert_java_error(response, 400, message="Archive to import does not exist: %s" % missing)
    corrupted = tmp_path / "corrupted.zip"
    corrupted.write_bytes(b"this is not a zip")
    response = sim.admin("POST", "services/svc/generations/actions/importFromArchive",
                         params={"filePath": str(corrupted)})
    assert_java_error(response, 500)
    assert_java_error(sim.admin("POST", "services/svc/generations/actions/importFromArchive"), 400)
    assert sim.generations("svc") == {}


def test_import_from_stream_multipart(sim, packages):
    sim.create("svc")
    with open(packages("v7", created_on=1234), "rb") as handle:
        response = sim.admin("POST", "services/svc/generations/actions/importFromStream",
                             files={"file": ("archive.zip", handle, "application/zip")})
    assert response.status_code == 200, response.text
    assert sim.generations("svc")["v7"]["createdOn"] == 1234
    response = sim.admin("POST", "services/svc/generations/actions/importFromStream", data=b"")
    assert_java_error(response, 400)


def test_import_from_directory_replaces(sim, packages, tmp_path):
    import zipfile
    sim.create("svc")
    directory = tmp_path / "unpacked"
    with zipfile.ZipFile(packages("d1", created_on=5)) as archive:
        archive.extractall(directory)
    for attempt in range(2):
        response = sim.admin("POST", "services/svc/generations/actions/importFromDirectory",
                             params={"dirPath": str(directory)})
        assert response.status_code == 200, response.text
    assert list(sim.generations("svc")) == ["d1"]
    response = sim.admin("POST", "services/svc/generations/actions/importFromDirectory",
                         params={"dirPath": str(tmp_path / "nothing")})
    assert_java_error(response, 400)


def test_enable_disable_state_machine(sim, packages):
    sim.create("svc")
    assert_java_error(sim.admin("POST", "services/svc/actions/enable"), 400,
                      message="Cannot enable a service without a generations mapping")
    assert_java_error(sim.admin("POST", "services/svc/actions/disable"), 400, message="Service svc is not enabled")
    assert_java_error(sim.admin("POST", "services/ghost/actions/enable"), 400, message="Service ghost does not exist")
    sim.import_package("svc", packages("v1"))
    assert sim.admin("POST", "services/svc/actions/switchTo/v1").json() == {"ok": True}
    assert sim.admin("GET", "services").json()[0]["enabled"] is True
    assert_java_error(sim.admin("POST", "services/svc/actions/enable"), 400, message="Service svc is already enabled")
    assert sim.admin("POST", "services/svc/actions/disable").json() == {"ok": True}
    listed = sim.admin("GET", "services").json()[0]
    assert listed["enabled"] is False and listed["activeMapping"]["generation"] == "v1"
    assert sim.generations("svc")["v1"] == dict(sim.generations("svc")["v1"], mounted=False, mapped=0.0)
    assert_java_error(sim.admin("GET", "services/svc/mapping"), 400, message="Service svc is not active")
    assert sim.admin("POST", "services/svc/actions/enable").json() == {"ok": True}
    assert sim.generations("svc")["v1"]["mapped"] == 1.0


def test_switch_to_newest_uses_created_on(sim, packages):
    sim.create("svc")
    assert_java_error(sim.admin("POST", "services/svc/actions/switchToNewest"), 400,
                      message="Found no available generation for service svc")
    sim.import_package("svc", packages("b-newest", created_on=3000))
    sim.import_package("svc", packages("c-old", created_on=1000))
    sim.import_package("svc", packages("a-mid", created_on=2000))
    response = sim.admin("POST", "services/svc/actions/switchToNewest")
    assert response.json() == {"switchedToGeneration": "b-newest"}
    gens = sim.generations("svc")
    assert (gens["b-newest"]["mounted"], gens["b-newest"]["mapped"]) == (True, 1.0)
    assert (gens["a-mid"]["mounted"], gens["a-mid"]["mapped"]) == (False, 0.0)


def test_switch_to_unknown_generation(sim, packages):
    sim.create("svc")
    assert_java_error(sim.admin("POST", "services/svc/actions/switchTo/nope"), 400)
    assert sim.admin("GET", "services").json()[0]["enabled"] is False


def test_preload_mounts_and_delete_generation(sim, packages):
    sim.create("svc")
    sim.import_package("svc", packages("v1"))
    sim.import_package("svc", packages("v2", created_on=2))
    assert sim.admin("POST", "services/svc/generations/v2/preload").json() == {"ok": True}
    assert sim.generations("svc")["v2"]["mounted"] is True
    assert_java_error(sim.admin("POST", "services/svc/generations/zz/preload"), 400)
    assert sim.admin("DELETE", "services/svc/generations/v2").json() == {"ok": True}
    assert list(sim.generations("svc")) == ["v1"]
    assert not os.path.exists(os.path.join(sim.data_dir, "services", "svc", "gens", "v2"))
    assert_java_error(sim.admin("DELETE", "services/svc/generations/v2"), 400)


def test_delete_service_removes_everything(sim, packages):
    sim.create("svc")
    sim.import_package("svc", packages("v1"))
    sim.admin("POST", "services/svc/actions/switchTo/v1")
    assert sim.admin("DELETE", "services/svc").json() == {"ok": True}
    assert sim.admin("GET", "services").json() == []
    assert not os.path.exists(os.path.join(sim.data_dir, "services", "svc"))


def test_multipart_upload_is_binary_safe(sim, packages):
    payload = os.urandom(200000) + b"\r\n--not-a-boundary\r\n\r\n" + os.urandom(1000)
    package = packages("bin1", extra_files={"endpoint-ep1/blob.bin": payload})
    sim.create("svc")
    with open(package, "rb") as handle:
        response = sim.admin("POST", "services/svc/generations/actions/importFromStream",
                             files={"note": (None, "ignored"), "file": ("x.zip", handle)})
    assert response.status_code == 200, response.text
    with open(os.path.join(sim.data_dir, "services", "svc", "gens", "bin1", "endpoint-ep1", "blob.bin"), "rb") as f:
        assert f.read() == payload
