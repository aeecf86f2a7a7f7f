"""GitHub's limit on the length of an issue or comment body, and fitting Baton's texts to it.

GitHub refuses (422) a body of more than 65,536 characters, counted as characters, not bytes,
and refuses it again on every retry: whatever Baton writes is fitted before it is sent.
"""

from __future__ import annotations

from typing import NamedTuple

from app.incident.card import place_card, without_card
from app.incident.text import open_fence
from app.incident.words import render

GITHUB_BODY_LIMIT = 65_536
# Room left for the card to grow when a description is cut to make room for it, so that the
# next command does not cut it again.
CARD_GROWTH = 4_096
# A cut is moved back to the last line break when one is this close, so lines stay whole.
LINE_SEARCH = 2_000


def fit(text: str, *, tail: str = "", limit: int = GITHUB_BODY_LIMIT) -> str:
    """`text` then `tail` (a hidden marker, kept whole) in at most `limit` characters: a text too
    long is cut at a line break, its open code fence closed, and a note says so."""
    if len(text) + len(tail) <= limit:
        return text + tail
    cut = _split(text, limit - len(tail) - len(_cut_note(len(text))))
    return cut.kept + _cut_note(len(text) - cut.at) + tail


def make_room_for_card(body: str, card: str) -> tuple[str, str | None]:
    """The issue body with `card` in it, within GitHub's limit, and the end of the people's
    text that had to leave the body for that (None when all of it fits). The body then has the
    card at the top, the beginning of the text, and a note pointing to the comment below."""
    placed = place_card(body, card)
    if len(placed) <= GITHUB_BODY_LIMIT:
        return placed, None
    text = without_card(body)
    note = "\n\n" + render("description_moved.md.j2").strip()
    card_room = len(place_card(text, card)) - len(text)
    cut = _split(text, GITHUB_BODY_LIMIT - card_room - CARD_GROWTH - len(note))
    return place_card(cut.kept + note, card), cut.rest


class _Cut(NamedTuple):
    kept: str
    rest: str
    at: int  # where in the text it was cut


def _cut_note(left_out: int) -> str:
    return "\n\n" + render("truncated.md.j2", left_out=left_out).strip()


def _split(text: str, room: int) -> _Cut:
    """The beginning of `text` in at most `room` characters, with any code fence it leaves open
    closed, and the rest, with that fence opened again."""
    room = max(room, 0)
    cut = room
    line_break = text.rfind("\n", max(room - LINE_SEARCH, 0), room)
    if line_break > 0:
        cut = line_break
    while True:
        fence = open_fence(text[:cut])
        closing = "" if fence is None else "\n" + fence
        if cut + len(closing) <= room or cut == 0:
            break
        cut = max(cut - len(closing), 0)
    rest = text[cut:].lstrip("\n")
    if fence is not None:
        return _Cut(text[:cut] + closing, fence + "\n" + rest, cut)
    return _Cut(text[:cut], rest, cut)


__all__ = ["GITHUB_BODY_LIMIT", "fit", "make_room_for_card"]
