"""Render an evaluation for its audience, and write the HTML, JSON and Markdown files together.

The report renders whatever evaluation dict it is handed (built by ``confidata.evaluate`` or by
hand) and imports nothing above ``table``, so it can show results from any version of the
measures. The public variant is made from the data before any rendering, so the three outputs
can never disagree about what is shown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confidata.errors import OutputExistsError
from confidata.report._data import ReportError, check_options, for_internal, for_public, normalise
from confidata.report._html import render_html
from confidata.report._markdown import render_markdown
from confidata.table._files import atomic_write_bytes, check_output_path

__all__ = ["Rendered", "ReportFiles", "render_report", "write_report"]


@dataclass(frozen=True)
class Rendered:
    """The three renderings of one evaluation for one audience."""

    html: str
    markdown: str
    data: dict[str, Any]  # the JSON content; for the public, with the same suppression applied

    @property
    def json(self) -> str:
        return json.dumps(self.data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    json: Path
    markdown: Path


def render_report(evaluation: Mapping, *, audience: str = "internal", min_count: int = 10) -> Rendered:
    """Render an evaluation as HTML, Markdown and JSON data for an audience.

    ``audience="internal"`` shows everything and says it must stay in the office;
    ``audience="public"`` merges real counts below ``min_count``, relabels bins that would show a
    real minimum or maximum, and drops per-record details, in all three outputs. The caller's
    dict is not changed.
    """
    check_options(audience, min_count)
    data = normalise(evaluation)
    data = for_public(data, min_count) if audience == "public" else for_internal(data, min_count)
    return Rendered(html=render_html(data), markdown=render_markdown(data), data=data)


def write_report(
    evaluation: Mapping,
    html_path: str | Path,
    *,
    audience: str = "internal",
    min_count: int = 10,
    overwrite: bool = False,
) -> ReportFiles:
    """Write ``x.html`` with ``x.json`` and ``x.md`` beside it, each atomically.

    All three paths are checked before anything is written, so a refused overwrite leaves no
    half-made set behind.
    """
    html_path = Path(html_path)
    if html_path.suffix.lower() not in (".html", ".htm"):
        raise ReportError(
            f"The report path '{html_path}' must end in .html; the .json and .md files are written "
            "beside it with the same name."
        )
    files = ReportFiles(html_path, html_path.with_suffix(".json"), html_path.with_suffix(".md"))
    rendered = render_report(evaluation, audience=audience, min_count=min_count)
    paths = (files.html, files.json, files.markdown)
    existing = [p for p in paths if p.exists() and not p.is_dir()]
    if existing and not overwrite:
        names = ", ".join(f"'{p}'" for p in existing)
        raise OutputExistsError(
            f"{names} already {'exists' if len(existing) == 1 else 'exist'}; pass overwrite=True "
            "(--overwrite on the command line) to replace the report, or choose another name."
        )
    for path in paths:
        check_output_path(path, overwrite=overwrite)
    atomic_write_bytes(files.json, rendered.json.encode("utf-8"), overwrite=overwrite)
    atomic_write_bytes(files.markdown, rendered.markdown.encode("utf-8"), overwrite=overwrite)
    atomic_write_bytes(files.html, rendered.html.encode("utf-8"), overwrite=overwrite)
    return files
