"""What made a synthetic file, read from its saved model, for a report's provenance.

The evaluate command and the web service's evaluate job both stamp a report with the method and,
for a differentially private method, the privacy budget spent; both read it here, from the model
file that `synth --save-model` wrote.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from confidata.table.companion import file_sha256

__all__ = ["model_provenance"]


def model_provenance(path: Path | None) -> dict[str, Any]:
    """Method, model file and hash, kept real columns and privacy budget; {} without a model."""
    if path is None:
        return {}
    from confidata.synth import load_model

    model = load_model(path)
    ledger = getattr(model, "accountant_", None)
    return {"method": type(model).__name__, "model_file": path.name,
            "model_sha256": file_sha256(path), "epsilon": getattr(model, "epsilon", None),
            "delta": getattr(model, "delta", None),
            # a partially synthetic file's real columns: known to its readers (evaluate's known=)
            "kept_columns": list(getattr(model, "kept_columns_", [])),
            "privacy": None if ledger is None else {
                "guarantee": ledger.guarantee(), "unit": ledger.unit,
                "total": ledger.total, "spent": ledger.spent, "by_purpose": ledger.summary(),
                "noise": ledger.noise}}
