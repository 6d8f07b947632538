"""Saved models: one zip file holding ``model.json`` and one ``.npy`` file per array.

Loading reads JSON and numpy arrays with ``allow_pickle=False``: opening a model file never
runs code, unlike pickle-based formats.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from confidata.errors import InputFileError
from confidata.table._files import atomic_write

__all__ = ["read_model_file", "write_model_file"]

FORMAT = "confidata-model/1"


def write_model_file(path: Path, meta: dict[str, Any], arrays: dict[str, np.ndarray], *,
                     overwrite: bool) -> Path:
    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("model.json", json.dumps({"format": FORMAT, **meta}, indent=1))
            for name, array in arrays.items():
                buffer = io.BytesIO()
                np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
                zf.writestr(f"arrays/{name}.npy", buffer.getvalue())

    return atomic_write(Path(path), write, overwrite=overwrite)


def read_model_file(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"Model file '{path}' does not exist; check the path.")
    try:
        with zipfile.ZipFile(path) as zf:
            meta = json.loads(zf.read("model.json"))
            arrays = {
                name[len("arrays/"):-len(".npy")]: np.load(io.BytesIO(zf.read(name)), allow_pickle=False)
                for name in zf.namelist()
                if name.startswith("arrays/") and name.endswith(".npy")
            }
    except (zipfile.BadZipFile, KeyError, ValueError, json.JSONDecodeError):
        raise InputFileError(
            f"'{path}' is not a confidata model file; save one with 'confidata synth --save-model'."
        ) from None
    if meta.get("format") != FORMAT:
        raise InputFileError(
            f"'{path}' is a model of format '{meta.get('format')}', which this confidata does not "
            "read; fit the model again with this version."
        )
    return meta, arrays
