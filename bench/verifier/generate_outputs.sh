#!/usr/bin/env bash
# Real model outputs for the whole-response verifier corpus: SmolLM2-135M-Instruct
# (scripts/fetch-smollm2.sh) answers 64 MATH-500 and 64 GSM8K questions, asked
# plainly (no answer format requested, so most answers are free-form), greedy,
# at most 320 new tokens, with `bcr generate`. Writes
# bench/verifier/model-outputs/smollm2.jsonl ({"gold", "text", "model", "id"}),
# which bench/verifier/run.sh adds to the corpus as unlabelled rows.
# Usage: bench/verifier/generate_outputs.sh   (BCR_BIN: the bcr binary, default
# target/release/bcr)
set -euo pipefail
cd "$(dirname "$0")/../.."
bcr=${BCR_BIN:-target/release/bcr}
out=bench/verifier/model-outputs
tmp=target/bench-verifier
mkdir -p "$out" "$tmp"
gguf=$(bash scripts/fetch-smollm2.sh)

python3 - "$tmp/prompts.jsonl" "$tmp/golds.json" <<'PY'
import json, re, sys
prompts, golds = [], {}
for k, line in enumerate(open("data/benchmarks/math500.jsonl", encoding="utf-8")):
    if k % 7 == 0 and len(golds) < 64:
        r = json.loads(line)
        prompts.append({"id": f"math500-{k}", "prompt": r["problem"]})
        golds[f"math500-{k}"] = r["answer"]
for k, line in enumerate(open("data/benchmarks/gsm8k.jsonl", encoding="utf-8")):
    if k % 13 == 0 and len(golds) < 128:
        r = json.loads(line)
        prompts.append({"id": f"gsm8k-{k}", "prompt": r["question"]})
        golds[f"gsm8k-{k}"] = r["answer"].split("####")[-1].strip().replace(",", "")
with open(sys.argv[1], "w") as f:
    f.writelines(json.dumps(p) + "\n" for p in prompts)
json.dump(golds, open(sys.argv[2], "w"))
PY

"$bcr" generate --model "$gguf" --input "$tmp/prompts.jsonl" --temperature 0 --max-new-tokens 320 \
    --batch-size 32 --output "$tmp/smollm2-raw.jsonl"

python3 - "$tmp/smollm2-raw.jsonl" "$tmp/golds.json" "$out/smollm2.jsonl" <<'PY'
import json, sys
golds = json.load(open(sys.argv[2]))
with open(sys.argv[3], "w", encoding="utf-8") as f:
    for line in open(sys.argv[1], encoding="utf-8"):
        r = json.loads(line)
        row = {"id": r["id"], "gold": golds[r["id"]], "text": r["text"], "model": "smollm2-135m"}
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
PY
wc -l "$out/smollm2.jsonl"
