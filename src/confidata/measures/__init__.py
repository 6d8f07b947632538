"""Utility and disclosure-risk measures: pure functions ``(real, synthetic, schema, **options)
-> MeasureResult`` and the registry `MEASURES` that lists them with when each applies."""

from __future__ import annotations

from confidata.measures._result import NEED_WORDS, Direction, Family, MeasureResult, MeasureSpec, Need
from confidata.measures.association import correlation_difference
from confidata.measures.attacks import membership_inference, nndr
from confidata.measures.disclosure import (
    attribute_disclosure,
    correct_attribution_probability,
    identity_disclosure,
    k_anonymity,
)
from confidata.measures.distance import distance_to_closest_record, exact_matches
from confidata.measures.gdpr import inference, linkability, singling_out
from confidata.measures.marginals import kmarginal, pmse_1way, tvd_1way, tvd_2way
from confidata.measures.propensity import pmse_cart, pmse_logit
from confidata.measures.specific import ci_overlap, tstr
from confidata.measures.suda import special_uniques
from confidata.measures.weighted import individual_risk, weighted_estimates

__all__ = ["MEASURES", "NEED_WORDS", "Direction", "Family", "MeasureResult", "MeasureSpec", "Need"]

# name -> MeasureSpec, one line per measure: what it is, when it applies, what it needs, what it plots
_RISK = Family.RISK
_UTIL, _ALWAYS = Family.UTILITY_GENERAL, "always"
_KEYS, _TARGET, _HOLDOUT = "keys are given", "keys and a target are given", "a holdout is given"
_K, _KT = frozenset({Need.KEYS}), frozenset({Need.KEYS, Need.TARGET})
_H, _HT = frozenset({Need.HOLDOUT}), frozenset({Need.HOLDOUT, Need.TARGET})

MEASURES: dict[str, MeasureSpec] = {
    "identity_disclosure": MeasureSpec(identity_disclosure, _RISK, "Replicated uniques vs UiO", _KEYS, _K),
    "attribute_disclosure": MeasureSpec(attribute_disclosure, _RISK, "DiSCO vs Dorig for a target",
                                        _TARGET, _KT),
    "correct_attribution_probability": MeasureSpec(correct_attribution_probability, _RISK, "TCAP",
                                                   _TARGET, _KT),
    "k_anonymity": MeasureSpec(k_anonymity, _RISK, "Smallest key class k, fk, l-diversity", _KEYS, _K),
    "exact_matches": MeasureSpec(exact_matches, _RISK, "Synthetic rows copying training rows", _HOLDOUT, _H),
    "distance_to_closest_record": MeasureSpec(distance_to_closest_record, _RISK, "DCR share", _HOLDOUT, _H,
                                              plot="dcr"),
    "membership_inference": MeasureSpec(membership_inference, _RISK, "Distance attack ROC AUC", _HOLDOUT, _H),
    "nndr": MeasureSpec(nndr, _RISK, "Nearest-neighbour distance ratio vs holdout", _HOLDOUT, _H),
    "special_uniques": MeasureSpec(special_uniques, _RISK, "SUDA minimal sample uniques share", _KEYS, _K),
    "singling_out": MeasureSpec(singling_out, _RISK, "GDPR singling-out attack risk vs holdout",
                                _HOLDOUT, _H),
    "linkability": MeasureSpec(linkability, _RISK, "GDPR linkability attack risk vs holdout", _HOLDOUT, _H),
    "inference": MeasureSpec(inference, _RISK, "GDPR attribute-inference attack risk vs holdout",
                             _HOLDOUT, _HT),
    "pmse_logit": MeasureSpec(pmse_logit, _UTIL, "Logistic propensity pMSE and S_pMSE", _ALWAYS),
    "pmse_cart": MeasureSpec(pmse_cart, _UTIL, "Tree propensity pMSE, permutation S_pMSE, SPECKS", _ALWAYS,
                             plot="propensity"),
    "pmse_1way": MeasureSpec(pmse_1way, _UTIL, "Per-variable table S_pMSE (synthpop compare)", _ALWAYS),
    "tvd_1way": MeasureSpec(tvd_1way, _UTIL, "Mean TVD over 1-way marginals", _ALWAYS),
    "tvd_2way": MeasureSpec(tvd_2way, _UTIL, "Mean TVD over 2-way marginals", "two or more columns",
                            plot="pairs"),
    "kmarginal": MeasureSpec(kmarginal, _UTIL, "3-marginal score, 0-1000", "three or more columns"),
    "correlation_difference": MeasureSpec(correlation_difference, _UTIL, "Pairwise association gap",
                                          "two or more columns"),
    "ci_overlap": MeasureSpec(ci_overlap, Family.UTILITY_SPECIFIC, "CI overlap for a user's model",
                              "a model formula is given", frozenset({Need.FORMULA}), plot="ci_overlap"),
    "tstr": MeasureSpec(tstr, Family.UTILITY_SPECIFIC, "Train on synthetic, test on real",
                        "a target is given", frozenset({Need.TARGET})),
    "weighted_estimates": MeasureSpec(weighted_estimates, _UTIL, "CI overlap of weighted domain estimates",
                                      "a survey weight is declared"),
    "individual_risk": MeasureSpec(individual_risk, _RISK, "Benedetti-Franconi individual risk", _KEYS, _K),
}
