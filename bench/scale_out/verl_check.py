"""verl validates bcr's launch: run by bench/scale_out/verl_check.sh, in a
throwaway venv with verl from PyPI. Nothing here trains; see the report it
writes for what is proven and what is not.

For one example script (examples/verl/run_bcr_*.sh), given the argv that the
script passed to `python3 -m verl.trainer.main_ppo` (captured by a shim):

1. config: composes verl's own Hydra config (verl/trainer/config/ppo_trainer.yaml)
   with the script's overrides, as main_ppo does. Hydra refuses a key that does
   not exist (without `+`); every overridden value is then checked against the
   type verl declares for it: the annotation of the field in verl's config
   dataclass (the node's `_target_`) where there is one, else the type of the
   YAML default. Every `_target_` node is instantiated (dataclass
   `__post_init__` checks) and verl's `validate_config` runs, as in main_ppo.
   The reward entry is loaded by verl's `get_custom_reward_fn`; the pre-0.9
   top-level `custom_reward_function.*` form is composed too, to show what
   verl makes of it.
2. data: verl's `RLHFDataset` loads the train and validation Parquet written by
   `bcr data build --format verl` with the config's `data` section and the
   tokenizer of `actor_rollout_ref.model.path` (the check points it at the
   shipped warm start: the paper's models cannot be downloaded here).
3. reward: verl's `RewardLoopWorker` (the reward loop of the v1 trainer, with
   the naive reward manager and the custom reward function from the config)
   scores hand-written responses to dataset rows, tokenized and padded as a
   rollout batch; the scores are compared with `bcr score` on the same packs
   and responses, and placed by `assemble_rm_scores` on the last response token.

    python verl_check.py --name 1p5b --argv argv.bin --train train.parquet \
        --val val.parquet --packs packs.jsonl --bcr target/debug/bcr --out DIR
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import subprocess
import sys
import tempfile
import types
import typing
from typing import Any

import pyarrow.parquet as pq
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, ListConfig, OmegaConf

import bcr
import bcr.verl
import verl
from verl import DataProto

CONFIG_DIR = pathlib.Path(verl.__file__).parent / "trainer" / "config"


class Report:
    """Collects named checks; each is recorded, a failure does not stop the rest."""

    def __init__(self) -> None:
        self.checks: list[dict[str, Any]] = []

    def check(self, name: str, ok: bool, detail: Any = "") -> bool:
        self.checks.append({"check": name, "ok": bool(ok), "detail": detail})
        print(f"[{'ok' if ok else 'FAIL'}] {name}" + (f": {detail}" if detail != "" else ""), flush=True)
        return ok

    @property
    def ok(self) -> bool:
        return all(c["ok"] for c in self.checks)


# ---------------------------------------------------------------- 1. config


def overrides_from_argv(argv: list[str]) -> list[str]:
    """The Hydra overrides of `python3 -m verl.trainer.main_ppo ARGS`: ARGS less Hydra's own flags."""
    if argv[:2] != ["-m", "verl.trainer.main_ppo"]:
        raise SystemExit(f"error: the script ran python3 {argv[:2]}, not -m verl.trainer.main_ppo")
    out, skip = [], False
    for arg in argv[2:]:
        if skip:
            skip = False
        elif arg in ("--cfg", "-c", "--package", "-p"):
            skip = True
        elif not arg.startswith("-"):
            out.append(arg)
    return out


def compose_config(overrides: list[str]) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        return compose(config_name="ppo_trainer", overrides=overrides)


def split_override(override: str) -> tuple[str, str, str]:
    """('+' or '', key, raw value) of `[+]key=value`."""
    prefix = "+" if override.startswith("+") and not override.startswith("++") else ""
    key, _, value = override.lstrip("+~").partition("=")
    return prefix, key, value


def has_key(cfg: DictConfig, key: str) -> bool:
    """Whether verl's config has `key`, set or not (a `???` value is missing, not absent)."""
    parent, _, last = key.rpartition(".")
    node = OmegaConf.select(cfg, parent) if parent else cfg
    return isinstance(node, DictConfig) and last in list(node.keys())


def enclosing_dataclass(cfg: DictConfig, key: str) -> tuple[type | None, str]:
    """The verl config dataclass of the deepest `_target_` node above `key`, and the field name in it."""
    parts = key.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        node = OmegaConf.select(cfg, ".".join(parts[:cut]))
        if isinstance(node, DictConfig) and "_target_" in node and cut == len(parts) - 1:
            module, _, name = node["_target_"].rpartition(".")
            cls = getattr(__import__(module, fromlist=[name]), name)
            return (cls if dataclasses.is_dataclass(cls) else None), parts[-1]
    return None, parts[-1]


def type_ok(value: Any, annotation: Any) -> bool:
    """Whether `value` (as Hydra parsed it) fits a dataclass annotation."""
    if annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(type_ok(value, a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin in (list, tuple):
        return isinstance(value, (list, tuple, ListConfig))
    if origin is dict:
        return isinstance(value, (dict, DictConfig))
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True  # Literal[...] and other forms: left to the dataclass's own checks


def check_overrides(report: Report, overrides: list[str], cfg: DictConfig, default: DictConfig) -> list[dict]:
    rows = []
    for override in overrides:
        prefix, key, raw = split_override(override)
        value = OmegaConf.select(cfg, key)
        if isinstance(value, (DictConfig, ListConfig)):
            value = OmegaConf.to_container(value)
        exists = has_key(default, key)
        cls, field = enclosing_dataclass(default, key)
        hints = typing.get_type_hints(cls) if cls else {}
        if prefix == "+":
            expected, ok = "(added: not in verl's schema)", not exists
        elif field in hints:
            expected = f"{cls.__name__}.{field}: {getattr(hints[field], '__name__', str(hints[field]))}"
            ok = exists and type_ok(value, hints[field])
        else:
            dv = OmegaConf.select(default, key)
            if isinstance(dv, (DictConfig, ListConfig)):
                dv = OmegaConf.to_container(dv)
            expected = f"YAML default {dv!r} ({type(dv).__name__})"
            ok = exists and (dv is None or type_ok(value, type(dv)))
        rows.append({"override": override, "value": value, "verl_expects": expected, "ok": ok})
        report.check(f"override {key}={raw}", ok, expected)
    return rows


def instantiate_targets(cfg: DictConfig) -> dict[str, str]:
    """Instantiates every `_target_` node (verl's dataclasses run their own checks); path -> error or 'ok'."""
    from verl.utils.config import omega_conf_to_dataclass

    out: dict[str, str] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, DictConfig):
            if "_target_" in node:
                try:
                    omega_conf_to_dataclass(node)
                    out[path] = "ok"
                except Exception as e:  # recorded, compared with verl's own defaults
                    cause = e.__cause__ or e
                    out[path] = f"{type(cause).__name__}: {str(cause).splitlines()[0][:200]}"
            for k in node:
                child = node._get_node(k)
                if isinstance(child, DictConfig):
                    walk(child, f"{path}.{k}" if path else str(k))

    walk(cfg, "")
    return out


def check_config(report: Report, overrides: list[str]) -> DictConfig:
    default = compose_config([])
    cfg = compose_config(overrides)  # raises for a key verl's config does not have
    report.check("Hydra composed verl's ppo_trainer config with every override", True, f"{len(overrides)} overrides")
    rows = check_overrides(report, overrides, cfg, default)

    # Every `_target_` node, instantiated as verl's config dataclass. Some nodes
    # fail on verl's own defaults too (they are completed or never built at
    # run time: the critic of a GRPO run, the reward model); those are listed,
    # and none that the overrides touch may be among them.
    ours, theirs = instantiate_targets(cfg), instantiate_targets(default)
    new_failures = {p: e for p, e in ours.items() if e != "ok" and theirs.get(p) == "ok"}
    touched = {p for p in ours if any(split_override(o)[1].startswith(p + ".") for o in overrides)}
    report.check(
        "verl's config dataclasses instantiate every node the overrides touch (but those verl's defaults fail on)",
        not new_failures and all(ours[p] == "ok" or theirs.get(p) != "ok" for p in touched),
        {"touched": {p: ours[p] for p in sorted(touched)}, "new_failures": new_failures,
         "failing_in_verls_defaults_too": {p: e for p, e in ours.items() if e != "ok" and p not in new_failures}},
    )

    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    try:
        validate_config(config=cfg, use_reference_policy=need_reference_policy(cfg), use_critic=need_critic(cfg))
        report.check("verl's validate_config (as main_ppo calls it)", True,
                     f"reference policy {need_reference_policy(cfg)}, critic {need_critic(cfg)}")
    except Exception as e:
        report.check("verl's validate_config (as main_ppo calls it)", False, f"{type(e).__name__}: {e}")

    from verl.trainer.ppo.reward import get_custom_reward_fn

    fn = get_custom_reward_fn(cfg)
    raw, kwargs = (fn.args[0], fn.args[1]) if fn is not None else (None, None)
    report.check(
        "verl's get_custom_reward_fn loads bcr.verl.compute_score with the reward_kwargs",
        raw is bcr.verl.compute_score and kwargs == {"format_weight": 0.1},
        f"{getattr(raw, '__module__', None)}.{getattr(raw, '__name__', None)} {kwargs}",
    )
    legacy = [o.replace("reward.custom_reward_function", "custom_reward_function") for o in overrides]
    legacy_fn = get_custom_reward_fn(compose_config(legacy))
    report.check(
        "the pre-0.9 form (top-level custom_reward_function.*) composes but main_ppo ignores it",
        legacy_fn is None,
        "get_custom_reward_fn -> None: verl would fall back to its default_compute_score by data_source",
    )
    # Negative controls: the same machinery refuses a misspelt key and a mistyped value.
    try:
        compose_config(overrides + ["actor_rollout_ref.rollout.temprature=1.0"])
        refused = False
    except Exception as e:
        refused = type(e).__name__
    report.check("control: Hydra refuses a misspelt key (rollout.temprature)", bool(refused), refused)
    bad = [o if not o.startswith("actor_rollout_ref.rollout.n=") else "actor_rollout_ref.rollout.n=eight" for o in overrides]
    control = Report()
    check_overrides(control, [o for o in bad if o.startswith("actor_rollout_ref.rollout.n=")], compose_config(bad), default)
    report.check("control: the type check refuses rollout.n=eight (RolloutConfig.n: int)", not control.ok)

    report.rows = rows  # type: ignore[attr-defined]
    return cfg


# ---------------------------------------------------------------- 2. data


def check_data(report: Report, cfg: DictConfig, train: str, val: str):
    from verl.utils import hf_tokenizer
    from verl.utils.dataset.rl_dataset import RLHFDataset

    tokenizer = hf_tokenizer(cfg.actor_rollout_ref.model.path)
    datasets = {}
    for split, path in (("train", train), ("val", val)):
        table = pq.read_table(path).to_pylist()
        ds = RLHFDataset(data_files=[path], tokenizer=tokenizer, config=cfg.data, max_samples=-1)
        report.check(f"RLHFDataset loads {split} ({pathlib.Path(path).name}), no prompt filtered",
                     len(ds) == len(table), f"{len(ds)} of {len(table)} rows")
        lengths, bad = [], []
        for i in range(len(ds)):
            item, row = ds[i], table[i]
            ids = tokenizer.apply_chat_template(list(item["raw_prompt"]), add_generation_prompt=True, tokenize=True)
            ids = ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids
            lengths.append(len(ids))
            same = (
                [dict(m) for m in item["raw_prompt"]] == row["prompt"]
                and item["reward_model"]["ground_truth"] == row["reward_model"]["ground_truth"]
                and item["data_source"] == row["data_source"]
                and item["extra_info"]["n"] == len(json.loads(row["reward_model"]["ground_truth"]))
                and item["index"] == row["extra_info"]["index"]
            )
            if not same:
                bad.append(i)
        report.check(f"{split}: verl's items carry our prompt, golds, data_source, extra_info", not bad,
                     f"mismatched rows {bad[:5]}" if bad else f"{len(ds)} items")
        report.check(f"{split}: chat-templated prompts fit data.max_prompt_length",
                     max(lengths) <= cfg.data.max_prompt_length,
                     f"max {max(lengths)} <= {cfg.data.max_prompt_length} tokens (warm-start tokenizer)")
        datasets[split] = ds
    return tokenizer, datasets


# ---------------------------------------------------------------- 3. reward


def responses_for(golds: list[str]) -> list[tuple[str, str]]:
    """Hand-written responses of several kinds to a pack with these golds."""
    n = len(golds)
    right = "\n".join(f"Problem {k}: done.\nAnswer {k}: \\boxed{{{g}}}" for k, g in enumerate(golds, 1))
    one_wrong = right.replace(f"\\boxed{{{golds[-1]}}}", "\\boxed{12345}")
    missing_last = "\n".join(f"Answer {k}: \\boxed{{{g}}}" for k, g in enumerate(golds[:-1], 1)) if n > 1 else "No answer."
    return [
        ("all right, after thinking", f"<think>Let me solve each one.</think>\n{right}"),
        ("last one wrong", one_wrong),
        ("last answer missing (budget ran out)", missing_last),
        ("cut off inside the thinking", "<think>Let me check again. Wait, let me check"),
        ("answers out of order", "\n".join(f"Answer {k}: \\boxed{{{golds[k - 1]}}}" for k in range(n, 0, -1))),
    ]


def rollout_batch(tokenizer, items: list[dict], texts: list[str]) -> DataProto:
    """A rollout batch as verl's agent loop hands it to the reward loop: left-padded
    prompts, right-padded responses, one attention mask over both."""
    pad = tokenizer.pad_token_id
    prompts, responses = [], []
    for item, text in zip(items, texts):
        ids = tokenizer.apply_chat_template(list(item["raw_prompt"]), add_generation_prompt=True, tokenize=True)
        prompts.append(list(ids["input_ids"] if hasattr(ids, "keys") else ids))
        responses.append(tokenizer.encode(text, add_special_tokens=False) + [tokenizer.eos_token_id])
    P, R = max(map(len, prompts)), max(map(len, responses))
    p_ids = torch.full((len(items), P), pad, dtype=torch.long)
    r_ids = torch.full((len(items), R), pad, dtype=torch.long)
    mask = torch.zeros((len(items), P + R), dtype=torch.long)
    for i, (p, r) in enumerate(zip(prompts, responses)):
        p_ids[i, P - len(p):] = torch.tensor(p)
        r_ids[i, : len(r)] = torch.tensor(r)
        mask[i, P - len(p): P + len(r)] = 1
    non_tensors = {
        key: [item[key] for item in items] for key in ("data_source", "reward_model", "extra_info", "raw_prompt")
    }
    import numpy as np

    non_tensors = {k: np.array(v, dtype=object) for k, v in non_tensors.items()}
    return DataProto.from_dict(
        tensors={"prompts": p_ids, "responses": r_ids, "input_ids": torch.cat([p_ids, r_ids], 1), "attention_mask": mask},
        non_tensors=non_tensors,
    )


def check_reward(report: Report, cfg: DictConfig, tokenizer, dataset, packs: str, bcr_bin: str) -> list[dict]:
    from verl.experimental.reward_loop.reward_loop import RewardLoopWorker

    worker = RewardLoopWorker(cfg)  # the class verl's RewardLoopManager runs as Ray actors
    manager = type(worker.reward_manager)
    report.check("verl's reward loop built its reward manager from the config", manager.__name__ == "NaiveRewardManager",
                 f"{manager.__module__}.{manager.__name__}")
    items, texts, kinds = [], [], []
    for i in range(min(4, len(dataset))):
        item = dataset[i]
        for kind, text in responses_for(json.loads(item["reward_model"]["ground_truth"])):
            items.append(item)
            texts.append(text)
            kinds.append(kind)
    batch = rollout_batch(tokenizer, items, texts)
    outputs = worker.loop.run_until_complete(worker.compute_score_batch(batch))
    scores = [float(o["reward_score"]) for o in outputs]
    keys = {tuple(sorted(o["reward_extra_info"])) for o in outputs}
    report.check("every response returns the same reward_extra_info keys (verl needs one value per key per sample)",
                 len(keys) == 1, sorted(next(iter(keys))))

    # The same responses, as verl decoded them, through `bcr score`.
    decoded = [
        tokenizer.decode(batch.batch["responses"][i][: int(batch.batch["attention_mask"][i, -batch.batch["responses"].shape[1]:].sum())],
                         skip_special_tokens=True)
        for i in range(len(items))
    ]
    report.check("verl's decode gives back the hand-written text", decoded == texts,
                 f"{sum(d == t for d, t in zip(decoded, texts))}/{len(texts)}")
    with tempfile.TemporaryDirectory() as tmp:
        responses = pathlib.Path(tmp) / "responses.jsonl"
        responses.write_text("".join(
            json.dumps({"pack_id": item["extra_info"]["pack_id"], "response": text}) + "\n"
            for item, text in zip(items, decoded)))
        out = subprocess.run([bcr_bin, "score", "--packs", packs, "--responses", str(responses)],
                             check=True, capture_output=True, text=True).stdout
    expected = [json.loads(line)["reward"] for line in out.splitlines() if line.strip()]
    diffs = [abs(a - b) for a, b in zip(scores, expected)]
    report.check("verl's reward_score equals `bcr score` for every response", len(expected) == len(scores) and max(diffs) < 1e-9,
                 f"{len(scores)} responses, max |diff| {max(diffs):.1e}")
    report.check("the rewards are not all equal (right, wrong, missing, cut off differ)", len(set(scores)) > 2,
                 sorted(set(round(s, 4) for s in scores)))

    rm = manager.assemble_rm_scores(batch, scores)
    R = batch.batch["responses"].shape[1]
    last = batch.batch["attention_mask"][:, -R:].sum(1) - 1
    placed = all(float(rm[i, last[i]]) == float(torch.tensor(scores[i], dtype=torch.float32)) and float(rm[i].sum()) == float(rm[i, last[i]])
                 for i in range(len(scores)))
    report.check("assemble_rm_scores puts each reward on the last response token", placed)
    return [{"pack_id": it["extra_info"]["pack_id"], "kind": k, "verl_reward": s, "bcr_score": e,
             "acc": o["reward_extra_info"]["acc"], "format": o["reward_extra_info"]["format"]}
            for it, k, s, e, o in zip(items, kinds, scores, expected, outputs)]


def main() -> None:
    ap = argparse.ArgumentParser()
    for flag in ("--name", "--argv", "--train", "--val", "--packs", "--bcr", "--out"):
        ap.add_argument(flag, required=True)
    a = ap.parse_args()
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    argv = [x for x in pathlib.Path(a.argv).read_bytes().decode().split("\0") if x]
    overrides = overrides_from_argv(argv)
    report = Report()
    print(f"== {a.name}: verl {verl.__version__}, bcr {bcr.__version__}, {len(overrides)} overrides", flush=True)
    cfg = check_config(report, overrides)
    tokenizer, datasets = check_data(report, cfg, a.train, a.val)
    samples = check_reward(report, cfg, tokenizer, datasets["train"], a.packs, a.bcr)
    summary = {
        "script": a.name, "verl": verl.__version__, "bcr": bcr.__version__, "python": sys.version.split()[0],
        "torch": torch.__version__, "ok": report.ok, "checks": report.checks,
        "overrides": report.rows, "reward_samples": samples,  # type: ignore[attr-defined]
    }
    (out / f"{a.name}.json").write_text(json.dumps(summary, indent=1, default=str))
    print(f"== {a.name}: {sum(c['ok'] for c in report.checks)} passed, {sum(not c['ok'] for c in report.checks)} failed")
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
