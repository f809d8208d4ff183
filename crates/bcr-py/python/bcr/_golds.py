"""The gold answers of a pack, as stored in a dataset's ground-truth field.

``bcr data build --format verl`` writes ``reward_model.ground_truth`` as a JSON
array of strings, one gold answer per problem in prompt order, e.g.
``'["3", "\\\\frac{1}{2}", "[0, 1)"]'``. The rule that reads it back:

- a ``str`` that parses as a JSON array *whose elements are all strings* is the
  list of the N golds;
- any other ``str`` is one gold answer (N = 1), so verl's and TRL's ordinary
  single-answer math datasets work unchanged -- including answers that look
  like JSON, such as the interval ``[1, 2]`` (its elements are numbers);
- a ``list``/``tuple`` (or anything with ``tolist()``, like the numpy arrays
  verl's ``DataProto`` holds) is the list of golds; numbers are written with
  ``str``.
"""

from __future__ import annotations

import json
from typing import Any, List


def golds_from_ground_truth(ground_truth: Any) -> List[str]:
    """Returns the gold answers held by ``ground_truth`` (see the module doc).

    Raises ``ValueError`` for an empty list, a ``None`` gold, or a type that
    holds no answers.
    """
    if isinstance(ground_truth, str):
        golds = _json_string_list(ground_truth)
        return golds if golds is not None else [ground_truth]
    if hasattr(ground_truth, "tolist") and not isinstance(ground_truth, (list, tuple)):
        ground_truth = ground_truth.tolist()
    if isinstance(ground_truth, (list, tuple)):
        if not ground_truth:
            raise ValueError("ground_truth: empty list, expected one gold answer per problem")
        return [_gold_text(i, g) for i, g in enumerate(ground_truth)]
    if isinstance(ground_truth, (int, float)) and not isinstance(ground_truth, bool):
        return [str(ground_truth)]
    raise ValueError(
        f"ground_truth: expected a JSON list string, a string or a list of strings, "
        f"found {type(ground_truth).__name__}: {ground_truth!r:.80}"
    )


def _json_string_list(text: str) -> List[str] | None:
    stripped = text.strip()
    if not (stripped.startswith("[") and stripped.endswith("]")):
        return None
    try:
        value = json.loads(stripped)
    except ValueError:
        return None
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    return None


def _gold_text(index: int, gold: Any) -> str:
    if isinstance(gold, str):
        return gold
    if isinstance(gold, (int, float)) and not isinstance(gold, bool):
        return str(gold)
    raise ValueError(
        f"ground_truth[{index}]: expected a string or a number, "
        f"found {type(gold).__name__}: {gold!r:.80}"
    )
