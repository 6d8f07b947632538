#!/usr/bin/env python3
"""Peer: SynDiffix (the `syndiffix` package's Synthesizer, default settings).

    bench/.venv-syndiffix/bin/python bench/peers/syndiffix_run.py \
        --train train.csv --schema schema.json --n 4000 --seed 2011 --out synthetic.csv

Integer columns go in as pandas Int64 (SynDiffix then makes whole numbers; see
accept_whole_floats_as_integers), continuous ones as float64, categorical ones as strings;
missing cells are NaN/NA (see _tabio). The anonymisation salt is derived from --seed, so a run
is repeatable and writes no per-user salt file.

SynDiffix chooses its own row count (a noisy count of the input's). To hand back exactly --n
rows, a larger output is subsampled and a smaller one topped up by drawing its own rows again;
both counts are printed on stderr.
"""
import hashlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _tabio import Table, fit_rows, note, peer_arguments  # noqa: E402


def accept_whole_floats_as_integers():
    """Compatibility shim, not a change of method: SynDiffix treats a nullable Int64 column as
    integers (its IntegerConvertor), but since pandas 2.2 Series.apply hands that convertor the
    column's values as floats (1.0, nan), and its type assertion then fails on any integer
    column. Whole floats are turned back into ints before the original method runs."""
    from syndiffix import microdata
    original = microdata.IntegerConvertor.to_float

    def to_float(self, value):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return original(self, value)

    microdata.IntegerConvertor.to_float = to_float


def main():
    args = peer_arguments(__doc__)

    t0 = time.time()
    from importlib.metadata import version

    from syndiffix import Synthesizer
    from syndiffix.common import AnonymizationParams

    accept_whole_floats_as_integers()
    table = Table(args.train, args.schema)
    frame = table.frame.copy()
    for name in table.columns:
        if table.kinds[name] == "integer":
            frame[name] = frame[name].round().astype("Int64")
    salt = hashlib.sha256(f"bench-syndiffix-{args.seed}".encode()).digest()[:8]
    t_read = time.time()
    synth = Synthesizer(frame, anonymization_params=AnonymizationParams(salt=salt))
    t_fit = time.time()
    synthetic = synth.sample()
    t_sample = time.time()
    made = len(synthetic)
    synthetic = fit_rows(synthetic, args.n, args.seed)
    table.write(synthetic, args.out)
    note(f"syndiffix {version('syndiffix')}: {len(frame)} rows x {len(table.columns)} columns; "
         f"read {t_read - t0:.1f} s, fit {t_fit - t_read:.1f} s, sample {t_sample - t_fit:.1f} s "
         f"({made} rows made, {args.n} written), write {time.time() - t_sample:.1f} s")


if __name__ == "__main__":
    main()
