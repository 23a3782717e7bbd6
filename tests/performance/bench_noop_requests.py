"""Benchmark 2: HTTP requests each module sends when nothing changes, against the minimum the API allows.

Every module runs once to reach its desired state, then again (the no-op measured here) with the
node's request log cleared in between. Counts come from the log and are checked against each
module's own ``api_calls``. The minimum is what the admin API needs to prove that nothing changes
while returning what the module documents (see tests/performance/README.md).
"""

import argparse
import json

from _bench import Workspace, module_play, settled_log

# (module, minimum, why): the admin API has no conditional requests, so each resource read is one GET.
MINIMUM = {
    "apinode_service": (2, "GET services (enabled, mapping) + GET its generations (returned as service.generations)"),
    "apinode_generation": (1, "GET the service's generations"),
    "apinode_key": (1, "GET keys"),
    "apinode_cache (code env)": (0, "the admin API lists no cache content: 0 if the module keeps a local record"),
    "apinode_cache (model)": (0, "same as the code env"),
    "apinode_info (services, node)": (3, "GET services + GET generations of 1 service + GET /isAlive/"),
    "apinode_info (services, no generations)": (1, "GET services (enabled flag and mapping, generations: false)"),
}


def run(quick=False):  # pylint: disable=unused-argument
    with Workspace("bench-noop-") as work:
        fleet = work.fleet(1)
        node = fleet.nodes[0]
        manifest = work.bundle(services=["churn"], versions=["v1"], code_envs=["churn-py"], models=["churn-model"])
        package = manifest["packages"][0]["path"]
        node.admin_client().create_service("churn")
        tasks = [
            {"name": "apinode_generation", "dss.apinode.apinode_generation": {"service": "churn", "archive": package}},
            {"name": "apinode_service", "dss.apinode.apinode_service": {"name": "churn", "generation": "v1",
                                                                        "enabled": True}},
            {"name": "apinode_key", "dss.apinode.apinode_key": {"label": "bench"}, "no_log": True},
            {"name": "apinode_cache (code env)", "dss.apinode.apinode_cache": {
                "code_env": manifest["code_envs"][0]["path"]}},
            {"name": "apinode_cache (model)", "dss.apinode.apinode_cache": {
                "model_archive": manifest["models"][0]["path"]}},
            {"name": "apinode_info (services, node)", "dss.apinode.apinode_info": {"gather": ["services", "node"]}},
            {"name": "apinode_info (services, no generations)", "dss.apinode.apinode_info": {
                "gather": ["services"], "generations": False}},
        ]
        inventory = work.inventory(fleet)
        work.playbook(module_play(tasks), inventory).check("benchmark 2 (set-up)")
        rows = []
        for entry in tasks:  # one playbook per module, so that the log holds only its requests
            settled_log(node)
            node.clear_requests()
            # The no-op returns no secret, so the key task's result can be read (no_log only for the set-up).
            measured = {k: v for k, v in entry.items() if k != "no_log"}
            result = work.playbook(module_play([measured]), inventory).check("benchmark 2")
            log = settled_log(node)
            recorded = result.tasks[-1]["result"]
            minimum, why = MINIMUM[entry["name"]]
            rows.append({
                "benchmark": 2, "figure": "no-op requests: " + entry["name"], "value": len(log),
                "baseline": minimum, "unit": "requests", "ratio": None, "target": minimum,
                "met": len(log) <= minimum and not recorded.get("changed"),
                "notes": "%s; api_calls=%s; changed=%s; sent: %s; minimum: %s" % (
                    entry["name"], recorded.get("api_calls"), recorded.get("changed"),
                    ", ".join("%s %s" % (r["method"], r["path"]) for r in log) or "nothing", why),
            })
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="(no effect: already quick)")
    args = parser.parse_args()
    print(json.dumps(run(args.quick), indent=2))


if __name__ == "__main__":
    main()
