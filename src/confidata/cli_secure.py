"""`confidata secure ...`: certificates, one party of a study, and a local demo."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from confidata._cli_common import err, guarded, out
from confidata.errors import ConfidataError
from confidata.secure.psi_demo import SCENARIOS as PSI_DEMO_SCENARIOS

secure_app = typer.Typer(
    help="Input privacy across parties over TLS: tables, regression and quantiles (MPyC), private set "
    "intersection and its sums, and tables over two holders' joined units.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

StudyArg = Annotated[Path, typer.Argument(help="The study TOML file every party holds.")]


@secure_app.command("certs")
@guarded
def certs(
    study: StudyArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the CA and party certificates.")],
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace certificates that exist.")] = False,
) -> None:
    """Make a CA and one key + certificate per party of STUDY (keys mode 0600)."""
    from confidata.he.config import has_he_section, load_he_study
    from confidata.secure import load_study, make_certificates

    # a threshold-HE study's [[party]] entries are its key holders: they need certificates too
    parsed = load_he_study(study).study if has_he_section(study) else load_study(study)
    paths = make_certificates(parsed, output, overwrite=overwrite)
    for name, path in paths.items():
        out.print(f"{escape(name)}: {escape(str(path))}" + ("" if name == "ca" else " (+ .key)"))
    out.print("Give each party its own .key file only; the CA key (mpyc_ca.key) stays with the coordinator.")


def print_report(report, *, echo=out) -> None:
    result = report.result
    if result is not None and result.statistic in ("regression", "quantiles"):
        from confidata.cli_secure_models import print_model

        print_model(result, echo=echo)
    elif result is not None:
        grid = Table(header_style="bold", title=f"{result.study}: {result.statistic}")
        for col in result.by:
            grid.add_column(col)
        grid.add_column(result.statistic, justify="right")
        grid.add_column("note")
        for i, lab in enumerate(result.labels):
            v = result.values[i]
            note = (
                "suppressed (small cell)"
                if result.suppressed[i]
                else "undefined (too few records)"
                if result.undefined[i]
                else "flagged (small cell)"
                if result.flagged[i]
                else ""
            )
            text = "" if v is None else (f"{v:,}" if isinstance(v, int) else f"{v:,.6g}")
            grid.add_row(*map(escape, lab), text, note)
        echo.print(grid)
        for note in result.notes:
            echo.print(escape(note))
    else:
        names = ", ".join(f"'{n}'" for n in report.result_parties) or "the result parties"
        echo.print(
            f"Party {escape(report.party)} is not a result party: the result (values and small-cell "
            f"flags) went to {escape(names)} only."
        )
    print_usage(report, echo=echo)


def print_usage(report, *, echo=out) -> None:
    """A table party's times, and bytes, messages and rounds per party."""
    echo.print(
        f"Party {escape(report.party)}: {report.seconds_secure:.3f} s from all connected to result "
        f"opened; {report.seconds_total:.3f} s for the whole process."
    )
    echo.print(
        "Sent (MPyC framing, before TLS): "
        + ", ".join(
            f"{escape(n)} {b:,} bytes in {report.messages_sent[n]:,} messages, "
            f"{report.rounds.get(n, 0)} rounds"
            for n, b in report.bytes_sent.items()
        )
    )


@secure_app.command("party")
@guarded
def party(
    study: StudyArg,
    name: Annotated[str, typer.Option("--as", help="This party's name in the study.")],
    data: Annotated[
        Optional[Path],
        typer.Option("--data", help="This party's data file (any format confidata reads); not for a PSI helper."),
    ] = None,
    schema: Annotated[
        Optional[Path], typer.Option("--schema", "-s", help="Schema JSON for the data.")
    ] = None,
    key: Annotated[
        Optional[Path], typer.Option("--key", help="Private key (default: the certificate's .key).")
    ] = None,
    output: Annotated[
        Optional[Path],
        typer.Option("--output", "-o", help="Write the result (JSON) here; result parties only."),
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the output file.")] = False,
    added_delay_ms: Annotated[float, typer.Option("--added-delay-ms", hidden=True)] = 0.0,
) -> None:
    """Run one party of STUDY: check its data locally, then compute the secure table or intersection."""
    from confidata.secure import load_study, run_party

    if load_study(study).is_vertical_model:
        from confidata.cli_secure_models import print_vertical_model_report
        from confidata.secure.vertical_regression import run_vertical_model_party

        print_vertical_model_report(
            run_vertical_model_party(
                study, name, data, schema=schema, key=key, output=output, overwrite=overwrite,
                added_delay=added_delay_ms / 1000.0,
            )
        )
        return
    if load_study(study).is_vertical:
        from confidata.cli_secure_vertical import print_vertical_report
        from confidata.secure.vertical_party import run_vertical_party

        print_vertical_report(
            run_vertical_party(
                study, name, data, schema=schema, key=key, output=output, overwrite=overwrite,
                added_delay=added_delay_ms / 1000.0,
            )
        )
        return
    if load_study(study).is_psi:
        from confidata.secure.psi_party import run_psi_party

        print_psi_report(
            run_psi_party(
                study,
                name,
                data,
                schema=schema,
                key=key,
                output=output,
                overwrite=overwrite,
                added_delay=added_delay_ms / 1000.0,
            )
        )
        return
    if data is None:
        raise ConfidataError("Pass this party's data file with --data.")

    report = run_party(
        study,
        name,
        data,
        schema=schema,
        key=key,
        output=output,
        overwrite=overwrite,
        added_delay=added_delay_ms / 1000.0,
    )
    print_report(report)


@dataclass(frozen=True)
class DemoOptions:
    """What `confidata secure demo` was asked for; each scenario reads the options it uses."""

    parties: int
    rows: int
    seed: int
    statistic: str
    tls: bool
    records: Optional[int]
    technique: str
    overlap: float
    family: str
    holders: int


def _models_demo(o: DemoOptions, scenario: str) -> None:
    from confidata.cli_secure_models import model_demo

    model_demo(scenario, o.parties, o.rows, o.seed, o.tls, o.family)


def _vertical_model_demo(o: DemoOptions) -> None:
    from confidata.cli_secure_models import vertical_model_demo

    vertical_model_demo(o.rows, o.overlap, o.seed, o.tls, o.family)


def _he_demo(o: DemoOptions) -> None:
    from confidata.cli_he import he_demo

    he_demo(o.holders, o.rows, o.seed, o.tls, o.statistic)


def _vertical_demo(o: DemoOptions) -> None:
    from confidata.cli_secure_vertical import vertical_demo

    vertical_demo(o.records or o.rows, o.overlap, o.seed, o.tls, o.statistic, o.parties)


def _linkage_demo(o: DemoOptions) -> None:
    from confidata.cli_pprl import linkage_demo

    linkage_demo(o.records or 2000, o.overlap, o.seed, o.tls)


def _intersection_demo(o: DemoOptions, scenario: str) -> None:
    # --parties counts the helper too; Diffie-Hellman is two holders whatever the (table) default
    holders = o.parties - 1 if o.technique == "helper" else 2
    if o.technique == "ecdh" and o.parties > 3:
        raise ConfidataError("Diffie-Hellman PSI is two-party; for more holders use --technique helper.")
    _psi_demo(scenario, o.records or o.rows, o.technique, o.overlap, o.seed, o.tls, holders)


# every scenario the demo runs: its name, what it shows, and the function that runs it (the
# option help and the unknown-scenario error are written from this, so a new one is one line)
DEMOS: dict[str, tuple[str, Callable[[DemoOptions], None]]] = {
    "table": ("a table across 3+ parties on MPyC", lambda o: _table_demo(o)),
    **{
        name: (f"{name} over two holders (ecdh) or more (--technique helper --parties N+1)", partial(_intersection_demo, scenario=name))
        for name in PSI_DEMO_SCENARIOS
    },
    "vertical": ("a table over two holders' joined units, with a helper", _vertical_demo),
    "linkage": ("PPRL on encoded names, then a table over the linked pairs (--records)", _linkage_demo),
    "he-aggregate": ("many holders under a threshold HE key (--holders)", _he_demo),
    "regression": ("a regression across 3 parties on MPyC (--family)", partial(_models_demo, scenario="regression")),
    "quantile": ("exact quantiles across 3 parties on MPyC", partial(_models_demo, scenario="quantile")),
    "vertical-regression": ("a regression over two holders' columns of joined units, with a helper (--family ols, ridge or logistic, --rows, --overlap)", _vertical_model_demo),
}


@secure_app.command("demo")
@guarded
def demo(
    parties: Annotated[int, typer.Option("--parties", help="Number of parties (3 or more).")] = 3,
    rows: Annotated[int, typer.Option("--rows", help="Records per party.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic data.")] = 1,
    statistic: Annotated[str, typer.Option("--statistic", help="count, total, mean or variance.")] = "mean",
    tls: Annotated[bool, typer.Option("--tls/--no-tls", help="Encrypt the links.")] = True,
    scenario: Annotated[
        str, typer.Option("--scenario", help="; ".join(f"{k}: {v[0]}" for k, v in DEMOS.items()) + ".")
    ] = "table",
    records: Annotated[Optional[int], typer.Option("--records", help="Records per holder (intersection scenarios; default 1000).")] = None,
    technique: Annotated[str, typer.Option("--technique", help="Intersection technique: ecdh (two holders) or helper (plus a helper).")] = "ecdh",
    overlap: Annotated[float, typer.Option("--overlap", help="Share of the first holder's units also in the second's.")] = 0.5,
    family: Annotated[str, typer.Option("--family", help="Regression scenario: ols, ridge or logistic.")] = "ols",
    holders: Annotated[int, typer.Option("--holders", help="Data holders of the he-aggregate scenario (threshold HE: 3 key holders, 2 decrypt).")] = 20,
) -> None:
    """Synthetic data for the parties, certificates, a study; run every party as a process on 127.0.0.1."""
    if scenario not in DEMOS:
        raise ConfidataError(f"--scenario must be one of {', '.join(DEMOS)}; got another value.")
    options = DemoOptions(parties, rows, seed, statistic, tls, records, technique, overlap, family, holders)
    DEMOS[scenario][1](options)


def _table_demo(o: DemoOptions) -> None:
    """The MPyC table demo: N parties' generated records, the secure table beside pandas'."""
    parties, rows, seed, statistic, tls = o.parties, o.rows, o.seed, o.statistic, o.tls
    from confidata.secure import aggregate, plain_result, plan_for
    from confidata.secure.runner import demo_data, demo_study, start_parties, wait_parties

    if parties < 3:
        raise ConfidataError("--parties must be 3 or more (Shamir sharing with an honest majority).")
    names = [f"party{i + 1}" for i in range(parties)]
    with tempfile.TemporaryDirectory(prefix="confidata-demo-") as tmp:
        folder = Path(tmp)
        st = demo_study(folder, names, statistic=statistic, tls=tls)
        frames, paths = [], {}
        for i, n in enumerate(names):
            frames.append(demo_data(rows, seed, i))
            paths[n] = folder / f"{n}.csv"
            frames[-1].to_csv(paths[n], index=False)
        out.print(
            f"{parties} parties, {rows:,} records each, study digest {st.digest[:12]}, "
            f"TLS {'on' if tls else 'off'}; folder {escape(str(folder))}"
        )
        started = time.perf_counter()
        procs = wait_parties(
            start_parties(folder / "study.toml", st, paths, folder),
            st.connect_timeout + st.step_timeout * 4 + 10,
        )
        failed = [p for p in procs if p.code != 0]
        for p in failed:
            err.print(f"[red]{escape(p.name)} exited {p.code}:[/] {escape(p.stderr.strip()[-600:])}")
        if failed:
            raise typer.Exit(1)
        import pandas as pd

        from confidata.secure.party import PartyReport
        from confidata.secure.plain import TableResult

        rep = procs[0].report()
        res = TableResult(
            **{k: v for k, v in rep["result"].items() if k not in ("cells", "notes")},
            labels=[tuple(c[b] for b in st.by) for c in rep["result"]["cells"]],
            values=[c["value"] for c in rep["result"]["cells"]],
            suppressed=[c["suppressed"] for c in rep["result"]["cells"]],
            flagged=[c["flagged"] for c in rep["result"]["cells"]],
            undefined=[c["undefined"] for c in rep["result"]["cells"]],
        )
        plan = plan_for(st)
        plain = plain_result(st, aggregate(st, pd.concat(frames, ignore_index=True), plan), plan)
        grid = Table(header_style="bold", title=f"{statistic} of income by region and sex: secure vs plain")
        for col in (*st.by, "secure", "plain", "difference"):
            grid.add_column(col, justify="right" if col not in st.by else "left")
        worst = 0.0
        for i, lab in enumerate(res.labels):
            s, p = res.values[i], plain.values[i]
            diff = "" if s is None or p is None else f"{abs(s - p):.3g}"
            worst = max(worst, 0.0 if s is None or p is None else abs(s - p))
            grid.add_row(
                *lab, "suppressed" if s is None else f"{s:,.6g}", "-" if p is None else f"{p:,.6g}", diff
            )
        out.print(grid)
        bound = {"mean": plan.mean_bound, "variance": plan.variance_bound}.get(statistic, 0.0)
        same = worst <= bound and [v is None for v in res.values] == [v is None for v in plain.values]
        out.print(
            ("[green]Equal[/]" if same else "[red]Different[/]")
            + f": largest difference {worst:.3g} (stated bound {bound:.3g})."
        )
        report = PartyReport(
            rep["party"],
            None,
            rep["seconds_secure"],
            rep["seconds_total"],
            rep["bytes_sent"],
            rep["messages_sent"],
            rep["rounds"],
        )
        print_usage(report)  # the result is the table above
        out.print(f"Wall time for all {parties} processes: {time.perf_counter() - started:.2f} s.")
        if not same:
            raise typer.Exit(1)


# -- private set intersection ---------------------------------------------------------------------


def print_psi_report(report, *, echo=out) -> None:
    result = report.result
    if result is not None:
        d = result.to_dict()
        echo.print(f"{escape(result.study)}: {result.statistic} ({result.technique})")
        echo.print("Set sizes: " + ", ".join(f"{escape(n)} {v:,}" for n, v in result.sizes.items()))
        if result.intersection_size is not None:
            echo.print(f"Intersection size: {result.intersection_size:,}")
        for name, c in d["coverage"].items():
            echo.print(
                f"Coverage of {escape(name)}: {c['share']:.4f} (95% Wilson interval {c['low']:.4f}-{c['high']:.4f})"
            )
        if result.members is not None:
            echo.print(f"Matched units of this party: {len(result.members):,} (listed in the output file)")
        if result.total is not None:
            echo.print(f"Sum over the intersection: {result.total:,}; mean {d['mean']}")
        for note in result.notes:
            echo.print(escape(note))
    elif report.role == "helper":
        echo.print(f"Party {escape(report.party)} is the helper: it matched pseudonyms and holds no result.")
    else:
        names = ", ".join(f"'{n}'" for n in report.result_parties)
        echo.print(f"Party {escape(report.party)} is not a result party: the result went to {escape(names)} only.")
    for note in report.local_notes:
        echo.print(escape(note))
    echo.print(
        f"Party {escape(report.party)}: {report.seconds_secure:.3f} s from all connected to result; "
        f"{report.seconds_total:.3f} s for the whole process."
    )
    echo.print(
        "Sent (framing included, before TLS): "
        + ", ".join(
            f"{escape(n)} {b:,} bytes in {report.messages_sent[n]:,} messages, {report.rounds[n]} rounds"
            for n, b in report.bytes_sent.items()
        )
    )


def _psi_demo(
    scenario: str, records: int, technique: str, overlap: float, seed: int, tls: bool, holders: int = 2
) -> None:
    from confidata.secure.psi import plain_psi, psi_input
    from confidata.secure.psi_demo import demo_psi_data, demo_psi_study
    from confidata.secure.runner import start_parties, wait_parties

    if technique not in ("ecdh", "helper"):
        raise ConfidataError("--technique must be ecdh or helper.")
    if records < 1 or not 0 <= overlap <= 1:
        raise ConfidataError("--records must be 1 or more and --overlap between 0 and 1.")
    statistic = PSI_DEMO_SCENARIOS[scenario]
    with tempfile.TemporaryDirectory(prefix="confidata-psi-demo-") as tmp:
        folder = Path(tmp)
        timeout = 60.0 + records * 0.0005 + (records * 0.05 if statistic == "intersection_sum" and technique == "ecdh" else 0)
        st = demo_psi_study(folder, statistic, technique, tls=tls, timeout=timeout, holders=holders)
        frames = demo_psi_data(records, seed, overlap, holders)
        paths = {}
        for n, frame in frames.items():
            paths[n] = folder / f"{n}.csv"
            frame.to_csv(paths[n], index=False)
        out.print(
            f"{scenario} by {technique}: holders {', '.join(frames)}, {records:,} records each, "
            f"{round(records * overlap):,} common to all; TLS {'on' if tls else 'off'}; study digest {st.digest[:12]}"
        )
        started = time.perf_counter()
        procs = wait_parties(start_parties(folder / "study.toml", st, paths, folder), st.connect_timeout + 6 * timeout)
        failed = [p for p in procs if p.code != 0]
        for p in failed:
            err.print(f"[red]{escape(p.name)} exited {p.code}:[/] {escape(p.stderr.strip()[-600:])}")
        if failed:
            raise typer.Exit(1)
        rep = procs[0].report()
        got = rep["result"]
        inputs = {n: psi_input(st, frames[n], n) for n in frames}
        plain = plain_psi(st, inputs, "nso").to_dict()
        grid = Table(header_style="bold", title=f"{scenario}: secure ({technique}) vs plain")
        for col in ("quantity", "secure", "plain"):
            grid.add_column(col, justify="left" if col == "quantity" else "right")
        keys = ["intersection_size"] + (["sum", "mean"] if statistic == "intersection_sum" else [])
        same = True
        for k in keys:
            grid.add_row(k, f"{got[k]:,}" if isinstance(got[k], int) else str(got[k]), f"{plain[k]:,}" if isinstance(plain[k], int) else str(plain[k]))
            same &= got[k] == plain[k]
        if statistic == "intersection":
            grid.add_row("members (nso's matched units)", f"{len(got['members']):,}", f"{len(plain['members']):,}")
            same &= sorted(got["members"]) == sorted(plain["members"])
        for name, c in got["coverage"].items():
            grid.add_row(f"coverage of {name}", f"{c['share']:.4f} [{c['low']:.4f}, {c['high']:.4f}]", f"{plain['coverage'][name]['share']:.4f}")
        out.print(grid)
        out.print(("[green]Equal[/]" if same else "[red]Different[/]") + " to the plain computation.")
        usage = Table(header_style="bold", title="per party")
        for col in ("party", "process seconds", "bytes sent", "messages", "rounds"):
            usage.add_column(col, justify="left" if col == "party" else "right")
        for p in procs:
            usage.add_row(p.name, f"{p.seconds:.2f}", f"{rep['bytes_sent'][p.name]:,}", f"{rep['messages_sent'][p.name]:,}", str(rep["rounds"][p.name]))
        out.print(usage)
        out.print(f"Wall time for all {len(procs)} processes: {time.perf_counter() - started:.2f} s.")
        if not same:
            raise typer.Exit(1)


@secure_app.command("explain")
@guarded
def explain_cmd(
    scenario: Annotated[str, typer.Argument(help="intersection, intersection-size, intersection-sum, vertical, vertical-regression, table, regression or quantile (he-aggregate too).")],
    technique: Annotated[Optional[str], typer.Option("--technique", help="ecdh, helper (intersections) or mpc (table); default: all.")] = None,
) -> None:
    """State, per party, exactly what it learns in SCENARIO and under which trust assumption."""
    from confidata.secure.explain import explain

    for e in explain(scenario, technique):
        out.print(f"[bold]{escape(e.scenario)} by {escape(e.technique)}[/] ({escape(e.protocol)})")
        out.print(f"  Trust: {escape(e.trust)}")
        for party, learns in e.learns:
            out.print(f"  {escape(party)}: {escape(learns)}")
        out.print(f"  Cost: {escape(e.cost)}")
