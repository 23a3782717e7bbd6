"""``apinode-sim``: create, serve, start, watch and stop simulated API nodes; write sample artefacts."""

import argparse
import errno
import json
import os
import sys

from apinode_sim import __version__, versions

DESCRIPTION = """\
Simulator of Dataiku DSS API nodes (admin API, user API, /isAlive/) for tests and demos.

  init         create a node data dir and its bin/apinode-admin
  serve        run one node in the foreground
  up           start N detached nodes under a root dir and write ROOT/nodes.json
  status       tell which nodes of a root dir answer
  down         stop the nodes of a root dir
  make-bundle  write sample service packages, code env folders and model archives
"""


def _print_json(data):
    print(json.dumps(data, indent=2))


def _print_public_json(data, keys_file):
    """``data`` without its secrets (redact.public), and where they are: what init and up print."""
    from apinode_sim.redact import public

    _print_json(dict(public(data), keys_file=keys_file))


def _add_server_flags(parser):
    """Flags shared by ``serve`` and ``up`` (passed through to each node)."""
    group = parser.add_argument_group("node options")
    group.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    group.add_argument("--test-hooks", action="store_true",
                       help="enable the /__sim__/ request log, fault and cost hooks (never on a shared host)")
    group.add_argument("--certfile", help="PEM certificate: serve HTTPS")
    group.add_argument("--keyfile", help="PEM private key of --certfile")
    group.add_argument("--client-ca", help="PEM CA bundle: require client certificates signed by it (mTLS)")
    group.add_argument("--import-seconds-per-mb", type=float, default=0.0, metavar="X",
                       help="simulated import cost, seconds per MB of package (default: 0)")
    group.add_argument("--preload-seconds", type=float, default=0.0, metavar="Y",
                       help="simulated cost of mounting a generation, seconds (default: 0)")
    group.add_argument("--dss-version", default=versions.NEWEST, metavar="V",
                       help="DSS version the node announces (DSS-Version header) and behaves as: admin "
                       "features newer than V answer 404/405 like an older node (default: %(default)s)")
    group.add_argument("--hashed-keys", action="store_true",
                       help="admin keys are hashed: listing them gives ids and metadata, never the secret "
                       "(needs --dss-version 13.1 or later)")
    # INFERRED default: the public DSS and Govern key APIs take expiry as a lifetime in days.
    group.add_argument("--key-expiry-unit", choices=("days", "ms"), default="days",
                       help="meaning of an admin key's expiry: a lifetime in days, or an absolute date in "
                       "epoch milliseconds (default: %(default)s)")


def _server_args(args):
    """The server flags of ``args`` as a ``serve`` command line."""
    out = []
    if args.test_hooks:
        out.append("--test-hooks")
    if args.hashed_keys:
        out.append("--hashed-keys")
    for flag in ("certfile", "keyfile", "client_ca"):
        value = getattr(args, flag)
        if value:
            out += ["--" + flag.replace("_", "-"), os.path.abspath(value)]
    out += ["--import-seconds-per-mb", repr(args.import_seconds_per_mb),
            "--preload-seconds", repr(args.preload_seconds), "--dss-version", args.dss_version,
            "--key-expiry-unit", args.key_expiry_unit]
    return out


def _check_node_flags(args):
    from apinode_sim.server import check_node_options

    try:
        check_node_options(args.dss_version, args.hashed_keys)
    except ValueError as exc:
        raise SystemExit("error: %s" % exc)
    if bool(args.certfile) != bool(args.keyfile):
        raise SystemExit("error: --certfile and --keyfile go together")
    if args.client_ca and not args.certfile:
        raise SystemExit("error: --client-ca needs --certfile and --keyfile (mTLS is on top of HTTPS)")
    for flag in ("certfile", "keyfile", "client_ca"):
        value = getattr(args, flag)
        if value and not os.path.isfile(value):
            raise SystemExit("error: --%s %s: no such file" % (flag.replace("_", "-"), value))


def cmd_init(args):
    from apinode_sim.datadir import DataDir
    from apinode_sim.fleet import init_node

    key = init_node(args.data_dir, admin_key=args.admin_key)
    _print_public_json(key, DataDir(args.data_dir).admin_keys)
    return 0


def cmd_serve(args):
    from apinode_sim.fleet import init_node
    from apinode_sim.server import run_server

    _check_node_flags(args)
    init_node(args.data_dir)
    try:
        run_server(os.path.abspath(args.data_dir), host=args.host, port=args.port, test_hooks=args.test_hooks,
                   certfile=args.certfile, keyfile=args.keyfile, client_ca=args.client_ca,
                   import_seconds_per_mb=args.import_seconds_per_mb, preload_seconds=args.preload_seconds,
                   dss_version=args.dss_version, hashed_keys=args.hashed_keys,
                   key_expiry_unit=args.key_expiry_unit)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise SystemExit("error: port %d on %s is already in use" % (args.port, args.host))
        if exc.errno == errno.EADDRNOTAVAIL:
            raise SystemExit("error: cannot listen on %s (address not available)" % args.host)
        raise
    return 0


def cmd_up(args):
    from apinode_sim import fleet

    _check_node_flags(args)
    result = fleet.up(args.root, args.nodes, base_port=args.base_port, host=args.host,
                      extra_args=_server_args(args), timeout=args.timeout)
    keys_file = fleet.nodes_file(args.root)
    if args.json:
        _print_public_json(result, keys_file)
    else:
        for node in result["nodes"]:
            print("%-8s %s  %s  (pid %s)" % (node["name"], node["url"], node["data_dir"], node["pid"]))
        print("admin keys: %s (mode 0600)" % keys_file)
    return 0


def cmd_status(args):
    from apinode_sim import fleet

    report = fleet.status(args.root)
    if args.json:
        _print_json({"nodes": report})
    else:
        for node in report:
            print("%-8s %-10s %s (pid %s)" % (node["name"], node["state"], node["url"], node["pid"]))
    return 1 if any(node["state"] == "down" for node in report) else 0


def cmd_down(args):
    from apinode_sim import fleet

    for node in fleet.down(args.root, grace=args.grace):
        print("%-8s %s (pid %s)" % (node["name"], node["result"], node["pid"]))
    return 0


def cmd_make_bundle(args):
    from apinode_sim.bundles import make_bundle

    created_on = None
    if args.created_on:
        created_on = {}
        for spec in args.created_on:
            version, separator, value = spec.rpartition("=")
            if not value.isdigit():
                raise SystemExit("error: --created-on wants [VERSION=]EPOCH_MS, got %r" % spec)
            if not version:
                created_on = int(value)
                break
            created_on[version] = int(value)
    manifest = make_bundle(
        args.out, services=args.service or ["svc"], versions=args.version or ["v1"],
        endpoints=args.endpoint or ["predict"], failing_endpoints=args.failing_endpoint,
        corrupted=args.corrupted, no_tag=args.no_tag, code_envs=args.code_env, models=args.model,
        model_format=args.model_format, size_mb=args.size_mb, query_keys=args.query_key,
        private=args.private, created_on=created_on, dss_version=args.dss_version)
    # Paths only: the manifest itself may hold user query keys.
    for package in manifest["packages"]:
        print(package["path"])
    for env in manifest["code_envs"]:
        print(env["path"])
    for model in manifest["models"]:
        print(model["path"])
    print(os.path.join(os.path.abspath(args.out), "manifest.json"))
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="apinode-sim", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version="apinode-sim " + __version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("init", help="create a node data dir (idempotent) and say where its admin key is",
                       description="Create a node data dir laid out like a real API node's, with "
                       "config/adminkeys.json holding one admin key and an executable bin/apinode-admin, "
                       "and print the key's id, label, creator and date with keys_file, the path of "
                       "config/adminkeys.json (never the secret). An existing data dir is left alone.")
    p.add_argument("data_dir", metavar="DATA_DIR")
    p.add_argument("--admin-key", metavar="K", help="use this secret for the first admin key instead of a "
                   "generated 32-character one")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("serve", help="run one node in the foreground (initialises the data dir if needed)",
                       description="Run one node in the foreground until SIGTERM or Ctrl-C. Once listening "
                       "it writes DATA_DIR/run/sim-node.json = {url, pid, port, test_hooks}.")
    p.add_argument("--data-dir", required=True, metavar="D")
    p.add_argument("--port", type=int, default=0, help="port (default: 0 = a free port, see run/sim-node.json)")
    _add_server_flags(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("up", help="start N detached nodes and write ROOT/nodes.json",
                       description="Start N detached nodes with data dirs ROOT/node1..N, wait until each "
                       "answers /isAlive/ and write ROOT/nodes.json = {\"nodes\": [{name, url, port, admin_key, "
                       "data_dir, pid, log}]} (mode 0600: it holds the admin keys). Print each node's name, "
                       "URL, data dir and pid, and where the admin keys are; never a key. Nodes of ROOT "
                       "that already run are kept. Logs go to ROOT/nodeI/run/sim.log.")
    p.add_argument("--nodes", type=int, default=1, metavar="N", help="number of nodes (default: 1)")
    p.add_argument("--root", required=True, metavar="DIR")
    p.add_argument("--base-port", type=int, metavar="P",
                   help="node I listens on P+I-1 (default: free ports chosen by the system)")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S",
                   help="seconds to wait for each node (default: %(default)s)")
    p.add_argument("--json", action="store_true",
                   help="print nodes.json without the admin keys, plus keys_file (its path), instead of a table")
    _add_server_flags(p)
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("status", help="show which nodes of ROOT answer (exit 1 if any is down)",
                       description="Probe /isAlive/ on every node of ROOT/nodes.json. States: alive, "
                       "not-alive (503, drained with set-not-alive), listening (TLS node that requires a "
                       "client certificate), down. Exit code 1 if any node is down.")
    p.add_argument("--root", required=True, metavar="DIR")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("down", help="stop the nodes of ROOT (SIGTERM, then SIGKILL)",
                       description="Send SIGTERM to every node of ROOT/nodes.json and SIGKILL to those "
                       "still running after the grace period. Data dirs are kept.")
    p.add_argument("--root", required=True, metavar="DIR")
    p.add_argument("--grace", type=float, default=10.0, metavar="S",
                   help="seconds between SIGTERM and SIGKILL (default: %(default)s)")
    p.set_defaults(func=cmd_down)

    p = sub.add_parser("make-bundle", help="write sample packages, code env folders and model archives",
                       description="Write DIR/<service>_<version>.zip for each service x version, "
                       "DIR/code-envs/<name>/, DIR/models/<name>.zip and DIR/manifest.json (what was "
                       "written, generation ids, endpoints, test queries with their expected predictions, "
                       "user query keys of non-public packages). Running it again in DIR adds to the "
                       "manifest. createdOn follows the version numbers (v2 > v1, 1.10 > 1.9).")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument("--service", action="append", default=[], metavar="ID", help="service id, repeatable "
                   "(default: svc)")
    p.add_argument("--version", action="append", default=[], metavar="V",
                   help="version (generation) id, repeatable (default: v1)")
    p.add_argument("--endpoint", action="append", default=[], metavar="ID[:TYPE]",
                   help="endpoint of every package, repeatable; TYPE is STD_PREDICTION (default), "
                   "CUSTOM_PREDICTION, PY_FUNCTION, DATASETS_LOOKUP, SQL_QUERY... (default: predict)")
    p.add_argument("--failing-endpoint", action="append", default=[], metavar="SVC:VER:EP[:STATUS]",
                   help="this endpoint of this package answers STATUS (default 500) to every user call")
    p.add_argument("--query-key", action="append", default=[], metavar="KEY",
                   help="make the packages non-public with this user API key, repeatable")
    p.add_argument("--private", action="store_true",
                   help="make the packages non-public with a generated key per service (in the manifest)")
    p.add_argument("--corrupted", action="store_true", help="write truncated, unreadable zips")
    p.add_argument("--no-tag", action="store_true", help="leave tag.json out of the packages")
    p.add_argument("--size-mb", type=int, default=0, metavar="N",
                   help="pad each package with N MB of incompressible data (stored, not deflated; default: 0)")
    p.add_argument("--created-on", action="append", default=[], metavar="[VERSION=]EPOCH_MS",
                   help="createdOn of one version, or of all packages (default: derived from the version)")
    p.add_argument("--dss-version", default="13.2.0", help="createdWithDSSVersion of the packages (default: %(default)s)")
    p.add_argument("--code-env", action="append", default=[], metavar="NAME[:python|R]",
                   help="also write an exported code env folder DIR/code-envs/NAME/")
    p.add_argument("--model", action="append", default=[], metavar="NAME",
                   help="also write a model archive DIR/models/NAME.zip")
    p.add_argument("--model-format", choices=("zip", "tar.gz"), default="zip", help="model archive format (default: %(default)s)")
    p.set_defaults(func=cmd_make_bundle)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    from apinode_sim.bundles import BundleError
    from apinode_sim.fleet import FleetError

    try:
        return args.func(args)
    except (FleetError, BundleError) as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    except PermissionError as exc:
        print("error: %s: permission denied" % (exc.filename or exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
