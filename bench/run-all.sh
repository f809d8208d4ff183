#!/usr/bin/env bash
# The README's performance tables in one go, one benchmark after the other
# (run it on a quiet machine; about 15 minutes on 2 cores):
#   decode (SmolLM2, batch 1/8/32), train step (tiny, SmolLM2),
#   one GRPO step vs TRL (tiny at full size, SmolLM2 at G=4, 2 prompts, 128 tokens).
# PYTHON: an interpreter with torch, transformers, trl, gguf, accelerate,
# datasets (each script otherwise makes its own venv). THREADS: default 2.
set -euo pipefail
cd "$(dirname "$0")/.."
export THREADS=${THREADS:-2}
stamp() { date -u +%FT%TZ; uptime; }
stamp
echo "=== decode"; bash bench/decode/run.sh
stamp
echo "=== train_step tiny"; bash bench/train_step/run.sh tiny
echo "=== train_step smollm2"; bash bench/train_step/run.sh smollm2
stamp
echo "=== grpo_step tiny"; bash bench/grpo_step/run.sh tiny
stamp
echo "=== grpo_step smollm2 (G=4, 2 prompts, 128 tokens, 3 steps)"
G=4 PROMPTS=2 LEN=128 STEPS=3 bash bench/grpo_step/run.sh smollm2
stamp
