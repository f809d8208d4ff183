#!/usr/bin/env python3
"""Open-loop load generator for `bcr serve`.

Sends one held-out question per request at Poisson arrivals of a given offered
rate for a given duration, over real HTTP connections (httpx, asyncio), never
waiting for earlier answers before sending the next (open loop). Writes one
JSON line per request: scheduled and actual send time, latency, status, the
`x-bcr-pack` header, usage, the answer text and, after grading with
`bcr grade`, whether it is correct.
"""
import argparse
import asyncio
import json
import random
import subprocess
import sys
import time

import httpx


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True, help="base URL of bcr serve, e.g. http://127.0.0.1:8000/v1")
    p.add_argument("--problems", required=True, help="JSONL of problems with fields id, question, answer")
    p.add_argument("--limit", type=int, default=480, help="use the first LIMIT problems (default 480)")
    p.add_argument("--rate", type=float, required=True, help="offered load in requests/s (Poisson arrivals)")
    p.add_argument("--duration", type=float, help="seconds during which requests are sent")
    p.add_argument("--count", type=int, help="instead of --duration: send exactly COUNT requests "
                   "(with --limit COUNT, every problem once, in order)")
    p.add_argument("--offset", type=int, default=0, help="index of the first problem sent (cycles through LIMIT)")
    p.add_argument("--no-pack", action="store_true", help="send header x-bcr-pack: off (passthrough)")
    p.add_argument("--model", default="bcr", help="`model` field of the requests")
    p.add_argument("--temperature", type=float, help="`temperature` of the requests (default: unset, "
                   "which bcr serve answers greedily; 1.0 matches the demo's `bcr eval`)")
    p.add_argument("--timeout", type=float, default=600.0, help="per-request timeout in seconds")
    p.add_argument("--seed", type=int, default=0, help="seed of the arrival process")
    p.add_argument("--bcr", default="bcr", help="bcr binary used for grading (`bcr grade`)")
    p.add_argument("--out", required=True, help="output JSONL, one line per request")
    return p.parse_args()


def load_problems(path, limit):
    """Problems as {id, question, answer}; GSM8K rows (idx, answer ending in `#### X`) are accepted."""
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()][:limit]
    return [{"id": str(r.get("id", r.get("idx", i))), "question": r["question"],
             "answer": str(r["answer"]).rsplit("####", 1)[-1].strip()} for i, r in enumerate(rows)]


def poisson_schedule(rate, duration, seed, count=None):
    """Arrival offsets (seconds from start) of a Poisson process on [0, duration),
    or its first `count` arrivals."""
    rng = random.Random(seed)
    t, out = 0.0, []
    while True:
        t += rng.expovariate(rate)
        if (count is None and t >= duration) or (count is not None and len(out) >= count):
            return out
        out.append(t)


async def send_one(client, args, problem, scheduled, t0):
    await asyncio.sleep(max(0.0, t0 + scheduled - time.monotonic()))
    headers = {"x-bcr-pack": "off"} if args.no_pack else {}
    body = {"model": args.model, "messages": [{"role": "user", "content": problem["question"]}]}
    if args.temperature is not None:
        body["temperature"] = args.temperature
    sent = time.monotonic()
    rec = {"id": problem["id"], "gold": problem["answer"], "scheduled_s": scheduled, "send_s": sent - t0}
    try:
        r = await client.post("/chat/completions", json=body, headers=headers)
        rec["status"] = r.status_code
        rec["pack"] = r.headers.get("x-bcr-pack")
        data = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        if r.status_code == 200:
            rec["usage"] = data.get("usage")
            choice = data["choices"][0]
            rec["pred"] = choice["message"]["content"]
            rec["finish_reason"] = choice.get("finish_reason")
        else:
            rec["error"] = (data.get("error") or {}).get("message") or r.text[:200]
    except Exception as e:  # transport errors are recorded, never raised
        rec["status"] = 0
        rec["error"] = f"{type(e).__name__}: {e}"
    rec["latency_s"] = time.monotonic() - sent
    return rec


async def run_load(args, problems):
    schedule = poisson_schedule(args.rate, args.duration, args.seed, args.count)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(base_url=args.url, timeout=args.timeout, limits=limits) as client:
        t0 = time.monotonic()
        tasks = [
            send_one(client, args, problems[(args.offset + i) % len(problems)], s, t0)
            for i, s in enumerate(schedule)
        ]
        return await asyncio.gather(*tasks)


def grade(records, bcr):
    """Adds `correct` to every answered record, with `bcr grade` (the project's verifier)."""
    answered = [r for r in records if r.get("status") == 200]
    if not answered:
        return
    pairs = "".join(json.dumps({"gold": r["gold"], "pred": r["pred"]}) + "\n" for r in answered)
    out = subprocess.run([bcr, "grade", "--input", "-"], input=pairs, capture_output=True, text=True, check=True)
    for r, line in zip(answered, out.stdout.splitlines()):
        r["correct"] = bool(json.loads(line)["equivalent"])


def main():
    args = parse_args()
    if (args.duration is None) == (args.count is None):
        sys.exit("loadgen: give exactly one of --duration and --count")
    problems = load_problems(args.problems, args.limit)
    if not problems:
        sys.exit(f"no problems in {args.problems}")
    records = asyncio.run(run_load(args, problems))
    grade(records, args.bcr)
    with open(args.out, "w") as f:
        for r in records:
            duration = args.duration if args.count is None else (max(x["scheduled_s"] for x in records) if records else 0.0)
            f.write(json.dumps({"rate": args.rate, "duration_s": duration, **r}) + "\n")
    ok = sum(r.get("status") == 200 for r in records)
    print(f"rate {args.rate}/s: {len(records)} sent, {ok} answered -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
