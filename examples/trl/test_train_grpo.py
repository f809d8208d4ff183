"""The TRL example trains for real (scripts/test-trl.sh runs this in CI).

From gym problems to TRL: `bcr data gym` -> `bcr data build --format trl`
(packs of N = 3, stratified) -> train_grpo.py (TRL's GRPOTrainer, the shipped
warm start, reward_funcs=[bcr.trl.reward], one shared max_completion_length)
for a few steps on the CPU. Asserted from what TRL itself wrote:

- the rewards vary within at least one GRPO group (so advantages are nonzero);
- TRL logged a nonzero gradient norm at every step;
- the saved weights differ from the warm start's;
- every reward TRL logged equals `bcr score` on the same pack and completion
  (with the length penalty too, from the completion token counts TRL passed).
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from collections import defaultdict

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
WARM_START = REPO / "assets" / "demo" / "warm-start"
BUDGET = 288  # tokens for the whole response to a pack of 3 (bcr demo's training budget)
STEPS = 3


@pytest.fixture(scope="module")
def bcr_bin() -> str:
    path = os.environ.get("BCR_BIN") or str(REPO / "target" / "debug" / "bcr")
    if not pathlib.Path(path).is_file():
        pytest.fail(f"no bcr binary at {path}: set BCR_BIN or run `cargo build -p bcr-cli`")
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory, bcr_bin):
    """Gym train problems packed 3 by 3 for TRL, and the same packs as `bcr pack` writes them."""
    d = tmp_path_factory.mktemp("data")
    gym = d / "gym-train.jsonl"
    run([bcr_bin, "data", "gym", "--split", "train", "--count", "48", "--seed", "0", "--output", gym])
    pack_args = ["--input", gym, "--n", "3", "--strategy", "stratified", "--seed", "0"]
    run([bcr_bin, "data", "build", "--format", "trl", *pack_args, "--output", d / "train.parquet"])
    run([bcr_bin, "pack", *pack_args, "--output", d / "packs.jsonl"])
    return d


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True, **kw)


def train(out: pathlib.Path, data: pathlib.Path, *extra: str) -> pathlib.Path:
    cmd = [
        sys.executable, HERE / "train_grpo.py", "--model", WARM_START, "--train", data / "train.parquet",
        "--out", out, "--steps", str(STEPS), "--num-generations", "8", "--packs-per-step", "2",
        "--micro-batch", "8", "--max-completion-length", str(BUDGET), "--threads", "2", *extra,
    ]
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env)
    if proc.returncode:
        pytest.fail(f"train_grpo.py exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    return out


def completions(out: pathlib.Path) -> pd.DataFrame:
    files = sorted((out / "completions").glob("completions_*.parquet"))
    assert len(files) == STEPS, f"TRL wrote {len(files)} completion tables, expected one per step"
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def text_of(message_list) -> str:
    """The user (prompt) or assistant (completion) content of a logged conversation."""
    return "\n".join(m["content"] for m in message_list)


def bcr_scores(bcr_bin, data, table: pd.DataFrame, *flags: str) -> list[dict]:
    """`bcr score` on the completions TRL logged, each with its pack (found by its prompt)."""
    rows = pd.read_parquet(data / "train.parquet")
    pack_of = {text_of(p): pid for p, pid in zip(rows["prompt"], rows["pack_id"])}
    lines = []
    for _, r in table.iterrows():
        line = {"pack_id": pack_of[text_of(r["prompt"])], "response": text_of(r["completion"])}
        if "bcr/response_tokens" in r:
            line["response_tokens"] = int(r["bcr/response_tokens"])
        lines.append(json.dumps(line))
    responses = data / "responses.jsonl"
    responses.write_text("\n".join(lines) + "\n")
    out = run([bcr_bin, "score", "--packs", data / "packs.jsonl", "--responses", responses, *flags]).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def assert_real_training(out: pathlib.Path, table: pd.DataFrame, reward_column: str):
    # Rewards vary within at least one group: a group is one step's completions of one prompt.
    groups = defaultdict(list)
    for _, r in table.iterrows():
        groups[(r["step"], text_of(r["prompt"]))].append(r[reward_column])
    assert all(len(g) == 8 for g in groups.values()), {k[0]: len(g) for k, g in groups.items()}
    varied = [k for k, g in groups.items() if max(g) > min(g)]
    assert varied, "every group had equal rewards: no advantage, no gradient"

    history = json.loads((out / "log_history.json").read_text())
    steps = [h for h in history if "grad_norm" in h]
    assert len(steps) == STEPS
    assert all(h["grad_norm"] > 0 for h in steps), [h["grad_norm"] for h in steps]
    assert any(h["frac_reward_zero_std"] < 1 for h in steps)

    before = load_file(WARM_START / "model.safetensors")
    after = load_file(out / "model" / "model.safetensors")
    common = sorted(set(before) & set(after))
    assert len(common) >= len(before) - 1, (sorted(before), sorted(after))  # lm_head may be tied
    changed = [k for k in common if not torch.equal(before[k], after[k])]
    assert changed, "no weight changed"
    return history, varied, changed


def test_trl_grpo_trains_on_bcr_packs_with_bcr_reward(tmp_path, data, bcr_bin):
    out = train(tmp_path / "run", data)
    table = completions(out)
    history, varied, changed = assert_real_training(out, table, "reward")

    scores = bcr_scores(bcr_bin, data, table)
    assert len(scores) == len(table) == STEPS * 16
    for (_, r), s in zip(table.iterrows(), scores):
        assert r["reward"] == pytest.approx(s["reward"], abs=1e-6), (r["completion"], s)
        assert r["bcr/accuracy"] == pytest.approx(s["accuracy"])
    # The prompts reached the model through the warm start's own chat template, and
    # what TRL logged as bcr/accuracy (the mean of the per-completion column) agrees.
    for h, step in zip([h for h in history if "grad_norm" in h], range(1, STEPS + 1)):
        rows = table[table["step"] == step]
        assert h["bcr/accuracy"] == pytest.approx(rows["bcr/accuracy"].mean(), abs=1e-6)
    print(f"\n{len(varied)} of {STEPS * 2} groups had varied rewards; {len(changed)} tensors changed; "
          f"grad_norm {[round(h['grad_norm'], 4) for h in history if 'grad_norm' in h]}; "
          f"reward {[round(h['reward'], 4) for h in history if 'grad_norm' in h]}")


def test_trl_grpo_with_the_length_penalty(tmp_path, data, bcr_bin):
    out = train(tmp_path / "run-lp", data, "--length-penalty", "1.0")
    table = completions(out)
    history, varied, changed = assert_real_training(out, table, "bcr_reward")

    # The token counts the reward used are the completion lengths TRL logged.
    for h, step in zip([h for h in history if "grad_norm" in h], range(1, STEPS + 1)):
        tokens = table[table["step"] == step]["bcr/response_tokens"]
        assert h["completions/mean_length"] == pytest.approx(tokens.mean())
        assert tokens.max() <= BUDGET
    scores = bcr_scores(bcr_bin, data, table, "--length-penalty", "1.0", "--budget", str(BUDGET))
    for (_, r), s in zip(table.iterrows(), scores):
        assert r["bcr_reward"] == pytest.approx(s["reward"], abs=1e-6), (r["completion"], s)
        assert s["length_penalty"] == pytest.approx(-r["bcr/response_tokens"] / BUDGET)
    print(f"\nlength penalty: {len(varied)} of {STEPS * 2} groups had varied rewards; {len(changed)} tensors "
          f"changed; grad_norm {[round(h['grad_norm'], 4) for h in history if 'grad_norm' in h]}; "
          f"mean length {[h['completions/mean_length'] for h in history if 'grad_norm' in h]}")
