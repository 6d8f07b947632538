#!/usr/bin/env bash
# The peer of the PSI benchmark (bench/psi_bench.py --peer runs it through
# bench/peers/openmined_psi_run.py): OpenMined's PSI in its own venv, bench/.venv-psi.
# A peer, never a confidata dependency. Not part of `make install`.
# Idempotent (a stamp file records what was installed); FORCE=1 rebuilds.
set -uo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
DIR="$BENCH/.venv-psi"
WANT="openmined-psi==2.0.6"
STAMP="$DIR/.bench-installed"

if [[ -z "${FORCE:-}" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
    echo "== .venv-psi: already set up ($WANT)"
else
    [[ -n "${FORCE:-}" ]] && rm -rf "$DIR"
    [[ -x "$DIR/bin/python" ]] || "$PYTHON" -m venv "$DIR" || exit 1
    # shellcheck disable=SC2086
    if "$DIR/bin/python" -m pip install --quiet $WANT; then
        echo "$WANT" > "$STAMP"
        echo "== .venv-psi: ready"
    else
        echo "!! .venv-psi: pip could not install $WANT (see the messages above)" >&2
        exit 1
    fi
fi
