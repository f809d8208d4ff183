"""BCR with TRL's GRPOTrainer: N problems per prompt, one shared token budget,
rewarded by per-problem accuracy (Yang et al., arXiv 2604.02322).

The data comes from `bcr data build --format trl` (one row per pack of N
problems: the BCR prompt as a chat message, the N golds as `ground_truth`);
the reward is `bcr.trl.reward` from the Python package `bcr`. The hard budget
is TRL's `max_completion_length`, the same for every pack: generation stops
there, answers that did not fit are missing, and a missing answer scores 0.

    python train_grpo.py --model assets/demo/warm-start --train train.parquet \
        --out runs/trl --steps 4 --num-generations 8 --packs-per-step 2 \
        --max-completion-length 288

`--length-penalty W` switches to the paper's (collapsing) ablation,
reward -= W * completion tokens / max_completion_length.

What it writes under --out: `model/` (the trained weights, an HF directory),
`log_history.json` (TRL's logged metrics per step, grad_norm among them) and
`completions/completions_<step>.parquet` (TRL's table of every prompt,
completion and reward, plus bcr's per-completion columns).

Runs on a CPU as it is (the shipped 853K-parameter warm start takes seconds
per step); on GPUs, launch it with `accelerate launch` and set --bf16.
"""

from __future__ import annotations

import argparse
import json
import pathlib

import torch
from datasets import load_dataset
from trl import GRPOConfig, GRPOTrainer

import bcr.trl


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="HF model directory or Hub id")
    ap.add_argument("--train", required=True, help="Parquet from `bcr data build --format trl`")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--steps", type=int, default=4, help="optimizer steps")
    ap.add_argument("--num-generations", type=int, default=8, help="completions per pack (the GRPO group)")
    ap.add_argument("--packs-per-step", type=int, default=2, help="packs (prompts) per optimizer step")
    ap.add_argument("--micro-batch", type=int, default=8, help="completions per forward/backward pass")
    ap.add_argument("--max-completion-length", type=int, default=288, help="the hard budget of a whole response")
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--format-weight", type=float, default=None, help="weight of the format term (bcr: 0.1)")
    ap.add_argument("--length-penalty", type=float, default=None, help="the ablation's weight W (off by default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--bf16", action="store_true", help="bf16 mixed precision (GPUs)")
    return ap.parse_args(argv)


def reward_function(args: argparse.Namespace):
    """bcr.trl.reward, or one built with other options."""
    if args.length_penalty is None and args.format_weight is None:
        return bcr.trl.reward
    return bcr.trl.make_reward(
        format_weight=args.format_weight,
        length_penalty=args.length_penalty,
        budget=args.max_completion_length if args.length_penalty is not None else None,
    )


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = pathlib.Path(args.out)
    completions_per_step = args.num_generations * args.packs_per_step
    if completions_per_step % args.micro_batch:
        raise SystemExit(
            f"error: --num-generations x --packs-per-step = {completions_per_step} "
            f"is not a multiple of --micro-batch {args.micro_batch}"
        )

    train = load_dataset("parquet", data_files=args.train, split="train")
    config = GRPOConfig(
        output_dir=str(out),
        max_steps=args.steps,
        # One generation round per optimizer step: packs-per-step x G completions,
        # split into micro-batches whose gradients accumulate.
        num_generations=args.num_generations,
        per_device_train_batch_size=args.micro_batch,
        gradient_accumulation_steps=completions_per_step // args.micro_batch,
        max_completion_length=args.max_completion_length,
        temperature=args.temperature,
        learning_rate=args.lr,
        lr_scheduler_type="constant",
        beta=0.0,  # no KL term, as in the paper's recipe (and no reference model to hold)
        bf16=args.bf16,
        gradient_checkpointing=False,
        use_cpu=not torch.cuda.is_available(),
        logging_steps=1,
        log_completions=True,  # writes completions/completions_<step>.parquet
        save_strategy="no",
        report_to="none",
        seed=args.seed,
        disable_tqdm=True,
    )
    trainer = GRPOTrainer(
        model=args.model,
        reward_funcs=[reward_function(args)],
        args=config,
        train_dataset=train,
    )
    trainer.train()
    trainer.save_model(str(out / "model"))
    (out / "log_history.json").write_text(json.dumps(trainer.state.log_history, indent=1))


if __name__ == "__main__":
    main()
