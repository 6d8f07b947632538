#!/usr/bin/env bash
# Virtual environments for the measure benchmark's peers (bench/measures_bench.py --peers):
#   bench/.venv-sdmetrics   sdmetrics (QualityReport: Column Shapes, Column Pair Trends)
#   bench/.venv-anonymeter  anonymeter (singling out, linkability, inference); it pins its own
#                           numpy/pandas/scikit-learn, so pip resolves them in this venv only.
# Idempotent (a stamp file records what was installed); FORCE=1 rebuilds. A venv that fails to
# install is reported and left out; the other still gets made.
set -uo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
status=0

make_venv() {
    local name="$1"; shift
    local dir="$BENCH/$name" want="$*" stamp="$BENCH/$name/.bench-installed"
    if [[ -z "${FORCE:-}" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        echo "== $name: already set up ($want)"
        return 0
    fi
    echo "== $name: installing $want"
    [[ -n "${FORCE:-}" ]] && rm -rf "$dir"
    [[ -x "$dir/bin/python" ]] || "$PYTHON" -m venv "$dir" || return 1
    "$dir/bin/python" -m pip install --quiet --upgrade pip || return 1
    if "$dir/bin/python" -m pip install --quiet "$@"; then
        echo "$want" > "$stamp"
    else
        echo "!! $name: pip could not install $want (see the messages above)" >&2
        return 1
    fi
}

make_venv .venv-sdmetrics sdmetrics || status=1
make_venv .venv-anonymeter anonymeter || status=1

echo
echo "== installed"
for pair in ".venv-sdmetrics:sdmetrics|pandas|numpy|scipy" \
            ".venv-anonymeter:anonymeter|pandas|numpy|scikit-learn|numba"; do
    name="${pair%%:*}" pkgs="${pair#*:}"
    if [[ -x "$BENCH/$name/bin/python" ]]; then
        echo "-- $name ($("$BENCH/$name/bin/python" -V 2>&1)):"
        "$BENCH/$name/bin/python" -m pip list --format=freeze 2>/dev/null \
            | grep -iE "^($pkgs)==" | sed 's/^/     /'
    fi
done
exit $status
