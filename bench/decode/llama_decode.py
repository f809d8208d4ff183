"""llama.cpp's side of `bench/decode/run.sh`: the same GGUF file, the same
prompts (raw text, tokenized by llama.cpp without BOS), greedy decoding of
NEW tokens per sequence with end-of-sequence ignored, B sequences decoded
together through the low-level `llama_batch` / `llama_decode` API (the
high-level `Llama` class runs one sequence at a time).

Prints one JSON line per batch size, as `examples/decode.rs` does:
prefill (all prompts in one batch) and decode tokens/s, and the resident
memory once the model is loaded (`use_mmap = False`: the weights read into
memory, before any context exists).

    python llama_decode.py MODEL.gguf PROMPTS.jsonl --batch 1 32 --new 256 --threads 2
"""

import argparse
import json
import time

import llama_cpp as L
import numpy as np


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return -1.0


def tokenize(vocab, text):
    raw = text.encode()
    buf = (L.llama_token * (len(raw) + 16))()
    n = L.llama_tokenize(vocab, raw, len(raw), buf, len(buf), False, True)
    return list(buf[:n])


def run(model, vocab, prompts, new, threads):
    b = len(prompts)
    per_seq = max(len(p) for p in prompts) + new + 8
    cp = L.llama_context_default_params()
    cp.n_ctx = b * per_seq
    cp.n_batch = max(sum(len(p) for p in prompts), b)
    cp.n_ubatch = min(cp.n_batch, 512)
    cp.n_seq_max = b
    cp.n_threads = threads
    cp.n_threads_batch = threads
    ctx = L.llama_init_from_model(model, cp)
    n_vocab = L.llama_vocab_n_tokens(vocab)
    batch = L.llama_batch_init(cp.n_batch, 0, b)

    def submit(items):  # items: (token, pos, seq, want_logits)
        batch.n_tokens = len(items)
        for i, (tok, pos, seq, want) in enumerate(items):
            batch.token[i] = tok
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = want
        if L.llama_decode(ctx, batch) != 0:
            raise RuntimeError("llama_decode failed")

    def argmax(i):
        p = L.llama_get_logits_ith(ctx, i)
        return int(np.argmax(np.ctypeslib.as_array(p, shape=(n_vocab,))))

    t0 = time.perf_counter()
    items, last = [], []
    for s, p in enumerate(prompts):
        for j, tok in enumerate(p):
            items.append((tok, j, s, j == len(p) - 1))
        last.append(len(items) - 1)
    submit(items)
    toks = [argmax(i) for i in last]
    prefill = time.perf_counter() - t0
    t1 = time.perf_counter()
    pos = [len(p) for p in prompts]
    for _ in range(new - 1):
        submit([(toks[s], pos[s], s, True) for s in range(b)])
        toks = [argmax(s) for s in range(b)]
        pos = [x + 1 for x in pos]
    decode = time.perf_counter() - t1
    L.llama_batch_free(batch)
    L.llama_free(ctx)
    return prefill, decode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("prompts")
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 32])
    ap.add_argument("--new", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    L.llama_backend_init()
    mp = L.llama_model_default_params()
    mp.use_mmap = False
    model = L.llama_model_load_from_file(a.model.encode(), mp)
    rss = rss_mb()
    vocab = L.llama_model_get_vocab(model)
    with open(a.prompts) as f:
        texts = [json.loads(line)["prompt"] for line in f if line.strip()]
    run(model, vocab, [tokenize(vocab, texts[0])], 4, a.threads)  # warm-up
    for b in a.batch:
        prompts = [tokenize(vocab, t) for t in texts[:b]]
        prefill, decode = run(model, vocab, prompts, a.new, a.threads)
        n_prompt = sum(len(p) for p in prompts)
        print(json.dumps({
            "impl": "llama.cpp", "version": L.__version__, "batch": b, "prompt_tokens": n_prompt,
            "prefill_s": prefill, "decode_s": decode, "decode_tok_s": b * (a.new - 1) / decode,
            "prefill_tok_s": n_prompt / prefill, "rss_mb_loaded": rss,
        }), flush=True)


if __name__ == "__main__":
    main()
