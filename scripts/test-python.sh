#!/usr/bin/env bash
# The Python package `bcr` (crates/bcr-py): builds the abi3 wheel with maturin
# into a fresh venv under target/venvs/py, builds the `bcr` binary (for
# `bcr data build`), and runs the package's pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv="$root/target/venvs/py"
wheels="$root/target/wheels-py"

rm -rf "$venv" "$wheels"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q "maturin>=1.7,<2" "pytest>=7" "pyarrow>=14"

# The dev profile shares the compiled dependencies of `cargo test` (they are
# optimised there too); the wheel is abi3, one file for every CPython >= 3.9.
"$venv/bin/maturin" build --profile dev --strip -m crates/bcr-py/Cargo.toml --interpreter "$venv/bin/python" \
  --compatibility linux --out "$wheels"
"$venv/bin/python" -m pip install -q --no-index --find-links "$wheels" bcr

# `scripts/test.sh` passes the binary that `cargo test --workspace` built:
# `cargo build -p bcr-cli` resolves features without the dev-dependencies and
# would compile every dependency a second time (minutes, and gigabytes).
if [ -z "${BCR_BIN:-}" ]; then
    cargo build -p bcr-cli
    BCR_BIN="$root/target/debug/bcr"
fi
export BCR_BIN
# Run from the tests folder so that `import bcr` finds the installed wheel,
# not the source tree.
cd crates/bcr-py/tests
"$venv/bin/python" -m pytest -q -p no:cacheprovider .
