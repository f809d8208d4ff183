#!/usr/bin/env bash
# llama.cpp, bcr native and bcr f32 on the same GGUF, alternating in rounds
# (one after the other, batch 32 then 1, ROUNDS times), for side-by-side
# ratios on a machine whose load changes: each round's three rows ran
# within a minute or two of each other. Uses the binaries and prompts that
# bench/decode/llama.sh leaves in target/bench-decode (run it first).
#
#   LLAMA_PYTHON=/path/venv/bin/python THREADS=1 ROUNDS=2 NEW=64 bench/decode/alternate.sh
#
# With 2 threads on a machine where other work holds the cores, llama.cpp's
# threads wait on each other at every op (its barrier spins), so its
# figures collapse (20-42 tokens/s at batch 32 against 204 on a quiet
# machine); with THREADS=1 neither side waits on a descheduled thread.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
gguf=${BCR_SMOLLM2_GGUF:-$root/target/models/SmolLM2-135M-Instruct.Q4_1.gguf}
work=$root/target/bench-decode
python=${LLAMA_PYTHON:-$root/target/venvs/llama-avx512/bin/python}
threads=${THREADS:-1}
new=${NEW:-64}
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824
for round in $(seq 1 "${ROUNDS:-2}"); do
  for b in ${BATCHES:-32 1}; do
    echo "# round $round batch $b threads $threads new $new $(uptime)"
    "$python" "$here/llama_decode.py" "$gguf" "$work/prompts.jsonl" --batch "$b" --new "$new" --threads "$threads" 2>/dev/null
    for dt in native f32; do
      RAYON_NUM_THREADS=$threads "$work/bin/decode" "$gguf" "$work/prompts.jsonl" "$b" "$new" "$dt"
    done
  done
done
