"""The NSO input-privacy use-case catalogue: load `cases.yaml`, validate it, expose frozen data.

Why a checked catalogue rather than prose: the benchmark (which scenario to run, at what size)
and the recommendations read these cases, so a typo in an enum or a priority nobody re-derived
would silently steer both. The YAML is validated twice: against `cases.schema.json` for shape
and enums, then by cross-checks a schema cannot express (unique slugs, parties named in roles
exist, priority equals the one derived from the criterion scores). Any failure is a
`SchemaError` that names the file, the case and the field.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from confidata.errors import ConfidataError, SchemaError, quote_names

__all__ = [
    "Catalogue",
    "Criterion",
    "Party",
    "Reference",
    "RUNNABLE_SCENARIOS",
    "RUNNABLE_TECHNIQUES",
    "Sizes",
    "UnknownCaseError",
    "UseCase",
    "load_catalogue",
]

# What confidata's secure/ engines and the benchmark run now: MPyC secret sharing for horizontal
# tables (secure/protocol.py), and private set intersection with its size, members and sum
# (secure/psi_ecdh.py, whose sum uses packed BFV encryption; secure/psi_helper.py), and the
# vertical table over two holders' joined units (secure/vertical_join.py, bench/vertical_bench.py).
# Record linkage (PPRL) does not run yet. A case may claim `benchmarked_here: true` only within these.
RUNNABLE_SCENARIOS = frozenset({"horizontal_aggregate", "intersection_count_sum", "vertical_join_aggregate"})
RUNNABLE_TECHNIQUES = frozenset({"secret_sharing_mpc", "homomorphic_encryption", "private_set_intersection"})
PRIORITY_ORDER = ("high", "medium", "low")
# The maturity score is not free: it follows from the status.
_MATURITY_BY_STATUS = {"proposed": 0, "proof_of_concept": 0, "pilot": 1, "production": 2}


class UnknownCaseError(ConfidataError, LookupError):
    """A case name that is not in the catalogue."""


@dataclass(frozen=True)
class Criterion:
    """One priority criterion and what its scores 0, 1, 2 mean."""

    name: str
    question: str
    levels: Mapping[str, str]


@dataclass(frozen=True)
class Party:
    """An organisation (or a group of them) and the roles it plays in one case."""

    id: str
    name: str
    kind: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Reference:
    authors: str
    year: int
    title: str
    venue: str | None = None
    url: str | None = None
    doi: str | None = None

    def cite(self) -> str:
        """One line a reader can look up: authors (year). Title. Venue. doi/url."""
        parts = [f"{self.authors} ({self.year}). {self.title}."]
        if self.venue:
            parts.append(f"{self.venue}.")
        if self.doi:
            parts.append(f"doi:{self.doi}")
        if self.url:
            parts.append(self.url)
        return " ".join(parts)


@dataclass(frozen=True)
class Sizes:
    """Typical sizes; None wherever no source states a number (never a guess)."""

    input_parties: int | None
    records: Mapping[str, int | None]
    note: str


@dataclass(frozen=True)
class UseCase:
    slug: str
    title: str
    country: str
    year: int
    purpose: str
    parties: tuple[Party, ...]
    trust: str
    trust_notes: str
    partitioning: str
    statistic: str
    sizes: Sizes
    status: str
    legal_notes: str
    organisational_notes: str
    references: tuple[Reference, ...]
    techniques: tuple[str, ...]
    reference_scenario: str
    benchmarked_here: bool
    benchmark_scenario: str | None
    not_benchmarked_reason: str | None
    scores: Mapping[str, int]
    priority: str
    # where the benchmark measured it: {results, scenario, techniques}; None when not (yet) measured
    measured_at: Mapping[str, object] | None = None
    # what it needs computed, as the benchmark's runs name it (e.g. intersection_sum); None: any
    benchmark_statistic: str | None = None

    def with_role(self, role: str) -> tuple[Party, ...]:
        return tuple(p for p in self.parties if role in p.roles)

    def to_dict(self) -> dict:
        """Plain JSON-ready data (for `--json` and reports)."""
        return {
            "slug": self.slug, "title": self.title, "country": self.country, "year": self.year,
            "purpose": self.purpose,
            "parties": [{"id": p.id, "name": p.name, "kind": p.kind, "roles": list(p.roles)}
                        for p in self.parties],
            "trust": self.trust, "trust_notes": self.trust_notes,
            "partitioning": self.partitioning, "statistic": self.statistic,
            "sizes": {"input_parties": self.sizes.input_parties, "records": dict(self.sizes.records),
                      "note": self.sizes.note},
            "status": self.status, "legal_notes": self.legal_notes,
            "organisational_notes": self.organisational_notes,
            "references": [{k: v for k, v in vars(r).items() if v is not None} for r in self.references],
            "techniques": list(self.techniques), "reference_scenario": self.reference_scenario,
            "benchmarked_here": self.benchmarked_here, "benchmark_scenario": self.benchmark_scenario,
            "not_benchmarked_reason": self.not_benchmarked_reason,
            "scores": dict(self.scores), "score_total": sum(self.scores.values()),
            "priority": self.priority, "measured_at": dict(self.measured_at) if self.measured_at else None,
            "benchmark_statistic": self.benchmark_statistic,
        }


@dataclass(frozen=True)
class Catalogue:
    """All cases, the criteria behind their priority, and the meaning of every enum value."""

    criteria: tuple[Criterion, ...]
    priority_rule: Mapping[str, int]
    vocabulary: Mapping[str, Mapping[str, str]]
    cases: tuple[UseCase, ...]
    source: str

    def __iter__(self) -> Iterator[UseCase]:
        return iter(self.cases)

    def __len__(self) -> int:
        return len(self.cases)

    @property
    def slugs(self) -> tuple[str, ...]:
        return tuple(c.slug for c in self.cases)

    def derive_priority(self, scores: Mapping[str, int]) -> str:
        return _derive(scores, self.priority_rule)

    def sorted(self) -> list[UseCase]:
        """High priority first, then by slug: the order people should read them in."""
        return sorted(self.cases, key=lambda c: (PRIORITY_ORDER.index(c.priority), c.slug))

    def get(self, name: str) -> UseCase:
        """The case called `name`; an unknown name raises with the closest slugs as hints."""
        for case in self.cases:
            if case.slug == name:
                return case
        key = name.lower()
        close = difflib.get_close_matches(key, self.slugs, n=3, cutoff=0.5)
        close += [s for s in self.slugs if key and key in s and s not in close]
        hint = f" Did you mean {quote_names(close[:3])}?" if close else ""
        raise UnknownCaseError(
            f"There is no use case '{name}'.{hint} See 'confidata ipp cases' for all {len(self)}."
        )


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Load and check the catalogue: the shipped one, or a YAML file at `path` (for tests, forks).

    Raises SchemaError naming the case and the field on the first problem found.
    """
    if path is None:
        text = resources.files("confidata.ipp").joinpath("cases.yaml").read_text(encoding="utf-8")
        source = "cases.yaml (shipped with confidata)"
    else:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SchemaError(f"Cannot read the use-case catalogue '{path}': {exc.strerror}.") from None
        source = str(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise SchemaError(f"{source}: not valid YAML{where}; check indentation and quoting.") from None
    _validate(data, source)
    _cross_check(data, source)
    return _build(data, source)


# -- validation -----------------------------------------------------------------------------

def _schema() -> dict:
    text = resources.files("confidata.ipp").joinpath("cases.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def _where(data, path: list) -> str:
    """'case 'slug' (#3), field 'a.b'' or 'field 'a.b'' for a path into the document."""
    if len(path) >= 2 and path[0] == "cases" and isinstance(path[1], int):
        case = data["cases"][path[1]]
        slug = case.get("slug") if isinstance(case, dict) else None
        label = f"case '{slug}'" if isinstance(slug, str) else f"case #{path[1] + 1}"
        rest = path[2:]
        return f"{label}, field '{_dotted(rest)}'" if rest else label
    return f"field '{_dotted(path)}'" if path else "top level"


def _dotted(path: list) -> str:
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path).replace(".[", "[")


def _validate(data, source: str) -> None:
    if not isinstance(data, dict):
        raise SchemaError(f"{source}: expected a mapping with 'criteria', 'vocabulary' and 'cases'.")
    validator = jsonschema.Draft202012Validator(_schema())
    # the first problem in document order, so the message is stable from run to run
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return
    error = errors[0]
    path = list(error.absolute_path)
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        path = path + [missing[0]]
        problem = "is missing (required)"
    elif error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        path = path + [extra[0]]
        problem = "is not a known field; check its spelling"
    elif error.validator == "enum":
        problem = f"is {error.instance!r}, not one of {', '.join(map(str, error.validator_value))}"
    elif error.validator == "anyOf" and "references" in path:
        problem = "needs a 'venue' or a 'url' so a reader can find it"
    elif isinstance(error.instance, (dict, list)):
        problem = f"does not match the schema ({error.validator} rule)"
    else:
        problem = error.message
    more = f" ({len(errors) - 1} more problem(s) after fixing this)" if len(errors) > 1 else ""
    raise SchemaError(f"{source}: {_where(data, path)} {problem}.{more}")


def _fail(source: str, data, path: list, problem: str) -> SchemaError:
    return SchemaError(f"{source}: {_where(data, path)} {problem}.")


def _cross_check(data: dict, source: str) -> None:
    defs = _schema()["$defs"]
    for kind, words in data["vocabulary"].items():
        allowed = set(defs[kind]["enum"])
        if set(words) != allowed:
            missing, extra = sorted(allowed - set(words)), sorted(set(words) - allowed)
            raise _fail(source, data, ["vocabulary", kind],
                        "must explain exactly the allowed values (missing: "
                        f"{quote_names(missing) or 'none'}; unknown: {quote_names(extra) or 'none'})")
    names = [c["name"] for c in data["criteria"]]
    if len(set(names)) != len(names):
        raise _fail(source, data, ["criteria"], "names a criterion twice")
    rule = data["priority_rule"]
    if rule["high"] <= rule["medium"]:
        raise _fail(source, data, ["priority_rule"], "needs high above medium")

    seen: dict[str, int] = {}
    for i, case in enumerate(data["cases"]):
        at = ["cases", i]
        slug = case["slug"]
        if slug in seen:
            raise _fail(source, data, at + ["slug"],
                        f"repeats the slug of case #{seen[slug] + 1}; slugs must be unique")
        seen[slug] = i
        ids = [p["id"] for p in case["parties"]]
        if len(set(ids)) != len(ids):
            raise _fail(source, data, at + ["parties"], "gives two parties the same id")
        for role, members in case["roles"].items():
            for j, member in enumerate(members):
                if member not in ids:
                    raise _fail(source, data, at + ["roles", role, j],
                                f"names party '{member}', which is not in this case's parties "
                                f"({quote_names(ids)})")
        roleless = [p for p in ids if not any(p in m for m in case["roles"].values())]
        if roleless:
            raise _fail(source, data, at + ["parties"], f"lists {quote_names(roleless)} without any role")
        for party in case["sizes"]["records"]:
            if party not in case["roles"]["input"]:
                raise _fail(source, data, at + ["sizes", "records", party], "is not an input party")
        n_in = case["sizes"]["input_parties"]
        if n_in is not None and n_in < len(case["roles"]["input"]):
            raise _fail(source, data, at + ["sizes", "input_parties"],
                        f"is {n_in}, fewer than the {len(case['roles']['input'])} input parties listed")
        _check_benchmark(case, data, source, at)
        _check_scores(case, data, source, at, names, rule)


def _check_benchmark(case: dict, data: dict, source: str, at: list) -> None:
    if case["benchmarked_here"]:
        if "not_benchmarked_reason" in case:
            raise _fail(source, data, at + ["not_benchmarked_reason"],
                        "is given although benchmarked_here is true; drop one of them")
        if case["benchmark_scenario"] not in RUNNABLE_SCENARIOS:
            raise _fail(source, data, at + ["benchmark_scenario"],
                        f"is '{case['benchmark_scenario']}', which confidata does not run "
                        f"(it runs {', '.join(sorted(RUNNABLE_SCENARIOS))})")
        if not RUNNABLE_TECHNIQUES & set(case["techniques"]):
            raise _fail(source, data, at + ["benchmarked_here"],
                        "is true but none of the case's techniques is one confidata runs; set it "
                        "to false and give not_benchmarked_reason")
    elif "benchmark_scenario" in case:
        raise _fail(source, data, at + ["benchmark_scenario"],
                    "is given although benchmarked_here is false; drop it")
    measured = case.get("measured_at")
    if measured is not None and not case["benchmarked_here"]:
        raise _fail(source, data, at + ["measured_at"], "is given although benchmarked_here is false")
    if measured is not None and measured["scenario"] != case["benchmark_scenario"]:
        raise _fail(source, data, at + ["measured_at", "scenario"],
                    f"is '{measured['scenario']}', not the case's benchmark_scenario "
                    f"'{case['benchmark_scenario']}'")


def _check_scores(case: dict, data: dict, source: str, at: list, names: list[str], rule) -> None:
    scores = case["scores"]
    missing = [n for n in names if n not in scores]
    unknown = [n for n in scores if n not in names]
    if missing or unknown:
        field = missing[0] if missing else unknown[0]
        raise _fail(source, data, at + ["scores", field],
                    "is missing: score every criterion 0-2" if missing
                    else "is not a criterion listed at the top of the catalogue")
    if "maturity" in scores and scores["maturity"] != _MATURITY_BY_STATUS[case["status"]]:
        raise _fail(source, data, at + ["scores", "maturity"],
                    f"is {scores['maturity']} but status '{case['status']}' means "
                    f"{_MATURITY_BY_STATUS[case['status']]}")
    if "benchmarkability" in scores and (scores["benchmarkability"] == 0) == case["benchmarked_here"]:
        raise _fail(source, data, at + ["scores", "benchmarkability"],
                    "contradicts benchmarked_here (0 exactly when confidata does not run the case)")
    derived = _derive(scores, rule)
    if case["priority"] != derived:
        raise _fail(source, data, at + ["priority"],
                    f"is '{case['priority']}' but the scores total {sum(scores.values())}, which "
                    f"means '{derived}' (high >= {rule['high']}, medium >= {rule['medium']})")


def _derive(scores: Mapping[str, int], rule: Mapping[str, int]) -> str:
    total = sum(scores.values())
    if total >= rule["high"]:
        return "high"
    return "medium" if total >= rule["medium"] else "low"


# -- building -------------------------------------------------------------------------------

def _build(data: dict, source: str) -> Catalogue:
    criteria = tuple(Criterion(c["name"], c["question"], dict(c["levels"])) for c in data["criteria"])
    cases = []
    for c in data["cases"]:
        parties = tuple(
            Party(p["id"], p["name"], p["kind"],
                  tuple(role for role in ("input", "computing", "result") if p["id"] in c["roles"][role]))
            for p in c["parties"]
        )
        cases.append(UseCase(
            slug=c["slug"], title=c["title"], country=c["country"], year=c["year"],
            purpose=c["purpose"].strip(), parties=parties, trust=c["trust"],
            trust_notes=c["trust_notes"].strip(), partitioning=c["partitioning"],
            statistic=c["statistic"].strip(),
            sizes=Sizes(c["sizes"]["input_parties"], dict(c["sizes"]["records"]), c["sizes"]["note"].strip()),
            status=c["status"], legal_notes=c["legal_notes"].strip(),
            organisational_notes=c["organisational_notes"].strip(),
            references=tuple(Reference(**{k: (v.strip() if isinstance(v, str) else v) for k, v in r.items()})
                             for r in c["references"]),
            techniques=tuple(c["techniques"]), reference_scenario=c["reference_scenario"],
            benchmarked_here=c["benchmarked_here"], benchmark_scenario=c.get("benchmark_scenario"),
            not_benchmarked_reason=(c.get("not_benchmarked_reason") or "").strip() or None,
            scores=dict(c["scores"]), priority=c["priority"], measured_at=c.get("measured_at"),
            benchmark_statistic=c.get("benchmark_statistic"),
        ))
    return Catalogue(criteria=criteria, priority_rule=dict(data["priority_rule"]),
                     vocabulary={k: dict(v) for k, v in data["vocabulary"].items()},
                     cases=tuple(cases), source=source)
