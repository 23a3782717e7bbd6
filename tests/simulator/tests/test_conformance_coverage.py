"""Every public method of the official clients has a conformance test: a new client release that adds
a method fails here until a test exercises it."""

import dataikuapi
import pytest
from dataikuapi.apinode_admin.auth import APINodeAuth
from dataikuapi.apinode_admin.service import APINodeService

from _conformance import covered_methods

CLASSES = [dataikuapi.APINodeAdminClient, APINodeService, APINodeAuth, dataikuapi.APINodeClient]
COVERED = covered_methods()


def _public_methods(cls):
    return {"%s.%s" % (cls.__name__, name) for name in dir(cls)
            if not name.startswith("_") and callable(getattr(cls, name))}


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_public_method_is_exercised(cls):
    methods = _public_methods(cls)
    assert methods, "no public method found on %s" % cls.__name__
    missing = sorted(methods - COVERED)
    assert not missing, "client methods without a conformance test: %s" % ", ".join(missing)


def test_covered_names_exist():
    every = set().union(*(_public_methods(cls) for cls in CLASSES))
    assert not COVERED - every, "tests claim to cover methods the client does not have"
