"""BCR reward for TRL's ``GRPOTrainer``.

TRL calls each reward function with keyword arguments only::

    reward_func(prompts=..., completions=..., completion_ids=..., <every dataset
                column but "prompt">, trainer_state=..., log_extra=..., log_metric=...)

and expects one float per completion. Use :func:`reward` directly, or
:func:`make_reward` for other options::

    from trl import GRPOTrainer
    import bcr.trl
    trainer = GRPOTrainer(model=..., reward_funcs=[bcr.trl.reward], train_dataset=ds)

Completions may be plain text (standard format) or lists of chat messages
(conversational format: the ``content`` of the assistant messages is scored).
The gold answers come from a ``ground_truth`` column (a JSON array of strings,
a list, or one plain answer; see :mod:`bcr._golds`) or, when there is none,
from the ``reward_model`` column of a verl dataset written by
``bcr data build --format verl``, so the same Parquet file serves both.
"""

from __future__ import annotations

from typing import Any, Callable, List, Mapping, Optional, Sequence

from bcr import _bcr
from bcr._golds import golds_from_ground_truth


def make_reward(
    *,
    format_weight: Optional[float] = None,
    length_penalty: Optional[float] = None,
    budget: Optional[int] = None,
    label: Optional[str] = None,
    after_think: Optional[bool] = None,
    positional_fallback: Optional[bool] = None,
    require_label: Optional[bool] = None,
    free_form: Optional[bool] = None,
) -> Callable[..., List[float]]:
    """Returns a TRL reward function with these reward options.

    ``length_penalty`` (the paper's unstable ablation, ``r -= w * |y| / budget``)
    needs ``budget`` and uses the token counts TRL passes as ``completion_ids``.
    ``require_label=True`` is the strict BCR training format: only
    ``Answer k: \\boxed{...}`` counts, an unlabelled or free-form answer scores 0.
    ``free_form=False`` reads boxes only. Options left as ``None`` keep the
    defaults of :func:`bcr.score`.
    """
    options = {
        k: v
        for k, v in dict(
            format_weight=format_weight,
            length_penalty=length_penalty,
            budget=budget,
            label=label,
            after_think=after_think,
            positional_fallback=positional_fallback,
            require_label=require_label,
            free_form=free_form,
        ).items()
        if v is not None
    }
    if length_penalty is not None and budget is None:
        raise ValueError("make_reward: length_penalty needs budget (the response token budget)")

    def bcr_reward(
        completions: Sequence[Any], ground_truth: Optional[Sequence[Any]] = None, **kwargs: Any
    ) -> List[float]:
        return _reward(completions, ground_truth, options, kwargs)

    return bcr_reward


def reward(
    completions: Sequence[Any], ground_truth: Optional[Sequence[Any]] = None, **kwargs: Any
) -> List[float]:
    """The BCR reward of each completion, with the default reward options.

    Scores all completions in parallel in Rust. When TRL passes ``log_metric``,
    logs the batch means ``bcr/accuracy`` and ``bcr/format``; when it passes
    ``log_extra``, adds per-completion ``bcr/accuracy`` and ``bcr/format``
    columns (and ``bcr/response_tokens`` with the length penalty) to TRL's
    completions table.
    """
    return _reward(completions, ground_truth, {}, kwargs)


def _reward(
    completions: Sequence[Any],
    ground_truth: Optional[Sequence[Any]],
    options: Mapping[str, Any],
    kwargs: Mapping[str, Any],
) -> List[float]:
    if ground_truth is None:
        ground_truth = _from_reward_model(kwargs.get("reward_model"))
    if len(ground_truth) != len(completions):
        raise ValueError(
            f"reward: {len(completions)} completions but {len(ground_truth)} ground_truth values"
        )
    texts = [completion_text(i, c) for i, c in enumerate(completions)]
    golds = [golds_from_ground_truth(g) for g in ground_truth]
    call = dict(options)
    tokens = None
    if "length_penalty" in call:
        tokens = _token_counts(kwargs.get("completion_ids"), len(texts))
        call["response_tokens"] = tokens
    results = _bcr.score_batch(texts, golds, **call)
    log_metric = kwargs.get("log_metric")
    if callable(log_metric) and results:
        log_metric("bcr/accuracy", sum(r["accuracy"] for r in results) / len(results))
        log_metric("bcr/format", sum(r["format"] for r in results) / len(results))
    log_extra = kwargs.get("log_extra")
    if callable(log_extra):
        # Columns of TRL's completions table (log_completions=True), one value per completion.
        log_extra("bcr/accuracy", [float(r["accuracy"]) for r in results])
        log_extra("bcr/format", [float(r["format"]) for r in results])
        if tokens is not None:
            log_extra("bcr/response_tokens", tokens)
    return [float(r["reward"]) for r in results]


def completion_text(index: int, completion: Any) -> str:
    """The text of one completion: a string, or the assistant ``content`` of a
    conversational completion (a list of ``{"role", "content"}`` messages),
    joined by newlines."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, (list, tuple)):
        parts = []
        for j, message in enumerate(completion):
            if not isinstance(message, Mapping) or not isinstance(message.get("content"), str):
                raise ValueError(
                    f"completions[{index}][{j}]: expected a message dict with a string "
                    f"'content', found {message!r:.80}"
                )
            if message.get("role", "assistant") == "assistant":
                parts.append(message["content"])
        return "\n".join(parts)
    raise ValueError(
        f"completions[{index}]: expected a string or a list of messages, "
        f"found {type(completion).__name__}"
    )


def _from_reward_model(column: Optional[Sequence[Any]]) -> List[Any]:
    if column is None:
        raise ValueError(
            "reward: no gold answers: the dataset needs a `ground_truth` column "
            "or a verl `reward_model` column"
        )
    out = []
    for i, row in enumerate(column):
        if not isinstance(row, Mapping) or "ground_truth" not in row:
            raise ValueError(f"reward_model[{i}]: expected a dict with `ground_truth`, found {row!r:.80}")
        out.append(row["ground_truth"])
    return out


def _token_counts(completion_ids: Optional[Sequence[Any]], n: int) -> List[int]:
    if completion_ids is None or len(completion_ids) != n:
        raise ValueError(
            "reward: length_penalty needs `completion_ids` (one token list per completion), "
            "which GRPOTrainer passes"
        )
    return [len(ids) for ids in completion_ids]
