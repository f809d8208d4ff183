#!/usr/bin/env python3
"""Builds the labelled verifier corpus from the bundled benchmark gold answers.

Each gold answer is paired with rewrites that are equivalent by construction
(label true) and with variants that are wrong by construction (label false).
Only transformations whose truth is certain are applied, and each only to the
answer shapes it is sure about (an integer, a fraction of integers, a tuple of
plain numbers, ...). Output: JSONL of {"gold", "pred", "label", "kind", "source"}.

Usage: build_corpus.py DATA_DIR OUT.jsonl
"""

import json
import random
import re
import sys
from fractions import Fraction
from pathlib import Path

INT = re.compile(r"^-?\d+$")
DEC = re.compile(r"^-?\d*\.\d+$")
FRAC = re.compile(r"^(-?)\\[dt]?frac\{(\d+)\}\{(\d+)\}$")
SQRT = re.compile(r"^(\d*)\s*\\sqrt\{(\d+)\}$")
PI = re.compile(r"^(\d+)\s*\\pi$")
NUM = r"-?\d+(?:\.\d+)?"
TUPLE = re.compile(rf"^\(\s*({NUM})\s*,\s*({NUM})\s*\)$")
INTERVAL = re.compile(rf"^([\(\[])\s*({NUM}|-\\infty)\s*,\s*({NUM}|\\infty)\s*([\)\]])$")
LIST = re.compile(rf"^{NUM}(\s*,\s*{NUM})+$")
PMATRIX = re.compile(r"^\\begin\{pmatrix\}(.*)\\end\{pmatrix\}$", re.S)
POLY = re.compile(r"^[0-9a-z\^\s\+\-]+$")
CHOICE = re.compile(r"^\\text\{\(([A-E])\)\}$")
DEGREE = re.compile(r"^(\d+)\^\\circ$")
THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+$")
SCI = re.compile(r"\de[-+]?\d")
TEXT = re.compile(r"^\\text\{([A-Za-z ]+)\}$")


def last_boxed(s):
    at = s.rfind("\\boxed")
    if at < 0:
        return None
    i = s.find("{", at)
    depth, start = 0, i + 1
    for k in range(i, len(s)):
        if s[k] == "{":
            depth += 1
        elif s[k] == "}":
            depth -= 1
            if depth == 0:
                return s[start:k]
    return None


def load_golds(data):
    out = []
    for name in ["math500", "aime24", "aime25", "amc23"]:
        for line in open(data / f"{name}.jsonl", encoding="utf-8"):
            out.append((name, str(json.loads(line)["answer"]).strip()))
    for k, line in enumerate(open(data / "gsm8k.jsonl", encoding="utf-8")):
        if k % 4 == 0:
            ans = json.loads(line)["answer"].split("####")[-1].strip().replace(",", "")
            out.append(("gsm8k", ans))
    for line in open(data / "minerva_math.jsonl", encoding="utf-8"):
        b = last_boxed(json.loads(line)["solution"])
        if b:
            out.append(("minerva", b.strip()))
    for line in open(data / "olympiadbench.jsonl", encoding="utf-8"):
        fa = json.loads(line)["final_answer"]
        if fa:
            out.append(("olympiadbench", fa[0].strip().strip("$").strip()))
    return out


def fmt(fr):
    return str(fr.numerator) if fr.denominator == 1 else f"\\frac{{{fr.numerator}}}{{{fr.denominator}}}"


def terminating(fr):
    d = fr.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def dec(fr):
    """Exact decimal string of a terminating fraction."""
    sign = "-" if fr < 0 else ""
    fr = abs(fr)
    whole, rest = divmod(fr.numerator, fr.denominator)
    digits = ""
    while rest and len(digits) < 30:
        rest *= 10
        digits += str(rest // fr.denominator)
        rest %= fr.denominator
    return f"{sign}{whole}" + (f".{digits}" if digits else "")


def with_commas(n):
    return f"{n:,}"


def scalar_variants(g, rng):
    """(pred, label, kind) for numeric scalar golds."""
    eq, ne = [], []
    if INT.match(g):
        n = int(g)
        eq += [(f"{n}.0", "int-decimal"), (f"\\frac{{{2 * n}}}{{2}}", "int-fraction")]
        if abs(n) >= 1000:
            eq.append((with_commas(n), "thousands"))
            eq.append((with_commas(n).replace(",", ",\\!"), "thousands-latex"))
        eq.append((f"The answer is $\\boxed{{{n}}}$.", "response"))
        ne += [(str(n + 1), "off-by-one"), (str(-n if n else 1), "sign")]
        if n:
            ne.append((str(n * 10), "times-ten"))
        if 10 <= abs(n) and str(abs(n)) != str(abs(n))[::-1]:
            ne.append((("-" if n < 0 else "") + str(abs(n))[::-1], "digits-reversed"))
        return eq, ne
    if DEC.match(g):
        fr = Fraction(g)
        eq += [(fmt(fr), "decimal-fraction"), (g + "0", "trailing-zero")]
        last = g[-1]
        bumped = g[:-1] + str((int(last) + 1) % 10)
        ne += [(bumped, "last-digit"), (dec(-fr) if fr else "1", "sign")]
        return eq, ne
    m = FRAC.match(g)
    if m:
        sign, p, q = m.groups()
        fr = Fraction(int(p), int(q)) * (-1 if sign else 1)
        eq += [(f"{sign}{p}/{q}", "slash"), (f"{sign}\\dfrac{{{2 * int(p)}}}{{{2 * int(q)}}}", "unreduced")]
        if terminating(fr):
            eq.append((dec(fr), "fraction-decimal"))
        if int(p) != int(q) and fr != 0:
            ne.append((f"{sign}\\frac{{{q}}}{{{p}}}", "inverted"))
        ne += [(f"{sign}\\frac{{{int(p) + 1}}}{{{q}}}", "numerator+1"), (fmt(-fr), "sign")]
        return eq, ne
    m = SQRT.match(g)
    if m:
        k, r = int(m.group(1) or 1), int(m.group(2))
        eq.append((f"\\sqrt{{{k * k * r}}}", "sqrt-absorbed"))
        if r < 10:  # `\sqrt 13` is sqrt(1)*3 in LaTeX: only single digits lose their braces
            eq.append((f"{k}\\sqrt {r}" if k != 1 else f"\\sqrt {r}", "sqrt-brace"))
        ne += [(f"{k}\\sqrt{{{r + 1}}}", "radicand+1"), (f"{k * r}", "dropped-root")]
        return eq, ne
    m = PI.match(g)
    if m:
        n = int(m.group(1))
        eq += [(f"\\pi \\cdot {n}", "pi-commuted"), (f"{2 * n}\\pi/2", "pi-unreduced")]
        ne += [(str(n), "dropped-pi"), (f"{n + 1}\\pi", "pi-coefficient")]
        return eq, ne
    return None


def structure_variants(g, rng):
    eq, ne = [], []
    m = TUPLE.match(g)
    if m:
        a, b = m.groups()
        eq += [(f"\\left( {a}, {b} \\right)", "tuple-left-right"), (f"({a},{b})", "tuple-spacing")]
        if Fraction(a) != Fraction(b):
            ne.append((f"({b}, {a})", "tuple-swapped"))
        ne += [(f"\\{{{a},{b}\\}}", "tuple-as-set"), (f"({a}, {Fraction(b) + 1})", "tuple-entry")]
        if Fraction(a) < Fraction(b):
            eq.append((f"{a} < x < {b}", "open-interval-inequality"))
            ne.append((f"[{a}, {b}]", "closed-interval"))
        return eq, ne
    m = INTERVAL.match(g)
    if m and not TUPLE.match(g):
        lo_b, lo, hi, hi_b = m.groups()
        lo_rel = "\\le" if lo_b == "[" else "<"
        hi_rel = "\\le" if hi_b == "]" else "<"
        if lo == "-\\infty":
            ineq = f"x {hi_rel} {hi}"
        elif hi == "\\infty":
            ge = "\\ge" if lo_b == "[" else ">"
            ineq = f"x {ge} {lo}"
        else:
            ineq = f"{lo} {lo_rel} x {hi_rel} {hi}"
        eq += [(ineq, "interval-inequality"), (f"\\left{lo_b} {lo}, {hi} \\right{hi_b}", "interval-left-right")]
        flip = {"(": "[", "[": "("}
        if lo != "-\\infty":
            ne.append((f"{flip[lo_b]}{lo}, {hi}{hi_b}", "interval-closedness"))
        return eq, ne
    if LIST.match(g) and not THOUSANDS.match(g):
        items = [x.strip() for x in g.split(",")]
        if len(set(items)) == len(items):
            shuffled = items[:]
            while shuffled == items:
                rng.shuffle(shuffled)
            eq.append((", ".join(shuffled), "list-reordered"))
            eq.append((f"\\{{{', '.join(shuffled)}\\}}", "list-as-set"))
            ne.append((", ".join(items[:-1]), "list-missing"))
            ne.append((", ".join(items[:-1] + [str(Fraction(items[-1]) + 1)]), "list-entry"))
            return eq, ne
    m = PMATRIX.match(g)
    if m:
        body = m.group(1)
        eq.append((f"\\begin{{bmatrix}}{body}\\end{{bmatrix}}", "pmatrix-bmatrix"))
        cells = re.split(r"(&|\\\\)", body)
        for k, c in enumerate(cells):
            c2 = c.strip()
            if INT.match(c2) and c2 != "0":
                flipped = cells[:k] + [f" {-int(c2)} "] + cells[k + 1:]
                ne.append((f"\\begin{{pmatrix}}{''.join(flipped)}\\end{{pmatrix}}", "matrix-entry-sign"))
                break
        return eq, ne
    return None


def expression_variants(g, rng):
    if not POLY.match(g) or SCI.search(g) or not re.search(r"[a-z]", g) or re.search(r"[a-z]{2}", g):
        return None
    terms = re.findall(r"[+-]?\s*[^+-]+", g.replace(" ", ""))
    eq, ne = [], []
    if len(terms) > 1:
        rev = [t if t[0] in "+-" else "+" + t for t in reversed(terms)]
        s = "".join(rev).lstrip("+")
        eq.append((s, "terms-reordered"))
    eq.append((f"2({g})/2", "scaled"))
    ne.append((f"{g}+1", "plus-one"))
    ne.append((f"-({g})", "negated"))
    return eq, ne


def special_variants(g, rng):
    m = CHOICE.match(g)
    if m:
        c = m.group(1)
        other = "ABCDE"[("ABCDE".index(c) + 1) % 5]
        return [(c, "choice-letter"), (f"({c})", "choice-paren")], [(f"({other})", "choice-other")]
    m = DEGREE.match(g)
    if m:
        n = int(m.group(1))
        return [(str(n), "degree-dropped"), (f"{n}°", "degree-unicode")], [(f"{n + 1}^\\circ", "degree-other")]
    m = TEXT.match(g)
    if m:
        w = m.group(1)
        return [(w, "text-bare"), (w.upper(), "text-case")], [(w + "s" if not w.endswith("s") else w[:-1], "text-other")]
    return None


def variants(g, rng):
    for fn in (scalar_variants, structure_variants, expression_variants, special_variants):
        r = fn(g, rng)
        if r:
            return r
    # Anything else: only rewrites that cannot change the meaning, and a
    # changed digit (another number, hence another value).
    eq = [(f"The final answer is $\\boxed{{{g}}}$.", "response-generic")]
    if "\\frac" in g:
        eq.append((g.replace("\\frac", "\\dfrac"), "dfrac"))
    ne = []
    m = re.search(r"\d", g)
    if m and not re.search(r"\d\.\d*$|e-?\d", g):
        k = m.start()
        ne.append((g[:k] + str((int(g[k]) + 1) % 10) + g[k + 1:], "digit-changed"))
    return eq, ne


def main():
    data, out = Path(sys.argv[1]), Path(sys.argv[2])
    rng = random.Random(20260101)
    golds = load_golds(data)
    rows = []
    for source, g in golds:
        if not g:
            continue
        eq, ne = variants(g, rng)
        if INT.match(g):
            # Integers are most of the golds: keep two of each kind per answer.
            eq, ne = rng.sample(eq, min(2, len(eq))), rng.sample(ne, min(2, len(ne)))
        rows += [{"gold": g, "pred": p, "label": True, "kind": k, "source": source} for p, k in eq]
        rows += [{"gold": g, "pred": p, "label": False, "kind": k, "source": source} for p, k in ne]
    with open(out, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    kinds = {}
    for r in rows:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    print(f"{len(rows)} pairs from {len(golds)} gold answers ({sum(r['label'] for r in rows)} equivalent)")
    print("kinds: " + ", ".join(f"{k}={v}" for k, v in sorted(kinds.items())))


if __name__ == "__main__":
    main()
