"""Benchmark 3: a no-op rolling_deploy re-run on 20 nodes vs a one-task ansible.builtin.ping play.

The fleet serves 3 services, 1 code env and 1 model (first rollout untimed); the re-run changes nothing.
Both plays use the same inventory and forks. Target: at most 2x the ping play.
"""

import argparse
import json

from _bench import Workspace, deploy_vars, row, settled_log


def run(quick=False):
    nodes = 5 if quick else 20
    with Workspace("bench-fleet-noop-") as work:
        fleet = work.fleet(nodes)
        manifest = work.bundle(services=["churn", "fraud", "upsell"], versions=["v1"], code_envs=["churn-py"],
                               models=["churn-model"])
        inventory = work.inventory(fleet)
        variables = deploy_vars(manifest)
        work.playbook("dss.apinode.rolling_deploy", inventory, variables, forks=nodes).check("first rollout")
        for node in fleet.nodes:
            settled_log(node)
            node.clear_requests()
        rerun = work.playbook("dss.apinode.rolling_deploy", inventory, variables, forks=nodes).check("no-op re-run")
        writes = sum(1 for node in fleet.nodes for r in settled_log(node)
                     if r["method"] not in ("GET", "HEAD") and r["path"].startswith("/admin/"))
        ping = work.playbook([{"hosts": "apinodes", "gather_facts": False,
                               "tasks": [{"name": "ping", "ansible.builtin.ping": {}}]}],
                             inventory, forks=nodes).check("ping play")
        tasks_per_host = len({t["task"] for t in rerun.tasks})
    note = ("%d nodes, forks %d; re-run: %d tasks per host, %d changed, %d admin writes; ping play: 1 task"
            % (nodes, nodes, tasks_per_host, len(rerun.changed()), writes))
    return [row(3, "no-op rolling_deploy vs ping play (%d nodes)" % nodes, rerun.seconds, ping.seconds,
                target=2.0, notes=note)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 nodes instead of 20")
    print(json.dumps(run(parser.parse_args().quick), indent=2))


if __name__ == "__main__":
    main()
