"""Utility and disclosure-risk measures: pure functions ``(real, synthetic, schema, **options)
-> MeasureResult`` and the registry `MEASURES` that lists them with when each applies."""

from __future__ import annotations

from confidata.measures._result import Direction, Family, MeasureResult, MeasureSpec

__all__ = ["MEASURES", "Direction", "Family", "MeasureResult", "MeasureSpec"]

# name -> MeasureSpec, one line per measure; filled as measure modules land
MEASURES: dict[str, MeasureSpec] = {}
