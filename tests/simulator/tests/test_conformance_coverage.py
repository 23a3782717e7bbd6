"""Every public method of the official clients has a conformance test: a new client release that adds
a method fails here until a test exercises it."""

import dataikuapi
import pytest
from dataikuapi.apinode_admin.auth import APINodeAuth
from dataikuapi.apinode_admin.service import APINodeService

import test_conformance_admin  # noqa: F401  (registers the methods its tests cover)
import test_conformance_user  # noqa: F401
from _conformance import COVERED

CLASSES = [dataikuapi.APINodeAdminClient, APINodeService, APINodeAuth, dataikuapi.APINodeClient]


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
