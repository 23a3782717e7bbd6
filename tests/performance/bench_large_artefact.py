"""Benchmark 5: rolling_deploy re-run with an unchanged 1 GB package vs ansible.builtin.copy of that file.

One node; the first rollout and the first copy are untimed. The re-run must neither copy nor import
again (checked in the task results and the node's request log). Target: at most 1.2x the copy.
"""

import argparse
import json

from _bench import Workspace, deploy_vars, row, settled_log


def run(quick=False):
    size_mb = 100 if quick else 1024
    with Workspace("bench-large-") as work:
        fleet = work.fleet(1)
        node = fleet.nodes[0]
        manifest = work.bundle(services=["churn"], versions=["v1"], size_mb=size_mb)
        package = manifest["packages"][0]["path"]
        inventory = work.inventory(fleet)
        variables = deploy_vars(manifest)
        work.playbook("dss.apinode.rolling_deploy", inventory, variables).check("first rollout")
        settled_log(node)
        node.clear_requests()
        rerun = work.playbook("dss.apinode.rolling_deploy", inventory, variables).check("re-run")
        imports = [r for r in settled_log(node) if "import" in r["path"]]
        copied = [t for t in rerun.tasks if t["task"].split(" : ")[-1] == "Copy the service packages" and t["status"] == "changed"]
        copy_play = [{"hosts": "apinodes", "gather_facts": False, "tasks": [{"name": "copy", "ansible.builtin.copy": {
            "src": package, "dest": str(work.root / "copy-baseline.zip"), "mode": "0640"}}]}]
        work.playbook(copy_play, inventory).check("first copy")
        copy = work.playbook(copy_play, inventory).check("unchanged copy")
        if imports or copied:
            raise RuntimeError("the re-run copied or imported again: %s %s" % (copied, imports))
    note = ("%d MB package; re-run: nothing copied, 0 import requests (package identified from its tag.json on "
            "the controller, copy task %s); copy baseline: one unchanged copy task"
            % (size_mb, "skipped" if not rerun.task_seconds("Copy the service packages") else "run"))
    return [row(5, "re-run with unchanged %d MB package vs copy" % size_mb, rerun.seconds, copy.seconds,
                target=1.2, notes=note)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 MB instead of 1 GB")
    print(json.dumps(run(parser.parse_args().quick), indent=2))


if __name__ == "__main__":
    main()
