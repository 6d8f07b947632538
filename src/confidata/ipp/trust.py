"""The trust vocabulary: what a technique must be able to assume, and what a case can offer.

Why a registry: "which technique fits" is first a question of trust, not speed. A two-party
case has no honest majority to lean on; a case whose partners may cheat rules out every
semi-honest protocol; a linkage unit is an extra organisation someone must agree to host.
Written once here, in plain words a methodologist can take to the legal department, the same
terms drive the recommendation (a technique applies only if everything it assumes is offered)
and the report's table of techniques.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["CASE_OFFERS", "TECHNIQUE_NEEDS", "TERMS", "missing_trust", "offers"]

# Each term in plain words: what must hold for privacy to hold.
TERMS: dict[str, str] = {
    "semi_honest": "Every party runs the protocol as written, but may study everything it receives "
    "(honest-but-curious). A party that deviates could learn more or change the result undetected.",
    "malicious": "A party may deviate from the protocol (send wrong values, drop out) to learn more or "
    "to change the result; the protocol must detect or withstand it.",
    "honest_majority": "Fewer than half of the computing parties collude. Needs at least three computing "
    "parties; with two, one of them alone is already half.",
    "non_colluding_helper": "A party other than the data holders (the helper) sees only pseudonyms or "
    "masked values, and is trusted never to pool what it sees with a data holder.",
    "key_holders_t_of_n": "Decryption needs t of the n key holders together; privacy holds while fewer "
    "than t of them collude. Someone must host the key holders and agree t.",
    "linkage_unit": "One unit receives every holder's Bloom-filter encodings of names and dates and links "
    "them; it is trusted not to attack the encodings (frequency attacks can re-identify).",
    "trusted_third_party": "One party receives the data in clear and is trusted with it: the arrangement "
    "input privacy replaces, measured as the baseline.",
}

# What each benchmarked technique (a registry key of the bench) assumes.
TECHNIQUE_NEEDS: dict[str, tuple[str, ...]] = {
    "mpc_shamir_mpyc": ("semi_honest", "honest_majority"),
    "mpc_regression": ("semi_honest", "honest_majority"),
    "mpc_quantiles": ("semi_honest", "honest_majority"),
    "he_threshold_paillier": ("semi_honest", "key_holders_t_of_n"),
    "psi_ecdh": ("semi_honest",),
    "psi_sum_bfv": ("semi_honest",),
    "psi_helper": ("semi_honest", "non_colluding_helper"),
    "psi_helper_sum": ("semi_honest", "non_colluding_helper"),
    "mpc_vertical_helper": ("semi_honest", "non_colluding_helper"),
    "mpc_vertical_regression": ("semi_honest", "non_colluding_helper"),
    "pprl_bloom": ("semi_honest", "linkage_unit"),
    "pprl_linkage_table": ("semi_honest", "linkage_unit"),
    "plain_trusted_third_party": ("trusted_third_party",),
    "pooled": ("trusted_third_party",),
}

# What a case's trust model (the catalogue's vocabulary) offers. A semi-honest protocol secure
# against a dishonest majority (two-party PSI) fits every semi-honest case; the malicious models
# offer no "semi_honest", so that every semi-honest protocol is ruled out with the reason.
CASE_OFFERS: dict[str, frozenset[str]] = {
    "semi_honest_honest_majority": frozenset(
        {"semi_honest", "honest_majority", "non_colluding_helper", "key_holders_t_of_n", "linkage_unit"}),
    "semi_honest_dishonest_majority": frozenset({"semi_honest"}),
    "malicious_honest_majority": frozenset({"malicious", "honest_majority"}),
    "malicious_dishonest_majority": frozenset({"malicious"}),
    "non_colluding_servers": frozenset(
        {"semi_honest", "non_colluding_helper", "honest_majority", "key_holders_t_of_n", "linkage_unit"}),
    "trusted_third_party": frozenset(TERMS),
    "trusted_hardware": frozenset({"semi_honest"}),
    "curious_aggregator": frozenset({"semi_honest", "non_colluding_helper"}),
}

# Why a term is missing, per case trust model (the default: the case does not offer it).
_WHY_NOT: Mapping[str, str] = {
    "semi_honest": "the case must withstand parties that deviate from the protocol (malicious), and "
    "this technique is secure against semi-honest parties only",
    "honest_majority": "honest majority not available: the case does not have three or more computing "
    "parties of which a majority is trusted not to collude",
    "non_colluding_helper": "no non-colluding helper: the case has no party besides the data holders "
    "that all of them trust not to collude",
    "key_holders_t_of_n": "no threshold key holders: a dishonest majority means t key holders could "
    "collude, so t would have to be every party",
    "linkage_unit": "no linkage unit: the case has no separate party trusted with the Bloom encodings",
    "trusted_third_party": "needs a trusted third party that sees the data in clear, which the case "
    "does not have (the reason for input privacy)",
}


def offers(case_trust: str) -> frozenset[str]:
    """The terms a case's trust model offers; a trust value the vocabulary lacks offers nothing."""
    return CASE_OFFERS.get(case_trust, frozenset())


def missing_trust(technique: str, case_trust: str) -> list[str]:
    """Plain-words reasons a technique's assumptions are not met (empty when it applies)."""
    needs = TECHNIQUE_NEEDS.get(technique)
    if needs is None:
        return [f"its trust assumptions are not declared (add '{technique}' to "
                "confidata.ipp.trust.TECHNIQUE_NEEDS)"]
    have = offers(case_trust)
    return [_WHY_NOT.get(term, f"'{term}' not offered") for term in needs if term not in have]
