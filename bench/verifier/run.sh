#!/usr/bin/env bash
# Verifier benchmark: bcr's `grade` vs Hugging Face Math-Verify on two labelled
# corpora, both verifiers on one thread, in one run:
#  1. gold answers (build_corpus.py): bundled benchmark golds against
#     equivalent and wrong rewrites, bare answers;
#  2. whole responses (build_responses.py): worked solutions boxed and
#     unboxed, GSM8K rationales, hand-written free-form responses, and real
#     model outputs from bench/verifier/model-outputs/*.jsonl (made by
#     generate_outputs.sh; unlabelled: agreement and speed only).
# Prints pairs/s, p50/p99 latency per pair, correct verdicts against the labels,
# agreement, agreement per kind of row, and every disagreement.
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
shopt -s nullglob
python3 "$here/build_responses.py" data/benchmarks crates/bcr-core/tests/fixtures/verifier/freeform.tsv \
    "$out/responses.jsonl" "$here"/model-outputs/*.jsonl
cargo build --release -q -p bcr-core --example grade_bench

for name in corpus responses; do
    echo "bcr on $name (release, 1 thread, median of 5 runs per pair)..."
    target/release/examples/grade_bench "$out/$name.jsonl" "$out/bcr-$name.jsonl" 5 > "$out/bcr-$name-summary.json"
    echo "Math-Verify on $name (1 thread, main thread)..."
    "$here/.venv/bin/python" "$here/math_verify_run.py" "$out/$name.jsonl" "$out/mv-$name.jsonl" \
        > "$out/mv-$name-summary.json"
done

{
    python3 "$here/compare.py" "$out/corpus.jsonl" "$out/bcr-corpus.jsonl" "$out/mv-corpus.jsonl" \
        "$out/bcr-corpus-summary.json" "$out/mv-corpus-summary.json" "gold answers (bare)"
    echo
    python3 "$here/compare.py" "$out/responses.jsonl" "$out/bcr-responses.jsonl" "$out/mv-responses.jsonl" \
        "$out/bcr-responses-summary.json" "$out/mv-responses-summary.json" "whole responses"
} | tee "$out/report.txt"
