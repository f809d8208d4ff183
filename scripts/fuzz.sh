#!/usr/bin/env bash
# Fuzzes bcr_core's verifier and answer extraction (`fuzz/fuzz_targets/grade.rs`)
# for a fixed budget and fails on any crash, timeout or cost-limit breach.
# Usage: scripts/fuzz.sh [SECONDS] (default 60). cargo-fuzz needs nightly
# flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them.
#
# Seed corpus (written once into fuzz/corpus/grade, which is git-ignored):
# whole, long, realistic responses so that libFuzzer mutates inputs of
# several kilobytes (-max_len=8192, -len_control=0), not only short answers:
#  - the worked solutions of MATH-500 and Minerva (boxed answers, LaTeX,
#    `\[...\]` displays) and GSM8K (`#### N`), each after a gold answer;
#  - the same solutions with the box removed or the answer restated in
#    words (the free-form extraction paths), some wrapped in <think>...</think>;
#  - the hand-written pairs of crates/bcr-core/tests/fixtures/verifier/freeform.tsv;
#  - BCR-format packs of 2-3 labelled answers.
# At the end the script prints the longest input in the corpus and the run's
# execution count (from libFuzzer's log, kept in target/fuzz-grade.log).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
max_len=${FUZZ_MAX_LEN:-8192}

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1

corpus=fuzz/corpus/grade
mkdir -p "$corpus" target
if [ -z "$(ls -A "$corpus")" ]; then
    python3 - "$corpus" "$max_len" <<'PY'
import json, pathlib, re, sys
out, max_len = pathlib.Path(sys.argv[1]), int(sys.argv[2])
bench = pathlib.Path("data/benchmarks")
seeds = []

def rows(name):
    return [json.loads(l) for l in open(bench / name, encoding="utf-8")]

def unbox(s):
    # `\boxed{X}` -> `X` for single-level boxes (enough for seeds).
    return re.sub(r"\\boxed\{([^{}]*)\}", r"\1", s)

math = rows("math500.jsonl")
for k, r in enumerate(math):
    sol, gold = r["solution"], r["answer"]
    seeds.append(f"{gold}\0{sol}")
    if k % 2 == 0:
        seeds.append(f"{gold}\0<think>\n{sol}\n</think>\n\n{unbox(sol)}\nThe final answer is ${gold}$.")
    if k % 3 == 0:
        other = math[(k * 7 + 3) % len(math)]["answer"]
        seeds.append(f"{other}\0{unbox(sol)}")
for k, r in enumerate(rows("minerva_math.jsonl")):
    seeds.append(f"1\0{r['solution']}")
for k, r in enumerate(rows("gsm8k.jsonl")[:300]):
    ans = re.sub(r"<<[^>]*>>", "", r["answer"])
    gold = ans.split("####")[-1].strip()
    seeds.append(f"{gold}\0{ans}")
    seeds.append(f"{gold}\0{ans.split('####')[0]}So the answer is {gold}.")
for line in open("crates/bcr-core/tests/fixtures/verifier/freeform.tsv", encoding="utf-8"):
    f = line.rstrip("\n").split("\t")
    if len(f) == 4 and not line.startswith(("#", "gold\t")):
        seeds.append(f"{f[0]}\0{f[1].replace('⏎', chr(10))}")
for k in range(0, len(math) - 3, 3):
    pack = math[k:k + 3]
    body = "\n\n".join(f"### Problem {j + 1}\n{p['solution']}\nAnswer {j + 1}: \\boxed{{{p['answer']}}}"
                       for j, p in enumerate(pack))
    seeds.append(f"{pack[0]['answer']}\0{body}")
for k, s in enumerate(seeds):
    data = s.encode("utf-8")[:max_len]
    (out / f"seed{k:05d}").write_bytes(data)
print(f"{len(seeds)} seeds, longest {max(len(s.encode()) for s in seeds)} bytes", file=sys.stderr)
PY
fi

log=target/fuzz-grade.log
status=0
cargo fuzz run grade "$corpus" -- -max_total_time="$seconds" -max_len="$max_len" -len_control=0 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 2>&1 | tee "$log" | grep -E "^#|ERROR|SUMMARY|stat::" || status=$?
longest=$(find "$corpus" -type f -printf '%s\n' | sort -n | tail -1)
runs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
echo "fuzz: ${runs} runs in ${seconds} s; longest corpus input ${longest} bytes (max_len ${max_len})"
if grep -qE "ERROR: libFuzzer|SUMMARY: libFuzzer|panicked" "$log"; then
    echo "fuzz: crash, see $log and fuzz/artifacts/grade" >&2
    exit 1
fi
exit "$status"
