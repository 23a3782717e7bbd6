"""Run every benchmark, print one table, write tests/performance/results/latest.json.

    python tests/performance/run_all.py [--quick] [--only 1,2,...]

Every figure is a ratio against a baseline measured in the same run (see README.md). Not a test:
the exit status is 0 unless a benchmark could not run; missed targets are reported, not failed.
"""

import argparse
import datetime
import json
import os
import platform
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_api_transport  # noqa: E402  pylint: disable=wrong-import-position
import bench_fleet_noop  # noqa: E402  pylint: disable=wrong-import-position
import bench_fleet_scaling  # noqa: E402  pylint: disable=wrong-import-position
import bench_large_artefact  # noqa: E402  pylint: disable=wrong-import-position
import bench_module_overhead  # noqa: E402  pylint: disable=wrong-import-position
import bench_noop_requests  # noqa: E402  pylint: disable=wrong-import-position
import bench_vs_script  # noqa: E402  pylint: disable=wrong-import-position

BENCHMARKS = {
    1: bench_module_overhead,
    2: bench_noop_requests,
    3: bench_fleet_noop,
    4: bench_fleet_scaling,
    5: bench_large_artefact,
    6: bench_vs_script,
    7: bench_api_transport,
}
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def table(rows):
    header = ("#", "figure", "value", "baseline", "ratio", "target", "met")
    lines = [header]
    for r in rows:
        unit = r.get("unit", "")
        lines.append((str(r["benchmark"]), r["figure"], "%s %s" % (r["value"], unit), "%s %s" % (r["baseline"], unit),
                      "" if r["ratio"] is None else "%.2fx" % r["ratio"],
                      "" if r["target"] is None else ("<= %sx" % r["target"] if unit == "s" else "<= %s" % r["target"]),
                      {True: "yes", False: "NO", None: "-"}[r["met"]]))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)) for line in lines]
    out.insert(1, "  ".join("-" * width for width in widths))
    out.append("")
    out.extend("%s. %s: %s" % (r["benchmark"], r["figure"], r["notes"]) for r in rows if r.get("notes"))
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller fleets and packages (minutes, not tens)")
    parser.add_argument("--only", default="", help="comma-separated benchmark numbers, e.g. 1,2")
    parser.add_argument("--output", default=str(RESULTS), help="JSON file to write (default: %(default)s)")
    args = parser.parse_args()
    chosen = sorted(int(n) for n in args.only.split(",") if n.strip()) or sorted(BENCHMARKS)
    rows, errors = [], []
    for number in chosen:
        print("benchmark %d: %s" % (number, BENCHMARKS[number].__doc__.splitlines()[0]), flush=True)
        try:
            rows.extend(BENCHMARKS[number].run(quick=args.quick))
        except Exception:  # pylint: disable=broad-except
            errors.append({"benchmark": number, "error": traceback.format_exc()})
            print(traceback.format_exc(), file=sys.stderr)
    print()
    print(table(rows))
    result = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "quick": args.quick, "python": platform.python_version(), "cpus": os.cpu_count(),
              "load_average": list(os.getloadavg()), "results": rows, "errors": errors}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
