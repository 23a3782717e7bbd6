"""Test harness shared by every pytest suite of the collection.

- ``collections_path``: a collections root holding ``ansible_collections/dss/apinode`` (also on
  ``sys.path``, so ``import ansible_collections.dss.apinode...`` works in unit tests).
- ``sim_fleet(nodes=1, **kwargs)``: started simulated API nodes, stopped at teardown.
- ``bundle`` / ``make_bundle(**kwargs)``: sample artefacts from the simulator's bundle maker.
- ``fleet_inventory(fleet, path, group="apinodes", **hostvars)``: an inventory of simulated nodes.
- ``run_playbook(playbook, ...)``: runs ``ansible-playbook`` and returns a ``PlaybookResult`` built
  from the JSON written by the ``task_recorder`` callback in ``tests/integration/callback_plugins``.
- ``module_play(*tasks)`` / ``task(name, module, args, **keywords)``: a play of collection module tasks
  with the connection passed once through module_defaults; import them with ``from harness import ...``.
"""

import atexit
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CALLBACK_DIR = REPO_ROOT / "tests" / "integration" / "callback_plugins"
CALLBACK_NAME = "task_recorder"
RESULTS_ENV = "DSS_APINODE_TASK_RESULTS"
PLAYBOOK_TIMEOUT = 900
# Group variables of ``all`` that every run_playbook run gets (lowest inventory precedence: a test's host
# or extra variables win). Stage in one call: Ansible checks a background task first after
# apinode_deploy_progress_seconds (3 s by default), which every staging run of the suite would wait
# for. test_api_transport.py::test_a_long_import_prints_progress_where_the_core_can_poll_it runs the
# background path on purpose, and the AWX runner tests and molecule keep the role's defaults. A failing
# smoke test is tried again at once: a simulated node answers the same at once and a second later.
SUITE_GROUP_VARS = {"apinode_deploy_progress_seconds": 0, "apinode_deploy_smoke_delay": 0}

# Test modules import the helpers below by a name that cannot collide with the other suites' conftest.py.
sys.modules["harness"] = sys.modules[__name__]


# --- the collection on a collections path ----------------------------------------------------------

def _find_collections_path():
    """The first ANSIBLE_COLLECTIONS_PATH entry holding dss.apinode, else a temp dir with a symlink."""
    for entry in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep):
        if entry and (Path(entry) / "ansible_collections" / "dss" / "apinode" / "galaxy.yml").is_file():
            return Path(entry).resolve()
    root = Path(tempfile.mkdtemp(prefix="dss-apinode-collections-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    namespace = root / "ansible_collections" / "dss"
    namespace.mkdir(parents=True)
    (namespace / "apinode").symlink_to(REPO_ROOT, target_is_directory=True)
    return root


COLLECTIONS_PATH = _find_collections_path()
# At import time, so that test modules can import the collection at their top.
if str(COLLECTIONS_PATH) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_PATH))

# The simulator is installed into the Makefile's virtualenvs; from a bare checkout, import it in place.
try:
    import apinode_sim  # noqa: F401  pylint: disable=unused-import
except ImportError:
    sys.path.insert(0, str(REPO_ROOT / "tests" / "simulator"))


@pytest.fixture(scope="session")
def collections_path():
    return COLLECTIONS_PATH


# --- simulated nodes and sample artefacts ------------------------------------------------------------

@pytest.fixture
def sim_fleet(tmp_path):
    """Factory: ``sim_fleet(nodes=1, **kwargs)`` -> a started ``SimFleet`` with test hooks on."""
    from apinode_sim.testing import SimFleet

    fleets = []
    counter = itertools.count(1)

    def start(nodes=1, **kwargs):
        kwargs.setdefault("test_hooks", True)
        fleet = SimFleet(tmp_path / ("fleet%d" % next(counter)), nodes=nodes, **kwargs)
        fleets.append(fleet)
        return fleet.__enter__()

    yield start
    for fleet in reversed(fleets):
        fleet.__exit__(None, None, None)


@pytest.fixture
def make_bundle(tmp_path):
    """Factory: ``make_bundle(**kwargs)`` -> the bundle maker's manifest, written under tmp_path."""
    from apinode_sim import testing

    counter = itertools.count(1)

    def make(**kwargs):
        return testing.make_bundle(tmp_path / ("bundle%d" % next(counter)), **kwargs)

    return make


@pytest.fixture
def bundle(make_bundle):
    """The bundle maker's default artefacts."""
    return make_bundle()


def packages_of(manifest, service_id=None, version=None):
    """The bundle manifest's package entries, of one service and/or one version."""
    return [p for p in manifest["packages"]
            if (service_id is None or p["service"] == service_id) and (version is None or p["version"] == version)]


def install(node, service_id, packages, switch_to=None):
    """Set a service up on ``node`` out of band with the official client: create it if the node has none,
    import each of ``packages`` (the bundle manifest's package entries), switch to generation ``switch_to``;
    then empty the node's request log. What a test that is about a later run starts from, for a few
    requests instead of an ``ansible-playbook`` run."""
    client = node.admin_client()
    if service_id not in [item["serviceId"] for item in client.list_services()]:
        client.create_service(service_id)
    for package in packages:
        client.service(service_id).import_generation_from_archive(package["path"])
    if switch_to:
        client.service(service_id).switch_to_single_generation(switch_to)
    node.clear_requests()


def serve_everywhere(fleet, manifest, version, service="churn"):
    """Every node of ``fleet`` serves ``service`` at ``version`` of ``manifest``, installed out of band."""
    packages = packages_of(manifest, service, version)
    assert packages, "the bundle has no package %s %s" % (service, version)
    for node in fleet.nodes:
        install(node, service, packages, switch_to=version)


def write_fleet_inventory(fleet, path, group="apinodes", **extra_hostvars):
    """Write a YAML inventory with one local-connection host per simulated node; return its path."""
    hosts = {}
    for node in fleet.nodes:
        hostvars = {
            "ansible_connection": "local",
            # Interpreter discovery can pick a broken pyenv shim; use the controller's Python.
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "apinode_url": node.url,
            "apinode_admin_key": node.admin_key,
            "apinode_data_dir": str(node.data_dir),
        }
        hostvars.update(extra_hostvars)
        hosts[node.name] = hostvars
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # JSON is YAML; it keeps the inventory free of any YAML library quirk.
    path.write_text(json.dumps({"all": {"children": {group: {"hosts": hosts}}}}, indent=2))
    return path


@pytest.fixture
def fleet_inventory():
    """The ``write_fleet_inventory`` helper, as a fixture."""
    return write_fleet_inventory


# --- plays of collection modules ---------------------------------------------------------------------

CONNECTION = {"url": "{{ apinode_url }}", "api_key": "{{ apinode_admin_key }}"}


def module_play(*tasks, hosts="apinodes", connection=None):
    """A play running ``tasks`` (dicts) with the connection passed once through module_defaults.

    ``connection`` adds to or overrides the inventory's url and api_key (``{"retries": 0}``). Check and
    diff mode are ``run_playbook`` arguments. JSON is YAML, so no quoting trap.
    """
    play = {
        "hosts": hosts,
        "gather_facts": False,
        "module_defaults": {"group/dss.apinode.apinode": dict(CONNECTION, **(connection or {}))},
        "tasks": list(tasks),
    }
    return json.dumps([play], indent=2) + "\n"


def task(name, module, args, **keywords):
    """One task of a collection module: ``task("Promote", "apinode_service", {...}, register="promote")``."""
    entry = {"name": name, "dss.apinode." + module: args}
    entry.update(keywords)
    return entry


# --- running playbooks -------------------------------------------------------------------------------

def _task_name_matches(recorded, name):
    # ansible-core 2.21 records role tasks as "<role fqcn> : <name>"; older cores as "<name>".
    return recorded == name or recorded.endswith(" : " + name)


@dataclass
class PlaybookResult:
    rc: int
    stdout: str
    stderr: str
    tasks: list = field(default_factory=list)
    workdir: Path = None  # the run's working directory, where a relative report file lands

    @property
    def output(self):
        return self.stdout + self.stderr

    @property
    def failed_hosts(self):
        """Hosts with a failed (not ignored) or unreachable task."""
        return sorted({t["host"] for t in self.tasks
                       if t["status"] == "unreachable" or (t["status"] == "failed" and not t["ignored"])})

    @property
    def changed_count(self):
        return sum(1 for t in self.tasks if t["status"] == "changed")

    def results(self, name):
        """``{host: result}`` for the task called ``name`` (the last run of it on each host)."""
        found = {t["host"]: t["result"] for t in self.tasks if _task_name_matches(t["task"], name)}
        if not found:
            raise KeyError("no task %r; tasks run: %s" % (name, sorted({t["task"] for t in self.tasks})))
        return found

    def ran(self, name, host=None):
        """Whether task ``name`` ran (any status but skipped) on ``host``, or on any host."""
        return any(_task_name_matches(t["task"], name) and t["status"] != "skipped"
                   and (host is None or t["host"] == host) for t in self.tasks)

    def status(self, name, host=None):
        """The recorded status of task ``name`` (ok, changed, failed, skipped, unreachable) on ``host``."""
        found = {t["host"]: t["status"] for t in self.tasks if _task_name_matches(t["task"], name)}
        if not found:
            raise KeyError("no task %r; tasks run: %s" % (name, sorted({t["task"] for t in self.tasks})))
        if host is None:
            if len(found) > 1:
                raise ValueError("task %r ran on several hosts %s: name one" % (name, sorted(found)))
            return next(iter(found.values()))
        return found[host]

    def task(self, name, host=None):
        """The module result of task ``name`` on ``host`` (which may be omitted for a single host)."""
        found = self.results(name)
        if host is None:
            if len(found) > 1:
                raise ValueError("task %r ran on several hosts %s: name one" % (name, sorted(found)))
            return next(iter(found.values()))
        if host not in found:
            raise KeyError("task %r did not run on %r (ran on %s)" % (name, host, sorted(found)))
        return found[host]


def _localhost_inventory(path):
    path.write_text(json.dumps({"all": {"hosts": {"localhost": {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
    }}}}))
    return path


@pytest.fixture
def run_playbook(tmp_path, collections_path):
    """Run ``ansible-playbook`` (the one next to ``sys.executable``) with the recorder callback."""
    counter = itertools.count(1)
    ansible_playbook = Path(sys.executable).parent / "ansible-playbook"

    def run(playbook, inventory=None, extra_vars=None, check=False, diff=False, verbosity=0, env=None,
            limit=None, tags=None):
        n = next(counter)
        workdir = tmp_path / ("playbook%d" % n)
        workdir.mkdir()
        if isinstance(playbook, str) and "\n" in playbook:
            path = workdir / "playbook.yml"
            path.write_text(playbook)
            playbook = path
        if inventory is None:
            inventory = _localhost_inventory(workdir / "inventory.json")
        elif hasattr(inventory, "nodes"):
            inventory = write_fleet_inventory(inventory, workdir / "inventory.json")
        results_file = workdir / "tasks.jsonl"

        suite_vars = workdir / "suite-vars.json"
        suite_vars.write_text(json.dumps({"all": {"vars": SUITE_GROUP_VARS}}))
        command = [str(ansible_playbook), "-i", str(inventory), "-i", str(suite_vars), str(playbook)]
        if extra_vars:
            vars_file = workdir / "extra-vars.json"
            vars_file.write_text(json.dumps(extra_vars))
            command += ["-e", "@%s" % vars_file]
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        if verbosity:
            command.append("-" + "v" * verbosity)
        if limit:
            command += ["--limit", limit if isinstance(limit, str) else ",".join(limit)]
        if tags:
            command += ["--tags", tags if isinstance(tags, str) else ",".join(tags)]

        run_env = dict(os.environ)
        run_env.update({
            "ANSIBLE_COLLECTIONS_PATH": str(collections_path),
            "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACK_DIR),
            "ANSIBLE_CALLBACKS_ENABLED": CALLBACK_NAME,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_LOCAL_TEMP": str(workdir / "local-tmp"),
            "ANSIBLE_REMOTE_TEMP": str(workdir / "remote-tmp"),
            # Tools that molecule or the roles look up on PATH come from the same virtualenv.
            "PATH": str(ansible_playbook.parent) + os.pathsep + os.environ.get("PATH", ""),
            RESULTS_ENV: str(results_file),
        })
        run_env.update(env or {})
        # Run outside the repository so that no ansible.cfg there changes the behaviour under test.
        proc = subprocess.run(command, cwd=str(workdir), env=run_env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=PLAYBOOK_TIMEOUT, check=False)
        tasks = []
        if results_file.exists():
            tasks = [json.loads(line) for line in results_file.read_text().splitlines() if line.strip()]
        return PlaybookResult(rc=proc.returncode, stdout=proc.stdout, stderr=proc.stderr, tasks=tasks, workdir=workdir)

    return run
