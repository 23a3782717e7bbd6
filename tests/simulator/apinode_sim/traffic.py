"""Test hooks on user queries: faults of one generation, and synthetic traffic.

- A *generation fault* makes a chosen generation of a service (optionally one endpoint) fail (HTTP 500 by
  default, or the ``status`` given, with a Java error body), answer a custom ``body`` (with ``status``, 200 by
  default, and no ``apiContext``), or answer ``delay_ms`` slower, for a chosen ``share`` of the queries it serves. The share is
  applied exactly, not by chance: with share 0.25 the 4th, 8th, 12th... matching query is hit, so tests
  know how many queries failed. Faulted queries go through the metrics like real ones: counted in
  ``requests`` and ``requestsPerGeneration``, in ``successRequests`` only when they answer below 400.
- *Synthetic traffic* sends N queries to an endpoint through the same code path as the user API (dispatch,
  faults, metrics), in-process and without authentication, optionally with dispatch keys.
"""

import threading

from .errors import bad_request

MAX_TRAFFIC = 100000
# The time column of the synthetic forecast history.
_HISTORY_DAYS = 5


def _share_hit(seen, share):
    """Whether the ``seen``-th query (1-based) of a rule with this share is hit: exactly floor(n * share) of n."""
    return int(seen * share + 1e-9) > int((seen - 1) * share + 1e-9)


def _number(body, name, default, low, high, integer=False):
    value = body.get(name, default)
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        raise bad_request("%s must be a%s number from %s to %s" % (name, "n integer" if integer else "", low, high))
    return value


class GenerationFault:
    def __init__(self, rule_id, body):
        if not isinstance(body, dict):
            raise bad_request("a generation fault must be a JSON object")
        self.id = rule_id
        self.service = body.get("service")
        self.generation = body.get("generation")
        if not isinstance(self.service, str) or not self.service or not isinstance(self.generation, str) \
                or not self.generation:
            raise bad_request("a generation fault needs a service and a generation")
        self.endpoint = body.get("endpoint")
        if self.endpoint is not None and not isinstance(self.endpoint, str):
            raise bad_request("endpoint must be a string")
        self.share = float(_number(body, "share", 1.0, 0.0, 1.0))
        self.status = body.get("status")
        if self.status is not None:
            self.status = _number(body, "status", None, 100, 599, integer=True)
        self.body = body.get("body")
        self.delay_ms = float(_number(body, "delay_ms", 0, 0, 600000))
        if self.status is None and self.body is None and not self.delay_ms:
            # Nothing else asked: the queries fail like a broken model.
            self.status = 500
        elif self.status is None and self.body is not None:
            # A body alone is a custom answer of the endpoint; a delay alone slows the normal answer.
            self.status = 200
        self.seen = 0
        self.hits = 0

    def matches(self, service, generation, endpoint):
        return (self.service, self.generation) == (service, generation) and self.endpoint in (None, endpoint)

    def to_json(self):
        body = {"id": self.id, "service": self.service, "generation": self.generation, "share": self.share,
                "seen": self.seen, "hits": self.hits}
        for key in ("endpoint", "status", "body"):
            if getattr(self, key) is not None:
                body[key] = getattr(self, key)
        if self.delay_ms:
            body["delay_ms"] = self.delay_ms
        return body


class GenerationFaults:
    def __init__(self):
        self._lock = threading.Lock()
        self._rules = []
        self._next_id = 1

    def add(self, body):
        with self._lock:
            rule = GenerationFault(self._next_id, body)
            self._next_id += 1
            self._rules.append(rule)
            return {"id": rule.id}

    def list(self):
        with self._lock:
            return [rule.to_json() for rule in self._rules]

    def clear(self):
        with self._lock:
            self._rules = []

    def take(self, service, generation, endpoint):
        """The first rule of this generation whose share hits this query, or None (every matching rule counts
        the query as seen)."""
        with self._lock:
            found = None
            for rule in self._rules:
                if not rule.matches(service, generation, endpoint):
                    continue
                rule.seen += 1
                if found is None and _share_hit(rule.seen, rule.share):
                    rule.hits += 1
                    found = rule
            return found


def default_body(action, number):
    """A query body of ``action`` that varies with ``number`` (so answers differ from query to query)."""
    record = {"age": 20 + number % 50, "plan": ("gold", "silver", "basic")[number % 3],
              "monthly_charges": 20.0 + number % 80, "tenure_months": number % 72}
    if action in ("predict", "predict-simple", "predict-effect"):
        return {"features": record}
    if action in ("predict-multi", "predict-effect-multi"):
        return {"items": [{"features": record}]}
    if action == "forecast":
        return {"items": [{"date": "2024-01-%02d" % day, "store": "s%d" % (number % 3), "sales": 100.0 + day + number % 7}
                          for day in range(1, _HISTORY_DAYS + 1)]}
    if action in ("lookup", "lookup-simple"):
        return {"data": {"customer_id": "c%d" % number}}
    if action == "lookup-multi":
        return {"items": [{"data": {"customer_id": "c%d" % number}}]}
    return {"number": number}


def send_traffic(body, serve, default_action):
    """``POST /__sim__/traffic``: ``{"service", "endpoint", "count", "action"?, "body"?, "generation"?,
    "dispatch_key_share"?}`` -> ``{"sent", "statuses": {status: n}, "generations": {generation: n},
    "with_dispatch_key"}``.

    ``serve(service, endpoint, action, body, dispatch)`` answers one query as the user API does and returns
    ``(status, payload, generation id or None)``; ``default_action(service, endpoint)`` is the action used
    when the body names none (the first action of the endpoint's type);
    ``dispatch_key_share`` (0 to 1, exact like a fault share) of the queries carry a dispatch key
    ``traffic-<n>``; ``generation`` forces every query to it.
    """
    if not isinstance(body, dict):
        raise bad_request("traffic must be a JSON object")
    service, endpoint = body.get("service"), body.get("endpoint")
    if not isinstance(service, str) or not isinstance(endpoint, str):
        raise bad_request("traffic needs a service and an endpoint")
    count = _number(body, "count", 1, 1, MAX_TRAFFIC, integer=True)
    share = float(_number(body, "dispatch_key_share", 0.0, 0.0, 1.0))
    action = body.get("action")
    if action is None:
        action = default_action(service, endpoint)
    template = body.get("body")
    if template is not None and not isinstance(template, dict):
        raise bad_request("body must be a JSON object")
    forced = body.get("generation")
    statuses, generations, keyed = {}, {}, 0
    for number in range(1, count + 1):
        query = dict(template) if template is not None else default_body(action, number)
        dispatch = None
        if forced:
            dispatch = {"forcedGeneration": forced}
        elif _share_hit(number, share):
            dispatch = {"dispatchKey": "traffic-%d" % number}
            keyed += 1
        if dispatch:
            query["dispatch"] = dispatch
        status, payload, generation = serve(service, endpoint, action, query, dispatch)
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        if generation is not None:
            generations[generation] = generations.get(generation, 0) + 1
    return {"sent": count, "statuses": statuses, "generations": generations, "with_dispatch_key": keyed}
