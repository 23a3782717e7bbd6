"""Benchmark 6: first deployment to 5 nodes, a sequential dataiku-api-client script vs rolling_deploy.

The script is what users write today: for each node in turn, create the service, import the package
(a path on the node), switch to it, and check one prediction. It is measured without import cost and
with a realistic one (10 s import and 2 s preload per node), because rolling_deploy stages nodes in
parallel and the script cannot. Targets: at most 30x the script without import cost, at most 0.5x with it.
"""

import argparse
import json
import time

from _bench import FEATURES, Workspace, deploy_vars, row


def script_deploy(fleet, package):
    started = time.perf_counter()
    for node in fleet.nodes:
        client = node.admin_client()
        client.create_service(package["service"])
        service = client.service(package["service"])
        service.import_generation_from_archive(package["path"])
        service.switch_to_single_generation(package["generation_id"])
        answer = node.user_client(package["service"]).predict_record("predict", FEATURES)
        if answer["apiContext"]["serviceGeneration"] != package["generation_id"]:
            raise RuntimeError("%s does not serve %s" % (node.name, package["generation_id"]))
    return time.perf_counter() - started


def run(quick=False):
    nodes = 3 if quick else 5
    rows = []
    with Workspace("bench-script-") as work:
        manifest = work.bundle(services=["churn"], versions=["v1"], size_mb=1)
        package = manifest["packages"][0]
        # (import seconds, preload seconds, target ratio); the package is padded to 1 MB.
        for import_seconds, preload_seconds, target in ((0.0, 0.0, 30.0), (10.0, 2.0, 0.5)):
            script_fleet, role_fleet = work.fleet(nodes), work.fleet(nodes)
            for node in script_fleet.nodes + role_fleet.nodes:
                node.set_costs(import_seconds_per_mb=import_seconds, preload_seconds=preload_seconds)
            script = script_deploy(script_fleet, package)
            role = work.playbook("dss.apinode.rolling_deploy", work.inventory(role_fleet, "inv%s.json" % import_seconds),
                                 deploy_vars(manifest), forks=nodes).check("rolling_deploy")
            script_fleet.stop()
            role_fleet.stop()
            rows.append(row(6, "rolling_deploy vs sequential script (%d nodes, import %.0f s, preload %.0f s)"
                            % (nodes, import_seconds, preload_seconds), role.seconds, script, target=target,
                            notes="script: %.1f s; rolling_deploy: %d tasks per host"
                            % (script, len({t["task"] for t in role.tasks}))))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 nodes instead of 5")
    print(json.dumps(run(parser.parse_args().quick), indent=2))


if __name__ == "__main__":
    main()
