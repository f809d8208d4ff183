#!/usr/bin/env bash
# Fuzzes bcr_core's verifier (`fuzz/fuzz_targets/grade.rs`) for a fixed
# budget and fails on any crash. Usage: scripts/fuzz.sh [SECONDS] (default 60).
# cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain
# accept them. The seed corpus is the bundled benchmarks' gold answers.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1

corpus=fuzz/corpus/grade
mkdir -p "$corpus"
if [ -z "$(ls -A "$corpus")" ]; then
    python3 - "$corpus" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
golds = []
for line in open("data/benchmarks/math500.jsonl", encoding="utf-8"):
    golds.append(json.loads(line)["answer"])
for k, g in enumerate(golds):
    other = golds[(k * 7 + 3) % len(golds)]
    (out / f"seed{k:04d}").write_text(f"{g}\0The answer is $\\boxed{{{other}}}$.", encoding="utf-8")
PY
fi

cargo fuzz run grade "$corpus" -- -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048
