"""run_server: publishes run/sim-node.json once listening and stops cleanly on SIGTERM."""

import json
import os
import signal
import subprocess
import sys
import time

import requests

import apinode_sim

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(apinode_sim.__file__)))


def test_run_server_publishes_its_url_and_stops_on_sigterm(tmp_path):
    data_dir = str(tmp_path / "node")
    code = ("import sys; from apinode_sim.server import run_server; "
            "sys.exit(run_server(sys.argv[1], test_hooks=True))")
    env = dict(os.environ, PYTHONPATH=PACKAGE_ROOT)
    process = subprocess.Popen([sys.executable, "-c", code, data_dir], env=env)
    run_file = os.path.join(data_dir, "run", "sim-node.json")
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(run_file):
            assert process.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "no run file"
            time.sleep(0.05)
        with open(run_file) as handle:
            info = json.load(handle)
        assert info["pid"] == process.pid and info["test_hooks"] is True
        assert info["url"] == "http://127.0.0.1:%d" % info["port"]
        assert requests.get(info["url"] + "/isAlive/").json()["alive"] is True
        with open(os.path.join(data_dir, "config", "adminkeys.json")) as handle:
            assert len(json.load(handle)["keys"]) == 1
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
