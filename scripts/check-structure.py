#!/usr/bin/env python3
"""Structure lint of the workspace's Rust sources (run by scripts/test.sh).

- No source file under crates/*/src is over 600 lines (STYLE.md: model files
  up to ~600, other modules up to ~400).
- No function outside tests is over 80 lines, except in
  crates/bcr-model/src/kernels/, whose SIMD kernels keep their tile loops
  whole (kernels/mod.rs says why).

A function's length runs from its `fn` line to its closing brace. Test
functions (`#[test]`, or inside a `#[cfg(test)]` module or a `tests.rs`
file) are exempt: their tables of cases read best whole.
Exit status 1 lists every offender as `file:line: what`.
"""
import pathlib
import re
import sys

MAX_FILE = 600
MAX_FN = 80
EXEMPT_DIRS = ("crates/bcr-model/src/kernels/",)
FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?(extern\s+\"C\"\s+)?fn\s+(\w+)")


def blank_literals(text):
    """The text with comments, strings and char literals blanked (newlines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            j = n if end < 0 else end + 1 + len(hashes)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "'" and re.match(r"'(\\.[^']*|[^\\'])'", text[i:i + 12]):
            m = re.match(r"'(\\.[^']*|[^\\'])'", text[i:i + 12])
            out.append(" " * len(m.group(0)))
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(lines):
    """Yields (name, first line index, last line index, in_test) of each fn with a body."""
    test_depth = None  # brace depth at which a #[cfg(test)] module opened
    depth = 0
    pending_test = False
    pending_cfg_test = False
    stack = []  # (name, start, depth_at_open, is_test)
    for i, line in enumerate(lines):
        code = line
        stripped = code.strip()
        if stripped.startswith("#[test]"):
            pending_test = True
        if stripped.startswith("#[cfg(test)]"):
            pending_cfg_test = True
        m = FN.match(code)
        if m and "{" in code[m.end():] + "".join(lines[i + 1:i + 3]):
            in_test = pending_test or test_depth is not None
            stack.append((m.group(7), i, depth, in_test, False))
            pending_test = False
        if pending_cfg_test and re.match(r"^\s*(pub(\(crate\))?\s+)?mod\s+\w+\s*\{", code):
            test_depth = depth
            pending_cfg_test = False
        for ch in code:
            if ch == "{":
                depth += 1
                if stack and not stack[-1][4] and depth == stack[-1][2] + 1:
                    name, start, d, t, _ = stack[-1]
                    stack[-1] = (name, start, d, t, True)
            elif ch == "}":
                depth -= 1
                if stack and stack[-1][4] and depth == stack[-1][2]:
                    name, start, _, t, _ = stack.pop()
                    yield name, start, i, t
                if test_depth is not None and depth == test_depth:
                    test_depth = None
        if stripped and not stripped.startswith("#") and not m:
            pending_test = pending_test and stripped.startswith("#")


def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    bad = []
    for path in sorted(root.glob("crates/*/src/**/*.rs")):
        rel = path.relative_to(root).as_posix()
        text = path.read_text(encoding="utf-8")
        lines = blank_literals(text).splitlines()
        if len(lines) > MAX_FILE:
            bad.append(f"{rel}:1: {len(lines)} lines (at most {MAX_FILE})")
        if rel.startswith(EXEMPT_DIRS):
            continue
        test_file = path.name == "tests.rs" or "/tests/" in rel
        for name, start, end, in_test in functions(lines):
            n = end - start + 1
            if n > MAX_FN and not in_test and not test_file:
                bad.append(f"{rel}:{start + 1}: fn {name} is {n} lines (at most {MAX_FN})")
    for b in bad:
        print(b)
    if bad:
        print(f"{len(bad)} structure problem(s)", file=sys.stderr)
        return 1
    print("structure: every file <= 600 lines, every non-test function <= 80 lines (kernels exempt)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
