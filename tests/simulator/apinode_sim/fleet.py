"""Start, watch and stop detached simulator node processes (``apinode-sim up/status/down``)."""

import json
import os
import shlex
import signal
import socket
import ssl
import stat
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request

NODES_FILE = "nodes.json"
START_TIMEOUT = 30.0
STOP_GRACE = 10.0


class FleetError(RuntimeError):
    """A node could not be started, found or stopped."""


def write_private_json(path, data, mode=0o600):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def node_info_path(data_dir):
    return os.path.join(data_dir, "run", "sim-node.json")


def log_path(data_dir):
    return os.path.join(data_dir, "run", "sim.log")


def read_node_info(data_dir):
    """The ``run/sim-node.json`` a running node wrote, or None."""
    try:
        with open(node_info_path(data_dir)) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def write_admin_script(data_dir):
    """``DATA_DIR/bin/apinode-admin``: runs our CLI with this interpreter against this data dir."""
    data_dir = os.path.abspath(data_dir)
    bin_dir = os.path.join(data_dir, "bin")
    os.makedirs(bin_dir, exist_ok=True)
    script = os.path.join(bin_dir, "apinode-admin")
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # An uninstalled checkout needs its path; an installed package is found by the interpreter.
    installed = package_root in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    pythonpath = "" if installed else 'PYTHONPATH=%s"${PYTHONPATH:+:$PYTHONPATH}" ' % shlex.quote(package_root)
    content = ("#!/bin/sh\n"
               "# Simulated apinode-admin of the node in this data dir\n"
               '%sexec %s -m apinode_sim.admin_cli --data-dir %s "$@"\n'
               % (pythonpath, shlex.quote(sys.executable), shlex.quote(data_dir)))
    with open(script, "w") as handle:
        handle.write(content)
    os.chmod(script, os.stat(script).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


def init_node(data_dir, admin_key=None):
    """Create a node data dir (idempotent) plus its ``bin/apinode-admin``; return the first admin key."""
    from apinode_sim.datadir import init_data_dir

    data_dir = os.path.abspath(data_dir)
    try:
        os.makedirs(data_dir, exist_ok=True)
    except OSError as exc:
        raise FleetError("cannot create data dir %s: %s" % (data_dir, exc.strerror))
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise FleetError("data dir %s is not writable" % data_dir)
    key = init_data_dir(data_dir, admin_key=admin_key)
    write_admin_script(data_dir)
    return key


def port_is_free(host, port):
    if not port:
        return True
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        # Like the server: a port left in TIME_WAIT by a killed node is free to reuse.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def probe(url, timeout=2.0):
    """HTTP status of ``GET <url>/isAlive/``, or None when nothing answers.

    TLS certificates are not verified: this only asks whether the process serves. A node that
    requires a client certificate refuses the handshake; that refusal still proves it listens.
    """
    context = None
    if url.startswith("https:"):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url + "/isAlive/", timeout=timeout, context=context) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ssl.SSLError):
            return 0
        return None
    except (ssl.SSLError, ConnectionError):
        return 0 if url.startswith("https:") else None
    except (OSError, ValueError):
        return None


def log_tail(data_dir, lines=20):
    """The end of a node's log, for an error message: without the secrets of its data dir."""
    from apinode_sim.redact import scrub_data_dir

    try:
        with open(log_path(data_dir), errors="replace") as handle:
            return scrub_data_dir("".join(handle.readlines()[-lines:]), data_dir)
    except OSError:
        return "(no log)"


def serve_command(data_dir, port=0, host="127.0.0.1", extra_args=()):
    return [sys.executable, "-m", "apinode_sim.cli", "serve", "--data-dir", data_dir,
            "--host", host, "--port", str(port)] + list(extra_args)


def spawn_node(data_dir, port=0, host="127.0.0.1", extra_args=(), timeout=START_TIMEOUT):
    """Start one detached ``serve`` process and wait until it answers; return (Popen, node info).

    The node writes its real URL to ``run/sim-node.json`` once listening (so port 0 works);
    the stale file of an earlier run is removed first so it cannot be mistaken for this one.
    """
    data_dir = os.path.abspath(data_dir)
    if not port_is_free(host, port):
        raise FleetError("port %d on %s is already in use" % (port, host))
    os.makedirs(os.path.join(data_dir, "run"), exist_ok=True)
    try:
        os.unlink(node_info_path(data_dir))
    except FileNotFoundError:
        pass
    env = dict(os.environ)
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    with open(log_path(data_dir), "ab") as log:
        process = subprocess.Popen(serve_command(data_dir, port, host, extra_args), stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env,
                                   cwd=data_dir)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise FleetError("node in %s exited with code %s before answering; log tail:\n%s"
                             % (data_dir, process.returncode, log_tail(data_dir)))
        info = read_node_info(data_dir)
        if info and info.get("pid") == process.pid and probe(info["url"]) is not None:
            return process, info
        if time.monotonic() > deadline:
            stop_pid(process.pid, process=process, grace=2.0)
            raise FleetError("node in %s did not answer /isAlive/ within %.0f s; log tail:\n%s"
                             % (data_dir, timeout, log_tail(data_dir)))
        time.sleep(0.05)


def pid_running(pid, process=None):
    """True while ``pid`` is a live process (zombies and reaped children count as gone)."""
    if process is not None:
        return process.poll() is None
    try:
        waited, unused_status = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _is_our_node(pid, data_dir):
    # Guards against signalling an unrelated process that reused the pid of a node long gone.
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            cmdline = handle.read().split(b"\0")
    except OSError:
        return True  # no procfs: trust the pid
    return b"apinode_sim.cli" in cmdline and os.fsencode(os.path.abspath(data_dir)) in cmdline


def stop_pid(pid, process=None, grace=STOP_GRACE):
    """SIGTERM, then SIGKILL after ``grace`` seconds; True if the process had to be killed."""
    if not pid_running(pid, process):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not pid_running(pid, process):
            return False
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    if process is not None:
        process.wait()
    else:
        while pid_running(pid):
            time.sleep(0.02)
    return True


def nodes_file(root):
    return os.path.join(os.path.abspath(root), NODES_FILE)


def read_nodes(root):
    path = nodes_file(root)
    try:
        with open(path) as handle:
            return json.load(handle)["nodes"]
    except FileNotFoundError:
        raise FleetError("%s not found: run 'apinode-sim up --root %s' first" % (path, root))
    except (ValueError, KeyError):
        raise FleetError("%s is not a valid nodes file" % path)


def up(root, nodes, base_port=None, host="127.0.0.1", extra_args=(), timeout=START_TIMEOUT):
    """Start ``nodes`` nodes in ``root/node1..N`` and write ``root/nodes.json``; return its content
    (admin keys included: print it through ``redact.public``).

    Nodes already running from this root are left alone and listed again. If a node fails to
    start, the nodes this call started are stopped before the error is raised.
    """
    root = os.path.abspath(root)
    if nodes < 1:
        raise FleetError("--nodes must be at least 1")
    try:
        os.makedirs(root, exist_ok=True)
    except OSError as exc:
        raise FleetError("cannot create root %s: %s" % (root, exc.strerror))
    if not os.access(root, os.W_OK | os.X_OK):
        raise FleetError("root %s is not writable" % root)
    started, entries = [], []
    try:
        for index in range(1, nodes + 1):
            name = "node%d" % index
            data_dir = os.path.join(root, name)
            key = init_node(data_dir)
            info = read_node_info(data_dir)
            if info and pid_running(info["pid"]) and _is_our_node(info["pid"], data_dir) \
                    and probe(info["url"]) is not None:
                pid, url, port = info["pid"], info["url"], info["port"]
            else:
                port = base_port + index - 1 if base_port else 0
                process, info = spawn_node(data_dir, port, host, extra_args, timeout)
                started.append(process)
                pid, url, port = process.pid, info["url"], info["port"]
            entries.append({"name": name, "url": url, "port": port, "admin_key": key["key"],
                            "data_dir": data_dir, "pid": pid, "log": log_path(data_dir)})
    except BaseException:
        for process in started:
            stop_pid(process.pid, process=process, grace=2.0)
        raise
    result = {"nodes": entries}
    write_private_json(nodes_file(root), result)
    return result


def status(root):
    """[{name, url, pid, state}]; state is 'alive', 'not-alive' (503: drained), 'listening' or 'down'."""
    report = []
    for node in read_nodes(root):
        code = probe(node["url"]) if pid_running(node["pid"]) else None
        # 0: a TLS node that wants a client certificate refused our probe, but it listens.
        state = {None: "down", 503: "not-alive", 0: "listening"}.get(code, "alive")
        report.append({"name": node["name"], "url": node["url"], "pid": node["pid"], "state": state})
    return report


def down(root, grace=STOP_GRACE):
    """Stop every node of ``root``; return [{name, pid, result}] ('stopped', 'killed', 'not running')."""
    report = []
    for node in read_nodes(root):
        pid = node["pid"]
        if not pid_running(pid) or not _is_our_node(pid, node["data_dir"]):
            result = "not running"
        else:
            result = "killed" if stop_pid(pid, grace=grace) else "stopped"
        report.append({"name": node["name"], "pid": pid, "result": result})
    return report
