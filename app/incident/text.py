"""Rendering user-supplied text so it cannot break the card, a table, a marker or a comment.

Three contexts, three filters:

- `inline`: one line of prose (a heading, a sentence in a reply);
- `cell`: one cell of a Markdown table, and anywhere that must not notify anybody;
- `block`: several lines quoted in a reply (handoff notes, updates, notes).

Format characters (Unicode category Cf: bidirectional overrides and isolates, zero-width spaces
and joiners, the byte order mark, ...) are removed from every text: they would reorder or hide
what a reader sees.

Mentions are neutralised by putting a zero-width joiner (U+200D) right after the `@`: the text
still reads `@acme/sre`, but GitHub no longer links it, so nobody is paged. Backticks would do
the same but turn the entities of `inline` into visible `&lt;` inside the code span.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime

ZERO_WIDTH_JOINER = "\u200d"
TRUNCATION_NOTE = "… (truncated; the full text is in the comment above)"

# `\s` covers tabs, CR, LF, form feeds, NEL and the Unicode line and paragraph separators.
_WHITESPACE = re.compile(r"\s+")
# C0 and C1 control characters that survive whitespace folding (NUL, BEL, ESC, DEL, ...).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# `@org/team`: an organisation login, a slash, a team slug.
_TEAM_MENTION = re.compile(r"@(?=[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9_])")
_ANY_MENTION = re.compile(r"@(?=[A-Za-z0-9])")
# What would open a block if the text began a line (a heading, a list item, a thematic break or
# setext underline, a table row, a fence): ends where a backslash makes it plain text.
_BLOCK_OPENER = re.compile(
    r"\d{1,9}(?=[.)](?:\s|$))"  # an ordered list item: `1. `
    r"|(?=#{1,6}(?:\s|$))"  # a heading
    r"|(?=[*+-](?:\s|$))"  # a bullet
    r"|(?=([*_-])(?:\s*\1){2,}\s*$)"  # a thematic break
    r"|(?=(?:=+|-+)\s*$)"  # a setext underline, turning the line above into a heading
    r"|(?=`{3,}|~{3,}|\|)"  # a fence, a table row
)
# Trailing ` ###` would be taken for the closing sequence of a heading and vanish.
_HEADING_CLOSER = re.compile(r"(?<= )(?=#+$)")
# A fence opens with three or more backticks or tildes, indented by at most three spaces.
_FENCE = re.compile(r"^ {0,3}(?P<run>`{3,}|~{3,})(?P<info>.*)$")
_PROSE_HTML = re.compile(r"<(?=[A-Za-z/!?])")


def when(moment: datetime | None) -> str:
    """A time as people read it on the card: `2026-11-24 10:00 UTC`; an em dash for none."""
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def code(text: str) -> str:
    """`text` as a Markdown code span, whatever backticks it holds (no mention pings)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def user(login: str | None) -> str:
    """`@login`, or `_unassigned_` for nobody. Logins are validated before they are stored."""
    return f"@{login}" if login else "_unassigned_"


def inline(value: str, limit: int = 300) -> str:
    """One line of prose: no line breaks, no HTML, no team mentions, at most `limit` characters.

    Safe even at the start of a line: a leading `#`, `-`, `1.`, `|`, fence... gets a backslash.
    """
    return _one_line(value, limit, mentions=_TEAM_MENTION, pipes=False)


def cell(value: str, limit: int = 300) -> str:
    """A table cell: like `inline`, and every `|` escaped and every mention neutralised."""
    return _one_line(value, limit, mentions=_ANY_MENTION, pipes=True)


def block(value: str, limit: int = 20000) -> str:
    """Several lines for a reply: HTML, comments and team mentions made inert, fences closed.

    Text inside fenced code is kept as written, except that `<!--` and `-->` are broken by a
    zero-width joiner so that no fenced text can pass for one of Baton's hidden markers. Outside
    fences a `<` that could open a tag or a comment becomes `&lt;` (which shows as `&lt;` inside
    an inline code span: the price of never letting a tag or comment through).
    """
    text = _visible(value.replace("\r\n", "\n").replace("\r", "\n"))
    lines = text.split("\n")
    rendered = "\n".join(_block_lines(lines))
    closed = rendered + _closing_fence(rendered)
    if len(closed) <= limit:
        return closed
    return _truncated_block(rendered, limit)


def _visible(text: str) -> str:
    """The text without control characters and without invisible format characters."""
    text = _CONTROL.sub("", text)
    if text.isascii():
        return text  # the common case: no format character is ASCII
    return "".join(char for char in text if unicodedata.category(char) != "Cf")


# --- one line ----------------------------------------------------------------------------------


def _one_line(value: str, limit: int, *, mentions: re.Pattern[str], pipes: bool) -> str:
    limit = max(limit, 1)
    text = _visible(_WHITESPACE.sub(" ", value)).strip()
    # Every character yields at least one output character, so `limit + 1` is enough to decide.
    pieces = list(_line_pieces(text[: limit + 1], mentions=mentions, pipes=pipes))
    if len(text) <= limit and sum(map(len, pieces)) <= limit:
        return "".join(pieces)
    return _cut(pieces, limit - 1).rstrip() + "…"


def _line_pieces(text: str, *, mentions: re.Pattern[str], pipes: bool) -> Iterable[str]:
    """The escaped text as indivisible pieces, so truncation never splits an entity."""
    openers = (_BLOCK_OPENER.match(text), _HEADING_CLOSER.search(text))
    plain_at = {match.end() for match in openers if match is not None}
    backslashes = 0
    for index, char in enumerate(text):
        piece = _line_piece(text, index, mentions=mentions, pipes=pipes, backslashes=backslashes)
        yield "\\" + piece if index in plain_at and not piece.startswith("\\") else piece
        backslashes = backslashes + 1 if char == "\\" else 0


def _line_piece(
    text: str, index: int, *, mentions: re.Pattern[str], pipes: bool, backslashes: int
) -> str:
    char = text[index]
    if char in _ENTITIES:
        return _ENTITIES[char]
    if char == "@" and mentions.match(text, index):
        return "@" + ZERO_WIDTH_JOINER
    if char == "|" and pipes:
        # GFM reads `\\` as an escaped backslash, so the backslashes before a pipe are doubled
        # and the pipe gets its own: `a\|b` becomes `a\\\|b` and still shows `a\|b`.
        return "\\" * backslashes + "\\|"
    return char


def _cut(pieces: Iterable[str], room: int) -> str:
    kept: list[str] = []
    used = 0
    for piece in pieces:
        if used + len(piece) > room:
            break
        kept.append(piece)
        used += len(piece)
    return "".join(kept)


# --- several lines -----------------------------------------------------------------------------


def _block_lines(lines: Iterable[str]) -> Iterable[str]:
    opener: str | None = None  # the fence run of the open code block, if any
    for line in lines:
        if opener is None:
            fence = opening_fence(line)
            if fence is not None:
                opener = fence
                yield _inert_comment_tokens(line)
            else:
                yield _prose_line(line)
        else:
            if closes_fence(line, opener):
                opener = None
            yield _inert_comment_tokens(line)


def _prose_line(line: str) -> str:
    line = _PROSE_HTML.sub("&lt;", line).replace("-->", "--&gt;")
    return _TEAM_MENTION.sub("@" + ZERO_WIDTH_JOINER, line)


def _inert_comment_tokens(line: str) -> str:
    return line.replace("<!--", f"<!{ZERO_WIDTH_JOINER}--").replace(
        "-->", f"--{ZERO_WIDTH_JOINER}>"
    )


def opening_fence(line: str) -> str | None:
    """The run (```` ``` ```` or `~~~`) if `line` opens fenced code, else None."""
    match = _FENCE.match(line)
    if match is None:
        return None
    run = match["run"]
    if run[0] == "`" and "`" in match["info"]:
        return None  # not a fence: an inline code span at the start of the line
    return run


def closes_fence(line: str, opener: str) -> bool:
    """Whether `line` closes the fenced code opened by `opener`."""
    match = _FENCE.match(line)
    return (
        match is not None
        and match["run"][0] == opener[0]
        and len(match["run"]) >= len(opener)
        and not match["info"].strip()
    )


def open_fence(text: str) -> str | None:
    """The run of the fence still open at the end of `text`, or None."""
    opener: str | None = None
    for line in text.split("\n"):
        if opener is None:
            opener = opening_fence(line)
        elif closes_fence(line, opener):
            opener = None
    return opener


def _closing_fence(text: str) -> str:
    opener = open_fence(text)
    return "" if opener is None else "\n" + opener


def _truncated_block(rendered: str, limit: int) -> str:
    note = "\n\n" + TRUNCATION_NOTE
    room = limit - len(note)
    while room > 0:
        kept = rendered[:room]
        closing = _closing_fence(kept)
        if len(kept) + len(closing) + len(note) <= limit:
            return kept + closing + note
        room = min(room - 1, limit - len(note) - len(closing))
    return TRUNCATION_NOTE[: max(limit, 0)]


__all__ = [
    "TRUNCATION_NOTE",
    "ZERO_WIDTH_JOINER",
    "block",
    "cell",
    "closes_fence",
    "inline",
    "open_fence",
    "opening_fence",
    "user",
    "when",
]


def chat(value: str, limit: int = 2000) -> str:
    """Text a person wrote, in a chat message (Slack's `mrkdwn`): format characters removed and
    `&`, `<`, `>` escaped as Slack asks, so that nothing in it becomes a link or a mention such
    as `<!channel>`; cut with an ellipsis past `limit` characters (the full text is on GitHub)."""
    visible = _visible(value.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if len(visible) > limit:
        visible = visible[: limit - 1].rstrip() + "…"
    return visible.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def chat_line(value: str, limit: int = 200) -> str:
    """One line of a chat message (a title): as `chat`, on one line."""
    return chat(_WHITESPACE.sub(" ", value), limit)
