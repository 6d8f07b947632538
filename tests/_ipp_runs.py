"""Hand-built benchmark runs, written through `confidata.ipp.runs` exactly as `ipp bench` writes them.

Known laws behind the figures (so a test can check the report and the recommendations recover
them): two-party ECDH PSI costs 1e-4 s and 48 bytes per record, helper PSI 1e-5 s and 16 bytes
per record; each round waits once for the added latency. Threshold HE on a horizontal table
costs 40x the bytes of MPC at every size and 12x its time. One run of each kind that did not
finish (a timeout, a refusal) carries a reason.
"""

from __future__ import annotations

from pathlib import Path

from confidata.ipp.runs import Run, append_run

COMMIT = "0123456789abcdef0123456789abcdef01234567"
MACHINE = {"cores": 2, "ram_gib": 23.5, "cpu": "test CPU", "system": "Linux"}
SIZES = (10_000, 100_000, 1_000_000)


def _party(name: str, role: str, wall: float, sent: float, rounds: int) -> dict:
    return {"name": name, "role": role, "wall_s": wall, "cpu_s": round(wall * 0.9, 3),
            "bytes_sent": int(sent), "bytes_received": int(sent), "rounds": rounds, "peak_rss_mb": 150.0}


class Writer:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0

    def add(self, scenario: str, technique: str, family: str, records: int, parties: int, *,
            latency: float = 0.0, wall: float | None = None, sent: float = 0.0, rounds: int = 1,
            status: str = "ok", reason: str | None = None, protection: str = "none",
            accuracy: tuple[str, float] = ("exact", 0.0), trust: str = "semi-honest",
            statistic: str | None = None) -> str:
        self.count += 1
        run_id = f"fx-{self.count:03d}"
        ok = status == "ok"
        per_party = [_party(f"p{i + 1}", "input", wall, sent / parties, rounds)
                     for i in range(parties)] if ok else []
        append_run(self.path, Run(
            run_id=run_id, started_at=f"2026-12-07T23:{self.count % 60:02d}:00+00:00", commit=COMMIT,
            machine=MACHINE, versions={"python": "3.12"}, load_before=1.5, load_after=2.5,
            scenario=scenario, technique=technique, technique_family=family, records=records,
            parties=parties, latency_ms=latency, latency_via="transport", protection=protection,
            epsilon=1.0 if protection == "dp" else None, status=status, reason=reason,
            wall_s=wall if ok else None, per_party=per_party,
            accuracy={"kind": accuracy[0], "value": accuracy[1], "detail": "against the plain result"}
            if ok else None,
            leakage=[f"each holder: the other's set size ({technique})"], trust=trust,
            extrapolated=False, command=f"confidata ipp bench --techniques {technique}",
            extra={"statistic": statistic} if statistic else {}))
        return run_id


def write_runs(path: Path) -> Path:
    """A small results.jsonl over two scenarios; returns its path."""
    w = Writer(path)
    psi = ("intersection_count_sum", "private_set_intersection")
    for n in SIZES:
        for latency in (0.0, 50.0, 150.0) if n == 10_000 else (0.0,):
            w.add(psi[0], "psi_ecdh", psi[1], n, 2, latency=latency, statistic="intersection_size",
                  wall=1e-4 * n + 0.3 + 2 * latency / 1000, sent=48 * n, rounds=2)
            w.add(psi[0], "psi_helper", psi[1], n, 2, latency=latency, statistic="intersection_size",
                  wall=1e-5 * n + 0.2 + 3 * latency / 1000, sent=16 * n, rounds=3)
        w.add(psi[0], "plain_trusted_third_party", "baseline", n, 2, wall=2e-6 * n + 0.1, sent=20 * n)
    for n in SIZES[:2]:
        w.add(psi[0], "psi_sum_bfv", psi[1], n, 2, statistic="intersection_sum", wall=1.1e-4 * n + 0.5,
              sent=80 * n, rounds=4)
    w.add(psi[0], "psi_sum_bfv", psi[1], 1_000_000, 2, status="timeout", reason="ran past the 900 s limit")
    horizontal = "horizontal_aggregate"
    for n in SIZES[:2]:
        w.add(horizontal, "mpc_shamir_mpyc", "secret_sharing_mpc", n, 3, wall=0.5 + 2e-5 * n,
              sent=2000 * n ** 0.5, rounds=8)
        w.add(horizontal, "he_threshold_paillier", "homomorphic_encryption", n, 3, wall=12 * (0.5 + 2e-5 * n),
              sent=40 * 2000 * n ** 0.5, rounds=3)
    w.add(horizontal, "mpc_shamir_mpyc", "secret_sharing_mpc", 10_000, 3, wall=0.9, sent=2.1e5, rounds=9,
          protection="dp", accuracy=("dp_error", 2.5))
    w.add(horizontal, "he_threshold_paillier", "homomorphic_encryption", 1_000_000, 3, status="refused",
          reason="key holders take no added delay <script>alert(1)</script>")
    return path
