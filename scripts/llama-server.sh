#!/usr/bin/env bash
# A real OpenAI-compatible server on loopback for `bcr eval` tests and
# benchmarks: llama.cpp through the PyPI package `llama-cpp-python[server]`,
# serving the SmolLM2-135M-Instruct GGUF ($BCR_SMOLLM2_GGUF).
#
# Source it (`. scripts/llama-server.sh`) to get, in the calling shell:
#   BCR_TEST_ENDPOINT=http://127.0.0.1:PORT/v1   the server's base URL
#   BCR_LLAMA_PID                                its process id
#   bcr_llama_stop                               a function that stops it
# or run it (`bash scripts/llama-server.sh`) to start the server, print the
# `BCR_TEST_ENDPOINT=...` line and keep serving until Ctrl-C.
#
# Environment:
#   BCR_SMOLLM2_GGUF   the model file (required; scripts/fetch-smollm2.sh prints it)
#   BCR_LLAMA_VENV     the virtual environment to use or create
#                      (default: target/venvs/llama; built once, then reused)
#   BCR_LLAMA_PORT     port to listen on (default: a free one)
#   BCR_LLAMA_THREADS  decode threads (default: 2)
#
# llama.cpp is compiled from source at install time (several minutes on 2
# cores). Its default `-march=native` build crashes at the first decode on CPUs
# with AMX (see the llama.cpp notes), so it is built with GGML_NATIVE=OFF.
# The chat format is `chat_template.default`: the model's own Jinja template
# from the GGUF metadata, which keeps SmolLM2's default system prompt (the
# built-in "chatml" formatter would drop it).

_bcr_llama_main() {
  local root venv gguf port threads log
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  venv="${BCR_LLAMA_VENV:-$root/target/venvs/llama}"
  gguf="${BCR_SMOLLM2_GGUF:-}"
  if [ -z "$gguf" ] || [ ! -s "$gguf" ]; then
    echo "llama-server.sh: BCR_SMOLLM2_GGUF is unset or not a file ('$gguf'); run scripts/fetch-smollm2.sh" >&2
    return 1
  fi
  if ! "$venv/bin/python" -c 'import llama_cpp.server' >/dev/null 2>&1; then
    echo "llama-server.sh: building llama-cpp-python into $venv (several minutes)" >&2
    python3 -m venv "$venv" || return 1
    CMAKE_ARGS="-DGGML_NATIVE=OFF" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
      "$venv/bin/pip" install -q 'llama-cpp-python[server]==0.3.36' >&2 || return 1
  fi
  port="${BCR_LLAMA_PORT:-$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
  threads="${BCR_LLAMA_THREADS:-2}"
  log="${TMPDIR:-/tmp}/bcr-llama-server-$port.log"
  "$venv/bin/python" -m llama_cpp.server --model "$gguf" --host 127.0.0.1 --port "$port" \
    --n_ctx 4096 --n_threads "$threads" --n_threads_batch "$threads" \
    --chat_format chat_template.default --model_alias smollm2 >"$log" 2>&1 &
  BCR_LLAMA_PID=$!
  # Wait (bounded: 120 s) until the model is loaded and /v1/models answers.
  local i
  for i in $(seq 1 240); do
    if "$venv/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/v1/models', timeout=2)" >/dev/null 2>&1; then
      BCR_TEST_ENDPOINT="http://127.0.0.1:$port/v1"
      export BCR_TEST_ENDPOINT BCR_LLAMA_PID
      echo "BCR_TEST_ENDPOINT=$BCR_TEST_ENDPOINT"
      return 0
    fi
    if ! kill -0 "$BCR_LLAMA_PID" 2>/dev/null; then
      echo "llama-server.sh: the server exited; its log ($log):" >&2
      tail -20 "$log" >&2
      return 1
    fi
    sleep 0.5
  done
  echo "llama-server.sh: no answer from http://127.0.0.1:$port/v1/models after 120 s; log: $log" >&2
  kill "$BCR_LLAMA_PID" 2>/dev/null
  return 1
}

bcr_llama_stop() {
  if [ -n "${BCR_LLAMA_PID:-}" ]; then
    kill "$BCR_LLAMA_PID" 2>/dev/null || true
    wait "$BCR_LLAMA_PID" 2>/dev/null || true
    BCR_LLAMA_PID=""
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  _bcr_llama_main
  trap bcr_llama_stop EXIT INT TERM
  wait "$BCR_LLAMA_PID"
else
  _bcr_llama_main
fi
