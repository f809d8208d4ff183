"""PyTorch eager side of bench/train_step: the same config, loss and
optimizer as `crates/bcr-model/examples/train_step.rs`, fp32, on the CPU
(default) or a GPU (`--device cuda`, used by bench/gpu/run.sh).

Prints one JSON line like the Rust side."""
import argparse
import json
import time

import torch
from transformers import AutoConfig, AutoModelForCausalLM


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--config", required=True)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=512)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--attn", default="eager", help="transformers attn_implementation: eager or sdpa")
    a = p.parse_args()
    torch.manual_seed(0)
    config = AutoConfig.from_pretrained(a.config)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32, attn_implementation=a.attn)
    model.to(a.device).train()
    sync = torch.cuda.synchronize if a.device.startswith("cuda") else (lambda: None)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    v = config.vocab_size
    ids = torch.tensor([[(i * 31 + b * 17 + 7) % v for i in range(a.seq)] for b in range(a.batch)], device=a.device)
    fwd = bwd = step = 0.0
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        logits = model(input_ids=ids).logits[:, :-1]
        lp = torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None]).squeeze(-1)
        loss = -lp.mean()
        loss.item()
        t1 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        sync()
        t2 = time.perf_counter()
        opt.step()
        sync()
        t3 = time.perf_counter()
        if i >= a.warmup:
            fwd += t1 - t0
            bwd += t2 - t1
            step += t3 - t2
    n = a.steps
    total = (fwd + bwd + step) / n
    print(json.dumps({
        "impl": f"pytorch {torch.__version__} {a.attn}",
        "device": a.device,
        "tokens_per_s": round(a.batch * a.seq / total, 1),
        "forward_s": round(fwd / n, 3),
        "backward_s": round(bwd / n, 3),
        "optimizer_s": round(step / n, 3),
        "params": sum(p.numel() for p in model.parameters()),
        "threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main()
