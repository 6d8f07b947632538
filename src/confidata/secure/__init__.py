"""Input privacy: statistics over data held by several parties, none of whom sees another's records.

``confidata.secure`` runs each party as its own process over TCP with TLS. A study file
(`load_study`) fixes the parties, the statistic, the public levels and bounds and the output
protection. Tables across three or more parties run on MPyC (Shamir secret sharing, honest
majority); intersections between two holders run on Diffie-Hellman PSI or on a helper that
matches keyed pseudonyms.

Modules: `study` (the study file), `certs` (TLS certificates), `explain` (what each party learns),
`outcome` (a party's report and output file), `runner` (starting local party processes).
Tables: `local` (checks and local sums), `scaling` (fixed-point plan), `engine` (MPyC runtime and
links), `mpyc_wire` (what MPyC parties send, never pickle), `protocol` (the secure table),
`protection` (small cells, DP noise), `plain` (the result type and the clear computation),
`party` (one party's process).
Models: `stat_spec` (the [regression] and [quantiles] sections), `statistics` (each statistic's
local step and protocol), `regression` (OLS, ridge, logistic solved on shares), `quantiles`
(exact quantiles by a secret search over a public grid), `model_demo` (their demo data).
Intersections: `identifiers` (normalisation), `psi_crypto` (hash to the curve, X25519, HMAC),
`psi_ecdh` and `psi_helper` (the two techniques), `psi` (result type, plain computation),
`channel` (framed TLS messages, never pickle), `peer_check` (the study check before anything is
computed, shared with the vertical table), `psi_party` (one holder's or the helper's process),
`psi_demo` (the demo's study and data).
Vertical tables: `vertical` (a holder's keys, codes and values; the plain table),
`vertical_join` (the join at the helper and the product on replicated shares), `vertical_party`
(one party's process: the join on `channel`, then exact cells and protection on MPyC),
`vertical_demo` (the demo's study and data), `vertical_regression` (OLS and ridge over two
holders' columns: the same join on products of their columns, then the horizontal solve),
`vertical_logistic` (logistic over two holders' columns: the joined units as shares, Newton
steps with a Chebyshev sigmoid on shares).
"""

import importlib

# The public names load on first use (PEP 562): `confidata.secure.local` brings pandas and
# `party` MPyC, and the command line imports this package at start-up for the demo scenarios'
# names only (tests/test_startup.py). `from confidata.secure import run_party` works as before.
_LAZY = {
    "make_certificates": "certs", "PartyFailure": "engine", "LocalAggregates": "local",
    "aggregate": "local", "PartyReport": "party", "run_party": "party", "TableResult": "plain",
    "plain_result": "plain", "FixedPointPlan": "scaling", "plan_for": "scaling", "Party": "study",
    "Study": "study", "load_study": "study", "parse_study": "study",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f"confidata.secure.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'confidata.secure' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "FixedPointPlan",
    "LocalAggregates",
    "Party",
    "PartyFailure",
    "PartyReport",
    "Study",
    "TableResult",
    "aggregate",
    "load_study",
    "make_certificates",
    "parse_study",
    "plain_result",
    "plan_for",
    "run_party",
]
