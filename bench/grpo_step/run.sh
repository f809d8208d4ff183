#!/usr/bin/env bash
# One GRPO step, side by side: `bcr train` vs TRL's GRPOTrainer, on CPU, in one
# run. Same model weights, same rendered prompts (GSM8K questions through
# `bcr prompt --model`, i.e. bcr's N = 1 prompt in the model's chat template),
# same G, same number of prompts, same max completion length, same sampling
# (temperature 1, no top-p/top-k), same completions per backward pass, same
# thread count; one optimizer step covers PROMPTS x G completions on both
# sides; no KL / reference model (bcr kl_coef = 0, TRL beta = 0), one epoch
# (bcr algo.epochs = 1, TRL num_iterations = 1), f32, no activation
# checkpointing (TRL's default gradient_checkpointing = True is turned off).
#
#   bench/grpo_step/run.sh [tiny|smollm2]
#
# tiny:    the gym warm start assets/demo/warm-start (Qwen3-style, 853K params)
# smollm2: target/models/SmolLM2-135M-Instruct.Q4_1.gguf (scripts/fetch-smollm2.sh),
#          dequantised to f32 on both sides
#
# Knobs (env): G (completions per prompt, default 8), PROMPTS (default 4),
# LEN (max completion tokens, default 256), STEPS (default 3; step 1 is
# warm-up and left out of the means), MICRO (completions per backward pass,
# default 2), THREADS (default 2: OMP/MKL/RAYON and torch.set_num_threads).
# PYTHON: an interpreter with torch, transformers, trl, gguf, accelerate,
# datasets (default target/venvs/bench, else a venv made in bench/grpo_step/.venv).
#
# Measured: bcr's per-step rollout_s / logprob_s / update_s / step_s from its
# metrics.jsonl; TRL's step wall time (TrainerCallback on_step_begin ->
# on_step_end, generation included) and the time inside model.generate.
# Rewards differ (bcr: its GSM8K reward, with filter_equal_groups off so the
# update always runs; TRL: a random reward): only time is compared. Neither
# side forces the full length: each stops a completion at EOS, so tokens
# generated per step are printed for both, and the ratio is also given per
# generated token.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
preset="${1:-smollm2}"
case "$preset" in
  tiny) model="$root/assets/demo/warm-start" ;;
  smollm2) model="$root/target/models/SmolLM2-135M-Instruct.Q4_1.gguf" ;;
  *) echo "error: unknown preset '$preset' (tiny|smollm2)" >&2; exit 1 ;;
esac
[ -e "$model" ] || { echo "error: $model is missing (smollm2: scripts/fetch-smollm2.sh)" >&2; exit 1; }
G="${G:-8}" PROMPTS="${PROMPTS:-4}" LEN="${LEN:-256}" STEPS="${STEPS:-3}" MICRO="${MICRO:-2}"
threads="${THREADS:-2}"
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$root/target/venvs/bench/bin/python" ]; then
    PYTHON="$root/target/venvs/bench/bin/python"
  else
    if [ ! -x "$here/.venv/bin/python" ]; then
      python3 -m venv "$here/.venv"
      "$here/.venv/bin/pip" install -q torch transformers trl gguf accelerate datasets
    fi
    PYTHON="$here/.venv/bin/python"
  fi
fi
# glibc's default malloc returns every large buffer to the kernel; candle
# allocates one per op. Both sides get the same setting (see bench/train_step).
export GLIBC_TUNABLES="glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=4294967296"
export OMP_NUM_THREADS="$threads" RAYON_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads"
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error PYTHONWARNINGS=ignore
(cd "$root" && cargo build -q --release -p bcr-cli)
bcr="$root/target/release/bcr"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

head -n "$PROMPTS" "$root/data/benchmarks/gsm8k.jsonl" > "$work/gsm8k.jsonl"
"$bcr" pack --input "$work/gsm8k.jsonl" --format gsm8k --n 1 --strategy sequential --output "$work/packs.jsonl" >/dev/null
"$bcr" prompt --packs "$work/packs.jsonl" --model "$model" --output "$work/prompts.jsonl" >/dev/null
cat > "$work/bcr.toml" <<EOF
[model]
path = "$model"
dtype = "f32"
device = "cpu"
[data]
path = "$work/gsm8k.jsonl"
format = "gsm8k"
n = [1]
strategy = "sequential"
budget = $LEN
budget_mode = "fixed-total"
[rollout]
group_size = $G
packs_per_step = $PROMPTS
temperature = 1.0
top_p = 1.0
top_k = 0
max_batch = 0
[algo]
kl_coef = 0.0
epochs = 1
filter_equal_groups = false
clip_low = 0.2
clip_high = 0.28
[optim]
lr = 1e-5
micro_batch = $MICRO
[run]
steps = $STEPS
save_every = 1000000
out_dir = "$work/run"
samples_per_step = 0
EOF

echo "preset=$preset G=$G prompts=$PROMPTS len=$LEN steps=$STEPS micro=$MICRO threads=$threads $(date -u +%FT%TZ)"
"$bcr" train --config "$work/bcr.toml" --quiet >/dev/null
trl_line="$("$PYTHON" "$here/trl_step.py" --model "$model" --prompts "$work/prompts.jsonl" \
  --G "$G" --len "$LEN" --steps "$STEPS" --micro "$MICRO" --threads "$threads" | tail -n 1)"

"$PYTHON" - "$preset" "$work/run/metrics.jsonl" "$trl_line" "$((PROMPTS * G))" <<'PY'
import json, sys
preset, metrics, trl, completions = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
rows = [json.loads(l) for l in open(metrics)]
skip = 1 if len(rows) > 1 else 0  # step 1 is warm-up when there are more
mean = lambda xs: sum(xs) / len(xs)
b = {k: mean([r[k] for r in rows[skip:]]) for k in ("rollout_s", "logprob_s", "update_s", "step_s")}
# tokens_per_problem is per response at N = 1
b_tok = mean([r["tokens_per_problem"] * completions for r in rows[skip:]])
t_step = mean(trl["step_s"][skip:])
t_gen = mean(trl["generate_s"][skip:])
t_tok = mean(trl["tokens_per_step"][skip:]) if trl["tokens_per_step"] else float("nan")
print(f"{'model':8} {'bcr step s (rollout/logprob/update)':36} {'TRL step s (generate)':22} "
      f"{'bcr tok/step':>12} {'TRL tok/step':>12} {'TRL/bcr':>8} {'per token':>9} {'bcr steps/h':>11} {'TRL steps/h':>11}")
print(f"{preset:8} {b['step_s']:8.2f} ({b['rollout_s']:.2f}/{b['logprob_s']:.2f}/{b['update_s']:.2f}){'':8} "
      f"{t_step:8.2f} ({t_gen:.2f}){'':6} {b_tok:12.0f} {t_tok:12.0f} {t_step / b['step_s']:8.2f} "
      f"{(t_step / t_tok) / (b['step_s'] / b_tok):9.2f} {3600 / b['step_s']:11.1f} {3600 / t_step:11.1f}")
print(f"(means over steps {skip + 1}..{len(rows)}; TRL/bcr > 1 means bcr is faster; 'per token' = "
      f"TRL s per generated token / bcr s per generated token)")
PY
