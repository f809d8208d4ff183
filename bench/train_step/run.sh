#!/usr/bin/env bash
# Forward + backward + AdamW tokens/s: PyTorch eager vs bcr-model (candle),
# same config, same loss, same thread count, one after the other in one run.
#
#   bench/train_step/run.sh [tiny|smollm2] [BATCH] [SEQ] [STEPS]
#
# THREADS (default: all cores) sets torch's and rayon's thread counts.
# PYTHON may point at an interpreter that already has torch + transformers;
# otherwise a venv is made in bench/train_step/.venv from PyPI.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
preset="${1:-tiny}"
case "$preset" in
  tiny) config="$here/configs/tiny-qwen3.json"; batch="${2:-8}"; seq="${3:-512}"; steps="${4:-3}" ;;
  smollm2) config="$here/configs/smollm2-135m.json"; batch="${2:-2}"; seq="${3:-256}"; steps="${4:-2}" ;;
  *) echo "error: unknown preset '$preset' (tiny|smollm2)" >&2; exit 1 ;;
esac
threads="${THREADS:-$(nproc)}"
if [ -z "${PYTHON:-}" ]; then
  if [ ! -x "$here/.venv/bin/python" ]; then
    python3 -m venv "$here/.venv"
    "$here/.venv/bin/pip" install -q torch transformers safetensors
  fi
  PYTHON="$here/.venv/bin/python"
fi
# glibc's default malloc returns every large buffer to the kernel; candle
# allocates one per op. Keeping them (both sides get the same setting) was
# worth 1.5x in shared/notes/candle-cpu.md.
export GLIBC_TUNABLES="glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=4294967296"
export OMP_NUM_THREADS="$threads" RAYON_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads"
(cd "$root" && cargo build -q --release -p bcr-model --example train_step)
echo "config=$preset batch=$batch seq=$seq steps=$steps threads=$threads $(date -u +%FT%TZ)"
torch_line="$("$PYTHON" "$here/torch_step.py" --config "$config" --batch "$batch" --seq "$seq" --steps "$steps")"
echo "$torch_line"
ours_line="$("$root/target/release/examples/train_step" --config "$config" --batch "$batch" --seq "$seq" --steps "$steps")"
echo "$ours_line"
"$PYTHON" - "$torch_line" "$ours_line" <<'PY'
import json, sys
t, o = (json.loads(x) for x in sys.argv[1:3])
print(f"ratio bcr-model / pytorch tokens/s: {o['tokens_per_s'] / t['tokens_per_s']:.2f}")
PY
