#!/usr/bin/env bash
# Benchmark: bcr.verl.compute_score vs a Math-Verify reward (verl's own math
# reward), per call, on the same responses. Builds the wheel in release mode
# into bench/py_reward/.venv (gitignored) and prints one line per N.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv="$here/.venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q "maturin>=1.7,<2" "math-verify==0.9.0"
"$venv/bin/maturin" build --release -m "$root/crates/bcr-py/Cargo.toml" --interpreter "$venv/bin/python" \
  --compatibility linux --out "$here/.venv/wheels"
"$venv/bin/python" -m pip install -q --force-reinstall --no-deps --no-index --find-links "$here/.venv/wheels" bcr
cd "$here" && "$venv/bin/python" bench.py "$@"
