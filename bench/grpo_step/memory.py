#!/usr/bin/env python3
"""Memory needed on one GPU by `bcr train` for the paper setups (an estimate
from the architecture, not a measurement; docs/training.md explains each term).

    python3 bench/grpo_step/memory.py

Terms (bytes):
  state   = params * 20   f32 weights 4 + grads 4 + f32 grad accumulator 4 + AdamW m 4 + v 4
                          (bf16 weights: 2 + f32 master copy 4 + bf16 grads 2 + 4 + 4 + 4 = 20 too)
  kv      = rows * (prompt + budget) * 2 * layers * kv_heads * head_dim * act_bytes
            (rollout: `rollout.max_batch` responses generated together)
  logits  = T * vocab * 4 * 3     f32 logits, their log-softmax and its exp (entropy), per trained row
  attn    = layers * heads * T^2 * 4 * 2   materialised f32 scores and probabilities kept for backward
  acts    = layers * T * (12 * hidden + 4 * intermediate) * act_bytes   other saved activations
where T = prompt + budget tokens of one trained row (`optim.micro_batch` rows at a time).
"""

GB = 1e9

MODELS = {
    # name: (hidden, intermediate, layers, heads, kv_heads, head_dim, vocab, tied)
    # values from each model's config.json
    "SmolLM2-135M": (576, 1536, 30, 9, 3, 64, 49152, True),
    "JustRL-DeepSeek-1.5B (Qwen2)": (1536, 8960, 28, 12, 2, 128, 151936, False),
    "Qwen3-4B-Thinking-2507": (2560, 9728, 36, 32, 8, 128, 151936, True),
}


def params(m):
    hidden, inter, layers, heads, kv, hd, vocab, tied = m
    attn = hidden * heads * hd * 2 + hidden * kv * hd * 2
    mlp = 3 * hidden * inter
    emb = vocab * hidden * (1 if tied else 2)
    return layers * (attn + mlp + 2 * hidden) + emb + hidden


def estimate(m, prompt, budget, rollout_rows, micro_batch, act_bytes):
    hidden, inter, layers, heads, kv, hd, vocab, _ = m
    t = prompt + budget
    state = params(m) * 20
    kv_cache = rollout_rows * t * 2 * layers * kv * hd * act_bytes
    logits = micro_batch * t * vocab * 4 * 3
    attn = micro_batch * layers * heads * t * t * 4 * 2
    acts = micro_batch * layers * t * (12 * hidden + 4 * inter) * act_bytes
    return state, kv_cache, logits + attn + acts


def row(name, m, prompt, budget, rows, mb, act_bytes):
    state, kv, update = estimate(m, prompt, budget, rows, mb, act_bytes)
    peak = state + max(kv, update)
    print(
        f"| {name} | {params(m) / 1e9:.2f} B | {prompt}+{budget} | {rows} | {mb} | "
        f"{state / GB:.1f} | {kv / GB:.1f} | {update / GB:.1f} | {peak / GB:.1f} |"
    )


def main():
    print("| model | params | prompt+budget | rollout rows | micro-batch | state GB | KV GB | update GB | peak GB |")
    print("|---|---|---|---|---|---|---|---|---|")
    smol = MODELS["SmolLM2-135M"]
    r15 = MODELS["JustRL-DeepSeek-1.5B (Qwen2)"]
    q4 = MODELS["Qwen3-4B-Thinking-2507"]
    row("SmolLM2-135M, f32 (configs/smollm2-gsm8k.toml)", smol, 300, 256, 8, 2, 4)
    row("1.5B, bf16, paper budget 5120", r15, 600, 5120, 32, 1, 2)
    row("1.5B, bf16, budget 2048", r15, 600, 2048, 32, 1, 2)
    row("4B, bf16, paper budget 8000", q4, 600, 8000, 16, 1, 2)
    row("4B, bf16, budget 2048", q4, 600, 2048, 16, 1, 2)


if __name__ == "__main__":
    main()
