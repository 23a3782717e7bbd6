"""What every benchmark shares: simulated fleets, bundles, timed ansible-playbook runs, result rows.

Benchmarks are scripts, not tests: each measures a figure and its baseline in the same run and
reports the ratio, so that a slow or loaded machine moves both alike.
"""

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
sys.path.insert(0, str(REPO_ROOT / "tests" / "simulator"))

from apinode_sim.testing import SimFleet, make_bundle  # noqa: E402  pylint: disable=wrong-import-position

# The pytest harness owns the collection path and the inventory format; reuse them as they are.
_spec = importlib.util.spec_from_file_location("dss_apinode_harness", str(REPO_ROOT / "tests" / "conftest.py"))
harness = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = harness  # as an import would: the harness registers itself by name
_spec.loader.exec_module(harness)

RECORDER_DIR = REPO_ROOT / "tests" / "integration" / "callback_plugins"
TIMER_DIR = HERE / "callback_plugins"
CONNECTION = {"url": "{{ apinode_url }}", "api_key": "{{ apinode_admin_key }}"}
FEATURES = {"age": 42, "plan": "gold", "monthly_charges": 70.5, "tenure_months": 12}


class Workspace:
    """A temp dir for fleets, bundles and playbook runs; fleets are stopped on exit."""

    def __init__(self, prefix):
        self.root = Path(tempfile.mkdtemp(prefix=prefix))
        self.fleets = []
        self.runs = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        for fleet in self.fleets:
            fleet.stop()
        subprocess.run(["rm", "-rf", str(self.root)], check=False)
        return False

    def fleet(self, nodes, extra_args=()):
        fleet = SimFleet(self.root / ("fleet%d" % len(self.fleets)), nodes=nodes, extra_args=extra_args)
        self.fleets.append(fleet)
        return fleet.__enter__()

    def bundle(self, **kwargs):
        return make_bundle(self.root / ("bundle%d" % self.runs), **kwargs)

    def inventory(self, fleet, name="inventory.json"):
        return harness.write_fleet_inventory(fleet, self.root / name)

    def playbook(self, playbook, inventory, extra_vars=None, forks=None, env=None):
        """Run ansible-playbook; return ``Run`` (seconds, rc, output, per-task times, recorded results)."""
        self.runs += 1
        workdir = self.root / ("run%d" % self.runs)
        workdir.mkdir()
        if isinstance(playbook, (list, dict)):
            path = workdir / "playbook.yml"
            path.write_text(json.dumps(playbook, indent=2))
            playbook = str(path)
        command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), playbook]
        if extra_vars:
            (workdir / "vars.json").write_text(json.dumps(extra_vars))
            command += ["-e", "@%s" % (workdir / "vars.json")]
        if forks:
            command += ["--forks", str(forks)]
        run_env = dict(os.environ)
        run_env.update({
            "ANSIBLE_COLLECTIONS_PATH": str(harness.COLLECTIONS_PATH),
            "ANSIBLE_CALLBACK_PLUGINS": "%s:%s" % (RECORDER_DIR, TIMER_DIR),
            "ANSIBLE_CALLBACKS_ENABLED": "task_recorder,bench_timer",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_LOCAL_TEMP": str(workdir / "local-tmp"),
            "ANSIBLE_REMOTE_TEMP": str(workdir / "remote-tmp"),
            "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
            harness.RESULTS_ENV: str(workdir / "tasks.jsonl"),
            "DSS_APINODE_BENCH_TIMES": str(workdir / "times.json"),
        })
        run_env.update(env or {})
        started = time.perf_counter()
        proc = subprocess.run(command, cwd=str(workdir), env=run_env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        times = json.loads((workdir / "times.json").read_text()) if (workdir / "times.json").exists() else []
        tasks = []
        if (workdir / "tasks.jsonl").exists():
            tasks = [json.loads(line) for line in (workdir / "tasks.jsonl").read_text().splitlines() if line.strip()]
        return Run(seconds, proc.returncode, proc.stdout + proc.stderr, times, tasks)


class Run:
    def __init__(self, seconds, rc, output, times, tasks):
        self.seconds, self.rc, self.output, self.times, self.tasks = seconds, rc, output, times, tasks

    def check(self, what):
        if self.rc != 0:
            raise RuntimeError("%s failed (rc %s):\n%s" % (what, self.rc, self.output[-3000:]))
        return self

    def task_seconds(self, prefix):
        # Role tasks are named "<role> : <task>".
        return sum(t["seconds"] for t in self.times if t["task"].split(" : ")[-1].startswith(prefix))

    def changed(self):
        return [t["task"] for t in self.tasks if t["status"] == "changed"]

    def ran(self, prefix):
        """Whether a task whose name starts with ``prefix`` ran (was not skipped) on some host."""
        return any(t["task"].split(" : ")[-1].startswith(prefix) and t["status"] != "skipped" for t in self.tasks)


def module_play(tasks, hosts="apinodes"):
    return [{"hosts": hosts, "gather_facts": False,
             "module_defaults": {"group/dss.apinode.apinode": CONNECTION}, "tasks": tasks}]


def deploy_vars(manifest, smoke=True):
    """rolling_deploy variables for every package, code env and model of a bundle."""
    services = []
    for package in manifest["packages"]:
        service = {"id": package["service"], "new": True, "package": package["path"], "generation": package["generation_id"]}
        if smoke:
            service["smoke_tests"] = [{"endpoint": "predict", "features": FEATURES}]
        services.append(service)
    return {
        "apinode_deploy_services": services,
        "apinode_deploy_code_envs": [{"path": env["path"]} for env in manifest["code_envs"]],
        "apinode_deploy_models": [{"path": model["path"]} for model in manifest["models"]],
    }


def settled_log(node):
    """The node's request log (the simulator logs each request before answering it)."""
    return node.requests()


def row(number, figure, value, baseline, unit="s", target=None, notes=""):
    """One result: the figure, its baseline, their ratio and whether it meets the target ratio."""
    ratio = value / baseline if baseline else None
    return {"benchmark": number, "figure": figure, "value": round(value, 3), "baseline": round(baseline, 3),
            "unit": unit, "ratio": round(ratio, 2) if ratio is not None else None, "target": target,
            "met": (ratio <= target) if (target is not None and ratio is not None) else None, "notes": notes}
