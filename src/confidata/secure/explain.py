"""What each party learns, per scenario and technique: the text behind ``confidata secure explain``.

One entry per (scenario, technique), kept as data beside the protocols it describes (their
docstrings say the same at more length). A reviewer reads these before a study runs.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EXPLANATIONS", "Explanation", "explain"]


@dataclass(frozen=True)
class Explanation:
    scenario: str
    technique: str
    protocol: str  # module that implements it
    trust: str
    learns: tuple[tuple[str, str], ...]  # (party, what it learns)
    cost: str


_DH = "Two-party Diffie-Hellman PSI on Curve25519 (X25519 exponents, prime-order subgroup)"
_HELPER = "Helper-assisted PSI: HMAC-SHA256 pseudonyms under a key the two holders agree on"
_SEMI = "semi-honest: every party follows the protocol but may try to learn from what it sees"

EXPLANATIONS: dict[tuple[str, str], Explanation] = {
    ("intersection-size", "ecdh"): Explanation(
        "intersection-size",
        "ecdh",
        "confidata.secure.psi_ecdh",
        _SEMI + "; DDH hard in the group; the hash to the group a random oracle.",
        (
            ("each holder", "the other holder's number of distinct identifiers"),
            ("a result holder", "also |A n B| (so both coverage shares); not which units match"),
            ("a holder that is not a result party", "nothing more than the other's set size"),
        ),
        "2 rounds; per holder 1 hash and 2 exponentiations per identifier; 32 + 16 bytes per identifier.",
    ),
    ("intersection", "ecdh"): Explanation(
        "intersection",
        "ecdh",
        "confidata.secure.psi_ecdh",
        _SEMI + "; DDH hard in the group; the hash to the group a random oracle.",
        (
            ("each holder", "the other holder's number of distinct identifiers"),
            ("a result holder", "which of its own units are in the other's set (its rows of A n B)"),
            ("a holder that is not a result party", "nothing more than the other's set size"),
        ),
        "2 rounds; as intersection-size.",
    ),
    ("intersection-sum", "ecdh"): Explanation(
        "intersection-sum",
        "ecdh",
        "confidata.secure.psi_ecdh",
        _SEMI + "; DDH in the group and ring-LWE (BFV, N = 16,384, 128-bit parameters).",
        (
            ("each holder", "the other holder's number of distinct identifiers"),
            ("the holder without the value (O)", "|A n B| (it does the matching); the sum if a result party"),
            (
                "the value holder (V)",
                "sum and count if a result party; otherwise nothing (it decrypts slots uniform "
                "given their total S + r)",
            ),
            (
                "neither holder",
                "learns which units are in the intersection (O's reply is re-randomised and its "
                "noise flooded to 2^-40)",
            ),
        ),
        "3-4 rounds; V packs 16,384 values per BFV ciphertext (about 2 us a value for both "
        "holders; 32-64 bytes a value on the wire): the Diffie-Hellman part dominates.",
    ),
    ("intersection-size", "helper"): Explanation(
        "intersection-size",
        "helper",
        "confidata.secure.psi_helper",
        _SEMI + "; the helper does not collude with a holder (with one, it could test guesses).",
        (
            (
                "helper",
                "every set size and the equality pattern of the pseudonyms, hence |A n B|; "
                "with more than two holders, the size of every sub-intersection; never an identifier",
            ),
            ("a result holder", "|A n B| (all holders' common units) and every set size"),
            (
                "a holder that is not a result party",
                "the other's set size only (from the byte counts shared at the end)",
            ),
        ),
        "3 rounds; one HMAC per identifier; 16 bytes per identifier to the helper.",
    ),
    ("intersection", "helper"): Explanation(
        "intersection",
        "helper",
        "confidata.secure.psi_helper",
        _SEMI + "; the helper does not collude with a holder.",
        (
            (
                "helper",
                "every set size and the equality pattern of the pseudonyms (with more than two holders, "
                "every sub-intersection's size); never an identifier",
            ),
            ("a result holder", "which of its own units are in every other holder's set, and every set size"),
            (
                "a holder that is not a result party",
                "the other's set size only (from the byte counts shared at the end)",
            ),
        ),
        "3 rounds; 16 bytes per identifier to the helper, 1 byte per identifier back to a result holder.",
    ),
    ("intersection-sum", "helper"): Explanation(
        "intersection-sum",
        "helper",
        "confidata.secure.psi_helper",
        _SEMI + "; the helper does not collude with a holder; SHAKE-256 masks are pseudorandom.",
        (
            (
                "helper",
                "both set sizes and the equality pattern; values only masked (never a value, never the sum)",
            ),
            (
                "the holder without the value (O)",
                "|A n B| (positions in V's secret shuffle); the sum if a result party",
            ),
            ("the value holder (V)", "sum and count if a result party; otherwise nothing"),
            ("neither holder", "learns which units are in the intersection"),
        ),
        "3-4 rounds; 16 + 8 bytes per record of V to the helper, 8 bytes per match to O.",
    ),
    ("vertical", "helper"): Explanation(
        "vertical",
        "helper",
        "confidata.secure.vertical_join, confidata.secure.vertical_party",
        _SEMI + "; honest majority of the three parties: the helper does not collude with a holder "
        "(with one, it could undo the other holder's masks); HMAC and SHAKE-256 are pseudorandom.",
        (
            (
                "helper",
                "both set sizes and the equality pattern of the pseudonyms, hence the join size n; "
                "never an identifier; every feature it receives is masked by a stream it cannot compute",
            ),
            (
                "each holder",
                "the other's set size and n; positions in the other's secret shuffle (they tell nothing); "
                "not which of its own units, or the other's, are in the join",
            ),
            (
                "a result party",
                "the table after output protection (small cells suppressed or flagged inside MPyC, "
                "DP noise from every party with its epsilon)",
            ),
            ("a party that is not a result party", "nothing of the table"),
        ),
        "17-18 rounds in all for a 10 x 10 table (the join's chain of messages, then MPyC's for the "
        "exact cells and the protection); on the wire one pseudonym and one masked row per unit of "
        "each holder to the helper, then 4 masked rows per joined unit: about 100 MB per party at a "
        "million linked units (bench/RESULTS_SECURE.md).",
    ),
    ("linkage", "clk"): Explanation(
        "linkage",
        "clk",
        "confidata.pprl.party (then confidata.secure.vertical_party)",
        _SEMI + "; the linkage unit holds no key and does not collude with a holder; HMAC-SHA256 "
        "is pseudorandom. Bloom-filter encodings are open to frequency attacks: `pprl attack` "
        "measures it, `--hardening` counters it.",
        (
            (
                "linkage unit",
                "both files' sizes, every record's encoding (keyed CLK bits, never a name, date or "
                "key) and the Dice scores of the pairs it compares, hence which row positions link; "
                "it draws the pair labels, so it learns the join size again in the table phase",
            ),
            (
                "each holder",
                "the number of linked pairs (the join size) and the other's file size; one random "
                "label per own row, linked or not alike, so not which of its rows linked",
            ),
            (
                "a result party",
                "the table of its category by the other holder's over the linked pairs, after "
                "output protection",
            ),
            ("a party that is not a result party", "nothing of the table"),
        ),
        "Linkage: one encoding per record to the linkage unit (128 bytes at 1,024 bits), one "
        "8-byte label per record back; then the vertical table's rounds and bytes over every "
        "record's label (about 0.4 MB in all at 2,000 records a side).",
    ),
    ("table", "mpc"): Explanation(
        "table",
        "mpc",
        "confidata.secure.protocol",
        "semi-honest with an honest majority (Shamir secret sharing, MPyC; at most (m-1)/2 parties collude).",
        (
            ("each party", "nothing of the others' records or local sums"),
            (
                "a result party",
                "the table after output protection (small cells suppressed or flagged, "
                "DP noise with its epsilon)",
            ),
            ("a party that is not a result party", "nothing of the result"),
        ),
        "rounds and bytes as printed by the demo; a handful of secure products per cell.",
    ),
    ("he-aggregate", "threshold-he"): Explanation(
        "he-aggregate",
        "threshold-he",
        "confidata.he (keys, submission, aggregate, keyholder, release)",
        _SEMI + "; fewer than t key holders collude (t of them holding a single submission could open "
        "it); Paillier's decisional composite residuosity (2048-bit moduli); holder names are not "
        "authenticated.",
        (
            ("a data holder", "nothing: it only writes its own submission"),
            (
                "the aggregator",
                "which holders submitted and the size of their files; no value (it holds no key)",
            ),
            (
                "a key holder alone",
                "its own share of the aggregate, uniformly random: nothing about any value",
            ),
            (
                "the t or more key holders that decrypt together",
                "which cells a suppressing small-cell rule holds back, decided on shares (confidata.he."
                "small_cells: never a suppressed cell's count); the counts of the released cells when the "
                "statistic shows or divides by them (noised when epsilon is set; with small_cells = "
                "\"flag\" every count); the totals of the released cells only; a single holder's table "
                "only if the aggregator hands them its submission. With t >= 3, the first two decrypting "
                "key holders together could learn the tested counts",
            ),
            ("whoever gets the result file", "the table after small-cell suppression and DP noise"),
        ),
        "holder: n ciphertexts of 2 x key_bits per packed plaintext (one per key holder); "
        "aggregator: one product per ciphertext; decryption: 2-4 rounds of small JSON among the key holders.",
    ),
    ("regression", "mpc"): Explanation(
        "regression",
        "mpc",
        "confidata.secure.regression",
        "semi-honest with an honest majority (Shamir secret sharing, MPyC; at most (m-1)/2 parties "
        "collude); rows held horizontally (each party whole rows).",
        (
            ("each party", "nothing of the others' rows or of their sums X'X, X'y, y'y"),
            (
                "every party",
                "one bit: whether the pooled design could be solved (not singular); with a "
                "min_cell_size, one more: whether the pooled rows reach it",
            ),
            (
                "a result party (OLS, ridge)",
                "the coefficients, their standard errors, n, the residual and total sums of squares "
                "(so R2, the residual variance, F); never X'X or its inverse",
            ),
            (
                "every party (logistic)",
                "also the coefficients after each Newton step (each party needs them for its local "
                "gradient): the iterates, a function of the pooled data; the result parties alone get "
                "the standard errors and the log-likelihood",
            ),
            ("a party that is not a result party", "nothing of the result (OLS, ridge)"),
        ),
        "one input round; about 2 x 40 matrix products of p x p (p = coefficients), 2 rounds each; "
        "a logistic model repeats this per Newton step (5-10 steps).",
    ),
    ("vertical-regression", "helper"): Explanation(
        "vertical-regression",
        "helper",
        "confidata.secure.vertical_regression (join: confidata.secure.vertical_join)",
        _SEMI + "; honest majority of the three parties: the helper does not collude with a holder; "
        "HMAC and SHAKE-256 are pseudorandom. Two holders; OLS, ridge and logistic "
        "(confidata.secure.vertical_logistic: the joined units' columns as shares, the sigmoid a "
        "Chebyshev polynomial whose largest error the result states).",
        (
            (
                "helper",
                "both set sizes and the equality pattern of the pseudonyms, hence the join size n; "
                "never an identifier or a value (every feature it receives is masked)",
            ),
            (
                "each holder",
                "the other's set size and n; not which units joined, its own or the other's; no sum, "
                "square or cross product of the joined units",
            ),
            (
                "every party",
                "one bit: whether the joined design could be solved; with a min_cell_size, one more: "
                "whether n reaches it; logistic: that bit per Newton step, and every Newton iterate (the "
                "coefficients after each step, a function of the joined data only; the last is the output), "
                "never a unit's predictor or probability",
            ),
            (
                "a result holder",
                "the coefficients, their standard errors, n, R2, F and the log-likelihood; never X'X",
            ),
            ("a holder that is not a result party", "nothing of the model"),
        ),
        "the join of the vertical table with 1 + M + M(M+1)/2 features for a holder of M ring columns "
        "(two per numeric column, one per dummy; and their products), then about 100 matrix products "
        "of p x p on MPyC: 124 rounds; 100,000 joined units x 5 predictors in 30 s on the busy 2 cores. "
        "Logistic: the join without the product, then per Newton step about 2 sqrt(d) + p + 4 products "
        "per joined unit (d the polynomial's degree in t**2, at most 96) and a Newton-Schulz solve; "
        "10,000 joined units x 7 coefficients: 242 s, 182 MB per party, 956 rounds on the busy 2 cores.",
    ),
    ("quantile", "mpc"): Explanation(
        "quantile",
        "mpc",
        "confidata.secure.quantiles",
        "semi-honest with an honest majority (Shamir secret sharing, MPyC; at most (m-1)/2 parties collude).",
        (
            ("each party", "nothing of the others' values or counts; not the search path"),
            (
                "a result party",
                "the requested quantiles per group (exact inverted-CDF order statistics, values of the "
                "data) and which groups were below the minimum size; not the group sizes",
            ),
            ("a party that is not a result party", "nothing of the result"),
        ),
        "about as many shared counts per group as grid points; per level one dot product, B - 1 "
        "comparisons per quantile and one product round: some 40 rounds for a grid of 100,000.",
    ),
}


def explain(scenario: str, technique: str | None = None) -> list[Explanation]:
    """The entries for a scenario (every technique, or the one named)."""
    found = [e for (s, t), e in EXPLANATIONS.items() if s == scenario and technique in (None, t)]
    if not found:
        from confidata.errors import ConfidataError  # noqa: PLC0415

        known = sorted({s for s, _ in EXPLANATIONS})
        raise ConfidataError(
            f"No explanation for scenario '{scenario}'"
            + (f" with technique '{technique}'" if technique else "")
            + f"; the scenarios are {', '.join(known)}."
        )
    return found
