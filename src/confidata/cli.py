"""The `confidata` command line: a thin layer that parses, calls one public function, renders.

Errors raised on purpose (`ConfidataError`) print as one red line and exit with status 2; any
other exception is a bug: one line asks for a report, the traceback goes to a log file (shown
with ``--verbose``), exit status 3.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from confidata import __version__
from confidata._cli_common import VERBOSE, err, guarded, out
from confidata.cli_compare import compare_command
from confidata.cli_evaluate import evaluate_command, measures_run_command, recommend_command
from confidata.cli_he import he_app
from confidata.cli_ipp import ipp_app
from confidata.cli_pprl import pprl_app
from confidata.cli_secure import secure_app
from confidata.cli_serve import serve_command
from confidata.errors import (
    ConfidataWarning,
    InputFileError,
    OutputExistsError,
    SynthesisError,
    quote_names,
)

if TYPE_CHECKING:
    from confidata.table import Schema

# Every command imports the data stack (pandas, numba, scipy) inside its body: a party process of
# 'confidata secure' or 'confidata serve' pays only for what it runs (tests/test_startup.py).

app = typer.Typer(
    name="confidata",
    help="Synthetic data and input privacy for national statistical offices.",
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

def _version(value: bool) -> None:
    if value:
        out.print(f"confidata {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show tracebacks of internal errors.")] = False,
) -> None:
    """confidata: synthetic microdata with measured utility and risk, and secure computation."""
    VERBOSE["on"] = verbose


FileArg = Annotated[Path, typer.Argument(help="Data file: CSV/TSV, Parquet, Excel, SAS, SPSS, Stata, SQLite or DuckDB.")]
SchemaOpt = Annotated[Optional[Path], typer.Option("--schema", "-s", help="Schema JSON to use instead of inferring one.")]
TableOpt = Annotated[Optional[str], typer.Option("--table", help="Table to read from a database file.")]
EncodingOpt = Annotated[Optional[str], typer.Option("--encoding", help="Text encoding of a CSV file (default: UTF-8, else Windows-1252).")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace output files that already exist.")]




@app.command()
@guarded
def inspect(
    file: FileArg,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Where to write the schema (default: FILE's folder, FILE.schema.json).")] = None,
    schema: SchemaOpt = None,
    table: TableOpt = None,
    encoding: EncodingOpt = None,
    overwrite: OverwriteOpt = False,
    explain: Annotated[bool, typer.Option("--explain", help="Show why each kind was inferred.")] = False,
) -> None:
    """Describe a data file's columns and write its schema (kinds, roles, missing codes)."""
    from confidata.table.readers import from_raw, read_raw
    from confidata.table.relations import find_relations, relations_in, with_relations

    target = output or _default_schema_path(file)
    if target.exists() and not overwrite:
        raise OutputExistsError(
            f"'{target}' already exists; pass --overwrite to replace it, or -o to write elsewhere."
        )
    raw = read_raw(file, table=table, encoding=encoding)
    frame, inferred = from_raw(raw, schema)
    if "relations" not in inferred.extra:  # a reviewed schema keeps the relations it declares
        inferred = with_relations(inferred, find_relations(frame, inferred))
    _print_overview(file, raw, frame, inferred, explain=explain)
    _print_relations(relations_in(inferred))
    inferred.save(target, overwrite=overwrite)
    out.print(f"Schema written to [bold]{escape(str(target))}[/]. Review the kinds and roles, then "
              "pass it with --schema.")


def _default_schema_path(file: Path) -> Path:
    target = file.with_name(f"{file.stem}.schema.json")
    folder = target.parent if str(target.parent) else Path(".")
    if folder.is_dir() and not os.access(folder, os.W_OK):
        raise InputFileError(
            f"Folder '{folder}' is not writable, so the schema cannot go beside the data; "
            "pass -o PATH to write it elsewhere."
        )
    return target


def _print_overview(file: Path, raw, frame, schema: Schema, *, explain: bool) -> None:
    details = [f"{len(frame):,} rows", f"{len(schema)} columns", raw.format]
    if raw.encoding:
        details.append(f"encoding {raw.encoding}")
    if raw.delimiter:
        details.append("delimiter " + {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}[raw.delimiter])
    out.print(f"[bold]{escape(str(file))}[/]: " + ", ".join(details))
    if raw.encoding == "cp1252":
        out.print("[yellow]Read as Windows-1252 because it is not UTF-8; if accented letters look "
                  "wrong, pass --encoding (for example cp1250 for Central European files).[/]")
    from confidata.table import missing_mask

    missing = missing_mask(frame, schema).mean()
    grid = Table(show_lines=False, header_style="bold")
    for header in ("column", "kind", "roles", "missing", "levels", "examples (seen 5+ times)"):
        grid.add_column(header, overflow="fold")
    if explain:
        grid.add_column("why", overflow="fold")
    for column in schema:
        values = frame[column.name]
        row = [
            escape(column.name),
            column.kind.value,
            ", ".join(r.value for r in column.roles) or "",
            f"{missing[column.name]:.1%}",
            _domain_text(values, column),
            escape(_examples(values, column)),
        ]
        if explain:
            row.append(escape(column.inferred_because))
        grid.add_row(*row)
    out.print(grid)


def _print_relations(relations) -> None:
    """The relations every synthesizer will hold; shapes only, never a value of the map."""
    if not relations:
        return
    out.print(f"[bold]{len(relations)} relation(s)[/] that every synthesizer will hold in every row "
              "(edit or delete them under \"relations\" in the schema; a DP method uses only those "
              "declared public):")
    for relation in relations:
        origin = "" if relation.public else " (from data, not public)"
        out.print(f"  {relation.kind}: {escape(relation.describe())}{origin}")


def _domain_text(values, column) -> str:
    """How many levels, and whether the DP methods may use them (and a declared range) for free."""
    text = f"{values.nunique(dropna=True):,}"
    if column.kind.is_categorical and column.levels and not column.domain_public:
        return text + " (from data, not public)"
    if column.minimum is not None and column.maximum is not None:
        shown = f"range {column.minimum:g} to {column.maximum:g}"
        return f"{text}, {shown}" + ("" if column.domain_public else " (from data, not public)")
    return text
def _examples(values, column) -> str:
    """The most common values, each shared by several rows; none for identifying columns."""
    from confidata.table import Kind, Role

    # shown only when this many rows share a value, so inspect never prints a rare (possibly
    # identifying) one; the same rule decides which missing codes inspect's reasons may name
    from confidata.table.infer import MIN_EXAMPLE_COUNT

    if column.kind in (Kind.IDENTIFIER, Kind.TEXT) or Role.DIRECT_IDENTIFIER in column.roles:
        return "(hidden: identifying)"
    counts = values.dropna().value_counts()
    counts = counts[counts >= MIN_EXAMPLE_COUNT].head(3)
    if counts.empty:
        return "(no value common enough to show)"
    shown = []
    for value in counts.index:
        if isinstance(value, float):
            text = str(int(value)) if value.is_integer() else f"{value:.6g}"
        else:
            text = str(value)
        label = column.value_labels.get(text)
        shown.append(f"{text} ({label})" if label else text)
    return ", ".join(shown)


@app.command()
@guarded
def convert(
    file: FileArg,
    output: Annotated[Path, typer.Argument(help="Output file: .csv, .tsv, .parquet, .xlsx, .sav, .dta or .xpt.")],
    schema: SchemaOpt = None,
    table: TableOpt = None,
    encoding: EncodingOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Convert a data file to another format, keeping column order, labels and missing codes."""
    from confidata.table import read_table, write_table

    frame, used = read_table(file, schema, table=table, encoding=encoding)
    write_table(frame, output, used, overwrite=overwrite)
    out.print(f"Wrote {len(frame):,} rows x {len(used)} columns to [bold]{escape(str(output))}[/].")


def _output_paths(output: Path, m: int) -> list[Path]:
    if m == 1:
        return [output]
    return [output.with_name(f"{output.stem}_{i}{output.suffix}") for i in range(1, m + 1)]


def _check_outputs(paths: list[Path], overwrite: bool) -> None:
    """Refuse before any work is done, not after minutes of fitting."""
    from confidata.table._files import check_output_path
    from confidata.table.writers import WRITABLE

    for path in paths:
        check_output_path(path, overwrite=overwrite)
        if path.suffix.lower() not in WRITABLE:
            raise InputFileError(
                f"confidata cannot write '{path.suffix or '(no extension)'}' files; use one of "
                f"{', '.join(sorted(WRITABLE))}."
            )


class _Steps:
    """A rich progress bar per stage (fitting, generating), silent when not a terminal."""

    def __init__(self, total: int | None, label: str) -> None:
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[part]}"), TimeElapsedColumn(),
                            console=err, transient=True, disable=not err.is_terminal)
        self.task = self.bar.add_task(label, total=total, part="")

    def __enter__(self) -> _Steps:
        self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.stop()

    def __call__(self, stage: str, part: str) -> None:
        self.bar.update(self.task, advance=1, part=part)


@app.command()
@guarded
def synth(
    file: FileArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="Synthetic file to write (.csv, .parquet, .sav, .dta, .xpt, .xlsx).")],
    schema: SchemaOpt = None,
    method: Annotated[str, typer.Option("--method", help="Synthesis method.")] = "cart",
    n: Annotated[Optional[int], typer.Option("--n", "-n", min=1, help="Synthetic rows (default: as many as the real file).")] = None,
    m: Annotated[int, typer.Option("--m", min=1, help="Independent synthetic copies (files OUT_1, OUT_2, ...).")] = 1,
    seed: Annotated[Optional[int], typer.Option("--seed", min=0, help="Random seed (0 or more); the same seed gives the same file.")] = None,
    visit_sequence: Annotated[Optional[str], typer.Option("--visit-sequence", help="Columns in synthesis order, comma-separated (others are left out).")] = None,
    strata: Annotated[Optional[str], typer.Option("--strata", help="Synthesise separately within each level of this column.")] = None,
    rules: Annotated[Optional[str], typer.Option("--rules", help="Rules file, or rules separated by ';' (e.g. 'age < 16 -> income = missing').")] = None,
    save_model: Annotated[Optional[Path], typer.Option("--save-model", help="Also save the fitted model (confidential: it holds real values).")] = None,
    min_leaf: Annotated[Optional[int], typer.Option("--min-leaf", help="cart: smallest leaf of a tree (rpart's minbucket; default 5).")] = None,
    min_split: Annotated[Optional[int], typer.Option("--min-split", help="cart: smallest node that is split (rpart's minsplit; default 100, synthpop's is 15).")] = None,
    cp: Annotated[Optional[float], typer.Option("--cp", help="cart: complexity parameter (rpart's cp; default 1e-8).")] = None,
    smoothing: Annotated[bool, typer.Option("--smoothing", help="Smooth continuous values with a Gaussian kernel.")] = False,
    weights_as_case_weights: Annotated[bool, typer.Option("--weights-as-case-weights", help="Use the survey weight as case weights instead of synthesising it.")] = False,
    weight_column: Annotated[Optional[str], typer.Option("--weight-column", help="The survey weight to use as case weights when the schema has several.")] = None,
    fresh_ids: Annotated[bool, typer.Option("--fresh-ids", help="Write new sequential values in identifier columns instead of dropping them.")] = False,
    epsilon: Annotated[Optional[float], typer.Option("--epsilon", help="Privacy budget epsilon of a DP method (mst, aim, privbayes); required there.")] = None,
    delta: Annotated[Optional[float], typer.Option("--delta", help="Privacy parameter delta of mst and aim (required there), e.g. 1e-9.")] = None,
    max_seconds: Annotated[Optional[float], typer.Option("--max-seconds", help="DP methods: stop refining the model after this many seconds.")] = None,
    max_model_size: Annotated[Optional[float], typer.Option("--max-model-size", help="DP methods: largest model in megabytes (default 80).")] = None,
    levels_share: Annotated[Optional[float], typer.Option("--levels-share", min=0.0, max=1.0, help="DP methods: share of the budget that buys category levels the schema does not declare public.")] = None,
    column_method: Annotated[Optional[str], typer.Option("--column-method", help="parametric, ctree, rf, bag: a method per column, e.g. 'age=normrank,income=pmm' (sample, norm, normrank, lognorm, pmm, logreg, polyreg, polr, cart, ctree, rf, bag).")] = None,
    keep: Annotated[Optional[str], typer.Option("--keep", help="parametric, ctree, rf, bag: keep the real values of these columns (comma-separated) and synthesise the rest given them (partial synthesis).")] = None,
    option: Annotated[Optional[list[str]], typer.Option("--option", help="Any option of the method as NAME=VALUE (repeatable), e.g. --option ntree=20.")] = None,
    table: TableOpt = None,
    encoding: EncodingOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Fit a synthesizer on a confidential file and write synthetic microdata."""
    import numpy as np

    from confidata.synth import METHODS, check_options, synthesize
    from confidata.synth.dp import DPSynthesizer
    from confidata.table import Role, read_table, write_table
    from confidata.table._files import check_output_path

    started = time.perf_counter()
    sequence = [c.strip() for c in visit_sequence.split(",")] if visit_sequence else None
    # what the user gave, as the method's keywords; the rest is left to the method's defaults
    given = dict(visit_sequence=sequence, strata=strata, rules=rules, min_leaf=min_leaf,
                 min_split=min_split, cp=cp, smoothing=smoothing,
                 weights_as_case_weights=weights_as_case_weights, weight_column=weight_column,
                 identifiers="fresh" if fresh_ids else None, epsilon=epsilon, delta=delta,
                 max_seconds=max_seconds, max_model_size=max_model_size, levels_share=levels_share,
                 column_methods=_pairs(column_method, "--column-method"),
                 keep=[c.strip() for c in keep.split(",") if c.strip()] if keep else None)
    options = {k: v for k, v in given.items() if v is not None and v is not False}
    options.update(_named_options(option or [], options))
    check_options(method, options, label=_flag)
    private = issubclass(METHODS[method], DPSynthesizer)
    paths = _output_paths(output, m)
    _check_outputs(paths, overwrite)
    if any(p.resolve() == file.resolve() for p in paths):
        raise InputFileError("The output would replace the real data file; choose another -o path.")
    if save_model is not None:
        check_output_path(save_model, overwrite=overwrite)
        if save_model.resolve() in {p.resolve() for p in paths} or save_model.resolve() == file.resolve():
            raise InputFileError("--save-model must name a file other than the data and the output.")
    frame, used = read_table(file, schema, table=table, encoding=encoding)
    t0 = time.perf_counter()
    with _Steps(None, "Fitting (spending the privacy budget)" if private else "Fitting trees") as steps:
        model = synthesize(frame, used, method=method, options=options, seed=seed, progress=steps)
    fitted = time.perf_counter() - t0
    seed_note = f"seed {seed}"
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**31)
        seed_note = f"sampling seed {seed}, unseeded privacy noise" if private else f"seed {seed}"
    seeds = np.random.SeedSequence(seed).generate_state(m) if m > 1 else [seed]
    t0 = time.perf_counter()
    for path, copy_seed in zip(paths, seeds, strict=True):
        steps_total = 1 if private else (len(model.models_[0].steps) * len(model.models_)
                                         if hasattr(model, "models_") else None)
        with _Steps(steps_total, "Generating") as steps:
            synthetic = model.sample(n, seed=int(copy_seed), progress=steps)
        write_table(synthetic, path, used.select(synthetic.columns), overwrite=overwrite)
    generated = time.perf_counter() - t0
    if save_model is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConfidataWarning)
            model.save(save_model, overwrite=overwrite)
    left_out = [c for c in used.names if c not in synthetic.columns]
    out.print(f"Synthesised {len(synthetic):,} rows x {synthetic.shape[1]} columns from "
              f"{len(frame):,} real rows with {method} ({seed_note}) in "
              f"{time.perf_counter() - started:.1f} s (fit {fitted:.1f} s, generate {generated:.1f} s).")
    for path in paths:
        out.print(f"  wrote [bold]{escape(str(path))}[/]")
    reasons = (
        (model.identifier_columns_, "direct identifiers, never synthesised; --fresh-ids writes new ones"),
        (model.dropped_columns_, "free text, left out because text can identify people"),
        ([c for c in left_out if c not in model.identifier_columns_ + model.dropped_columns_],
         "not in the visit sequence"),
    )
    for names, why in reasons:
        names = [c for c in names if c in left_out]
        if names:
            out.print(f"  not synthesised: {escape(quote_names(names))} ({why})")
    kept = getattr(model, "kept_columns_", [])
    if kept:
        out.print(f"  kept real: {escape(quote_names(kept))} (partial synthesis: these columns hold "
                  "the real values; treat them as known to anyone who sees the file)")
    case_weight = getattr(model, "weight_column_", None)
    if case_weight is not None:
        out.print(f"  survey weight '{escape(case_weight)}': used as case weights; every synthetic "
                  "row carries the real total divided by the synthetic rows")
    plain = [w for w in used.with_role(Role.WEIGHT) if w != case_weight]
    if plain:
        out.print(f"  survey weight(s) {escape(quote_names(plain))}: synthesised as ordinary "
                  "variables" + ("" if case_weight else "; pass --weights-as-case-weights to "
                                 "weight the model instead"))
    if private:
        _print_budget(model)
    if save_model is not None and private:
        out.print(f"  model saved to [bold]{escape(str(save_model))}[/]. It holds no real record and may "
                  "be shared; it states its privacy guarantee and this budget table.")
    elif save_model is not None:
        out.print(f"  model saved to [bold]{escape(str(save_model))}[/]. [yellow]It contains real "
                  "values from the data: keep it as confidential as the data.[/]")


def _pairs(text: str | None, flag: str) -> dict[str, str] | None:
    """'a=x,b=y' as {'a': 'x', 'b': 'y'}."""
    if not text:
        return None
    pairs = {}
    for item in (t.strip() for t in text.split(",") if t.strip()):
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise SynthesisError(f"{flag} takes COLUMN=METHOD pairs separated by commas, e.g. "
                                 "'age=normrank,income=pmm'; one item lacks its '='.")
        pairs[name.strip()] = value.strip()
    return pairs


def _named_options(items: list[str], given: dict) -> dict:
    """--option NAME=VALUE, the value read as a number, true/false or none where it is one."""
    options: dict = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise SynthesisError("--option takes NAME=VALUE, e.g. --option ntree=20.")
        if name in given or name in options:
            raise SynthesisError(f"Option '{name}' is given twice; give it once.")
        text = text.strip()
        value: object = text
        if text.lower() in ("true", "false"):
            value = text.lower() == "true"
        elif text.lower() == "none":
            value = None
        else:
            for cast in (int, float):
                try:
                    value = cast(text)
                    break
                except ValueError:
                    continue
        options[name] = value
    return options


# synthesizer options with a flag of their own; any other is given as --option NAME=VALUE
_OWN_FLAGS = {"identifiers": "--fresh-ids", "column_methods": "--column-method", **{
    name: "--" + name.replace("_", "-") for name in (
        "visit_sequence", "strata", "rules", "min_leaf", "min_split", "cp", "smoothing",
        "weights_as_case_weights", "weight_column", "epsilon", "delta", "max_seconds",
        "max_model_size", "levels_share", "keep")}}


def _flag(option: str) -> str:
    """The command-line flag that sets a synthesizer option, for messages."""
    return _OWN_FLAGS.get(option, f"--option {option}=...")


def _print_budget(model) -> None:
    """The privacy guarantee and how the budget was spent, by purpose."""
    ledger = model.accountant_
    out.print("  " + escape(ledger.text().splitlines()[0]))
    grid = Table(header_style="bold")
    for header in ("purpose", "mechanisms", f"cost ({ledger.unit})", "share"):
        grid.add_column(header)
    for row in ledger.summary():
        grid.add_row(row["purpose"], str(row["mechanisms"]), f"{row['cost']:.6g}", f"{row['share']:.1%}")
    grid.add_row("total", str(len(ledger.spends)), f"{ledger.spent:.6g}", f"{ledger.spent / ledger.total:.1%}")
    out.print(grid)
    if ledger.noise:
        out.print(f"  noise: {escape(ledger.noise)}")
    for note in model.notes_:
        out.print(f"  note: {escape(note)}")
    if model.seed is not None:
        out.print("  [yellow]--seed also fixes the privacy noise (numpy's generator): whoever learns the seed "
                  "can remove it. Leave --seed out for a file to be released; the noise is then exact "
                  "(OpenDP's samplers) and unseeded.[/]")


@app.command()
@guarded
def sample(
    model_path: Annotated[Path, typer.Argument(metavar="MODEL", help="A model saved with synth --save-model.")],
    n: Annotated[Optional[int], typer.Option("--n", "-n", min=1, help="Synthetic rows (default: as many as the real file).")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Synthetic file to write.")] = Path("synthetic.csv"),
    m: Annotated[int, typer.Option("--m", min=1, help="Independent synthetic copies.")] = 1,
    seed: Annotated[Optional[int], typer.Option("--seed", min=0, help="Random seed (0 or more).")] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Draw new synthetic rows from a saved model."""
    import numpy as np

    from confidata.synth import load_model
    from confidata.table import write_table

    paths = _output_paths(output, m)
    _check_outputs(paths, overwrite)
    model = load_model(model_path)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**31)
    seeds = np.random.SeedSequence(seed).generate_state(m) if m > 1 else [seed]
    for path, copy_seed in zip(paths, seeds, strict=True):
        synthetic = model.sample(n, seed=int(copy_seed))
        write_table(synthetic, path, model.schema_.select(synthetic.columns), overwrite=overwrite)
        out.print(f"Wrote {len(synthetic):,} rows x {synthetic.shape[1]} columns to "
                  f"[bold]{escape(str(path))}[/] (seed {int(copy_seed)}).")


measures_app = typer.Typer(help="The inventory of utility and disclosure-risk measures.",
                           no_args_is_help=True, rich_markup_mode=None)
app.add_typer(measures_app, name="measures")
app.command("evaluate")(evaluate_command)
app.command("recommend")(recommend_command)
app.command("compare")(compare_command)
app.command("serve")(serve_command)
measures_app.command("run")(measures_run_command)
app.add_typer(ipp_app, name="ipp")
app.add_typer(secure_app, name="secure")
app.add_typer(pprl_app, name="pprl")
app.add_typer(he_app, name="he")


@measures_app.command("list")
@guarded
def measures_list() -> None:
    """List every measure: family, when it applies, what it tells."""
    from confidata.measures import MEASURES

    grid = Table(header_style="bold")
    for header in ("measure", "family", "applies when", "what it tells"):
        grid.add_column(header, overflow="fold")
    for name, spec in sorted(MEASURES.items(), key=lambda kv: (kv[1].family.value, kv[0])):
        grid.add_row(escape(name), spec.family.value, escape(spec.applies_when), escape(spec.summary))
    out.print(grid)
    out.print(f"{len(MEASURES)} measures. 'confidata measures show NAME' explains one.")


@measures_app.command("show")
@guarded
def measures_show(name: Annotated[str, typer.Argument(help="A measure's name, as in 'measures list'.")]) -> None:
    """Explain one measure: what it computes, how to read it, where it comes from."""
    import inspect as pyinspect

    from confidata.measures import MEASURES

    if name not in MEASURES:
        close = [m for m in MEASURES if name.lower() in m.lower() or m.lower() in name.lower()]
        hint = f" Did you mean {quote_names(close)}?" if close else ""
        raise InputFileError(f"There is no measure '{name}'.{hint} See 'confidata measures list'.")
    spec = MEASURES[name]
    out.print(f"[bold]{escape(name)}[/] ({spec.family.value}; applies when {escape(spec.applies_when)})")
    out.print(escape(spec.summary))
    doc = pyinspect.getdoc(spec.function)
    if doc:
        out.print()
        out.print(escape(doc))


# -- entry point ----------------------------------------------------------------------------




def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 user error, 3 internal error)."""
    try:
        app(args=list(sys.argv[1:] if argv is None else argv), prog_name="confidata")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
