#!/usr/bin/env python3
"""Run each synthesizer on each prepared data set, time it, score its output.

    .venv/bin/python bench/run.py [--datasets sd2011 nist ...] [--tools confidata sdv_gc ...]
                                  [--timeout 1800] [--repeats 1] [--seed 2011]

Standard library only (run it with any Python 3.9+). Needs bench/setup.sh (the tools' and the
scorer's environments) and bench/prepare.py (the data under bench/work/) to have run.

For every (data set, tool) the tool is run as one child process on the training file,
synthesising as many rows as that file has. Wall time is that of the whole command
(interpreter start, imports, reading, fitting, sampling, writing); peak memory is the child's
ru_maxrss from os.wait4 (the largest resident set of the process, or of any descendant it
waited for: not a sum over worker processes). With --repeats N the median of N runs is
reported and the last run's output is scored. The output is scored by the shared score.py in
bench/.venv-score, and everything lands in bench/results/<dataset>__<tool>.json.

A tool whose command does not exist yet (confidata's `synth`, until it is written) is recorded
as 'not available' with the reason, not as a failure.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
SHARED = os.environ.get("CONFIDATA_SHARED", os.path.join(os.path.dirname(REPO), "shared"))
WORK = os.path.join(BENCH, "work")
RESULTS = os.path.join(BENCH, "results")
SCORE_PY = os.path.join(SHARED, "bench", "score.py")
SCORE_PYTHON = os.path.join(BENCH, ".venv-score", "bin", "python")
SYNTHPOP = os.path.join(SHARED, "reference", "synthpop")

# data set -> folder under work/, training file, TSTR target, extra score.py options
DATASETS = {
    "sd2011": {"dir": "sd2011", "train": "train.csv", "target": "sex",
               "about": "SD2011, 35 variables, 4,000 training rows"},
    "sd2011_12": {"dir": "sd2011_12", "train": "train.csv", "target": "sex",
                  "about": "SD2011, the 12 variables of synthpop's examples, 4,000 training rows"},
    "nist": {"dir": "nist", "train": "train.csv", "target": "SEX",
             "about": "NIST national2019 (ACS), 24 variables, 21,802 training rows"},
    "nist_1m": {"dir": "nist", "train": "train_1000000.csv", "target": "SEX",
                # scored against the original 21,802 training rows and the holdout; the
                # 1,000,000 synthetic rows are subsampled for the marginals (the other measures
                # subsample by default)
                "score_args": ["--max-rows-marginals", "200000"],
                "about": "NIST national2019 training rows bootstrapped and jittered to "
                         "1,000,000 (931k distinct); scored against the 21,802 real "
                         "training rows"},
    "fertility": {"dir": "fertility", "train": "train.csv", "target": "morekids",
                  "about": "AER Fertility, 8 variables, 203,723 training rows"},
}

# tool -> command template; {train} {schema} {out} {n} {seed} {bench} {repo} are filled in
TOOLS = {
    "confidata": {
        "cmd": "{repo}/.venv/bin/confidata synth {train} -o {out} --schema {schema} "
               "--seed {seed} --overwrite",
        "about": "confidata synth (this project)",
    },
    "sdv_gc": {
        "cmd": "{bench}/.venv-sdv/bin/python {bench}/peers/sdv_gaussian_copula.py "
               "--train {train} --schema {schema} --n {n} --seed {seed} --out {out}",
        "about": "SDV GaussianCopulaSynthesizer, default settings",
    },
    "syndiffix": {
        "cmd": "{bench}/.venv-syndiffix/bin/python {bench}/peers/syndiffix_run.py "
               "--train {train} --schema {schema} --n {n} --seed {seed} --out {out}",
        "about": "SynDiffix (syndiffix on PyPI), default settings",
    },
    "synthpop_recorded": {
        "cmd": None,
        "about": "synthpop 1.9.3 on R 4.2.2: recorded figures only (R cannot run here)",
    },
}
DEFAULT_TOOLS = ["confidata", "sdv_gc", "syndiffix", "synthpop_recorded"]
# pairs not run unless --no-default-skips: measured on this 2-core, 24 GiB machine
DEFAULT_SKIPS = {
    ("nist_1m", "syndiffix"): "too slow: 172 s and 1.3 GiB peak on the 21,802-row nist set; "
                              "46x the rows would take well over 15 minutes and more memory "
                              "than the machine has",
}

# synthpop's recorded runs (shared/reference/synthpop/README.md); another 2-core machine
SYNTHPOP_RECORDED = {
    "sd2011_12": {
        "wall_s": 2.2, "cpu_s": 1.5,
        "synthetic": "sd2011_syn_cart.csv", "real": "sd2011_real12.csv",
        "note": "syn(ods12, seed = 2011), default sequential CART, fitted on all 5,000 real rows "
                "(no holdout), so it is scored against those 5,000 rows with no holdout: "
                "holdout-based figures are absent and TSTR tests on a 20% split it has seen. "
                "Timing recorded on another busy 2-core machine (median of 3, +-40%). "
                "Bootstrapped to 50,000 / 200,000 / 1,000,000 rows the same 12 variables took "
                "25-35 s / 125-163 s / 1,119 s (2 GB).",
    },
    "sd2011": {
        "wall_s": 29.2, "cpu_s": None, "synthetic": None,
        "note": "syn() on all 35 variables with wkabdur numeric and eduspec visited last "
                "(default syn() on the raw 35 does not finish in 30 minutes). Timing recorded on "
                "another busy 2-core machine (median of 3, +-40%); no synthetic file was kept, "
                "so there are no scores.",
    },
}


def log(msg):
    print(f"[run {dt.datetime.now():%H:%M:%S}] {msg}", flush=True)


def machine_info():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    ram = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "ram_gib": ram, "cpu_model": cpu,
            "python": platform.python_version(), "platform": platform.platform()}


def count_rows(path):
    """Data rows of a CSV (lines after the header; the prepared files quote no newlines)."""
    with open(path, "rb") as fh:
        return sum(1 for _ in fh) - 1


def tail(path, n=3000):
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - n))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


def run_measured(argv, timeout, stdout_path, stderr_path, env=None):
    """Run argv as a child in its own process group. Returns wall seconds, the child's
    rusage-based peak RSS in MiB, its exit code (None on timeout), and whether it timed out."""
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        t0 = time.perf_counter()
        try:
            proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                    start_new_session=True, env=env)
        except OSError as exc:
            err.write(f"could not start: {exc}\n".encode())
            return {"wall_s": 0.0, "peak_rss_mib": None, "exit_code": 127, "timed_out": False,
                    "start_error": str(exc)}
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    # leftovers of the group (a tool's own workers), if any
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    return {"wall_s": round(wall, 3), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "cpu_user_s": round(usage.ru_utime, 2), "cpu_sys_s": round(usage.ru_stime, 2),
            "exit_code": None if timed_out.is_set() else proc.returncode,
            "timed_out": timed_out.is_set()}


def score(dataset, tool, synthetic, real, holdout, schema, target, extra, args, logs):
    """Run score.py in its own environment; returns (scores or None, record of the run)."""
    out_json = os.path.join(WORK, "scores", f"{dataset}__{tool}.json")
    os.makedirs(os.path.dirname(out_json), exist_ok=True)
    if os.path.exists(out_json):
        os.remove(out_json)
    argv = [SCORE_PYTHON, SCORE_PY, "--real", real, "--synthetic", synthetic]
    if holdout:
        argv += ["--holdout", holdout]
    argv += ["--schema", schema, "--label", tool, "--out", out_json]
    if target:
        argv += ["--target", target]
    argv += list(extra)
    if args.nice:
        argv = ["nice", "-n", str(args.nice)] + argv
    log(f"  scoring: {shlex.join(argv)}")
    res = run_measured(argv, args.score_timeout, logs + ".score.stdout.log",
                       logs + ".score.stderr.log")
    rec = {"command": shlex.join(argv), "wall_s": res["wall_s"], "exit_code": res["exit_code"],
           "timed_out": res["timed_out"]}
    if res["exit_code"] != 0 or not os.path.exists(out_json):
        rec["stderr_tail"] = tail(logs + ".score.stderr.log")
        return None, rec
    with open(out_json) as fh:
        return json.load(fh), rec


def result_path(dataset, tool):
    return os.path.join(RESULTS, f"{dataset}__{tool}.json")


def save(rec):
    os.makedirs(RESULTS, exist_ok=True)
    path = result_path(rec["dataset"], rec["tool"])
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(rec, fh, indent=1, default=str)
        fh.write("\n")
    os.replace(tmp, path)
    log(f"  -> {os.path.relpath(path, REPO)}: {rec['status']}"
        + (f" ({rec['reason']})" if rec.get("reason") else "")
        + (f", {rec['wall_s']} s, {rec['peak_rss_mib']} MiB" if rec.get("wall_s") is not None
           and rec["status"] == "ok" else ""))


def synthpop_recorded(dataset, base, args):
    rec = dict(base, status="not available",
               reason="synthpop needs R (CRAN is unreachable here) and no figures were "
                      "recorded for this data set")
    info = SYNTHPOP_RECORDED.get(dataset)
    if not info:
        return rec
    rec.update(status="recorded", reason=None, wall_s=info["wall_s"], cpu_s=info["cpu_s"],
               peak_rss_mib=None, timing_source=os.path.join(SYNTHPOP, "README.md"),
               note=info["note"], recorded_elsewhere=True)
    if info.get("synthetic") and not args.no_score:
        synthetic = os.path.join(SYNTHPOP, info["synthetic"])
        real = os.path.join(SYNTHPOP, info["real"])
        rec["synthetic"] = synthetic
        rec["n_synthetic"] = count_rows(synthetic)
        rec["scored_against"] = {"real": real, "holdout": None}
        logs = os.path.join(WORK, "logs", f"{dataset}__synthpop_recorded")
        scores, srec = score(dataset, "synthpop_recorded", synthetic, real, None, base["schema"],
                             DATASETS[dataset]["target"], DATASETS[dataset].get("score_args", []),
                             args, logs)
        rec["scores"], rec["score_run"] = scores, srec
        if scores is None:
            rec["status"], rec["reason"] = "failed", "score.py failed (see score_run)"
    return rec


def run_tool(dataset, tool, args, skip_reasons):
    spec = DATASETS[dataset]
    folder = os.path.join(WORK, spec["dir"])
    train = os.path.join(folder, spec["train"])
    schema = os.path.join(folder, "schema.json")
    holdout = os.path.join(folder, "holdout.csv")
    real = os.path.join(folder, "train.csv")  # what score.py compares with (nist_1m too)
    base = {"dataset": dataset, "tool": tool, "dataset_about": spec["about"],
            "tool_about": TOOLS[tool]["about"], "train": train, "schema": schema,
            "seed": args.seed, "timeout_s": args.timeout, "nice": args.nice,
            "started_at": dt.datetime.now().isoformat(timespec="seconds"),
            "machine": machine_info(), "wall_s": None, "peak_rss_mib": None, "scores": None}
    for path in (train, schema, holdout):
        if not os.path.exists(path):
            return dict(base, status="failed",
                        reason=f"{os.path.relpath(path, REPO)} missing: run bench/prepare.py")
    base["n_train"] = count_rows(train)
    if tool == "synthpop_recorded":
        return synthpop_recorded(dataset, base, args)
    if (dataset, tool) in skip_reasons:
        return dict(base, status="skipped", reason=skip_reasons[(dataset, tool)])

    template = args.confidata_cmd if tool == "confidata" and args.confidata_cmd else TOOLS[tool]["cmd"]
    fill = {"train": train, "schema": schema, "n": base["n_train"], "seed": args.seed,
            "bench": BENCH, "repo": REPO}
    out_dir = os.path.join(WORK, "out")
    os.makedirs(out_dir, exist_ok=True)
    os.makedirs(os.path.join(WORK, "logs"), exist_ok=True)
    out = os.path.join(out_dir, f"{dataset}__{tool}.csv")
    fill["out"] = out
    argv = [a.format(**fill) for a in shlex.split(template)]
    base["command"] = shlex.join(argv)
    needs = argv[0]
    if os.sep in needs and not os.path.exists(needs):
        hint = "make install" if tool == "confidata" else "bash bench/setup.sh"
        return dict(base, status="not available", reason=f"{needs} not found ({hint})")
    if args.nice:
        argv = ["nice", "-n", str(args.nice)] + argv
    base["command_run"] = shlex.join(argv)
    logs = os.path.join(WORK, "logs", f"{dataset}__{tool}")
    runs = []
    for i in range(args.repeats):
        if os.path.exists(out):
            os.remove(out)
        log(f"{dataset} / {tool}: run {i + 1}/{args.repeats}: {base['command']}")
        res = run_measured(argv, args.timeout, logs + ".stdout.log", logs + ".stderr.log")
        res["stderr_tail"] = tail(logs + ".stderr.log", 1500)
        runs.append(res)
        log(f"  exit {res['exit_code']}, {res['wall_s']} s, peak {res['peak_rss_mib']} MiB"
            + (" (timed out)" if res["timed_out"] else ""))
        if res["exit_code"] != 0:
            break
    last = runs[-1]
    base["runs"] = runs
    base["exit_code"] = last["exit_code"]
    said = tail(logs + ".stderr.log", 20000) + tail(logs + ".stdout.log", 20000)
    if last["timed_out"]:
        return dict(base, status="timeout", wall_s=last["wall_s"],
                    peak_rss_mib=last["peak_rss_mib"],
                    reason=f"killed after the {args.timeout} s timeout")
    if last["exit_code"] != 0:
        if "No such command" in said or last.get("start_error"):
            first = next((ln.strip(" │|\t") for ln in said.splitlines()
                          if "No such command" in ln), last.get("start_error", ""))
            return dict(base, status="not available",
                        reason=f"the command does not exist yet ({first.strip()})")
        return dict(base, status="failed", wall_s=last["wall_s"],
                    peak_rss_mib=last["peak_rss_mib"],
                    reason=f"exit status {last['exit_code']}: "
                           + (said.strip().splitlines() or [""])[-1][:300])
    if not os.path.exists(out):
        return dict(base, status="failed", reason=f"exit 0 but no output file {out}")
    ok = [r for r in runs if r["exit_code"] == 0]
    base.update(status="ok", reason=None,
                wall_s=round(statistics.median(r["wall_s"] for r in ok), 3),
                peak_rss_mib=round(statistics.median(r["peak_rss_mib"] for r in ok), 1),
                cpu_s=round(statistics.median(r["cpu_user_s"] + r["cpu_sys_s"] for r in ok), 2),
                synthetic=out, n_synthetic=count_rows(out),
                scored_against={"real": real, "holdout": holdout})
    if args.no_score:
        return base
    scores, srec = score(dataset, tool, out, real, holdout, schema, spec["target"],
                         spec.get("score_args", []), args, logs)
    base["scores"], base["score_run"] = scores, srec
    if scores is None:
        base["status"], base["reason"] = "failed", "score.py failed (see score_run)"
    return base


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    ap.add_argument("--tools", nargs="+", choices=list(TOOLS), default=DEFAULT_TOOLS)
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per tool run")
    ap.add_argument("--score-timeout", type=float, default=1800, help="seconds per score.py run")
    ap.add_argument("--repeats", type=int, default=1, help="runs per tool; the median is kept")
    ap.add_argument("--seed", type=int, default=2011)
    ap.add_argument("--nice", type=int, default=10, help="run tools and scorer under nice -n N "
                                                          "(0: not at all)")
    ap.add_argument("--confidata-cmd", help="command template for confidata (default: "
                                            + TOOLS["confidata"]["cmd"] + ")")
    ap.add_argument("--skip", action="append", default=[], metavar="TOOL:DATASET=REASON",
                    help="record this pair as skipped with the reason instead of running it")
    ap.add_argument("--no-default-skips", action="store_true",
                    help="also run the pairs skipped by default (syndiffix on nist_1m)")
    ap.add_argument("--keep-existing", action="store_true",
                    help="leave pairs whose result file already says ok or recorded")
    ap.add_argument("--no-score", action="store_true", help="time the tools only")
    args = ap.parse_args()
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    skip_reasons = {} if args.no_default_skips else dict(DEFAULT_SKIPS)
    for item in args.skip:
        pair, _, reason = item.partition("=")
        tool, _, dataset = pair.partition(":")
        if tool not in TOOLS or dataset not in DATASETS:
            ap.error(f"--skip {item!r}: expected TOOL:DATASET=REASON")
        skip_reasons[(dataset, tool)] = reason or "skipped"
    if not args.no_score and not (os.path.exists(SCORE_PYTHON) and os.path.exists(SCORE_PY)):
        sys.exit(f"scorer not found ({SCORE_PYTHON}, {SCORE_PY}): run bash bench/setup.sh")

    invocation = shlex.join([os.path.relpath(sys.executable, REPO) if sys.executable.startswith(REPO)
                             else sys.executable, os.path.relpath(__file__, REPO)] + sys.argv[1:])
    for dataset in args.datasets:
        for tool in args.tools:
            if args.keep_existing and os.path.exists(result_path(dataset, tool)):
                with open(result_path(dataset, tool)) as fh:
                    if json.load(fh).get("status") in ("ok", "recorded"):
                        log(f"{dataset} / {tool}: kept (--keep-existing)")
                        continue
            rec = run_tool(dataset, tool, args, skip_reasons)
            rec["finished_at"] = dt.datetime.now().isoformat(timespec="seconds")
            rec["invocation"] = invocation
            save(rec)


if __name__ == "__main__":
    main()
