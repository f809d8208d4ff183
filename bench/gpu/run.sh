#!/usr/bin/env bash
# The GPU checks of bcr, run on a CUDA machine with PyTorch + transformers
# (the peer) and the binaries that bench/gpu/build.sh packs into
# target/gpu/bins.tar.xz. Each step has its own time limit and log; a
# failing step does not stop the others. Logs go to $WORK (one per step);
# $OUT (default target/gpu/out) gets logs.tgz, summary.jsonl (exit status
# and seconds per step), results.jsonl (every probe's JSON line) and
# machine.txt, refreshed after every step.
#
#   bash bench/gpu/build.sh                       # here, no GPU needed
#   OUT=/tmp/out bash bench/gpu/run.sh            # there
#
# Steps:
#   1. device tests (crates/bcr-model/tests/device.rs): logits against
#      transformers' fixtures, ragged prefill + cached decode and log-prob
#      gradients against the CPU, greedy generation equal to the CPU's,
#      bf16 against f32;
#   2. a random-weight checkpoint of SmolLM2-135M's architecture written by
#      transformers (same weights for both sides), with SmolLM2's tokenizer
#      (target/gpu/smollm2-tok, saved by build.sh from the GGUF);
#   3. decode tokens/s at batch 1/8/32/128, 256 new tokens, f32 and bf16:
#      bcr (crates/bcr-model/examples/decode.rs) and transformers `generate`;
#   4. one training step (forward + backward + AdamW, 8 x 512 tokens) on the
#      tiny Qwen3 config and on SmolLM2-135M: bcr against PyTorch eager;
#   5. `bcr generate --device cuda:0` on the demo warm start and
#      `bcr demo --quick` with training and evaluation on the GPU.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
res=${OUT:-$root/target/gpu/out}
out=${WORK:-/tmp/bcr-gpu-work}
mkdir -p "$res" "$out"
bin=$root/target/gpu/bin
[ -d "$bin" ] || tar -C "$root/target/gpu" -xJf "$root/target/gpu/bins.tar.xz"
python=${PYTHON:-python3}
dev=${DEVICE:-cuda:0}
batches=${BATCHES:-"1 8 32 128"}
new=${NEW_TOKENS:-256}

# The CUDA libraries bcr was linked against (by SONAME): the driver's
# libcuda and the cuBLAS/cuRAND/NVRTC/cudart of PyTorch's nvidia-* wheels.
site=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
for d in "$site"/nvidia/*/lib /usr/local/cuda/lib64 /usr/local/nvidia/lib64; do
  [ -d "$d" ] && export LD_LIBRARY_PATH=$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
done
export BCR_REPO_ROOT=$root # where the device tests find their fixtures
collect() {
  grep -h '^{' "$out"/decode-*.log "$out"/train-*.log >"$out/results.jsonl" 2>/dev/null
  cp "$out/summary.jsonl" "$out/results.jsonl" "$out/machine.txt" "$res/" 2>/dev/null
  tar -C "$out" -czf "$res/logs.tgz" --exclude prompts.jsonl . 2>/dev/null
}

step() { # name seconds command...
  local name=$1 secs=$2; shift 2
  local t0=$SECONDS
  echo "== $name" >&2
  timeout "$secs" "$@" >"$out/$name.log" 2>&1
  local rc=$?
  echo "{\"step\": \"$name\", \"rc\": $rc, \"seconds\": $((SECONDS - t0))}" >>"$out/summary.jsonl"
  tail -n 25 "$out/$name.log" >&2
  collect
  return 0
}

{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; uname -r; nproc
  "$python" -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'
  ldd "$bin/bcr" | grep -E 'cuda|cublas|curand|nvrtc|not found'; } >"$out/machine.txt" 2>&1
cat "$out/machine.txt" >&2

step device-tests 120 env BCR_TEST_DEVICE="$dev" "$bin/device-tests" --test-threads 1 --nocapture
step generate 60 "$bin/bcr" generate --model assets/demo/warm-start --device "$dev" --temperature 0 \
  --max-new-tokens 64 --prompt "Problem 1: 12 + 7 = ?"

smol=/tmp/bcr-smollm2-random
step make-smollm2 90 "$python" - "$smol" <<'PY'
import pathlib, shutil, sys, torch
from transformers import AutoConfig, AutoModelForCausalLM
out = pathlib.Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)
cfg = AutoConfig.from_pretrained("bench/train_step/configs/smollm2-135m.json")
AutoModelForCausalLM.from_config(cfg, dtype=torch.float32).save_pretrained(out, safe_serialization=True)
for f in pathlib.Path("target/gpu/smollm2-tok").iterdir():  # SmolLM2's own tokenizer (build.sh)
    shutil.copy(f, out / f.name)
print(sorted(p.name for p in out.iterdir()))
PY

"$python" - "$out/prompts.jsonl" <<'PY'
import json, sys
topics = ["prime numbers", "the water cycle", "binary search", "photosynthesis", "compound interest",
          "the Pythagorean theorem", "plate tectonics", "sorting algorithms"]
with open(sys.argv[1], "w") as f:
    for i in range(128):
        t = topics[i % len(topics)]
        f.write(json.dumps({"prompt": f"Question {i + 1}. You are a careful teacher preparing notes for a class "
            f"about {t}. Write a clear explanation that starts from first principles, gives one worked example "
            "with every intermediate step shown, points out the most common mistake students make, and ends "
            f"with a short exercise for the reader together with its full solution. Begin your notes on {t} now."}) + "\n")
PY

for dt in f32 bf16; do
  for b in $batches; do
    step "decode-bcr-$dt-b$b" 60 "$bin/decode" "$smol" "$out/prompts.jsonl" "$b" "$new" "$dt" "$dev"
  done
done
step decode-torch-f32 150 "$python" bench/decode/torch_decode.py "$smol" "$out/prompts.jsonl" --batch $batches \
  --new "$new" --device cuda --dtype float32
step decode-torch-bf16 150 "$python" bench/decode/torch_decode.py "$smol" "$out/prompts.jsonl" --batch $batches \
  --new "$new" --device cuda --dtype bfloat16

for m in tiny-qwen3 smollm2-135m; do
  c=bench/train_step/configs/$m.json
  step "train-bcr-$m" 90 "$bin/train_step" --config "$c" --batch 8 --seq 512 --steps 5 --warmup 2 --device "$dev"
  step "train-torch-eager-$m" 90 "$python" bench/train_step/torch_step.py --config "$c" --batch 8 --seq 512 \
    --steps 5 --warmup 2 --device cuda --attn eager
  step "train-torch-sdpa-$m" 90 "$python" bench/train_step/torch_step.py --config "$c" --batch 8 --seq 512 \
    --steps 5 --warmup 2 --device cuda --attn sdpa
done

step demo-quick 150 "$bin/bcr" demo --quick --out /tmp/bcr-demo-gpu --set "train.model.device=$dev"
cp /tmp/bcr-demo-gpu/report.md "$out/demo-quick-report.md" 2>/dev/null
(cd /tmp/bcr-demo-gpu 2>/dev/null && find . -name metrics.jsonl -o -name summary.json | tar -czf "$out/demo-quick-files.tgz" -T -)
collect
echo "done; results in $res" >&2
