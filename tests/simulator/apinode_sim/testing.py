"""pytest helpers: simulated nodes as real processes, their test hooks, and the bundle maker.

    with SimFleet(tmp_path, nodes=2) as fleet:
        node = fleet.node("node1")
        node.admin_client().create_service("churn")
        assert [r["method"] for r in node.mutating_requests()] == ["POST"]
"""

import json
import os
import signal as _signal
import ssl
import urllib.error
import urllib.request

from apinode_sim import bundles, fleet

READ_METHODS = ("GET", "HEAD", "OPTIONS")
# Probes and monitoring calls that a harness makes on its own; never "mutating".
PROBE_PREFIXES = ("/isAlive", "/monitoring/", "/public/api/v1/ping")


def node_args(hashed_keys=False, key_expiry_unit=None, dss_version=None):
    """``serve`` options for the keyword options of SimNode / SimFleet (None: the serve default)."""
    args = ["--hashed-keys"] if hashed_keys else []
    if key_expiry_unit:
        args += ["--key-expiry-unit", key_expiry_unit]
    if dss_version:
        args += ["--dss-version", dss_version]
    return args


class SimNode:
    """One simulator process with its data dir; stays on the same port across restarts."""

    def __init__(self, name, data_dir, test_hooks=True, extra_args=(), port=0, client_cert=None,
                 hashed_keys=False, key_expiry_unit=None, dss_version=None):
        self.name = name
        self.data_dir = os.path.abspath(data_dir)
        self.test_hooks = test_hooks
        self.hashed_keys = hashed_keys
        self.extra_args = node_args(hashed_keys, key_expiry_unit, dss_version) + list(extra_args)
        self.port = port
        self.url = None
        self.pid = None
        self.process = None
        self.client_cert = client_cert
        self.admin_key = fleet.init_node(self.data_dir)["key"]

    def __repr__(self):
        return "SimNode(%r, url=%r, pid=%r)" % (self.name, self.url, self.pid)

    # --- process control -----------------------------------------------------------------------
    def start(self):
        """Start the process (on the port of the previous run, if any) and wait until it answers."""
        args = (["--test-hooks"] if self.test_hooks else []) + self.extra_args
        self.process, info = fleet.spawn_node(self.data_dir, port=self.port, extra_args=args)
        self.pid, self.url, self.port = self.process.pid, info["url"], info["port"]
        return self

    def kill(self, signal=_signal.SIGKILL):
        """Send ``signal`` (default: kill -9) and wait for the process to end."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal)
        self.process.wait(timeout=30)

    def stop(self, grace=10.0):
        """SIGTERM, then SIGKILL after ``grace`` seconds."""
        if self.process is not None:
            fleet.stop_pid(self.process.pid, process=self.process, grace=grace)

    def restart(self):
        self.stop()
        return self.start()

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    # --- clients -------------------------------------------------------------------------------
    def _tls_kwargs(self):
        kwargs = {}
        if self.url and self.url.startswith("https:"):
            kwargs["no_check_certificate"] = True
        if self.client_cert:
            kwargs["client_certificate"] = self.client_cert
        return kwargs

    def admin_client(self, api_key=None):
        """``dataikuapi.APINodeAdminClient`` authenticated with the node's first admin key."""
        import dataikuapi

        return dataikuapi.APINodeAdminClient(self.url, api_key or self.admin_key, **self._tls_kwargs())

    def user_client(self, service_id, api_key=None):
        """``dataikuapi.APINodeClient`` for one service (``api_key``: a user query key)."""
        import dataikuapi

        return dataikuapi.APINodeClient(self.url, service_id, api_key=api_key, **self._tls_kwargs())

    # --- test hooks ----------------------------------------------------------------------------
    def _hook(self, method, path, body=None):
        context = None
        if self.url.startswith("https:"):
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            if self.client_cert:
                cert, key = self.client_cert if isinstance(self.client_cert, tuple) else (self.client_cert, None)
                context.load_cert_chain(cert, key)
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + "/__sim__/" + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30, context=context) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise AssertionError("%s /__sim__/%s answered %s (test hooks on? %s)"
                                 % (method, path, exc.code, self.test_hooks))
        return json.loads(raw) if raw.strip() else None

    def requests(self, clear=False):
        """The request log: [{seq, time, method, path, query, status, duration_ms, not_alive}] in order
        (``not_alive``: the node was drained, its ``/isAlive/`` answering 503, when the request arrived)."""
        log = self._hook("GET", "requests")["requests"]
        if clear:
            self.clear_requests()
        return log

    def mutating_requests(self):
        """Logged requests other than reads and probes (what check mode must never send)."""
        return [r for r in self.requests() if r["method"] not in READ_METHODS
                and not r["path"].startswith(PROBE_PREFIXES)]

    def clear_requests(self):
        self._hook("DELETE", "requests")

    def add_fault(self, **rule):
        """Add a fault rule (method, path regex, status, body, delay, drop, count, probability)."""
        return self._hook("POST", "faults", rule)["id"]

    def faults(self):
        return self._hook("GET", "faults")

    def clear_faults(self):
        """Clear every fault rule: by path, and of generations."""
        self._hook("DELETE", "faults")
        self._hook("DELETE", "generation-faults")

    def add_generation_fault(self, service, generation, **rule):
        """Make ``generation`` of ``service`` fail, answer a custom body or answer slower for a share of its
        queries (endpoint, share, status, body, delay_ms); returns the rule id."""
        return self._hook("POST", "generation-faults", dict(rule, service=service, generation=generation))["id"]

    def generation_faults(self):
        """The generation fault rules, each with ``seen`` (matching queries) and ``hits`` (queries faulted)."""
        return self._hook("GET", "generation-faults")["faults"]

    def send_traffic(self, service, endpoint, count, **options):
        """Send ``count`` synthetic queries (action, body, generation, dispatch_key_share) through the node's own
        dispatch, faults and metrics; returns ``{sent, statuses, generations, with_dispatch_key}``."""
        return self._hook("POST", "traffic", dict(options, service=service, endpoint=endpoint, count=count))

    def set_costs(self, **costs):
        """Change ``import_seconds_per_mb`` / ``preload_seconds`` at run time."""
        return self._hook("POST", "costs", costs)

    def admin_keys(self):
        """Every admin key object in the data dir (read from disk, not over HTTP)."""
        with open(os.path.join(self.data_dir, "config", "adminkeys.json")) as handle:
            return json.load(handle).get("keys", [])


class SimFleet:
    """N nodes named node1..N under ``root``, with test hooks on free ports; a context manager.

    ``hashed_keys=True`` runs every node with ``--hashed-keys``; ``key_expiry_unit`` ("days"/"ms") and
    ``dss_version`` set the matching ``serve`` options (None keeps their defaults).
    """

    def __init__(self, root, nodes=3, test_hooks=True, extra_args=(), client_cert=None, hashed_keys=False,
                 key_expiry_unit=None, dss_version=None):
        self.root = os.path.abspath(str(root))
        self.nodes = [SimNode("node%d" % i, os.path.join(self.root, "node%d" % i), test_hooks=test_hooks,
                              extra_args=extra_args, client_cert=client_cert, hashed_keys=hashed_keys,
                              key_expiry_unit=key_expiry_unit, dss_version=dss_version)
                      for i in range(1, nodes + 1)]

    def __enter__(self):
        try:
            for node in self.nodes:
                node.start()
        except BaseException:
            self.stop()
            raise
        self.write_nodes_file()
        return self

    def __exit__(self, *exc_info):
        self.stop()
        return False

    def __iter__(self):
        return iter(self.nodes)

    def __len__(self):
        return len(self.nodes)

    def stop(self):
        for node in self.nodes:
            node.stop(grace=5.0)

    def node(self, name):
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def write_nodes_file(self):
        """``root/nodes.json`` in the ``apinode-sim up`` format, for tools that read it."""
        entries = [{"name": n.name, "url": n.url, "port": n.port, "admin_key": n.admin_key,
                    "data_dir": n.data_dir, "pid": n.pid, "log": fleet.log_path(n.data_dir)} for n in self.nodes]
        fleet.write_private_json(fleet.nodes_file(self.root), {"nodes": entries})

    def all_keys(self):
        """Every admin key secret on every node (from the data dirs), for leak checks."""
        return {key["key"] for node in self.nodes for key in node.admin_keys() if key.get("key")}


def package_env(extra=None):
    """Environment for subprocesses running ``python -m apinode_sim...`` from an uninstalled checkout."""
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra or {})
    return env


def make_bundle(out_dir, **kwargs):
    """Run the bundle maker in-process (see ``apinode_sim.bundles.make_bundle``); return the manifest."""
    return bundles.make_bundle(str(out_dir), **kwargs)
