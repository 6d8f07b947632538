#!/usr/bin/env python3
"""Time every measure in confidata.measures.MEASURES, and compare some with their peers.

    .venv/bin/python bench/measures_bench.py scale [--timeout 300] [--budget 1200] [--only NAME ...]
    .venv/bin/python bench/measures_bench.py peers [--timeout 300] [--n-attacks 500]

`scale`: each measure runs in a fresh child process on the 1,000,000 jittered NIST rows
(bench/work/nist/train_1000000.csv) against confidata's 1,000,000-row synthetic file
(bench/work/out/nist_1m__confidata.csv), with the NIST holdout where a measure takes one. The
child reads the three files with confidata.read_table, then calls the measure once. Recorded
per measure: the child's wall time, the time to read the files and the time of the measure call
alone, the child's peak resident set (ru_maxrss from os.wait4), the status (ok / error /
timeout) and the result's value, reference, n and ci. Result: bench/results_measures/scale_1m.json.

`peers`: on nist (train.csv vs bench/work/out/nist__confidata.csv, holdout.csv as control),
times SDMetrics' QualityReport (bench/peers/sdmetrics_quality.py in bench/.venv-sdmetrics) and
anonymeter's three evaluators (bench/peers/anonymeter_run.py in bench/.venv-anonymeter), and
the corresponding confidata measures the same way as `scale`. Result:
bench/results_measures/peers_nist.json. Make the venvs with bench/setup_measures.sh.

Only the options a measure needs are passed (keys, target, holdout, weight, formula, seed);
every sampling option keeps its default, and the defaults are written to the result.
"""
from __future__ import annotations

import argparse
import datetime as dt
import inspect
import json
import math
import os
import platform
import signal
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
WORK = os.path.join(BENCH, "work")
OUT_DIR = os.path.join(BENCH, "results_measures")
NIST = os.path.join(WORK, "nist")
SCHEMA = os.path.join(NIST, "schema.json")
HOLDOUT = os.path.join(NIST, "holdout.csv")
DATA = {
    "nist_1m": {"real": os.path.join(NIST, "train_1000000.csv"),
                "synthetic": os.path.join(WORK, "out", "nist_1m__confidata.csv")},
    "nist": {"real": os.path.join(NIST, "train.csv"),
             "synthetic": os.path.join(WORK, "out", "nist__confidata.csv")},
}
SEED = 2011
KEYS = ["PUMA", "AGEP", "SEX", "RAC1P"]
# option -> value, passed to a measure only when its signature has that option
OPTIONS = {
    "keys": KEYS,
    "weight": "PWGTP",
    "formula": "PINCP ~ AGEP + SEX + EDU",
    "family": "linear",
    "seed": SEED,
}
# per-measure overrides: the target for the key-based disclosure measures cannot be a key
PER_MEASURE = {
    "attribute_disclosure": {"target": "MSP"},
    "correct_attribution_probability": {"target": "MSP"},
    "tstr": {"target": "SEX"},
    "inference": {"secret": "MSP"},
}
# measures compared with peers in `peers` mode
PEER_MEASURES = ["tvd_1way", "tvd_2way", "correlation_difference",
                 "singling_out", "linkability", "inference"]


def log(msg):
    print(f"[measures {dt.datetime.now():%H:%M:%S}] {msg}", flush=True)


def _json_number(x):
    if x is None:
        return None
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    return None if math.isnan(x) else x


def options_for(name, function, extra=None):
    """The options passed to one measure, and the defaults of the ones it keeps."""
    params = inspect.signature(function).parameters
    given = {k: v for k, v in OPTIONS.items() if k in params}
    given.update({k: v for k, v in PER_MEASURE.get(name, {}).items() if k in params})
    if extra:
        given.update({k: v for k, v in extra.items() if k in params})
    kept = {k: p.default for k, p in params.items()
            if p.kind == p.KEYWORD_ONLY and k not in given and k != "holdout"
            and p.default is not inspect.Parameter.empty}
    return given, kept


# ---------------------------------------------------------------- child: one measure, one run
def child(args):
    import warnings

    warnings.simplefilter("ignore")
    import confidata
    from confidata.measures import MEASURES

    paths = DATA[args.dataset]
    t0 = time.perf_counter()
    real, schema = confidata.read_table(paths["real"], schema=SCHEMA)
    synthetic, _ = confidata.read_table(paths["synthetic"], schema=SCHEMA)
    spec = MEASURES[args.child]
    given, kept = options_for(args.child, spec.function,
                              {"n_attacks": args.n_attacks} if args.n_attacks else None)
    if "holdout" in inspect.signature(spec.function).parameters:
        given["holdout"], _ = confidata.read_table(HOLDOUT, schema=SCHEMA)
    read_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    result = spec.function(real, synthetic, schema, **given)
    measure_s = time.perf_counter() - t1
    out = {
        "read_s": round(read_s, 3), "measure_s": round(measure_s, 3),
        "options": {k: (v if k != "holdout" else "holdout.csv") for k, v in given.items()},
        "defaults_kept": {k: v if isinstance(v, int | float | str | bool | None) else repr(v)
                          for k, v in kept.items()},
        "value": _json_number(result.value), "reference": _json_number(result.reference),
        "reference_kind": result.reference_kind, "n": result.n,
        "ci": None if result.ci is None else [_json_number(x) for x in result.ci],
        "details": {k: _json_number(v) for k, v in result.details.items()
                    if isinstance(v, int | float)},
    }
    with open(args.result, "w") as fh:
        json.dump(out, fh, indent=1, default=str)


# ---------------------------------------------------------------- parent: run and measure a child
def run_child(cmd, timeout, result_path):
    """Run cmd in its own process group; wall time, peak RSS (MiB) and the JSON it wrote."""
    if os.path.exists(result_path):
        os.remove(result_path)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True, cwd=REPO)
    timed_out = False
    output = b""
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
    # peak memory: run_measured reads RUSAGE_CHILDREN in the intermediate process that ran this
    wall = time.perf_counter() - start
    rc = proc.returncode
    payload = None
    if not timed_out and rc == 0 and os.path.exists(result_path):
        with open(result_path) as fh:
            payload = json.load(fh)
    status = "timeout" if timed_out else ("ok" if payload is not None else "error")
    tail = output.decode(errors="replace").strip().splitlines()[-6:]
    return {"status": status, "rc": rc, "wall_s": round(wall, 3), "payload": payload,
            "log_tail": tail if status != "ok" else []}


def run_measured(cmd, timeout, result_path):
    """run_child in a fresh intermediate process so that RUSAGE_CHILDREN is this child's alone."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - intermediate process
        os.close(read_fd)
        try:
            out = run_child(cmd, timeout, result_path)
            import resource

            out["peak_mib"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
            data = json.dumps(out).encode()
        except BaseException as exc:  # noqa: BLE001 - report whatever went wrong
            data = json.dumps({"status": "error", "rc": None, "wall_s": None, "payload": None,
                               "log_tail": [repr(exc)], "peak_mib": None}).encode()
        with os.fdopen(write_fd, "wb") as fh:
            fh.write(data)
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    return json.loads(data)


def our_cmd(name, dataset, result_path, n_attacks=None):
    cmd = [sys.executable, os.path.abspath(__file__), "child", "--child", name,
           "--dataset", dataset, "--result", result_path]
    if n_attacks:
        cmd += ["--n-attacks", str(n_attacks)]
    return cmd


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"nproc": os.cpu_count(), "ram_gib": round(mem_gib, 1), "cpu": cpu,
            "python": platform.python_version(), "platform": platform.platform()}


def flatten(name, rec):
    p = rec.pop("payload") or {}
    return {"measure": name, **rec, **p}


def scale(args):
    from confidata.measures import MEASURES

    names = args.only or list(MEASURES)
    tmp = os.path.join(WORK, "measures_tmp")
    os.makedirs(tmp, exist_ok=True)
    deadline = time.monotonic() + args.budget
    rows = []
    for name in names:
        left = deadline - time.monotonic()
        timeout = min(args.timeout, max(1.0, left))
        if left <= 1:
            rows.append({"measure": name, "status": "not run",
                         "log_tail": [f"overall budget of {args.budget} s used up"]})
            log(f"{name}: not run (budget)")
            continue
        log(f"{name}: running (timeout {timeout:.0f} s)")
        res = run_measured(our_cmd(name, "nist_1m", os.path.join(tmp, f"{name}.json")),
                           timeout, os.path.join(tmp, f"{name}.json"))
        res["timeout_s"] = round(timeout, 1)
        row = flatten(name, res)
        rows.append(row)
        log(f"{name}: {row['status']} wall {row.get('wall_s')} s, measure {row.get('measure_s')} s, "
            f"peak {row.get('peak_mib')} MiB, value {row.get('value')}")
    ok = [r for r in rows if r["status"] == "ok"]
    summary = {
        "measures": len(rows), "ok": len(ok),
        "sum_wall_s": round(sum(r.get("wall_s") or 0 for r in rows), 1),
        "sum_measure_s_ok": round(sum(r["measure_s"] for r in ok), 1),
        "max_read_s": max((r["read_s"] for r in ok), default=None),
        "max_peak_mib": max((r.get("peak_mib") or 0 for r in rows), default=None),
        "target": "all measures < 180 s in total and < 8 GiB",
    }
    out = {"when": dt.datetime.now().isoformat(timespec="seconds"), "machine": machine(),
           "data": DATA["nist_1m"], "holdout": HOLDOUT, "schema": SCHEMA,
           "timeout_s": args.timeout, "budget_s": args.budget, "summary": summary, "rows": rows}
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, args.out or "scale_1m.json")
    with open(path, "w") as fh:
        json.dump(out, fh, indent=1, default=str)
    log(f"wrote {path}: {json.dumps(summary)}")


def peers(args):
    tmp = os.path.join(WORK, "measures_tmp")
    os.makedirs(tmp, exist_ok=True)
    paths = DATA["nist"]
    rows = []
    for name in PEER_MEASURES:
        result = os.path.join(tmp, f"nist_{name}.json")
        n_att = args.n_attacks if name in ("singling_out", "linkability", "inference") else None
        res = run_measured(our_cmd(name, "nist", result, n_att), args.timeout, result)
        rows.append({"tool": "confidata", **flatten(name, res)})
        log(f"confidata {name}: {res['status']} wall {res['wall_s']} s")
    common = ["--train", paths["real"], "--synthetic", paths["synthetic"], "--schema", SCHEMA]
    peer_runs = [
        ("sdmetrics", "quality_report", ".venv-sdmetrics", "sdmetrics_quality.py", []),
    ] + [
        ("anonymeter", ev, ".venv-anonymeter", "anonymeter_run.py",
         ["--holdout", HOLDOUT, "--evaluator", ev, "--n-attacks", str(args.n_attacks),
          "--secret", PER_MEASURE["inference"]["secret"], "--seed", str(SEED)])
        for ev in ("singling_out", "linkability", "inference")
    ]
    for tool, name, venv, script, extra in peer_runs:
        python = os.path.join(BENCH, venv, "bin", "python")
        result = os.path.join(tmp, f"nist_{tool}_{name}.json")
        if not os.path.exists(python):
            rows.append({"tool": tool, "measure": name, "status": "not installed",
                         "log_tail": [f"{venv} missing: run bench/setup_measures.sh"]})
            continue
        cmd = [python, os.path.join(BENCH, "peers", script), *common, *extra, "--result", result]
        res = run_measured(cmd, args.timeout, result)
        rows.append({"tool": tool, **flatten(name, res)})
        log(f"{tool} {name}: {res['status']} wall {res['wall_s']} s")
    out = {"when": dt.datetime.now().isoformat(timespec="seconds"), "machine": machine(),
           "data": paths, "holdout": HOLDOUT, "n_attacks": args.n_attacks, "rows": rows}
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, "peers_nist.json")
    with open(path, "w") as fh:
        json.dump(out, fh, indent=1, default=str)
    log(f"wrote {path}")


def _fmt(x, digits=4):
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)


def _ci(ci):
    return "-" if not ci else f"[{_fmt(ci[0])}, {_fmt(ci[1])}]"


def _opts(row):
    given = {k: v for k, v in (row.get("options") or {}).items() if k != "seed"}
    kept = row.get("defaults_kept") or {}
    keep = ", ".join(f"{k}={v}" for k, v in kept.items() if k not in ("columns",)
                     and v is not None and k not in ("seed",))
    text = ", ".join(f"{k}={v if not isinstance(v, list) else '+'.join(v)}" for k, v in given.items())
    return f"{text}" + (f"; defaults: {keep}" if keep else "")


def _merge_rows(main_res, concurrent):
    """Rows of scale_1m.json, completed by any scale_1m_*.json (a measure the main run did not
    reach takes the other run's row), in registry order."""
    from confidata.measures import MEASURES

    by_name = {r["measure"]: dict(r, run="scale_1m.json") for r in main_res["rows"]}
    for fname in sorted(os.listdir(OUT_DIR)):
        if fname.startswith("scale_1m_") and fname.endswith(".json"):
            with open(os.path.join(OUT_DIR, fname)) as fh:
                for r in json.load(fh)["rows"]:
                    mine = by_name.get(r["measure"])
                    if mine is None or (mine["status"] != "ok" and r["status"] != "not run"):
                        by_name[r["measure"]] = dict(r, run=fname)
    rows = [by_name[n] for n in MEASURES if n in by_name]
    for r in rows:
        r["concurrent"] = r["measure"] in concurrent
    return rows


def _summary(rows):
    ok = [r for r in rows if r["status"] == "ok"]
    return {
        "measures": len(rows), "ok": len(ok),
        "sum_wall_s": round(sum(r.get("wall_s") or 0 for r in rows), 1),
        "sum_measure_s_ok": round(sum(r["measure_s"] for r in ok), 1),
        "max_read_s": max((r["read_s"] for r in ok), default=None),
        "max_peak_mib": max((r.get("peak_mib") or 0 for r in rows), default=None),
    }


def report(args):
    """Write bench/RESULTS_MEASURES.md from bench/results_measures/*.json."""
    with open(os.path.join(OUT_DIR, "scale_1m.json")) as fh:
        scale_res = json.load(fh)
    scale_res["rows"] = _merge_rows(scale_res, args.concurrent or [])
    scale_res["summary"] = _summary(scale_res["rows"])
    peers_path = os.path.join(OUT_DIR, "peers_nist.json")
    peers_res = None
    if os.path.exists(peers_path):
        with open(peers_path) as fh:
            peers_res = json.load(fh)
    m, sm = scale_res["machine"], scale_res["summary"]
    lines = [
        "# Measures benchmark: every measure at 1,000,000 rows, and peers on nist",
        "",
        "Written by `bench/measures_bench.py report` from `bench/results_measures/*.json`.",
        "",
        f"- Machine: {m['nproc']} cores, {m['ram_gib']} GiB RAM, {m['cpu']}; Python {m['python']}; "
        f"{m['platform']}",
        f"- Scale run: {scale_res['when']}" + (f"; peer run: {peers_res['when']}" if peers_res else ""),
        "",
        "## Commands",
        "",
        "```bash",
        "bash bench/setup_measures.sh                       # peers' venvs",
        f".venv/bin/python bench/measures_bench.py scale --timeout {scale_res['timeout_s']:g} "
        f"--budget {scale_res['budget_s']:g}",
        ".venv/bin/python bench/measures_bench.py peers --n-attacks "
        f"{peers_res['n_attacks'] if peers_res else 500}",
        ".venv/bin/python bench/measures_bench.py report",
        "```",
        "",
        "## Every measure at 1M rows",
        "",
        "Real: `bench/work/nist/train_1000000.csv` (1,000,000 jittered NIST rows, 24 columns); "
        "synthetic: `bench/work/out/nist_1m__confidata.csv` (1,000,000 rows); holdout: "
        "`bench/work/nist/holdout.csv` (5,451 rows) where a measure takes one. One fresh child "
        "process per measure: it reads the files with `confidata.read_table` (the *read* column), "
        "then calls the measure once (the *measure* column). *wall* is the whole child (interpreter "
        "start, imports, read, measure); *peak* is the child's ru_maxrss (RUSAGE_CHILDREN of an "
        f"intermediate process). Timeout {scale_res['timeout_s']:g} s per measure. Options: only "
        "what a measure needs; its sampling options keep their defaults (listed).",
        "",
        "| measure | status | measure s | read s | wall s | peak MiB | value | reference | n | 95% CI "
        "| options given; sampling defaults kept |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r in scale_res["rows"]:
        status = r["status"]
        if status == "timeout":
            status += f" after {r.get('timeout_s')} s"
        elif status == "error" and r.get("rc") == -9:
            status += " (rc -9: SIGKILL from the kernel's OOM killer)"
        if status != "ok" and r.get("log_tail"):
            status += ": " + " ".join(r["log_tail"][-1:]).replace("|", "/")[:160]
        if r.get("concurrent"):
            status += " (*)"
        lines.append(
            f"| {r['measure']} | {status} | {_fmt(r.get('measure_s'))} | {_fmt(r.get('read_s'))} "
            f"| {_fmt(r.get('wall_s'))} | {_fmt(r.get('peak_mib'), 5)} | {_fmt(r.get('value'))} "
            f"| {_fmt(r.get('reference'))} | {_fmt(r.get('n'))} | {_ci(r.get('ci'))} | {_opts(r)} |")
    if any(r.get("concurrent") for r in scale_res["rows"]):
        lines += ["", "(*) run while another measure ran in a second benchmark process on the "
                  "machine's other core (to fit the session's time limit): expect these times to "
                  "be somewhat longer than on an idle machine."]
    ok = [r for r in scale_res["rows"] if r["status"] == "ok"]
    slow = sorted(ok, key=lambda r: -r["measure_s"])[:5]
    lines += [
        "",
        "### Total against the target (all measures < 180 s, < 8 GiB)",
        "",
        f"- Measures: {sm['measures']}, finished ok: {sm['ok']}.",
        f"- Sum of the measure calls that finished: **{sm['sum_measure_s_ok']} s**; with one read "
        f"of the files ({_fmt(sm['max_read_s'])} s) that is what one process running them all "
        f"would take: **{sm['sum_measure_s_ok'] + (sm['max_read_s'] or 0):.1f} s** against 180 s "
        "(measures that failed or timed out are not in this sum; a timed-out one adds at least its "
        "timeout).",
        f"- Sum of the child wall times (each re-reads the files): {sm['sum_wall_s']} s.",
        f"- Largest peak resident set: {sm['max_peak_mib']} MiB against 8,192 MiB.",
        "- Slowest measure calls: " + ", ".join(f"{r['measure']} {r['measure_s']:.1f} s" for r in slow)
        + ".",
        "",
    ]
    if peers_res:
        lines += _peer_section(peers_res)
    path = os.path.join(BENCH, "RESULTS_MEASURES.md")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    log(f"wrote {path}")


def _peer_section(res):
    rows = {(r["tool"], r["measure"]): r for r in res["rows"]}
    lines = [
        "## Peers on nist (21,802 training rows, 24 columns)",
        "",
        "Training `bench/work/nist/train.csv`, synthetic `bench/work/out/nist__confidata.csv`, "
        f"control/holdout `bench/work/nist/holdout.csv`; n_attacks {res['n_attacks']} on both sides. "
        "Each run is one child process; *measure s* is the call alone (after reading), *wall s* the "
        "whole child. Peers read with `bench/peers/_tabio.py`.",
        "",
        "### Timing",
        "",
        "| comparison | ours: measures | ours measure s | ours wall s | ours peak MiB | peer | "
        "peer measure s | peer wall s | peer peak MiB | ratio peer/ours (measure) |",
        "| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    groups = [
        ("quality report", ["tvd_1way", "tvd_2way", "correlation_difference"],
         ("sdmetrics", "quality_report")),
        ("singling out", ["singling_out"], ("anonymeter", "singling_out")),
        ("linkability", ["linkability"], ("anonymeter", "linkability")),
        ("inference", ["inference"], ("anonymeter", "inference")),
    ]
    for label, ours, peer_key in groups:
        rs = [rows.get(("confidata", n)) for n in ours]
        ok = all(r and r["status"] == "ok" for r in rs)
        ms = sum(r["measure_s"] for r in rs) if ok else None
        ws = sum(r["wall_s"] for r in rs) if ok else None
        pk = max(r.get("peak_mib") or 0 for r in rs if r) if any(rs) else None
        p = rows.get(peer_key) or {}
        pstatus = p.get("status", "absent")
        pms = p.get("measure_s") if pstatus == "ok" else None
        ratio = f"{pms / ms:.2f}" if pms and ms else "-"
        peer_label = f"{peer_key[0]} {peer_key[1]}" + ("" if pstatus == "ok" else f" ({pstatus})")
        lines.append(f"| {label} | {' + '.join(ours)} | {_fmt(ms)} | {_fmt(ws)} | {_fmt(pk, 5)} | "
                     f"{peer_label} | {_fmt(pms)} | {_fmt(p.get('wall_s'))} | "
                     f"{_fmt(p.get('peak_mib'), 5)} | {ratio} |")
    lines += ["", "### Figures side by side", "",
              "| measure | ours: value | ours: reference | ours: 95% CI | peer figure | peer 95% CI "
              "| peer detail |",
              "| --- | ---: | ---: | --- | ---: | --- | --- |"]
    q = rows.get(("sdmetrics", "quality_report")) or {}
    qd = q.get("details") or {}
    for name in ["tvd_1way", "tvd_2way", "correlation_difference"]:
        r = rows.get(("confidata", name)) or {}
        if name == "tvd_1way":
            peer = (f"Column Shapes {_fmt(qd.get('Column Shapes'))} (mean TVD of categorical "
                    f"columns {_fmt(qd.get('column_shapes_tvd_mean'))}, mean KS of numeric "
                    f"{_fmt(qd.get('column_shapes_ks_mean'))})")
        elif name == "tvd_2way":
            peer = f"Column Pair Trends {_fmt(qd.get('Column Pair Trends'))}"
        else:
            peer = f"overall quality score {_fmt(q.get('value'))}"
        lines.append(f"| {name} | {_fmt(r.get('value'))} | {_fmt(r.get('reference'))} | "
                     f"{_ci(r.get('ci'))} | {peer} | - | sdmetrics QualityReport |")
    for name in ["singling_out", "linkability", "inference"]:
        r = rows.get(("confidata", name)) or {}
        p = rows.get(("anonymeter", name)) or {}
        d = r.get("details") or {}
        pd_ = p.get("details") or {}
        ours_rates = ", ".join(f"{k}={_fmt(v)}" for k, v in d.items() if "rate" in k)

        def rate(key, pd_=pd_):
            v = pd_.get(key)
            return f"{_fmt(v['value'])}±{_fmt(v['error'], 2)}" if isinstance(v, dict) else "-"

        peer_detail = (f"attack {rate('attack_rate')}, control {rate('control_rate')}, "
                       f"baseline {rate('baseline_rate')}")
        lines.append(f"| {name} | {_fmt(r.get('value'))} | {_fmt(r.get('reference'))} | "
                     f"{_ci(r.get('ci'))} | {_fmt(p.get('value'))} ({p.get('status', 'absent')}) "
                     f"| {_ci(p.get('ci'))} | {peer_detail}; ours: {ours_rates} |")
    return lines + [""]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["scale", "peers", "report", "child"])
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per measure")
    ap.add_argument("--budget", type=float, default=1500.0,
                    help="seconds for the whole scale run; later measures get what is left")
    ap.add_argument("--only", nargs="*", help="scale: these measures only, in this order")
    ap.add_argument("--concurrent", nargs="*",
                    help="report: measures that ran beside another benchmark process")
    ap.add_argument("--out", help="scale: result file name under bench/results_measures/")
    ap.add_argument("--n-attacks", type=int, default=None,
                    help="n_attacks for the GDPR attacks (peers mode: default 500)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--dataset", default="nist_1m", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.mode == "child":
        child(args)
    elif args.mode == "scale":
        scale(args)
    elif args.mode == "report":
        report(args)
    else:
        if args.n_attacks is None:
            args.n_attacks = 500
        peers(args)


if __name__ == "__main__":
    main()
