"""The compiled functions: known rewards, batch == single, errors as exceptions."""

from __future__ import annotations

import threading

import pytest

import bcr
from conftest import bcr_response


@pytest.mark.parametrize(
    "gold, pred, expected",
    [
        ("2", "2.0", True),
        ("\\frac{1}{2}", "0.5", True),
        ("1/2", "so the answer is \\boxed{\\frac{1}{2}}", True),
        ("3", "\\boxed{4}", False),
        ("x+1", "1+x", True),
        ("", "", False),
        ("42", "", False),
        ("∞", "\\infty", True),
    ],
)
def test_grade_known_pairs(gold, pred, expected):
    assert bcr.grade(gold, pred) is expected


def test_parse_reads_labelled_answers_with_nested_braces():
    response = bcr_response(["\\frac{1}{2}", None, "\\{1, 2\\}"])
    assert bcr.parse(response, 3) == ["\\frac{1}{2}", None, "\\{1, 2\\}"]
    assert bcr.parse(response.replace("Answer", "Final"), 3, label="Final") == [
        "\\frac{1}{2}",
        None,
        "\\{1, 2\\}",
    ]


def test_parse_ignores_answers_inside_the_think_block_unless_asked():
    response = "<think>Answer 1: \\boxed{9}</think>\nAnswer 1: \\boxed{3}"
    assert bcr.parse(response, 1) == ["3"]
    only_think = "<think>Answer 1: \\boxed{9}</think> no answers after"
    assert bcr.parse(only_think, 1) == [None]
    assert bcr.parse(only_think, 1, after_think=False) == ["9"]


def test_score_of_known_responses():
    golds = ["3", "\\frac{1}{2}", "5"]
    full = bcr.score(bcr_response(["3", "0.5", "5"]), golds)
    assert full["accuracy"] == 1.0 and full["correct"] == [True, True, True]
    assert full["format"] == 1.0
    # reward = accuracy + 0.1 (the default format weight) * format
    assert full["reward"] == pytest.approx(1.1)
    two = bcr.score(bcr_response(["3", "0.5", "6"]), golds, format_weight=0.0)
    assert two["accuracy"] == pytest.approx(2 / 3) and two["reward"] == pytest.approx(2 / 3)
    assert two["answers"] == ["3", "0.5", "6"]
    none = bcr.score("I could not solve them.", golds)
    assert none["accuracy"] == 0.0 and none["answers"] == [None, None, None]
    assert none["reward"] <= 0.0
    assert set(full) >= {"reward", "accuracy", "correct", "answers", "format", "diagnostics"}


def test_length_penalty_lowers_the_reward_by_the_used_budget_share():
    response = bcr_response(["1"])
    plain = bcr.score(response, ["1"], format_weight=0.0)
    penalised = bcr.score(
        response, ["1"], format_weight=0.0, length_penalty=1.0, response_tokens=250, budget=1000
    )
    assert plain["reward"] - penalised["reward"] == pytest.approx(0.25)


def test_batches_equal_single_calls():
    golds = [["1", "2", "3"], ["x^2"], ["\\pi", "4"], ["7", "8", "9"]] * 25
    responses = [
        bcr_response(["1", "2", "4"]),
        bcr_response(["x^{2}"]),
        "nothing here",
        bcr_response(["7", None, "9"]),
    ] * 25
    batch = bcr.score_batch(responses, golds, format_weight=0.2)
    assert batch == [bcr.score(r, g, format_weight=0.2) for r, g in zip(responses, golds)]
    flat_golds = [g[0] for g in golds]
    assert bcr.grade_batch(flat_golds, responses) == [
        bcr.grade(g, r) for g, r in zip(flat_golds, responses)
    ]
    assert bcr.parse_batch(responses, 3) == [bcr.parse(r, 3) for r in responses]
    assert bcr.score_batch([], []) == [] and bcr.grade_batch([], []) == []


def test_batch_runs_while_other_threads_hold_the_interpreter():
    # score_batch releases the GIL: a Python thread keeps running meanwhile.
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(1)

    t = threading.Thread(target=ticker)
    t.start()
    try:
        bcr.score_batch([bcr_response(["1", "2", "3"])] * 20000, [["1", "2", "3"]] * 20000)
    finally:
        stop.set()
        t.join()
    assert ticks


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: bcr.score("x", []), "gold"),
        (lambda: bcr.score("x", ["1"], format_weight=float("nan")), "format weight"),
        (lambda: bcr.score("x", ["1"], format_weight=-0.5), "format weight"),
        (lambda: bcr.score("x", ["1"], length_penalty=1.0), "budget"),
        (lambda: bcr.score("x", ["1"], length_penalty=1.0, response_tokens=5, budget=0), "budget"),
        (lambda: bcr.parse("x", 0), "n"),
        (lambda: bcr.parse("x", 2, label=""), "label"),
        (lambda: bcr.score_batch(["a", "b"], [["1"]]), "2 responses but 1"),
        (lambda: bcr.score_batch(["a"], [["1"]], length_penalty=1.0, budget=10), "response_tokens"),
        (lambda: bcr.grade_batch(["1"], ["1", "2"]), "1 golds but 2"),
    ],
)
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_wrong_types_raise_type_error_not_a_crash():
    with pytest.raises(TypeError):
        bcr.grade(1, "1")
    with pytest.raises(TypeError):
        bcr.score("x", "1")  # a str is not a list of golds
    with pytest.raises((TypeError, OverflowError)):
        bcr.parse("x", -1)


def test_version_is_the_crate_version():
    assert bcr.__version__.count(".") == 2


def test_package_version_is_the_workspace_version():
    import importlib.metadata
    import re

    from conftest import REPO

    cargo = (REPO / "Cargo.toml").read_text()
    workspace = re.search(r'\[workspace\.package\][^\[]*?\nversion = "([^"]+)"', cargo).group(1)
    assert bcr.__version__ == workspace
    assert importlib.metadata.version("bcr") == workspace
