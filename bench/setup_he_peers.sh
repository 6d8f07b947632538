#!/usr/bin/env bash
# The peers of the threshold-HE benchmark (bench/he_bench.py --peers runs them through
# bench/peers/he_peers_run.py): python-paillier (record-wise Paillier, one ciphertext per value)
# and TenSEAL (CKKS vectors, no threshold decryption) in their own venv, bench/.venv-he.
# Also bench/.venv-tno-dkg: TNO's distributed key generation, measured once for the note in
# RESULTS_SECURE.md (bench/peers/tno_dkg_party.py); it pins TNO's Paillier 3.x, which cannot sit
# beside confidata's 4.x. Peers, never confidata dependencies. Not part of `make install`.
# Idempotent (a stamp file records what was installed); FORCE=1 rebuilds.
set -uo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
DIR="$BENCH/.venv-he"
WANT="phe==1.5.0 tenseal==0.3.18 gmpy2"
STAMP="$DIR/.bench-installed"

if [[ -z "${FORCE:-}" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
    echo "== .venv-he: already set up ($WANT)"
else
    [[ -n "${FORCE:-}" ]] && rm -rf "$DIR"
    [[ -x "$DIR/bin/python" ]] || "$PYTHON" -m venv "$DIR" || exit 1
    # shellcheck disable=SC2086
    if "$DIR/bin/python" -m pip install --quiet $WANT; then
        echo "$WANT" > "$STAMP"
        echo "== .venv-he: ready"
    else
        echo "!! .venv-he: pip could not install $WANT (see the messages above)" >&2
        exit 1
    fi
fi

DKG="$BENCH/.venv-tno-dkg"
WANT_DKG="tno.mpc.protocols.distributed_keygen==4.3.0 tno.mpc.encryption_schemes.utils<0.14 gmpy2"
if [[ -z "${FORCE:-}" && -f "$DKG/.bench-installed" && "$(cat "$DKG/.bench-installed")" == "$WANT_DKG" ]]; then
    echo "== .venv-tno-dkg: already set up"
else
    [[ -n "${FORCE:-}" ]] && rm -rf "$DKG"
    [[ -x "$DKG/bin/python" ]] || "$PYTHON" -m venv "$DKG" || exit 1
    # utils < 0.14: later ones need tno.mpc.communication 5, which distributed_keygen 4.3.0 excludes
    # shellcheck disable=SC2086
    if "$DKG/bin/python" -m pip install --quiet $WANT_DKG; then
        echo "$WANT_DKG" > "$DKG/.bench-installed"
        echo "== .venv-tno-dkg: ready"
    else
        echo "!! .venv-tno-dkg: pip could not install $WANT_DKG" >&2
        exit 1
    fi
fi
