"""Benchmark 4: stage time for 1, 5 and 20 nodes with a simulated import cost of a few seconds.

The stage phase of the deploy role (copy, caches, create, import, preload) runs on fresh fleets whose
nodes take ``--import-seconds`` to import the package. Target: 20 nodes take at most 2x the time of 1.
"""

import argparse
import json

from _bench import Workspace, deploy_vars, row

STAGE_PLAY = [{"hosts": "apinodes", "gather_facts": False, "roles": [{
    "role": "dss.apinode.deploy",
    # Staging alone: no lock, as nothing runs after it to release one.
    "vars": {"apinode_deploy_phase": "stage", "apinode_deploy_lock": False}}]}]


def stage_seconds(work, manifest, nodes, import_seconds):
    fleet = work.fleet(nodes)
    for node in fleet.nodes:
        node.set_costs(import_seconds_per_mb=import_seconds)  # the package is padded to 1 MB
    run = work.playbook(STAGE_PLAY, work.inventory(fleet, "inventory%d.json" % nodes), deploy_vars(manifest),
                        forks=nodes).check("stage on %d nodes" % nodes)
    fleet.stop()
    return run.seconds


def run(quick=False, import_seconds=3.0):
    sizes = (1, 5) if quick else (1, 5, 20)
    with Workspace("bench-scaling-") as work:
        manifest = work.bundle(services=["churn"], versions=["v1"], size_mb=1)
        times = {n: stage_seconds(work, manifest, n, import_seconds) for n in sizes}
    rows = []
    for n in sizes[1:]:
        rows.append(row(4, "stage %d nodes vs 1 node" % n, times[n], times[1], target=2.0 if n == 20 else None,
                        notes="import cost %.1f s per node; forks = nodes; 1 node: %.1f s" % (import_seconds, times[1])))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 and 5 nodes only")
    parser.add_argument("--import-seconds", type=float, default=3.0, help="simulated import time per node")
    args = parser.parse_args()
    print(json.dumps(run(args.quick, args.import_seconds), indent=2))


if __name__ == "__main__":
    main()
