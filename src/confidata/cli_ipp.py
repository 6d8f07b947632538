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
    cases: Annotated[Optional[str], typer.Option("--cases", help="Comma-separated catalogue cases: every technique of each case's scenario at the case's size and parties (scaled to this machine, and said so in each record), instead of the grid.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Keep results.jsonl and run only the cells it lacks.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Start results.jsonl again.")] = False,
) -> None:
    """Measure every technique per reference scenario as real parties on 127.0.0.1 over TLS."""
    import dataclasses
    from pathlib import Path

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from confidata.ipp.bench import GRIDS, SCENARIOS, TECHNIQUES, grid, nearest_parties, run_grid

    def numbers(option: str, text: Optional[str], whole: bool = True) -> Optional[tuple]:
        if text is None:
            return None
        try:
            values = tuple(float(v) if "." in v and not whole else int(v) for v in text.split(",") if v.strip())
        except ValueError:
            kind = "whole numbers, e.g. 10000,100000" if whole else "numbers, e.g. 10,50,150"
            raise SchemaError(f"{option} takes comma-separated {kind}.") from None
        if values and min(values) < 0:  # empty: none (e.g. --latency-sizes "" runs no latency)
            raise SchemaError(f"{option} takes numbers of at least 0.")
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
                                 ("latencies", numbers("--latencies", latencies, whole=False)),
                                 ("latency_sizes", numbers("--latency-sizes", latency_sizes)),
                                 ("protection_sizes", numbers("--protection-sizes", protection_sizes)),
                                 ("timeout", timeout)) if v is not None}
    spec = dataclasses.replace(spec, **changes)
    cells = grid(spec, names("--scenarios", scenarios, SCENARIOS),
                 names("--techniques", techniques, [t for _, t in TECHNIQUES]))
    notes = None
    if cases is not None:
        from confidata.ipp import load_catalogue
        from confidata.ipp.case_cells import case_cells

        chosen = names("--cases", cases, [c.slug for c in load_catalogue()])
        pairs = case_cells(chosen, TECHNIQUES, nearest_parties)
        cells, notes = [c for c, _ in pairs], dict(pairs)
    if not cells:
        raise SchemaError("These options select no run: give --sizes, or --latencies with --latency-sizes, or "
                          "--protection-sizes (or leave them out for the grid's).")
    folder = Path(output)
    if (folder / "results.jsonl").exists() and not (resume or overwrite):
        raise SchemaError(f"'{folder / 'results.jsonl'}' exists; pass --resume to add the missing runs or "
                          "--overwrite to start again.")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=out, transient=False) as bar:
        task = bar.add_task("starting", total=None)

        def step(i, total, cell):
            what = "done" if cell is None else (f"{cell.scenario} {cell.technique} {cell.records:,} x {cell.parties}"
                                                f" {cell.latency_ms:g} ms {cell.protection}")
            bar.update(task, total=total, completed=i, description=what)

        runs = run_grid(cells, folder, resume=resume, overwrite=overwrite, timeout=spec.timeout, progress=step,
                        notes=notes)
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
    if case.measured_at:
        m = case.measured_at
        _section("Measured at", f"{m['results']}, scenario {m['scenario']}, techniques "
                 f"{', '.join(m['techniques'])}; 'confidata ipp recommend {case.slug}' ranks them for this case.")
    scores = ", ".join(f"{k} {v}" for k, v in case.scores.items())
    _section("Priority", f"{case.priority} (total {sum(case.scores.values())}: {scores})")
    out.print("\n[bold]References[/]")
    for ref in case.references:
        out.print(f"  - {escape(ref.cite())}", soft_wrap=True)


def _section(label: str, text: str) -> None:
    out.print(f"\n[bold]{label}[/]")
    out.print(f"  {escape(text)}")


@ipp_app.command("report")
@guarded
def report_cmd(
    results: Annotated[str, typer.Argument(help="A results.jsonl written by 'confidata ipp bench'.")],
    output: Annotated[str, typer.Option("-o", "--output", help="The HTML page to write; .json and .md go beside it.")] = "report.html",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the report files if they exist.")] = False,
) -> None:
    """Compare the benchmark's techniques: plots of cost against records and latency, trust, leakage."""
    from confidata.ipp.report import write_report
    from confidata.ipp.runs import read_runs

    runs = read_runs(results)
    files = write_report(runs, output, source=results, overwrite=overwrite)
    ok = sum(r.status == "ok" for r in runs)
    out.print(f"Wrote {escape(str(files.html))} (and {escape(files.json.name)}, {escape(files.markdown.name)}): "
              f"{len(runs)} runs, {ok} ok, {len(runs) - ok} failed, refused or timed out (listed with their reasons).")


@ipp_app.command("recommend")
@guarded
def recommend_cmd(
    case: Annotated[Optional[str], typer.Argument(help="A catalogue case (see 'confidata ipp cases'); or give --scenario.")] = None,
    scenario: Annotated[Optional[str], typer.Option("--scenario", help="A reference scenario, e.g. intersection_count_sum (instead of a case).")] = None,
    parties: Annotated[Optional[int], typer.Option("--parties", min=1, help="Data holders.")] = None,
    records: Annotated[Optional[int], typer.Option("--records", min=1, help="Records per data holder.")] = None,
    latency: Annotated[Optional[float], typer.Option("--latency", min=0, help="Added network latency in ms (0 LAN, 10 region, 50-150 continent); a case assumes 10.")] = None,
    trust: Annotated[Optional[str], typer.Option("--trust", help="The trust model the partners accept (a catalogue trust value, e.g. semi_honest_honest_majority).")] = None,
    computing: Annotated[Optional[int], typer.Option("--computing-parties", min=1, help="Parties that run the protocol when holders hand them shares (default: the holders).")] = None,
    partitioning: Annotated[Optional[str], typer.Option("--partitioning", help="How the holders split the data: horizontal (rows), vertical (columns) or join.")] = None,
    protection: Annotated[str, typer.Option("--protection", help="Output protection of the runs compared: none, small_cells or dp.")] = "none",
    results: Annotated[Optional[str], typer.Option("--results", help="A results.jsonl (default: the committed bench/results_ipp/results.jsonl).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the recommendation as JSON on stdout.")] = False,
) -> None:
    """Rank the techniques that fit a case from measured runs, with the reason for each rank and exclusion."""
    from confidata.ipp.recommend import default_results, recommend, recommend_case
    from confidata.ipp.runs import read_runs

    if (case is None) == (scenario is None):
        raise SchemaError("Give a catalogue case (confidata ipp recommend CASE) or --scenario with --trust, "
                          "not both and not neither.")
    path = results or str(default_results())
    runs = read_runs(path)
    if case is not None:
        given = [o for o, v in (("--parties", parties), ("--records", records), ("--trust", trust),
                                ("--computing-parties", computing), ("--partitioning", partitioning))
                 if v is not None]
        if given:
            raise SchemaError(f"{', '.join(given)} cannot be combined with a case, whose conditions come from "
                              "the catalogue; use --scenario with them instead.")
        advice = recommend_case(runs, case, latency_ms=latency, protection=protection, results=path)
    else:
        if trust is None:
            from confidata.ipp.trust import CASE_OFFERS

            raise SchemaError("--scenario needs --trust, the trust model the partners accept: one of "
                              f"{', '.join(CASE_OFFERS)}.")
        advice = recommend(runs, scenario=scenario, parties=parties, records=records, latency_ms=latency or 0.0,
                           trust=trust, protection=protection, computing_parties=computing,
                           partitioning=partitioning, results=path)
    if as_json:
        typer.echo(json.dumps(advice.to_dict(), indent=2, ensure_ascii=False, allow_nan=False))
        return
    _print_advice(advice)


def _print_advice(advice) -> None:
    out.print(f"[bold]{escape(advice.title)}[/]")
    out.print(f"  scenario {advice.scenario}; trust {advice.trust}; latency {advice.latency_ms:g} ms; "
              f"output protection {advice.protection}; from {escape(advice.results)}")
    for note in advice.assumptions:
        out.print(f"  - {escape(note)}")
    if advice.ranked:
        out.print("\n[bold]Ranked[/]")
        for r in advice.ranked:
            out.print(f"  {r.rank}. [bold]{r.technique}[/] ({r.family}): {escape(r.reason)}", soft_wrap=True)
            out.print(f"     runs: {', '.join(r.run_ids[:8])}{' ...' if len(r.run_ids) > 8 else ''}")
    else:
        out.print(f"\n[bold]No technique applies[/]: {escape(advice.none_applies or '')}", soft_wrap=True)
    if advice.excluded:
        out.print("\n[bold]Excluded[/]")
        for e in advice.excluded:
            out.print(f"  - {e.technique}: {escape(e.reason)}", soft_wrap=True)
    for b in advice.baselines:
        out.print(f"\n  baseline {b.technique}: {escape(b.reason)}", soft_wrap=True)
    for note in advice.notes:
        out.print(f"  {escape(note)}", soft_wrap=True)
    if advice.legal_notes:
        _section("For the legal department", advice.legal_notes)
    if advice.organisational_notes:
        _section("Organisation", advice.organisational_notes)
