#!/usr/bin/env python3
"""Compares two verdict files on a verifier corpus: correct verdicts of each on
the labelled rows, agreement on all rows, agreement per kind of row, and every
pair where the two verifiers disagree. Rows with "label": null (model outputs
nobody has labelled) count for agreement and speed only.

Usage: compare.py CORPUS.jsonl BCR.jsonl MV.jsonl BCR_SUMMARY.json MV_SUMMARY.json [TITLE]
"""

import json
import sys
from collections import defaultdict


def load(p):
    return [json.loads(line) for line in open(p, encoding="utf-8")]


def main():
    corpus, bcr, mv = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[3])
    sb, sm = json.load(open(sys.argv[4])), json.load(open(sys.argv[5]))
    title = sys.argv[6] if len(sys.argv) > 6 else "corpus"
    n = len(corpus)
    assert len(bcr) == n and len(mv) == n, "verdict files do not match the corpus"
    labelled = [(c, b, m) for c, b, m in zip(corpus, bcr, mv) if c["label"] is not None]
    nl = len(labelled)
    ok_b = sum(b["equivalent"] == c["label"] for c, b, _ in labelled)
    ok_m = sum(m["equivalent"] == c["label"] for c, _, m in labelled)
    agree = sum(b["equivalent"] == m["equivalent"] for b, m in zip(bcr, mv))
    print(f"## {title}")
    print(f"{n} pairs, {nl} labelled ({sum(bool(c['label']) for c, _, _ in labelled)} equivalent)")
    print("| verifier | pairs/s (1 thread) | p50 us | p99 us | max us | correct verdicts (labelled) |")
    print("|---|---|---|---|---|---|")
    for name, s, ok in (("bcr", sb, ok_b), ("Math-Verify 0.9", sm, ok_m)):
        share = f"{ok} / {nl} ({100 * ok / nl:.2f}%)" if nl else "-"
        print(f"| {name} | {s['pairs_per_s']:.0f} | {s['p50_us']:.1f} | {s['p99_us']:.1f} | {s['max_us']:.0f} | {share} |")
    print(f"throughput ratio bcr / Math-Verify: {sb['pairs_per_s'] / sm['pairs_per_s']:.0f}x")
    print(f"agreement bcr vs Math-Verify: {agree} / {n} ({100 * agree / n:.2f}%)")
    kinds = defaultdict(lambda: [0, 0, 0, 0])  # rows, agree, bcr right, mv right
    for c, b, m in zip(corpus, bcr, mv):
        k = kinds[c.get("kind", "-")]
        k[0] += 1
        k[1] += b["equivalent"] == m["equivalent"]
        if c["label"] is not None:
            k[2] += b["equivalent"] == c["label"]
            k[3] += m["equivalent"] == c["label"]
    print("\n| kind | pairs | agree | bcr correct | Math-Verify correct |")
    print("|---|---|---|---|---|")
    for kind, (rows, ag, rb, rm) in sorted(kinds.items()):
        unlabelled = all(c["label"] is None for c in corpus if c.get("kind", "-") == kind)
        cb, cm = ("-", "-") if unlabelled else (rb, rm)
        print(f"| {kind} | {rows} | {ag} | {cb} | {cm} |")
    print("\ndisagreements (label, bcr, Math-Verify, kind, gold, pred):")
    for c, b, m in zip(corpus, bcr, mv):
        if b["equivalent"] != m["equivalent"]:
            if c["label"] is None:
                who = "unlabelled"
            else:
                who = "bcr right" if b["equivalent"] == c["label"] else "Math-Verify right"
            pred = c["pred"] if len(c["pred"]) <= 300 else "..." + c["pred"][-300:]
            print(f"  [{who}] label={c['label']} bcr={b['equivalent']} mv={m['equivalent']} "
                  f"{c.get('kind', '-')}: {json.dumps(c['gold'])} vs {json.dumps(pred)}")
    print("\nboth wrong:")
    for c, b, m in zip(corpus, bcr, mv):
        if c["label"] is not None and b["equivalent"] == m["equivalent"] != c["label"]:
            pred = c["pred"] if len(c["pred"]) <= 300 else "..." + c["pred"][-300:]
            print(f"  label={c['label']} {c.get('kind', '-')}: {json.dumps(c['gold'])} vs {json.dumps(pred)}")


if __name__ == "__main__":
    main()
