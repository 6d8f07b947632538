"""A key holder's process: joint key generation (all n) and threshold decryption (t of n).

Both run over the framed TLS links of the intersection studies (`confidata.secure.channel`:
the study's CA, each party's certificate naming it, JSON messages, never pickle; a peer that
does not come within ``connect_timeout`` stops everyone, named).

Keygen (every key holder of the study):
1. connect; 2. generate its own Paillier key locally; 3. send its modulus; 4. build the joint
public key (`keys.public_key_bundle`) and compare its digest with everyone's; 5. only then write
its secret key (mode 0600) and the public key file. A missing key holder or a different study
stops all and nothing is written.

Decrypt (the key holders named with ``--with``, at least t):
1. connect to the others named (a missing one stops all, named, before any decryption);
2. compare the aggregate's digest, the public key and the participants: all must agree;
3. decrypt its own share sums (its ciphertexts of the aggregate) with its own secret key;
4. with epsilon, add Shamir-shared noise from every participant (`release`);
5. with a suppressing small-cell rule, find the small cells on shares (`small_cells`: no count
   opened); open the counts the statistic needs (of the released cells only), then the totals
   of the cells that pass;
6. write the protected table. What each step shows to whom is stated in `release`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from confidata.errors import ConfidataError, OutputExistsError
from confidata.he.aggregate import Aggregate, load_aggregate
from confidata.he.config import HEStudy, load_he_study
from confidata.he.keys import (
    SecretKey,
    generate_key,
    load_public_key,
    load_secret_key,
    public_key_bundle,
    secret_content,
    tno,
    write_json,
)
from confidata.he.packing import noise_bounds, unpack
from confidata.he.release import (
    hides_small_counts,
    noise_scales,
    opens_counts,
    protected_table,
    rule_threshold,
)
from confidata.he.shares import reconstruct, share_vector
from confidata.he.small_cells import small_cells
from confidata.secure.channel import FINAL, Links
from confidata.secure.engine import PartyFailure
from confidata.secure.plain import TableResult
from confidata.secure.protection import discrete_laplace

__all__ = ["DecryptReport", "KeygenReport", "decrypt_shares", "run_decrypt", "run_keygen"]


@dataclass
class KeygenReport:
    key_holder: str
    public_key: Path
    secret_key: Path
    digest: str
    seconds_secure: float  # from all connected to the joint key agreed (own key generation included)
    seconds_total: float
    bytes_sent: int


@dataclass
class DecryptReport:
    key_holder: str
    participants: list[str]
    result: TableResult
    holders: int
    seconds_secure: float  # from all connected to the table released
    seconds_total: float
    bytes_sent: dict[str, int] = field(default_factory=dict)
    rounds: int = 0  # the longest chain of dependent messages among the key holders

    def to_dict(self) -> dict:
        return {
            "key_holder": self.key_holder,
            "participants": self.participants,
            "holders": self.holders,
            "result": self.result.to_dict(),
            "seconds_secure": self.seconds_secure,
            "seconds_total": self.seconds_total,
            "bytes_sent": self.bytes_sent,
            "rounds": self.rounds,
        }


async def _guarded(links: Links, coro):
    """Run a protocol; on failure tell the peers whom this party blames, then stop."""
    try:
        return await coro
    except PartyFailure as exc:
        links.abort(exc.parties)
        await asyncio.sleep(0.2)
        raise
    except BaseException:
        links.abort([links.me])
        await asyncio.sleep(0.2)
        raise


async def _exchange(links: Links, peers: list[str], label: str, payload) -> dict:
    for peer in peers:
        await links.send(peer, label, payload)
    return {peer: await links.recv(peer, label) for peer in peers}


# -- keygen ----------------------------------------------------------------------------------------


def run_keygen(
    study_path: str | Path | HEStudy,
    me: str,
    *,
    key: Path | None = None,
    output: Path | None = None,
    overwrite: bool = False,
) -> KeygenReport:
    """Key holder `me`'s part of the joint key generation; writes its secret key and the public key."""
    started = time.perf_counter()
    he = study_path if isinstance(study_path, HEStudy) else load_he_study(study_path)
    he.study.party(me)
    public_path = Path(output) / he.public_key_path.name if output else he.public_key_path
    secret_path = Path(output) / he.secret_key_path(me).name if output else he.secret_key_path(me)
    if secret_path.exists() and not overwrite:
        raise OutputExistsError(
            f"Secret key '{secret_path}' already exists; pass --overwrite to replace it (the old key "
            "then no longer decrypts new submissions), or -o to write elsewhere."
        )
    tno()  # import TNO's Paillier before connecting, so the others do not wait on it
    links = Links(he.study, me, key_file=Path(key) if key else None)
    digest, seconds, nbytes = asyncio.run(_guarded(links, _keygen(links, he, public_path, secret_path)))
    return KeygenReport(me, public_path, secret_path, digest, seconds, time.perf_counter() - started, nbytes)


async def _keygen(links: Links, he: HEStudy, public_path: Path, secret_path: Path) -> tuple[str, float, int]:
    await links.connect()
    t0 = time.perf_counter()
    me = links.me
    peers = [n for n in he.key_holders if n != me]
    n, lam, mu = await links.compute(generate_key, he.key_bits)
    got = await _exchange(links, peers, "modulus", {"study": he.digest, "n": format(n, "x")})
    moduli = {me: n}
    for peer, msg in got.items():
        if not isinstance(msg, dict) or msg.get("study") != he.digest:
            raise PartyFailure(
                f"Key holder '{me}' stopped: key holder '{peer}' runs another study (or another version "
                "of this one); every key holder needs the same study file. Nothing was written.",
                [peer],
            )
        try:
            moduli[peer] = int(msg["n"], 16)
        except (KeyError, TypeError, ValueError):
            raise PartyFailure(
                f"Key holder '{me}' stopped: malformed modulus from '{peer}'.", [peer]
            ) from None
    try:
        bundle = public_key_bundle(he, moduli)
    except ConfidataError as exc:
        raise PartyFailure(f"Key holder '{me}' stopped: {exc}", []) from None
    agree = await _exchange(links, peers, FINAL, {"public_key": bundle.digest})
    odd = [
        p for p, msg in agree.items() if not isinstance(msg, dict) or msg.get("public_key") != bundle.digest
    ]
    if odd:
        raise PartyFailure(
            f"Key holder '{me}' stopped: key holder(s) {', '.join(odd)} built another public key. "
            "Nothing was written.",
            odd,
        )
    sent = links.bytes_sent()
    seconds = time.perf_counter() - t0
    await links.close()
    write_json(secret_path, secret_content(SecretKey(he.digest, me, bundle.digest, lam, mu, n)), private=True)
    write_json(public_path, bundle.to_dict())
    return bundle.digest, seconds, sent


# -- decrypt ---------------------------------------------------------------------------------------


def decrypt_shares(he: HEStudy, secret: SecretKey, ciphertexts: list[int], prime: int, plan) -> list[int]:
    """This key holder's share sums: decrypt its ciphertexts, unpack the slots, reduce mod P."""
    Paillier, PaillierCiphertext, PaillierPublicKey, PaillierSecretKey = tno()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheme = Paillier(
            PaillierPublicKey(secret.n, secret.n + 1), PaillierSecretKey(secret.lambda_, secret.mu, secret.n)
        )
        plaintexts = [int(scheme.decrypt(PaillierCiphertext(c, scheme))) for c in ciphertexts]
    if any(m < 0 for m in plaintexts):
        raise ConfidataError(
            "A decrypted share sum is out of range: the aggregate was not made under this key."
        )
    return [v % prime for v in unpack(plaintexts, plan)]


def run_decrypt(
    study_path: str | Path | HEStudy,
    me: str,
    aggregate_path: Path,
    *,
    participants: list[str] | None = None,
    secret_key: Path | None = None,
    public_key: Path | None = None,
    key: Path | None = None,
    output: Path | None = None,
    overwrite: bool = False,
) -> DecryptReport:
    """Key holder `me`'s part of a threshold decryption with the other `participants`."""
    started = time.perf_counter()
    he = study_path if isinstance(study_path, HEStudy) else load_he_study(study_path)
    he.study.party(me)
    chosen = list(dict.fromkeys(participants or he.key_holders))
    unknown = [n for n in chosen if n not in he.key_holders]
    if unknown:
        raise ConfidataError(
            f"--with names {', '.join(repr(n) for n in unknown)}, not key holder(s) of the study; the key "
            f"holders are {', '.join(he.key_holders)}."
        )
    if me not in chosen:
        raise ConfidataError(f"--with must include this key holder ('{me}') among those that decrypt.")
    if len(chosen) < he.threshold:
        raise ConfidataError(
            f"Decryption needs {he.threshold} key holders of {len(he.key_holders)}; --with names "
            f"{len(chosen)}. Name at least {he.threshold}. Nothing was decrypted."
        )
    if output is not None and Path(output).exists() and not overwrite:
        raise OutputExistsError(f"'{output}' already exists; pass --overwrite to replace it.")
    pub = load_public_key(he, public_key)
    secret = load_secret_key(he, me, secret_key)
    if secret.public_key != pub.digest or secret.n != pub.modulus(me):
        raise ConfidataError(
            f"The secret key of '{me}' belongs to another public key; use the files of the same keygen run."
        )
    agg = load_aggregate(he, pub, aggregate_path)
    ordered = [n for n in he.key_holders if n in chosen]
    sub = dataclasses.replace(he.study, parties=tuple(p for p in he.study.parties if p.name in chosen))
    tno()  # import TNO's Paillier before connecting: the timed protocol starts warm
    links = Links(sub, me, key_file=Path(key) if key else None)
    result, seconds = asyncio.run(_guarded(links, _decrypt(links, he, pub, secret, agg, ordered)))
    report = DecryptReport(
        me,
        ordered,
        result,
        len(agg.holders),
        seconds,
        time.perf_counter() - started,
        {n: c.bytes_sent for n, c in links.counts.items()},
        links.rounds,
    )
    if output is not None:  # written only now: a failed run leaves no result file
        write_json(Path(output), report.to_dict(), overwrite=True)
    return report


async def _decrypt(links: Links, he: HEStudy, pub, secret: SecretKey, agg: Aggregate, ordered: list[str]):
    await links.connect()
    t0 = time.perf_counter()
    me = links.me
    peers = [n for n in ordered if n != me]
    mine = {
        "aggregate": agg.digest,
        "public_key": pub.digest,
        "participants": ordered,
        "holders": len(agg.holders),
    }
    theirs = await _exchange(links, peers, "check", mine)
    odd = [p for p, msg in theirs.items() if msg != mine]
    if odd:
        raise PartyFailure(
            f"Key holder '{me}' stopped: key holder(s) {', '.join(odd)} hold another aggregate, public "
            "key or list of participants (--with); all must decrypt the same file together. Nothing "
            "was decrypted.",
            odd,
        )
    plan = pub.plan
    prime = plan.prime
    shares = await links.compute(decrypt_shares, he, secret, agg.ciphertexts[me], prime, plan)
    xs = {n: pub.x(n) for n in ordered}
    cells = plan.n_cells
    blocks = {q: slice(i * cells, (i + 1) * cells) for i, q in enumerate(plan.quantities)}

    scales = noise_scales(he, plan) if he.study.epsilon is not None else {}
    if scales:
        noise_shares: dict[str, list[int]] = {n: [0] * plan.length for n in ordered}
        for quantity, scale in scales.items():
            draw = [int(v) for v in discrete_laplace(scale, cells)]
            split = share_vector(draw, list(xs.values()), he.threshold, prime)
            for n in ordered:
                noise_shares[n][blocks[quantity]] = split[xs[n]]
        got = await _exchange_each(
            links, peers, "noise", {n: [format(v, "x") for v in noise_shares[n]] for n in peers}
        )
        total_noise = list(noise_shares[me])
        for peer, msg in got.items():
            values = _hex_list(msg, plan.length, me, peer)
            total_noise = [a + b for a, b in zip(total_noise, values, strict=True)]
        shares = [(a + b) % prime for a, b in zip(shares, total_noise, strict=True)]

    def opened(index: list[int]) -> list[int]:
        return [shares[i] for i in index]

    count_index = list(range(cells))
    final_counts = he.study.cell == "count"
    failed = None
    if hides_small_counts(he):  # the rule on shares: no count is opened to decide it
        low = -noise_bounds(he).get("count", 0) if he.study.epsilon is not None else 0
        failed = await small_cells(
            links, he.study.name, he.digest, opened(count_index), xs, ordered, prime, low, rule_threshold(he)
        )
    released = [i for i in range(cells) if failed is None or not failed[i]]
    counts = None
    if opens_counts(he):
        index = count_index if failed is None else released
        label = FINAL if final_counts else "cnt"
        got = await _exchange(links, peers, label, [format(v, "x") for v in opened(index)])
        pieces = {xs[me]: opened(index)}
        for peer, msg in got.items():
            pieces[xs[peer]] = _hex_list(msg, len(index), me, peer)
        opened_counts = reconstruct(pieces, prime, plan.bound, he.threshold) if index else []
        values = dict(zip(index, opened_counts, strict=True))
        counts = [values.get(i) for i in range(cells)]
    totals: dict[int, int] = {}
    if not final_counts:
        k = he.study.min_cell_size
        need = 1 if he.study.cell == "mean" else 0
        keep = [
            i
            for i in released
            if counts is None
            or counts[i] is None
            or (counts[i] >= need and (not k or counts[i] >= k or he.study.small_cells == "flag"))
        ]
        index = [blocks["total"].start + i for i in keep]
        got = await _exchange(links, peers, FINAL, [format(v, "x") for v in opened(index)])
        pieces = {xs[me]: opened(index)}
        for peer, msg in got.items():
            pieces[xs[peer]] = _hex_list(msg, len(index), me, peer)
        totals = (
            dict(zip(keep, reconstruct(pieces, prime, plan.bound, he.threshold), strict=True))
            if index
            else {}
        )
    seconds = time.perf_counter() - t0
    await links.close()
    return protected_table(he, plan, counts, totals, ordered, failed), seconds


async def _exchange_each(links: Links, peers: list[str], label: str, payloads: dict) -> dict:
    for peer in peers:
        await links.send(peer, label, payloads[peer])
    return {peer: await links.recv(peer, label) for peer in peers}


def _hex_list(msg, length: int, me: str, peer: str) -> list[int]:
    try:
        if not isinstance(msg, list) or len(msg) != length:
            raise ValueError
        return [int(v, 16) for v in msg]
    except (TypeError, ValueError):
        raise PartyFailure(
            f"Key holder '{me}' stopped: malformed shares from key holder '{peer}'.", [peer]
        ) from None
