"""The user API (/public/api/v1/...), the node liveness probes (/isAlive, /monitoring/api/...).

A query is: dispatch to a generation (forcedGeneration, RANDOM or HASH_BASED), authenticate with that
generation's config.json (publicAccess, else a query key as Basic user or Bearer token), find the endpoint,
then score with scoring.py. An endpoint declaring "simFailure" fails like a broken model.
"""

import base64
import time

from . import scoring
from .traffic import send_traffic
from .errors import ApiError, bad_request, not_authenticated, malformed, ILLEGAL_ARGUMENT, RUNTIME, \
    ENDPOINT_UNAVAILABLE

SEG = r"(?P<%s>[^/]+)"
PREDICTION_ACTIONS = ("predict", "predict-multi", "predict-simple", "forecast", "predict-effect",
                      "predict-effect-multi")
ACTIONS_BY_TYPE = {
    "PY_FUNCTION": ("run",),
    "R_FUNCTION": ("run",),
    "DATASETS_LOOKUP": ("lookup", "lookup-multi", "lookup-simple"),
    "SQL_QUERY": ("query",),
}
ALL_ACTIONS = PREDICTION_ACTIONS + ("run", "lookup", "lookup-multi", "lookup-simple", "query")


def _query_key(headers):
    auth = headers.get("Authorization")
    if not auth:
        return None
    scheme, separator, value = auth.strip().partition(" ")
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip()).decode("utf-8").split(":", 1)[0]
        except (ValueError, UnicodeDecodeError):
            return ""
    if scheme.lower() == "bearer":
        # The documented way to send a service's API key ("Authorization: Bearer <key>"); JWTs are
        # not validated by the simulator.
        return value.strip()
    return ""


def check_user_auth(config, headers):
    if config.get("publicAccess"):
        return
    realm = config.get("authRealm") or {}
    keys = {k.get("key") for k in realm.get("queryKeys") or [] if isinstance(k, dict) and k.get("key")}
    key = _query_key(headers)
    if key is None:
        raise not_authenticated("API Key not provided")
    if key not in keys:
        raise not_authenticated("Unknown API key")


def _items(body):
    items = body.get("items")
    if not isinstance(items, list):
        raise bad_request("'items' is required")
    return items


def _features(body):
    features = body.get("features")
    if not isinstance(features, dict):
        raise bad_request("'features' is required")
    return features


def _simulated_failure(endpoint):
    failure = endpoint.get("simFailure")
    if not failure:
        return None
    failure = failure if isinstance(failure, dict) else {}
    status = int(failure.get("status") or 500)
    error_type = {400: ILLEGAL_ARGUMENT, 503: ENDPOINT_UNAVAILABLE}.get(status, RUNTIME)
    message = failure.get("message") or "Simulated failure of endpoint %s" % endpoint.get("id")
    return ApiError(status, message, error_type)


def _answer(action, generation_id, endpoint_id, body):
    """The action's payload (without apiContext and timing)."""
    if action in ("predict", "predict-simple", "predict-effect"):
        return {"result": scoring.predict(generation_id, endpoint_id, _features(body))}
    if action in ("predict-multi", "predict-effect-multi"):
        results = []
        for item in _items(body):
            if not isinstance(item, dict):
                raise malformed("PredictionRequest")
            results.append(scoring.predict(generation_id, endpoint_id, _features(item)))
        return {"results": results}
    if action == "forecast":
        items = _items(body)
        if not all(isinstance(item, dict) for item in items):
            raise malformed("ForecastRequest")
        try:
            return {"results": scoring.forecast(generation_id, endpoint_id, items)}
        except ValueError as exc:
            raise bad_request("Cannot forecast: %s" % exc)
    if action == "run":
        return {"response": scoring.run(generation_id, endpoint_id, body)}
    if action in ("lookup", "lookup-simple"):
        data = body.get("data")
        if not isinstance(data, dict):
            raise bad_request("'data' is required")
        return {"results": [scoring.lookup(generation_id, endpoint_id, data)]}
    if action == "lookup-multi":
        return {"results": [scoring.lookup(generation_id, endpoint_id, (item or {}).get("data") or {})
                            for item in _items(body) if isinstance(item, dict)]}
    if action == "query":
        return {"results": [scoring.query(generation_id, endpoint_id, body)]}
    raise bad_request("Unknown action: %s" % action)


def _parse_query_body(request, action):
    """POST bodies are JSON objects; GET calls use the query parameters (features of predict-simple,
    record of lookup-simple, arguments of run and query). Returns (body, dispatch)."""
    if request.method == "GET":
        params = dict(request.params)
        if action == "predict-simple":
            return {"features": params}, None
        if action == "lookup-simple":
            return {"data": params}, None
        return params, None
    body = request.json("query")
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise malformed("query")
    return body, body.get("dispatch")


def user_query(node, request, service, endpoint, action):
    body, dispatch = _parse_query_body(request, action)
    status, payload, unused_generation = serve_query(node, service, endpoint, action, body, dispatch, request.headers)
    return status, payload


def serve_query(node, service, endpoint, action, body, dispatch, headers=None):
    """Answer one user query: dispatch, authentication (skipped when ``headers`` is None: the traffic hook),
    endpoint checks, generation faults (test hooks), scoring and metrics.

    Returns (status, payload, generation id); raises ApiError for the errors the node answers before scoring.
    """
    started = time.monotonic()
    generation = node.state.route_query(service, dispatch)
    if headers is not None:
        check_user_auth(generation.config, headers)
    endpoint_conf = generation.endpoints.get(endpoint)
    if endpoint_conf is None:
        raise bad_request("Endpoint does not exist: %s" % endpoint)
    allowed = ACTIONS_BY_TYPE.get(endpoint_conf.get("type"), PREDICTION_ACTIONS)
    if action not in allowed:
        raise bad_request("Endpoint %s of type %s does not support %s" % (endpoint, endpoint_conf.get("type"), action),
                          code="ERR_APINODE_ENDPOINT_NOT_COMPATIBLE", title="Endpoint is incompatible with request")

    prefix = "dku.lambda.service.%s." % service
    registry = node.registry
    registry.inc(prefix + "activeRequests")
    registry.mark(prefix + "requestsPerGeneration." + generation.id)
    registry.mark(prefix + endpoint + ".requests")
    try:
        fault = node.hooks.generation_faults.take(service, generation.id, endpoint) if node.hooks else None
        if fault is not None and fault.delay_ms:
            time.sleep(fault.delay_ms / 1000.0)
        failure = _simulated_failure(endpoint_conf)
        if failure is not None:
            raise failure
        if fault is not None and fault.body is not None:
            # A custom answer (as a Python endpoint's own status and body): no timing, no apiContext.
            if fault.status < 400:
                registry.mark(prefix + endpoint + ".successRequests")
            return fault.status, fault.body, generation.id
        if fault is not None and fault.status is not None and fault.status >= 400:
            raise ApiError(fault.status, "Injected failure of generation %s (simulator test hook)" % generation.id,
                           RUNTIME)
        payload = _answer(action, generation.id, endpoint, body)
        registry.mark(prefix + endpoint + ".successRequests")
    finally:
        registry.dec(prefix + "activeRequests")
        registry.time(prefix + endpoint + ".totalProcessing", time.monotonic() - started)
    elapsed_us = int((time.monotonic() - started) * 1e6)
    # INFERRED: timing fields are opaque numbers (microseconds here).
    payload["timing"] = {"preProcessing": 0, "wait": 0, "enrich": 0, "preparation": 0,
                         "prediction": elapsed_us, "postProcessing": 0}
    payload["apiContext"] = {"serviceId": service, "endpointId": endpoint, "serviceGeneration": generation.id}
    return 200, payload, generation.id


def default_action(node, service, endpoint):
    """The first action of the endpoint's type (its newest generation that has it), ``predict`` when unknown."""
    with node.state.lock:
        found = node.state.services.get(service)
        generations = list(found.generations.values()) if found is not None else []
    for generation in reversed(generations):
        conf = generation.endpoints.get(endpoint)
        if conf is not None:
            return ACTIONS_BY_TYPE.get(conf.get("type"), PREDICTION_ACTIONS)[0]
    return PREDICTION_ACTIONS[0]


def traffic(node, request):
    """``POST /__sim__/traffic`` (test hooks): synthetic queries, see traffic.send_traffic."""
    def serve(service, endpoint, action, body, dispatch):
        try:
            return serve_query(node, service, endpoint, action, body, dispatch)
        except ApiError as exc:
            return exc.status, exc.body(), None

    return 200, send_traffic(request.json("traffic"), serve, lambda service, endpoint: default_action(node, service, endpoint))


def ping(node, request):
    return 200, {}


def is_alive(node, request):
    if node.state.node_forced_not_alive():
        return 503, {"forcedNotAlive": True, "alive": False}
    return 200, {"alive": True, "healthChecks": {"deadlocks": {"healthy": True}}}


def is_alive_simple(node, request, service):
    node.state.is_alive_simple(service)
    return 200, {"ok": True}


def routes():
    """(methods, regex, handler) on absolute paths (trailing slashes are stripped by the server)."""
    actions = "|".join(a.replace("-", r"\-") for a in ALL_ACTIONS)
    return [
        (("GET", "POST"), r"/public/api/v1/ping", ping),
        (("GET", "POST"), r"/public/api/v1/" + SEG % "service" + "/" + SEG % "endpoint"
         + r"/(?P<action>" + actions + ")", user_query),
        (("GET",), r"/isAlive", is_alive),
        (("GET",), r"/monitoring/api/" + SEG % "service" + r"/isAliveSimple", is_alive_simple),
    ]
