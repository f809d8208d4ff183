#!/usr/bin/env bash
# Throughput/latency/accuracy benchmark of `bcr serve`'s N policies under
# open-loop Poisson load (see bench/serve/README.md).
#
# For each policy: start `bcr serve` on a free loopback port, wait for
# /health, run bench/serve/loadgen.py at every offered rate (one raw JSONL per
# policy and rate), stop the server with SIGTERM. Then bench/serve/summarize.py
# writes summary.md, summary.json and the plots.
#
# Environment (all optional):
#   BCR_BIN        bcr binary            (default: target/release/bcr, built if missing)
#   MODEL          --model of the native backend (default: runs/demo/bcr-n3-s0/model)
#   ENDPOINT       instead of MODEL: an OpenAI-compatible upstream (passed as --endpoint)
#   SERVED_MODEL   with ENDPOINT: --served-model (default: default)
#   PROBLEMS       JSONL with id, question, answer (default: runs/demo/tasks/gym-test.jsonl)
#   LIMIT          number of problems (default: 480)
#   RATES          offered rates in req/s, space-separated (default: "30 60 90 120 150",
#                  sized for the demo model on this 2-core CPU, where the knees
#                  fell between 75 and 135 on 2026-12-08; pick rates that bracket
#                  each policy's knee for other models)
#   DURATION       seconds of load per rate (default: 120)
#   COUNT          instead of DURATION: requests per rate (with LIMIT=COUNT every
#                  problem exactly once, in order, so accuracy compares with
#                  `bcr eval`'s on the same problems)
#   SLO_MS         p95 target in ms, for adaptive and the summary (default: 2000)
#   POLICIES       space-separated among passthrough fixed:K adaptive curve:SUMMARY
#                  (passthrough = `--n fixed:1`: every question alone, with the
#                  BCR N = 1 prompt; not `x-bcr-pack: off`, which on the native
#                  backend sends the bare question with no BCR prompt)
#                  (default: "passthrough fixed:2 fixed:3 fixed:4 fixed:8 adaptive")
#   TEMPERATURE    `temperature` of every request (default: unset = greedy; 1.0 is
#                  the demo's `bcr eval` setting, to compare accuracy with it)
#   EVAL_SUMMARY   a `bcr eval` summary.json of the same model: summary.md then compares
#                  each fixed N with it (accuracy and tokens, in standard errors)
#   MAX_N          --max-n (default: 8)
#   BUDGET         --budget of a pack (default: 256, with BUDGET_MODE per-problem:
#                  the setting of the demo's `bcr eval`, runs/demo/eval/*/config.toml)
#   BUDGET_MODE    --budget-mode: total or per-problem (default: per-problem)
#   MAX_WAIT_MS    --max-wait-ms (default: bcr serve's)
#   SERVE_ARGS     extra arguments for bcr serve (e.g. "--concurrency 8")
#   OUT            output directory (default: bench/results/<UTC date>-serve)
#   VENV           Python venv with httpx + matplotlib (default: target/venvs/serve-bench, created if missing)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

bcr=${BCR_BIN:-target/release/bcr}
model=${MODEL:-runs/demo/bcr-n3-s0/model}
problems=${PROBLEMS:-runs/demo/tasks/gym-test.jsonl}
limit=${LIMIT:-480}
rates=${RATES:-"30 60 90 120 150"}
duration=${DURATION:-120}
slo_ms=${SLO_MS:-2000}
policies=${POLICIES:-"passthrough fixed:2 fixed:3 fixed:4 fixed:8 adaptive"}
max_n=${MAX_N:-8}
budget=${BUDGET:-256}
budget_mode=${BUDGET_MODE:-per-problem}
out=${OUT:-bench/results/$(date -u +%Y-%m-%d)-serve}
venv=${VENV:-target/venvs/serve-bench}

[ -x "$bcr" ] || cargo build --release -p bcr-cli >&2
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q httpx matplotlib
fi
py="$venv/bin/python"
mkdir -p "$out/raw" "$out/logs"

free_port() {
  "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

backend_args() {
  if [ -n "${ENDPOINT:-}" ]; then
    echo --endpoint "$ENDPOINT" --served-model "${SERVED_MODEL:-default}"
  else
    echo --model "$model"
  fi
}

policy_args() {
  case "$1" in
    passthrough) echo --n fixed:1 ;;
    *) echo --n "$1" ;;
  esac
}

wait_health() {
  local url=$1 pid=$2
  for _ in $(seq 1 600); do
    kill -0 "$pid" 2>/dev/null || { echo "bcr serve exited before /health answered" >&2; return 1; }
    "$py" -c "import httpx,sys; sys.exit(httpx.get('$url/health', timeout=1).status_code != 200)" 2>/dev/null && return 0
    sleep 0.5
  done
  echo "bcr serve: no /health after 300 s" >&2
  return 1
}

run_policy() {
  local policy=$1 name port pid base
  name=${policy//[:\/]/-}
  port=$(free_port)
  # shellcheck disable=SC2046,SC2086
  "$bcr" serve --port "$port" $(backend_args) $(policy_args "$policy") --max-n "$max_n" \
    --slo-ms "$slo_ms" --budget "$budget" --budget-mode "$budget_mode" \
    ${MAX_WAIT_MS:+--max-wait-ms "$MAX_WAIT_MS"} ${SERVE_ARGS:-} >"$out/logs/$name.log" 2>&1 &
  pid=$!
  server_pid=$pid
  base="http://127.0.0.1:$port"
  wait_health "$base" "$pid" || { kill "$pid" 2>/dev/null; return 1; }
  mkdir -p "$out/raw/$name"
  for rate in $rates; do
    "$py" bench/serve/loadgen.py --url "$base/v1" --problems "$problems" --limit "$limit" \
      --rate "$rate" $(if [ -n "${COUNT:-}" ]; then echo --count "$COUNT"; else echo --duration "$duration"; fi) ${TEMPERATURE:+--temperature "$TEMPERATURE"} --bcr "$bcr" \
      --out "$out/raw/$name/rate-$rate.jsonl"
  done
  "$py" -c "import httpx; print(httpx.get('$base/metrics').text)" >"$out/logs/$name.metrics.txt" 2>/dev/null || true
  kill -TERM "$pid"
  wait "$pid" || echo "bcr serve ($policy) exited with status $?" >&2
  server_pid=
}

server_pid=
# a failed cell must not leave a server running
trap '[ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null' EXIT

{
  echo "date: $(date -u +%FT%TZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "bcr: $bcr ($("$bcr" --version))"; echo "backend: $(backend_args)"; echo "problems: $problems (limit $limit)"
  echo "rates: $rates"; echo "duration: ${COUNT:+$COUNT requests, not }$duration s"; echo "slo_ms: $slo_ms"; echo "temperature: ${TEMPERATURE:-greedy}"; echo "policies: $policies"
  echo "max_n: $max_n"; echo "budget: $budget $budget_mode"; echo "max_wait_ms: ${MAX_WAIT_MS:-default}"; echo "serve_args: ${SERVE_ARGS:-}"
  echo "cpu: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
} >"$out/config.txt"

for policy in $policies; do
  echo "== $policy" >&2
  run_policy "$policy"
done
"$py" bench/serve/summarize.py "$out" --slo-ms "$slo_ms" ${EVAL_SUMMARY:+--eval "$EVAL_SUMMARY"}
echo "results in $out" >&2
