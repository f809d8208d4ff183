"""Batched Contextual Reinforcement (BCR, arXiv 2604.02322) for Python RL engines.

The functions here are the Rust implementations of the ``bcr`` toolkit,
compiled into the extension module ``bcr._bcr``:

- :func:`grade` -- math equivalence of a gold answer and a prediction;
- :func:`parse` -- the N labelled answers (``Answer k: \\boxed{...}``) of one
  response, by the stack-based parser (braces nest inside ``\\boxed{}``);
- :func:`score` -- the BCR reward of one response to a pack of N problems:
  mean per-problem correctness plus a format term (no length term unless the
  ablation's ``length_penalty`` is set);
- :func:`grade_batch`, :func:`parse_batch`, :func:`score_batch` -- the same
  over many inputs, on all cores, with the GIL released.

Adapters: :mod:`bcr.verl` (``custom_reward_function``) and :mod:`bcr.trl`
(``GRPOTrainer(reward_funcs=...)``). Invalid arguments raise ``ValueError``
with the message from Rust.
"""

from bcr._bcr import (
    __version__,
    grade,
    grade_batch,
    parse,
    parse_batch,
    score,
    score_batch,
)
from bcr._golds import golds_from_ground_truth

__all__ = [
    "__version__",
    "golds_from_ground_truth",
    "grade",
    "grade_batch",
    "parse",
    "parse_batch",
    "score",
    "score_batch",
]
