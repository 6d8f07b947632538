"""The sweep's report: the records of one or more runs (JSONL) turned into bench/RESULTS_SWEEP.md.

Kept apart from `bench/sweep.py`, which runs and checks: this module only reads what the runs
recorded, so a report can be written again (or several runs merged) without running anything.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import subprocess
from pathlib import Path

import sweep_bound
from sweep_findings import FINDINGS

REPO = Path(__file__).resolve().parent.parent
CART_RATIO = sweep_bound.CART_RATIO
_within = sweep_bound.within


def read_results(path: Path) -> list[dict]:
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


# -- the table -------------------------------------------------------------------------------------

def merge_results(paths: list[Path]) -> list[dict]:
    """Records of several runs, in order: a later run's records of a file x method (and of a
    file's split and inspect, when it redid them) replace every earlier record of that pair, so
    a rerun's leftovers (a refusal it no longer makes) do not linger."""
    merged: list[dict] = []
    for path in paths:
        records = read_results(path)
        for r in records:
            r.setdefault("from_run", _shown_path(path))
        pairs = {(r["file"], r["method"]) for r in records}
        merged = [r for r in merged if (r["file"], r["method"]) not in pairs] + records
    return merged


def summarise(results: list[dict]) -> dict:
    """Latest record per (file, method, step), grouped for the tables."""
    latest: dict[tuple[str, str, str], dict] = {}
    for r in results:
        latest[(r["file"], r["method"], r["step"])] = r
    return latest


def failures(latest: dict) -> list[dict]:
    out = []
    for (f, m, s), r in sorted(latest.items()):
        if r.get("status") in ("crash", "refused", "timeout", "measure_crash", "check_failed"):
            # a default command refused, whose advice the sweep then followed: its own group
            status = "refused, advice followed" if s == "synth-default" else r["status"]
            out.append({"file": f, "method": m, "step": s, "status": status, "error": r.get("error"),
                        "command": r.get("command")})
        if s == "check" and r.get("status") == "ok":
            if r.get("out_of_domain_total"):
                how = r.get("out_of_domain_how", {})
                cols = ", ".join(f"{k} ({v}{_how(how.get(k))})"
                                 for k, v in sorted(r["out_of_domain"].items()))
                out.append({"file": f, "method": m, "step": s, "status": "out_of_domain",
                            "error": f"values outside the training domain in {cols}"})
            bad = [k for k, t in r["tv"].items() if not _within(t, r.get("epsilon"))]
            if bad:
                out.append({"file": f, "method": m, "step": s, "status": "tv_over_bound",
                            "error": f"1-way TV over the bound in {len(bad)} column(s): "
                                     + ", ".join(_over_text(k, r["tv"][k]) for k in bad[:6])})
            if r.get("purchase_suspect"):
                out.append({"file": f, "method": m, "step": s, "status": "purchase_suspect",
                            "error": "levels dropped although their counts lay far above the purchase "
                                     "threshold in " + ", ".join(f"{k} ({v})" for k, v in
                                                                 r["purchase_suspect"].items())})
    return out


def _over_text(name: str, t: dict) -> str:
    if t.get("bound") is None:
        return f"{name} (TV {t['tv']:.3f}, x{t['ratio']})"
    return (f"{name} (TV {t['tv']:.3f} > bound {t['bound']:.3f} = D {t['domain_tv']:.3f} + "
            f"{sweep_bound.FACTOR:g} x (N {t['noise_tv']:.3f} + B {t['boot']:.3f}))")


def _how(detail: dict | None) -> str:
    if not detail:
        return ""
    if "unseen_levels" in detail:
        return ": " + ", ".join(f"'{k}' {v}" for k, v in detail["unseen_levels"].items())
    return ": " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in detail.items())


def cause(error: str | None) -> str:
    """An error line with names and numbers masked, so one bug on many files is one group."""
    text = error or ""
    text = re.sub(r"'[^']*'", "'…'", text)
    text = re.sub(r"\"[^\"]*\"", "\"…\"", text)
    text = re.sub(r"\d+(\.\d+)?", "#", text)
    text = re.sub(r"'…'(, '…')*( and # more)?", "'…'", text)
    return text[:160]


def render_table(latest: dict, methods: list[str]) -> list[str]:
    lines = ["| file | method | synth | synth s | OOD | worst TV ratio (column) | TV / bound (column) | "
             "TV ok | evaluate |",
             "| --- | --- | --- | ---: | ---: | --- | --- | --- | --- |"]
    files = sorted({f for f, _, _ in latest})
    for f in files:
        for m in methods:
            syn = latest.get((f, m, "synth"))
            if not syn:
                continue
            chk = latest.get((f, m, "check"), {})
            evs = [r for (ff, mm, s), r in latest.items()
                   if ff == f and mm == m and s.startswith("evaluate:")]
            ev_ok = sum(r["status"] == "ok" for r in evs)
            ev = f"{ev_ok}/{len(evs)} ok" if evs else "-"
            ratio = chk.get("worst_ratio")
            worst = f"{ratio if ratio is not None else 'inf'} ({chk.get('worst_column')})" if chk.get(
                "worst_column") else "-"
            used = (f"{chk['worst_bound_use']} ({chk['worst_bound_column']})"
                    if chk.get("worst_bound_use") is not None else "-")
            lines.append(f"| {f} | {m} | {syn['status']} | {syn.get('seconds', '-')} | "
                         f"{chk.get('out_of_domain_total', '-')} | {worst} | {used} | "
                         f"{'yes' if chk.get('tv_within_bound') else ('no' if chk else '-')} | {ev} |")
    return lines


def render_rollup(latest: dict, methods: list[str]) -> list[str]:
    """One line per method: how many files it ran on, and how many met each part of the target."""
    lines = ["| method | files | synth ok | refused | crashed/timed out | 0 OOD | TV within bound | "
             "evaluate ok | median synth s |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |"]
    for m in methods:
        syn = [r for (_, mm, s), r in latest.items() if mm == m and s == "synth"]
        chk = [r for (_, mm, s), r in latest.items() if mm == m and s == "check" and r["status"] == "ok"]
        evs = [r for (_, mm, s), r in latest.items() if mm == m and s.startswith("evaluate:")]
        secs = sorted(r["seconds"] for r in syn if r["status"] == "ok")
        median = secs[len(secs) // 2] if secs else "-"
        lines.append(f"| {m} | {len(syn)} | {sum(r['status'] == 'ok' for r in syn)} | "
                     f"{sum(r['status'] == 'refused' for r in syn)} | "
                     f"{sum(r['status'] in ('crash', 'timeout') for r in syn)} | "
                     f"{sum(not r['out_of_domain_total'] for r in chk)}/{len(chk)} | "
                     f"{sum(bool(r['tv_within_bound']) for r in chk)}/{len(chk)} | "
                     f"{sum(r['status'] == 'ok' for r in evs)}/{len(evs)} | {median} |")
    return lines


def print_summary(latest: dict) -> None:
    methods = sorted({m for _, m, s in latest if s == "synth"}, key=lambda m: (m != "cart", m))
    print("\n".join(render_table(latest, methods)))
    print()
    print("\n".join(render_rollup(latest, methods)))
    fails = failures(latest)
    counts: dict[str, int] = {}
    for x in fails:
        counts[x["status"]] = counts.get(x["status"], 0) + 1
    print(f"\n{len(fails)} failure(s): " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


def machine() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        free = subprocess.run(["free", "-g"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        free = "?"
    return {"nproc": os.cpu_count(), "cpu": cpu, "free_g": free, "python": platform.python_version()}


def _shown_path(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


DOMAIN_NOTE = 0.1  # a DP column whose domain term D exceeds this is listed by domain_costs


def domain_costs(latest: dict) -> list[str]:
    """DP columns whose released domain alone costs a TV above DOMAIN_NOTE: within the bound,
    since no model can undo it, but a cost the user can lift by declaring public levels or
    ranges in the schema, so the report names them."""
    rows = []
    for (f, m, s), r in sorted(latest.items()):
        if s != "check" or r.get("status") != "ok" or r.get("epsilon") is None:
            continue
        for name, t in r["tv"].items():
            if (t.get("domain_tv") or 0) > DOMAIN_NOTE:
                what = "levels not bought" if t["kind"] == "level" else "bins and bought range"
                rows.append(f"| {f} | {m} | {name} | {what} | {t['domain_tv']:.3f} | {t['tv']:.3f} | "
                            f"{t['bound']:.3f} |")
    if not rows:
        return []
    return ["", f"## DP columns whose released domain costs most (D > {DOMAIN_NOTE:g})", "",
            "D is the TV that the domain the method bought (levels whose noisy counts cleared the "
            "threshold, bins at noisy quantiles, a bought range) forces on the real column before "
            "any model noise: the part of the bound that a schema declaring public levels or ranges "
            "removes. Each row is within its bound unless listed under the failures.", "",
            "| file | method | column | what | D | TV | bound |",
            "| --- | --- | --- | --- | ---: | ---: | ---: |", *rows]


def _provenance(latest: dict) -> list[str]:
    """Which run (JSONL) and commit each file x method's records came from, when merged."""
    runs: dict[str, set[tuple[str, str]]] = {}
    for (f, m, _s), r in latest.items():
        if m != "-" and r.get("from_run"):
            runs.setdefault(r["from_run"], set()).add((f, m))
    if len(runs) < 2:
        return []
    lines = ["- runs merged (a later one replaces a file x method of an earlier one):"]
    for run, pairs in runs.items():
        commits = sorted({r.get("commit", "?") for (f, m, _s), r in latest.items() if (f, m) in pairs
                          and r.get("from_run") == run})
        rechecked = sorted({r["rechecked_at"] for (f, m, _s), r in latest.items() if (f, m) in pairs
                            and r.get("rechecked_at")})
        again = f", checks redone at {', '.join(rechecked)}" if rechecked else ""
        lines.append(f"  - `{run}` (commits {', '.join(commits)}{again}): {len(pairs)} file x method pairs")
    return lines


def write_markdown(latest: dict, path: Path, command: str, source: Path) -> None:
    m = machine()
    commits = sorted({r.get("commit", "?") for r in latest.values()})
    methods = sorted({mm for _, mm, s in latest if s == "synth"}, key=lambda x: (x != "cart", x))
    lines = ["# The sweep over real files", "",
             f"Written by `bench/sweep.py --report` from `{_shown_path(source)}`. "
             "What each column means is in the docstring of `bench/sweep.py`.", "",
             f"- machine: {m['nproc']} CPU cores ({m['cpu']}), Python {m['python']}; `free -g`:", "",
             "```", m["free_g"], "```", "",
             f"- commits the results were recorded at (the tree changed while it ran): {', '.join(commits)}",
             f"- command: `{command}`",
             *_provenance(latest),
             f"- written {dt.datetime.now():%Y-%m-%d %H:%M}", "",
             f"Bounds: CART, every column's 1-way TV <= {CART_RATIO:g}x a bootstrap's (B). DP, every "
             f"column's TV <= D + {sweep_bound.FACTOR:g} x (N + B), from its saved model: D the TV its "
             "released domain (bought levels, bins) forces on the real column, N the expected TV of the "
             "noise its ledger states on the column's 1-way marginal (derivation: `bench/sweep_bound.py`). "
             "'TV / bound' is a DP file's largest column TV over its bound (1.0: at the bound).", "",
             FINDINGS,
             "## Files", "",
             "| file | rows | train/holdout | columns | kinds (from inspect) | shipped schema | target |",
             "| --- | ---: | --- | ---: | --- | --- | --- |"]
    for (f, _, s), r in sorted(latest.items()):
        if s != "split":
            continue
        ins = latest.get((f, "-", "inspect"), {})
        kinds = ", ".join(f"{k} {v}" for k, v in sorted((ins.get("kinds") or {}).items())) or \
            f"inspect {ins.get('status', '-')}"
        sampled = f" (sampled from {r['rows_file']:,})" if r.get("sampled_to") else ""
        lines.append(f"| {f} | {r['rows_file']:,} | {r['rows_train']:,}/{r['rows_holdout']:,}{sampled} | "
                     f"{r['columns']} | {kinds} | {'yes' if r.get('shipped_schema') else 'no'} | "
                     f"{r.get('target') or '-'} |")
    lines += ["", "## Per file and method", "",
              "OOD: synthetic values outside the training file's domain (all columns). Worst TV ratio: "
              "the column whose 1-way TV is the largest multiple of a same-size bootstrap's. "
              "Evaluate: use cases whose report was written without a crashed measure.", ""]
    lines += render_rollup(latest, methods) + [""] + render_table(latest, methods)
    fails = failures(latest)
    groups: dict[tuple[str, str], list[dict]] = {}
    for x in fails:  # domain and TV failures group by method; errors by their masked message
        by_method = x["status"] in ("out_of_domain", "tv_over_bound", "purchase_suspect")
        why = x["method"] if by_method else cause(x["error"])
        groups.setdefault((x["status"], why), []).append(x)
    lines += domain_costs(latest)
    lines += ["", f"## Failures ({len(fails)}), grouped by cause", ""]
    for (status, _c), items in sorted(groups.items(), key=lambda kv: (kv[0][0], -len(kv[1]))):
        head = (f"method {_c}" if status in ("out_of_domain", "tv_over_bound", "purchase_suspect")
                else f"`{(items[0]['error'] or '')[:240]}`")
        lines.append(f"### {status}: {len(items)} x {head}")
        lines.append("")
        for x in items:
            cmd = f" — `{x['command']}`" if x.get("command") else ""
            lines.append(f"- {x['file']} · {x['method']} · {x['step']}: {(x['error'] or '')[:240]}{cmd}")
        lines.append("")
    path.write_text("\n".join(lines) + "\n")


