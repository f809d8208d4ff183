"""Shared fixtures: the `bcr` binary (for `bcr data build`) and BCR responses."""

from __future__ import annotations

import os
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def bcr_bin() -> pathlib.Path:
    """The `bcr` binary: $BCR_BIN (set by scripts/test-python.sh), else target/debug/bcr."""
    env = os.environ.get("BCR_BIN")
    path = pathlib.Path(env) if env else REPO / "target" / "debug" / "bcr"
    if not path.is_file():
        if env:
            pytest.fail(f"BCR_BIN={env} does not exist")
        pytest.skip(f"{path} not built; run `cargo build -p bcr-cli` or scripts/test-python.sh")
    return path


def bcr_response(answers: list[str | None], label: str = "Answer") -> str:
    """A well-formed BCR response: some reasoning, then `label k: \\boxed{a}` per problem
    (a `None` answer leaves that problem unanswered)."""
    parts = ["<think>Let me work through each problem.</think>"]
    for k, a in enumerate(answers, start=1):
        parts.append(f"### Problem {k}\nSome steps for problem {k}.")
        if a is not None:
            parts.append(f"{label} {k}: \\boxed{{{a}}}")
    return "\n\n".join(parts)
