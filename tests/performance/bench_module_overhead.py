"""Benchmark 1: apinode_info reading the services of a node vs ansible.builtin.uri doing the same GET.

Like for like: apinode_info runs with ``gather: [services]`` and ``generations: false``, which sends
the single ``GET services`` that uri sends (the request log counts it, in the notes). Both run in one
playbook against one simulated node with 3 services, in alternating rounds of K looped calls, both with
their connection as task arguments and their results hidden (no_log), and each
side's time is the sum of its tasks' wall times (bench_timer callback), so the
ansible-playbook start-up is in neither. Target: apinode_info takes at most 1.1x the time of uri.
"""

import argparse
import json

from _bench import CONNECTION, Workspace, row, settled_log

SERVICES = ("churn", "fraud", "upsell")


def run(quick=False):
    rounds, per_round = (2, 5) if quick else (4, 15)
    with Workspace("bench-overhead-") as work:
        fleet = work.fleet(1)
        node = fleet.nodes[0]
        manifest = work.bundle(services=list(SERVICES), versions=["v1"])
        client = node.admin_client()
        for package in manifest["packages"]:
            client.create_service(package["service"])
            client.service(package["service"]).import_generation_from_archive(package["path"])
            client.service(package["service"]).switch_to_single_generation("v1")
        tasks = []
        for index in range(rounds):
            # Both sides hide their results (uri's would show the key), so the callbacks do the same work.
            tasks.append({"name": "info %d" % index,
                          "dss.apinode.apinode_info": dict(CONNECTION, gather=["services"], generations=False),
                          "no_log": True, "loop": list(range(per_round))})
            tasks.append({"name": "uri %d" % index, "ansible.builtin.uri": {
                "url": "{{ apinode_url }}/admin/api/services", "url_username": "{{ apinode_admin_key }}",
                "url_password": "", "force_basic_auth": True, "return_content": True},
                "no_log": True, "loop": list(range(per_round))})
        node.clear_requests()
        # Both sides get their connection as task arguments: module_defaults adds a per-task cost of its own.
        play = [{"hosts": "apinodes", "gather_facts": False, "tasks": tasks}]
        result = work.playbook(play, work.inventory(fleet)).check("benchmark 1")
        log = settled_log(node)
        calls = rounds * per_round * 2
        info_requests = len(log) - calls // 2  # every uri call is exactly one GET
        info_seconds, uri_seconds = result.task_seconds("info "), result.task_seconds("uri ")
    note = ("%d calls each; per call %.0f ms vs %.0f ms; %d services; requests per call: apinode_info "
            "(services, generations: false) %g, uri 1"
            % (calls // 2, 1000 * info_seconds / (calls // 2), 1000 * uri_seconds / (calls // 2),
               len(SERVICES), info_requests / float(calls // 2)))
    return [row(1, "apinode_info (services, no generations) vs uri GET", info_seconds, uri_seconds,
                target=1.1, notes=note)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args()
    print(json.dumps(run(args.quick), indent=2))


if __name__ == "__main__":
    main()
