"""Registry of the official client methods that the conformance tests exercise."""

COVERED = set()


def covers(*methods):
    """Mark a test as exercising ``Class.method`` of the official client."""
    def mark(test):
        COVERED.update(methods)
        return test
    return mark
