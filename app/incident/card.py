"""The card: the block Baton keeps at the top of an incident issue's body (README.md).

The card sits between two marker lines. Inside, the visible part is always rendered from the
state, and a hidden line carries the state itself with its MAC. Everything outside the markers
belongs to people and is kept byte for byte.

A marker counts only where GitHub would treat it as an HTML comment: not inside fenced code and
not inside an inline code span (`` `<!-- baton:card:start -->` ``) in the people's text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

from app.incident.clocks import CardClocks
from app.incident.state import (
    IncidentState,
    StateError,
    TamperedState,
    decode_state,
    encode_state,
)
from app.incident.text import closes_fence, opening_fence
from app.incident.words import render

CARD_START = "<!-- baton:card:start -->"
CARD_END = "<!-- baton:card:end -->"
STATE_OPENER = "<!-- baton:state "
# The state's JSON never contains `--` (see `encode_state`), so the first ` -->` closes it.
STATE_CLOSER = " -->"
_MARKER = re.compile(re.escape(CARD_START) + "|" + re.escape(CARD_END))
# CommonMark line endings only: `str.splitlines` would also split at form feeds and U+2028.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)?")
# What place_card puts between a new card and the people's text.
SEPARATOR = "\n\n"
ROLE_NAMES = {"ic": "Incident Commander", "liaison": "External Liaison"}


@dataclass(frozen=True)
class CardView:
    """What the card shows beyond the state: the issue's title and what the clocks computed."""

    title: str = ""
    clocks: CardClocks = field(default_factory=CardClocks)


@dataclass(frozen=True)
class CardReading:
    found: bool  # a start marker and an end marker after it
    state: IncidentState | None
    problem: str | None  # why the state cannot be trusted, or what else looked wrong
    tampered: bool  # the state parses but its MAC does not match
    human_text: str  # the body outside the card, as people wrote it
    # Not the last card Baton wrote (an earlier one put back, or one forged or removed since):
    # `state` is Baton's last.
    replayed: bool = False


def render_card(state: IncidentState, view: CardView, key: bytes) -> str:
    """The whole card, markers included, with no trailing newline."""
    handoff = state.pending_handoff
    visible = render(
        "card.md.j2",
        state=state,
        view=view,
        status_name=state.status.capitalize(),
        handoff=handoff,
        handoff_role=ROLE_NAMES.get(handoff.role, handoff.role) if handoff else "",
    ).strip()
    hidden = f"{STATE_OPENER}{encode_state(state, key)} -->"
    return "\n".join((CARD_START, visible, "", hidden, CARD_END))


def read_card(body: str, key: bytes) -> CardReading:
    body = body or ""
    if CARD_START not in body and CARD_END not in body:
        return CardReading(False, None, None, False, body)  # most issues: no need to walk lines
    span = _card_span(body)
    if span is None:
        return CardReading(False, None, _orphan_problem(body), False, body)
    start, end = span
    stray = _stray_markers_problem(body, span)
    human = _human_text(body, span)
    try:
        state = _state_in(body[start:end], key)
    except TamperedState:
        return CardReading(True, None, _joined("tampered", stray), True, human)
    except StateError as error:
        return CardReading(True, None, _joined(_problem_with(error), stray), False, human)
    return CardReading(True, state, stray, False, human)


def place_card(body: str, card: str) -> str:
    """Put `card` in `body`: replace the existing card exactly, or put it at the top."""
    body = body or ""
    span = _card_span(body)
    if span is not None:
        start, end = span
        return body[:start] + card + body[end:]
    return card + SEPARATOR + body if body else card


def card_block(body: str) -> str | None:
    """The card exactly as it stands in the body, markers included; None when there is none."""
    body = body or ""
    span = _card_span(body)
    return None if span is None else body[span[0] : span[1]]


def without_card(body: str) -> str:
    """The people's text: what place_card added, removed again."""
    body = body or ""
    span = _card_span(body)
    return body if span is None else _human_text(body, span)


def without_fenced_copies(body: str, earlier: str) -> str:
    """`body` without the fenced code blocks holding a card marker that `earlier` did not have:
    a card someone wrapped in a fence is dead, yet still shown. Only the block goes (its fences
    included; an unclosed fence up to the last marker line it swallowed); the rest is kept."""
    for start, end in reversed(list(_fenced_copies(body))):
        if body[start:end] not in earlier:
            body = _human_text(body, (start, end))
    return body


# --- reading -----------------------------------------------------------------------------------


def _state_in(card: str, key: bytes) -> IncidentState:
    lines = list(islice(_state_lines(card), 2))
    if not lines:
        if STATE_OPENER in card:
            raise StateError("malformed: the state line is not closed")
        raise StateError("missing state line")
    if len(lines) > 1:
        raise StateError("malformed: more than one state line")
    return decode_state(lines[0], key)


def _state_lines(card: str) -> Iterator[str]:
    """The JSON of each state line, in one pass over the card however many openers it holds."""
    for line in card.split("\n"):
        position = line.find(STATE_OPENER)
        while position != -1:
            json_start = position + len(STATE_OPENER)
            close = line.find(STATE_CLOSER, json_start)
            if close == -1:
                break  # no opener further on this line is closed either
            yield line[json_start:close]
            position = line.find(STATE_OPENER, close + len(STATE_CLOSER))


def _problem_with(error: StateError) -> str:
    text = str(error)
    return text if text.startswith(("malformed", "missing")) else f"malformed: {text}"


def _human_text(body: str, span: tuple[int, int]) -> str:
    start, end = span
    before, after = body[:start], body[end:]
    if not before:
        # The separator place_card added; GitHub's editor may have turned it into CRLF.
        for separator in (SEPARATOR, SEPARATOR.replace("\n", "\r\n")):
            if after.startswith(separator):
                return after[len(separator) :]
    return before + after


def _card_span(body: str) -> tuple[int, int] | None:
    """Where the first card is: from its start marker to the end of its end marker."""
    start: int | None = None
    for position, marker in _markers(body):
        if marker == CARD_START and start is None:
            start = position
        elif marker == CARD_END and start is not None:
            return start, position + len(CARD_END)
    return None


def _orphan_problem(body: str) -> str | None:
    kinds = [marker for _, marker in _markers(body)]
    if not kinds:
        return None
    if CARD_START not in kinds:
        return "end marker without a start marker"
    if CARD_END not in kinds:
        return "start marker without an end marker"
    return "markers out of order"


def _stray_markers_problem(body: str, span: tuple[int, int]) -> str | None:
    start, end = span
    if _card_span(body[end:]) is not None:
        return "a second card below the first was ignored: only the first card counts"
    if any(not start <= position < end for position, _ in _markers(body)):
        return "card markers outside the card were ignored"
    return None


def _joined(first: str, second: str | None) -> str:
    return first if second is None else f"{first}; {second}"


def _markers(body: str) -> Iterator[tuple[int, str]]:
    """Every live marker (position, marker), skipping fenced code and inline code spans."""
    offset = 0
    opener: str | None = None
    for line in (match.group() for match in _LINE.finditer(body) if match.group()):
        if opener is None:
            fence = opening_fence(line)
            if fence is not None:
                opener = fence
            else:
                yield from _markers_in_line(line, offset)
        elif closes_fence(line, opener):
            opener = None
        offset += len(line)


def _fenced_copies(body: str) -> Iterator[tuple[int, int]]:
    """Each fenced code block holding a card marker: from its opening fence to the end of its
    closing fence (line ending excluded), or of the last marker line when it is never closed."""
    offset = 0
    opener: str | None = None
    start = copied_to = 0
    for line in (match.group() for match in _LINE.finditer(body) if match.group()):
        content_end = offset + len(line.rstrip("\r\n"))
        if opener is None:
            opener = opening_fence(line)
            start, copied_to = offset, 0
        elif closes_fence(line, opener):
            if copied_to:
                yield start, content_end
            opener = None
        elif _MARKER.search(line):
            copied_to = content_end
        offset += len(line)
    if opener is not None and copied_to:
        yield start, copied_to


def _markers_in_line(line: str, offset: int) -> Iterator[tuple[int, str]]:
    backticks = counted_to = 0
    for match in _MARKER.finditer(line):
        # An odd number of backticks before the marker: it sits inside a code span.
        backticks += line.count("`", counted_to, match.start())
        counted_to = match.start()
        if backticks % 2 == 0:
            yield offset + match.start(), match.group()


__all__ = [
    "CARD_END",
    "CARD_START",
    "CardReading",
    "CardView",
    "place_card",
    "read_card",
    "render_card",
    "without_card",
    "without_fenced_copies",
]
