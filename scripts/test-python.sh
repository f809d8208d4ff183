#!/usr/bin/env bash
# The Python package `bcr` (crates/bcr-py): builds the abi3 wheel with maturin
# into a fresh venv under target/venvs/py, builds the `bcr` binary (for
# `bcr data build` and `bcr serve`), and runs the package's pytest suite
# (with the official `openai` client for the `bcr serve` tests).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv="$root/target/venvs/py"
wheels="$root/target/wheels-py"

rm -rf "$venv" "$wheels"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q "maturin>=1.7,<2" "pytest>=7" "pyarrow>=14" "openai>=1.40,<3"

# The dev profile shares the compiled dependencies of `cargo test` (they are
# optimised there too); the wheel is abi3, one file for every CPython >= 3.9.
"$venv/bin/maturin" build --profile dev --strip -m crates/bcr-py/Cargo.toml --interpreter "$venv/bin/python" \
  --compatibility linux --out "$wheels"
"$venv/bin/python" -m pip install -q --no-index --find-links "$wheels" bcr

# The wheel alone in a venv that holds nothing else: it declares no
# dependencies and needs none, and the package README's examples (the page
# the package index shows) run as written.
bare="$root/target/venvs/py-bare"
rm -rf "$bare"
python3 -m venv "$bare"
"$bare/bin/python" -m pip install -q --no-index --find-links "$wheels" bcr
"$bare/bin/python" -m doctest crates/bcr-py/README.md
echo "README examples: $(grep -c '^>>> ' crates/bcr-py/README.md) doctest lines passed in a venv with only the wheel"

# The source distribution: maturin packs the Rust sources of the workspace
# crates it needs (bcr-core) beside pyproject.toml and the README.
"$venv/bin/maturin" sdist -m crates/bcr-py/Cargo.toml --out "$wheels"
"$venv/bin/python" - "$wheels" <<'PY'
import pathlib, sys, tarfile
sdist = next(pathlib.Path(sys.argv[1]).glob("bcr-*.tar.gz"))
names = tarfile.open(sdist).getnames()
for need in ("pyproject.toml", "README.md", "bcr-core/src/lib.rs", "python/bcr/verl.py", "PKG-INFO"):
    assert any(n.endswith(need) for n in names), f"{sdist.name} lacks {need}"
print(f"sdist: {sdist.name}, {len(names)} files")
PY

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
