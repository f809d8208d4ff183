"""TRL side of the GRPO step benchmark (bench/grpo_step/run.sh runs it).

Trains the given model with TRL's GRPOTrainer on CPU for --steps optimizer
steps, each on prompts x G completions of at most --len tokens (the same
fully rendered prompt strings `bcr train` sees, from `bcr prompt --model`),
and prints one JSON line: per-step wall time (TrainerCallback
on_step_begin -> on_step_end, generation included), the time inside
model.generate per step, and the completion tokens per step (TRL's logged
completions/mean_length x completions).

    python trl_step.py --model DIR_OR_GGUF --prompts prompts.jsonl --G 8 --len 256 --steps 3 --micro 2 --threads 2
"""
import argparse
import json
import pathlib
import random
import shutil
import tempfile
import time

import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from trl import GRPOConfig, GRPOTrainer


def load(path):
    p = pathlib.Path(path)
    if p.suffix == ".gguf":
        kw = dict(gguf_file=p.name)
        p = p.parent
    else:
        kw = {}
    tok = AutoTokenizer.from_pretrained(p, **kw)
    model = AutoModelForCausalLM.from_pretrained(p, dtype=torch.float32, **kw)
    if kw:
        # transformers dequantises GGUF to plain f32 tensors but still marks the
        # model quantized, and Trainer then refuses to fine-tune it. The weights
        # are ordinary f32 parameters (checked), so drop the mark.
        assert all(p.dtype == torch.float32 for p in model.parameters())
        model.is_quantized = False
        model.hf_quantizer = None
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return model, tok


class Timer(TrainerCallback):
    def __init__(self):
        self.steps, self.lengths, self.t0 = [], [], None

    def on_step_begin(self, args, state, control, **kw):
        self.t0 = time.perf_counter()

    def on_step_end(self, args, state, control, **kw):
        self.steps.append(time.perf_counter() - self.t0)

    def on_log(self, args, state, control, logs=None, **kw):
        if logs and "completions/mean_length" in logs:
            self.lengths.append(logs["completions/mean_length"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompts", required=True, help="JSONL of {prompt}: fully rendered prompt strings")
    ap.add_argument("--G", type=int, required=True)
    ap.add_argument("--len", type=int, required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--micro", type=int, required=True, help="completions per backward pass")
    ap.add_argument("--threads", type=int, required=True)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    prompts = [json.loads(l)["prompt"] for l in open(a.prompts) if l.strip()]
    per_step = len(prompts) * a.G
    if per_step % a.micro:
        raise SystemExit(f"error: prompts x G = {per_step} is not a multiple of --micro {a.micro}")
    model, tok = load(a.model)

    gen_s = []
    inner = model.generate

    def timed_generate(*args, **kw):
        t = time.perf_counter()
        out = inner(*args, **kw)
        gen_s.append(time.perf_counter() - t)
        return out

    model.generate = timed_generate  # the trainer generates with this very module on CPU

    def reward(completions, **kw):  # cheap and varied, so advantages are nonzero
        return [random.random() for _ in completions]

    cfg = GRPOConfig(
        output_dir=tempfile.mkdtemp(prefix="trl-grpo-"),
        use_cpu=True, bf16=False, fp16=False,
        gradient_checkpointing=False,  # TRL's default is True; bcr recomputes nothing
        num_generations=a.G, max_completion_length=a.len,
        per_device_train_batch_size=a.micro, gradient_accumulation_steps=per_step // a.micro,
        num_iterations=1, beta=0.0, epsilon=0.2, epsilon_high=0.28,
        temperature=1.0, top_p=1.0, top_k=0,
        learning_rate=1e-5, weight_decay=0.01, max_grad_norm=1.0, lr_scheduler_type="constant",
        max_steps=a.steps, logging_steps=1, save_strategy="no", report_to="none",
        dataloader_num_workers=0, seed=0, disable_tqdm=True,
    )
    trainer = GRPOTrainer(model=model, reward_funcs=reward, args=cfg,
                          train_dataset=Dataset.from_list([{"prompt": p} for p in prompts]),
                          processing_class=tok)
    timer = Timer()
    trainer.add_callback(timer)
    trainer.train()
    shutil.rmtree(cfg.output_dir, ignore_errors=True)
    steps = len(timer.steps)
    # one generate call per optimizer step (generation batch = the step's completions); else spread the total
    gen = gen_s if len(gen_s) == steps else [sum(gen_s) / steps] * steps
    print(json.dumps({"impl": "trl", "trl": __import__("trl").__version__, "step_s": timer.steps, "generate_s": gen,
                      "completions_per_step": per_step,
                      "tokens_per_step": [m * per_step for m in timer.lengths]}), flush=True)


if __name__ == "__main__":
    main()
