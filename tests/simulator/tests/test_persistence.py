"""Acknowledged state survives kill -9 and restart; concurrent mutations do not corrupt it."""

import concurrent.futures
import json
import os

from apinode_sim.testing import SimFleet


def _snapshot(client):
    services = sorted(client.list_services(), key=lambda s: s["serviceId"])
    return services, {s["serviceId"]: sorted(client.service(s["serviceId"]).list_generations(),
                                             key=lambda g: g["generationId"]) for s in services}


def test_state_survives_kill_9_and_restart_on_the_same_port(tmp_path, artefacts):
    with SimFleet(tmp_path / "fleet", nodes=1) as fleet:
        node = fleet.nodes[0]
        client = node.admin_client()
        client.create_service("persisted")
        client.create_service("disabled_one")
        service = client.service("persisted")
        for name in ("churn_v1", "churn_v2"):
            service.import_generation_from_archive(artefacts["by_name"][name]["path"])
        service.set_generations_mapping({"entries": [{"generation": "v1", "proba": 0.3},
                                                     {"generation": "v2", "proba": 0.7}]})
        key = client.auth().add_key(label="survivor")["key"]
        before = _snapshot(client)
        old_port, old_pid = node.port, node.pid

        node.kill()  # SIGKILL: no chance to flush anything
        assert not node.running
        node.start()
        assert (node.port, node.url.endswith(":%d" % old_port)) == (old_port, True)
        assert node.pid != old_pid
        client = node.admin_client()
        services, gens = _snapshot(client)
        assert services == before[0]
        # mounted is in-memory state: a restart re-mounts what the mapping needs, so compare the rest.
        strip = {s: [{k: v for k, v in g.items() if k != "mounted"} for g in lst] for s, lst in gens.items()}
        strip_before = {s: [{k: v for k, v in g.items() if k != "mounted"} for g in lst]
                        for s, lst in before[1].items()}
        assert strip == strip_before
        assert key in {k["key"] for k in client.auth().list_keys()}
        answer = node.user_client("persisted").predict_record("predict", {"age": 1}, forced_generation="v2")
        assert answer["apiContext"]["serviceGeneration"] == "v2"

        node.restart()  # SIGTERM path
        assert node.port == old_port
        assert _snapshot(node.admin_client())[0] == before[0]


def test_fifty_concurrent_mutations(tmp_path, artefacts):
    with SimFleet(tmp_path / "fleet", nodes=1) as fleet:
        node = fleet.nodes[0]
        client = node.admin_client()
        package = artefacts["by_name"]["churn_v1"]["path"]

        def mutate(i):
            local = node.admin_client()
            if i % 2:
                local.create_service("c%02d" % i)
                local.service("c%02d" % i).import_generation_from_archive(package)
                return ("service", "c%02d" % i)
            return ("key", local.auth().add_key(label="k%02d" % i)["key"])

        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            results = list(pool.map(mutate, range(50)))
        services = {s for kind, s in results if kind == "service"}
        keys = {k for kind, k in results if kind == "key"}
        assert {s["serviceId"] for s in client.list_services()} == services
        for service_id in services:
            assert [g["generationId"] for g in client.service(service_id).list_generations()] == ["v1"]
        assert keys <= {k["key"] for k in client.auth().list_keys()}
        with open(os.path.join(node.data_dir, "config", "adminkeys.json")) as handle:
            assert keys <= {k["key"] for k in json.load(handle)["keys"]}
        node.kill()
        node.start()
        assert {s["serviceId"] for s in node.admin_client().list_services()} == services
