"""Input privacy: statistics over data held by several parties, none of whom sees another's records.

``confidata.secure`` runs each party as its own process (`run_party`) with MPyC (Shamir secret
sharing, honest majority, at least 3 parties) over TCP with TLS. A study file (`load_study`)
fixes the parties, the statistic, the public levels and bounds and the output protection.

Modules: `study` (the study file), `certs` (TLS certificates), `local` (checks and local sums),
`scaling` (fixed-point plan), `engine` (MPyC runtime and links), `protocol` (the secure table),
`protection` (small cells, DP noise), `plain` (the result type and the clear computation),
`party` (one party's process), `runner` (the demo: many parties as subprocesses).
"""

from confidata.secure.certs import make_certificates
from confidata.secure.engine import PartyFailure
from confidata.secure.local import LocalAggregates, aggregate
from confidata.secure.party import PartyReport, run_party
from confidata.secure.plain import TableResult, plain_result
from confidata.secure.scaling import FixedPointPlan, plan_for
from confidata.secure.study import Party, Study, load_study, parse_study

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
