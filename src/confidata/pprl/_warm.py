"""One tiny encode and link through every numba kernel of pprl, for `confidata._warmup`.

A first `confidata pprl link` otherwise spends seconds compiling Dice, MinHash, the join and the
greedy assignment; the install-time warm-up runs this once so the kernels load from the cache.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from confidata.pprl.encode import encode
from confidata.pprl.fields import parse_fields
from confidata.pprl.keys import SecretKey
from confidata.pprl.link import link

__all__ = ["exercise"]


def exercise() -> int:
    """Encode 200 made-up records twice and link them all-pairs and by LSH; returns the links."""
    rng = np.random.default_rng(0)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    names = ["".join(rng.choice(letters, 6)) for _ in range(200)]
    frame = pd.DataFrame({"rid": [f"r{i}" for i in range(200)], "name": names,
                          "born": pd.date_range("1950-01-01", periods=200, freq="37D").strftime("%Y-%m-%d")})
    key = SecretKey(bytes(range(32)))
    fields = parse_fields("name,born:date")
    encoded = encode(frame, id_column="rid", fields=fields, key=key).encoding
    found = 0
    for blocking in ("none", "lsh"):
        found += len(link(encoded, encoded, threshold=0.9, blocking=blocking, bands=4, rows=2).matches)
    return found
