#!/usr/bin/env bash
# Decode throughput, side by side on one machine: bcr-model's `generate`
# (candle, this repo; the engine behind `bcr generate`, driven by
# crates/bcr-model/examples/decode.rs) against PyTorch transformers fp32 `generate`, both on the weights of
# SmolLM2-135M-Instruct.Q4_1.gguf dequantized to fp32, ~100-token prompts,
# NEW_TOKENS (256) greedy tokens with end-of-sequence ignored, batch 1/8/32,
# the same number of threads. Prints aggregate decode tokens/s (prompt pass
# excluded) and the ratio bcr / PyTorch. Also both with bf16 weights: bcr
# keeps f32 activations on the CPU (bf16 decode kernel), PyTorch runs
# everything in bf16.
#
#   bench/decode/run.sh                       # creates bench/decode/.venv
#   PYTHON=/path/venv/bin/python THREADS=2 BATCHES="1 8 32" bench/decode/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
gguf=${BCR_SMOLLM2_GGUF:-$root/target/models/SmolLM2-135M-Instruct.Q4_1.gguf}
threads=${THREADS:-2}
new=${NEW_TOKENS:-256}
batches=${BATCHES:-"1 8 32"}
[ -f "$gguf" ] || { echo "missing $gguf (scripts/fetch-smollm2.sh fetches it)" >&2; exit 1; }
python=${PYTHON:-}
if [ -z "$python" ]; then
  [ -x "$here/.venv/bin/python" ] || {
    python3 -m venv "$here/.venv"
    "$here/.venv/bin/pip" install -q torch transformers gguf accelerate numpy
  }
  python=$here/.venv/bin/python
fi
(cd "$root" && cargo build --release -q -p bcr-model --example decode --example bound)
probe=$root/target/release/examples/decode
# What `bcr`'s main does with mallopt: keep freed buffers instead of
# returning them to the kernel after every op (see shared notes on candle).
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824
work=$root/target/bench-decode
mkdir -p "$work"
: > "$work/bcr.jsonl"
"$python" - "$work/prompts.jsonl" <<'PY'
import json, sys
topics = ["prime numbers", "the water cycle", "binary search", "photosynthesis", "compound interest",
          "the Pythagorean theorem", "plate tectonics", "sorting algorithms"]
with open(sys.argv[1], "w") as f:
    for i in range(32):
        t = topics[i % len(topics)]
        text = (f"Question {i + 1}. You are a careful teacher preparing notes for a class about {t}. "
                "Write a clear explanation that starts from first principles, gives one worked example "
                "with every intermediate step shown, points out the most common mistake students make, "
                "and ends with a short exercise for the reader together with its full solution. Keep the "
                "tone friendly, use short paragraphs, and avoid jargon unless you define it first. "
                f"Begin your notes on {t} now.")
        f.write(json.dumps({"prompt": text}) + "\n")
PY
echo "threads=$threads new_tokens=$new model=$(basename "$gguf")"
OMP_NUM_THREADS=$threads "$python" "$here/torch_decode.py" "$gguf" "$work/prompts.jsonl" \
  --batch $batches --new "$new" --threads "$threads" 2>/dev/null | tee "$work/torch.jsonl"
OMP_NUM_THREADS=$threads "$python" "$here/torch_decode.py" "$gguf" "$work/prompts.jsonl" \
  --batch $batches --new "$new" --threads "$threads" --dtype bfloat16 2>/dev/null | tee "$work/torch-bf16.jsonl"
run_bcr() { # batch dtype -> decode tok/s
  RAYON_NUM_THREADS=$threads "$probe" "$gguf" "$work/prompts.jsonl" "$1" "$new" "$2" | tee -a "$work/bcr.jsonl" |
    sed 's/.*"decode_tok_s":\([0-9.]*\).*/\1/'
}
printf "\n%-6s %10s %10s %10s %10s %8s %8s %10s\n" batch pt-fp32 bcr-f32 pt-bf16 bcr-bf16 f32/pt bf16/pt bf16/pt32
for b in $batches; do
  pt=$(grep "\"batch\": $b," "$work/torch.jsonl" | sed 's/.*"decode_tok_s": \([0-9.]*\).*/\1/')
  ptb=$(grep "\"batch\": $b," "$work/torch-bf16.jsonl" | sed 's/.*"decode_tok_s": \([0-9.]*\).*/\1/')
  f32=$(run_bcr "$b" f32)
  bf16=$(run_bcr "$b" bf16)
  printf "%-6s %10.1f %10.1f %10.1f %10.1f %8.2f %8.2f %10.2f\n" "$b" "$pt" "$f32" "$ptb" "$bf16" \
    "$(echo "$f32 / $pt" | bc -l)" "$(echo "$bf16 / $ptb" | bc -l)" "$(echo "$bf16 / $pt" | bc -l)"
done

# Single stream against the memory-bandwidth bound, both in one process
# (crates/bcr-model/examples/bound.rs): each round decodes 64 tokens at
# batch 1 between two 0.3 s windows that read the model's own weights; the
# fraction is decode tokens/s over (window read bandwidth / weight bytes),
# median over rounds; "strict" uses the fastest single read pass instead.
printf "\n%-6s %10s %12s %14s %12s %9s %7s\n" dtype weight-MB window-GB/s best-pass-GB/s decode-tok/s fraction strict
for dt in f32 bf16; do
  RAYON_NUM_THREADS=$threads "$root/target/release/examples/bound" "$gguf" "$work/prompts.jsonl" "$dt" "${ROUNDS:-9}" 64 |
    tee "$work/bound-$dt.jsonl" | "$python" -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin]
rounds, summary = rows[:-1], rows[-1]
med = lambda k: statistics.median(r[k] for r in rounds)
print("%-6s %10.0f %12.1f %14.1f %12.1f %9.2f %7.2f  (rounds %.2f-%.2f)" % (rounds[0]["dtype"],
      rounds[0]["weight_mb_per_token"], med("read_gb_s"), med("best_pass_gb_s"), med("decode_tok_s"),
      summary["median_fraction"], summary["median_fraction_of_best_pass"], summary["min_fraction"],
      summary["max_fraction"]))'
done
