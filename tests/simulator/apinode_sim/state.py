"""The node's state machine: services, generations, mappings, admin keys, settings and caches.

One re-entrant lock guards the in-memory state. Every mutation is persisted (atomically) before the
method returns, and the whole state is rebuilt from the data dir on start. Slow simulated work
(import and preload costs, file copies) runs outside the lock so other requests are served meanwhile.
"""

import json
import os
import posixpath
import re
import secrets
import shutil
import stat
import tarfile
import threading
import time
import zipfile

from . import mapping as mapping_mod, versions
from .datadir import (DataDir, fsync_dir, generate_key, generate_key_id, now_ms, read_json,
                      write_json_atomic, DEFAULT_SERVER_CONFIG)
from .errors import ApiError, bad_request, internal, malformed, not_authenticated, not_found, ZIP, \
    API_ILLEGAL_ARGUMENT

# Ids accepted in paths: word characters, dots and dashes (design-node ids are stricter).
ID_PATTERN = re.compile(r"^[\w.-]+$")
MB = 1024.0 * 1024.0
ENV_LANGS = {"python": "python", "r": "R"}
ENV_DESC_DIRS = {"python-env-desc": "python", "R-env-desc": "R"}
EXPIRY_UNITS = ("days", "ms")
# Documented pool defaults of endpoint tuning.
POOL_DEFAULTS = {"floor": 1, "cruise": 2, "ceil": 8}
DAY_MS = 24 * 3600 * 1000
# expiresOn is a Java long on the node: a huge lifetime saturates instead of overflowing.
JAVA_LONG_MAX = 2 ** 63 - 1


def _omit_nulls(obj):
    return {k: v for k, v in obj.items() if v is not None}


def _check_id(kind, value):
    if not isinstance(value, str) or not ID_PATTERN.match(value) or value in (".", ".."):
        raise bad_request("Invalid %s id: %r" % (kind, value))
    return value


def _move_away(data_dir, path):
    """Rename a tree into tmp/ (atomic), then delete it: a crash never leaves half a service."""
    if not os.path.exists(path):
        return
    trash = os.path.join(data_dir.tmp, "deleted-%s" % secrets.token_hex(6))
    os.makedirs(data_dir.tmp, exist_ok=True)
    os.rename(path, trash)
    fsync_dir(os.path.dirname(path))
    # The rename is the durable step; the bytes go in the background so big trees never hold the
    # state lock (leftovers in tmp/ are wiped at the next start).
    threading.Thread(target=shutil.rmtree, args=(trash, True), daemon=True).start()


def _check_pool(pool):
    """400 naming the rule when endpoint tuning breaks the documented pool constraints: floor, cruise
    and ceil are positive integers with 1 <= floor <= cruise <= ceil (a missing one takes its default)."""
    if pool is None:
        return
    if not isinstance(pool, dict):
        raise malformed("EndpointServerSideConfig")
    values = {}
    for name, default in POOL_DEFAULTS.items():
        value = pool.get(name, default)
        if value is None:
            value = default
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise bad_request("Invalid endpoint tuning: pool.%s must be a positive integer (got %r)" % (name, value))
        values[name] = value
    if not values["floor"] <= values["cruise"] <= values["ceil"]:
        raise bad_request("Invalid endpoint tuning: the pool needs 1 <= floor <= cruise <= ceil (got floor=%d, "
                          "cruise=%d, ceil=%d)" % (values["floor"], values["cruise"], values["ceil"]))


class Generation:
    """One unpacked package: tag.json, config.json and the code envs its endpoints export."""

    def __init__(self, generation_id, path, tag, config):
        self.id = generation_id
        self.path = path
        self.tag = tag
        self.config = config if isinstance(config, dict) else {}
        endpoints = self.config.get("endpoints") or []
        self.endpoints = {ep["id"]: ep for ep in endpoints if isinstance(ep, dict) and ep.get("id")}
        self.code_envs = self._scan_code_envs(path)

    @staticmethod
    def _scan_code_envs(path):
        # A package uses a code env when an endpoint folder holds an exported env descriptor
        # (endpoint-<ep>/python-env-desc/desc.json or R-env-desc/desc.json) naming it, as real packages do.
        used = set()
        try:
            names = os.listdir(path)
        except OSError:
            return used
        for name in names:
            if not name.startswith("endpoint-"):
                continue
            for desc_dir, lang in ENV_DESC_DIRS.items():
                desc = read_json(os.path.join(path, name, desc_dir, "desc.json"), default=None)
                if isinstance(desc, dict) and desc.get("envName"):
                    used.add((lang, desc["envName"]))
        return used

    @property
    def created_on(self):
        value = self.tag.get("createdOn")
        return value if isinstance(value, (int, float)) else 0

    @classmethod
    def load(cls, path):
        tag = read_json(os.path.join(path, "tag.json"), default=None)
        if not isinstance(tag, dict):
            return None
        try:
            config = read_json(os.path.join(path, "config.json"), default={})
        except ValueError:
            config = {}
        return cls(os.path.basename(path), path, tag, config)


class Service:
    def __init__(self, service_id, enabled=False, mapping_body=None):
        self.id = service_id
        self.enabled = enabled
        self.mapping_body = mapping_body
        self.generations = {}
        self.mounted = set()
        self.alive = True
        self.start_aborted_reason = None

    @property
    def mapping(self):
        """The normalised mapping (None without one)."""
        if self.mapping_body is None:
            return None
        return mapping_mod.normalise(self.mapping_body)

    @property
    def active(self):
        return self.enabled and self.start_aborted_reason is None and self.mapping_body is not None

    def state_json(self):
        return _omit_nulls({"enabled": self.enabled, "activeMapping": self.mapping_body})


class NodeState:
    def __init__(self, data_dir, costs, dss_version=None, hashed_keys=False, key_expiry_unit="days"):
        self.dir = DataDir(data_dir)
        self.costs = costs
        self.hashed_keys = hashed_keys
        # Older nodes have no key expiry: the field is dropped like any field their key class lacks (INFERRED).
        self.key_expiry = versions.supports(dss_version, "key_expiry")
        if key_expiry_unit not in EXPIRY_UNITS:
            raise ValueError("key expiry unit must be one of %s, not %r" % (", ".join(EXPIRY_UNITS), key_expiry_unit))
        self.key_expiry_unit = key_expiry_unit
        self.lock = threading.RLock()
        self.cache_lock = threading.Lock()
        self.services = {}
        self._importing = set()
        self._keys = []
        self._key_values = {}
        self._keys_signature = None
        self.server_config = {}
        self.load()

    # ------------------------------------------------------------------ loading
    def load(self):
        with self.lock:
            shutil.rmtree(self.dir.tmp, ignore_errors=True)
            os.makedirs(self.dir.tmp, exist_ok=True)
            self.server_config = read_json(self.dir.server_config, default=None) or dict(DEFAULT_SERVER_CONFIG)
            self._reload_keys(force=True)
            self.services = {}
            if os.path.isdir(self.dir.services):
                for service_id in sorted(os.listdir(self.dir.services)):
                    if os.path.isdir(self.dir.service(service_id)):
                        self.services[service_id] = self._load_service(service_id)

    def _load_service(self, service_id):
        state = read_json(self.dir.service_state(service_id), default=None) or {}
        service = Service(service_id, bool(state.get("enabled")), state.get("activeMapping"))
        gens_dir = self.dir.gens(service_id)
        if os.path.isdir(gens_dir):
            for name in os.listdir(gens_dir):
                generation = Generation.load(os.path.join(gens_dir, name))
                if generation is not None:
                    service.generations[name] = generation
        if service.enabled:
            # Like a restarting node: re-apply the mapping, or mark the service start-aborted.
            try:
                if service.mapping_body is None:
                    raise bad_request("Cannot enable a service without a generations mapping")
                normalised = mapping_mod.validate(service.mapping_body, service.generations)
                service.mounted = set(normalised.generations)
            except ApiError as exc:
                service.start_aborted_reason = exc.message
        return service

    # ------------------------------------------------------------------ admin keys
    def _reload_keys(self, force=False):
        """Re-read adminkeys.json when it changed on disk (the CLI writes keys into it directly)."""
        try:
            stat = os.stat(self.dir.admin_keys)
            signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except FileNotFoundError:
            signature = None
        if not force and signature == self._keys_signature:
            return
        data = read_json(self.dir.admin_keys, default=None) if signature else None
        keys = data.get("keys") if isinstance(data, dict) else None
        self._keys = [k for k in (keys or []) if isinstance(k, dict)]
        self._key_values = {k["key"]: k for k in self._keys if k.get("key")}
        self._keys_signature = signature

    def _save_keys(self):
        write_json_atomic(self.dir.admin_keys, {"keys": self._keys})
        self._keys_signature = None
        self._reload_keys()

    def check_admin_key(self, key):
        """Raise the node's 401 unless ``key`` is a known admin key that has not expired."""
        with self.lock:
            self._reload_keys()
            stored = self._key_values.get(key) if key else None
        if stored is None:
            raise not_authenticated("Unknown API key")
        expires_on = stored.get("expiresOn")
        if self.key_expiry and isinstance(expires_on, (int, float)) and not isinstance(expires_on, bool) \
                and 0 < expires_on <= now_ms():
            # INFERRED wording: an expired key is refused like an unknown one, with its own message.
            raise not_authenticated("API key expired")

    def list_keys(self):
        """Every admin key; with hashed keys, without the secret (``key`` omitted), like DSS >= 13.1."""
        with self.lock:
            self._reload_keys()
            if self.hashed_keys:
                return [{k: v for k, v in key.items() if k != "key"} for key in self._keys]
            return [dict(k) for k in self._keys]

    def _expires_on(self, expiry, created_on):
        """``expiresOn`` (epoch ms) of a key created at ``created_on`` with ``expiry``; None: never.

        Unit ``days`` (INFERRED, the public analogue of DSS keys): a lifetime in days. Unit ``ms``: an
        absolute date in epoch milliseconds. 0 means no expiry; anything not a number >= 0 is a 400.
        """
        value = expiry
        if isinstance(value, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*", value):
            value = float(value) if "." in value else int(value)
        unit = "a number of days" if self.key_expiry_unit == "days" else "epoch milliseconds"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise bad_request("Invalid key expiry %r: expected %s" % (expiry, unit))
        if value == 0:
            return None
        if self.key_expiry_unit == "days":
            return min(created_on + int(round(value * DAY_MS)), JAVA_LONG_MAX)
        return min(int(value), JAVA_LONG_MAX)

    def create_key(self, body):
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise malformed("AdminAPIKey")
        # Stored as given (nulls dropped), like 9.0.5; the id is generated server-side as newer nodes do.
        key = _omit_nulls(dict(body))
        # expiresOn is the node's to compute; older nodes know no expiry at all.
        key.pop("expiresOn", None)
        if not self.key_expiry:
            key.pop("expiry", None)
        if not isinstance(key.get("key"), str) or not key["key"].strip():
            key["key"] = generate_key()
        if not isinstance(key.get("id"), str) or not key["id"].strip():
            key["id"] = generate_key_id()
        key["createdOn"] = now_ms()
        if key.get("expiry") is not None:
            expires_on = self._expires_on(key["expiry"], key["createdOn"])
            if expires_on is not None:
                key["expiresOn"] = expires_on
        with self.lock:
            self._reload_keys()
            self._keys.append(key)
            self._save_keys()
        return dict(key)

    def delete_key(self, field, value):
        with self.lock:
            self._reload_keys()
            remaining = [k for k in self._keys if k.get(field) != value]
            if len(remaining) == len(self._keys):
                raise bad_request("Key to delete not found")
            self._keys = remaining
            self._save_keys()

    # ------------------------------------------------------------------ services
    def _service(self, service_id, message="Service %s does not exist"):
        _check_id("service", service_id)
        service = self.services.get(service_id)
        if service is None:
            raise bad_request(message % service_id)
        return service

    def _persist(self, service):
        write_json_atomic(self.dir.service_state(service.id), service.state_json())

    def list_services(self):
        with self.lock:
            result = []
            for service in self.services.values():
                entry = {"serviceId": service.id, "enabled": service.enabled and not service.start_aborted_reason}
                if service.mapping_body is not None:
                    entry["activeMapping"] = service.mapping_body
                if service.start_aborted_reason:
                    entry["startAbortedReason"] = service.start_aborted_reason
                result.append(entry)
            return result

    def create_service(self, body, ignore_if_exists=False):
        if not isinstance(body, dict):
            raise malformed("ProtoService")
        service_id = body.get("serviceId")
        if not isinstance(service_id, str) or not service_id.strip():
            # APIIllegalArgumentException is no IllegalArgumentException: the node answers 500.
            raise internal("No service id", API_ILLEGAL_ARGUMENT, code="ERR_APINODE_BAD_SERVICE_CREATION_CALL",
                           title="Bad service creation call")
        _check_id("service", service_id)
        with self.lock:
            if service_id in self.services:
                if ignore_if_exists:
                    return
                raise bad_request("Service already exists: %s" % service_id)
            service = Service(service_id)
            os.makedirs(self.dir.gens(service_id), exist_ok=True)
            self._persist(service)
            fsync_dir(self.dir.services)
            self.services[service_id] = service

    def delete_service(self, service_id):
        _check_id("service", service_id)
        with self.lock:
            if service_id not in self.services:
                raise bad_request("Service directory does not exist: %s" % self.dir.service(service_id))
            _move_away(self.dir, self.dir.service(service_id))
            _move_away(self.dir, self.dir.endpoint_settings_dir(service_id))
            del self.services[service_id]

    # ------------------------------------------------------------------ generations
    def list_generations(self, service_id):
        with self.lock:
            service = self._service(service_id, "Service does not exist: %s")
            shares = service.mapping.shares() if service.active else {}
            result = []
            for generation in sorted(service.generations.values(), key=lambda g: (g.created_on, g.id)):
                entry = {"generationId": generation.id}
                for field in ("createdOn", "createdWithDSSVersion", "createdWithDSSConfVersion"):
                    if generation.tag.get(field) is not None:
                        entry[field] = generation.tag[field]
                entry["mounted"] = generation.id in service.mounted
                entry["mapped"] = float(shares.get(generation.id, 0.0))
                result.append(entry)
            return {"generations": result}

    def import_archive(self, service_id, file_path):
        with self.lock:
            self._service(service_id, "Service does not exist: %s")
        if not file_path or not os.path.isfile(file_path):
            raise bad_request("Archive to import does not exist: %s" % file_path)
        try:
            with zipfile.ZipFile(file_path) as archive:
                check_zip_members(archive, file_path)
                try:
                    tag = json.loads(archive.read("tag.json").decode("utf-8"))
                except KeyError:
                    # The real node fails with a NullPointerException here (500).
                    raise internal("Tag file does not exist in archive %s" % file_path, "java.lang.NullPointerException")
        except (zipfile.BadZipFile, OSError) as exc:
            raise internal("Invalid archive %s: %s" % (file_path, exc), ZIP)
        except ValueError:
            raise internal("Could not parse tag.json in archive %s" % file_path)
        generation_id = self._tag_generation_id(tag)

        def unpack(staging):
            with zipfile.ZipFile(file_path) as archive:
                archive.extractall(staging)

        size_mb = os.path.getsize(file_path) / MB
        self._install_generation(service_id, generation_id, unpack, size_mb, overwrite=False)

    def import_directory(self, service_id, dir_path):
        with self.lock:
            self._service(service_id, "Service does not exist: %s")
        if not dir_path or not os.path.isdir(dir_path):
            raise bad_request("Directory to import does not exist: %s" % dir_path)
        tag = read_json(os.path.join(dir_path, "tag.json"), default=None)
        if not isinstance(tag, dict):
            raise bad_request("Tag file does not exist in %s" % dir_path)
        generation_id = self._tag_generation_id(tag)

        def unpack(staging):
            shutil.rmtree(staging)
            shutil.copytree(dir_path, staging)

        size_mb = sum(os.path.getsize(os.path.join(root, name))
                      for root, unused_dirs, names in os.walk(dir_path) for name in names) / MB
        # 9.0.5 does not check for an existing target here: the directory replaces it.
        self._install_generation(service_id, generation_id, unpack, size_mb, overwrite=True)

    @staticmethod
    def _tag_generation_id(tag):
        generation_id = tag.get("generationId") if isinstance(tag, dict) else None
        if not isinstance(generation_id, str) or not generation_id.strip():
            raise internal("tag.json has no generationId")
        return _check_id("generation", generation_id)

    def _install_generation(self, service_id, generation_id, unpack, size_mb, overwrite):
        target = self.dir.gen(service_id, generation_id)
        token = (service_id, generation_id)
        with self.lock:
            service = self._service(service_id, "Service does not exist: %s")
            exists = generation_id in service.generations or os.path.exists(target)
            if token in self._importing or (exists and not overwrite):
                raise bad_request("Target dir %s already exists" % target)
            self._importing.add(token)
        staging = os.path.join(self.dir.tmp, "import-%s" % secrets.token_hex(6))
        try:
            time.sleep(size_mb * self.costs.import_seconds_per_mb)
            os.makedirs(staging)
            unpack(staging)
            generation = Generation.load(staging)
            if generation is None:
                raise internal("Tag file does not exist in imported generation %s" % generation_id)
            with self.lock:
                service = self._service(service_id, "Service does not exist: %s")
                os.makedirs(self.dir.gens(service_id), exist_ok=True)
                if os.path.exists(target):
                    _move_away(self.dir, target)
                os.rename(staging, target)
                fsync_dir(self.dir.gens(service_id))
                service.generations[generation_id] = Generation.load(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            with self.lock:
                self._importing.discard(token)

    def _generation(self, service, generation_id):
        _check_id("generation", generation_id)
        if generation_id not in service.generations:
            # INFERRED text: the real node fails while mounting a missing generation.
            raise bad_request("Generation %s does not exist for service %s" % (generation_id, service.id))
        return service.generations[generation_id]

    def _pay_mount_cost(self, service_id, generation_ids):
        """Mounting a generation costs preload_seconds (outside the lock)."""
        with self.lock:
            service = self.services.get(service_id)
            missing = [g for g in generation_ids if service is None or g not in service.mounted]
        if missing:
            time.sleep(self.costs.preload_seconds * len(missing))

    def preload(self, service_id, generation_id):
        with self.lock:
            self._generation(self._service(service_id), generation_id)
        self._pay_mount_cost(service_id, [generation_id])
        with self.lock:
            service = self._service(service_id)
            self._generation(service, generation_id)
            service.mounted.add(generation_id)

    def delete_generation(self, service_id, generation_id):
        with self.lock:
            service = self._service(service_id, "Service does not exist: %s")
            self._generation(service, generation_id)
            # Unloaded and deleted even when mapped (not guarded by the real node either).
            _move_away(self.dir, self.dir.gen(service_id, generation_id))
            del service.generations[generation_id]
            service.mounted.discard(generation_id)

    # ------------------------------------------------------------------ activation
    def enable(self, service_id):
        with self.lock:
            service = self._service(service_id)
            if service.enabled and not service.start_aborted_reason:
                raise bad_request("Service %s is already enabled" % service_id)
            if service.mapping_body is None:
                raise bad_request("Cannot enable a service without a generations mapping")
            wanted = mapping_mod.validate(service.mapping_body, service.generations).generations
        self._pay_mount_cost(service_id, wanted)
        with self.lock:
            service = self._service(service_id)
            if service.enabled and not service.start_aborted_reason:
                raise bad_request("Service %s is already enabled" % service_id)
            if service.mapping_body is None:
                raise bad_request("Cannot enable a service without a generations mapping")
            normalised = mapping_mod.validate(service.mapping_body, service.generations)
            service.enabled = True
            service.start_aborted_reason = None
            self._persist(service)
            service.mounted |= set(normalised.generations)

    def disable(self, service_id):
        with self.lock:
            service = self._service(service_id)
            if not service.enabled:
                raise bad_request("Service %s is not enabled" % service_id)
            service.enabled = False
            service.start_aborted_reason = None
            self._persist(service)
            service.mounted = set()

    def set_mapping(self, service_id, body):
        if body is None:
            raise bad_request("The generations mapping must not be null")
        with self.lock:
            service = self._service(service_id)
            wanted = mapping_mod.validate(body, service.generations).generations
        self._pay_mount_cost(service_id, wanted)
        with self.lock:
            service = self._service(service_id)
            normalised = mapping_mod.validate(body, service.generations)
            previous = service.mapping.generations if service.active else []
            service.mapping_body = _omit_nulls(body)
            service.enabled = True
            service.start_aborted_reason = None
            self._persist(service)
            # Generations that are no longer mapped are closed; preloaded ones stay mounted.
            service.mounted = (service.mounted - set(previous)) | set(normalised.generations)

    def switch_to(self, service_id, generation_id):
        with self.lock:
            service = self._service(service_id)
            self._generation(service, generation_id)
            body = mapping_mod.single_generation(generation_id, service.mapping_body)
        self.set_mapping(service_id, body)

    def switch_to_newest(self, service_id):
        with self.lock:
            service = self._service(service_id)
            if not service.generations:
                raise bad_request("Found no available generation for service %s" % service_id)
            newest = max(service.generations.values(), key=lambda g: (g.created_on, g.id)).id
        self.switch_to(service_id, newest)
        return {"switchedToGeneration": newest}

    def get_mapping(self, service_id):
        with self.lock:
            service = self._active_service(service_id)
            return service.mapping_body

    def _active_service(self, service_id):
        service = self._service(service_id)
        if not service.active:
            suffix = ": %s" % service.start_aborted_reason if service.start_aborted_reason else ""
            raise bad_request("Service %s is not active%s" % (service_id, suffix))
        return service

    def set_service_alive(self, service_id, alive):
        with self.lock:
            self._active_service(service_id).alive = alive

    def is_alive_simple(self, service_id):
        with self.lock:
            service = self._active_service(service_id)
            if not service.alive:
                raise bad_request("Service %s is marked as not alive" % service_id)

    # ------------------------------------------------------------------ settings
    def set_endpoint_settings(self, service_id, endpoint_id, body):
        if not isinstance(body, dict):
            raise malformed("EndpointServerSideConfig")
        _check_id("endpoint", endpoint_id)
        _check_pool(body.get("pool"))
        with self.lock:
            self._service(service_id)
            write_json_atomic(os.path.join(self.dir.endpoint_settings_dir(service_id), endpoint_id + ".json"),
                              _omit_nulls(body))

    def reset_endpoint_settings(self, service_id):
        with self.lock:
            self._service(service_id)
            _move_away(self.dir, self.dir.endpoint_settings_dir(service_id))

    def get_audit_settings(self):
        with self.lock:
            return self.server_config.get("auditLog") or {}

    def set_audit_settings(self, body):
        if not isinstance(body, dict):
            raise malformed("AuditLogSettings")
        with self.lock:
            config = dict(self.server_config)
            config["auditLog"] = body
            write_json_atomic(self.dir.server_config, config)
            self.server_config = config

    def set_node_alive(self, alive):
        with self.lock:
            if alive:
                if os.path.exists(self.dir.not_alive_flag):
                    os.remove(self.dir.not_alive_flag)
            else:
                with open(self.dir.not_alive_flag, "a"):
                    pass
            fsync_dir(self.dir.root)

    def node_forced_not_alive(self):
        return os.path.exists(self.dir.not_alive_flag)

    # ------------------------------------------------------------------ user API support
    def route_query(self, service_id, dispatch_params):
        """The generation that answers a user query (dispatch rules of the active mapping)."""
        with self.lock:
            service = self.services.get(service_id) if ID_PATTERN.match(service_id) else None
            if service is None:
                raise bad_request("Service %s does not exist" % service_id,
                                  code="ERR_APINODE_SERVICE_UNKNOWN", title="Unknown API service")
            if not service.active:
                suffix = ": %s" % service.start_aborted_reason if service.start_aborted_reason else ""
                raise bad_request("Service %s is not active%s" % (service_id, suffix))
            generation_id = mapping_mod.dispatch(service.mapping, dispatch_params, service.mounted)
            generation = service.generations.get(generation_id)
            if generation is None:
                raise internal("Generation %s of service %s is not loaded" % (generation_id, service_id))
            return generation

    def endpoint_ids(self, service_id):
        with self.lock:
            service = self.services.get(service_id)
            if service is None:
                return None
            return sorted({ep for g in service.generations.values() for ep in g.endpoints})

    # ------------------------------------------------------------------ caches (INFERRED shapes)
    def import_code_env(self, file_dir, language, built_env_dir=None):
        """Copy an exported code env folder into code-envs-cache/<python|R>/<envName>/.

        Answer (INFERRED): {"envName", "envLang", "language", "alreadyCached"} (+ "builtEnvDir").
        """
        lang = self._env_language(language)
        if not file_dir or not os.path.isdir(file_dir):
            raise bad_request("Code env folder does not exist: %s" % file_dir)
        try:
            desc = read_json(os.path.join(file_dir, "desc.json"), default=None)
        except ValueError:
            desc = None
        if not isinstance(desc, dict) or not desc.get("envName"):
            raise bad_request("No valid desc.json in code env folder %s" % file_dir)
        env_lang = str(desc.get("envLang") or "PYTHON")
        if env_lang.upper() != lang.upper():
            raise bad_request("Code env language mismatch: language=%s but desc.json envLang=%s in %s"
                              % (language, env_lang, file_dir))
        env_name = _check_id("code env", desc["envName"])
        if built_env_dir is not None and not os.path.isdir(built_env_dir):
            raise bad_request("Built code env folder does not exist: %s" % built_env_dir)
        target = os.path.join(self.dir.code_envs_cache, lang, env_name)
        with self.cache_lock:
            already = os.path.isfile(os.path.join(target, "ready.txt"))
            staging = os.path.join(self.dir.tmp, "env-%s" % secrets.token_hex(6))
            shutil.copytree(file_dir, staging)
            if built_env_dir is not None:
                write_json_atomic(os.path.join(staging, "registered.json"), {"builtEnvDir": built_env_dir})
            with open(os.path.join(staging, "ready.txt"), "w") as handle:
                handle.write("%d\n" % now_ms())
            os.makedirs(os.path.dirname(target), exist_ok=True)
            _move_away(self.dir, target)
            os.rename(staging, target)
            fsync_dir(os.path.dirname(target))
        answer = {"envName": env_name, "envLang": env_lang, "language": lang, "alreadyCached": already}
        if built_env_dir is not None:
            answer["builtEnvDir"] = built_env_dir
        return answer

    @staticmethod
    def _env_language(language):
        if not language:
            raise bad_request("Required String parameter 'language' is not present")
        lang = ENV_LANGS.get(str(language).lower())
        if lang is None:
            raise bad_request("Unsupported code env language: %s (expected python or R)" % language)
        return lang

    def _cached_envs(self):
        found = []
        for lang in ENV_LANGS.values():
            lang_dir = os.path.join(self.dir.code_envs_cache, lang)
            if os.path.isdir(lang_dir):
                found.extend((lang, name) for name in sorted(os.listdir(lang_dir)))
        return found

    def clean_code_envs(self):
        """Delete cached envs no generation on disk uses (registered global envs are kept).

        Answer (INFERRED): {"deletedCodeEnvs": [{"envName", "language"}], "keptCodeEnvs": [...]}.
        """
        with self.lock:
            used = set()
            for service in self.services.values():
                for generation in service.generations.values():
                    used |= generation.code_envs
        deleted, kept = [], []
        with self.cache_lock:
            for lang, name in self._cached_envs():
                path = os.path.join(self.dir.code_envs_cache, lang, name)
                entry = {"envName": name, "language": lang}
                if (lang, name) in used or os.path.exists(os.path.join(path, "registered.json")):
                    kept.append(entry)
                else:
                    _move_away(self.dir, path)
                    deleted.append(entry)
        return {"deletedCodeEnvs": deleted, "keptCodeEnvs": kept}

    def import_model(self, archive_path):
        """Unpack a model archive into model-cache/<key with '/' as '--'>/ (model/ + model_metadata.json).

        Answer (INFERRED): {"modelKey", "alreadyCached"}.
        """
        if not archive_path:
            raise bad_request("Required String parameter 'modelArchivePath' is not present")
        if not os.path.isfile(archive_path):
            raise bad_request("Model archive does not exist: %s" % archive_path)
        invalid = bad_request("Invalid model archive %s: expected one root folder holding model/ and "
                              "model_metadata.json" % archive_path)
        staging = os.path.join(self.dir.tmp, "model-%s" % secrets.token_hex(6))
        os.makedirs(staging)
        try:
            try:
                if zipfile.is_zipfile(archive_path):
                    with zipfile.ZipFile(archive_path) as archive:
                        check_zip_members(archive, archive_path)
                        archive.extractall(staging)
                elif tarfile.is_tarfile(archive_path):
                    with tarfile.open(archive_path) as archive:
                        check_tar_members(archive, archive_path)
                        _safe_extract_tar(archive, staging)
                else:
                    raise invalid
            except (zipfile.BadZipFile, tarfile.TarError, OSError):
                raise invalid
            roots = os.listdir(staging)
            if len(roots) != 1:
                raise invalid
            root = os.path.join(staging, roots[0])
            try:
                metadata = read_json(os.path.join(root, "model_metadata.json"), default=None)
            except ValueError:
                metadata = None
            if not os.path.isdir(os.path.join(root, "model")) or not isinstance(metadata, dict):
                raise invalid
            key = (metadata.get("modelDefinition") or {}).get("key")
            if not isinstance(key, str) or not key.strip():
                raise bad_request("No modelDefinition.key in model_metadata.json of %s" % archive_path)
            dir_name = key.replace("/", "--")
            if not ID_PATTERN.match(dir_name.replace("@", "_")):
                raise bad_request("Invalid model key: %s" % key)
            target = os.path.join(self.dir.model_cache, dir_name)
            with self.cache_lock:
                already = os.path.isdir(target)
                os.makedirs(self.dir.model_cache, exist_ok=True)
                _move_away(self.dir, target)
                os.rename(root, target)
                fsync_dir(self.dir.model_cache)
            return {"modelKey": key, "alreadyCached": already}
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def clear_model_cache(self):
        with self.cache_lock:
            names = sorted(os.listdir(self.dir.model_cache)) if os.path.isdir(self.dir.model_cache) else []
            for name in names:
                _move_away(self.dir, os.path.join(self.dir.model_cache, name))
        return {"deletedModels": names}

    def clean_unused(self):
        """Delete disabled services, generations no enabled service maps, then unused code envs.

        Answer (INFERRED): {"deletedServices": [...], "deletedGenerations": [{"serviceId",
        "generationId"}], "deletedCodeEnvs": [...]}.
        """
        deleted_services, deleted_generations = [], []
        with self.lock:
            for service in list(self.services.values()):
                if not service.enabled:
                    self.delete_service(service.id)
                    deleted_services.append(service.id)
                    continue
                mapped = set(service.mapping.generations) if service.mapping_body is not None else set()
                for generation_id in sorted(set(service.generations) - mapped):
                    self.delete_generation(service.id, generation_id)
                    deleted_generations.append({"serviceId": service.id, "generationId": generation_id})
        envs = self.clean_code_envs()
        return {"deletedServices": deleted_services, "deletedGenerations": deleted_generations,
                "deletedCodeEnvs": envs["deletedCodeEnvs"]}

    # ------------------------------------------------------------------ stats
    def require_service_404(self, service_id):
        with self.lock:
            if service_id not in self.services:
                raise not_found("Service %s does not exist" % service_id)


def unsafe_member_reason(name, link_target=None, shown_target=None):
    """Why an archive member could write outside the extraction folder, or None when it cannot.

    name: the member's path in the archive; link_target: where it points when it is a link (relative
    to the member's folder, as symlinks are); shown_target: the target named in the reason (default:
    link_target). Backslashes count as separators, for zips made on Windows.
    """
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or re.match(r"^[A-Za-z]:", normalised):
        return "has an absolute path"
    if ".." in normalised.split("/"):
        return "has '..' as a path component"
    if link_target is not None:
        target = link_target.replace("\\", "/")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(normalised), target))
        if target.startswith("/") or re.match(r"^[A-Za-z]:", target) or resolved == ".." \
                or resolved.startswith("../"):
            return "is a link pointing outside the archive (to %s)" % (shown_target or link_target)
    return None


def _refuse_member(archive_path, name, reason):
    # INFERRED: the node's behaviour on such archives is unknown; refusing them whole (400, nothing
    # written) is what a test needs to catch a tool that builds or forwards unsafe packages.
    raise bad_request("Unsafe archive %s: member %s %s" % (archive_path, name, reason))


def check_zip_members(archive, archive_path):
    """400 naming the first member of a zip that is absolute, has '..' or links outside the archive."""
    for info in archive.infolist():
        target = None
        if stat.S_ISLNK(info.external_attr >> 16):
            target = archive.read(info).decode("utf-8", "replace")
        reason = unsafe_member_reason(info.filename, target)
        if reason:
            _refuse_member(archive_path, info.filename, reason)


def check_tar_members(archive, archive_path):
    """The same check for a tar archive (hard links are relative to the archive root)."""
    for member in archive.getmembers():
        target = None
        if member.issym():
            target = member.linkname
        elif member.islnk():
            # A hard link names a path from the archive root: resolve it from there.
            target = "/".join([".."] * member.name.replace("\\", "/").count("/") + [member.linkname])
            if member.linkname.startswith("/"):
                target = member.linkname
        reason = unsafe_member_reason(member.name, target, member.linkname)
        if reason:
            _refuse_member(archive_path, member.name, reason)


def _safe_extract_tar(archive, destination):
    if hasattr(tarfile, "data_filter"):
        archive.extractall(destination, filter="data")
        return
    root = os.path.realpath(destination)
    for member in archive.getmembers():
        path = os.path.realpath(os.path.join(destination, member.name))
        if not path.startswith(root + os.sep) or member.issym() or member.islnk() or member.isdev():
            raise tarfile.TarError("unsafe member %s" % member.name)
    archive.extractall(destination)
