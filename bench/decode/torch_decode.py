"""PyTorch/transformers fp32 side of the decode benchmark.

Loads the same GGUF as `bcr generate` (weights dequantized to fp32), runs
greedy `generate` on the prompts in batches, and prints one JSON line per
batch size: decode tokens/s = batch * (new - 1) / (t(new) - t(1)), i.e. the
prompt pass (timed separately with max_new_tokens=1) is excluded.

    python torch_decode.py MODEL.gguf prompts.jsonl --batch 1 8 32 --new 256 --threads 2
    python torch_decode.py HF_DIR prompts.jsonl --device cuda --dtype bf16   # bench/gpu/run.sh
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
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    path = pathlib.Path(args.gguf)
    dtype = getattr(torch, args.dtype)
    if path.suffix == ".gguf":
        tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
        model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=dtype)
    else:
        tok = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    model = model.to(args.device).eval()
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    prompts = [json.loads(l)["prompt"] for l in open(args.prompts) if l.strip()]
    for b in args.batch:
        enc = tok(prompts[:b], return_tensors="pt", padding=True, add_special_tokens=False).to(args.device)
        times = {}
        for new in (1, args.new):
            kw = dict(max_new_tokens=new, min_new_tokens=new, do_sample=False, pad_token_id=tok.pad_token_id)
            with torch.inference_mode():
                model.generate(**enc, max_new_tokens=2, do_sample=False, pad_token_id=tok.pad_token_id)  # warm-up
                sync()
                t0 = time.perf_counter()
                model.generate(**enc, **kw)
                sync()
                times[new] = time.perf_counter() - t0
        decode = times[args.new] - times[1]
        print(json.dumps({"impl": f"pytorch-{args.dtype}", "device": args.device, "batch": b, "decode_tok_s": b * (args.new - 1) / decode,
                          "prefill_s": times[1], "decode_s": decode}), flush=True)


if __name__ == "__main__":
    main()
