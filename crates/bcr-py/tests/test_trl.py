"""bcr.trl.reward against TRL's GRPOTrainer reward function convention.

GRPOTrainer._calculate_rewards calls
``reward_func(prompts=..., completions=..., completion_ids=..., **columns,
trainer_state=..., log_extra=..., log_metric=...)`` (keywords only; every
dataset column but ``prompt``) and expects one float per completion.
"""

from __future__ import annotations

import json

import pytest

import bcr
import bcr.trl
from conftest import bcr_response


def call_like_trl(func, completions, extra=None, **columns):
    metrics = {}
    extra = {} if extra is None else extra
    result = func(
        prompts=["p"] * len(completions),
        completions=completions,
        completion_ids=[[1] * (10 * (i + 1)) for i in range(len(completions))],
        trainer_state=object(),
        log_extra=lambda column, values: extra.setdefault(column, []).extend(values),
        log_metric=lambda name, value: metrics.setdefault(name, value),
        **columns,
    )
    return result, metrics


def test_per_completion_columns_go_to_log_extra():
    texts = [bcr_response(["1", "2"]), bcr_response(["1", None])]
    extra = {}
    call_like_trl(bcr.trl.reward, texts, extra=extra, ground_truth=['["1", "2"]'] * 2)
    assert extra == {"bcr/accuracy": [1.0, 0.5], "bcr/format": [1.0, 0.5]}
    extra = {}
    func = bcr.trl.make_reward(length_penalty=1.0, budget=100)
    call_like_trl(func, texts, extra=extra, ground_truth=['["1", "2"]'] * 2)
    assert extra["bcr/response_tokens"] == [10, 20]


def test_plain_and_conversational_completions_score_the_same():
    texts = [bcr_response(["1", "2", "3"]), bcr_response(["1", None, "9"]), "nothing"]
    gts = [json.dumps(["1", "2", "3"])] * 3
    plain, metrics = call_like_trl(bcr.trl.reward, texts, ground_truth=gts)
    chat = [[{"role": "assistant", "content": t}] for t in texts]
    conversational, _ = call_like_trl(bcr.trl.reward, chat, ground_truth=gts)
    assert plain == conversational
    assert all(isinstance(r, float) for r in plain)
    assert plain == [bcr.score(t, ["1", "2", "3"])["reward"] for t in texts]
    assert plain[0] > plain[1] > plain[2]
    assert metrics["bcr/accuracy"] == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert set(metrics) == {"bcr/accuracy", "bcr/format"}


def test_golds_come_from_a_verl_reward_model_column_when_there_is_no_ground_truth():
    texts = [bcr_response(["4", "5"])]
    rows = [{"style": "rule", "ground_truth": json.dumps(["4", "5"])}]
    from_verl, _ = call_like_trl(bcr.trl.reward, texts, reward_model=rows, data_source=["bcr"])
    direct, _ = call_like_trl(bcr.trl.reward, texts, ground_truth=[["4", "5"]])
    assert from_verl == direct
    assert bcr.score(texts[0], ["4", "5"])["accuracy"] == 1.0


def test_only_assistant_messages_are_scored():
    completion = [
        {"role": "assistant", "content": "Answer 1: \\boxed{1}"},
        {"role": "tool", "content": "Answer 2: \\boxed{2}"},
        {"role": "assistant", "content": "Answer 2: \\boxed{3}"},
    ]
    [r], _ = call_like_trl(bcr.trl.make_reward(format_weight=0.0), [completion], ground_truth=[["1", "2"]])
    assert r == pytest.approx(0.5)


def test_require_label_gives_unlabelled_answers_zero():
    texts = ["The answer is 4.", "Answer 1: \\boxed{4}"]
    gts = ["4", "4"]
    default, _ = call_like_trl(bcr.trl.reward, texts, ground_truth=gts)
    assert default[0] == pytest.approx(1.0) and default[1] == pytest.approx(1.1)
    strict, _ = call_like_trl(bcr.trl.make_reward(require_label=True), texts, ground_truth=gts)
    assert strict[0] == 0.0 and strict[1] == pytest.approx(1.1)


def test_length_penalty_uses_completion_ids():
    func = bcr.trl.make_reward(format_weight=0.0, length_penalty=1.0, budget=100)
    texts = [bcr_response(["1"]), bcr_response(["1"])]
    rewards, _ = call_like_trl(func, texts, ground_truth=["1", "1"])
    # 10 and 20 tokens of a 100-token budget.
    assert rewards[0] - rewards[1] == pytest.approx(0.1)
    assert func.__name__ == "bcr_reward"


@pytest.mark.parametrize(
    "completions, columns, match",
    [
        (["a", "b"], {"ground_truth": ["1"]}, "2 completions but 1"),
        (["a"], {}, "no gold answers"),
        ([42], {"ground_truth": ["1"]}, r"completions\[0\]"),
        ([[{"role": "assistant"}]], {"ground_truth": ["1"]}, r"completions\[0\]\[0\]"),
        (["a"], {"reward_model": [{"style": "rule"}]}, r"reward_model\[0\]"),
    ],
)
def test_bad_inputs_raise_value_error(completions, columns, match):
    with pytest.raises(ValueError, match=match):
        call_like_trl(bcr.trl.reward, completions, **columns)


def test_length_penalty_needs_a_budget():
    with pytest.raises(ValueError, match="budget"):
        bcr.trl.make_reward(length_penalty=0.5)
