"""What a job does, run in a worker process: inspect, synth, sample and evaluate.

Each kind calls the same public functions as the command line (`read_raw`/`from_raw`,
`synthesize` and ``model.sample``, `write_table`, `evaluate` and `write_report`, and the
evaluate command's own input reading), in the same order with the same seed, so a job's
synthetic file has the same bytes as ``confidata synth`` gives; `reproduce.sh` in the job's
files states those commands. Nothing here knows about HTTP.

A worker writes its progress and outcome straight into the service's SQLite database (WAL), so
the server never waits on a worker and a job's state survives the server. Messages are the
command line's messages, with the server's folders replaced by the file names the user knows;
an internal error leaves its traceback in a private log file (mode 0600), never in a message.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shlex
import signal
import time
import traceback
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from confidata import __version__
from confidata.errors import ConfidataError, ConfidataWarning, InputFileError, quote_names
from confidata.serve.store import connect, job_update
from confidata.table import read_table, write_table

# the synthesizers, the DP library and relations (scipy) are imported inside the job that uses
# them: the server imports this module at start-up and should be listening within 2 s (issue 18)

__all__ = ["KINDS", "MODEL_FILE", "method_options_from", "run_job", "sha256_file"]

MODEL_FILE = "model.model"
_WRITE_EVERY_S = 0.25  # progress is written at most this often (a write is a transaction)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _Job:
    """One running job: its row, folders, and the progress it reports."""

    def __init__(self, data_dir: Path, job_id: str) -> None:
        self.data_dir = data_dir
        self.conn = connect(data_dir / "confidata-serve.sqlite")
        self.row = self.conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        self.id = job_id
        self.options: dict[str, Any] = json.loads(self.row["options"])
        self.dir = data_dir / "jobs" / job_id
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.messages: list[str] = []
        self.files: list[str] = []
        self.names: dict[str, str] = {}  # server path -> the name the user knows, for messages
        self._last = 0.0

    def dataset(self, dataset_id: str) -> tuple[Path, Path | None, str]:
        """The data file, its schema file (None until inspected or given) and display name."""
        row = self.conn.execute("SELECT * FROM datasets WHERE id = ? AND owner = ?",
                                (dataset_id, self.row["owner"])).fetchone()
        if row is None:
            raise InputFileError(f"Dataset '{dataset_id}' does not exist (or was deleted).")
        folder = self.data_dir / "datasets" / dataset_id
        path = folder / f"data{row['suffix']}"
        schema = folder / "schema.json"
        self.names[str(path)] = row["name"]
        self.names[str(schema)] = "schema.json"
        return path, (schema if schema.is_file() else None), row["name"]

    def source_job(self, job_id: str, kinds: tuple[str, ...]) -> Path:
        row = self.conn.execute("SELECT * FROM jobs WHERE id = ? AND owner = ?",
                                (job_id, self.row["owner"])).fetchone()
        if row is None or row["kind"] not in kinds or row["state"] != "done":
            raise InputFileError(f"Job '{job_id}' is not a finished {' or '.join(kinds)} job of "
                                 "yours; wait until it is done, or give another job's id.")
        return self.data_dir / "jobs" / job_id

    def stage(self, stage: str, progress: float, *, force: bool = True) -> None:
        now = time.monotonic()
        if force or now - self._last >= _WRITE_EVERY_S:
            job_update(self.conn, self.id, stage=stage, progress=round(min(progress, 1.0), 4))
            self._last = now

    def counter(self, stage: str, start: float, span: float,
                total: int | None) -> Callable[[str, str], None]:
        """A progress callback for `synthesize` / ``sample``: one call per step."""
        done = [0]

        def step(_stage: str, _part: str) -> None:
            done[0] += 1
            share = done[0] / total if total else 1 - 1 / (1 + done[0] / 10)
            self.stage(f"{stage} ({done[0]}{f' of {total}' if total else ''})",
                       start + span * min(share, 1.0), force=False)
        return step

    def say(self, text: str) -> None:
        self.messages.append(self.scrub(text))

    def scrub(self, text: str) -> str:
        """Server folders out of a message: the user knows their file by its upload name."""
        for path, name in sorted(self.names.items(), key=lambda kv: -len(kv[0])):
            text = text.replace(path, name)
        return text.replace(str(self.dir) + os.sep, "").replace(str(self.data_dir), "(server)")

    def output(self, name: str) -> Path:
        self.files.append(name)
        return self.dir / name


# -- the kinds -------------------------------------------------------------------------------
def _inspect(job: _Job) -> None:
    from confidata.table import missing_mask
    from confidata.table.readers import from_raw, read_raw
    from confidata.table.relations import find_relations, with_relations

    path, schema_path, name = job.dataset(job.row["dataset"])
    given = sha256_file(schema_path) if schema_path is not None else None
    job.stage("reading", 0.1)
    raw = read_raw(path)
    frame, inferred = from_raw(raw, schema_path)
    if "relations" not in inferred.extra:  # a reviewed schema keeps the relations it declares
        inferred = with_relations(inferred, find_relations(frame, inferred))
    job.stage("describing", 0.7)
    missing = missing_mask(frame, inferred).mean()
    overview = {"rows": int(len(frame)), "format": raw.format, "encoding": raw.encoding,
                "columns": [{"name": c.name, "kind": c.kind.value,
                             "roles": [r.value for r in c.roles],
                             "missing": float(missing[c.name]),
                             "levels": int(frame[c.name].nunique(dropna=True)),
                             "domain_public": c.domain_public,
                             "why": c.inferred_because} for c in inferred]}
    current = job.data_dir / "datasets" / job.row["dataset"] / "schema.json"
    if (sha256_file(current) if current.is_file() else None) == given:  # not replaced meanwhile
        inferred.save(current, overwrite=True)
    else:
        job.say("The schema was replaced while this job ran; the replacement is kept.")
    inferred.save(job.output("schema.json"), overwrite=True)
    (job.output("overview.json")).write_text(json.dumps(overview, indent=2), encoding="utf-8")
    job.say(f"{name}: {len(frame):,} rows, {len(inferred)} columns, {raw.format}. Review the kinds "
            "and roles of the schema, then synthesise.")


def _synth(job: _Job) -> None:
    from confidata.synth import METHODS, check_options, synthesize
    from confidata.synth.dp import DPSynthesizer

    opts = dict(job.options)
    method = opts.pop("method", "cart")
    n, seed, fmt = opts.pop("n", None), opts.pop("seed", None), opts.pop("format", "csv")
    options = method_options_from(opts)
    check_options(method, options)
    path, schema_path, name = job.dataset(job.row["dataset"])
    private = issubclass(METHODS[method], DPSynthesizer)
    job.stage("reading", 0.05)
    started = time.perf_counter()
    frame, used = read_table(path, schema_path)
    used.save(job.output("schema.json"), overwrite=True)
    steps = job.counter("fitting", 0.1, 0.6, None if private else len(used))
    model = synthesize(frame, used, method=method, options=options, seed=seed, progress=steps)
    seed_note = f"seed {seed}"
    fit_seed = seed
    if seed is None:  # drawn and recorded, as the command line does
        seed = int(np.random.SeedSequence().entropy % 2**31)
        seed_note = f"sampling seed {seed}, unseeded privacy noise" if private else f"seed {seed}"
    total = 1 if private else (len(model.models_[0].steps) * len(model.models_)
                               if hasattr(model, "models_") else None)
    synthetic = model.sample(n, seed=seed, progress=job.counter("generating", 0.7, 0.25, total))
    out = job.output(f"synthetic.{fmt}")
    write_table(synthetic, out, used.select(synthetic.columns), overwrite=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConfidataWarning)
        model.save(job.output(MODEL_FILE), overwrite=True)
    job.say(f"Synthesised {len(synthetic):,} rows x {synthetic.shape[1]} columns from "
            f"{len(frame):,} real rows with {method} ({seed_note}) in "
            f"{time.perf_counter() - started:.1f} s.")
    left_out = [c for c in used.names if c not in synthetic.columns]
    identifiers = list(getattr(model, "identifier_columns_", []))
    text = list(getattr(model, "dropped_columns_", []))
    for names, why in ((identifiers, "direct identifiers, never synthesised; the option "
                        "identifiers='fresh' writes new ones"),
                       (text, "free text, left out because text can identify people"),
                       ([c for c in left_out if c not in identifiers + text],
                        "not in the visit sequence")):
        names = [c for c in names if c in left_out]
        if names:
            job.say(f"Not synthesised: {quote_names(names)} ({why}).")
    if private:
        ledger = model.accountant_
        job.say(ledger.text().splitlines()[0])
        job.say("The model holds no real record and may be shared; it states its guarantee.")
        if fit_seed is not None:
            job.say("The seed also fixes the privacy noise (numpy's generator): whoever learns the "
                    "seed can remove it. Leave the seed out for a file to be released; the noise "
                    "is then exact (OpenDP's samplers) and unseeded.")
    else:
        job.say("The model holds real values from the data: keep it as confidential as the data.")
    _script(job, name, [_synth_command(method, options, n, seed, f"synthetic.{fmt}",
                                       unseeded_noise=private and fit_seed is None)])


def _sample(job: _Job) -> None:
    from confidata.synth import load_model

    opts = job.options
    source = job.source_job(opts["job"], ("synth",))
    n, seed, fmt = opts.get("n"), opts.get("seed"), opts.get("format", "csv")
    job.stage("loading the model", 0.1)
    model = load_model(source / MODEL_FILE)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**31)
    synthetic = model.sample(n, seed=seed)
    write_table(synthetic, job.output(f"synthetic.{fmt}"), model.schema_.select(synthetic.columns),
                overwrite=True)
    job.say(f"Wrote {len(synthetic):,} rows x {synthetic.shape[1]} columns (seed {seed}).")
    line = f"confidata sample {MODEL_FILE} -o synthetic.{fmt} --seed {seed}"
    _script(job, None, [line + (f" -n {n}" if n else "")],
            note=f"{MODEL_FILE} is the model of synth job {opts['job']}.")


def _evaluate(job: _Job) -> None:
    from confidata.evaluate import evaluate
    from confidata.report import write_report
    from confidata.synth.provenance import model_provenance
    from confidata.table.companion import read_evaluation_files  # as the evaluate command reads

    opts = job.options
    path, schema_path, name = job.dataset(job.row["dataset"])
    source = job.source_job(opts["synthetic"], ("synth", "sample"))
    synthetic = next(p for p in sorted(source.iterdir()) if p.stem == "synthetic")
    holdout = None
    if opts.get("holdout"):
        holdout, _, _ = job.dataset(opts["holdout"])
    job.stage("reading", 0.1)
    real_frame, synth_frame, hold_frame, used = read_evaluation_files(path, synthetic, schema_path,
                                                                      holdout)
    files = {"real": {"name": name, "sha256": sha256_file(path)},
             "synthetic": {"name": synthetic.name, "sha256": sha256_file(synthetic)}}
    if holdout is not None:
        files["holdout"] = {"name": job.names[str(holdout)], "sha256": sha256_file(holdout)}
    model_file = source / MODEL_FILE
    synthesis = model_provenance(model_file) if model_file.is_file() else {}
    command = _evaluate_command(opts, synthetic.name, holdout is not None, model_file.is_file())
    job.stage("measuring", 0.2)
    result = evaluate(real_frame, synth_frame, used, use_case=opts["use_case"], holdout=hold_frame,
                      keys=opts.get("keys"), target=opts.get("target"), model=opts.get("model"),
                      seed=opts.get("seed"), files=files, command=command,
                      epsilon=synthesis.get("epsilon"), delta=synthesis.get("delta"),
                      synthesis=synthesis or None)
    job.stage("writing the report", 0.95)
    write_report(result, job.output("report.html"), audience=opts.get("audience", "internal"),
                 min_count=opts.get("min_count", 10), overwrite=True)
    job.files += ["report.json", "report.md"]
    job.say(f"{result['verdict'].upper()} for {result['use_case']['title']}: "
            f"{result['verdict_reason']}")
    _script(job, name, [command], note=f"synthetic file: {synthetic.name} of job "
            f"{opts['synthetic']}" + (f"; {MODEL_FILE} is its model" if model_file.is_file() else ""))


def _compare(job: _Job) -> None:
    from confidata.compare import compare
    from confidata.report.comparison import write_comparison
    from confidata.table.companion import read_companion  # as the compare command reads a holdout

    opts = job.options
    path, schema_path, name = job.dataset(job.row["dataset"])
    job.stage("reading", 0.05)
    frame, used = read_table(path, schema_path)
    used.save(job.output("schema.json"), overwrite=True)
    holdout = None
    if opts.get("holdout"):
        holdout_path, _, _ = job.dataset(opts["holdout"])
        holdout = read_companion(holdout_path, used, "holdout")
    stages: dict[str, str] = {}

    def progress(label: str, stage: str, message: dict[str, Any]) -> None:
        stages[label] = stage
        ended = sum(s in ("done", "error") for s in stages.values())
        job.stage(f"{label}: {stage}", 0.05 + 0.9 * ended / max(len(stages), 1), force=False)

    command = _compare_command(opts, holdout is not None)
    result = compare(frame, used, use_case=opts["use_case"], methods=opts.get("methods"),
                     holdout=holdout, split=opts.get("split", 0.2), m=opts.get("m", 1),
                     seed=opts.get("seed"), epsilon=opts.get("epsilon"), delta=opts.get("delta"),
                     time_cap=opts.get("time_cap", 600.0), keys=opts.get("keys"),
                     target=opts.get("target"), model=opts.get("model"), workers=1,
                     progress=progress, command=command,
                     files={"real": {"name": name, "sha256": sha256_file(path)}})
    write_comparison(result.data, job.output("compare.html"), overwrite=True)
    job.files.append("compare.json")
    job.say(result.data["recommendation"]["text"])
    _script(job, name, [command])


KINDS: dict[str, Callable[[_Job], None]] = {
    "inspect": _inspect,
    "synth": _synth,
    "sample": _sample,
    "evaluate": _evaluate,
    "compare": _compare,
}


# -- the reproducibility script ----------------------------------------------------------------
def method_options_from(opts: dict[str, Any]) -> dict[str, Any]:
    """A synth job's remaining keys are the method's own options (its constructor keywords);
    rules are always text, never a path on the server."""
    options = {k: v for k, v in opts.items() if v is not None and v is not False}
    if isinstance(options.get("rules"), str):
        options["rules"] = [line for line in options["rules"].replace(";", "\n").splitlines()
                            if line.strip()]
    return options


def _flag(name: str, value: Any) -> list[str]:
    if name == "identifiers":
        return ["--fresh-ids"] if value == "fresh" else []
    flag = "--" + name.replace("_", "-")
    if value is True:
        return [flag]
    if name == "rules" and isinstance(value, list):
        return [flag, ";".join(value)]
    if isinstance(value, list | tuple):
        return [flag, ",".join(str(v) for v in value)]
    return [flag, str(value)]


def _synth_command(method: str, options: dict[str, Any], n: int | None, seed: int, out: str, *,
                   unseeded_noise: bool) -> str:
    words = ["confidata", "synth", "\"$DATA\"", "--schema", "schema.json", "-o", out,
             "--method", method]
    if n:
        words += ["-n", str(n)]
    words += ["--seed", str(seed), "--save-model", MODEL_FILE]
    for name, value in sorted(options.items()):
        words += [shlex.quote(w) for w in _flag(name, value)]
    line = " ".join(words)
    if unseeded_noise:
        line = ("# the privacy noise was unseeded (exact OpenDP samplers), so no command repeats "
                "this model;\n# with --seed the noise is seeded too and the bytes repeat:\n" + line)
    return line


def _evaluate_command(opts: dict[str, Any], synthetic: str, holdout: bool, model: bool) -> str:
    words = ["confidata", "evaluate", "\"$DATA\"", synthetic, "--schema", "schema.json",
             "--use-case", opts["use_case"], "-o", "report.html"]
    if holdout:
        words += ["--holdout", "\"$HOLDOUT\""]
    for key in ("target", "model", "audience", "min_count", "seed"):
        if opts.get(key) is not None:
            words += ["--" + key.replace("_", "-"), shlex.quote(str(opts[key]))]
    if opts.get("keys"):
        words += ["--keys", shlex.quote(",".join(opts["keys"]))]
    if model:
        words += ["--synthesis-model", MODEL_FILE]
    return " ".join(words)


def _compare_command(opts: dict[str, Any], holdout: bool) -> str:
    words = ["confidata", "compare", "\"$DATA\"", "--schema", "schema.json", "--use-case",
             opts["use_case"], "-o", "compare.html", "--workers", "1"]
    if holdout:
        words += ["--holdout", "\"$HOLDOUT\""]
    for key in ("split", "m", "seed", "epsilon", "delta", "time_cap", "target", "model"):
        if opts.get(key) is not None:
            words += ["--" + key.replace("_", "-"), shlex.quote(str(opts[key]))]
    for key in ("methods", "keys"):
        if opts.get(key):
            words += ["--" + key, shlex.quote(",".join(opts[key]))]
    return " ".join(words)


def _script(job: _Job, data_name: str | None, lines: list[str], note: str = "") -> None:
    head = [
        "#!/bin/sh",
        f"# confidata serve {__version__}, job {job.id} ({job.row['kind']}), "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "# The confidata commands that give this job's files again, with the same bytes where",
        "# the same seed is given (reports carry their date, so only their content repeats).",
    ]
    if data_name is not None:
        head.append(f"# DATA: your copy of the uploaded file '{data_name}'; schema.json: this "
                    "job's schema file.")
    if note:
        head.append(f"# {note}")
    body = ["set -e", f"DATA=\"${{DATA:-{data_name or ''}}}\"" if data_name else "", *lines]
    text = "\n".join(head + [b for b in body if b]) + "\n"
    job.output("reproduce.sh").write_text(text, encoding="utf-8")


# -- the entry point of a worker process -------------------------------------------------------
def run_job(data_dir: str, job_id: str) -> None:
    """Run one job to its end and record the outcome; never raises (the process just ends)."""
    signal.signal(signal.SIGTERM, _end_children)
    job = _Job(Path(data_dir), job_id)
    kind = job.row["kind"]
    try:
        KINDS[kind](job)
    except ConfidataError as exc:
        _end(job, "failed", job.scrub(str(exc)))
        return
    except Exception as exc:  # a bug: its details go to a private file, not to the user or log
        details = traceback.format_exc()
        logs = job.data_dir / "logs"
        logs.mkdir(exist_ok=True, mode=0o700)
        log = logs / f"error-{job_id}.log"
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(details)
        _end(job, "failed", f"Internal error ({type(exc).__name__}), a bug in confidata. Please "
             f"report it with the log file logs/{log.name} from the server's data folder.")
        return
    _end(job, "done", None)


def _end_children(signum: int, frame: Any) -> None:
    """Cancelled (SIGTERM): end the processes this job started (compare's methods) too."""
    for child in multiprocessing.active_children():
        child.kill()
    os._exit(128 + signum)


def _end(job: _Job, state: str, error: str | None) -> None:
    job_update(job.conn, job.id, messages=job.messages, files=job.files,
               progress=1.0 if state == "done" else job.row["progress"], stage=state)
    job.conn.execute("BEGIN IMMEDIATE")
    job.conn.execute("UPDATE jobs SET state = ?, error = ?, finished = ? WHERE id = ? AND "
                     "state = 'running'", (state, error, time.time(), job.id))
    job.conn.execute("COMMIT")
    if state != "done":
        for name in job.files:  # no half-written outputs offered for download
            (job.dir / name).unlink(missing_ok=True)

