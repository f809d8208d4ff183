#!/usr/bin/env bash
# bcr eval's own overhead against a real OpenAI-compatible server at
# concurrency 32, measured two ways:
#  1. side by side with a minimal stdlib Python client (raw_client.py) sending
#     the same greedy requests (same prompts, same max_tokens) at the same
#     concurrency: wall(bcr) / wall(raw), alternating which runs first;
#  2. inside bcr: the time its own code spends per request (prompt rendering,
#     parsing, grading, writing samples.jsonl; `bcr_s` in metrics.jsonl) as a
#     share of the group's wall time.
# It also checks that both clients got identical responses (greedy decoding),
# i.e. that the server did the same work for both.
#
# usage: bench/eval_overhead/run.sh [PROBLEMS=64] [MAX_TOKENS=16] [REPS=2]
# Uses $BCR_TEST_ENDPOINT if set, else starts scripts/llama-server.sh
# (needs $BCR_SMOLLM2_GGUF). $BCR_BIN picks the bcr binary (default: a
# release build, built if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
limit=${1:-64}
max_tokens=${2:-16}
reps=${3:-2}
conc=32
bcr=${BCR_BIN:-target/release/bcr}
[ -x "$bcr" ] || cargo build --release -p bcr-cli >&2
if [ -z "${BCR_TEST_ENDPOINT:-}" ]; then
  . scripts/llama-server.sh
  trap bcr_llama_stop EXIT
fi
gsm8k=data/benchmarks/gsm8k.jsonl
tmp=$(mktemp -d)

run_raw() {
  python3 bench/eval_overhead/raw_client.py "$BCR_TEST_ENDPOINT" smollm2 "$gsm8k" "$limit" "$max_tokens" "$conc" "$tmp/raw$1.jsonl"
}
run_bcr() {
  local t0 t1
  t0=$(date +%s.%N)
  "$bcr" eval --endpoint "$BCR_TEST_ENDPOINT" --served-model smollm2 --benchmarks gsm8k --limit "$limit" \
    --n 1 --budget "$max_tokens" --concurrency "$conc" --out "$tmp/bcr$1" --quiet >/dev/null
  t1=$(date +%s.%N)
  python3 -c "print(f'{$t1 - $t0:.3f}')"
}

# Warm-up (model pages, server caches), not counted.
run_raw warm >/dev/null
echo "rep,raw_wall_s,bcr_wall_s,bcr_over_raw,bcr_own_s,bcr_group_wall_s,bcr_own_share_pct,identical_responses"
for r in $(seq 1 "$reps"); do
  if [ $((r % 2)) -eq 1 ]; then raw=$(run_raw "$r"); b=$(run_bcr "$r"); else b=$(run_bcr "$r"); raw=$(run_raw "$r"); fi
  python3 - "$tmp" "$r" "$raw" "$b" <<'PY'
import json, sys
tmp, r, raw, b = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
m = [json.loads(l) for l in open(f"{tmp}/bcr{r}/metrics.jsonl")]
own = sum(x["bcr_s"] for x in m); wall = sum(x["wall_s"] for x in m)
raw_txt = {x["id"]: x["text"] for x in map(json.loads, open(f"{tmp}/raw{r}.jsonl"))}
bcr_txt = {x["problem_ids"][0]: x["response"] for x in map(json.loads, open(f"{tmp}/bcr{r}/samples.jsonl"))}
same = sum(raw_txt[k] == bcr_txt.get(k) for k in raw_txt)
print(f"{r},{raw:.3f},{b:.3f},{b / raw:.4f},{own:.4f},{wall:.3f},{100 * own / wall:.3f},{same}/{len(raw_txt)}")
PY
done
rm -rf "$tmp"
