"""`confidata ipp ...`: the input-privacy commands (today the use-case catalogue).

A module of its own so the catalogue's commands do not load the synthetic-data half of the
command line; `cli.py` only registers `ipp_app`.
"""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from confidata._cli_common import guarded, out
from confidata.errors import SchemaError

__all__ = ["ipp_app"]

ipp_app = typer.Typer(help="Input privacy: the NSO use-case catalogue.", no_args_is_help=True,
                      rich_markup_mode=None)
cases_app = typer.Typer(help="The catalogue of NSO input-privacy use cases.", rich_markup_mode=None)
ipp_app.add_typer(cases_app, name="cases")


@ipp_app.command("bench")
@guarded
def bench_cmd(
    output: Annotated[str, typer.Option("-o", "--output", help="Folder for results.jsonl, bench.log and the cached synthetic data.")],
    quick: Annotated[bool, typer.Option("--quick", help="1,000 records per party, 50 ms and the protections at that size: minutes.")] = False,
    scenarios: Annotated[Optional[str], typer.Option("--scenarios", help="Comma-separated reference scenarios (default: all).")] = None,
    techniques: Annotated[Optional[str], typer.Option("--techniques", help="Comma-separated technique keys (default: all).")] = None,
    sizes: Annotated[Optional[str], typer.Option("--sizes", help="Records per party at 0 ms, e.g. 10000,100000 (default: the grid's).")] = None,
    latencies: Annotated[Optional[str], typer.Option("--latencies", help="Added latencies in ms, run at --latency-sizes (e.g. 10,50,150).")] = None,
    latency_sizes: Annotated[Optional[str], typer.Option("--latency-sizes", help="Sizes the latencies run at.")] = None,
    protection_sizes: Annotated[Optional[str], typer.Option("--protection-sizes", help="Sizes small-cell suppression and DP run at.")] = None,
    timeout: Annotated[Optional[float], typer.Option("--timeout", help="Seconds one run may take before it is stopped and recorded as 'timeout'.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Keep results.jsonl and run only the cells it lacks.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Start results.jsonl again.")] = False,
) -> None:
    """Measure every technique per reference scenario as real parties on 127.0.0.1 over TLS."""
    import dataclasses
    from pathlib import Path

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from confidata.ipp.bench import GRIDS, SCENARIOS, TECHNIQUES, grid, run_grid

    def numbers(option: str, text: Optional[str]) -> Optional[tuple]:
        if text is None:
            return None
        try:
            values = tuple(float(v) if "." in v else int(v) for v in text.split(",") if v.strip())
        except ValueError:
            raise SchemaError(f"{option} takes comma-separated numbers, e.g. 10000,100000.") from None
        if not values or min(values) < 0:
            raise SchemaError(f"{option} takes one or more numbers of at least 0.")
        return values

    def names(option: str, text: Optional[str], known) -> Optional[list[str]]:
        if text is None:
            return None
        chosen = [v.strip() for v in text.split(",") if v.strip()]
        bad = [v for v in chosen if v not in known]
        if bad:
            raise SchemaError(f"{option}: {', '.join(bad)} not known; use {', '.join(sorted(set(known)))}.")
        return chosen

    spec = GRIDS["quick" if quick else "full"]
    changes = {k: v for k, v in (("sizes", numbers("--sizes", sizes)),
                                 ("latencies", numbers("--latencies", latencies)),
                                 ("latency_sizes", numbers("--latency-sizes", latency_sizes)),
                                 ("protection_sizes", numbers("--protection-sizes", protection_sizes)),
                                 ("timeout", timeout)) if v is not None}
    spec = dataclasses.replace(spec, **changes)
    cells = grid(spec, names("--scenarios", scenarios, SCENARIOS),
                 names("--techniques", techniques, [t for _, t in TECHNIQUES]))
    folder = Path(output)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=out, transient=False) as bar:
        task = bar.add_task("starting", total=None)

        def step(i, total, cell):
            what = "done" if cell is None else (f"{cell.scenario} {cell.technique} {cell.records:,} x {cell.parties}"
                                                f" {cell.latency_ms:g} ms {cell.protection}")
            bar.update(task, total=total, completed=i, description=what)

        runs = run_grid(cells, folder, resume=resume, overwrite=overwrite, timeout=spec.timeout, progress=step)
    counts = {s: sum(r.status == s for r in runs) for s in ("ok", "refused", "failed", "timeout")}
    out.print(f"{len(runs)} runs written to {escape(str(folder / 'results.jsonl'))} ("
              + ", ".join(f"{v} {k}" for k, v in counts.items()) + f"); log in {escape(str(folder / 'bench.log'))}.")
    for r in runs:
        if r.status in ("failed", "timeout"):
            out.print(f"  {r.status}: {r.scenario} {r.technique} {r.records:,}: {escape(r.reason or '')}", soft_wrap=True)


@cases_app.callback(invoke_without_command=True)
@guarded
def cases_list(
    ctx: typer.Context,
    scenario: Annotated[
        Optional[str], typer.Option("--scenario", help="Only cases with this reference scenario.")
    ] = None,
    status: Annotated[Optional[str], typer.Option("--status", help="Only cases with this status.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the cases as JSON on stdout.")] = False,
) -> None:
    """List the use cases, by priority: 'confidata ipp cases show NAME' tells one in full."""
    if ctx.invoked_subcommand is not None:
        return
    from confidata.ipp import load_catalogue

    catalogue = load_catalogue()
    for option, value, kind in (("--scenario", scenario, "scenario"), ("--status", status, "status")):
        if value is not None and value not in catalogue.vocabulary[kind]:
            raise SchemaError(f"{option} '{value}' is not a {kind}; use one of "
                              f"{', '.join(catalogue.vocabulary[kind])}.")
    cases = [c for c in catalogue.sorted()
             if (scenario is None or c.reference_scenario == scenario)
             and (status is None or c.status == status)]
    if as_json:
        typer.echo(json.dumps([c.to_dict() for c in cases], indent=2, ensure_ascii=False))
        return
    grid = Table(header_style="bold")
    grid.add_column("case", no_wrap=True)
    for header in ("title", "partitioning", "scenario", "status", "priority", "benchmarked here"):
        grid.add_column(header, overflow="fold")
    for c in cases:
        grid.add_row(c.slug, escape(c.title), c.partitioning, c.reference_scenario, c.status,
                     f"{c.priority} ({sum(c.scores.values())})", "yes" if c.benchmarked_here else "no")
    out.print(grid)
    criteria = ", ".join(cr.name for cr in catalogue.criteria)
    out.print(f"{len(cases)} of {len(catalogue)} cases. Priority is derived from scores 0-2 on {criteria} "
              f"(high >= {catalogue.priority_rule['high']}, medium >= {catalogue.priority_rule['medium']}). "
              "'confidata ipp cases show NAME' tells one case in full.")


@cases_app.command("show")
@guarded
def cases_show(name: Annotated[str, typer.Argument(help="A case's name, as listed by 'ipp cases'.")]) -> None:
    """Tell one use case in full: parties and roles, trust, sizes, legal notes, references."""
    from confidata.ipp import load_catalogue

    catalogue = load_catalogue()
    case = catalogue.get(name)
    vocab = catalogue.vocabulary
    out.print(f"[bold]{escape(case.title)}[/] ({case.slug}; {escape(case.country)}, {case.year})")
    _section("Purpose", case.purpose)
    out.print("\n[bold]Parties[/]")
    for party in case.parties:
        out.print(f"  {escape(party.name)} {escape(f'[{party.kind}]')}: {', '.join(party.roles)}")
    _section("Trust", f"{case.trust}: {vocab['trust'][case.trust]} {case.trust_notes}")
    _section("Data", f"{case.partitioning} partitioning ({vocab['partitioning'][case.partitioning]})")
    _section("Statistic", case.statistic)
    sizes = [f"input parties: {case.sizes.input_parties or 'not stated'}"]
    sizes += [f"{party}: {n:,} records" if n is not None else f"{party}: not stated"
              for party, n in case.sizes.records.items()]
    _section("Sizes", "; ".join(sizes) + (f". {case.sizes.note}" if case.sizes.note else ""))
    _section("Status", f"{case.status}: {vocab['status'][case.status]}")
    _section("Techniques", ", ".join(case.techniques))
    _section("Legal notes", case.legal_notes)
    _section("Organisational notes", case.organisational_notes)
    if case.benchmarked_here:
        bench = f"yes, as the {case.benchmark_scenario} scenario."
    else:
        bench = f"no. {case.not_benchmarked_reason}"
    _section("Reference scenario", f"{case.reference_scenario}. Benchmarked by confidata: {bench}")
    scores = ", ".join(f"{k} {v}" for k, v in case.scores.items())
    _section("Priority", f"{case.priority} (total {sum(case.scores.values())}: {scores})")
    out.print("\n[bold]References[/]")
    for ref in case.references:
        out.print(f"  - {escape(ref.cite())}", soft_wrap=True)


def _section(label: str, text: str) -> None:
    out.print(f"\n[bold]{label}[/]")
    out.print(f"  {escape(text)}")
