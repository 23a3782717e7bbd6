"""DSS versions: which admin features a node of a given version has (the one table of first versions).

A node started with ``--dss-version V`` behaves like a real node of version V for the features below:
their routes are absent on older nodes (404 for a path the node does not know, 405 for a known path
with a method it does not map), and the key options they bring are refused or ignored.
"""

import re

# The newest DSS version the simulator knows about (public release notes): its default.
NEWEST = "14.2.2"

# feature -> (first DSS version that has it, what it is). The versions come from the release notes and
# the first release of the official client that calls the feature.
FEATURES = {
    "register_code_env": ("12.4.0", "POST register-global-code-env"),
    "model_cache": ("12.5.0", "POST/DELETE model-cache"),
    "cleanup": ("13.0.0", "DELETE services-clean-unused and DELETE cached-code-envs"),
    "hashed_keys": ("13.1.0", "admin keys stored hashed (secrets never listed)"),
    "delete_key_by_id": ("13.1.1", "DELETE keys/{id}/key"),
    "key_expiry": ("13.3.0", "the expiry of admin keys"),
}

_VERSION = re.compile(r"^(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[.-].*)?$")


def parse(version):
    """'13.1.1' -> (13, 1, 1); '13.2' -> (13, 2, 0). ValueError for anything that is not X[.Y[.Z]]."""
    match = _VERSION.match(str(version).strip())
    if not match:
        raise ValueError("invalid DSS version %r (expected X.Y.Z, e.g. %s)" % (version, NEWEST))
    return tuple(int(group or 0) for group in match.groups())


def first_version(feature):
    return FEATURES[feature][0]


def supports(version, feature):
    """True when a node of ``version`` has ``feature`` (a key of FEATURES); None means the newest."""
    if feature is None:
        return True
    return parse(version or NEWEST) >= parse(first_version(feature))
