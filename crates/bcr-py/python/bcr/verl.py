"""BCR reward for verl (``custom_reward_function``).

verl calls ``compute_score(data_source=..., solution_str=..., ground_truth=...,
extra_info=...)`` once per response, with keyword arguments, plus any
``reward.custom_reward_function.reward_kwargs`` from the trainer config.
Point it here (verl 0.9's keys; earlier versions had them at the top level,
without ``reward.``, and 0.9 ignores that form)::

    reward.custom_reward_function.path=pkg://bcr.verl
    reward.custom_reward_function.name=compute_score
    +reward.custom_reward_function.reward_kwargs.format_weight=0.1

For a training reward in the strict BCR format (only ``Answer k: \\boxed{...}``
counts; an unlabelled or free-form answer scores 0) add
``+reward.custom_reward_function.reward_kwargs.require_label=true``. By default a
one-problem response without a box is read the way :func:`bcr.grade` reads it
(``free_form=True``: "The answer is 7", the last ``$...$``, the last number);
such an answer counts for accuracy but not for format.

``ground_truth`` is ``reward_model.ground_truth`` of the dataset row: the N
gold answers as a JSON array of strings (what ``bcr data build --format verl``
writes), a list, or one plain answer (N = 1); see :mod:`bcr._golds`.

The returned dict has the reward under ``score`` (verl puts it on the last
response token) and the per-problem details, which verl's reward managers
collect key by key into ``reward_extra_info``: numbers are averaged into the
``val-core``/``val-aux`` metrics (``acc`` is the one verl reports as
``val-core``), strings are kept for the generation dumps. Every call returns
the same keys whatever N is, because verl requires one value per sample for
each key.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Optional

from bcr import _bcr
from bcr._golds import golds_from_ground_truth

#: Reward options accepted through ``reward.custom_reward_function.reward_kwargs``.
REWARD_OPTIONS = (
    "format_weight",
    "label",
    "after_think",
    "positional_fallback",
    "require_label",
    "free_form",
)

#: Keyword arguments some verl reward managers add for model-based rewards;
#: a rule-based reward has no use for them.
_VERL_INTERNAL = ("reward_router_address", "reward_model_tokenizer")


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: Optional[Mapping[str, Any]] = None,
    **reward_kwargs: Any,
) -> Dict[str, Any]:
    """Scores one response to a pack of N problems, for verl.

    Returns ``score`` (the BCR reward: mean per-problem correctness plus the
    format term), ``acc`` (mean correctness), ``format`` (format compliance in
    [0, 1]), ``n``, ``n_correct``, ``n_answered`` and, as JSON strings,
    ``answers`` (the parsed answers, ``null`` where missing) and ``correct``.

    Raises ``ValueError`` when the ground truth holds no answers, when
    ``extra_info["n"]`` disagrees with the number of golds, or for an invalid
    reward option; ``TypeError`` for an unknown keyword argument.
    """
    options = _reward_options(reward_kwargs)
    golds = golds_from_ground_truth(ground_truth)
    _check_n(extra_info, len(golds), data_source)
    result = _bcr.score(solution_str, golds, **options)
    correct = result["correct"]
    answers = result["answers"]
    return {
        "score": float(result["reward"]),
        "acc": float(result["accuracy"]),
        "format": float(result["format"]),
        "n": len(golds),
        "n_correct": sum(1 for c in correct if c),
        "n_answered": sum(1 for a in answers if a is not None),
        "answers": json.dumps(answers, ensure_ascii=False),
        "correct": json.dumps(correct),
    }


def _reward_options(kwargs: Mapping[str, Any]) -> Dict[str, Any]:
    unknown = [k for k in kwargs if k not in REWARD_OPTIONS and k not in _VERL_INTERNAL]
    if "length_penalty" in unknown:
        raise TypeError(
            "compute_score: length_penalty needs the response length in tokens, "
            "which verl does not pass to a custom reward function; run the "
            "length-penalty ablation with `bcr train` (configs/length-penalty.toml)"
        )
    if unknown:
        raise TypeError(
            f"compute_score: unknown keyword argument(s) {sorted(unknown)}; "
            f"reward_kwargs may set {list(REWARD_OPTIONS)}"
        )
    return {k: v for k, v in kwargs.items() if k in REWARD_OPTIONS}


def _check_n(extra_info: Optional[Mapping[str, Any]], n: int, data_source: str) -> None:
    if not extra_info or extra_info.get("n") is None:
        return
    expected = int(extra_info["n"])
    if expected != n:
        raise ValueError(
            f"compute_score: data_source {data_source!r} index {extra_info.get('index')}: "
            f"extra_info.n is {expected} but ground_truth holds {n} answers"
        )
