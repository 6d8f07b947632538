#!/usr/bin/env bash
# The peers of the DP benchmark (bench/dp_bench.py runs them
# through bench/peers/smartnoise_run.py): smartnoise-synth's MST and AIM in
# their own venv, bench/.venv-smartnoise. smartnoise-synth runs on the old mbi (< 2), so it can
# never share confidata's environment (which has mbi >= 2). Not part of `make install`.
# smartnoise-synth pulls in opacus and so torch: torch is pinned to the CPU build on disk (an
# unpinned torch downloads a multi-GB CUDA build). mbi<2 resolves to mbi 1.1.0 (JAX).
# Idempotent (a stamp file records what was installed); FORCE=1 rebuilds.
set -uo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
DIR="$BENCH/.venv-smartnoise"
WANT="smartnoise-synth==1.0.8 mbi<2 torch==2.13.0"
STAMP="$DIR/.bench-installed"

if [[ -z "${FORCE:-}" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
    echo "== .venv-smartnoise: already set up ($WANT)"
else
    [[ -n "${FORCE:-}" ]] && rm -rf "$DIR"
    [[ -x "$DIR/bin/python" ]] || "$PYTHON" -m venv "$DIR" || exit 1
    "$DIR/bin/python" -m pip install --quiet --upgrade pip || exit 1
    # shellcheck disable=SC2086
    if "$DIR/bin/python" -m pip install --quiet $WANT; then
        echo "$WANT" > "$STAMP"
        echo "== .venv-smartnoise: ready"
    else
        echo "!! .venv-smartnoise: pip could not install $WANT (see the messages above)" >&2
        exit 1
    fi
fi
"$DIR/bin/python" -m pip list --format=freeze 2>/dev/null \
    | grep -iE "^(smartnoise-synth|smartnoise-sql|mbi|jax|torch|opacus|pandas|numpy)==" | sed 's/^/     /'
