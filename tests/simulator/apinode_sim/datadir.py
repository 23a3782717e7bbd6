"""Node data-dir layout (like a real API node's) and crash-safe file writes.

Every state change is written with write_json_atomic (temp file in the same directory, fsync,
os.replace, fsync of the directory) before the answer is sent, so a kill -9 loses nothing acknowledged.
"""

import json
import os
import secrets
import string
import time

KEY_ALPHABET = string.ascii_letters + string.digits

# Default server.json, like a fresh install: auditLog as installed by the 9.0.5 installer, and the
# code env settings the documentation tells API node admins to edit there.
DEFAULT_SERVER_CONFIG = {
    "auditLog": {
        "logAuthFailures": True,
        "logQueries": True,
        "settings": {"targets": [{"type": "LOG4J", "appendTopicToLogger": True,
                                  "topicsFiltering": "ALL", "routingKeysFiltering": "ALL"}]},
    },
    "codeEnvsSettings": {
        "pipInstallExtraOptions": [],
        "preventOverrideFromImportedEnvs": False,
        "condaInstallExtraOptions": [],
        "condaCreateExtraOptions": [],
    },
}

SUBDIRS = ("config", "services", "code-envs-cache", "model-cache", "run", "tmp")


class DataDir:
    """Paths inside one node's data dir."""

    def __init__(self, root):
        self.root = os.path.abspath(root)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    @property
    def admin_keys(self):
        return self.path("config", "adminkeys.json")

    @property
    def server_config(self):
        return self.path("config", "server.json")

    @property
    def not_alive_flag(self):
        return self.path("apinode-not-alive.txt")

    @property
    def services(self):
        return self.path("services")

    def service(self, service_id):
        return self.path("services", service_id)

    def service_state(self, service_id):
        return self.path("services", service_id, "state.json")

    def gens(self, service_id):
        return self.path("services", service_id, "gens")

    def gen(self, service_id, generation_id):
        return self.path("services", service_id, "gens", generation_id)

    def endpoint_settings_dir(self, service_id):
        return self.path("config", "services", service_id)

    @property
    def tmp(self):
        return self.path("tmp")

    @property
    def code_envs_cache(self):
        return self.path("code-envs-cache")

    @property
    def model_cache(self):
        return self.path("model-cache")

    @property
    def run_file(self):
        return self.path("run", "sim-node.json")


def generate_key(length=32):
    """A secret like SecretKeyGenerator.generate(32): [A-Za-z0-9]."""
    return "".join(secrets.choice(KEY_ALPHABET) for unused_position in range(length))


def generate_key_id():
    """Key ids are generated server-side as newer nodes do (format INFERRED: 16 random alphanumerics)."""
    return generate_key(16)


def now_ms():
    return int(time.time() * 1000)


def fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_bytes_atomic(path, data):
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    tmp = "%s.tmp-%s" % (path, secrets.token_hex(4))
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(directory)


def write_json_atomic(path, obj):
    write_bytes_atomic(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def read_json(path, default=None):
    try:
        with open(path, "rb") as handle:
            return json.loads(handle.read().decode("utf-8"))
    except FileNotFoundError:
        return default


def init_data_dir(path, admin_key=None, label="Initial admin key"):
    """Create a node data dir (idempotent) and return its first admin key object."""
    data_dir = DataDir(path)
    for sub in SUBDIRS:
        os.makedirs(data_dir.path(sub), exist_ok=True)
    if not os.path.exists(data_dir.server_config):
        write_json_atomic(data_dir.server_config, DEFAULT_SERVER_CONFIG)
    keys = read_json(data_dir.admin_keys, default=None)
    if keys and keys.get("keys"):
        return keys["keys"][0]
    key = {
        "key": admin_key or generate_key(),
        "id": generate_key_id(),
        "label": label,
        "createdBy": "apinode-sim",
        "createdOn": now_ms(),
    }
    write_json_atomic(data_dir.admin_keys, {"keys": [key]})
    return key
