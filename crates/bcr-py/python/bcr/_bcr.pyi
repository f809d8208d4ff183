"""Type stubs of the compiled module ``bcr._bcr`` (crates/bcr-py/src)."""

from typing import List, Optional, Sequence, TypedDict

__version__: str

class Score(TypedDict):
    reward: float
    accuracy: float
    correct: List[bool]
    answers: List[Optional[str]]
    format: float
    length_penalty: float
    diagnostics: List[str]

def grade(gold: str, pred: str, /, *, free_form: bool = True) -> bool: ...
def grade_batch(golds: Sequence[str], preds: Sequence[str], /) -> List[bool]: ...
def parse(
    response: str, n: int, *, label: str = "Answer", after_think: bool = True, positional_fallback: bool = False,
    require_label: bool = False, free_form: bool = True,
) -> List[Optional[str]]: ...
def parse_batch(
    responses: Sequence[str], n: int, *, label: str = "Answer", after_think: bool = True, positional_fallback: bool = False,
    require_label: bool = False, free_form: bool = True,
) -> List[List[Optional[str]]]: ...
def score(
    response: str,
    golds: Sequence[str],
    *,
    format_weight: Optional[float] = None,
    length_penalty: Optional[float] = None,
    response_tokens: Optional[int] = None,
    budget: Optional[int] = None,
    label: str = "Answer",
    after_think: bool = True,
    positional_fallback: bool = False,
    require_label: bool = False,
    free_form: bool = True,
) -> Score: ...
def score_batch(
    responses: Sequence[str],
    golds: Sequence[Sequence[str]],
    *,
    format_weight: Optional[float] = None,
    length_penalty: Optional[float] = None,
    response_tokens: Optional[Sequence[int]] = None,
    budget: Optional[int] = None,
    label: str = "Answer",
    after_think: bool = True,
    positional_fallback: bool = False,
    require_label: bool = False,
    free_form: bool = True,
) -> List[Score]: ...
