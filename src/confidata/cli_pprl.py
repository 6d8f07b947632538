"""`confidata pprl ...`: encode at each holder, link at the linkage unit, evaluate against truth.

Messages and tables show counts, parameters and file names only: never a name, date or address
of the data being encoded (a test plants sentinel values and reads every output).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from confidata._cli_common import guarded, out

pprl_app = typer.Typer(
    help="Privacy-preserving record linkage: keyed Bloom-filter encodings, linked without names.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace output files that already exist.")]


@pprl_app.command("encode")
@guarded
def encode_command(
    file: Annotated[Path, typer.Argument(help="The holder's data file (CSV, Parquet, Excel, SAS, SPSS, Stata, ...).")],
    id_column: Annotated[str, typer.Option("--id", help="Record id column: sent beside the encoding, never encoded.")],
    fields: Annotated[str, typer.Option("--fields", help="Fields to encode, in an order both holders share: COLUMN[:KIND][*WEIGHT] (bits per token) or COLUMN[:KIND][/BITS] (bits per value), e.g. 'first_name*10,last_name*10,dob:date*14,address*3,zip:exact'. KIND: text (q-grams, default), exact, date or date(%d/%m/%Y).")],
    secret_file: Annotated[Path, typer.Option("--secret-file", help="The key the holders share (at least 16 random bytes); never given to the linkage unit.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the .clk file.")],
    hardening: Annotated[Optional[str], typer.Option("--hardening", help="Comma-separated hardening steps, applied in order: salt(FIELD), rule90, diffusion[(TAPS)], xor, balance. Both holders must use the same.")] = None,
    bits: Annotated[int, typer.Option("--bits", help="Filter length in bits before hardening (a multiple of 64).")] = 1024,
    q: Annotated[int, typer.Option("--q", help="q-gram length for text fields.")] = 2,
    bad_dates: Annotated[str, typer.Option("--bad-dates", help="Rows whose date cannot be read: 'error' (stop) or 'missing' (encode them without it).")] = "error",
    block: Annotated[Optional[str], typer.Option("--block", help="Blocking passes encoded separately (keyed codes beside the CLKs; both holders the same), e.g. 'soundex(last_name)+year(dob);soundex(first_name)+year(dob);soundex(first_name)+soundex(last_name)'. Parts: soundex(COL), year(COL), month(COL), first(COL) or COL, of --fields columns.")] = None,
    schema: Annotated[Optional[Path], typer.Option("--schema", "-s", help="Schema JSON to read the file with (default: columns read as text, leading zeros kept).")] = None,
    table: Annotated[Optional[str], typer.Option("--table", help="Table to read from a database file.")] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Encode FILE's records into keyed Bloom filters (a .clk file) for the linkage unit."""
    from confidata.pprl import encode, parse_fields, parse_hardening, read_key, write_clk
    from confidata.table._files import check_output_path
    from confidata.table.readers import from_raw, read_raw

    check_output_path(output, overwrite=overwrite)
    specs = parse_fields(fields, q=q)
    steps = parse_hardening(hardening)
    key = read_key(secret_file)
    started = time.perf_counter()
    raw = read_raw(file, table=table)
    frame = from_raw(raw, schema)[0] if schema is not None else raw.frame
    result = encode(frame, id_column=id_column, fields=specs, key=key, bits=bits, hardening=steps,
                    bad_dates=bad_dates, blocking=block)
    write_clk(output, result.encoding)
    grid = Table(title="What normalisation changed (rows per field)", header_style="bold")
    for name in ("field", "kind", "missing", "accents", "case", "punctuation", "whitespace",
                 "dates rewritten", "dates unreadable", "date format"):
        grid.add_column(name, justify="left" if name in ("field", "kind", "date format") else "right")
    for rep in result.report:
        grid.add_row(escape(rep.column), rep.kind, f"{rep.missing:,}", f"{rep.accents:,}",
                     f"{rep.case:,}", f"{rep.punctuation:,}", f"{rep.whitespace:,}",
                     f"{rep.dates_reformatted:,}", f"{rep.dates_unreadable:,}",
                     escape(rep.date_format or ""))
    out.print(grid)
    header = result.encoding.header
    out.print(f"Encoded {len(result.encoding):,} records into {header['bits']}-bit filters "
              f"({', '.join(s.name for s in steps) or 'no hardening'}) in "
              f"{time.perf_counter() - started:.1f} s: {escape(str(output))}")
    out.print("Send the .clk file to the linkage unit; keep the key file among the holders.")


@pprl_app.command("link")
@guarded
def link_command(
    file_a: Annotated[Path, typer.Argument(help="The first holder's .clk file.")],
    file_b: Annotated[Path, typer.Argument(help="The second holder's .clk file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write matches.csv (the two files' record ids and the score).")],
    threshold: Annotated[Optional[float], typer.Option("--threshold", help="Link pairs with Dice at least this (0.4 to 1).")] = None,
    auto: Annotated[bool, typer.Option("--auto", help="Choose the threshold from the scores (the valley between the two modes); the default without --threshold.")] = False,
    blocking: Annotated[str, typer.Option("--blocking", help="auto (all pairs for small files, else the --block codes when both files have them, else LSH), none (all pairs), keys (the --block codes) or lsh (MinHash LSH).")] = "auto",
    bands: Annotated[int, typer.Option("--bands", help="LSH bands (more: higher recall, slower).")] = 150,
    rows: Annotated[int, typer.Option("--rows", help="MinHash values per LSH band (more: fewer candidates, lower recall).")] = 7,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the LSH orders.")] = 0,
    overwrite: OverwriteOpt = False,
) -> None:
    """Link two .clk files one-to-one and write the pairs with their Dice scores."""
    from confidata.pprl import LinkageError, read_clk
    from confidata.pprl.link import link
    from confidata.table._files import check_output_path

    if auto and threshold is not None:
        raise LinkageError("Pass either --threshold or --auto, not both.")
    check_output_path(output, overwrite=overwrite)
    started = time.perf_counter()
    a, b = read_clk(file_a), read_clk(file_b)
    result = link(a, b, threshold=threshold, blocking=blocking, bands=bands, rows=rows, seed=seed)
    result.matches.to_csv(output, index=False)
    how = {"none": "all pairs", "keys": "the declared blocking codes", "lsh": "MinHash LSH blocking"}
    out.print(f"Compared {result.compared:,} pairs ({how[result.blocking]})"
              + (f", skipped {result.skipped_blocks:,} oversize blocks" if result.skipped_blocks else "")
              + f"; threshold {result.threshold:.2f} ({escape(result.threshold_method)}).")
    out.print(f"Linked {len(result.matches):,} pairs one-to-one (greedy by score) of {len(a):,} x "
              f"{len(b):,} records in {time.perf_counter() - started:.1f} s: {escape(str(output))}")


@pprl_app.command("evaluate")
@guarded
def evaluate_command(
    matches: Annotated[Path, typer.Argument(help="matches.csv written by `pprl link`.")],
    truth: Annotated[Path, typer.Option("--truth", help="CSV of the true pairs: file A's id, then file B's id.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="HTML report (default: beside MATCHES, .quality.html).")] = None,
    encodings: Annotated[Optional[list[Path]], typer.Option("--encodings", help="The two .clk files (A then B; give the option twice): also plot every true pair's score.")] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Precision, recall and F1 of the links against true pairs, with an HTML score histogram."""
    import pandas as pd

    from confidata.pprl import LinkageError, read_clk
    from confidata.pprl.quality import evaluate_links, render_quality_html
    from confidata.table._files import check_output_path

    target = output or matches.with_name(f"{matches.stem}.quality.html")
    check_output_path(target, overwrite=overwrite)
    for path in (matches, truth):
        if not path.is_file():
            raise LinkageError(f"'{path}' does not exist; check the path.")
    pairs = None
    if encodings:
        if len(encodings) != 2:
            raise LinkageError("--encodings takes the two .clk files: pass it twice, A then B.")
        pairs = (read_clk(encodings[0]), read_clk(encodings[1]))
    links = pd.read_csv(matches, dtype=str, keep_default_na=False)
    if "score" in links.columns:
        links["score"] = pd.to_numeric(links["score"], errors="coerce")
    true = pd.read_csv(truth, dtype=str, keep_default_na=False)
    quality = evaluate_links(links, true, encodings=pairs)
    sources = {"matches": str(matches), "truth": str(truth)}
    if pairs:
        sources.update({"encodings A": str(encodings[0]), "encodings B": str(encodings[1])})
    target.write_text(render_quality_html(quality, sources=sources), encoding="utf-8")
    grid = Table(header_style="bold")
    for name in ("precision", "recall", "F1", "links", "true pairs", "true links"):
        grid.add_column(name, justify="right")
    grid.add_row(f"{quality.precision:.4f}", f"{quality.recall:.4f}", f"{quality.f1:.4f}",
                 f"{quality.links:,}", f"{quality.true_pairs:,}", f"{quality.true_links:,}")
    out.print(grid)
    out.print(f"Report with the score histograms: {escape(str(target))}")


@pprl_app.command("attack")
@guarded
def attack_command(
    file: Annotated[Path, typer.Argument(help="The .clk file to attack (as the linkage unit or anyone else receiving it would).")],
    reference: Annotated[Path, typer.Option("--reference", help="The attacker's public list of persons (a voter roll, a telephone book): one row per person, a column named like each attacked field.")],
    truth: Annotated[Path, typer.Option("--truth", help="The holder's own clear file the encodings were made from: read here to score the guesses, never by the attack.")],
    fields: Annotated[Optional[str], typer.Option("--fields", help="Encoded text fields to attack, comma-separated (default: every text field the reference has a column for).")] = None,
    max_records: Annotated[int, typer.Option("--max-records", help="Attack and score at most this many encodings (drawn with --seed).")] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the sample of encodings.")] = 0,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write the rates as JSON here.")] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Re-identify names from encodings by frequency / pattern mining; report the rate beside chance."""
    import json

    from confidata.pprl import LinkageError, read_clk
    from confidata.pprl.attack import attack
    from confidata.table._files import check_output_path
    from confidata.table.readers import read_raw

    if json_out is not None:
        check_output_path(json_out, overwrite=overwrite)
    for path in (file, reference, truth):
        if not path.is_file():
            raise LinkageError(f"'{path}' does not exist; check the path.")
    started = time.perf_counter()
    encoding = read_clk(file)
    chosen = tuple(f.strip() for f in fields.split(",") if f.strip()) if fields else None
    result = attack(encoding, read_raw(reference).frame, read_raw(truth).frame, fields=chosen,
                    max_records=max_records, seed=seed)
    grid = Table(title="Encodings re-identified by the attack (shares; no value is shown)",
                 header_style="bold")
    for name in ("field", "encodings", "re-identified", "guessing", "lift", "q-grams mapped"):
        grid.add_column(name, justify="left" if name == "field" else "right")
    for f in result.fields:
        grid.add_row(escape(f.column), f"{f.records:,}", f"{f.rate:.1%}", f"{f.baseline:.1%}",
                     f"{f.lift:.1f}x", f"{f.features_mapped:,}")
    grid.add_row("all together", f"{result.records:,}", f"{result.all_fields_rate:.1%}",
                 f"{result.all_fields_baseline:.1%}", "", "")
    out.print(grid)
    out.print(escape(result.explanation()))
    if json_out is not None:
        json_out.write_text(json.dumps(result.as_dict(), indent=2), encoding="utf-8")
        out.print(f"Rates written to {escape(str(json_out))}")
    out.print(f"Attack took {time.perf_counter() - started:.1f} s.")


@pprl_app.command("party")
@guarded
def party_command(
    study: Annotated[Path, typer.Argument(help="The linkage study (a vertical_table study whose helper is the linkage unit).")],
    name: Annotated[str, typer.Option("--as", help="Which party of the study this process is.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="This party's report (the table at a result party); the linkage phase's counts go beside it, NAME.linkage.json.")],
    data: Annotated[Optional[Path], typer.Option("--data", help="A holder's file of persons (the fields and its category column).")] = None,
    fields: Annotated[Optional[str], typer.Option("--fields", help="A holder's field list, as for `pprl encode` (the same at both holders).")] = None,
    secret_file: Annotated[Optional[Path], typer.Option("--secret-file", help="A holder's copy of the key the holders share.")] = None,
    pairs_output: Annotated[Optional[Path], typer.Option("--pairs-output", help="Linkage unit only: also write the linked row positions and scores (its own knowledge) as CSV.")] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Run one party of a linkage study: holders encode, the linkage unit links, then a secure table over the linked pairs."""
    from confidata.cli_secure_vertical import print_vertical_report
    from confidata.pprl.party import run_linkage_party

    linkage, table = run_linkage_party(study, name, data, fields=fields, secret_file=secret_file,
                                       output=output, pairs_output=pairs_output, overwrite=overwrite)
    if linkage.links is not None:
        out.print(f"Linked {linkage.links:,} pairs of {' x '.join(f'{v:,}' for v in linkage.records.values())} "
                  f"records; threshold {linkage.threshold:.2f} ({escape(linkage.threshold_method)}).")
    print_vertical_report(table)


def linkage_demo(records: int, overlap: float, seed: int, tls: bool) -> None:
    """`confidata secure demo --scenario linkage`: generate, run the three parties, compare."""
    import tempfile

    import pandas as pd

    from confidata.cli_secure_vertical import _grid
    from confidata.errors import ConfidataError
    from confidata.pprl.demo import (
        demo_linkage_data,
        demo_linkage_study,
        plain_tables,
        start_linkage_parties,
        write_key,
    )
    from confidata.secure.runner import wait_parties

    if records < 100 or not 0 < overlap <= 1:
        raise ConfidataError("--records must be 100 or more and --overlap above 0 and at most 1.")
    with tempfile.TemporaryDirectory(prefix="confidata-linkage-demo-") as tmp:
        folder = Path(tmp)
        timeout = 60.0 + records * 0.001
        study = demo_linkage_study(folder, tls=tls, timeout=timeout)
        data = demo_linkage_data(records, seed, overlap)
        files = {"nso": folder / "nso.csv", "register": folder / "register.csv"}
        data.nso.to_csv(files["nso"], index=False)
        data.register.to_csv(files["register"], index=False)
        key = write_key(folder / "holders.key")
        out.print(f"linkage: nso {len(data.nso):,} persons (names, birth date, address; region), "
                  f"register {len(data.register):,} (the same fields with errors; income band), "
                  f"{len(data.truth):,} persons in both; linkage unit 'linkunit' without data or key; "
                  f"TLS {'on' if tls else 'off'}; study digest {study.digest[:12]}")
        started = time.perf_counter()
        procs = wait_parties(start_linkage_parties(folder / "study.toml", study, files, key, folder),
                             study.connect_timeout + 6 * timeout)
        wall = time.perf_counter() - started
        failed = [p for p in procs if p.code != 0]
        for p in failed:
            from confidata._cli_common import err

            err.print(f"[red]{escape(p.name)} exited {p.code}:[/] {escape(p.stderr.strip()[-600:])}")
        if failed:
            raise typer.Exit(1)
        import json

        linkage = {p.name: json.loads((folder / f"result-{p.name}.linkage.json").read_text()) for p in procs}
        unit = linkage["linkunit"]
        rep = procs[0].report()
        rows = pd.read_csv(folder / "linked-rows.csv")
        plain = plain_tables(study, data, rows)
        truth = set(zip(data.truth.iloc[:, 0], data.truth.iloc[:, 1], strict=True))
        right = sum((data.nso["id_a"].iloc[i], data.register["id_b"].iloc[j]) in truth
                    for i, j in zip(rows.iloc[:, 0], rows.iloc[:, 1], strict=True))
        out.print(f"Linkage unit: {unit['compared']:,} pairs compared, {unit['links']:,} linked one to one, "
                  f"threshold {unit['threshold']:.2f} ({escape(unit['threshold_method'])}). Against the "
                  f"generator's truth: precision {right / max(1, len(rows)):.4f}, recall "
                  f"{right / max(1, len(truth)):.4f}.")
        cells = rep["result"]["cells"]
        secure = [c["value"] for c in cells]
        notes = ["supp." if c["suppressed"] else "-" for c in cells]
        out.print(_grid("secure, over the linked pairs (nso's output)", plain["linked"].labels, secure, notes))
        for what, title in (("linked", "plain, over the linked pairs (same protection)"),
                            ("true", "plain, over the TRUE pairs (the generator's truth)")):
            res = plain[what]
            out.print(_grid(title, res.labels, res.values, ["supp." if s else "-" for s in res.suppressed]))
        same = secure == list(plain["linked"].values)
        true_cells = sum(v or 0 for v in plain["true"].values)
        out.print(("[green]Equal[/]" if same else "[red]Different[/]") + " to the plain table over the linked "
                  f"pairs. Over the true pairs the shown cells sum to {true_cells:,} "
                  f"(linked: {sum(v or 0 for v in secure):,}): the difference is the linkage's own error.")
        usage = Table(header_style="bold", title="per party")
        for col in ("party", "process seconds", "encode s", "link s", "linkage bytes", "table bytes"):
            usage.add_column(col, justify="left" if col == "party" else "right")
        for p in procs:
            lk = linkage[p.name]
            usage.add_row(p.name, f"{p.seconds:.2f}", f"{lk['seconds_encode']:.2f}", f"{lk['seconds_link']:.2f}",
                          f"{lk['bytes_sent']:,}", f"{rep['bytes_sent'][p.name]:,}")
        out.print(usage)
        out.print(f"Wall time for all 3 processes: {wall:.2f} s. Bytes are sent bytes, framing included, "
                  "before TLS.")
        if not same:
            raise typer.Exit(1)
