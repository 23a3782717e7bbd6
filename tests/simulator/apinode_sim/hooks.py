"""Test hooks (only served when the node runs with test hooks on): a request log, fault rules and
run-time costs. Paths under /__sim__/ are neither logged nor subject to faults."""

import random
import re
import threading
import time

from .errors import bad_request
from .traffic import GenerationFaults

MAX_LOG = 100000


class Costs:
    """Simulated work: seconds per MB of imported archive, seconds per preload."""

    def __init__(self, import_seconds_per_mb=0.0, preload_seconds=0.0):
        self.import_seconds_per_mb = float(import_seconds_per_mb)
        self.preload_seconds = float(preload_seconds)

    def update(self, body):
        if not isinstance(body, dict):
            raise bad_request("costs must be a JSON object")
        for name in ("import_seconds_per_mb", "preload_seconds"):
            if name in body:
                value = body[name]
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    raise bad_request("%s must be a non-negative number" % name)
                setattr(self, name, float(value))
        return self.to_json()

    def to_json(self):
        return {"import_seconds_per_mb": self.import_seconds_per_mb, "preload_seconds": self.preload_seconds}


class RequestLog:
    def __init__(self):
        self._lock = threading.Lock()
        self._entries = []
        self._seq = 0

    def add(self, method, path, query, status, duration_s, dropped=False, not_alive=False):
        """``not_alive``: whether the node was forced not alive (its not-alive flag file existed, so
        ``/isAlive/`` answered 503) when the request arrived; what a load balancer saw at that moment."""
        with self._lock:
            self._seq += 1
            entry = {"seq": self._seq, "time": time.time(), "method": method, "path": path, "query": query,
                     "status": status, "duration_ms": round(duration_s * 1000.0, 3), "not_alive": bool(not_alive)}
            if dropped:
                entry["dropped"] = True
            self._entries.append(entry)
            if len(self._entries) > MAX_LOG:
                del self._entries[0]

    def list(self):
        with self._lock:
            return [dict(entry) for entry in self._entries]

    def clear(self):
        with self._lock:
            self._entries = []


# Header names are HTTP tokens and values one line, so that a rule cannot split the answer; the
# framing headers stay the server's own.
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
FRAMING_HEADERS = ("content-length", "transfer-encoding", "connection")


def _fault_headers(headers):
    """The ``headers`` of a fault rule as ``{name: value}`` strings (e.g. ``{"Retry-After": "1"}``)."""
    if headers is None:
        return None
    if not isinstance(headers, dict):
        raise bad_request("fault headers must be a JSON object of header names to values")
    checked = {}
    for name, value in headers.items():
        if not HEADER_NAME.match(name):
            raise bad_request("invalid fault header name: %r" % name)
        if name.lower() in FRAMING_HEADERS:
            raise bad_request("fault header %s is set by the server itself" % name)
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise bad_request("fault header %s must be a string or a number" % name)
        value = str(value)
        if "\r" in value or "\n" in value:
            raise bad_request("fault header %s must be one line" % name)
        checked[name] = value
    return checked or None


class FaultRule:
    def __init__(self, rule_id, body):
        if not isinstance(body, dict):
            raise bad_request("a fault rule must be a JSON object")
        self.id = rule_id
        self.method = str(body.get("method") or "*").upper()
        self.path_text = body.get("path") or ""
        try:
            self.path = re.compile(self.path_text)
        except (re.error, TypeError) as exc:
            raise bad_request("invalid path regex: %s" % exc)
        self.status = body.get("status")
        self.body = body.get("body")
        self.headers = _fault_headers(body.get("headers"))
        self.delay = float(body.get("delay") or 0.0)
        self.drop = bool(body.get("drop", False))
        self.count = body.get("count")
        self.probability = body.get("probability")
        self.hits = 0
        if self.status is None and not self.drop and not self.delay:
            raise bad_request("a fault rule needs a status, a delay or drop")
        if self.headers and self.status is None:
            raise bad_request("fault headers go with a status: they are sent with the injected answer")

    def matches(self, method, path):
        return self.method in ("*", method) and self.path.search(path) is not None

    def to_json(self):
        body = {"id": self.id, "method": self.method, "path": self.path_text, "hits": self.hits}
        for key in ("status", "body", "headers", "count", "probability"):
            if getattr(self, key) is not None:
                body[key] = getattr(self, key)
        if self.delay:
            body["delay"] = self.delay
        if self.drop:
            body["drop"] = True
        return body


class Faults:
    def __init__(self):
        self._lock = threading.Lock()
        self._rules = []
        self._next_id = 1

    def add(self, body):
        with self._lock:
            rule = FaultRule(self._next_id, body)
            self._next_id += 1
            self._rules.append(rule)
            return {"id": rule.id}

    def list(self):
        with self._lock:
            return [rule.to_json() for rule in self._rules]

    def clear(self):
        with self._lock:
            self._rules = []

    def take(self, method, path):
        """The first rule that applies to this request (consuming one of its `count`), or None."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path):
                    continue
                if rule.probability is not None and random.random() >= float(rule.probability):
                    continue
                rule.hits += 1
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count <= 0:
                        self._rules.remove(rule)
                return rule
            return None


class Hooks:
    """Everything the /__sim__/ endpoints act on."""

    def __init__(self, costs):
        self.costs = costs
        self.log = RequestLog()
        self.faults = Faults()
        # Faults of one generation of a service (traffic.py), applied while the query is answered.
        self.generation_faults = GenerationFaults()
