"""Benchmark 7: first rollout to 5 and to 20 nodes, api transport vs node transport vs a sequential script.

The same release (one service, a 1 MB package, one smoke test) goes to fresh simulated nodes three
ways, with the same simulated costs (full size: a 10 s import and a 2 s preload per node):

- ``rolling_deploy`` with ``apinode_deploy_transport: api``: every module runs on the controller and
  streams the package to each node with ``importFromStream``, no copy;
- ``rolling_deploy`` with the default ``node`` transport: the package is copied to a staging dir on each
  node, the module runs there and imports it from the node's disk;
- the sequential ``dataiku-api-client`` script of benchmark 6 (create, import, switch, one prediction,
  node after node).

Both role runs use the same inventory (one host per node, ``ansible_connection: local``) and forks =
nodes. Ratios only, no target: the issue asks for the figures side by side.
"""

import argparse
import json

from _bench import Workspace, deploy_vars, row
from bench_vs_script import script_deploy


def rollout(work, manifest, fleet, transport, nodes):
    variables = dict(deploy_vars(manifest), apinode_deploy_transport=transport)
    run = work.playbook("dss.apinode.rolling_deploy", work.inventory(fleet, "inv-%s-%d.json" % (transport, nodes)),
                        variables, forks=nodes).check("rolling_deploy (%s transport)" % transport)
    streamed = sum(1 for node in fleet.nodes for r in node.requests() if r["path"].endswith("/importFromStream"))
    if (streamed == len(fleet.nodes)) != (transport == "api"):
        raise RuntimeError("%s transport: %d importFromStream requests on %d nodes" % (transport, streamed, nodes))
    return run


def run(quick=False):
    sizes = (3, 5) if quick else (5, 20)
    # (import seconds per MB of the 1 MB package, preload seconds); quick: only checks that it runs.
    import_seconds, preload_seconds = (0.5, 0.2) if quick else (10.0, 2.0)
    rows = []
    with Workspace("bench-api-transport-") as work:
        manifest = work.bundle(services=["churn"], versions=["v1"], size_mb=1)
        package = manifest["packages"][0]
        for nodes in sizes:
            seconds = {}
            for side in ("script", "api", "node"):
                fleet = work.fleet(nodes)
                for node in fleet.nodes:
                    node.set_costs(import_seconds_per_mb=import_seconds, preload_seconds=preload_seconds)
                    node.clear_requests()
                if side == "script":
                    seconds[side] = script_deploy(fleet, package)
                else:
                    seconds[side] = rollout(work, manifest, fleet, side, nodes).seconds
                fleet.stop()
            costs = "%d nodes, import %.1f s, preload %.1f s" % (nodes, import_seconds, preload_seconds)
            notes = "script %.1f s, api transport %.1f s, node transport %.1f s" % (
                seconds["script"], seconds["api"], seconds["node"])
            rows.append(row(7, "api transport vs sequential script (%s)" % costs, seconds["api"], seconds["script"],
                            notes=notes))
            rows.append(row(7, "node transport vs sequential script (%s)" % costs, seconds["node"], seconds["script"]))
            rows.append(row(7, "api transport vs node transport (%s)" % costs, seconds["api"], seconds["node"]))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 and 5 nodes, a 0.5 s import and a 0.2 s preload")
    print(json.dumps(run(parser.parse_args().quick), indent=2))


if __name__ == "__main__":
    main()
