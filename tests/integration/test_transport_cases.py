"""Transport cases end to end: a vaulted admin key, a node published under a path prefix, and a 429
with ``Retry-After``.

Every case runs real playbooks against simulated nodes and reads the outcome back out of band: the
nodes' request logs, the official client and the log of the reverse proxy in front of them.
"""

import collections
import http.client
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from harness import module_play, task
from test_role_deploy import FEATURES, ROLLBACK, deploy_vars, generations, served

# Every case here depends on how ansible-core runs a task (vault, argument checks, proxies, path prefixes).
pytestmark = pytest.mark.core_sensitive

ROLLING_DEPLOY = "dss.apinode.rolling_deploy"
PLAN = "Plan the release on this node"
FLEET_STATUS = "dss.apinode.fleet_status"
VAULT_PASSWORD = "correct horse battery staple"
# Hop-by-hop and framing headers: the proxy sets its own.
HOP_HEADERS = ("connection", "keep-alive", "transfer-encoding", "content-length", "host", "proxy-connection")
# A developer's proxy variables must not intercept the calls of these tests (empty values are ignored).
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
NO_PROXY_ENV = dict((name, "") for name in PROXY_VARIABLES)


@pytest.fixture
def churn(make_bundle):
    return make_bundle(services=["churn"], versions=["v1", "v2"])


def recorded(result):
    return json.dumps(result.tasks)


# --- a vaulted admin key -------------------------------------------------------------------------------

def vault_inline(value, password_file, name="apinode_admin_key"):
    """``value`` encrypted with ansible-vault: the lines of its ``!vault |`` block."""
    ansible_vault = Path(sys.executable).parent / "ansible-vault"
    proc = subprocess.run([str(ansible_vault), "encrypt_string", "--vault-password-file", str(password_file),
                           "--stdin-name", name],
                          input=value, capture_output=True, text=True, check=True, timeout=120)
    block = proc.stdout.split("!vault |", 1)[1]
    lines = [line.strip() for line in block.splitlines() if line.strip()]
    assert lines[0].startswith("$ANSIBLE_VAULT;"), proc.stdout
    assert value not in proc.stdout
    return lines


def vaulted_inventory(fleet, path, password_file, variable):
    """A YAML inventory of the fleet whose admin keys are inline ``!vault`` values, as users write them."""
    out = ["all:", "  children:", "    apinodes:", "      hosts:"]
    for node in fleet.nodes:
        out += ["        %s:" % node.name,
                "          ansible_connection: local",
                "          ansible_python_interpreter: '{{ ansible_playbook_python }}'",
                "          apinode_url: %s" % node.url,
                "          apinode_data_dir: %s" % json.dumps(str(node.data_dir)),
                "          %s: !vault |" % variable]
        out += ["            " + line for line in vault_inline(node.admin_key, password_file, variable)]
    path.write_text("\n".join(out) + "\n")
    return path


# The inventory's apinode_admin_key reaches the role through its default; apinode_deploy_admin_key
# is the role's own option, validated as it is given.
@pytest.mark.parametrize("variable", ["apinode_admin_key", "apinode_deploy_admin_key"])
def test_vaulted_admin_key_deploys_and_never_shows(sim_fleet, churn, run_playbook, tmp_path, variable):
    fleet = sim_fleet(nodes=2)
    password_file = tmp_path / "vault-password"
    password_file.write_text(VAULT_PASSWORD + "\n")
    password_file.chmod(0o600)
    inventory = vaulted_inventory(fleet, tmp_path / "vaulted.yml", password_file, variable)
    assert all(node.admin_key not in inventory.read_text() for node in fleet.nodes)
    keys_before = {node.name: len(node.admin_keys()) for node in fleet.nodes}

    result = run_playbook(ROLLING_DEPLOY, inventory=inventory, extra_vars=deploy_vars(churn, "v1"), verbosity=3,
                          env=dict(NO_PROXY_ENV, ANSIBLE_VAULT_PASSWORD_FILE=str(password_file)))

    assert result.rc == 0, result.output
    for node in fleet.nodes:
        enabled, mapping = served(node)
        assert enabled and mapping["generation"] == "v1", (node.name, mapping)
        assert node.user_client("churn").predict_record("predict", FEATURES)["apiContext"]["serviceGeneration"] == "v1"
        # The vaulted key itself did the work: every admin call was accepted, and the role did not fall
        # back to creating a node-local key through the node's CLI.
        admin_calls = [r for r in node.requests() if r["path"].startswith("/admin/api/")]
        assert admin_calls and all(r["status"] < 400 for r in admin_calls), admin_calls
        assert len(node.admin_keys()) == keys_before[node.name], node.name
        assert not (Path(node.data_dir) / "config" / "dss-apinode-deploy.key").exists()
    secrets = {node.admin_key for node in fleet.nodes} | {VAULT_PASSWORD}
    for secret in secrets:
        assert secret not in result.output, "a secret (%s...) is in the output" % secret[:4]
        assert secret not in recorded(result), "a secret (%s...) is in the recorded results" % secret[:4]


def test_vaulted_admin_key_stays_hidden_when_the_argument_check_fails(sim_fleet, churn, run_playbook, tmp_path):
    fleet = sim_fleet(nodes=1)
    password_file = tmp_path / "vault-password"
    password_file.write_text(VAULT_PASSWORD + "\n")
    inventory = vaulted_inventory(fleet, tmp_path / "vaulted.yml", password_file, "apinode_deploy_admin_key")

    result = run_playbook(ROLLING_DEPLOY, inventory=inventory, verbosity=3,
                          extra_vars=dict(deploy_vars(churn, "v1"), apinode_deploy_on_failure="carry_on"),
                          env=dict(NO_PROXY_ENV, ANSIBLE_VAULT_PASSWORD_FILE=str(password_file)))

    assert result.rc != 0
    # The bad option is named; the vaulted one neither fails the check nor shows.
    assert "apinode_deploy_on_failure" in result.output and "carry_on" in result.output
    assert "Unknown parameter type" not in result.output
    node = fleet.nodes[0]
    assert node.admin_key not in result.output and node.admin_key not in recorded(result)
    assert node.mutating_requests() == []


# --- a node published under a path prefix --------------------------------------------------------------

class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - quiet
        pass

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else None

    def _answer(self, status, headers, data):
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in HOP_HEADERS + ("date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _handle(self):
        proxy = self.server.proxy
        self.close_connection = True
        body = self._body()
        target = proxy.route(self.path)
        if target is None:
            self._answer(404, [("Content-Type", "text/plain")], b"proxy: no route for this path")
            return
        route, port, upstream_path = target
        proxy.record(route, port, self.command, upstream_path)
        headers = dict((k, v) for k, v in self.headers.items() if k.lower() not in HOP_HEADERS)
        upstream = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            upstream.request(self.command, upstream_path, body=body, headers=headers)
            answer = upstream.getresponse()
            self._answer(answer.status, answer.getheaders(), answer.read())
        finally:
            upstream.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle


class PrefixProxy:
    """A reverse proxy publishing each node under a path prefix (``/apinode1`` -> node1), as a
    path-routing load balancer or ingress does, which also serves as a plain HTTP proxy for the nodes;
    ``calls(node)`` lists the ``(method, path)`` forwarded to a node."""

    def __init__(self, nodes):
        self.routes = dict(("/api" + node.name, node.port) for node in nodes)
        self.forwarded = collections.defaultdict(list)
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _ProxyHandler)
        self._httpd.daemon_threads = True
        self._httpd.proxy = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def root(self):
        return "http://127.0.0.1:%d" % self._httpd.server_address[1]

    def url(self, node):
        return "%s/api%s" % (self.root, node.name)

    def route(self, raw_path):
        """``(route, port, upstream path)`` of a request: a prefixed path (reverse proxy) or, from a client
        that uses this proxy as its HTTP proxy, an absolute URL to a node (route ``forward``)."""
        if raw_path.startswith("http://"):
            split = urlsplit(raw_path)
            if split.port in self.routes.values():
                return "forward", split.port, split.path + ("?" + split.query if split.query else "")
            return None
        for prefix, port in self.routes.items():
            if raw_path == prefix or raw_path.startswith((prefix + "/", prefix + "?")):
                return prefix, port, raw_path[len(prefix):] or "/"
        return None

    def record(self, route, port, method, upstream_path):
        with self._lock:
            self.forwarded[(route, port)].append((method, normalised(upstream_path)))

    def calls(self, node, route=None):
        """What the proxy forwarded to ``node``: through its prefix, or ``route="forward"`` as an HTTP proxy."""
        with self._lock:
            return list(self.forwarded[(route or "/api" + node.name, node.port)])

    def clear(self):
        with self._lock:
            self.forwarded.clear()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


def normalised(path):
    """A request path as the simulator logs it: no query, decoded, no trailing slash."""
    return unquote(urlsplit(path).path).rstrip("/") or "/"


@pytest.fixture
def proxied_fleet(sim_fleet):
    """Three simulated nodes behind one prefix-stripping reverse proxy."""
    fleet = sim_fleet(nodes=3)
    for node in fleet.nodes:
        node.clear_requests()  # the start-up probes did not go through the proxy
    with PrefixProxy(fleet.nodes) as proxy:
        yield fleet, proxy


def proxied_inventory(fleet, proxy, path, fleet_inventory):
    """The fleet's inventory, with each node's URL the proxy's prefixed one."""
    fleet_inventory(fleet, path)
    data = json.loads(path.read_text())
    for name, hostvars in data["all"]["children"]["apinodes"]["hosts"].items():
        hostvars["apinode_url"] = proxy.url(fleet.node(name))
    path.write_text(json.dumps(data, indent=2))
    return path


def assert_all_through_proxy(nodes, proxy):
    """Every request each node logged came through its prefix, and the proxy forwarded nothing else."""
    for node in nodes:
        received = collections.Counter((r["method"], r["path"]) for r in node.requests())
        forwarded = collections.Counter(proxy.calls(node))
        assert received, node.name
        assert received == forwarded, (node.name, received - forwarded, forwarded - received)


def test_module_task_through_a_path_prefix(proxied_fleet, run_playbook, fleet_inventory, tmp_path):
    fleet, proxy = proxied_fleet
    node = fleet.node("node1")
    node.admin_client().create_service("churn")
    node.clear_requests()
    play = module_play(task("Node behind the prefix", "apinode_info", {"gather": ["node", "services"]},
                            register="info"), hosts="node1")

    result = run_playbook(play, inventory=proxied_inventory(fleet, proxy, tmp_path / "inventory.json", fleet_inventory),
                          env=NO_PROXY_ENV)

    assert result.rc == 0, result.output
    info = result.task("Node behind the prefix")
    assert info["node"]["url"] == proxy.url(node)
    assert info["node"]["alive"] is True and info["node"]["dss_version"]
    assert [s["id"] for s in info["services"]] == ["churn"]
    paths = [path for method, path in proxy.calls(node)]
    assert "/isAlive" in paths and "/admin/api/services" in paths, paths
    assert_all_through_proxy([node], proxy)
    assert all(proxy.calls(other) == [] for other in fleet.nodes if other is not node)


def test_role_and_fleet_status_through_path_prefixes(proxied_fleet, churn, run_playbook, fleet_inventory, tmp_path):
    fleet, proxy = proxied_fleet
    inventory = proxied_inventory(fleet, proxy, tmp_path / "inventory.json", fleet_inventory)
    smoke_test = ("POST", "/public/api/v1/churn/predict/predict")
    switch = ("POST", "/admin/api/services/churn/actions/setMapping")

    first = run_playbook(ROLLING_DEPLOY, inventory=inventory, extra_vars=deploy_vars(churn, "v1", generation="v1"),
                         env=NO_PROXY_ENV)

    assert first.rc == 0, first.output
    assert_all_through_proxy(fleet.nodes, proxy)
    for node in fleet.nodes:
        assert first.task(PLAN, node.name)["drift"], node.name
        assert smoke_test in proxy.calls(node) and switch in proxy.calls(node), (node.name, proxy.calls(node))
    before = {node.name: served(node) for node in fleet.nodes}
    assert all(enabled and mapping["generation"] == "v1" for enabled, mapping in before.values()), before

    # v2 fails its smoke test on node2: every node that switched is put back, through its prefix too.
    node2 = fleet.node("node2")
    node2.add_fault(method="POST", path="^/public/api/v1/churn/predict/predict$", status=500,
                    body={"errorType": "com.dataiku.lambda.ModelLoadException", "message": "model failed to load"})
    for node in fleet.nodes:
        node.clear_requests()
    proxy.clear()

    failed = run_playbook(ROLLING_DEPLOY, inventory=inventory, extra_vars=deploy_vars(churn, "v2", generation="v2"),
                          env=NO_PROXY_ENV)

    assert failed.rc != 0 and failed.failed_hosts == ["node2"], failed.output
    assert "model failed to load" in failed.output
    assert_all_through_proxy(fleet.nodes, proxy)
    put_back = [r["item"] for r in next(iter(failed.results(ROLLBACK).values()))["results"] if r.get("changed")]
    assert sorted(put_back) == ["node1", "node2", "node3"]
    for node in fleet.nodes:
        assert proxy.calls(node).count(switch) == 2, (node.name, proxy.calls(node))  # to v2, then back
        assert smoke_test in proxy.calls(node), node.name
        assert served(node) == before[node.name], node.name
        assert generations(node) == ["v1", "v2"]

    # The fleet table reads every node through its prefix, and only reads.
    node2.clear_faults()
    for node in fleet.nodes:
        node.clear_requests()
    proxy.clear()

    status = run_playbook(FLEET_STATUS, inventory=inventory, extra_vars=deploy_vars(churn, "v1", generation="v1"),
                          check=True, env=NO_PROXY_ENV)

    assert status.rc == 0, status.output
    lines = status.task("Print the fleet table", "node1")["msg"]
    rows = dict((line.split()[0], line) for line in lines[1:] if line.split() and line.split()[0].startswith("node"))
    assert sorted(rows) == ["node1", "node2", "node3"], lines
    assert all(row.endswith(" ok") for row in rows.values()), lines
    assert_all_through_proxy(fleet.nodes, proxy)
    assert all(method == "GET" for node in fleet.nodes for method, path in proxy.calls(node))


# --- 429 with Retry-After --------------------------------------------------------------------------------

# 2 s is longer than the client's own first backoff (1 s): only the header can explain that wait.
@pytest.mark.parametrize("retry_after", [1, 2])
def test_429_with_retry_after_is_waited_for_then_retried(sim_fleet, run_playbook, retry_after):
    fleet = sim_fleet(nodes=1)
    node = fleet.nodes[0]
    node.admin_client().create_service("churn")
    node.add_fault(method="GET", path="^/admin/api/services$", status=429, count=1,
                   headers={"Retry-After": str(retry_after)},
                   body={"errorType": "TooManyRequests", "message": "slow down"})
    node.clear_requests()
    play = module_play(task("Services, rate-limited once", "apinode_info", {"gather": ["services"]}))

    result = run_playbook(play, inventory=fleet, env=NO_PROXY_ENV)

    assert result.rc == 0, result.output
    info = result.task("Services, rate-limited once")
    assert [s["id"] for s in info["services"]] == ["churn"]
    assert any("429" in w and "Retry-After: %d s" % retry_after in w for w in info.get("warnings", [])), info
    calls = [r for r in node.requests() if r["method"] == "GET" and r["path"] == "/admin/api/services"]
    assert [r["status"] for r in calls] == [429, 200], calls
    # Logged when answered: the retry was answered at least Retry-After after the 429 was.
    assert calls[1]["time"] - calls[0]["time"] >= retry_after, calls
    assert node.faults() == {"faults": []}


# --- use_proxy -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("use_proxy", [None, False])
def test_role_follows_the_proxy_variables_unless_use_proxy_is_false(proxied_fleet, churn, run_playbook, use_proxy):
    fleet, proxy = proxied_fleet
    wanted = deploy_vars(churn, "v1", generation="v1")
    if use_proxy is not None:
        wanted["apinode_deploy_use_proxy"] = use_proxy

    # The nodes' own URLs, with an HTTP proxy in the environment that the modules run in.
    result = run_playbook(FLEET_STATUS, inventory=fleet, extra_vars=wanted, check=True,
                          env=dict(NO_PROXY_ENV, http_proxy=proxy.root))

    assert result.rc == 0, result.output
    for node in fleet.nodes:
        received = collections.Counter((r["method"], r["path"]) for r in node.requests())
        assert ("GET", "/admin/api/services") in received, node.name
        forwarded = collections.Counter(proxy.calls(node, route="forward"))
        if use_proxy is False:
            assert forwarded == collections.Counter(), node.name  # straight to the node
        else:
            assert forwarded == received, node.name  # every call went through the proxy (the default)
