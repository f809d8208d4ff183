#!/usr/bin/env python3
"""Runs Hugging Face Math-Verify on the corpus, one pair at a time on the main
thread (its signal-based timeouts work there), timing each pair (parse of
both sides + verify). Bare answers are given as `\\boxed{...}`, Math-Verify's
most reliable extraction path; whole responses (rows with "whole": true) are
given unchanged, so that Math-Verify's own extraction finds the answer.

Usage: math_verify_run.py CORPUS.jsonl VERDICTS.jsonl
"""

import json
import sys
import time

from math_verify import parse, verify


def wrap(s):
    return s if "\\boxed" in s else "\\boxed{" + s + "}"


def main():
    corpus, out = sys.argv[1], sys.argv[2]
    rows = [json.loads(line) for line in open(corpus, encoding="utf-8")]
    times, verdicts = [], []
    start = time.perf_counter()
    for r in rows:
        t = time.perf_counter()
        try:
            pred = r["pred"] if r.get("whole") else wrap(r["pred"])
            ok = bool(verify(parse(wrap(r["gold"])), parse(pred)))
        except Exception:  # Math-Verify raising counts as "not equivalent"
            ok = False
        times.append(time.perf_counter() - t)
        verdicts.append(ok)
    total = time.perf_counter() - start
    with open(out, "w", encoding="utf-8") as f:
        for v, t in zip(verdicts, times):
            f.write(json.dumps({"equivalent": v, "seconds": t}) + "\n")
    s = sorted(times)
    q = lambda p: s[round((len(s) - 1) * p)]
    print(json.dumps({"pairs": len(rows), "pairs_per_s": len(rows) / total,
                      "p50_us": q(0.5) * 1e6, "p99_us": q(0.99) * 1e6, "max_us": s[-1] * 1e6}))


if __name__ == "__main__":
    main()
