"""bcr.verl.compute_score against verl's custom reward function contract.

verl's reward managers (verl/workers/reward_manager/naive.py and the reward
loop's naive manager) call
``compute_score(data_source=..., solution_str=..., ground_truth=..., extra_info=...)``
with keywords only, plus ``custom_reward_function.reward_kwargs``; a dict
result must hold ``score``, and every key is collected into per-sample lists
(``reward_extra_info``) whose lengths must all equal the batch size.
"""

from __future__ import annotations

import inspect
import json
from collections import defaultdict

import pytest

import bcr
import bcr.verl
from conftest import bcr_response


class NumpyLike:
    """What verl's DataProto holds for a list column: an object with tolist()."""

    def __init__(self, values):
        self._values = list(values)

    def tolist(self):
        return list(self._values)


def call_like_verl(solution_str, ground_truth, extra_info=None, **reward_kwargs):
    # Keyword names exactly as verl passes them.
    return bcr.verl.compute_score(
        data_source="bcr",
        solution_str=solution_str,
        ground_truth=ground_truth,
        extra_info=extra_info if extra_info is not None else {"index": 0, "num_turns": None},
        **reward_kwargs,
    )


def test_signature_has_verls_keyword_names():
    params = list(inspect.signature(bcr.verl.compute_score).parameters.values())
    assert [p.name for p in params[:4]] == ["data_source", "solution_str", "ground_truth", "extra_info"]
    assert params[3].default is None
    assert params[4].kind is inspect.Parameter.VAR_KEYWORD


@pytest.mark.parametrize(
    "ground_truth",
    [
        json.dumps(["3", "\\frac{1}{2}", "x+1"]),
        ["3", "\\frac{1}{2}", "x+1"],
        ("3", "\\frac{1}{2}", "x+1"),
        NumpyLike(["3", "\\frac{1}{2}", "x+1"]),
    ],
)
def test_all_ground_truth_forms_score_the_same(ground_truth):
    response = bcr_response(["3", "0.5", "1+x"])
    result = call_like_verl(response, ground_truth, {"index": 4, "n": 3})
    assert result["score"] == bcr.score(response, ["3", "\\frac{1}{2}", "x+1"])["reward"]
    assert result["acc"] == 1.0
    assert result["n"] == 3 and result["n_correct"] == 3 and result["n_answered"] == 3


def test_partial_answers_are_reported_per_problem():
    response = bcr_response(["3", None, "7"])
    result = call_like_verl(response, json.dumps(["3", "4", "5"]))
    assert result["acc"] == pytest.approx(1 / 3)
    assert json.loads(result["correct"]) == [True, False, False]
    assert json.loads(result["answers"]) == ["3", None, "7"]
    assert result["n_answered"] == 2 and result["n_correct"] == 1
    assert result["score"] < 1.0


def test_a_plain_string_is_one_gold_answer():
    # verl's ordinary single-answer math datasets, and answers that look like JSON.
    for gold, answer in [("42", "42"), ("[1, 2]", "[1, 2]"), ("[0, 1)", "[0,1)")]:
        result = call_like_verl(f"So the answer is \\boxed{{{answer}}}.", gold)
        assert result["n"] == 1
        assert result["acc"] == 1.0, gold


def test_keys_do_not_depend_on_n_so_verl_can_collect_them():
    # verl appends every key of every sample to reward_extra_info[key] and
    # asserts that each list has one value per sample.
    samples = [
        (bcr_response(["1"]), json.dumps(["1"])),
        (bcr_response(["1", "2", "3"]), json.dumps(["1", "2", "4"])),
        ("no answer at all", json.dumps(["1", "2", "3", "4", "5"])),
    ]
    extra = defaultdict(list)
    for response, gt in samples:
        result = call_like_verl(response, gt)
        assert isinstance(result["score"], float)
        for key, value in result.items():
            extra[key].append(value)
    assert {len(v) for v in extra.values()} == {len(samples)}
    # Numbers are averaged into validation metrics; the rest must be strings,
    # which verl's process_validation_metrics skips.
    for key, values in extra.items():
        assert all(isinstance(v, (int, float, str)) and not isinstance(v, bool) for v in values), key


def test_reward_kwargs_reach_the_reward():
    response = "Answer 1: \\boxed{2}"  # no reasoning block, answer correct
    base = call_like_verl(response, json.dumps(["2"]), format_weight=0.0)
    assert base["score"] == pytest.approx(base["acc"])
    labelled = call_like_verl("Final 1: \\boxed{2}", json.dumps(["2"]), label="Final", format_weight=0.0)
    assert labelled["acc"] == 1.0


def test_free_form_answers_count_unless_the_label_is_required():
    # One problem, no box: the verifier's free-form extraction reads "17".
    free = call_like_verl("So the smallest $k$ is 17.", json.dumps(["17"]), format_weight=0.1)
    assert free["acc"] == 1.0 and free["format"] == 0.0
    assert free["score"] == pytest.approx(1.0)
    strict = call_like_verl("So the smallest $k$ is 17.", json.dumps(["17"]), require_label=True)
    assert strict["score"] == 0.0 and strict["n_answered"] == 0
    unlabelled = call_like_verl("\\boxed{17}", json.dumps(["17"]), require_label=True)
    assert unlabelled["score"] == 0.0
    boxes_only = call_like_verl("So the smallest $k$ is 17.", json.dumps(["17"]), free_form=False)
    assert boxes_only["acc"] == 0.0
    labelled = call_like_verl(bcr_response(["17"]), json.dumps(["17"]), require_label=True)
    assert labelled["acc"] == 1.0


def test_verl_internal_kwargs_are_accepted():
    result = call_like_verl(
        bcr_response(["5"]), ["5"], reward_router_address=None, reward_model_tokenizer=None
    )
    assert result["acc"] == 1.0


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"format_wieght": 0.1}, TypeError, "unknown keyword"),
        ({"length_penalty": 0.5}, TypeError, "length_penalty"),
        ({"format_weight": float("nan")}, ValueError, "format weight"),
    ],
)
def test_bad_reward_kwargs_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        call_like_verl(bcr_response(["1"]), ["1"], **kwargs)


@pytest.mark.parametrize(
    "ground_truth, extra_info, match",
    [
        ([], None, "empty"),
        (None, None, "ground_truth"),
        ([["nested"]], None, r"ground_truth\[0\]"),
        (json.dumps(["1", "2"]), {"index": 9, "n": 3}, "extra_info.n is 3"),
    ],
)
def test_bad_ground_truth_raises_value_error(ground_truth, extra_info, match):
    with pytest.raises(ValueError, match=match):
        call_like_verl(bcr_response(["1", "2"]), ground_truth, extra_info)


def test_loads_the_way_verl_loads_a_custom_reward_file():
    # verl's load_extern_object: a `pkg://` path is imported by name; a file
    # path is executed as a fresh module; then getattr(module, name), wrapped
    # so that custom_reward_function.reward_kwargs are appended as keywords.
    import functools
    import importlib
    import importlib.util

    by_pkg = getattr(importlib.import_module("bcr.verl"), "compute_score")
    spec = importlib.util.spec_from_file_location("custom_module", bcr.verl.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    by_file = getattr(module, "compute_score")

    def call_with_kwargs(raw_fn, extra_kwargs, *args, **kwargs):
        return raw_fn(*args, **kwargs, **extra_kwargs)

    for raw in (by_pkg, by_file):
        fn = functools.partial(call_with_kwargs, raw, {"format_weight": 0.5})
        result = fn(
            data_source="bcr",
            solution_str=bcr_response(["2", "9"]),
            ground_truth=json.dumps(["2", "3"]),
            extra_info={"index": 0, "n": 2, "num_turns": None, "rollout_reward_scores": {}},
        )
        assert result["acc"] == 0.5
        assert result["score"] == pytest.approx(0.5 + 0.5 * result["format"])
