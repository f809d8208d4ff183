"""Per-call cost of bcr.verl.compute_score vs a Math-Verify reward on the same responses.

The Math-Verify side is what verl's own `math_verify` reward does for one
answer: build `math_metric(gold=LatexExtractionConfig, pred=Expr+Latex)` and
verify `\\boxed{gold}` against the whole response. For a pack of N problems
the equivalent cuts the response at the labels `Answer k:` and verifies each
piece against its gold, the reward being the mean (BCR's per-instance
accuracy without the format term).

Responses are built from MATH-500: the reference solutions as reasoning
(their own boxes unwrapped), then `Answer k: \\boxed{...}` with the gold answer for two problems in three
and a wrong one (gold + 1 or a mangled expression) for the third.

Times are the best of several runs (bcr: 10x --repeats, Math-Verify:
--repeats), per call, in one process on the same responses.

Usage: python bench.py [--packs 150] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import re
import statistics
import time

import bcr
import bcr.verl
from math_verify.metric import math_metric
from math_verify.parser import ExprExtractionConfig, LatexExtractionConfig

REPO = pathlib.Path(__file__).resolve().parents[2]

VERIFY = math_metric(
    gold_extraction_target=(LatexExtractionConfig(),),
    pred_extraction_target=(ExprExtractionConfig(), LatexExtractionConfig()),
)


def math_verify_score(response: str, gold: str) -> float:
    try:
        score, _ = VERIFY(["\\boxed{" + gold + "}"], [response])
    except Exception:  # Math-Verify raises on unparsable input; verl scores 0 then.
        score = 0.0
    return float(score)


def math_verify_pack(response: str, golds: list[str]) -> float:
    n = len(golds)
    if n == 1:
        return math_verify_score(response, golds[0])
    starts = [m.start() for k in range(1, n + 1) for m in [re.search(rf"Answer {k}:", response)] if m]
    if len(starts) != n:
        return 0.0
    pieces = [response[a:b] for a, b in zip(starts, starts[1:] + [len(response)])]
    return sum(math_verify_score(p, g) for p, g in zip(pieces, golds)) / n


def wrong(gold: str) -> str:
    return str(int(gold) + 1) if gold.lstrip("-").isdigit() else gold + "+1"


def responses(n: int, packs: int) -> list[tuple[str, list[str]]]:
    rows = [json.loads(line) for line in open(REPO / "data/benchmarks/math500.jsonl")]
    out = []
    for p in range(packs):
        probs = [rows[(p * n + k) % len(rows)] for k in range(n)]
        golds = [r["answer"] for r in probs]
        parts = []
        for k, r in enumerate(probs, start=1):
            answer = wrong(r["answer"]) if (p + k) % 3 == 0 else r["answer"]
            # The reference solution as reasoning, its own \boxed{} unwrapped so
            # that the labelled final answer is the only box.
            reasoning = r["solution"].replace("\\boxed{", "{")
            parts.append(f"### Problem {k}\n{reasoning}\n\nAnswer {k}: \\boxed{{{answer}}}")
        text = "\n\n".join(parts)
        out.append((text, golds))
    return out


def per_call_us(fn, data, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for text, golds in data:
            fn(text, golds)
        times.append((time.perf_counter() - t0) / len(data) * 1e6)
    # Best of the runs: on a shared machine, interference only ever adds time.
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packs", type=int, default=150)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    def bcr_fn(text, golds):
        return bcr.verl.compute_score("bcr", text, json.dumps(golds))["acc"]

    print(f"bcr {bcr.__version__}, Python {platform.python_version()}, {platform.machine()}")
    for n in (1, 3):
        data = responses(n, args.packs)
        agree = sum(abs(bcr_fn(t, g) - math_verify_pack(t, g)) < 1e-9 for t, g in data) / len(data)
        ours = per_call_us(bcr_fn, data, 10 * args.repeats)
        theirs = per_call_us(math_verify_pack, data, args.repeats)
        texts, golds = [t for t, _ in data], [g for _, g in data]
        bcr.score_batch(texts, golds)  # warm the thread pool
        batch = per_call_us(lambda ts, gs: bcr.score_batch(ts, gs), [(texts, golds)], 10 * args.repeats) / len(data)
        print(
            f"N={n}: {len(data)} responses, mean {statistics.mean(len(t) for t, _ in data):.0f} chars | "
            f"bcr.verl.compute_score {ours:.1f} us/call | math-verify {theirs:.1f} us/call | "
            f"ratio {theirs / ours:.1f}x | bcr.score_batch {batch:.1f} us/response | "
            f"accuracy agreement {agree:.1%}"
        )


if __name__ == "__main__":
    main()
