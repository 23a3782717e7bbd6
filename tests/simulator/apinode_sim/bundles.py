"""Sample artefacts for tests, demos and benchmarks.

Writes API service packages (zips laid out like the design node's "Prepare package" output),
exported code env folders and model archives, plus a ``manifest.json`` that says what was written.
Everything is deterministic except the padding of ``size_mb`` and generated query keys.
"""

import json
import os
import re
import secrets
import string
import tarfile
import time
import zipfile

DEFAULT_DSS_VERSION = "13.2.0"
DEFAULT_CONF_VERSION = "13200"
# createdOn of a version with no digits at position 0; numbered versions are placed after it.
BASE_CREATED_ON_MS = 1700000000000
PREDICTION_TYPES = ("STD_PREDICTION", "CUSTOM_PREDICTION", "CUSTOM_R_PREDICTION")
ENDPOINT_TYPES = PREDICTION_TYPES + ("PY_FUNCTION", "R_FUNCTION", "DATASETS_LOOKUP", "SQL_QUERY")
SAMPLE_FEATURES = [
    {"age": 42, "plan": "gold", "monthly_charges": 70.5, "tenure_months": 12},
    {"age": 23, "plan": "basic", "monthly_charges": 19.9, "tenure_months": 2},
    {"age": 67, "plan": "silver", "monthly_charges": 45.0, "tenure_months": 60},
]
_ID_PATTERN = re.compile(r"^[\w-]+$")
_VERSION_PATTERN = re.compile(r"^(?!\.)[\w.-]+$")
_CHUNK = 1024 * 1024


class BundleError(ValueError):
    """Invalid bundle maker arguments."""


def created_on_for(version, position=0):
    """Deterministic createdOn (epoch ms) of a version, ordered like the version numbers.

    The digit groups of the version (at most three: "v1.2.3") give seconds after a fixed base,
    so v2 > v1 and 1.10 > 1.9 whatever the order of creation. Versions without digits are
    ordered by their position on the command line.
    """
    groups = [int(g) for g in re.findall(r"\d+", version)[:3]]
    if not groups:
        return BASE_CREATED_ON_MS + position * 1000
    groups += [0] * (3 - len(groups))
    major, minor, patch = (min(g, 999) for g in groups)
    return BASE_CREATED_ON_MS + (major * 1000000 + minor * 1000 + patch) * 1000 + 1000


def parse_endpoint(spec):
    """'ID' or 'ID:TYPE' -> (id, type)."""
    endpoint_id, separator, endpoint_type = spec.partition(":")
    endpoint_type = endpoint_type or "STD_PREDICTION"
    if not _ID_PATTERN.match(endpoint_id):
        raise BundleError("invalid endpoint id %r (letters, digits, '_' and '-' only)" % endpoint_id)
    if endpoint_type not in ENDPOINT_TYPES:
        raise BundleError("unknown endpoint type %r (one of %s)" % (endpoint_type, ", ".join(ENDPOINT_TYPES)))
    return endpoint_id, endpoint_type


def parse_failing_endpoint(spec):
    """'SVC:VER:EP[:STATUS]' -> ((svc, ver, ep), status)."""
    parts = spec.split(":")
    if len(parts) not in (3, 4) or not all(parts[:3]):
        raise BundleError("--failing-endpoint wants SERVICE:VERSION:ENDPOINT[:STATUS], got %r" % spec)
    status = int(parts[3]) if len(parts) == 4 else 500
    return tuple(parts[:3]), status


def _expected_answer(generation_id, endpoint_id, endpoint_type, features):
    # Imported here so that the bundle maker's argument checks work without the server modules.
    from apinode_sim import scoring

    if endpoint_type in PREDICTION_TYPES:
        return scoring.predict(generation_id, endpoint_id, features)
    return None


def _endpoint_files(endpoint_id, endpoint_type, generation_id):
    """Small, realistic files of one endpoint folder: {relative path: bytes}."""
    folder = "endpoint-%s/" % endpoint_id
    if endpoint_type in PREDICTION_TYPES:
        model = {"algorithm": "SIM_LOGISTIC_REGRESSION", "target": "churn", "classes": ["no", "yes"],
                 "features": sorted(SAMPLE_FEATURES[0]), "trainedFor": generation_id}
        return {folder + "model/model.json": json.dumps(model, indent=2).encode(),
                folder + "model/rmodeling_params.json": b'{"algorithm": "LOGISTIC_REGRESSION"}\n'}
    if endpoint_type in ("PY_FUNCTION", "R_FUNCTION"):
        code = "def api_py_function(**params):\n    return {\"echo\": params}\n"
        return {folder + ("code.py" if endpoint_type == "PY_FUNCTION" else "code.R"): code.encode()}
    if endpoint_type == "DATASETS_LOOKUP":
        return {folder + "lookup/customers.json": b'[{"customer_id": "c1", "segment": "gold"}]\n'}
    return {folder + "query.sql": b"SELECT 1\n"}


def _write_padding(archive, name, size_mb):
    # Random bytes do not compress, so the package really weighs size_mb on disk and on the wire.
    with archive.open(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), "w", force_zip64=True) as out:
        remaining = size_mb * _CHUNK
        while remaining > 0:
            chunk = min(_CHUNK * 8, remaining)
            out.write(os.urandom(chunk))
            remaining -= chunk


def _corrupt(path):
    # Cut the zip before its central directory: a reader sees "File is not a zip file".
    size = os.path.getsize(path)
    with open(path, "r+b") as handle:
        handle.truncate(max(size // 2, 1))
        handle.seek(0)
        handle.write(b"NOT A ZIP")


def write_package(path, service_id, version, *, endpoints=(("predict", "STD_PREDICTION"),),
                  created_on=None, dss_version=DEFAULT_DSS_VERSION, query_keys=(), failing=None,
                  with_tag=True, size_mb=0):
    """Write one service package zip; return its manifest entry (without the broken flag)."""
    failing = failing or {}
    created_on = created_on_for(version) if created_on is None else int(created_on)
    tag = {"generationId": version, "createdOn": created_on, "createdWithDSSVersion": dss_version,
           "createdWithDSSConfVersion": DEFAULT_CONF_VERSION}
    config_endpoints = []
    for endpoint_id, endpoint_type in endpoints:
        entry = {"id": endpoint_id, "type": endpoint_type}
        if endpoint_id in failing:
            entry["simFailure"] = {"status": failing[endpoint_id],
                                   "message": "Simulated failure of endpoint %s in %s" % (endpoint_id, version)}
        config_endpoints.append(entry)
    config = {"publicAccess": not query_keys,
              "authRealm": {"queryKeys": [{"key": k, "label": "sim-query-key-%d" % i}
                                          for i, k in enumerate(query_keys, 1)]},
              "endpoints": config_endpoints, "stdModels": [], "datasetResources": [],
              "userDefinedMeanings": []}
    test_queries = {}
    files = {"config.json": json.dumps(config, indent=2).encode(),
             "variables_context.json": b"{}\n"}
    if with_tag:
        files["tag.json"] = json.dumps(tag, indent=2).encode()
    for endpoint_id, endpoint_type in endpoints:
        files.update(_endpoint_files(endpoint_id, endpoint_type, version))
        if endpoint_type in PREDICTION_TYPES:
            queries = [{"q": {"features": f},
                        "expected": _expected_answer(version, endpoint_id, endpoint_type, f)}
                       for f in SAMPLE_FEATURES]
            files["testqueries-%s.json" % endpoint_id] = json.dumps({"queries": queries}, indent=2).encode()
            test_queries[endpoint_id] = [{"features": q["q"]["features"], "expected": q["expected"]}
                                         for q in queries]
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
        if size_mb:
            _write_padding(archive, "endpoint-%s/model/padding.bin" % endpoints[0][0], size_mb)
    os.replace(tmp, path)
    return {"service": service_id, "version": version, "generation_id": version, "path": path,
            "created_on": created_on, "dss_version": dss_version, "public": not query_keys,
            "query_keys": list(query_keys),
            "endpoints": [{"id": e["id"], "type": e["type"], "failing": "simFailure" in e}
                          for e in config_endpoints],
            "test_queries": test_queries}


def write_code_env(folder, name, language="python"):
    """Exported code env folder: desc.json + spec/requirements.txt (python) or spec/packages.txt (R)."""
    language = {"python": "PYTHON", "r": "R"}.get(language.lower())
    if language is None:
        raise BundleError("code env language must be python or R")
    os.makedirs(os.path.join(folder, "spec"), exist_ok=True)
    desc = {"envName": name, "envLang": language, "deploymentMode": "DESIGN_MANAGED",
            "desc": {"installCorePackages": True}}
    if language == "PYTHON":
        desc["pythonInterpreter"] = "PYTHON311"
        spec_name, spec = "requirements.txt", "scikit-learn==1.3.2\npandas==2.1.4\n"
    else:
        spec_name, spec = "packages.txt", "data.table\n"
    with open(os.path.join(folder, "desc.json"), "w") as handle:
        json.dump(desc, handle, indent=2)
    with open(os.path.join(folder, "spec", spec_name), "w") as handle:
        handle.write(spec)
    return {"name": name, "language": "python" if language == "PYTHON" else "R", "path": folder}


def write_model_archive(path, name, archive_format="zip"):
    """Model archive: one root folder holding model/ and model_metadata.json (HF model-cache export)."""
    key = "hf@sim-org/%s" % name
    metadata = {"commitHash": "0" * 40, "downloadDate": BASE_CREATED_ON_MS, "downloadedBy": "apinode-sim",
                "libraryName": "transformers", "lastModified": BASE_CREATED_ON_MS,
                "modelDefinition": {"key": key}}
    files = {name + "/model_metadata.json": json.dumps(metadata, indent=2).encode(),
             name + "/model/config.json": b'{"model_type": "bert", "hidden_size": 8}\n',
             name + "/model/tokenizer.json": b'{"version": "1.0"}\n'}
    tmp = path + ".tmp"
    if archive_format == "zip":
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            for member in sorted(files):
                archive.writestr(member, files[member])
    elif archive_format == "tar.gz":
        import io

        with tarfile.open(tmp, "w:gz") as archive:
            for member in sorted(files):
                info = tarfile.TarInfo(member)
                info.size = len(files[member])
                info.mtime = BASE_CREATED_ON_MS // 1000
                archive.addfile(info, io.BytesIO(files[member]))
    else:
        raise BundleError("model archive format must be zip or tar.gz")
    os.replace(tmp, path)
    return {"name": name, "key": key, "format": archive_format, "path": path}


def generate_query_key():
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for unused_position in range(32))


def _merge(previous, new, key):
    # Entries of an earlier run in the same directory stay, unless this run rewrote the same path.
    written = {entry["path"] for entry in new}
    return [entry for entry in previous.get(key, []) if entry["path"] not in written] + new


def make_bundle(out_dir, services=("svc",), versions=("v1",), endpoints=("predict",), failing_endpoints=(),
                corrupted=False, no_tag=False, code_envs=(), models=(), model_format="zip", size_mb=0,
                query_keys=None, private=False, created_on=None, dss_version=DEFAULT_DSS_VERSION):
    """Write the artefacts and ``out_dir/manifest.json``; return the manifest.

    services x versions packages ``<service>_<version>.zip``; ``endpoints`` are 'ID[:TYPE]' specs;
    ``failing_endpoints`` are 'SVC:VER:EP[:STATUS]' specs; ``query_keys`` (a list) or ``private``
    (one generated key per service) make the packages non-public; ``created_on`` is one epoch-ms
    value for every package or a {version: ms} dict. ``corrupted``/``no_tag`` break every package
    written by this call. Running it again in the same directory adds to the manifest.
    """
    if isinstance(services, str) or isinstance(versions, str):
        raise BundleError("services and versions must be lists")
    for service_id in services:
        if not _ID_PATTERN.match(service_id):
            raise BundleError("invalid service id %r (letters, digits, '_' and '-' only)" % service_id)
    for version in versions:
        if not _VERSION_PATTERN.match(version):
            raise BundleError("invalid version id %r (letters, digits, '.', '_', '-'; no leading dot)" % version)
    if size_mb < 0:
        raise BundleError("--size-mb must be >= 0")
    parsed_endpoints = [parse_endpoint(e) for e in endpoints]
    if not parsed_endpoints:
        raise BundleError("a package needs at least one endpoint")
    failing = {}
    for spec in failing_endpoints:
        (svc, ver, ep), status = parse_failing_endpoint(spec)
        if svc not in services or ver not in versions or ep not in dict(parsed_endpoints):
            raise BundleError("--failing-endpoint %s names a service, version or endpoint that is not built" % spec)
        failing.setdefault((svc, ver), {})[ep] = status
    out_dir = os.path.abspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    packages = []
    for service_id in services:
        keys = list(query_keys or ([generate_query_key()] if private else []))
        for position, version in enumerate(versions):
            when = created_on.get(version) if isinstance(created_on, dict) else created_on
            if when is None:
                when = created_on_for(version, position)
            path = os.path.join(out_dir, "%s_%s.zip" % (service_id, version))
            entry = write_package(path, service_id, version, endpoints=parsed_endpoints, created_on=when,
                                  dss_version=dss_version, query_keys=keys,
                                  failing=failing.get((service_id, version)), with_tag=not no_tag,
                                  size_mb=size_mb)
            entry["broken"] = "no-tag" if no_tag else None
            if corrupted:
                _corrupt(path)
                entry["broken"] = "corrupted"
            entry["size_bytes"] = os.path.getsize(path)
            packages.append(entry)
    envs = []
    for spec in code_envs:
        name, separator, language = spec.partition(":")
        envs.append(write_code_env(os.path.join(out_dir, "code-envs", name), name, language or "python"))
    archives = []
    if models:
        os.makedirs(os.path.join(out_dir, "models"), exist_ok=True)
    for name in models:
        path = os.path.join(out_dir, "models", "%s.%s" % (name, model_format))
        archives.append(write_model_archive(path, name, model_format))
    manifest_path = os.path.join(out_dir, "manifest.json")
    previous = {}
    if os.path.exists(manifest_path):
        with open(manifest_path) as handle:
            previous = json.load(handle)
    manifest = {"generatedAt": int(time.time() * 1000),
                "packages": _merge(previous, packages, "packages"),
                "code_envs": _merge(previous, envs, "code_envs"),
                "models": _merge(previous, archives, "models")}
    tmp = manifest_path + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(manifest, handle, indent=2)
    os.replace(tmp, manifest_path)
    return manifest
