"""One party of TNO's distributed Paillier key generation, for the note in bench/RESULTS_SECURE.md.

    for i in 0 1 2; do bench/.venv-tno-dkg/bin/python bench/peers/tno_dkg_party.py 1024 $i & done; wait

Run in bench/.venv-tno-dkg (bench/setup_he_peers.sh): tno.mpc.protocols.distributed_keygen 4.3.0
cannot live beside confidata's Paillier 4.x. Three parties on 127.0.0.1 (ports 25100-25102),
corruption threshold 1 (2 of 3 decrypt); prints the party's wall seconds for the key generation.
Its transport is TNO's own HTTP pool, not confidata's TLS links: this is a measurement, not a use.
"""

from __future__ import annotations

import asyncio
import sys
import time
import warnings

warnings.filterwarnings("ignore")

from tno.mpc.communication import Pool  # noqa: E402
from tno.mpc.protocols.distributed_keygen import DistributedPaillier  # noqa: E402

PARTIES, CORRUPTION, BASE = 3, 1, 25100


async def main(key_bits: int, me: int) -> None:
    pool = Pool()
    pool.add_http_server(port=BASE + me, addr="127.0.0.1")
    for j in range(PARTIES):
        if j != me:
            pool.add_http_client(f"local{j}", "127.0.0.1", port=BASE + j)
    await asyncio.sleep(2)  # let every server come up
    t0 = time.perf_counter()
    # prime_threshold 2000, biprime and Shamir statistical parameters 40, distributed
    scheme = await DistributedPaillier.from_security_parameter(pool, CORRUPTION, key_bits, 2000, 40, 40, True)
    print(
        f"party {me}: {key_bits}-bit key generation {time.perf_counter() - t0:.1f} s, "
        f"n of {scheme.public_key.n.bit_length()} bits",
        flush=True,
    )
    await asyncio.sleep(1)
    await pool.shutdown()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
