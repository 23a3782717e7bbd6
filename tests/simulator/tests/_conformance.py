"""Marks the official client methods that each conformance test exercises, and reads those marks back."""

import ast
import glob
import os


def covers(*methods):
    """Mark a test as exercising ``Class.method`` of the official client (read by covered_methods)."""
    def mark(test):
        test.covers = methods
        return test
    return mark


def covered_methods():
    """Every ``Class.method`` named in a ``@covers(...)`` of the conformance test modules.

    The marks are read from the source rather than collected at import time, so the coverage test needs
    no import of the modules it checks and gives the same answer whichever tests a run selects."""
    covered = set()
    for path in glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_conformance_*.py")):
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), path)
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef):
                continue
            for decorator in function.decorator_list:
                if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", None) == "covers":
                    covered.update(arg.value for arg in decorator.args)
    return covered
