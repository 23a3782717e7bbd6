"""Routes under /admin/api (every one needs an admin key; the server checks it before dispatching).

Each handler takes (node, request, **path_groups) and returns (status, payload): a dict or list is sent
as JSON with the DSS headers, None as an empty 200 body, a str as text.
"""

import os
import secrets

from . import metrics as metrics_mod
from .datadir import write_bytes_atomic
from .errors import bad_request

OK = {"ok": True}
SEG = r"(?P<%s>[^/]+)"


def _bool_param(request, name):
    return str(request.params.get(name, "false")).lower() in ("true", "1", "yes")


def _required_param(request, name):
    value = request.params.get(name)
    if value is None or value == "":
        raise bad_request("Required String parameter '%s' is not present" % name)
    return value


# -------------------------------------------------------------- services
def list_services(node, request):
    return 200, node.state.list_services()


def create_service(node, request):
    node.state.create_service(request.json("ProtoService"), _bool_param(request, "ignoreIfExists"))
    return 200, OK


def delete_service(node, request, service):
    node.state.delete_service(service)
    return 200, OK


# -------------------------------------------------------------- generations
def list_generations(node, request, service):
    return 200, node.state.list_generations(service)


def import_from_archive(node, request, service):
    node.state.import_archive(service, _required_param(request, "filePath"))
    return 200, OK


def import_from_stream(node, request, service):
    payload = request.multipart_file("file")
    if payload is None:
        raise bad_request("Required request part 'file' is not present")
    # Like the node: the stream is copied to a temp archive.zip, then imported as an archive.
    path = os.path.join(node.state.dir.tmp, "upload-%s" % secrets.token_hex(6), "archive.zip")
    write_bytes_atomic(path, payload)
    try:
        node.state.import_archive(service, path)
    finally:
        try:
            os.remove(path)
            os.rmdir(os.path.dirname(path))
        except OSError:
            pass
    return 200, OK


def import_from_directory(node, request, service):
    node.state.import_directory(service, _required_param(request, "dirPath"))
    return 200, OK


def preload(node, request, service, generation):
    node.state.preload(service, generation)
    return 200, OK


def delete_generation(node, request, service, generation):
    node.state.delete_generation(service, generation)
    return 200, OK


# -------------------------------------------------------------- activation
def enable(node, request, service):
    node.state.enable(service)
    return 200, OK


def disable(node, request, service):
    node.state.disable(service)
    return 200, OK


def set_mapping(node, request, service):
    node.state.set_mapping(service, request.json("GenerationsMapping"))
    return 200, OK


def switch_to_newest(node, request, service):
    return 200, node.state.switch_to_newest(service)


def switch_to(node, request, service, generation):
    node.state.switch_to(service, generation)
    return 200, OK


def get_mapping(node, request, service):
    return 200, node.state.get_mapping(service)


def set_not_alive_service(node, request, service):
    node.state.set_service_alive(service, False)
    return 200, OK


def set_alive_service(node, request, service):
    node.state.set_service_alive(service, True)
    return 200, OK


def endpoint_settings(node, request, service, endpoint):
    node.state.set_endpoint_settings(service, endpoint, request.json("EndpointServerSideConfig"))
    return 200, OK


def reset_endpoints_settings(node, request, service):
    node.state.reset_endpoint_settings(service)
    return 200, OK


# -------------------------------------------------------------- keys
def list_keys(node, request):
    return 200, node.state.list_keys()


def create_key(node, request):
    return 200, node.state.create_key(request.json("AdminAPIKey", allow_empty=True))


def delete_key(node, request, key):
    node.state.delete_key("key", key)
    return 200, OK


def delete_key_by_id(node, request, key_id):
    node.state.delete_key("id", key_id)
    return 200, OK


# -------------------------------------------------------------- monitoring
def get_metrics(node, request):
    return 200, node.metrics_json()


def get_metrics_prometheus(node, request):
    return 200, metrics_mod.to_prometheus(node.metrics_json())


def service_stats(node, request, service):
    node.state.require_service_404(service)
    endpoints = node.state.endpoint_ids(service) or []
    prefix = "dku.lambda.service.%s." % service
    result = []
    for endpoint in endpoints:
        # "enpdointId" reproduces the real node's typo.
        result.append({"enpdointId": endpoint,
                       "requests": node.registry.meter_json(prefix + endpoint + ".requests"),
                       "successRequests": node.registry.meter_json(prefix + endpoint + ".successRequests"),
                       "processingTime": node.registry.timer_json(prefix + endpoint + ".totalProcessing")})
    return 200, {"endpoints": result}


def set_not_alive(node, request):
    node.state.set_node_alive(False)
    return 200, None


def set_alive(node, request):
    node.state.set_node_alive(True)
    return 200, None


def get_audit_settings(node, request):
    return 200, node.state.get_audit_settings()


def post_audit_settings(node, request):
    node.state.set_audit_settings(request.json("AuditLogSettings"))
    return 200, None


# -------------------------------------------------------------- caches and cleanup (INFERRED shapes)
def import_code_env(node, request):
    return 200, node.state.import_code_env(_required_param(request, "fileDir"), request.params.get("language"))


def clean_code_envs(node, request):
    return 200, node.state.clean_code_envs()


def register_global_code_env(node, request):
    return 200, node.state.import_code_env(_required_param(request, "exportedEnvDir"),
                                           request.params.get("language"),
                                           built_env_dir=_required_param(request, "builtEnvDir"))


def import_model(node, request):
    return 200, node.state.import_model(request.params.get("modelArchivePath"))


def clear_model_cache(node, request):
    return 200, node.state.clear_model_cache()


def clean_unused(node, request):
    return 200, node.state.clean_unused()


def routes():
    """(methods, regex, handler, feature) relative to /admin/api; the first match wins. ``feature`` names
    the entry of versions.FEATURES that brought the route (None: every version has it)."""
    svc = "/services/" + SEG % "service"
    gen = SEG % "generation"
    any_method = ("GET", "POST", "PUT", "DELETE")
    return [
        (("GET",), r"/services", list_services, None),
        (("POST",), r"/services", create_service, None),
        (("DELETE",), svc, delete_service, None),
        (("GET",), svc + r"/generations", list_generations, None),
        (("POST",), svc + r"/generations/actions/importFromArchive", import_from_archive, None),
        (("POST",), svc + r"/generations/actions/importFromStream", import_from_stream, None),
        (("POST",), svc + r"/generations/actions/importFromDirectory", import_from_directory, None),
        (("POST",), svc + r"/generations/" + gen + r"/preload", preload, None),
        (("DELETE",), svc + r"/generations/" + gen, delete_generation, None),
        (("POST",), svc + r"/actions/enable", enable, None),
        (("POST",), svc + r"/actions/disable", disable, None),
        (("POST",), svc + r"/actions/setMapping", set_mapping, None),
        (("POST",), svc + r"/actions/switchToNewest", switch_to_newest, None),
        (("POST",), svc + r"/actions/switchTo/" + gen, switch_to, None),
        (("POST",), svc + r"/actions/setNotAlive", set_not_alive_service, None),
        (("POST",), svc + r"/actions/setAlive", set_alive_service, None),
        (("POST",), svc + r"/actions/reset-endpoints-settings", reset_endpoints_settings, None),
        (("POST",), svc + r"/endpoints/" + SEG % "endpoint" + r"/settings", endpoint_settings, None),
        (("GET",), svc + r"/mapping", get_mapping, None),
        (("GET",), svc + r"/stats", service_stats, None),
        (("GET",), r"/keys", list_keys, None),
        (("POST",), r"/keys", create_key, None),
        (("DELETE",), r"/keys/" + SEG % "key_id" + r"/key", delete_key_by_id, "delete_key_by_id"),
        (("DELETE",), r"/keys/" + SEG % "key", delete_key, None),
        (any_method, r"/metrics", get_metrics, None),
        (any_method, r"/metrics-prometheus", get_metrics_prometheus, None),
        (any_method, r"/set-not-alive", set_not_alive, None),
        (any_method, r"/set-alive", set_alive, None),
        (("GET",), r"/audit-settings", get_audit_settings, None),
        (("POST",), r"/audit-settings", post_audit_settings, None),
        (("POST",), r"/cached-code-envs", import_code_env, None),
        (("DELETE",), r"/cached-code-envs", clean_code_envs, "cleanup"),
        (("POST",), r"/register-global-code-env", register_global_code_env, "register_code_env"),
        (("POST",), r"/model-cache", import_model, "model_cache"),
        (("DELETE",), r"/model-cache", clear_model_cache, "model_cache"),
        (("DELETE",), r"/services-clean-unused", clean_unused, "cleanup"),
    ]
