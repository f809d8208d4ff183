#!/usr/bin/env python3
"""Summarize a `bench/serve/run.sh` output directory.

Reads raw/<policy>/rate-<R>.jsonl (one line per request, from loadgen.py) and
writes summary.json, summary.md (one row per policy and offered rate, plus each
policy's sustainable throughput: the highest offered rate whose p95 latency is
under the SLO with no errors), p95_vs_load.png and accuracy_vs_tokens.png.
"""
import argparse
import glob
import json
import math
import os


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", help="output directory of run.sh (holds raw/)")
    p.add_argument("--slo-ms", type=float, required=True, help="p95 latency target in milliseconds")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--eval", help="a `bcr eval` summary.json of the same model and settings: compare each "
                   "fixed N (and passthrough as N=1) with its accuracy and tokens per problem")
    return p.parse_args()


def percentile(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, math.ceil(q / 100 * len(xs)) - 1))
    return xs[k]


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def pack_sizes(ok):
    sizes = [int(r["pack"].split("/")[-1]) for r in ok if r.get("pack") and "/" in r["pack"]]
    return sum(sizes) / len(sizes) if sizes else None


def summarize_cell(policy, rate, recs):
    ok = [r for r in recs if r.get("status") == 200]
    lat = [r["latency_s"] * 1000 for r in ok]
    graded = [r for r in ok if "correct" in r]
    acc = sum(r["correct"] for r in graded) / len(graded) if graded else None
    # the load window: from the start of the arrival schedule to the end of
    # the sending period or the last reply, whichever is later
    span = max([r["send_s"] + r["latency_s"] for r in recs] + [recs[0]["duration_s"] if recs else 0])
    usage = [r.get("usage") or {} for r in ok]
    late = [r["send_s"] - r["scheduled_s"] for r in recs]
    return {
        "policy": policy,
        "rate": rate,
        "sent": len(recs),
        "answered": len(ok),
        "answers_per_s": len(ok) / span if span > 0 else None,
        "prompt_tokens_per_answer": sum(u.get("prompt_tokens", 0) for u in usage) / len(ok) if ok else None,
        "completion_tokens_per_answer": sum(u.get("completion_tokens", 0) for u in usage) / len(ok) if ok else None,
        "p50_ms": percentile(lat, 50),
        "p95_ms": percentile(lat, 95),
        "p99_ms": percentile(lat, 99),
        "n_429": sum(r.get("status") == 429 for r in recs),
        "errors": sum(r.get("status") not in (200, 429) for r in recs),
        "accuracy": acc,
        "accuracy_se": math.sqrt(acc * (1 - acc) / len(graded)) if graded else None,
        "mean_pack_n": pack_sizes(ok),
        "client_lag_p99_ms": percentile(late, 99) * 1000 if late else None,
    }


def load_cells(root):
    cells = []
    for path in sorted(glob.glob(os.path.join(root, "raw", "*", "rate-*.jsonl"))):
        policy = os.path.basename(os.path.dirname(path))
        rate = float(os.path.basename(path)[len("rate-"):-len(".jsonl")])
        cells.append(summarize_cell(policy, rate, read_jsonl(path)))
    return sorted(cells, key=lambda c: (policy_order(c["policy"]), c["rate"]))


def policy_order(name):
    """passthrough, then fixed-K by K, then the rest by name."""
    if name == "passthrough":
        return (0, 0, "")
    if name.startswith("fixed-") and name[6:].isdigit():
        return (1, int(name[6:]), "")
    return (2, 0, name)


def sustainable(cells, slo_ms):
    """Per policy: the highest offered rate with p95 under the SLO and no errors or 429s."""
    best = {}
    for c in cells:
        good = c["p95_ms"] is not None and c["p95_ms"] <= slo_ms and c["errors"] == 0 and c["n_429"] == 0
        if good and c["rate"] > best.get(c["policy"], 0):
            best[c["policy"]] = c["rate"]
    return {p: best.get(p) for p in sorted({c["policy"] for c in cells}, key=policy_order)}


def fmt(x, nd=1):
    return "-" if x is None else f"{x:.{nd}f}"


def markdown(cells, sust, slo_ms):
    head = ("| policy | offered/s | sent | answers/s | prompt tok/ans | compl tok/ans | p50 ms | p95 ms | p99 ms "
            "| 429 | errors | accuracy ± s.e. | mean N | client lag p99 ms |")
    lines = [f"SLO: p95 <= {slo_ms:.0f} ms", "", head, "|" + "---|" * 14]
    for c in cells:
        acc = "-" if c["accuracy"] is None else f"{100 * c['accuracy']:.1f} ± {100 * c['accuracy_se']:.1f}"
        lines.append(
            f"| {c['policy']} | {fmt(c['rate'], 2)} | {c['sent']} | {fmt(c['answers_per_s'], 2)} "
            f"| {fmt(c['prompt_tokens_per_answer'])} | {fmt(c['completion_tokens_per_answer'])} "
            f"| {fmt(c['p50_ms'], 0)} | {fmt(c['p95_ms'], 0)} | {fmt(c['p99_ms'], 0)} | {c['n_429']} | {c['errors']} "
            f"| {acc} | {fmt(c['mean_pack_n'], 2)} | {fmt(c['client_lag_p99_ms'], 1)} |")
    lines += ["", "| policy | sustainable offered rate (req/s) |", "|---|---|"]
    lines += [f"| {p} | {fmt(r, 2) if r else 'none of the rates'} |" for p, r in sust.items()]
    return "\n".join(lines) + "\n"


def plot(cells, root, slo_ms):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    policies = sorted({c["policy"] for c in cells}, key=policy_order)
    fig, ax = plt.subplots(figsize=(6, 4))
    for p in policies:
        pts = [(c["rate"], c["p95_ms"]) for c in cells if c["policy"] == p and c["p95_ms"] is not None]
        ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o", label=p)
    ax.axhline(slo_ms, color="gray", ls="--", label="SLO")
    ax.set(xlabel="offered load (req/s)", ylabel="p95 latency (ms)", yscale="log", title="p95 latency vs offered load")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(root, "p95_vs_load.png"), dpi=120)
    fig, ax = plt.subplots(figsize=(6, 4))
    for p in policies:
        pts = [c for c in cells if c["policy"] == p and c["accuracy"] is not None]
        ax.errorbar([c["prompt_tokens_per_answer"] + c["completion_tokens_per_answer"] for c in pts],
                    [100 * c["accuracy"] for c in pts], yerr=[100 * c["accuracy_se"] for c in pts],
                    fmt="o", capsize=3, label=p)
    ax.set(xlabel="tokens per answer (prompt + completion)", ylabel="accuracy (%)", title="accuracy vs tokens per answer")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(root, "accuracy_vs_tokens.png"), dpi=120)


def eval_rows(path):
    """(n -> (accuracy, se, tokens per problem, se)) of a `bcr eval` summary (benchmarks averaged)."""
    with open(path) as f:
        rows = json.load(f)["rows"]
    by_n = {}
    for r in rows:
        by_n.setdefault(r["n"], []).append(r)
    mean = lambda rs, k: sum(r[k] for r in rs) / len(rs)
    return {n: tuple(mean(rs, k) for k in ("accuracy", "accuracy_se", "tokens_per_problem", "tokens_per_problem_se"))
            for n, rs in by_n.items()}


def against_eval(cells, ev):
    """Markdown: every fixed-N cell (and passthrough, N=1) against `bcr eval` at that N; differences in
    units of the two standard errors combined."""
    lines = ["", "Against `bcr eval` of the same model at the same N (difference / combined s.e.; a fixed-K "
             "cell is comparable where its mean N is K, i.e. its packs were full):", "",
             "| policy | offered/s | accuracy (serve) | accuracy (eval) | diff / s.e. "
             "| compl tok/ans (serve) | tok/problem (eval) | mean N (serve) |", "|" + "---|" * 8]
    for c in cells:
        n = 1 if c["policy"] == "passthrough" else (int(c["policy"][6:]) if c["policy"].startswith("fixed-") else None)
        if n is None or n not in ev or c["accuracy"] is None:
            continue
        acc, se, tok, _ = ev[n]
        z = (c["accuracy"] - acc) / math.sqrt(c["accuracy_se"] ** 2 + se ** 2)
        lines.append(f"| {c['policy']} | {fmt(c['rate'], 2)} | {100 * c['accuracy']:.1f} ± {100 * c['accuracy_se']:.1f} "
                     f"| {100 * acc:.1f} ± {100 * se:.1f} | {z:+.2f} | {fmt(c['completion_tokens_per_answer'])} "
                     f"| {tok:.1f} | {fmt(c['mean_pack_n'], 2)} |")
    return "\n".join(lines) + "\n"


def main():
    args = parse_args()
    cells = load_cells(args.dir)
    sust = sustainable(cells, args.slo_ms)
    with open(os.path.join(args.dir, "summary.json"), "w") as f:
        json.dump({"slo_ms": args.slo_ms, "cells": cells, "sustainable_rate": sust}, f, indent=2)
    md = markdown(cells, sust, args.slo_ms)
    if args.eval:
        md += against_eval(cells, eval_rows(args.eval))
    with open(os.path.join(args.dir, "summary.md"), "w") as f:
        f.write(md)
    if not args.no_plots:
        plot(cells, args.dir, args.slo_ms)
    print(md)


if __name__ == "__main__":
    main()
