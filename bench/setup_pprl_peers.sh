#!/usr/bin/env bash
# The peers of the PPRL benchmark (bench/pprl_bench.py), each in its own venv under bench/:
#   .venv-anonlink: Data61's clkhash (CLK encoding) + anonlink (Dice comparison, greedy
#                   one-to-one solving), the encoded-linkage peer (last released in 2023);
#   .venv-splink:   splink (clear-text probabilistic Fellegi-Sunter linkage on DuckDB), the
#                   quality ceiling for encoded linkage.
# Peers, never confidata dependencies. Not part of `make install`.
# Idempotent (a stamp file per venv records what was installed); FORCE=1 rebuilds.
set -uo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
status=0

setup() {  # setup NAME "PACKAGES..."
    local dir="$BENCH/$1" want="$2" stamp="$BENCH/$1/.bench-installed"
    if [[ -z "${FORCE:-}" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        echo "== $1: already set up ($want)"
        return 0
    fi
    [[ -n "${FORCE:-}" ]] && rm -rf "$dir"
    [[ -x "$dir/bin/python" ]] || "$PYTHON" -m venv "$dir" || return 1
    # shellcheck disable=SC2086
    if "$dir/bin/python" -m pip install --quiet $want; then
        echo "$want" > "$stamp"
        echo "== $1: ready"
    else
        echo "!! $1: pip could not install $want (see the messages above)" >&2
        return 1
    fi
}

setup .venv-anonlink "clkhash==0.18.3 anonlink==0.15.3 pandas" || status=1
setup .venv-splink "splink==5.0.0 pandas" || status=1
exit $status
