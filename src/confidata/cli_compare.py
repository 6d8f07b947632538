"""`confidata compare`: every chosen method on the user's file, judged for a use case, ranked.

A thin layer over `confidata.compare.compare`: reads the files, shows a bar per method, writes
the report (HTML) and ``compare.json`` beside it, and prints the ranking.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from confidata._cli_common import err, guarded, out
from confidata.cli_evaluate import _VERDICT_STYLE, _keys, _parse_value
from confidata.errors import InputFileError, SchemaError

__all__ = ["compare_command", "print_comparison"]

_STAGES = {"start": "waiting", "fit": "fitting", "sample": "sampling", "evaluate": "evaluating",
           "done": "done", "error": "did not run"}


class _Bars:
    """One rich bar per method (and reference point), showing its stage; silent when piped."""

    def __init__(self) -> None:
        self.bar = Progress(TextColumn("{task.description:<28}"), BarColumn(bar_width=20),
                            TextColumn("{task.fields[stage]}"), TimeElapsedColumn(), console=err,
                            transient=False, disable=not err.is_terminal)
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> _Bars:
        self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.stop()

    def __call__(self, label: str, stage: str, message: dict[str, Any]) -> None:
        if label not in self.tasks:
            self.tasks[label] = self.bar.add_task(label, total=4, stage="")
        step = {"start": 0, "fit": 1, "sample": 2, "evaluate": 3, "done": 4, "error": 4}.get(stage, 0)
        self.bar.update(self.tasks[label], completed=step, stage=_STAGES.get(stage, stage))
        if stage in ("done", "error"):
            self.bar.stop_task(self.tasks[label])


@guarded
def compare_command(
    real: Annotated[Path, typer.Argument(help="The real data file (the training part when --holdout is given).")],
    use_case: Annotated[str, typer.Option("--use-case", "-u", help="public-release, testing-analysis, education or testing-technology.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Report to write (.html); the .json with the ranking goes beside it.")],
    schema: Annotated[Optional[Path], typer.Option("--schema", "-s", help="Schema JSON (default: inferred from the real file).")] = None,
    holdout: Annotated[Optional[Path], typer.Option("--holdout", help="Real rows no method may see (instead of --split).")] = None,
    split: Annotated[Optional[float], typer.Option("--split", help="Share of the real file held out at random (default 0.2 without --holdout).")] = None,
    methods: Annotated[Optional[str], typer.Option("--methods", help="Registry methods, comma-separated (default: every method that needs no budget; the DP ones too with --epsilon).")] = None,
    epsilon: Annotated[Optional[float], typer.Option("--epsilon", help="Privacy budget for the differentially private methods.")] = None,
    delta: Annotated[Optional[float], typer.Option("--delta", help="Delta for mst and aim, e.g. 1e-9.")] = None,
    m: Annotated[int, typer.Option("--m", min=1, help="Syntheses per method: figures are their mean, with the range.")] = 1,
    seed: Annotated[Optional[int], typer.Option("--seed", min=0, help="Seed for the split, the syntheses and the measures.")] = None,
    time_cap: Annotated[float, typer.Option("--time-cap", min=1.0, help="Seconds a method may take to fit and sample before it is stopped.")] = 600.0,
    keys: Annotated[Optional[str], typer.Option("--keys", help="Key variables (quasi-identifiers), comma-separated.")] = None,
    target: Annotated[Optional[str], typer.Option("--target", help="Column an intruder wants to learn / a model predicts.")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="A model to compare, e.g. 'income ~ age + sex'.")] = None,
    option: Annotated[Optional[list[str]], typer.Option("--option", help="A method's option as METHOD.NAME=VALUE (repeatable), e.g. --option mst.levels_share=0.1.")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help="Methods run at once (default: the CPU cores).")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace report files that already exist.")] = False,
) -> None:
    """Fit several methods on the training part, judge each for the use case, rank them."""
    from confidata.compare import compare, plan_methods
    from confidata.report.comparison import write_comparison
    from confidata.table import read_table
    from confidata.table._files import check_output_path
    from confidata.table.companion import file_sha256, read_companion
    from confidata.usecases import get_use_case

    get_use_case(use_case)
    if holdout is not None and split is not None:
        raise SchemaError("Give --holdout or --split, not both: the holdout is either a file of "
                          "its own or a share of the real file.")
    if output.suffix.lower() not in (".html", ".htm"):
        raise InputFileError(f"The report '{output.name}' must end in .html; the .json with the "
                             "ranking is written beside it.")
    for path in (output, output.with_suffix(".json")):
        check_output_path(path, overwrite=overwrite)
    chosen = None
    if methods is not None:
        chosen = [n.strip() for n in methods.split(",") if n.strip()]
        if not chosen:
            raise SchemaError("--methods is empty; give registry names separated by commas.")
    options = _method_options(option or [])
    plan_methods(chosen, epsilon=epsilon, delta=delta, options=options, time_cap=time_cap)
    started = time.perf_counter()
    frame, used = read_table(real, schema)
    hold = read_companion(holdout, used, "holdout") if holdout is not None else None
    command = "confidata " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    with _Bars() as bars:
        result = compare(frame, used, use_case=use_case, methods=chosen, holdout=hold,
                         split=0.2 if split is None else split, m=m, seed=seed, epsilon=epsilon,
                         delta=delta, options=options, time_cap=time_cap, keys=_keys(keys),
                         target=target,
                         model=model, workers=workers, progress=bars, command=command,
                         files={"real": {"name": real.name, "sha256": file_sha256(real)}})
    html, json_path = write_comparison(result.data, output, overwrite=overwrite)
    print_comparison(result.data)
    out.print(f"Wrote [bold]{escape(str(html))}[/] and {escape(json_path.name)} in "
              f"{time.perf_counter() - started:.1f} s.")


def _method_options(items: list[str]) -> dict[str, dict[str, Any]]:
    """--option METHOD.NAME=VALUE as {method: {name: value}}; values read as numbers, true/false
    or lists where they are."""
    options: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        method, dot, name = key.strip().partition(".")
        if not sep or not dot or not method or not name:
            raise SchemaError(f"--option {item!r}: give METHOD.NAME=VALUE, e.g. mst.levels_share=0.1.")
        options.setdefault(method, {})[name.replace("-", "_")] = _parse_value(text.strip())
    return options


def print_comparison(data: dict[str, Any]) -> None:
    """The ranking as a table, and the plain-words recommendation."""
    figure = data["utility_figure"]
    grid = Table(header_style="bold", title=f"Ranking for {data['use_case']['title']}")
    for header in ("#", "method", "verdict", "disclosure gate",
                   f"{figure['measure']} ({figure['better']} is better)", "fit / sample / evaluate s"):
        grid.add_column(header, overflow="fold")
    for row in data["ranking"]:
        utility = (row.get("utility") or {}).get("value")
        times = row.get("times") or {}
        shown = "-" if utility is None else f"{utility:.4g}"
        if row["verdict"] == "error":
            shown = row.get("reason") or "-"
        style = _VERDICT_STYLE.get(row["verdict"], "")
        gate_style = _VERDICT_STYLE.get({"unknown": "not judged"}.get(row["gate"], row["gate"]), "")
        grid.add_row(str(row["rank"]), escape(row["method"]), f"[{style}]{row['verdict']}[/]",
                     f"[{gate_style}]{row['gate']}[/]", escape(shown),
                     " / ".join(f"{times[k]:.1f}" if k in times else "-"
                                for k in ("fit_s", "sample_s", "evaluate_s")))
    out.print(grid)
    out.print(escape(data["recommendation"]["text"]))
