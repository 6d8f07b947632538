"""`confidata he ...`: threshold homomorphic encryption (many holders, one joint key, t of n decrypt)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from confidata._cli_common import guarded, out

he_app = typer.Typer(
    help="Threshold HE: key holders make a joint key, holders encrypt their tables, an aggregator sums, t key holders decrypt.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

StudyArg = Annotated[Path, typer.Argument(help="The study TOML file (with an [he] section) every party holds.")]
KeyOpt = Annotated[Optional[Path], typer.Option("--key", help="TLS private key (default: the certificate's .key).")]
PublicOpt = Annotated[Optional[Path], typer.Option("--public-key", help="Joint public key file (default: the study's [he] public_key).")]


@he_app.command("keygen")
@guarded
def keygen(
    study: StudyArg,
    name: Annotated[str, typer.Option("--as", help="This key holder's name in the study.")],
    key: KeyOpt = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Folder for the key files (default: beside the study's public_key path).")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace this key holder's secret key.")] = False,
) -> None:
    """Run by every key holder at once: each makes its own key; together they write the joint public key."""
    from confidata.he import run_keygen

    rep = run_keygen(study, name, key=key, output=output, overwrite=overwrite)
    out.print(f"Key holder {escape(name)}: secret key {escape(str(rep.secret_key))} (mode 0600, never share it)")
    out.print(f"Joint public key {escape(str(rep.public_key))} (digest {rep.digest[:16]}); give it to every data holder.")
    out.print(
        f"{rep.seconds_secure:.2f} s from all connected to the joint key agreed (own key included); "
        f"{rep.seconds_total:.2f} s in all; {rep.bytes_sent:,} bytes sent."
    )


@he_app.command("encrypt")
@guarded
def encrypt(
    study: StudyArg,
    data: Annotated[Path, typer.Option("--data", help="This holder's data file (any format confidata reads).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The submission file to write.")],
    name: Annotated[Optional[str], typer.Option("--as", help="This data holder's name (default: the data file's stem).")] = None,
    schema: Annotated[Optional[Path], typer.Option("--schema", "-s", help="Schema JSON for the data.")] = None,
    public_key: PublicOpt = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the submission file.")] = False,
) -> None:
    """At a data holder: aggregate locally, secret-share, pack and encrypt; the file holds ciphertexts only."""
    import time

    from confidata.he import encrypt_frame, load_he_study, load_public_key
    from confidata.secure.local import read_party_data

    started = time.perf_counter()
    he = load_he_study(study)
    key = load_public_key(he, public_key)
    frame, _ = read_party_data(he.study, data, schema)
    holder = name or data.stem
    encrypt_frame(he, key, frame, holder, output, overwrite=overwrite)
    plan = key.plan
    out.print(
        f"Holder {escape(holder)}: {plan.length} values in {plan.ciphertexts} ciphertext(s) per key holder "
        f"({plan.slots} slots of {plan.slot_bits} bits); wrote {escape(str(output))} "
        f"({output.stat().st_size:,} bytes) in {time.perf_counter() - started:.2f} s."
    )


@he_app.command("aggregate")
@guarded
def aggregate_cmd(
    study: StudyArg,
    submissions: Annotated[list[Path], typer.Argument(help="The holders' submission files.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The aggregate file to write.")],
    public_key: PublicOpt = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the aggregate file.")] = False,
) -> None:
    """At the aggregator: check every submission, refuse garbage or duplicates, sum under encryption."""
    import time

    from confidata.he import aggregate_files, load_he_study, load_public_key

    started = time.perf_counter()
    he = load_he_study(study)
    agg = aggregate_files(he, load_public_key(he, public_key), submissions, output, overwrite=overwrite)
    out.print(
        f"Aggregated {len(agg.holders):,} submissions into {escape(str(output))} (digest {agg.digest[:16]}) "
        f"in {time.perf_counter() - started:.2f} s; nothing was decrypted."
    )


@he_app.command("decrypt")
@guarded
def decrypt(
    study: StudyArg,
    name: Annotated[str, typer.Option("--as", help="This key holder's name.")],
    aggregate: Annotated[Path, typer.Option("--aggregate", help="The aggregate file.")],
    with_: Annotated[Optional[str], typer.Option("--with", help="Comma-separated key holders that decrypt together (at least t, this one included; default: all).")] = None,
    secret_key: Annotated[Optional[Path], typer.Option("--secret-key", help="This key holder's secret key file.")] = None,
    public_key: PublicOpt = None,
    key: KeyOpt = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the protected table (JSON) here.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the output file.")] = False,
) -> None:
    """Run by t (or more) key holders at once over TLS: open the protected aggregate, nothing else."""
    from confidata.he import run_decrypt

    participants = [n.strip() for n in with_.split(",") if n.strip()] if with_ else None
    rep = run_decrypt(
        study,
        name,
        aggregate,
        participants=participants,
        secret_key=secret_key,
        public_key=public_key,
        key=key,
        output=output,
        overwrite=overwrite,
    )
    res = rep.result
    grid = Table(header_style="bold", title=f"{res.study}: {res.statistic} over {rep.holders:,} holders")
    for col in res.by:
        grid.add_column(col)
    grid.add_column(res.statistic, justify="right")
    grid.add_column("note")
    for i, lab in enumerate(res.labels):
        v = res.values[i]
        note = "suppressed (small cell)" if res.suppressed[i] else "undefined" if res.undefined[i] else "flagged (small cell)" if res.flagged[i] else ""
        grid.add_row(*map(escape, lab), "" if v is None else (f"{v:,}" if isinstance(v, int) else f"{v:,.6g}"), note)
    out.print(grid)
    for note in res.notes:
        out.print(escape(note))
    out.print(
        f"Key holder {escape(name)}: {rep.seconds_secure:.3f} s from all connected to the table; "
        f"{rep.seconds_total:.3f} s in all; sent " + ", ".join(f"{escape(n)} {b:,} bytes" for n, b in rep.bytes_sent.items()) + f"; {rep.rounds} rounds."
    )


def he_demo(holders: int, rows: int, seed: int, tls: bool, statistic: str) -> None:
    """`confidata secure demo --scenario he-aggregate`: N holders, 3 key holders, 2 decrypt, all local."""
    import tempfile
    import time

    from confidata._cli_common import err
    from confidata.errors import ConfidataError
    from confidata.he.demo import DemoFailure, demo_he_study, run_he_demo
    from confidata.secure.runner import demo_data

    if statistic not in ("count", "total", "mean"):
        raise ConfidataError("--statistic must be count, total or mean for the he-aggregate scenario.")
    if not 1 <= holders <= 100_000 or rows < 1:
        raise ConfidataError("--holders must be between 1 and 100,000 and --rows 1 or more.")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="confidata-he-demo-") as tmp:
        folder = Path(tmp)
        he = demo_he_study(
            folder,
            cell=statistic,
            value=None if statistic == "count" else ("income", 0, 500000),
            min_cell_size=5,
            max_holders=max(holders, 2),
            max_records=max(rows, 1000),
            tls=tls,
        )
        frames = [demo_data(rows, seed, i) for i in range(holders)]
        out.print(
            f"he-aggregate: {holders:,} holders x {rows:,} records, {len(he.key_holders)} key holders "
            f"(any {he.threshold} decrypt), {he.key_bits}-bit Paillier per key holder; TLS {'on' if tls else 'off'}; "
            f"study digest {he.digest[:12]}"
        )
        try:
            demo = run_he_demo(folder, he, frames)
        except DemoFailure as exc:
            for p in exc.procs:
                if p.code != 0:
                    err.print(f"[red]{escape(p.name)} ({exc.step}) exited {p.code}:[/] {escape(p.stderr.strip()[-600:])}")
            raise typer.Exit(1) from None
        res, plain = demo.result, demo.plain
        grid = Table(header_style="bold", title=f"{statistic} of income by region and sex: threshold HE vs plain")
        for col in (*res.by, "secure", "plain"):
            grid.add_column(col, justify="left" if col in res.by else "right")
        for i, lab in enumerate(res.labels):
            s, p = res.values[i], plain.values[i]
            grid.add_row(*lab, "suppressed" if s is None else f"{s:,.6g}", "-" if p is None else f"{p:,.6g}")
        out.print(grid)
        for note in res.notes:
            out.print(escape(note))
        out.print(("[green]Equal[/]" if demo.equal else "[red]Different[/]") + " to the plain computation.")
        enc = demo.encrypt_seconds
        size = demo.submission_bytes
        usage = Table(header_style="bold", title="cost")
        for col in ("step", "who", "seconds", "bytes", "rounds"):
            usage.add_column(col, justify="left" if col in ("step", "who") else "right")
        usage.add_row("keygen", f"{len(he.key_holders)} key holder processes", f"{demo.keygen_seconds:.2f}", "", "2")
        usage.add_row("encrypt", "per holder (mean / max)", f"{sum(enc) / len(enc):.3f} / {max(enc):.3f}", f"{sum(size) // len(size):,}", "1 (its file)")
        usage.add_row("aggregate", f"aggregator, {holders:,} submissions", f"{demo.aggregate_seconds:.3f}", "", "1 (its file)")
        sent = sum(demo.key_holder_bytes.values())
        usage.add_row("decrypt", f"{he.threshold} key holder processes (protocol only)", f"{demo.decrypt_seconds:.2f} ({demo.decrypt_secure_seconds:.3f})", f"{sent:,}", str(demo.key_holder_rounds))
        out.print(usage)
        out.print(f"Wall time in all: {time.perf_counter() - started:.2f} s (process starts included).")
        if not demo.equal:
            raise typer.Exit(1)
