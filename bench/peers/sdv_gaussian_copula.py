#!/usr/bin/env python3
"""Peer: SDV's GaussianCopulaSynthesizer, with its default settings.

    bench/.venv-sdv/bin/python bench/peers/sdv_gaussian_copula.py \
        --train train.csv --schema schema.json --n 4000 --seed 2011 --out synthetic.csv

Metadata comes from the schema, not from SDV's own detection: categorical/ordinal columns are
'categorical', integer/continuous columns 'numerical' (integers with decimal_places 0: SDV 2's metadata has no
computer_representation any more). Missing tokens and the output format are
handled by _tabio (see there). Timings of the phases go to stderr.
"""
import os
import random
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _tabio import Table, note, peer_arguments  # noqa: E402

TABLE = "data"


def main():
    args = peer_arguments(__doc__)

    t0 = time.time()
    import numpy as np
    import sdv
    from sdv.metadata import Metadata
    from sdv.single_table import GaussianCopulaSynthesizer

    random.seed(args.seed)
    np.random.seed(args.seed)
    table = Table(args.train, args.schema)
    columns = {}
    for name in table.columns:
        kind = table.kinds[name]
        if kind == "categorical":
            columns[name] = {"sdtype": "categorical"}
        else:
            columns[name] = {"sdtype": "numerical"}
            if kind == "integer":
                columns[name]["decimal_places"] = 0
    metadata = Metadata.load_from_dict({"tables": {TABLE: {"columns": columns}}})
    t_read = time.time()

    synth = GaussianCopulaSynthesizer(metadata)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # SDV 2 takes and returns {table name: DataFrame}; SDV 1 a bare DataFrame
        try:
            synth.fit({TABLE: table.frame})
        except Exception:
            if int(sdv.__version__.split(".")[0]) >= 2:
                raise
            synth.fit(table.frame)
        t_fit = time.time()
        synth._set_random_state(args.seed)
        synthetic = synth.sample(num_rows=args.n)
        if isinstance(synthetic, dict):
            synthetic = synthetic[TABLE]
    t_sample = time.time()
    table.write(synthetic, args.out)
    note(f"sdv {sdv.__version__} GaussianCopulaSynthesizer: {len(table.frame)} rows x "
         f"{len(table.columns)} columns; read {t_read - t0:.1f} s, fit {t_fit - t_read:.1f} s, "
         f"sample {args.n} rows {t_sample - t_fit:.1f} s, write {time.time() - t_sample:.1f} s")


if __name__ == "__main__":
    main()
