"""Regression and quantiles on the command line: a result party's report, and the local demo
(``confidata secure demo --scenario regression | quantile``), kept apart from `cli_secure` so
that module stays a thin list of commands."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from confidata._cli_common import err, out
from confidata.errors import ConfidataError

__all__ = ["MODEL_SCENARIOS", "model_demo", "print_model", "print_vertical_model_report", "vertical_model_demo"]

MODEL_SCENARIOS = ("regression", "quantile")


def _num(v) -> str:
    return "-" if v is None else f"{v:,.6g}"


def print_model(result, *, echo=out) -> None:
    """A regression's coefficient table and fit statistics, or a quantile table by group."""
    if result.statistic == "regression":
        grid = Table(header_style="bold", title=f"{result.study}: {result.family} {escape(result.formula)}")
        for col in ("term", "estimate", "std. error"):
            grid.add_column(col, justify="left" if col == "term" else "right")
        for i, name in enumerate(result.names):
            grid.add_row(
                escape(name), f"{result.params[i]:,.8g}", _num(result.bse[i] if result.bse else None)
            )
        echo.print(grid)
        fit = [f"n = {result.nobs:,}", f"residual df = {result.df_resid:g}"]
        if result.rsquared is not None:
            fit += [f"R2 = {result.rsquared:.6f}", f"adj. R2 = {result.rsquared_adj:.6f}"]
        if result.fvalue is not None:
            fit.append(f"F = {result.fvalue:,.6g}")
        if result.llf is not None:
            fit.append(f"log-likelihood = {result.llf:,.6f}")
        echo.print(", ".join(fit))
    else:
        grid = Table(header_style="bold", title=f"{result.study}: quantiles of {escape(result.column)}")
        for col in result.by:
            grid.add_column(escape(col))
        for p in result.probabilities:
            grid.add_column(f"p = {p}", justify="right")
        grid.add_column("note")
        flagged = result.flagged or [False] * len(result.labels)
        for lab, vals, sup, flag in zip(
            result.labels, result.values, result.suppressed, flagged, strict=True
        ):
            note = "suppressed (small group)" if sup else "flagged (small group)" if flag else ""
            grid.add_row(*map(escape, lab), *(["-"] * len(vals) if sup else map(_num, vals)), note)
        echo.print(grid)
    for note in result.notes:
        echo.print(escape(note))


def _same(scenario: str, secure: dict, plain) -> tuple[bool, float]:
    """Equal to the plain computation? (largest relative difference of a coefficient or SE)."""
    if scenario == "quantile":
        got = [g["quantiles"] for g in secure["groups"]]
        return got == plain.values, 0.0
    worst = 0.0
    coefs = secure["coefficients"]
    for i, c in enumerate(coefs):
        pairs = [(c["estimate"], plain.params[i])]
        if plain.bse is not None:
            pairs.append((c["std_error"], plain.bse[i]))
        for a, b in pairs:
            worst = max(worst, abs(a - b) / max(1.0, abs(b)))
    return worst <= 1e-6, worst


def model_demo(scenario: str, parties: int, rows: int, seed: int, tls: bool, family: str = "ols") -> None:
    """Synthetic data for N parties, certificates, a study; every party a process on 127.0.0.1."""
    import pandas as pd

    from confidata.secure.model_demo import demo_model_data, demo_model_study
    from confidata.secure.quantiles import plain_quantiles
    from confidata.secure.regression import plain_regression
    from confidata.secure.runner import start_parties, wait_parties
    from confidata.table import infer_schema

    if parties < 3:
        raise ConfidataError("--parties must be 3 or more (Shamir sharing with an honest majority).")
    if family not in ("ols", "ridge", "logistic"):
        raise ConfidataError("--family must be ols, ridge or logistic.")
    names = [f"party{i + 1}" for i in range(parties)]
    with tempfile.TemporaryDirectory(prefix="confidata-demo-") as tmp:
        folder = Path(tmp)
        st = demo_model_study(folder, names, scenario, family=family, tls=tls)
        frames, paths = [], {}
        for i, n in enumerate(names):
            frames.append(demo_model_data(rows, seed, i))
            paths[n] = folder / f"{n}.csv"
            frames[-1].to_csv(paths[n], index=False)
        # one schema for all, as a real study agrees on one: inferred per party, a 13-level
        # schooling column can read as a code at one party and a number at another
        schema = infer_schema(pd.concat(frames, ignore_index=True)).save(folder / "schema.json")
        extra = {n: ["--schema", str(schema)] for n in names}
        out.print(
            f"{scenario} ({st.spec.get('formula', st.value)}): {parties} parties, {rows:,} records each, "
            f"TLS {'on' if tls else 'off'}; study digest {st.digest[:12]}"
        )
        started = time.perf_counter()
        procs = wait_parties(
            start_parties(folder / "study.toml", st, paths, folder, extra=extra), st.connect_timeout + 300
        )
        failed = [p for p in procs if p.code != 0]
        for p in failed:
            err.print(f"[red]{escape(p.name)} exited {p.code}:[/] {escape(p.stderr.strip()[-600:])}")
        if failed:
            raise typer.Exit(1)
        rep = procs[0].report()
        pooled = pd.concat(frames, ignore_index=True)
        plain = plain_regression(st, pooled) if scenario == "regression" else plain_quantiles(st, pooled)
        _show(scenario, rep["result"], plain)
        same, worst = _same(scenario, rep["result"], plain)
        out.print(
            ("[green]Equal[/]" if same else "[red]Different[/]")
            + (
                " to the plain computation (exact)."
                if scenario == "quantile"
                else f" to the plain computation: largest relative difference {worst:.2g} (bound 1e-6)."
            )
        )
        usage = Table(header_style="bold", title="per party")
        for col in ("party", "secure s", "process s", "bytes sent", "messages", "rounds"):
            usage.add_column(col, justify="left" if col == "party" else "right")
        rounds = rep.get("rounds", {})
        for p in procs:
            usage.add_row(
                p.name,
                f"{rep['seconds_secure']:.2f}" if p is procs[0] else "",
                f"{p.seconds:.2f}",
                f"{rep['bytes_sent'][p.name]:,}",
                f"{rep['messages_sent'][p.name]:,}",
                str(rounds.get(p.name, "-")),
            )
        out.print(usage)
        out.print(f"Wall time for all {parties} processes: {time.perf_counter() - started:.2f} s.")
        if not same:
            raise typer.Exit(1)


def _show(scenario: str, secure: dict, plain) -> None:
    if scenario == "quantile":
        grid = Table(header_style="bold", title="deciles of wage by region: secure vs plain")
        for col in ("region", "p", "secure", "plain"):
            grid.add_column(col, justify="left" if col in ("region", "p") else "right")
        for g, group in enumerate(secure["groups"]):
            for j, p in enumerate(secure["probabilities"]):
                grid.add_row(
                    group["region"] if j == 0 else "",
                    p,
                    _num(group["quantiles"][j]),
                    _num(plain.values[g][j]),
                )
        out.print(grid)
        return
    grid = Table(
        header_style="bold", title=f"{secure['family']}: {escape(secure['formula'])}, secure vs plain"
    )
    for col in ("term", "secure", "plain", "s.e. secure", "s.e. plain"):
        grid.add_column(col, justify="left" if col == "term" else "right")
    for i, c in enumerate(secure["coefficients"]):
        grid.add_row(
            escape(c["term"]),
            f"{c['estimate']:,.10g}",
            f"{plain.params[i]:,.10g}",
            _num(c["std_error"]),
            _num(plain.bse[i] if plain.bse else None),
        )
    out.print(grid)


def print_vertical_model_report(report, *, echo=out) -> None:
    """One party of a vertical regression: the model (result parties), the join size, the costs."""
    if report.result is not None:
        print_model(report.result, echo=echo)
    echo.print(
        f"{report.party} ({report.role}): {report.join_size:,} units joined; join {report.seconds_join:.2f} s, "
        f"secure {report.seconds_secure:.2f} s, process {report.seconds_total:.2f} s."
    )
    for note in report.local_notes:
        echo.print(escape(note))


def vertical_model_demo(rows: int, overlap: float, seed: int, tls: bool, family: str = "ols") -> None:
    """Two holders' columns of partly the same persons, a helper, every party a process on
    127.0.0.1; the model beside the plain fit on the joined rows."""
    from confidata.secure.model_demo import demo_vertical_model_data, demo_vertical_model_study
    from confidata.secure.runner import start_parties, wait_parties
    from confidata.secure.vertical_regression import plain_vertical_regression

    if family not in ("ols", "ridge", "logistic"):
        raise ConfidataError("--family must be ols, ridge or logistic.")
    if not 0 < overlap <= 1:
        raise ConfidataError("--overlap must be in (0, 1]: the share of the NSO's persons the register holds.")
    with tempfile.TemporaryDirectory(prefix="confidata-demo-") as tmp:
        folder = Path(tmp)
        st = demo_vertical_model_study(folder, family=family, tls=tls, max_records=max(1000, rows))
        frames = demo_vertical_model_data(rows, seed, overlap)
        paths = {}
        for name, frame in frames.items():
            paths[name] = folder / f"{name}.csv"
            frame.to_csv(paths[name], index=False)
        columns = "; ".join(f"{h} holds {', '.join(c)}" for h, c in st.spec["holders"].items())
        out.print(
            f"vertical regression ({st.spec['formula']}): {columns}; {rows:,} persons each, "
            f"{overlap:.0%} in common; TLS {'on' if tls else 'off'}; study digest {st.digest[:12]}"
        )
        started = time.perf_counter()
        procs = wait_parties(start_parties(folder / "study.toml", st, paths, folder), st.connect_timeout + 300)
        failed = [p for p in procs if p.code != 0]
        for p in failed:
            err.print(f"[red]{escape(p.name)} exited {p.code}:[/] {escape(p.stderr.strip()[-600:])}")
        if failed:
            raise typer.Exit(1)
        rep = procs[0].report()
        plain = plain_vertical_regression(st, frames)
        _show("regression", rep["result"], plain)
        for note in rep["result"]["notes"]:  # the logistic model's polynomial and its stated error
            out.print(escape(note))
        same, worst = _same("regression", rep["result"], plain)
        out.print(
            ("[green]Equal[/]" if same else "[red]Different[/]")
            + f" to the plain fit on the joined rows ({plain.nobs:,}): largest relative difference "
            f"{worst:.2g} (bound 1e-6)."
        )
        usage = Table(header_style="bold", title="per party")
        for col in ("party", "process s", "bytes sent", "messages", "rounds"):
            usage.add_column(col, justify="left" if col == "party" else "right")
        for p in procs:
            usage.add_row(
                p.name,
                f"{p.seconds:.2f}",
                f"{rep['bytes_sent'][p.name]:,}",
                f"{rep['messages_sent'][p.name]:,}",
                str(rep["rounds"].get(p.name, "-")),
            )
        out.print(usage)
        out.print(
            f"Join and products {rep['seconds_join']:.2f} s, secure part {rep['seconds_secure']:.2f} s at "
            f"{procs[0].name}; wall time for all 3 processes: {time.perf_counter() - started:.2f} s."
        )
        if not same:
            raise typer.Exit(1)
