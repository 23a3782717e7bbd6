"""Admin GET throughput of the simulator with one keep-alive connection (a benchmark, not a test).

    python tests/performance/bench_simulator.py [--count 2000] [--services 20] [--json out.json]

Starts one node on a free port in a temporary data dir, creates some services so the answer is
not trivially small, then times ``--count`` sequential ``GET /admin/api/services`` on one
``http.client`` connection. The simulator must stay well above 500 requests/s so that it never
dominates the collection's own benchmarks.
"""

import argparse
import base64
import http.client
import json
import os
import platform
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "simulator"))

from apinode_sim.testing import SimNode  # noqa: E402


def measure(node, count, path="/admin/api/services"):
    parsed = urllib.parse.urlsplit(node.url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    headers = {"Authorization": "Basic " + base64.b64encode((node.admin_key + ":").encode()).decode()}
    warmup = min(50, count)
    for unused_attempt in range(warmup):
        connection.request("GET", path, headers=headers)
        connection.getresponse().read()
    errors = 0
    started = time.perf_counter()
    for unused_attempt in range(count):
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            errors += 1
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed, errors


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="timed requests (default: %(default)s)")
    parser.add_argument("--services", type=int, default=20, help="services created first (default: %(default)s)")
    parser.add_argument("--json", metavar="PATH", help="also write the result as JSON to PATH")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="apinode-sim-bench-") as root:
        node = SimNode("bench", os.path.join(root, "node1"), test_hooks=False).start()
        try:
            client_headers = {"Authorization": "Basic " + base64.b64encode((node.admin_key + ":").encode()).decode(),
                              "Content-Type": "application/json"}
            parsed = urllib.parse.urlsplit(node.url)
            setup = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
            for index in range(args.services):
                setup.request("POST", "/admin/api/services/", body=json.dumps({"serviceId": "svc%03d" % index}),
                              headers=client_headers)
                setup.getresponse().read()
            setup.close()
            elapsed, errors = measure(node, args.count)
        finally:
            node.stop()
    result = {"benchmark": "simulator_admin_get_keepalive", "path": "/admin/api/services",
              "requests": args.count, "services": args.services, "errors": errors,
              "seconds": round(elapsed, 4), "requests_per_second": round(args.count / elapsed, 1),
              "python": platform.python_version(), "cpus": os.cpu_count()}
    print("%d GET /admin/api/services in %.3f s: %.0f requests/s (%d errors)"
          % (args.count, elapsed, args.count / elapsed, errors))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
