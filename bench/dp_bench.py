"""DP synthesis on NIST national2019: confidata's MST, AIM, PrivBayes against smartnoise-synth.

One invocation runs every synthesizer, each as its own child process with a time cap (killed at
the cap and recorded as "did not finish in N s" with its peak memory), then scores each file
with the shared score.py in bench/.venv-score (marginals, exact matches / DCR; pMSE, CART-pMSE
and TSTR skipped for time). Runs, in this order (confidata's own last, so the table reflects
the newest committed code):

- peers: smartnoise-synth MST and AIM (bench/.venv-smartnoise, bench/setup_dp.sh; runner
  bench/peers/smartnoise_run.py) at the same epsilon and delta; SynDiffix (non-DP,
  bench/.venv-syndiffix, bench/peers/syndiffix_run.py);
- confidata: MST, AIM, PrivBayes, and CART (non-DP, the ceiling).

Settings: epsilon = 1 on the 10 'demographic' features; epsilon = 1 and 10 on all 24; delta =
1e-9 for MST and AIM (PrivBayes is pure epsilon-DP). Fits on bench/work/nist/train.csv (made
by bench/prepare.py), draws as many rows as it has. One JSON per run in bench/work/dp/ and the
table in bench/work/dp/table.md (copied into bench/RESULTS_DP.md by hand).

    .venv/bin/python bench/dp_bench.py [--only NAME|TOOL ...] [--lanes 2]

confidata's DP fits draw exact, unseeded noise (OpenDP's samplers), as a release would; only their
sampling is seeded. --seeded-noise gives them the seed too (numpy noise, reproducible bytes).

Fit time is the synthesizer's fit alone, as each child reports it (for a run that hit its cap:
the cap); peak memory is the child's ru_maxrss (os.wait4), as in bench/run.py.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
NIST = BENCH / "work" / "nist"
SCORE_PY = REPO.parent / "shared" / "bench" / "score.py"
SCORE_PYTHON = BENCH / ".venv-score" / "bin" / "python"
SN_PYTHON = BENCH / ".venv-smartnoise" / "bin" / "python"
SD_PYTHON = BENCH / ".venv-syndiffix" / "bin" / "python"
OUT = BENCH / "work" / "dp"  # synthetic files, models, logs, one JSON per run (not committed)
TEN = ["AGEP", "SEX", "MSP", "RAC1P", "HOUSING_TYPE", "OWN_RENT", "EDU", "PINCP_DECILE", "DVET", "DEYE"]
DELTA = 1e-9
OURS = ("mst", "aim", "privbayes", "cart")
# default caps (seconds) per tool; AIM "did not finish in 30 minutes" on SD2011 in an earlier test
CAPS = {"sn_aim": 1200, "sn_mst": 600, "syndiffix": 600, "mst": 600, "aim": 1200, "privbayes": 600,
        "cart": 600}
# SDNist's own sample reports, 10 features, epsilon = 1 (their 2-way k-marginal score)
SDNIST = {"sn_aim": 976, "sn_mst": 958}


def runs() -> list[dict]:
    """Every run, peers first and confidata's own last."""
    settings = [("10f", 1.0), ("24f", 1.0), ("24f", 10.0)]
    out = []

    def add(tool, features, eps):
        name = f"{tool}_{features}" + ("" if eps is None else f"_eps{eps:g}")
        out.append({"name": name, "tool": tool, "features": features, "epsilon": eps})
    for tool in ("sn_mst", "sn_aim"):
        for features, eps in settings:
            add(tool, features, eps)
    for features in ("10f", "24f"):
        add("syndiffix", features, None)
    for tool in ("mst", "privbayes", "aim"):
        for features, eps in settings:
            add(tool, features, eps)
    for features in ("10f", "24f"):
        add("cart", features, None)
    return out


def log(msg: str) -> None:
    print(f"[dp {dt.datetime.now():%H:%M:%S}] {msg}", flush=True)


def subset_files(columns: list[str]) -> dict[str, Path]:
    """The training, holdout and schema files cut to these columns (made once)."""
    import pandas as pd

    k = len(columns)
    files = {"real": OUT / f"real_{k}.csv", "holdout": OUT / f"holdout_{k}.csv",
             "schema": OUT / f"schema_{k}.json"}
    if not all(p.exists() for p in files.values()):
        for source, target in ((NIST / "train.csv", files["real"]), (NIST / "holdout.csv", files["holdout"])):
            rows = pd.read_csv(source, dtype=str, keep_default_na=False)
            rows[columns].to_csv(target, index=False)
        raw = json.loads((NIST / "schema.json").read_text())
        raw["columns"] = [c for c in raw["columns"] if c["name"] in columns]
        files["schema"].write_text(json.dumps(raw, indent=1))
    return files


def committed_src() -> str:
    """Put confidata as committed at HEAD first on sys.path; returns the short commit."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True, check=True).stdout.strip()
    target = OUT / f"src-{commit}"
    if not (target / "src" / "confidata").is_dir():
        tmp = OUT / f"src-{commit}.tmp{os.getpid()}"
        tmp.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", commit, "src"], cwd=REPO, capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
        try:
            tmp.rename(target)
        except OSError:  # made meanwhile by another run
            subprocess.run(["rm", "-rf", str(tmp)], check=True)
    sys.path.insert(0, str(target / "src"))
    return commit


def fit_ours(name: str, tool: str, columns: list[str], eps: float | None, seed: int,
             aim_seconds: float, meta_path: Path, out_path: Path, seeded_noise: bool = False) -> int:
    """Child mode: fit one confidata synthesizer in this process, write its file and meta.

    It runs confidata as committed (HEAD), not the working tree: another change may be in progress
    in src/ beside this run, so HEAD's src/ is exported (git archive) to bench/work/dp/src-<commit>.
    """
    commit = committed_src()
    from confidata.synth import METHODS
    from confidata.table import Schema, read_table, write_table

    t0 = time.perf_counter()
    schema = Schema.load(NIST / "schema.json")
    frame, schema = read_table(NIST / "train.csv", schema)
    sub = schema.select(columns)
    # DP fits draw their noise as a release would (exact, unseeded) unless --seeded-noise
    options: dict = {"seed": seed} if tool != "cart" and seeded_noise else {}
    if tool != "cart":
        options["epsilon"] = eps
        options["max_seconds"] = aim_seconds
        if tool != "privbayes":
            options["delta"] = DELTA
    t_read = time.perf_counter()
    model = METHODS[tool](sub, **options).fit(frame[columns])
    t_fit = time.perf_counter()
    synthetic = model.sample(len(frame), seed=seed)
    t_sample = time.perf_counter()
    write_table(synthetic, out_path, sub, overwrite=True)
    meta = {"tool": "confidata", "commit": commit, "method": tool, "options": options,
            "read_s": round(t_read - t0, 2),
            "fit_s": round(t_fit - t_read, 2), "sample_s": round(t_sample - t_fit, 2)}
    if tool != "cart":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.save(OUT / f"{name}.model", overwrite=True)
        meta.update(notes=model.notes_, budget=model.accountant_.summary(),
                    model_mb=round(model.network_.megabytes, 3))
    meta_path.write_text(json.dumps(meta, indent=1, default=str))
    return 0


def command(run: dict, files: dict[str, Path], n: int, args, out: Path, meta: Path) -> list[str]:
    tool, eps = run["tool"], run["epsilon"]
    if tool.startswith("sn_"):
        return [str(SN_PYTHON), str(BENCH / "peers" / "smartnoise_run.py"), "--method", tool[3:],
                "--epsilon", f"{eps:g}", "--delta", f"{DELTA:g}", "--train", str(files["real"]),
                "--schema", str(files["schema"]), "--n", str(n), "--seed", str(args.seed),
                "--out", str(out), "--meta", str(meta)]
    if tool == "syndiffix":
        return [str(SD_PYTHON), str(BENCH / "peers" / "syndiffix_run.py"), "--train", str(files["real"]),
                "--schema", str(files["schema"]), "--n", str(n), "--seed", str(args.seed),
                "--out", str(out)]
    return [sys.executable, str(Path(__file__).resolve()), "--child", run["name"], "--seed", str(args.seed),
            "--aim-seconds", f"{args.aim_seconds:g}", *(["--seeded-noise"] if args.seeded_noise else [])]


def one(run: dict, all_columns: list[str], n: int, args, caps: dict[str, float]) -> dict:
    sys.path.insert(0, str(BENCH))
    from run import machine_info, run_measured, tail

    columns = TEN if run["features"] == "10f" else all_columns
    files = subset_files(columns)
    name, tool = run["name"], run["tool"]
    out, meta = OUT / f"{name}.csv", OUT / f"{name}.meta.json"
    for p in (out, meta):
        p.unlink(missing_ok=True)
    argv = command(run, files, n, args, out, meta)
    cap = caps[tool]
    rec = dict(run, columns=len(columns), rows=n, cap_s=cap, command=shlex.join(argv),
               machine=machine_info(), started_at=dt.datetime.now().isoformat(timespec="seconds"))
    if tool != "syndiffix" and tool not in OURS:
        rec["sdnist_reported_kmarginal2"] = SDNIST.get(tool) if run["features"] == "10f" else None
    log(f"{name}: {rec['command']}")
    res = run_measured(argv, cap, OUT / f"{name}.stdout.log", OUT / f"{name}.stderr.log")
    rec.update(wall_s=res["wall_s"], peak_rss_mib=res["peak_rss_mib"], exit_code=res["exit_code"],
               timed_out=res["timed_out"])
    if res["timed_out"]:
        rec.update(status="timeout", reason=f"did not finish in {cap:g} s")
    elif res["exit_code"] != 0 or not out.exists():
        rec.update(status="failed", reason=tail(str(OUT / f"{name}.stderr.log"), 1500))
    else:
        rec["status"] = "ok"
        rec["meta"] = json.loads(meta.read_text()) if meta.exists() else None
        # SynDiffix's fit and sample are one call in its runner: its wall time stands in
        rec["fit_s"] = rec["meta"]["fit_s"] if rec["meta"] else res["wall_s"]
        sargv = [str(SCORE_PYTHON), str(SCORE_PY), "--real", str(files["real"]), "--synthetic", str(out),
                 "--holdout", str(files["holdout"]), "--schema", str(files["schema"]), "--label", name,
                 "--skip", "pmse", "--skip", "cart", "--skip", "tstr"]
        proc = subprocess.run(sargv, capture_output=True, text=True)
        rec["score_command"] = shlex.join(sargv)
        rec["scores"] = json.loads(proc.stdout) if proc.returncode == 0 else {"error": proc.stderr[-2000:]}
    (OUT / f"{name}.json").write_text(json.dumps(rec, indent=1, default=str))
    s = rec.get("scores") or {}
    log(f"{name}: {rec['status']} {rec.get('reason') or ''} wall {res['wall_s']} s, "
        f"fit {rec.get('fit_s')} s, peak {res['peak_rss_mib']} MiB; 3-marginal {s.get('kmarginal_score')}, "
        f"2-marginal {s.get('kmarginal2_score')}")
    return rec


LABEL = {"sn_mst": "smartnoise MST", "sn_aim": "smartnoise AIM", "syndiffix": "SynDiffix (non-DP)",
         "mst": "confidata MST", "aim": "confidata AIM", "privbayes": "confidata PrivBayes",
         "cart": "confidata CART (non-DP)"}


def table(records: list[dict]) -> str:
    def num(v, digits=1):
        return "" if v is None else f"{v:.{digits}f}"
    lines = ["| features | epsilon | method | fit (s) | peak memory (MiB) | 3-marginal | "
             "2-marginal (SDNist k=2) | SDNist's report (k=2) |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    order = {("10f", 1.0): 0, ("24f", 1.0): 1, ("24f", 10.0): 2, ("10f", None): 3, ("24f", None): 4}
    tools = list(LABEL)
    for rec in sorted(records, key=lambda r: (order[(r["features"], r["epsilon"])], tools.index(r["tool"]))):
        s = rec.get("scores") or {}
        if rec["status"] == "ok":
            fit = num(rec.get("fit_s"))
        elif rec["status"] == "timeout":
            fit = f"did not finish in {rec['cap_s']:g} s"
        else:
            fit = "failed"
        eps = "none (non-DP)" if rec["epsilon"] is None else f"{rec['epsilon']:g}"
        lines.append(f"| {rec['features'][:-1]} | {eps} | {LABEL[rec['tool']]} | {fit} | "
                     f"{num(rec.get('peak_rss_mib'), 0)} | {num(s.get('kmarginal_score'))} | "
                     f"{num(s.get('kmarginal2_score'))} | {rec.get('sdnist_reported_kmarginal2') or ''} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", default=[], help="run names or tools (sn_aim, aim, ...)")
    ap.add_argument("--cap", action="append", default=[], metavar="TOOL=SECONDS",
                    help=f"time cap per run of TOOL (defaults: {CAPS})")
    ap.add_argument("--aim-seconds", type=float, default=150.0,
                    help="confidata AIM's own max_seconds (it stops selecting and spends the rest)")
    ap.add_argument("--lanes", type=int, choices=[1, 2], default=1,
                    help="2: run smartnoise AIM in a second lane beside the others (saves time; "
                         "both lanes then share the 2 cores)")
    ap.add_argument("--seed", type=int, default=2019)
    ap.add_argument("--seeded-noise", action="store_true",
                    help="give confidata's DP fits the seed too (numpy noise, reproducible); by default "
                         "they draw exact unseeded noise, as for a release, and only sampling is seeded")
    ap.add_argument("--table", action="store_true",
                    help="only rebuild bench/work/dp/table.md from every run's JSON there (to join "
                         "invocations that ran parts with --only)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.table:
        names = {r["name"] for r in runs()}
        records = [json.loads(p.read_text()) for p in sorted(OUT.glob("*.json")) if p.stem in names]
        text = table(records)
        (OUT / "table.md").write_text(text)
        print(text)
        return 0
    if args.child:
        run = next(r for r in runs() if r["name"] == args.child)
        header = (NIST / "train.csv").open().readline().strip().split(",")
        columns = TEN if run["features"] == "10f" else header
        return fit_ours(run["name"], run["tool"], columns, run["epsilon"], args.seed, args.aim_seconds,
                        OUT / f"{run['name']}.meta.json", OUT / f"{run['name']}.csv", args.seeded_noise)
    if not (NIST / "train.csv").is_file():
        print("bench/work/nist/train.csv is missing: run bench/prepare.py first", file=sys.stderr)
        return 2
    caps = dict(CAPS)
    for item in args.cap:
        tool, _, sec = item.partition("=")
        caps[tool] = float(sec)
    with (NIST / "train.csv").open() as fh:
        all_columns = fh.readline().strip().split(",")
        n = sum(1 for _ in fh)
    todo = [r for r in runs() if not args.only or r["name"] in args.only or r["tool"] in args.only]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    log(f"confidata commit {commit}; {len(todo)} runs; caps {caps}; lanes {args.lanes}; "
        f"{platform.machine()}, {os.cpu_count()} cores")
    records: list[dict] = []
    lanes = [todo] if args.lanes == 1 else [[r for r in todo if r["tool"] == "sn_aim"],
                                            [r for r in todo if r["tool"] != "sn_aim"]]

    def work(lane):
        for run in lane:
            records.append(one(run, all_columns, n, args, caps))
    threads = [threading.Thread(target=work, args=(lane,)) for lane in lanes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # confidata's commit as its own runs saw it (another change may land while the peers run)
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                          text=True).stdout.strip()
    head = (f"confidata commit {commit} at the start, {done} at the end; invocation: "
            f"{shlex.join([os.path.relpath(sys.executable, REPO), 'bench/dp_bench.py'] + sys.argv[1:])}\n\n")
    (OUT / "table.md").write_text(head + table(records))
    print(head + table(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
