"""Peer for the exact secure median: MPyC's own ``statistics.median_low`` on secure integers.

Run as three processes (party i of 3), as bench/RESULTS_SECURE.md records::

    for i in 0 1 2; do .venv/bin/python bench/peers/mpyc_median_run.py 30 -M3 -I $i -B 23459 --no-log & done

Each party inputs ``n`` whole numbers (log-normal incomes clipped to [0, 99,999], as
bench/regq_bench.py's median case); party 0 prints ``RESULT n seconds median`` (seconds from
the inputs to the opened median). MPyC documents that its randomised quickselect leaks a little
about ties; confidata's `secure.quantiles` does not leak and takes a public grid instead.
"""

import sys
import time

import numpy as np
from mpyc import statistics
from mpyc.runtime import mpc

n = int(sys.argv[1])


async def main() -> None:
    await mpc.start()
    rng = np.random.default_rng(mpc.pid)
    mine = [int(v) for v in np.clip(np.round(rng.lognormal(10, 0.7, n)), 0, 99_999)]
    secint = mpc.SecInt(32)
    started = time.perf_counter()
    parts = mpc.input([secint(v) for v in mine])
    median = await mpc.output(statistics.median_low([x for part in parts for x in part]))
    if mpc.pid == 0:
        print("RESULT", n, time.perf_counter() - started, median)
    await mpc.shutdown()


mpc.run(main())
