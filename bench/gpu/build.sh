#!/usr/bin/env bash
# Builds bcr with the `cuda` feature on a machine without a GPU or a CUDA
# install, for bench/gpu/run.sh on a GPU machine: nvcc comes from NVIDIA's
# PyPI wheels (CUDA 13.0), and the CUDA libraries that cudarc links against
# (libcuda, cuBLAS, cuBLASLt, cuRAND, NVRTC) are replaced at link time by
# empty stubs with the real SONAMEs; the real ones are found at run time on
# the GPU machine (driver + PyTorch's nvidia-* wheels).
#
#   bash bench/gpu/build.sh            # -> target/gpu/bins.tar.xz
#   CUDA_COMPUTE_CAP=80 bash bench/gpu/build.sh   # A100 instead of H100
#
# On a machine with a CUDA toolkit, `cargo build --release --features cuda`
# is all it takes; this script is for building where there is none.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tk=$root/target/cuda-toolkit
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}
if [ ! -x "$tk/bin/nvcc" ]; then
  mkdir -p "$tk/wheels"
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --platform manylinux_2_27_x86_64 --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
    -d "$tk/wheels" "nvidia-cuda-nvcc==13.0.*" "nvidia-cuda-runtime==13.0.*" "nvidia-cuda-crt==13.0.*" \
    "nvidia-nvvm==13.0.*" "nvidia-cuda-cccl==13.0.*"
  for w in "$tk"/wheels/*.whl; do python3 -m zipfile -e "$w" "$tk/unpacked"; done
  cp -r "$tk"/unpacked/nvidia/cu13/* "$tk/"
  chmod +x "$tk"/bin/* "$tk"/nvvm/bin/*
fi
mkdir -p "$tk/lib/stubs"
cudarc=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-0.19.* | head -1)
python3 "$root/bench/gpu/stubs.py" "$cudarc/src" "$tk/lib/stubs"
for pair in cuda:libcuda.so.1 cublas:libcublas.so.13 cublasLt:libcublasLt.so.13 curand:libcurand.so.10 nvrtc:libnvrtc.so.13; do
  gcc -shared -fPIC -w -Wl,-soname,"${pair#*:}" "$tk/lib/stubs/${pair%%:*}.c" -o "$tk/lib/stubs/lib${pair%%:*}.so"
done
ln -sf ../libcudart.so.13 "$tk/lib/stubs/libcudart.so"
export PATH=$tk/bin:$PATH CUDA_HOME=$tk CUDA_PATH=$tk CUDAFORGE_THREADS=${CUDAFORGE_THREADS:-$(nproc)}
cd "$root"
cargo fetch -q
cargo build --release -p bcr-cli --features cuda
cargo build --release -p bcr-model --features cuda --examples
test_bin=$(cargo test --release -p bcr-model --features cuda --test device --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "device" and m.get("executable"):
        print(m["executable"])')
out=$root/target/gpu
rm -rf "$out" && mkdir -p "$out/bin"
cp target/release/bcr target/release/examples/decode target/release/examples/train_step "$out/bin/"
cp "$test_bin" "$out/bin/device-tests"
strip "$out"/bin/*
# SmolLM2's tokenizer as HF files, for the random-weight SmolLM2 of run.sh
# (PYTHON: a venv with transformers and gguf, e.g. the one of bench/run-all.sh).
"${PYTHON:-python3}" -c 'from transformers import AutoTokenizer as T; import sys
T.from_pretrained(sys.argv[1], gguf_file=sys.argv[2]).save_pretrained(sys.argv[3])' \
  "$root/target/models" SmolLM2-135M-Instruct.Q4_1.gguf "$out/smollm2-tok"
tar -C "$out" -cJf "$out/bins.tar.xz" bin
ls -la "$out" "$out/bin"
