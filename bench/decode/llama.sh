#!/usr/bin/env bash
# bcr against llama.cpp on the same GGUF file, side by side in one run:
# SmolLM2-135M-Instruct.Q4_1.gguf, the ~100-token prompts of run.sh, NEW_TOKENS
# (256) greedy tokens with end-of-sequence ignored, batch 1 and 32, the same
# number of threads. llama.cpp computes on the file's quantised blocks; bcr
# runs `native` (the same blocks, `kernels::quant`), bf16 and f32 (dequantised
# at load). Prints decode and prefill tokens/s, the resident memory once the
# model is loaded, the ratios bcr / llama.cpp, and then the bandwidth bound
# of the native path (examples/bound.rs: bytes of the quantised weights per
# token).
#
#   bench/decode/llama.sh                 # builds target/venvs/llama-avx512 once
#   LLAMA_PYTHON=/path/venv/bin/python THREADS=2 BATCHES="1 32" bench/decode/llama.sh
#
# llama.cpp is llama-cpp-python 0.3.36 from PyPI, compiled at install time
# (several minutes on 2 cores) with its AVX-512, VNNI and BF16 kernels. Not
# GGML_NATIVE=ON: on CPUs that report AMX, that build crashes at the first
# decode here (see the llama.cpp notes), so the flags are explicit and AMX off.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
gguf=${BCR_SMOLLM2_GGUF:-$root/target/models/SmolLM2-135M-Instruct.Q4_1.gguf}
threads=${THREADS:-2}
new=${NEW_TOKENS:-256}
batches=${BATCHES:-"1 32"}
[ -f "$gguf" ] || { echo "missing $gguf (scripts/fetch-smollm2.sh fetches it)" >&2; exit 1; }
python=${LLAMA_PYTHON:-}
if [ -z "$python" ]; then
  venv=$root/target/venvs/llama-avx512
  if ! "$venv/bin/python" -c 'import llama_cpp' >/dev/null 2>&1; then
    python3 -m venv "$venv"
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
-DGGML_AVX_VNNI=ON -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON" \
      CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" "$venv/bin/pip" install -q 'llama-cpp-python==0.3.36'
  fi
  python=$venv/bin/python
fi
# CARGO_ARGS: extra cargo arguments (e.g. --config for a shared target dir).
# shellcheck disable=SC2086
(cd "$root" && cargo build --release -q ${CARGO_ARGS:-} -p bcr-model --example decode --example bound)
release=${CARGO_TARGET_DIR:-$root/target}/release/examples
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824
work=$root/target/bench-decode
mkdir -p "$work/bin"
# Copies, so that another build of the same target dir cannot swap them mid-run.
cp "$release/decode" "$release/bound" "$work/bin/"
probe=$work/bin/decode
: > "$work/llama-side.jsonl"
# The prompts of run.sh (written by it; the same generator inline here).
python3 - "$work/prompts.jsonl" <<'PY'
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
echo "threads=$threads new_tokens=$new model=$(basename "$gguf") llama.cpp=$("$python" -c 'import llama_cpp; print(llama_cpp.__version__)')"
field() { sed "s/.*\"$1\": *\([0-9.e+-]*\).*/\1/"; }
for b in $batches; do
  "$python" "$here/llama_decode.py" "$gguf" "$work/prompts.jsonl" --batch "$b" --new "$new" --threads "$threads" \
    2>/dev/null | tee -a "$work/llama-side.jsonl"
  for dt in native bf16 f32; do
    RAYON_NUM_THREADS=$threads "$probe" "$gguf" "$work/prompts.jsonl" "$b" "$new" "$dt" | tee -a "$work/llama-side.jsonl"
  done
done
printf "\n%-6s %-10s %12s %12s %12s %10s %10s\n" batch impl decode-tok/s prefill-tok/s rss-MB decode/llama prefill/llama
for b in $batches; do
  ll=$(grep '"impl": "llama.cpp"' "$work/llama-side.jsonl" | grep "\"batch\": $b,")
  ld=$(echo "$ll" | field decode_tok_s); lp=$(echo "$ll" | field prefill_tok_s)
  printf "%-6s %-10s %12.1f %12.1f %12.0f\n" "$b" llama.cpp "$ld" "$lp" "$(echo "$ll" | field rss_mb_loaded)"
  for dt in native bf16 f32; do
    row=$(grep "\"impl\":\"bcr-$dt\"" "$work/llama-side.jsonl" | grep "\"batch\":$b," | tail -1)
    d=$(echo "$row" | sed 's/.*"decode_tok_s":\([0-9.e+-]*\).*/\1/'); p=$(echo "$row" | sed 's/.*"prefill_tok_s":\([0-9.e+-]*\).*/\1/')
    r=$(echo "$row" | sed 's/.*"rss_mb_loaded":\([0-9.e+-]*\).*/\1/')
    printf "%-6s %-10s %12.1f %12.1f %12.0f %10.2f %10.2f\n" "$b" "bcr-$dt" "$d" "$p" "$r" \
      "$(echo "$d / $ld" | bc -l)" "$(echo "$p / $lp" | bc -l)"
  done
done

# The native path against the bandwidth bound (bytes of the quantised
# weights per token), as run.sh measures f32 and bf16.
printf "\n%-6s %10s %12s %14s %12s %9s %7s\n" dtype weight-MB window-GB/s best-pass-GB/s decode-tok/s fraction strict
RAYON_NUM_THREADS=$threads "$work/bin/bound" "$gguf" "$work/prompts.jsonl" native "${ROUNDS:-9}" 64 |
  tee "$work/bound-native.jsonl" | python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin]
rounds, summary = rows[:-1], rows[-1]
med = lambda k: statistics.median(r[k] for r in rounds)
print("%-6s %10.0f %12.1f %14.1f %12.1f %9.2f %7.2f  (rounds %.2f-%.2f)" % (rounds[0]["dtype"],
      rounds[0]["weight_mb_per_token"], med("read_gb_s"), med("best_pass_gb_s"), med("decode_tok_s"),
      summary["median_fraction"], summary["median_fraction_of_best_pass"], summary["min_fraction"],
      summary["max_fraction"]))'
