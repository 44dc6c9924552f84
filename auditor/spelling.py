"""The nearest of some names to a name that is wrong: the "did you mean" of an error or a warning.

Standard library only.  difflib compares a name with each candidate at a cost that grows with both
lengths, so a hint for every wrong name of a document was quadratic in it: a policy of 1,500 long
rule ids and 1,100 waivers naming none of them ran ``validate`` for over ten minutes.  So a reader
of a whole document (:func:`auditor.policy.loader.inspect_policy`) gives its hints a budget of
comparisons (:func:`hint_budget`): the first wrong names get theirs, the rest are said to be wrong
without one, the same for the same document whatever ran before; a name asked about again costs
nothing; and a name longer than :data:`MAX_NAME_CHARS` (no typo of a name lbaudit knows) is
compared with nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# Enough for every hint a person reads (a validation shows at most 100 problems): a wrong name
# against a few hundred candidates is some hundreds of comparisons.
MAX_COMPARISONS = 20_000
MAX_NAME_CHARS = 256


class _Budget:
    """Comparisons left, and the answers given (a name asked about again costs nothing)."""

    __slots__ = ("left", "answered")

    def __init__(self, left: int) -> None:
        self.left = left
        self.answered: dict[tuple[str, tuple[str, ...], float], str | None] = {}


_budget: ContextVar[_Budget | None] = ContextVar("lbaudit_spelling_budget", default=None)


@contextmanager
def hint_budget(comparisons: int = MAX_COMPARISONS) -> Iterator[None]:
    """Within it, :func:`closest` compares at most ``comparisons`` candidates in all."""
    token = _budget.set(_Budget(comparisons))
    try:
        yield
    finally:
        _budget.reset(token)


def closest(name: object, choices: Iterable[object], cutoff: float = 0.6) -> str | None:
    """The candidate of ``choices`` nearest to ``name`` (the same name in another case first, then
    difflib's closest at ``cutoff`` or above), or None: none is near, or the budget is spent."""
    if not isinstance(name, str) or len(name) > MAX_NAME_CHARS:
        return None
    candidates = tuple(sorted(choice for choice in choices if isinstance(choice, str) and len(choice) <= MAX_NAME_CHARS))
    budget = _budget.get()
    key = (name, candidates, cutoff)
    if budget is not None and key in budget.answered:
        return budget.answered[key]
    # the same name in another case first: difflib compares case, and "BIND" is far from "bind"
    near = next((choice for choice in candidates if choice.casefold() == name.casefold()), None)
    if near is None:
        if budget is not None:
            if budget.left < len(candidates):
                return None
            budget.left -= len(candidates)
        import difflib  # only for a name that is wrong: a valid input never pays for it

        found = difflib.get_close_matches(name, candidates, n=1, cutoff=cutoff)
        near = found[0] if found else None
    if budget is not None:
        budget.answered[key] = near
    return near
