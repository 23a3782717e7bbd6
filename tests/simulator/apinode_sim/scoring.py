"""Deterministic fake scoring: the same (generation, endpoint, input) always gives the same answer,
and different generations give different answers, so tests can tell generations apart."""

import datetime
import hashlib
import json
import re


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


FORECAST_HORIZON = 3
FORECAST_QUANTILES = [0.0001, 0.5, 0.9999]
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$")


def _parse_time(value):
    match = _ISO_DATE.match(value) if isinstance(value, str) else None
    if not match:
        return None
    parts = [int(p) if p else 0 for p in match.groups()]
    try:
        return datetime.datetime(*parts)
    except ValueError:
        return None


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def forecast(generation_id, endpoint_id, records):
    """The ``results`` of a time-series forecast: FORECAST_HORIZON steps after the last date of each
    series, one result per step per series (steps first, series in order of appearance).

    records: the history, a list of dicts. Like a real model's settings, the columns are found by
    their values: the time column is the first one holding ISO dates, the numeric columns are
    targets, the others identify the series. Each result: {"forecast": float, "quantiles": [3 levels],
    "quantilesValues": [3 floats, low <= forecast <= high], "time": ISO string (UTC, microseconds),
    "timeseriesIdentifier": {column: value}, "ignored": False}. ValueError when no column holds dates.
    """
    records = [r for r in records if isinstance(r, dict)]
    if not records:
        return []
    time_column = next((k for r in records for k, v in r.items() if _parse_time(v) is not None), None)
    if time_column is None:
        raise ValueError("no time column: forecast records need a date (ISO 8601 string) column")
    series = {}
    for record in records:
        identifier = {k: v for k, v in record.items() if k != time_column and not _is_number(v)}
        entry = series.setdefault(json.dumps(identifier, sort_keys=True), {"id": identifier, "times": [],
                                                                           "values": []})
        when = _parse_time(record.get(time_column))
        if when is not None:
            entry["times"].append(when)
        entry["values"].extend(v for k, v in record.items() if k != time_column and _is_number(v))
    results = []
    for step in range(1, FORECAST_HORIZON + 1):
        for entry in series.values():
            times = sorted(set(entry["times"]))
            last = times[-1]
            interval = times[-1] - times[-2] if len(times) > 1 else datetime.timedelta(days=1)
            base = entry["values"][-1] if entry["values"] else 100.0
            unit = _unit("forecast", generation_id, endpoint_id, entry["id"], step, base)
            value = round(base * (0.8 + 0.4 * unit), 4)
            spread = round(abs(value) * 0.1 * step + 0.1, 4)
            results.append({
                "forecast": value,
                "quantiles": list(FORECAST_QUANTILES),
                "quantilesValues": [round(value - spread, 4), value, round(value + spread, 4)],
                "time": (last + interval * step).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "timeseriesIdentifier": entry["id"],
                "ignored": False,
            })
    return results
