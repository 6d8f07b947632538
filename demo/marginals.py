"""Print a few marginals of a real and a synthetic file side by side (used by `make demo`)."""

import sys

import pandas as pd
from rich.console import Console
from rich.table import Table

from confidata import Schema, read_table

real_path, synthetic_path, schema_path = sys.argv[1:4]
schema = Schema.load(schema_path)
real, _ = read_table(real_path, schema=schema)
synthetic, _ = read_table(synthetic_path, schema=schema.select(pd.read_csv(synthetic_path, nrows=0).columns))
console = Console(width=120)
for column in [c for c in schema if c.name in synthetic.columns][:6]:
    table = Table(title=f"{column.name} ({column.kind.value})", title_justify="left")
    table.add_column("")
    table.add_column("real", justify="right")
    table.add_column("synthetic", justify="right")
    r, s = real[column.name], synthetic[column.name]
    if column.kind.is_categorical:
        shares = pd.concat([r.value_counts(normalize=True, dropna=False),
                            s.value_counts(normalize=True, dropna=False)], axis=1).fillna(0)
        for level, (a, b) in shares.head(6).iterrows():
            table.add_row(str(level) if pd.notna(level) else "(missing)", f"{a:.1%}", f"{b:.1%}")
    else:
        for label, f in [("missing", lambda x: f"{x.isna().mean():.1%}"),
                         ("mean", lambda x: f"{x.astype(float).mean():,.1f}"),
                         ("25%", lambda x: f"{x.astype(float).quantile(0.25):,.1f}"),
                         ("median", lambda x: f"{x.astype(float).median():,.1f}"),
                         ("75%", lambda x: f"{x.astype(float).quantile(0.75):,.1f}")]:
            table.add_row(label, f(r), f(s))
    console.print(table)
