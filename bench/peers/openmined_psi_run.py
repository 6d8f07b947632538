"""Peer: OpenMined PSI (openmined-psi, ECDH on P-256 with a Bloom filter/GCS setup), both roles
in one process, timed per role; run in its own environment (bench/setup_psi.sh).

    bench/.venv-psi/bin/python bench/peers/openmined_psi_run.py RECORDS

Prints one JSON line: the cardinality found and each role's seconds, for the same sizes and
50% overlap as bench/psi_bench.py (identifiers P000000001...; the content does not matter to
the cost).
"""

import json
import sys
import time

import private_set_intersection.python as psi


def main() -> None:
    n = int(sys.argv[1])
    client_items = [f"P{i:09d}" for i in range(n)]
    server_items = [f"P{i:09d}" for i in range(n // 2, n + n // 2)]
    t0 = time.perf_counter()
    client = psi.client.CreateWithNewKey(True)  # reveal_intersection=True: the cardinality or members
    server = psi.server.CreateWithNewKey(True)
    setup = server.CreateSetupMessage(1e-9, len(client_items), server_items, psi.DataStructure.GCS)
    t1 = time.perf_counter()
    request = client.CreateRequest(client_items)
    t2 = time.perf_counter()
    response = server.ProcessRequest(request)
    t3 = time.perf_counter()
    size = client.GetIntersectionSize(setup, response)
    t4 = time.perf_counter()
    print(
        json.dumps(
            {
                "records": n,
                "intersection_size": size,
                "server_seconds": (t1 - t0) + (t3 - t2),
                "client_seconds": (t2 - t1) + (t4 - t3),
                "total_seconds": t4 - t0,
                "bytes": len(setup.SerializeToString())
                + len(request.SerializeToString())
                + len(response.SerializeToString()),
            }
        )
    )


if __name__ == "__main__":
    main()
