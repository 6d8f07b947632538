"""What a party's process leaves behind, the same for secure tables and intersections: its
report (result, times, bytes, messages and rounds per party) and, at a result party, the output
file. The file is refused up front if it exists, and written only after the whole protocol
succeeded, atomically (a temporary file renamed over it): a failed run leaves no output, and a
reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from confidata.errors import OutputExistsError

__all__ = ["RunReport", "refuse_existing_output", "write_output"]


@dataclass
class RunReport:
    """One party's account of a run; the counts per party are public metadata all parties share."""

    party: str
    result: Any  # the protocol's result object (with ``to_dict``), None where this party gets none
    seconds_secure: float  # from all parties connected to the result
    seconds_total: float  # the whole process, reading the data included
    bytes_sent: dict[str, int] = field(default_factory=dict)
    messages_sent: dict[str, int] = field(default_factory=dict)
    rounds: dict[str, int] = field(default_factory=dict)  # longest chain of dependent messages
    study_digest: str = ""
    result_parties: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["result"] = self.result.to_dict() if self.result is not None else None
        return out


def refuse_existing_output(output: str | Path | None, overwrite: bool) -> None:
    """Before any work: an output file that exists is kept unless the user said to replace it."""
    if output is not None and Path(output).exists() and not overwrite:
        raise OutputExistsError(f"'{output}' already exists; pass --overwrite to replace it.")


def write_output(output: str | Path | None, report: RunReport) -> None:
    """Write a result party's report, atomically, after the run succeeded; others write nothing."""
    if output is None or report.result is None:
        return
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(report.to_dict(), indent=2) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
