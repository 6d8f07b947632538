"""The four use cases of the HLG-MOS synthetic-data guide, each a list of judged measures.

A use case says what a synthetic file is for, and so which measures decide whether it is fit
for that purpose and where the lines are. Each `Criterion` names a measure, the figure of its
result that is judged (`statistic`), the lines for pass and warn, why those lines and where they
come from. Thresholds are judgements, not laws of nature: the reasons are written out so that a
disclosure review board can disagree with a number knowingly.

Figures judged:
* ``value``: the measure's value;
* ``excess``: value minus its reference (e.g. exact copies beyond what a holdout shows);
* ``ratio``: value over its reference (e.g. TSTR accuracy over train-on-real accuracy);
* a key of ``details`` (e.g. ``s_pmse``, ``ratio_to_reference``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["Criterion", "UseCase", "USE_CASES"]

_RAAB = ("Raab, G. M., Nowok, B. & Dibben, C. (2024). Practical privacy metrics for synthetic "
         "data. arXiv:2406.16826; synthpop's disclosure() documentation.")
_PLATZER = ("Platzer, M. & Reutterer, T. (2021). Holdout-based fidelity and privacy assessment of "
            "mixed-type synthetic data. Frontiers in Big Data 4:679939.")
_GIOMI = ("Giomi, M. et al. (2023). A unified framework for quantifying privacy risk in synthetic "
          "data. PoPETs 2023(2), 312-328 (anonymeter).")
_SNOKE = ("Snoke, J., Raab, G. M., Nowok, B., Dibben, C. & Slavkovic, A. (2018). General and "
          "specific utility measures for synthetic data. JRSS A 181(3), 663-688.")
_KARR = ("Karr, A. F., Kohnen, C. N., Oganian, A., Reiter, J. P. & Sanil, A. P. (2006). A "
         "framework for evaluating the utility of data altered to protect confidentiality. The "
         "American Statistician 60(3), 224-232.")
_HLG = ("UNECE HLG-MOS (2022). Synthetic Data for Official Statistics: A Starter Guide, "
        "section 3 (use cases and the trade-off between utility and risk).")
_SHOKRI = ("Shokri, R. et al. (2017). Membership inference attacks against machine learning "
           "models. IEEE S&P; Stadler, T., Oprisanu, B. & Troncoso, C. (2022). Synthetic data - "
           "anonymisation groundhog day. USENIX Security.")
_NIST = ("NIST CRC Data and Metrics Archive / SDNist (2023): k-marginal and pairwise total "
         "variation distance as the deidentification fidelity yardsticks.")


@dataclass(frozen=True)
class Criterion:
    """One judged figure: pass at or better than `pass_at`, warn at or better than `warn_at`,
    else fail (`warn_at=None`: never fails, only warns)."""

    measure: str
    statistic: str
    better: str  # "lower" or "higher"
    pass_at: float
    warn_at: float | None
    reason: str
    source: str
    options: Any = field(default_factory=dict)  # extra options for the measure

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))

    @property
    def rule(self) -> str:
        """The thresholds in words, e.g. 'pass if s_pmse <= 3; warn if <= 10; else fail'."""
        op = "<=" if self.better == "lower" else ">="
        text = f"pass if {self.statistic} {op} {self.pass_at:g}"
        if self.warn_at is None:
            return text + "; otherwise warn"
        return text + f"; warn if {op} {self.warn_at:g}; else fail"

    def judge(self, observed: float) -> str:
        def good(limit: float) -> bool:
            return observed <= limit if self.better == "lower" else observed >= limit

        if good(self.pass_at):
            return "pass"
        if self.warn_at is None or good(self.warn_at):
            return "warn"
        return "fail"


@dataclass(frozen=True)
class UseCase:
    name: str
    title: str
    purpose: str
    criteria: tuple[Criterion, ...]
    may: tuple[str, ...]
    may_not: tuple[str, ...]
    methods: str  # what to use, in words; measured evidence comes from `recommend`


# -- risk criteria shared by the files that leave the office's control -----------------------
def _risk(strict: bool) -> tuple[Criterion, ...]:
    """Disclosure criteria; `strict` for files anyone may read (public release, teaching)."""
    k = 1.0 if strict else 2.0  # a file kept inside a research agreement may be closer
    return (
        Criterion("exact_matches", "excess", "lower", 0.005 * k, 0.02 * k,
                  "A synthetic file should copy real records no more often than an independent "
                  "sample from the same population does (the holdout); half a percentage point "
                  "above it allows for sampling noise, two points is a clear sign of copying.",
                  _PLATZER),
        Criterion("distance_to_closest_record", "value", "lower", 0.55, 0.55 + 0.05 * k,
                  "About 50% of synthetic rows lie nearer the training data than an equally "
                  "large holdout when the synthesizer has not memorised; 55% allows for the "
                  "sampling error of a few thousand queried rows.", _PLATZER),
        Criterion("identity_disclosure", "value", "lower", 1.0 * k, 5.0 * k,
                  "repU is the percentage of real records unique on the keys whose key "
                  "combination is also unique in the synthetic file: candidates for "
                  "re-identification. Under 1% leaves an intruder little to work on; over 5% is "
                  "a systematic reproduction of rare people.", _RAAB),
        Criterion("membership_inference", "value", "lower", 0.55, 0.55 + 0.05 * k,
                  "An attacker who tells training records from strangers no better than a coin "
                  "toss (AUC 0.5) learns nothing about who was in the data; 0.55 allows for "
                  "sampling error.", _SHOKRI),
        Criterion("singling_out", "value", "lower", 0.05, 0.15 * k,
                  "Risk beyond what the population reveals (main minus control attack success, "
                  "normalised). Anonymeter's authors read values under a few percent as "
                  "negligible.", _GIOMI),
        Criterion("inference", "value", "lower", 0.05, 0.15 * k,
                  "Attribute-inference risk on the target beyond what the population reveals; "
                  "as for singling out.", _GIOMI),
    )


USE_CASES: dict[str, UseCase] = {
    "public-release": UseCase(
        name="public-release",
        title="Public release",
        purpose="A file anyone may download: for exploring the data, teaching, and first "
                "analyses whose results are confirmed on the real data.",
        criteria=(
            *_risk(strict=True),
            Criterion("pmse_cart", "s_pmse", "lower", 10.0, None,
                      "Public files trade utility for safety: a tree that separates synthetic "
                      "from real rows far better than chance (S_pMSE > 10) is worth a warning, "
                      "not a refusal.", _SNOKE),
            Criterion("tvd_2way", "value", "lower", 0.10, None,
                      "Two-way tables within 10% total variation keep the broad picture a "
                      "public user looks for.", _NIST),
        ),
        may=("explore the structure of the data and learn its variables and codes",
             "prepare and test analysis code before running it on the real data",
             "teach and demonstrate methods"),
        may_not=("publish estimates from it as if they were official statistics",
                 "look up or re-identify real people: rows are not real records",
                 "draw conclusions about small groups or rare combinations"),
        methods="A disclosure-checked CART synthesis (confidata synth) with smoothing of "
                "numbers; a differentially private method when a formal guarantee is required.",
    ),
    "testing-analysis": UseCase(
        name="testing-analysis",
        title="Testing analysis",
        purpose="A file researchers use to write and test their analysis code before it runs "
                "on the real data in a secure environment; results must resemble the real ones.",
        criteria=(
            Criterion("pmse_cart", "s_pmse", "lower", 3.0, 10.0,
                      "S_pMSE near 1 means a tree cannot tell the files apart better than when "
                      "both come from one population; up to 3 is what good syntheses reach in "
                      "the literature, above 10 the relationships an analysis relies on are "
                      "lost.", _SNOKE),
            Criterion("tvd_2way", "value", "lower", 0.05, 0.10,
                      "Analyses rest on relationships between pairs of variables: two-way tables "
                      "within 5% total variation on average keep them, beyond 10% they are "
                      "visibly distorted.", _NIST),
            Criterion("correlation_difference", "ratio_to_reference", "lower", 2.0, 4.0,
                      "Pairwise associations (Pearson, Cramer's V, eta) should differ from the "
                      "real ones by about what resampling the real data gives (ratio 1). "
                      "Measured on SD2011 (35 variables): a CART synthesis scores 1.6, the same "
                      "file with each column shuffled independently 5.2; 4 separates the two "
                      "with room on both sides.", _SNOKE),
            Criterion("ci_overlap", "value", "higher", 0.5, 0.25,
                      "Confidence intervals of the user's model overlapping by half or more "
                      "lead to the same inference; under a quarter they often do not.", _KARR),
            Criterion("tstr", "ratio", "higher", 0.9, 0.75,
                      "A model trained on the synthetic file should predict real data at least "
                      "90% as well as one trained on real data.", _HLG),
            *[Criterion(c.measure, c.statistic, c.better, c.pass_at, None, c.reason, c.source)
              for c in _risk(strict=False)],
        ),
        may=("develop, debug and time analysis code for the real data",
             "check that a model runs and roughly what it shows"),
        may_not=("publish results from the synthetic file without rerunning them on the real "
                 "data", "leave the research agreement it was released under"),
        methods="CART synthesis (confidata synth): it keeps interactions a parametric model "
                "misses; check the user's own model with --model.",
    ),
    "education": UseCase(
        name="education",
        title="Education and training",
        purpose="A file for courses and training: realistic variables, codes and relationships, "
                "shared with students outside the office.",
        criteria=(
            *_risk(strict=True),
            Criterion("tvd_1way", "value", "lower", 0.05, 0.10,
                      "Students first meet the distributions of single variables; they should "
                      "look like the real ones.", _NIST),
            Criterion("tvd_2way", "value", "lower", 0.10, 0.20,
                      "Exercises on cross-tabulations need the main relationships.", _NIST),
        ),
        may=("teach statistical methods and software on realistic data",
             "set exercises whose answers are approximately those of the real data"),
        may_not=("teach facts about the population from it",
                 "be combined with other sources to find real people"),
        methods="CART synthesis, or a differentially private method where the file is "
                "published widely.",
    ),
    "testing-technology": UseCase(
        name="testing-technology",
        title="Testing technology",
        purpose="A file for developing and testing systems (pipelines, databases, software) "
                "by staff or contractors who must not see real records.",
        criteria=(
            *_risk(strict=True),
            Criterion("tvd_1way", "value", "lower", 0.20, None,
                      "Systems are tested on formats, codes and value ranges; single-variable "
                      "distributions need only be roughly right.", _HLG),
        ),
        may=("test software, file formats, loads and edge cases",),
        may_not=("be analysed for any statistical purpose",),
        methods="Any synthesizer that keeps the schema; CART is fast enough for millions of "
                "rows.",
    ),
}
