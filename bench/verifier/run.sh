#!/usr/bin/env bash
# Verifier benchmark: bcr's `grade` vs Hugging Face Math-Verify on the same
# labelled corpus (built from the bundled benchmark gold answers), both on one
# thread, in one run. Prints pairs/s, p50/p99 latency per pair, correct
# verdicts against the labels, agreement, and every disagreement.
# Usage: bench/verifier/run.sh   (results under target/bench-verifier/)
set -euo pipefail
cd "$(dirname "$0")/../.."
here=bench/verifier
out=target/bench-verifier
mkdir -p "$out"

if [ ! -x "$here/.venv/bin/python" ]; then
    python3 -m venv "$here/.venv"
fi
"$here/.venv/bin/pip" install -q "math-verify==0.9.*"

python3 "$here/build_corpus.py" data/benchmarks "$out/corpus.jsonl"
cargo build --release -q -p bcr-core --example grade_bench

echo "bcr (release, 1 thread, median of 5 runs per pair)..."
target/release/examples/grade_bench "$out/corpus.jsonl" "$out/bcr.jsonl" 5 > "$out/bcr-summary.json"
echo "Math-Verify (1 thread, main thread)..."
"$here/.venv/bin/python" "$here/math_verify_run.py" "$out/corpus.jsonl" "$out/mv.jsonl" > "$out/mv-summary.json"

python3 "$here/compare.py" "$out/corpus.jsonl" "$out/bcr.jsonl" "$out/mv.jsonl" \
    "$out/bcr-summary.json" "$out/mv-summary.json" | tee "$out/report.txt"
