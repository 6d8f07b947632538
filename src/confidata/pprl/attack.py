"""A frequency / pattern-mining attack on Bloom-filter encodings: how many names can be read back?

Why: a keyed encoding hides names from anyone without the key only if its bit patterns do not
betray them. In a plain Bloom filter every record holding the bigram "an" in its first name has
the same ``weight`` bits set, so bit positions that are set together in as many encodings as a
public name list says records hold "an" are likely that bigram's positions. Christen, Ranbaduge,
Vatsalan and Schnell ("Precise and fast cryptanalysis for Bloom filter based privacy-preserving
record linkage", IEEE TKDE 2019; PAKDD 2017) re-identified encodings of North Carolina voters this
way, with no key and no encoded plain text: only frequencies. This module runs that attack on a
.clk file, so that a holder can measure the disclosure risk of the encodings it is about to send,
and compare hardenings (``pprl.hardening``) on the same data.

The attacker holds (Kerckhoffs: everything but the key): the encodings, the public header (field
list, q, weights, hardening) and a public list of persons' names from the same population (a
voter roll, a telephone book; ``generate.reference_people`` draws one). The attack:

1. **Features and their frequencies.** Each attacked field's reference values are normalised as
   the encoder does and cut into the same padded q-grams; a feature is (field, q-gram), since
   every field has its own key.
2. **Bit positions of one q-gram, found without the key.** The ``weight`` positions a q-gram
   sets are all set whenever it is present, so they are strongly correlated with each other and
   about independent of other q-grams' positions. Positions are grouped by their phi
   correlation (a seed and its ``weight - 1`` best partners), and a group loses any position
   whose removal raises the number of encodings holding the whole group by a fifth (it belongs
   to another q-gram). This replaces Christen et al.'s frequent-itemset mining with the same
   signal read off one correlation matrix.
3. **Which q-gram is which group** (graph matching, as in Vidanage et al.'s 2020 attack): each
   group's share of encodings and its co-occurrence with every other group are matched with the
   features' shares and co-occurrences in the public list, by repeated optimal assignment from
   several starts, keeping the most consistent labelling.
4. **Re-identification.** For each encoding, which labelled groups are present (all positions
   set); every reference value of the field is scored by a naive-Bayes likelihood of that
   presence pattern (a feature of the value is seen unless an error hides it; a feature not of
   the value is seen at its background rate) times its public frequency, and the best value is
   the guess.

What is reported is the share of encodings whose guess equals the true (normalised) value, per
field and for all attacked fields together, beside the baseline of guessing without the
encodings: the reference's most frequent value for everyone. The true values come from the
holder's own clear file (``truth``), used for scoring only: the attack never reads them. Nothing
else is reported: no guessed value, no name, only rates and counts.

Hardening (``pprl.hardening``) is what this attack is run to judge: XOR folding, rule 90 and
diffusion make every output bit a mix of several input bits, so no set of positions is set
exactly when a q-gram is present; the attack then finds few or wrong patterns and its guesses
fall to about the baseline. Balancing keeps each q-gram's positions (beside complement bits that
are set when it is absent) and salting splits each q-gram's pattern by the salt value: both
weaken the frequency alignment without removing it; a smarter attack than this one may do better
against them, so a rate near the baseline there is a lower bound on the risk, not a proof.
bench/RESULTS_PPRL.md has the figures per hardening.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from confidata.errors import quote_names
from confidata.pprl.clkfile import Encoding
from confidata.pprl.errors import LinkageError
from confidata.pprl.fields import FieldSpec
from confidata.pprl.normalise import normalise_field

__all__ = ["AttackResult", "FieldAttack", "attack"]

# The chance that a feature of the true value is not seen in its encoding (typos, missing).
_MISS = 0.05


@dataclass(frozen=True)
class FieldAttack:
    """The attack's outcome on one field: rates only, never a value."""

    column: str
    records: int  # encodings scored (those whose true value is not missing)
    correct: int
    rate: float
    baseline: float  # share right when guessing the reference's most frequent value for all
    features_mapped: int
    candidates: int  # reference values the guesses were chosen from

    @property
    def lift(self) -> float:
        """The attack's rate over the baseline's (1: no better than guessing)."""
        return self.rate / self.baseline if self.baseline > 0 else float("inf")


@dataclass(frozen=True)
class AttackResult:
    """Re-identification rates of one attack, per field and for all attacked fields together."""

    fields: tuple[FieldAttack, ...]
    records: int
    all_fields_rate: float
    all_fields_baseline: float
    hardening: tuple[str, ...]
    bits: int
    seed: int
    notes: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict:
        return {
            "records": self.records,
            "bits": self.bits,
            "hardening": list(self.hardening),
            "seed": self.seed,
            "all_fields": {"rate": self.all_fields_rate, "baseline": self.all_fields_baseline},
            "fields": [dict(f.__dict__, lift=f.lift) for f in self.fields],
            "notes": list(self.notes),
        }

    def explanation(self) -> str:
        """A paragraph for a disclosure review board (rates only)."""
        names = ", ".join(f.column for f in self.fields)
        hard = ", ".join(self.hardening) or "no hardening"
        worked = any(f.rate > 2 * f.baseline + 0.01 for f in self.fields)
        best = max(self.fields, key=lambda f: f.rate - f.baseline)
        verdict = (
            "The attack re-identified clearly more encodings than guessing does (best: "
            f"{best.column}, {best.rate:.1%} against {best.baseline:.1%}): these encodings leak "
            "names to anyone holding a public name list. Harden them (e.g. --hardening diffusion "
            "or xor) and run the attack again."
            if worked else
            "The attack did about as well as guessing without the encodings: on this data it "
            "found no usable link between bit patterns and names."
        )
        return (
            f"A frequency / pattern-mining attack (Christen et al. 2017, 2019) on {self.records} "
            f"encodings ({self.bits} bits, {hard}), holding only a public name list, guessed "
            f"{names} of each encoding. All attacked fields right: {self.all_fields_rate:.1%} of "
            f"encodings, against {self.all_fields_baseline:.1%} when guessing the most frequent "
            f"names for everyone. {verdict}"
        )


# --------------------------------------------------------------------------------------------


def _unpack(words: np.ndarray) -> np.ndarray:
    """(records, bits) uint8 0/1 matrix of packed little-endian uint64 filters."""
    return np.unpackbits(np.ascontiguousarray(words).view(np.uint8), axis=1, bitorder="little")


def _tokens(value: str, q: int) -> list[str]:
    padded = f" {value} "
    return list(dict.fromkeys(padded[i:i + q] for i in range(len(padded) - q + 1))) or [padded]


def _normalised(values: pd.Series, spec: FieldSpec) -> np.ndarray:
    """Each row's normalised value as the encoder would see it; None where missing."""
    norm = normalise_field(values, FieldSpec(column=spec.column, kind="text", q=spec.q))
    vals = np.array(list(norm.values) + [None], dtype=object)
    return vals[np.where(norm.codes >= 0, norm.codes, len(norm.values))]


def _clusters(bits: np.ndarray, weight: int, *, max_clusters: int) -> list[np.ndarray]:
    """Sets of bit positions that are set together far more often than chance.

    The ``weight`` positions of one q-gram are all set whenever it is present, so their pairwise
    phi correlation is high while positions of unrelated q-grams are about independent. Seeds
    are taken in order of their mean correlation with their ``weight - 1`` best partners; a
    cluster is the seed and the partners correlated at least half as strongly; its positions
    are not seeds again.
    """
    n = bits.shape[0]
    x = bits.astype(np.float32)
    p = x.mean(axis=0)
    cov = (x.T @ x) / n - np.outer(p, p)
    sd = np.sqrt(np.maximum(p * (1 - p), 1e-12))
    phi = cov / np.outer(sd, sd)
    np.fill_diagonal(phi, -1.0)
    phi[:, (p <= 0) | (p >= 1)] = -1.0
    noise = 4.0 / np.sqrt(n)
    k = max(2, weight - 1)
    used = np.zeros(len(p), dtype=bool)
    out = []
    while len(out) < max_clusters:
        free = ~used
        sub = np.where(free[None, :], phi, -1.0)
        top = -np.partition(-sub, k - 1, axis=1)[:, :k]
        strength = np.where(free, top.mean(axis=1), -1.0)
        seed = int(np.argmax(strength))
        if strength[seed] < 3 * noise:
            break
        partners = np.argsort(-sub[seed], kind="stable")[:k]
        partners = partners[sub[seed, partners] >= max(0.5 * strength[seed], 2 * noise)]
        cluster = _trim(bits, np.concatenate([[seed], partners]))
        used[seed] = True
        used[cluster] = True
        if len(cluster) >= max(2, weight // 3):
            out.append(np.sort(cluster))
    return out


def _trim(bits: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """Drop positions of another q-gram: one whose removal raises the joint support by a fifth.

    All positions of one q-gram are set whenever it is present, so removing one of them hardly
    changes how many encodings have the whole set; removing an intruder does.
    """
    cluster = list(cluster)
    while len(cluster) > 2:
        sub = bits[:, cluster].astype(bool)
        full = int(sub.all(axis=1).sum())
        gains = [int(np.delete(sub, i, axis=1).all(axis=1).sum()) for i in range(len(cluster))]
        worst = int(np.argmax(gains))
        if gains[worst] <= 1.2 * max(full, 1):
            break
        del cluster[worst]
    return np.array(cluster, dtype=np.int64)


def _label(presence: np.ndarray, ref, *, rounds: int = 30, restarts: int = 6,
           seed: int = 0) -> np.ndarray:
    """Assign a feature to each cluster by matching co-occurrence profiles (graph matching).

    ``presence``: encodings x clusters (0/1), ``ref``: reference persons x features (0/1), more
    features than clusters. Starts from the assignment that best matches frequencies alone, then
    repeatedly solves the assignment (Hungarian) that best matches each cluster's conditional
    co-occurrence with the others, P(c' | c) and P(c | c'), to each feature's with the features
    currently assigned to those others, weighting each other cluster by its frequency (frequent
    ones are measured better), plus twice the log-ratio of frequencies; a feature more than 1.5
    times as frequent or rare as the cluster is ruled out. Stops when the assignment holds.
    The search can settle in a local optimum, so it restarts from ``restarts - 1`` perturbed
    frequency matches and keeps the assignment whose profiles agree best. Returns the feature
    index per cluster.
    """
    from scipy import sparse
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import cdist

    pe = presence.astype(np.float32)
    je = (pe.T @ pe) / len(pe)
    pr = sparse.csr_matrix(ref, dtype=np.float32)
    jr = np.asarray((pr.T @ pr).todense()) / ref.shape[0]
    fe = np.maximum(np.diag(je), 1e-6)
    fr = np.maximum(np.diag(jr), 1e-6)
    ce = je / fe[:, None]  # P(c' | c)
    cr = jr / fr[:, None]
    freq_cost = np.abs(np.log(fe)[:, None] - np.log(fr)[None, :])
    ruled_out = 1e3 * (freq_cost > np.log(1.5))
    w = (fe / fe.mean())[None, :]
    rng = np.random.default_rng(seed)
    best, best_cost = None, np.inf
    for restart in range(restarts):
        # the first start matches frequencies alone; the others perturb that start
        noise = rng.gumbel(size=freq_cost.shape) * 0.15 if restart else 0.0
        label = np.empty(len(fe), dtype=np.int64)
        rows, cols = linear_sum_assignment(freq_cost + noise + ruled_out)
        label[rows] = cols
        for _ in range(rounds):
            # weighted L1 distances of the profiles (|a - b| * w = |a w - b w| for w > 0)
            forward = cdist(ce * w, cr[:, label] * w, metric="cityblock")
            backward = cdist(ce.T * w, cr[label, :].T * w, metric="cityblock")
            cost = forward + backward + 2.0 * freq_cost + ruled_out
            rows, cols = linear_sum_assignment(cost)
            new = label.copy()
            new[rows] = cols
            if np.array_equal(new, label):
                break
            label = new
        total = float(cost[np.arange(len(label)), label].sum())
        if total < best_cost:
            best, best_cost = label, total
    return best


def attack(
    encoding: Encoding,
    reference: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    fields: tuple[str, ...] | None = None,
    reference_columns: dict[str, str] | None = None,
    max_records: int = 20_000,
    max_reference: int = 50_000,
    max_candidates: int = 3_000,
    max_features: int = 600,
    tol: float = 0.1,
    seed: int | None = 0,
) -> AttackResult:
    """Attack ``encoding`` with the public ``reference`` list; score the guesses on ``truth``.

    ``fields``: the encoded text fields to attack (default: every text field of the header that
    ``reference`` has a column for; ``reference_columns`` maps a field to another reference
    column name). ``truth``: the holder's clear file the encodings were made from, with the
    header's id column and the attacked fields; read for scoring only. At most ``max_records``
    encodings (drawn with ``seed``) are attacked and scored, and ``max_reference`` reference rows
    used; the rates are shares of those.
    """
    header = encoding.header
    specs = [FieldSpec(**{k: v for k, v in f.items() if k in FieldSpec.__dataclass_fields__})
             for f in header["fields"]]
    mapping = dict(reference_columns or {})
    text = [s for s in specs if s.kind == "text"]
    if fields is None:
        chosen = [s for s in text if mapping.get(s.column, s.column) in reference.columns]
        if not chosen:
            raise LinkageError(
                "The reference list has no column named like a text field of the encoding "
                f"({quote_names(s.column for s in text)}); rename its columns or map them."
            )
    else:
        by_name = {s.column: s for s in specs}
        unknown = [f for f in fields if f not in by_name]
        if unknown:
            raise LinkageError(
                f"Field(s) {quote_names(unknown)} are not in the encoding's field list "
                f"({quote_names(by_name)}); attack fields it holds."
            )
        chosen = [by_name[f] for f in fields]
        not_text = [s.column for s in chosen if s.kind != "text"]
        if not_text:
            raise LinkageError(
                f"Field(s) {quote_names(not_text)} are not text fields; the attack maps q-grams "
                "of names, so attack text fields only."
            )
    missing_ref = [mapping.get(s.column, s.column) for s in chosen
                   if mapping.get(s.column, s.column) not in reference.columns]
    if missing_ref:
        raise LinkageError(
            f"The reference list has no column {quote_names(missing_ref)}; give a reference with "
            "one column per attacked field."
        )
    id_col = header["id_column"]
    need = [id_col] + [s.column for s in chosen]
    absent = [c for c in need if c not in truth.columns]
    if absent:
        raise LinkageError(
            f"The clear file to score against lacks column(s) {quote_names(absent)}; give the "
            "holder's own file the encodings were made from."
        )

    rng = np.random.default_rng(seed)
    n = len(encoding.ids)
    pick = np.sort(rng.choice(n, size=min(n, max_records), replace=False))
    bits = _unpack(encoding.words[pick])
    ids = pd.Series(encoding.ids[pick], dtype=object)
    truth_rows = truth.assign(**{id_col: truth[id_col].astype("string")}).drop_duplicates(id_col)
    truth_rows = truth_rows.set_index(id_col).reindex(ids.astype("string"))
    notes = []
    if truth_rows[[s.column for s in chosen]].isna().all(axis=1).all():
        raise LinkageError(
            f"No record id of the encoding is in the clear file's column '{id_col}'; give the "
            "file the encodings were made from."
        )
    ref = reference
    if len(ref) > max_reference:
        ref = ref.iloc[np.sort(rng.choice(len(ref), size=max_reference, replace=False))]
        notes.append(f"reference sampled to {max_reference} rows")

    # features: (field, q-gram) with their presence per reference person
    feat_index: dict[tuple[int, str], int] = {}
    ref_values = []
    token_cache: list[dict[str, list[int]]] = []
    for fi, spec in enumerate(chosen):
        values = _normalised(ref[mapping.get(spec.column, spec.column)].reset_index(drop=True), spec)
        ref_values.append(values)
        token_cache.append({
            v: [feat_index.setdefault((fi, t), len(feat_index)) for t in _tokens(v, spec.q)]
            for v in dict.fromkeys(x for x in values if x is not None)
        })
    features = list(feat_index)
    ref_mat = np.zeros((len(ref), len(features)), dtype=np.uint8)
    for fi in range(len(chosen)):
        distinct = list(token_cache[fi])
        table = np.zeros((len(distinct) + 1, len(features)), dtype=np.uint8)  # last row: missing
        for i, v in enumerate(distinct):
            table[i, token_cache[fi][v]] = 1
        code = {v: i for i, v in enumerate(distinct)}
        rows = np.array([code.get(v, len(distinct)) if v is not None else len(distinct)
                         for v in ref_values[fi]])
        ref_mat |= table[rows]

    weight = int(min(s.weight for s in chosen))
    clusters = _clusters(bits, weight, max_clusters=max_features)
    found: dict[int, np.ndarray] = {}
    if clusters:
        presence = np.stack([bits[:, c].all(axis=1) for c in clusters], axis=1)
        share = presence.mean(axis=0)
        # rarer ones are too noisy to place; one set in most encodings is no q-gram's (the
        # complement bits of a balanced filter are set when a q-gram is absent)
        frequent = (share >= 0.01) & (share <= 0.5)
        clusters = [c for c, keep in zip(clusters, frequent, strict=True) if keep]
        presence = presence[:, frequent]
    if clusters:
        top = np.argsort(-ref_mat.mean(axis=0), kind="stable")[: max(3 * len(clusters), 300)]
        labels = _label(presence, ref_mat[:, top], seed=int(seed or 0))
        for c, g in zip(clusters, top[labels], strict=True):
            found.setdefault(int(g), c)

    # re-identify each attacked field
    results = []
    guesses_right = np.ones(len(pick), dtype=bool)
    base_right = np.ones(len(pick), dtype=bool)
    any_scored = np.zeros(len(pick), dtype=bool)
    for fi, spec in enumerate(chosen):
        true_vals = _normalised(truth_rows[spec.column].reset_index(drop=True), spec)
        counts = pd.Series([v for v in ref_values[fi] if v is not None]).value_counts()
        cand_vals = counts.index[:max_candidates].to_numpy(dtype=object)
        prior = counts.to_numpy()[:max_candidates] / counts.sum()
        mapped = [g for g in found if features[g][0] == fi]
        guess = _guess(bits, found, mapped, cand_vals, prior, token_cache[fi], ref_mat)
        scored = np.array([v is not None for v in true_vals])
        right = np.array([g == t for g, t in zip(guess, true_vals, strict=True)]) & scored
        base = np.array([cand_vals[0] == t for t in true_vals]) & scored
        guesses_right &= right | ~scored
        base_right &= base | ~scored
        any_scored |= scored
        m = int(scored.sum())
        results.append(FieldAttack(
            column=spec.column, records=m, correct=int(right.sum()),
            rate=float(right.sum() / m) if m else 0.0,
            baseline=float(base.sum() / m) if m else 0.0,
            features_mapped=len(mapped), candidates=len(cand_vals),
        ))
    m = int(any_scored.sum())
    return AttackResult(
        fields=tuple(results), records=len(pick),
        all_fields_rate=float((guesses_right & any_scored).sum() / m) if m else 0.0,
        all_fields_baseline=float((base_right & any_scored).sum() / m) if m else 0.0,
        hardening=tuple(
            s["name"] + (f"({s['arg']})" if s.get("arg") else "") for s in header.get("hardening", [])
        ),
        bits=int(header["bits"]), seed=int(seed or 0), notes=tuple(notes),
    )


def _guess(bits, found, mapped, cand_vals, prior, tokens_of, ref_mat) -> np.ndarray:
    """The most likely candidate value per encoding, from the presence of mapped features."""
    if not mapped:
        return np.full(bits.shape[0], cand_vals[0], dtype=object)
    obs = np.stack([bits[:, found[g]].all(axis=1) for g in mapped], axis=1).astype(np.float32)
    f_ref = ref_mat[:, mapped].mean(axis=0)
    seen = obs.mean(axis=0)
    background = np.clip((seen - f_ref * (1 - _MISS)) / np.maximum(1 - f_ref, 1e-9), 0.002, 0.5)
    position = {g: j for j, g in enumerate(mapped)}
    has = np.zeros((len(cand_vals), len(mapped)), dtype=np.float32)
    for i, v in enumerate(cand_vals):
        for g in tokens_of[v]:
            j = position.get(g)
            if j is not None:
                has[i, j] = 1.0
    lp_seen = has * np.log(1 - _MISS) + (1 - has) * np.log(background)[None, :]
    lp_unseen = has * np.log(_MISS) + (1 - has) * np.log(1 - background)[None, :]
    base = lp_unseen.sum(axis=1) + np.log(prior).astype(np.float32)
    out = np.empty(bits.shape[0], dtype=object)
    for start in range(0, bits.shape[0], 4096):
        o = obs[start:start + 4096]
        score = o @ (lp_seen - lp_unseen).T + base[None, :]
        out[start:start + 4096] = cand_vals[np.argmax(score, axis=1)]
    return out
