#!/usr/bin/env python3
"""Builds the whole-response verifier corpus: each row pairs a gold answer with a
whole response (reasoning, then an answer written the way models write it).

Sources, each row tagged with `kind`:
  boxed-solution     MATH-500 worked solutions as written (the answer boxed)       label true
  freeform-solution  the same solutions with every box removed, some ending in a
                     restated answer ("The final answer is ..."), some inside
                     <think>...</think>                                           label true
  gsm8k-####         GSM8K rationales ending in `#### N`                           label true
  gsm8k-prose        GSM8K rationales with the `####` line replaced by a sentence  label true
  mismatched-*       a response of one problem against the gold of another        label false
  hand-written       the free-form rows of crates/bcr-core/tests/fixtures/verifier/freeform.tsv
                     (hand-written responses, labelled, hard negatives included)
  model-<name>       model outputs (MODEL_OUTPUTS.jsonl files given on the command
                     line: {"gold", "text", "model"} per line); no label: these
                     rows measure agreement with Math-Verify and speed only

Labels say whether the response states the gold answer; they are true by
construction for the rewritten solutions (the answer is still in the text).
Output: JSONL of {"gold", "pred", "label" (true | false | null), "kind", "whole": true}.

Usage: build_responses.py DATA_DIR FIXTURE.tsv OUT.jsonl [MODEL_OUTPUTS.jsonl ...]
"""

import json
import random
import re
import sys
from pathlib import Path


def unbox(s):
    """Removes `\\boxed{...}` wrappers (nested braces kept) from a solution."""
    out, i = [], 0
    while True:
        at = s.find("\\boxed{", i)
        if at < 0:
            out.append(s[i:])
            return "".join(out)
        out.append(s[i:at])
        depth, k = 0, at + len("\\boxed")
        while k < len(s):
            depth += {"{": 1, "}": -1}.get(s[k], 0)
            if depth == 0:
                break
            k += 1
        out.append(s[at + len("\\boxed{"):k])
        i = k + 1


def main():
    data, fixture, out_path = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    rng = random.Random(21)
    rows = []

    def add(gold, pred, label, kind):
        rows.append({"gold": gold, "pred": pred, "label": label, "kind": kind, "whole": True})

    math = [json.loads(l) for l in open(data / "math500.jsonl", encoding="utf-8")]
    for k, r in enumerate(math[:250]):
        sol, gold = r["solution"], r["answer"]
        add(gold, sol, True, "boxed-solution")
        free = unbox(sol)
        if k % 3 == 0:
            free = f"{free}\n\nThe final answer is ${gold}$."
        elif k % 3 == 1:
            free = f"<think>\nLet me check the steps once more.\n</think>\n\n{free}"
        add(gold, free, True, "freeform-solution")
        other = math[(k * 7 + 3) % len(math)]["answer"]
        if other.strip() != gold.strip():
            add(other, free, False, "mismatched-solution")

    gsm = [json.loads(l) for l in open(data / "gsm8k.jsonl", encoding="utf-8")]
    picked = gsm[::8][:160]
    for k, r in enumerate(picked):
        text = re.sub(r"<<[^>]*>>", "", r["answer"])
        body, gold = text.split("####")[0].rstrip(), text.split("####")[-1].strip().replace(",", "")
        add(gold, text, True, "gsm8k-####")
        phrase = rng.choice(["So the answer is {}.", "Therefore, she has {} in total.", "Final answer: {}"])
        add(gold, f"{body}\n{phrase.format(gold)}", True, "gsm8k-prose")
        wrong = picked[(k + 1) % len(picked)]["answer"].split("####")[-1].strip().replace(",", "")
        if wrong != gold:
            add(wrong, f"{body}\n{phrase.format(gold)}", False, "mismatched-gsm8k")

    for line in open(fixture, encoding="utf-8"):
        f = line.rstrip("\n").split("\t")
        if len(f) != 4 or line.startswith(("#", "gold\t")) or f[3] != "free-form":
            continue
        add(f[0].replace("⏎", "\n"), f[1].replace("⏎", "\n"), f[2] == "yes", "hand-written")

    for path in sys.argv[4:]:
        for line in open(path, encoding="utf-8"):
            r = json.loads(line)
            add(r["gold"], r["text"], None, f"model-{r['model']}")

    with open(out_path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    kinds = {}
    for r in rows:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    print(f"{len(rows)} whole-response pairs: {kinds}", file=sys.stderr)


if __name__ == "__main__":
    main()
