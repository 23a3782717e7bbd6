"""Archives with members that could write outside the extraction folder are refused whole: 400 naming the
member, nothing imported (service packages by path or upload, model archives as zip or tar.gz)."""

import io
import json
import os
import stat
import tarfile
import zipfile

import pytest

from _server_support import assert_java_error

TAG = json.dumps({"generationId": "v1", "createdOn": 1, "createdWithDSSVersion": "13.2.0",
                  "createdWithDSSConfVersion": "13200"})
CONFIG = json.dumps({"publicAccess": True, "endpoints": [{"id": "ep1", "type": "STD_PREDICTION"}]})


def _zip(path, members):
    """members: [(name, content)] or [(name, content, "symlink")]."""
    with zipfile.ZipFile(path, "w") as archive:
        for member in members:
            info = zipfile.ZipInfo(member[0])
            if len(member) == 3:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, member[1])
    return str(path)


def _package(path, *extra):
    return _zip(path, [("tag.json", TAG), ("config.json", CONFIG)] + list(extra))


UNSAFE = [
    (("/tmp/escaped.txt", "x"), "/tmp/escaped.txt", "has an absolute path"),
    (("endpoint-ep1/../../escaped.txt", "x"), "endpoint-ep1/../../escaped.txt", "has '..' as a path component"),
    (("..\\escaped.txt", "x"), "..\\escaped.txt", "has '..' as a path component"),
    (("endpoint-ep1/link", "../../../etc/passwd", "symlink"), "endpoint-ep1/link",
     "is a link pointing outside the archive (to ../../../etc/passwd)"),
    (("link", "/etc/passwd", "symlink"), "link", "is a link pointing outside the archive (to /etc/passwd)"),
]


def _nothing_imported(sim):
    assert sim.generations("svc") == {}
    assert os.listdir(os.path.join(sim.data_dir, "services", "svc", "gens")) == []
    assert not os.path.exists(os.path.join(os.path.dirname(sim.data_dir), "escaped.txt"))


@pytest.mark.parametrize("member, name, reason", UNSAFE, ids=["absolute", "dotdot", "backslash-dotdot",
                                                              "symlink-up", "symlink-absolute"])
def test_import_from_archive_refuses_unsafe_members(sim, tmp_path, member, name, reason):
    sim.create("svc")
    path = _package(tmp_path / "evil.zip", member)
    response = sim.admin("POST", "services/svc/generations/actions/importFromArchive", params={"filePath": path})
    assert_java_error(response, 400, message="Unsafe archive %s: member %s %s" % (path, name, reason))
    _nothing_imported(sim)


@pytest.mark.parametrize("member, name, reason", UNSAFE[:2] + UNSAFE[3:4], ids=["absolute", "dotdot", "symlink"])
def test_import_from_stream_refuses_unsafe_members(sim, tmp_path, member, name, reason):
    sim.create("svc")
    path = _package(tmp_path / "evil.zip", member)
    with open(path, "rb") as handle:
        response = sim.admin("POST", "services/svc/generations/actions/importFromStream",
                             files={"file": ("evil.zip", handle)})
    body = assert_java_error(response, 400)
    assert body["message"].endswith(": member %s %s" % (name, reason)), body
    _nothing_imported(sim)
    assert os.listdir(os.path.join(sim.data_dir, "tmp")) == []


def test_links_inside_the_archive_and_dotted_names_are_fine(sim, tmp_path):
    sim.create("svc")
    path = _package(tmp_path / "ok.zip", ("endpoint-ep1/model..bin", "x"),
                    ("endpoint-ep1/latest", "model..bin", "symlink"), ("endpoint-ep1/sub/up", "../model..bin", "symlink"))
    sim.import_package("svc", path)
    assert set(sim.generations("svc")) == {"v1"}


def _model_members():
    metadata = json.dumps({"modelDefinition": {"key": "hf@org/tiny"}}).encode()
    return [("tiny/model/weights.bin", b"w"), ("tiny/model_metadata.json", metadata)]


def _tar(path, members, links=()):
    with tarfile.open(path, "w:gz") as archive:
        for name, content in members:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
        for name, target, kind in links:
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
            info.linkname = target
            archive.addfile(info)
    return str(path)


@pytest.mark.parametrize("kind", ["zip-dotdot", "tar-absolute", "tar-symlink", "tar-hardlink"])
def test_model_archives_refuse_unsafe_members(sim, tmp_path, kind):
    if kind == "zip-dotdot":
        path = _zip(tmp_path / "m.zip", _model_members() + [("tiny/../../escaped.txt", b"x")])
        name, reason = "tiny/../../escaped.txt", "has '..' as a path component"
    elif kind == "tar-absolute":
        path = _tar(tmp_path / "m.tar.gz", _model_members() + [("/tmp/escaped.txt", b"x")])
        name, reason = "/tmp/escaped.txt", "has an absolute path"
    elif kind == "tar-symlink":
        path = _tar(tmp_path / "m.tar.gz", _model_members(), [("tiny/model/link", "../../../outside", "symlink")])
        name, reason = "tiny/model/link", "is a link pointing outside the archive (to ../../../outside)"
    else:
        path = _tar(tmp_path / "m.tar.gz", _model_members(), [("tiny/model/hard", "../outside", "hardlink")])
        name, reason = "tiny/model/hard", "is a link pointing outside the archive (to ../outside)"
    response = sim.admin("POST", "model-cache", params={"modelArchivePath": path})
    assert_java_error(response, 400, message="Unsafe archive %s: member %s %s" % (path, name, reason))
    assert os.listdir(os.path.join(sim.data_dir, "model-cache")) == []


def test_tar_model_archive_with_an_inner_link_is_fine(sim, tmp_path):
    path = _tar(tmp_path / "m.tar.gz", _model_members(), [("tiny/model/alias.bin", "weights.bin", "symlink")])
    response = sim.admin("POST", "model-cache", params={"modelArchivePath": path})
    assert response.status_code == 200, response.text
    assert response.json()["modelKey"] == "hf@org/tiny"
