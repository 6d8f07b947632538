"""Threshold homomorphic encryption: many data holders, one aggregator, t of n key holders.

Hundreds of holders (enterprises, hospitals, municipalities) each send one encrypted table of
counts and totals; an aggregator that holds no key sums them under encryption; t of the n key
holders (the NSO and independent bodies) decrypt only the protected aggregate. No dealer ever
holds a key that decrypts: see `keys` for the construction on TNO's Paillier and why it is not
TNO's distributed key generation.

Modules: `config` (the study's [he] section), `packing` (cells in slots, the exactness bound),
`shares` (Shamir over Z_P), `keys` (key files), `submission` (a holder's encrypted table),
`aggregate` (the homomorphic sum, refusals), `release` (small cells and DP noise, who sees
what), `small_cells` (the small-cell rule on shares, no count opened), `keyholder` (keygen
and decryption as processes over TLS), `demo` (all of it on
127.0.0.1).
"""

from confidata.he.aggregate import Aggregate, aggregate_files, aggregate_submissions, load_aggregate
from confidata.he.config import HEStudy, load_he_study, parse_he_study
from confidata.he.keyholder import DecryptReport, KeygenReport, run_decrypt, run_keygen
from confidata.he.keys import PublicKey, load_public_key, load_secret_key
from confidata.he.packing import PackingPlan, packing_plan
from confidata.he.submission import encrypt_frame, load_submission, local_vector

__all__ = [
    "Aggregate",
    "DecryptReport",
    "HEStudy",
    "KeygenReport",
    "PackingPlan",
    "PublicKey",
    "aggregate_files",
    "aggregate_submissions",
    "encrypt_frame",
    "load_aggregate",
    "load_he_study",
    "load_public_key",
    "load_secret_key",
    "load_submission",
    "local_vector",
    "packing_plan",
    "parse_he_study",
    "run_decrypt",
    "run_keygen",
]
