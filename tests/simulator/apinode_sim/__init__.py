"""apinode-sim: a local, persistent stand-in for a Dataiku DSS API node (admin and user APIs)."""

__version__ = "0.1.0"
