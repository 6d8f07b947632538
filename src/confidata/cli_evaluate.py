"""Commands that judge synthetic files: `evaluate`, `recommend` and `measures run`.

Kept apart from `cli.py` (which reads, converts and synthesises) so each module stays about one
thing; `cli.py` registers these on the main application.
"""

from __future__ import annotations

import inspect
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from confidata._cli_common import guarded, out
from confidata.errors import InputFileError, SchemaError, quote_names

__all__ = ["evaluate_command", "measures_run_command", "recommend_command"]

_VERDICT_STYLE = {"pass": "bold green", "warn": "bold yellow", "fail": "bold red", "info": "dim",
                  "error": "bold magenta", "not judged": "bold magenta"}

RealArg = Annotated[Path, typer.Argument(help="The real (training) data file.")]
SynthArg = Annotated[Path, typer.Argument(help="The synthetic data file.")]
SchemaOpt = Annotated[Optional[Path], typer.Option("--schema", "-s", help="Schema JSON (default: inferred from the real file).")]
HoldoutOpt = Annotated[Optional[Path], typer.Option("--holdout", help="Real rows the synthesizer never saw (needed by the distance and attack measures).")]
KeysOpt = Annotated[Optional[str], typer.Option("--keys", help="Key variables (quasi-identifiers), comma-separated; overrides the schema's 'key' role.")]
TargetOpt = Annotated[Optional[str], typer.Option("--target", help="Column an intruder wants to learn / a model predicts.")]
SeedOpt = Annotated[Optional[int], typer.Option("--seed", help="Seed for the measures that sample.")]


def _keys(keys: str | None) -> list[str] | None:
    if keys is None:
        return None
    names = [k.strip() for k in keys.split(",") if k.strip()]
    if not names:
        raise SchemaError("--keys is empty; give column names separated by commas.")
    return names


@guarded
def evaluate_command(
    real: RealArg,
    synthetic: SynthArg,
    use_case: Annotated[str, typer.Option("--use-case", "-u", help="public-release, testing-analysis, education or testing-technology.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Report to write (.html); report.json and report.md go beside it.")],
    schema: SchemaOpt = None,
    holdout: HoldoutOpt = None,
    keys: KeysOpt = None,
    target: TargetOpt = None,
    model: Annotated[Optional[str], typer.Option("--model", help="A model to compare, e.g. 'income ~ age + sex + edu'.")] = None,
    audience: Annotated[str, typer.Option("--audience", help="internal (everything) or public (no small real cells, no real extremes).")] = "internal",
    min_count: Annotated[int, typer.Option("--min-count", help="Public reports: the smallest real count shown.")] = 10,
    seed: SeedOpt = None,
    synthesis_model: Annotated[Optional[Path], typer.Option("--synthesis-model", help="The saved model that made the synthetic file: its method and privacy budget (epsilon, delta) go into the provenance.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace report files that already exist.")] = False,
) -> None:
    """Judge a synthetic file for a use case and write the report (HTML, JSON, Markdown)."""
    from confidata.evaluate import evaluate
    from confidata.report import write_report
    from confidata.synth.provenance import model_provenance
    from confidata.table._files import check_output_path
    from confidata.table.companion import file_sha256, read_evaluation_files
    from confidata.usecases import get_use_case

    get_use_case(use_case)  # an unknown use case fails before any file is read
    if output.suffix.lower() not in (".html", ".htm"):
        raise InputFileError(f"The report '{output.name}' must end in .html; report.json and "
                             "report.md are written beside it.")
    for path in (output, output.with_suffix(".json"), output.with_suffix(".md")):
        check_output_path(path, overwrite=overwrite)
    real_frame, synth_frame, hold_frame, used = read_evaluation_files(real, synthetic, schema, holdout)
    files: dict[str, Any] = {role: {"name": path.name, "sha256": file_sha256(path)}
                             for role, path in (("real", real), ("synthetic", synthetic),
                                                ("holdout", holdout)) if path is not None}
    command = "confidata " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    synthesis = model_provenance(synthesis_model)
    result = evaluate(real_frame, synth_frame, used, use_case=use_case, holdout=hold_frame,
                      keys=_keys(keys), target=target, model=model, seed=seed, files=files,
                      command=command, epsilon=synthesis.get("epsilon"),
                      delta=synthesis.get("delta"), synthesis=synthesis or None,
                      known=synthesis.get("kept_columns") or None)
    write_report(result, output, audience=audience, min_count=min_count, overwrite=overwrite)
    _print_verdicts(result)
    out.print(f"Wrote [bold]{escape(str(output))}[/] ({audience}), with "
              f"{escape(output.with_suffix('.json').name)} and {escape(output.with_suffix('.md').name)}.")


def _print_verdicts(result: dict[str, Any]) -> None:
    for role, file in result["files"].items():
        if file and file.get("note"):
            out.print(f"[dim]{role}: {escape(file['note'])}[/]")
    style = _VERDICT_STYLE[result["verdict"]]
    out.print(f"[{style}]{result['verdict'].upper()}[/] for {escape(result['use_case']['title'])}: "
              f"{escape(result['verdict_reason'])}")
    grid = Table(header_style="bold")
    for header in ("measure", "verdict", "figure", "observed", "rule"):
        grid.add_column(header, overflow="fold")
    for row in result["measures"]:
        observed = "-" if row["observed"] is None else f"{row['observed']:.4g}"
        grid.add_row(escape(row["name"]), f"[{_VERDICT_STYLE[row['verdict']]}]{row['verdict']}[/]",
                     escape(row["statistic"]), observed,
                     escape(row["rule"] if row["verdict"] not in ("info", "error") else row["reason"]))
    out.print(grid)


@guarded
def recommend_command(
    use_case: Annotated[str, typer.Option("--use-case", "-u", help="public-release, testing-analysis, education or testing-technology.")],
    compare: Annotated[Optional[Path], typer.Option("--compare", help="A compare.json from 'confidata compare': recommend from the methods measured on your own file.")] = None,
) -> None:
    """Say what a use case needs and which method measured runs favour for it."""
    from confidata.synth import METHODS
    from confidata.usecases import get_use_case
    from confidata.usecases.recommend import label, recommend

    profile = get_use_case(use_case)
    measured = None
    if compare is not None:  # read first: a wrong file fails before anything is printed
        from confidata.compare import read_comparison

        measured = read_comparison(compare, use_case=use_case)
    out.print(f"[bold]{escape(profile.title)}[/]: {escape(profile.purpose)}")
    grid = Table(header_style="bold", title="What it is judged on")
    for header in ("measure", "rule", "why", "source"):
        grid.add_column(header, overflow="fold")
    for c in profile.criteria:
        grid.add_row(escape(c.measure), escape(c.rule), escape(c.reason), escape(c.source))
    out.print(grid)
    if measured is not None:
        from confidata.cli_compare import print_comparison

        out.print(f"[bold]Measured on your file[/] ({escape(compare.name)}):")
        print_comparison(measured.data)
        out.print("[dim]This comes from your own file; the benchmark evidence on other data sets "
                  "is what 'confidata recommend' shows without --compare.[/]")
        return
    advice = recommend(use_case, implemented=tuple(METHODS))
    out.print(f"[bold]Measured evidence[/] ({advice.datasets} data sets): {escape(advice.rule)}")
    for ranking in advice.rankings:
        order = ", ".join(f"{label(r)} ({_figure(r)})" for r in ranking.ranked) or "none passes"
        out.print(f"  {escape(ranking.dataset)}: {escape(order)}")
        for r in ranking.gated:
            out.print(f"    [dim]{escape(label(r))} left out: {escape(r['why'])}[/]")
    if advice.method:
        out.print(f"Recommended: [bold]{escape(advice.method)}[/] (first on {advice.wins} of "
                  f"{advice.datasets} data sets). {escape(profile.methods)}")
    for note in advice.notes:
        out.print(f"[dim]Note: {escape(note)}[/]")


def _figure(run: dict[str, Any]) -> str:
    if run.get("kmarginal_score") is not None:
        return f"3-marginal {run['kmarginal_score']:.0f}, {run['wall_s']:.1f} s"
    return f"{run.get('wall_s')} s"


@guarded
def measures_run_command(
    name: Annotated[str, typer.Argument(help="A measure's name, as in 'measures list'.")],
    real: RealArg,
    synthetic: SynthArg,
    schema: SchemaOpt = None,
    holdout: HoldoutOpt = None,
    keys: KeysOpt = None,
    target: TargetOpt = None,
    option: Annotated[Optional[list[str]], typer.Option("--option", help="Another option of the measure, NAME=VALUE (repeatable).")] = None,
    seed: SeedOpt = None,
) -> None:
    """Compute one measure on a real and a synthetic file and explain the result."""
    from confidata.measures import MEASURES
    from confidata.table.companion import read_evaluation_files
    from confidata.table.conform import conform_together

    if name not in MEASURES:
        close = [m for m in MEASURES if name.lower() in m or m in name.lower()]
        hint = f" Did you mean {quote_names(close)}?" if close else ""
        raise InputFileError(f"There is no measure '{name}'.{hint} See 'confidata measures list'.")
    function = MEASURES[name].function
    params = inspect.signature(function).parameters
    real_frame, synth_frame, hold_frame, used = read_evaluation_files(real, synthetic, schema, holdout)
    used, frames, _ = conform_together(used, {"real": real_frame, "synthetic": synth_frame,
                                              "holdout": hold_frame})
    real_frame, synth_frame, hold_frame = frames["real"], frames["synthetic"], frames["holdout"]
    given: dict[str, Any] = {"holdout": hold_frame, "keys": _keys(keys), "seed": seed}
    if target is not None:
        given["secret" if "secret" in params else "target"] = target
    kwargs = {k: v for k, v in given.items() if v is not None and k in params}
    for item in option or []:
        key, sep, text = item.partition("=")
        if not sep or key not in params or key in ("real", "synthetic", "schema"):
            raise SchemaError(f"--option {item!r}: give NAME=VALUE with NAME one of "
                              f"{quote_names([p for p in params if p not in ('real', 'synthetic', 'schema')])}.")
        kwargs[key] = _parse_value(text)
    result = function(real_frame, synth_frame, used, **kwargs)
    ci = "" if result.ci is None else f" (95% interval {result.ci[0]:.4g} to {result.ci[1]:.4g})"
    reference = "-" if result.reference is None else f"{result.reference:.4g}"
    out.print(f"[bold]{escape(name)}[/] = {result.value:.6g}{ci}; reference {reference} "
              f"({escape(result.reference_kind)}), {escape(result.direction.value)}.")
    if "keys_rule" in result.details:
        out.print(escape(str(result.details["keys_rule"])))
    out.print(escape(result.interpretation))


def _parse_value(text: str) -> Any:
    """NAME=VALUE values: numbers and true/false as such, a,b,c as a list, else text."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    if "," in text:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text
