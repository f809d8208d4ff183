"""PyTorch/transformers fp32 side of the decode benchmark.

Loads the same GGUF as `bcr generate` (weights dequantized to fp32), runs
greedy `generate` on the prompts in batches, and prints one JSON line per
batch size: decode tokens/s = batch * (new - 1) / (t(new) - t(1)), i.e. the
prompt pass (timed separately with max_new_tokens=1) is excluded.

    python torch_decode.py MODEL.gguf prompts.jsonl --batch 1 8 32 --new 256 --threads 2
"""
import argparse
import json
import pathlib
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf")
    ap.add_argument("prompts")
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--new", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    path = pathlib.Path(args.gguf)
    tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32).eval()
    prompts = [json.loads(l)["prompt"] for l in open(args.prompts) if l.strip()]
    for b in args.batch:
        enc = tok(prompts[:b], return_tensors="pt", padding=True, add_special_tokens=False)
        times = {}
        for new in (1, args.new):
            kw = dict(max_new_tokens=new, min_new_tokens=new, do_sample=False, pad_token_id=tok.pad_token_id)
            with torch.inference_mode():
                model.generate(**enc, max_new_tokens=2, do_sample=False, pad_token_id=tok.pad_token_id)  # warm-up
                t0 = time.perf_counter()
                model.generate(**enc, **kw)
                times[new] = time.perf_counter() - t0
        decode = times[args.new] - times[1]
        print(json.dumps({"impl": "pytorch-fp32", "batch": b, "decode_tok_s": b * (args.new - 1) / decode,
                          "prefill_s": times[1], "decode_s": decode}), flush=True)


if __name__ == "__main__":
    main()
