""" "Did you mean ...?": the one known word a mistyped word most likely meant."""

from __future__ import annotations

from collections.abc import Iterable
from difflib import SequenceMatcher


def closest(typed: str, known: Iterable[str]) -> str | None:
    """The known word `typed` is a slip of (case aside), if one is closest; None when none is
    near or two are equally close (a guess between two is no guess)."""
    word = typed.casefold()
    scored = sorted(
        (
            (_distance(word, option.casefold()), -_likeness(word, option), option)
            for option in known
            if _is_near(word, option.casefold())
        ),
    )
    if not scored or (len(scored) > 1 and scored[0][:2] == scored[1][:2]):
        return None
    return scored[0][2]


def _is_near(typed: str, name: str) -> bool:
    if abs(len(typed) - len(name)) > 2:
        return False  # more than two edits apart, whatever the letters
    distance = _distance(typed, name)
    if distance == 0:
        return True  # the case differs
    if len(name) <= 3:
        # A slip on a short name keeps its letters (`/ackk`, `/akc`); `/ask` is another word.
        return distance == 1 and typed[:1] == name[:1] and set(name) <= set(typed)
    # Two slips only in long words, where they leave the word recognisable (`/reslove`).
    return distance == 1 or (distance == 2 and len(name) >= 6 and len(typed) >= 5)


def _likeness(typed: str, name: str) -> float:
    return SequenceMatcher(None, typed, name.casefold()).ratio()


def _distance(typed: str, name: str) -> int:
    """Optimal string alignment distance: a swap of two neighbours counts as one edit."""
    previous_row: list[int] = []
    row = list(range(len(name) + 1))
    for i in range(1, len(typed) + 1):
        before, previous_row, row = previous_row, row, [i] + [0] * len(name)
        for j in range(1, len(name) + 1):
            cost = 0 if typed[i - 1] == name[j - 1] else 1
            row[j] = min(previous_row[j] + 1, row[j - 1] + 1, previous_row[j - 1] + cost)
            if i > 1 and j > 1 and typed[i - 1] == name[j - 2] and typed[i - 2] == name[j - 1]:
                row[j] = min(row[j], before[j - 2] + 1)
    return row[len(name)]
