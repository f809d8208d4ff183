#!/usr/bin/env bash
# verl validates bcr's launch (no GPU, no training): installs verl from PyPI in a
# throwaway venv (target/venvs/verl), writes a verl dataset with
# `bcr data build --format verl`, runs each examples/verl/run_bcr_*.sh with
# Hydra's print-the-config flag (`--cfg job`: verl composes the config from the
# script's exact command line, refuses unknown keys, and exits without
# training), then verl_check.py checks that config with verl's config
# dataclasses and validate_config, loads the data through verl's RLHFDataset and
# scores hand-written responses through verl's reward loop against `bcr score`.
#
#   bash bench/scale_out/verl_check.sh            # output: bench/results/<date>-verl-check/
#
# Env: VERL_VERSION (default 0.9.1, the version the examples were validated
# against), BCR_BIN (default target/debug/bcr, built if missing), OUT (output folder).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
version="${VERL_VERSION:-0.9.1}"
venv="$root/target/venvs/verl"
out="${OUT:-$root/bench/results/$(date -u +%F)-verl-check}"
mkdir -p "$out"
exec > >(tee "$out/check.log") 2>&1

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import verl, sys; sys.exit(verl.__version__ != '$version')" 2>/dev/null; then
    start=$(date +%s)
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --upgrade pip
    "$venv/bin/python" -m pip install -q "verl==$version"
    echo "target/venvs/verl: verl $version installed in $(( $(date +%s) - start )) s"
fi
# The abi3 wheel scripts/test-python.sh built, else one built here.
wheels="$root/target/wheels-py"
if ! ls "$wheels"/bcr-*.whl >/dev/null 2>&1; then
    "$venv/bin/python" -m pip install -q "maturin>=1.7,<2"
    (cd "$root" && "$venv/bin/maturin" build --profile dev --strip -m crates/bcr-py/Cargo.toml \
        --interpreter "$venv/bin/python" --compatibility linux --out "$wheels")
fi
"$venv/bin/python" -m pip install -q --force-reinstall --no-deps --no-index --find-links "$wheels" bcr

bcr="${BCR_BIN:-$root/target/debug/bcr}"
[ -x "$bcr" ] || (cd "$root" && cargo build -p bcr-cli)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Data: 96 gym problems in packs of 3 (the warm start's tokenizer can read
# them); validation: GSM8K and MATH-500 at N = 1, as the recipe's --val-n 1.
"$bcr" data gym --split train --count 96 --seed 0 --output "$work/gym.jsonl"
"$bcr" data build --format verl --input "$work/gym.jsonl" --n 3 --strategy stratified --seed 0 \
    --output "$work/train.parquet" --val-benchmarks gsm8k,math500 --val-n 1 --val-output "$work/val.parquet"
"$bcr" pack --input "$work/gym.jsonl" --n 3 --strategy stratified --seed 0 --output "$work/packs.jsonl"

# `python3` as the scripts call it: records its argv, then runs verl's venv.
mkdir -p "$work/shim"
cat > "$work/shim/python3" <<SHIM
#!/usr/bin/env bash
printf '%s\0' "\$@" > "\$BCR_ARGV_FILE"
exec "$venv/bin/python" "\$@"
SHIM
chmod +x "$work/shim/python3"

export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
status=0
for name in 1p5b 4b; do
    echo "== examples/verl/run_bcr_$name.sh --cfg job (verl $version composes the config)"
    BCR_ARGV_FILE="$work/$name.argv" PATH="$work/shim:$PATH" MODEL_PATH="$root/assets/demo/warm-start" \
        TRAIN_FILES="$work/train.parquet" VAL_FILES="$work/val.parquet" \
        bash "$root/examples/verl/run_bcr_$name.sh" --cfg job > "$out/$name.job.yaml"
    echo "   composed: $(wc -l < "$out/$name.job.yaml") lines -> $out/$name.job.yaml"
    (cd "$work" && "$venv/bin/python" "$here/verl_check.py" --name "$name" --argv "$work/$name.argv" \
        --train "$work/train.parquet" --val "$work/val.parquet" --packs "$work/packs.jsonl" \
        --bcr "$bcr" --out "$out") || status=1
done
"$venv/bin/python" -m pip freeze > "$out/pip-freeze.txt"
echo "verl check: $([ $status = 0 ] && echo passed || echo FAILED) -> $out"
exit $status
