#!/usr/bin/env bash
# The TRL example (examples/trl) for real: TRL's GRPOTrainer trains the shipped
# warm start on `bcr data build --format trl` packs with bcr.trl.reward, on the
# CPU, and examples/trl/test_train_grpo.py checks that it trained and that every
# reward equals `bcr score`'s.
#
# The venv target/venvs/trl holds the pinned torch/transformers/trl stack of
# examples/trl/requirements.txt; it is rebuilt only when that file changes
# (first install: ~2 GB of wheels, about 2 minutes here). The bcr wheel comes
# from target/wheels-py (scripts/test-python.sh builds it; this script builds
# it if it is missing). BCR_BIN: the `bcr` binary (default target/debug/bcr).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv="$root/target/venvs/trl"
req="$root/examples/trl/requirements.txt"
stamp="$venv/.requirements.sha256"
wheels="$root/target/wheels-py"

want=$(sha256sum < "$req" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    start=$(date +%s)
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --upgrade pip
    "$venv/bin/python" -m pip install -q -r "$req"
    echo "$want" > "$stamp"
    echo "target/venvs/trl: installed in $(( $(date +%s) - start )) s"
fi

if ! ls "$wheels"/bcr-*.whl >/dev/null 2>&1; then
    "$venv/bin/python" -m pip install -q "maturin>=1.7,<2"
    "$venv/bin/maturin" build --profile dev --strip -m crates/bcr-py/Cargo.toml --interpreter "$venv/bin/python" \
        --compatibility linux --out "$wheels"
fi
"$venv/bin/python" -m pip install -q --force-reinstall --no-deps --no-index --find-links "$wheels" bcr

if [ -z "${BCR_BIN:-}" ]; then
    cargo build -p bcr-cli
    BCR_BIN="$root/target/debug/bcr"
fi
export BCR_BIN HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
# From the example's folder, so that `import bcr` finds the installed wheel.
cd examples/trl
"$venv/bin/python" -m pytest -q -p no:cacheprovider -s test_train_grpo.py
