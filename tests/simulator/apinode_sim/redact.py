"""What the simulator prints or logs never holds a secret (admin keys, user API keys).

One mechanism for every command and log:

- ``public(data)``: structured output (what ``init`` and ``up`` print) without its secret fields;
  the secrets stay in the files written for them (``ROOT/nodes.json``, mode 0600, and each data dir's
  ``config/adminkeys.json``), and the output says where they are;
- ``scrub(text, secrets)``: free text (a node's log, a traceback, an error answer) with every known
  secret replaced by ``MASK``; ``known_secrets(data_dir)`` lists the secrets a data dir holds;
- ``redact_path(path)``: a request path that carries a secret (``DELETE /admin/api/keys/<secret>``)
  as the request log keeps it.
"""

import json
import os
import re

MASK = "<redacted>"
# Fields of the simulator's own data that hold a secret: admin key objects (key), ROOT/nodes.json
# (admin_key), the make-bundle manifest (query_keys) and a package's config.json (queryKeys).
SECRET_FIELDS = frozenset(("key", "admin_key", "query_keys", "queryKeys"))
# DELETE /admin/api/keys/<secret> carries a secret in its path (deleting by id, .../<id>/key, does not).
_SECRET_PATH = re.compile(r"^(/admin/api/keys/)[^/]+/?$")


def public(data, fields=SECRET_FIELDS):
    """A copy of ``data`` (dicts and lists, nested) without the entries named in ``fields``."""
    if isinstance(data, dict):
        return {name: public(value, fields) for name, value in data.items() if name not in fields}
    if isinstance(data, (list, tuple)):
        return [public(value, fields) for value in data]
    return data


def scrub(text, secrets):
    """``text`` with every secret of ``secrets`` replaced by ``MASK`` (the longest first)."""
    for secret in sorted({s for s in secrets if isinstance(s, str) and s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def redact_path(path):
    return _SECRET_PATH.sub(r"\1" + MASK, path)


def _read_json(path):
    try:
        with open(path, "rb") as handle:
            return json.loads(handle.read().decode("utf-8"))
    except (OSError, ValueError):
        return None


def _query_keys(config):
    realm = config.get("authRealm") if isinstance(config, dict) else None
    keys = realm.get("queryKeys") if isinstance(realm, dict) else None
    return [k.get("key") for k in keys or [] if isinstance(k, dict)]


def known_secrets(data_dir):
    """Every secret a node data dir holds: its admin keys and the user API keys of its generations."""
    found = set()
    keys = _read_json(os.path.join(data_dir, "config", "adminkeys.json"))
    if isinstance(keys, dict):
        found.update(k.get("key") for k in keys.get("keys") or [] if isinstance(k, dict))
    services = os.path.join(data_dir, "services")
    try:
        service_ids = os.listdir(services)
    except OSError:
        service_ids = []
    for service_id in service_ids:
        gens = os.path.join(services, service_id, "gens")
        try:
            generation_ids = os.listdir(gens)
        except OSError:
            continue
        for generation_id in generation_ids:
            found.update(_query_keys(_read_json(os.path.join(gens, generation_id, "config.json"))))
    found.discard(None)
    return found


def scrub_data_dir(text, data_dir):
    """``text`` (a node's log, a traceback) without the secrets of ``data_dir``."""
    return scrub(text, known_secrets(data_dir))
