#!/usr/bin/env python3
"""Compares two verdict files on the labelled corpus: correct verdicts of each,
agreement, and every pair where the two verifiers disagree.

Usage: compare.py CORPUS.jsonl BCR.jsonl MV.jsonl BCR_SUMMARY.json MV_SUMMARY.json
"""

import json
import sys


def load(p):
    return [json.loads(line) for line in open(p, encoding="utf-8")]


def main():
    corpus, bcr, mv = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[3])
    sb, sm = json.load(open(sys.argv[4])), json.load(open(sys.argv[5]))
    n = len(corpus)
    assert len(bcr) == n and len(mv) == n, "verdict files do not match the corpus"
    ok_b = sum(b["equivalent"] == c["label"] for c, b in zip(corpus, bcr))
    ok_m = sum(m["equivalent"] == c["label"] for c, m in zip(corpus, mv))
    agree = sum(b["equivalent"] == m["equivalent"] for b, m in zip(bcr, mv))
    print(f"corpus: {n} labelled pairs ({sum(c['label'] for c in corpus)} equivalent)")
    print(f"| verifier | pairs/s (1 thread) | p50 us | p99 us | max us | correct verdicts |")
    print(f"|---|---|---|---|---|---|")
    for name, s, ok in (("bcr", sb, ok_b), ("Math-Verify 0.9", sm, ok_m)):
        print(f"| {name} | {s['pairs_per_s']:.0f} | {s['p50_us']:.1f} | {s['p99_us']:.1f} | {s['max_us']:.0f} | {ok} / {n} ({100 * ok / n:.2f}%) |")
    print(f"throughput ratio bcr / Math-Verify: {sb['pairs_per_s'] / sm['pairs_per_s']:.0f}x")
    print(f"agreement bcr vs Math-Verify: {agree} / {n}")
    print("\ndisagreements (label, bcr, Math-Verify, kind, gold, pred):")
    for c, b, m in zip(corpus, bcr, mv):
        if b["equivalent"] != m["equivalent"]:
            who = "bcr right" if b["equivalent"] == c["label"] else "Math-Verify right"
            print(f"  [{who}] label={c['label']} bcr={b['equivalent']} mv={m['equivalent']} "
                  f"{c['kind']}: {json.dumps(c['gold'])} vs {json.dumps(c['pred'])}")
    print("\nboth wrong:")
    for c, b, m in zip(corpus, bcr, mv):
        if b["equivalent"] == m["equivalent"] != c["label"]:
            print(f"  label={c['label']} {c['kind']}: {json.dumps(c['gold'])} vs {json.dumps(c['pred'])}")


if __name__ == "__main__":
    main()
