"""Benchmark 5: rolling_deploy re-run with an unchanged 1 GB package vs ansible.builtin.copy of that file.

One node; the first rollout and the first copy are untimed. The re-run must neither copy nor import
again (checked on the node: the staged package keeps its inode and modification time; and in the node's
request log). Target: at most 1.2x the copy.
"""

import argparse
import glob
import json
import os

from _bench import Workspace, deploy_vars, row, settled_log


def staged_files(node):
    """Inode and modification time of every package staged on the node, by path."""
    pattern = os.path.join(node.data_dir, "dss-apinode-staging", "packages", "*", "*", "*.zip")
    return {path: (os.stat(path).st_ino, os.stat(path).st_mtime_ns) for path in glob.glob(pattern)}


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
        staged = staged_files(node)
        settled_log(node)
        node.clear_requests()
        rerun = work.playbook("dss.apinode.rolling_deploy", inventory, variables).check("re-run")
        imports = [r for r in settled_log(node) if "import" in r["path"]]
        copied = [path for path, stamp in staged.items() if stamp != staged_files(node).get(path)]
        staging_ran = rerun.ran("Stage the release")
        copy_play = [{"hosts": "apinodes", "gather_facts": False, "tasks": [{"name": "copy", "ansible.builtin.copy": {
            "src": package, "dest": str(work.root / "copy-baseline.zip"), "mode": "0640"}}]}]
        work.playbook(copy_play, inventory).check("first copy")
        copy = work.playbook(copy_play, inventory).check("unchanged copy")
        if not staged or imports or copied:
            raise RuntimeError("the re-run copied or imported again (staged: %s): %s %s" % (sorted(staged), copied, imports))
    note = ("%d MB package; re-run: nothing copied, 0 import requests (package identified from its tag.json on "
            "the controller, stage task %s); copy baseline: one unchanged copy task"
            % (size_mb, "run" if staging_ran else "skipped: the node already serves the release"))
    return [row(5, "re-run with unchanged %d MB package vs copy" % size_mb, rerun.seconds, copy.seconds,
                target=1.2, notes=note)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 MB instead of 1 GB")
    print(json.dumps(run(parser.parse_args().quick), indent=2))


if __name__ == "__main__":
    main()
