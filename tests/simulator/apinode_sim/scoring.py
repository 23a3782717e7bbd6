"""Deterministic fake scoring: the same (generation, endpoint, input) always gives the same answer,
and different generations give different answers, so tests can tell generations apart."""

import hashlib
import json


def _unit(*parts):
    """A number in [0, 1) derived from the parts (stable across processes and machines)."""
    text = "\x1f".join(json.dumps(part, sort_keys=True, default=str) for part in parts)
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0 ** 64


def predict(generation_id, endpoint_id, features):
    """The `result` object of a binary classification prediction."""
    proba_yes = round(_unit("predict", generation_id, endpoint_id, features or {}), 6)
    return {
        "prediction": "yes" if proba_yes >= 0.5 else "no",
        "probas": {"yes": proba_yes, "no": round(1.0 - proba_yes, 6)},
    }


def run(generation_id, endpoint_id, params):
    """The return value of a PY_FUNCTION / R_FUNCTION endpoint: echoes its input plus a score."""
    return {
        "generation": generation_id,
        "endpoint": endpoint_id,
        "params": params,
        "score": round(_unit("run", generation_id, endpoint_id, params), 6),
    }


def lookup(generation_id, endpoint_id, data):
    """One DATASETS_LOOKUP result: the looked-up record enriched with a deterministic column."""
    enriched = dict(data or {})
    enriched["enrichment"] = round(_unit("lookup", generation_id, endpoint_id, data), 6)
    return {"data": enriched}


def query(generation_id, endpoint_id, params):
    """One SQL_QUERY result set (canned: a single row describing the call)."""
    return {
        "columns": [{"name": "generation", "type": "string"}, {"name": "value", "type": "double"}],
        "rows": [[generation_id, round(_unit("query", generation_id, endpoint_id, params), 6)]],
    }


def forecast(generation_id, endpoint_id, item):
    """One time-series forecast result (canned)."""
    value = round(_unit("forecast", generation_id, endpoint_id, item) * 100, 4)
    return {"forecast": [value], "quantiles": [0.5], "quantilesValues": [[value]],
            "time": [], "timeseriesIdentifier": {}, "ignored": False}
