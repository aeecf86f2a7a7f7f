"""Which lines of a comment may hold a command: those GitHub shows as a plain line of text.

GitHub renders comments as GitHub Flavored Markdown, so a line is a command only where GitHub
shows it as a plain line of text. One pass over the lines follows CommonMark's block
structure (fences, indented code, quotes, HTML blocks); the lines of each paragraph are then
scanned once for code spans and HTML comments, which may run across its lines. Every step
moves forward only, so the work is linear in the comment's length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

LINE_BREAK = re.compile(r"\r\n|\r|\n")  # CommonMark's line endings
_FENCE_OPENING = re.compile(r" {0,3}(?P<fence>`{3,}|~{3,})(?P<info>.*)")
_TAB_WIDTH = 4

_HTML_BLOCK_TAGS = (
    "address|article|aside|base|basefont|blockquote|body|caption|center|col|colgroup|dd|details"
    "|dialog|dir|div|dl|dt|fieldset|figcaption|figure|footer|form|frame|frameset"
    "|h1|h2|h3|h4|h5|h6|head|header|hr|html|iframe|legend|li|link|main|menu|menuitem|nav"
    "|noframes|ol|optgroup|option|p|param|search|section|summary|table|tbody|td|tfoot|th|thead"
    "|title|tr|track|ul"
)
_ATTRIBUTE = r"""\s+[A-Za-z_:][A-Za-z0-9_.:-]*(?:\s*=\s*(?:[^\s"'=<>`]+|'[^']*'|"[^"]*"))?"""
# CommonMark's HTML block start conditions 1 to 7, each with what ends its block (None: a blank
# line). Only the first six may interrupt a paragraph.
_HTML_BLOCK_STARTS: tuple[tuple[re.Pattern[str], re.Pattern[str] | None], ...] = (
    (
        re.compile(r"<(?:pre|script|style|textarea)(?:[ \t>]|$)", re.IGNORECASE),
        re.compile(r"</(?:pre|script|style|textarea)>", re.IGNORECASE),
    ),
    (re.compile(r"<!--"), re.compile(r"-->")),
    (re.compile(r"<\?"), re.compile(r"\?>")),
    (re.compile(r"<![A-Za-z]"), re.compile(r">")),
    (re.compile(r"<!\[CDATA\["), re.compile(r"\]\]>")),
    (re.compile(rf"</?(?:{_HTML_BLOCK_TAGS})(?:[ \t]|/?>|$)", re.IGNORECASE), None),
)
_LONE_TAG = re.compile(
    rf"(?:<[A-Za-z][A-Za-z0-9-]*(?:{_ATTRIBUTE})*\s*/?>|</[A-Za-z][A-Za-z0-9-]*\s*>)[ \t]*"
)
_ATX_HEADING = re.compile(r"#{1,6}(?:[ \t]|$)")
_THEMATIC_BREAK = re.compile(r"(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})")
_SETEXT_UNDERLINE = re.compile(r"(?:=+|-+)[ \t]*")
_BLOCK_START_CHARACTERS = frozenset(">`~<#*-_=+1")
_LIST_ITEM = re.compile(r"(?:[-+*]|1[.)])(?:[ \t]|$)")
# What the inline scan of a paragraph looks for, left to right.
_DETAILS_TAG = r"<details(?=[\s/>]|$)|</details\s*>"
_DETAILS = re.compile(_DETAILS_TAG, re.IGNORECASE)
_INLINE_MARK = re.compile(rf"`+|<!--|{_DETAILS_TAG}", re.IGNORECASE)


@dataclass(frozen=True)
class _Fence:
    character: str
    length: int

    def closed_by(self, line: str) -> bool:
        stripped = line.rstrip(" \t")
        marker = stripped.lstrip(" ")
        return (
            len(stripped) - len(marker) <= 3
            and len(marker) >= self.length
            and marker == self.character * len(marker)
        )


def _fence_opened_by(line: str) -> _Fence | None:
    match = _FENCE_OPENING.fullmatch(line)
    if match is None:
        return None
    fence = match["fence"]
    if fence[0] == "`" and "`" in match["info"]:
        return None  # CommonMark: a backtick fence's info string has no backtick
    return _Fence(fence[0], len(fence))


def _indentation(line: str) -> int:
    columns = 0
    for character in line:
        if character == " ":
            columns += 1
        elif character == "\t":
            columns += _TAB_WIDTH - columns % _TAB_WIDTH
        else:
            break
    return columns


def _is_quote(line: str) -> bool:
    return line.lstrip().startswith(">")


@dataclass
class _HtmlBlock:
    end: re.Pattern[str] | None  # None: the block ends at a blank line

    def ended_by(self, line: str, blank: bool) -> bool:
        """Whether a line inside the block ends it (a blank line is not part of it)."""
        return blank if self.end is None else self.end.search(line) is not None

    def ends_on_its_first_line(self, line: str) -> bool:
        # From the opener on: `<!-->` closes itself, as CommonMark has it.
        opener = len(line) - len(line.lstrip(" \t")) + 2
        return self.end is not None and self.end.search(line, opener) is not None


def _html_block_opened_by(line: str, interrupts_paragraph: bool) -> _HtmlBlock | None:
    if _indentation(line) > 3:
        return None
    text = line.lstrip(" \t")
    for start, end in _HTML_BLOCK_STARTS:
        if start.match(text):
            return _HtmlBlock(end)
    if not interrupts_paragraph and _LONE_TAG.fullmatch(text):
        return _HtmlBlock(None)
    return None


def _interrupts_paragraph(line: str) -> bool:
    """Whether a line ends the paragraph before it and starts a block of its own."""
    text = line.lstrip(" \t")
    if text[:1] not in _BLOCK_START_CHARACTERS or _indentation(line) > 3:
        return False
    return bool(
        _is_quote(text)
        or _fence_opened_by(line)
        or _html_block_opened_by(line, interrupts_paragraph=True)
        or _ATX_HEADING.match(text)
        or _THEMATIC_BREAK.fullmatch(text.rstrip())
        or _SETEXT_UNDERLINE.fullmatch(text)
        or _LIST_ITEM.match(text)
    )


class _Span(NamedTuple):
    start: int
    end: int


@dataclass(frozen=True)
class _Inline:
    """What a paragraph's inline reading hides: code spans and HTML comments (`hidden`, in
    order), the comments among them, and where `<details>` tags open (True) or close."""

    hidden: list[_Span]
    comments: list[_Span]
    details_tags: list[tuple[int, bool]]


def _backtick_closers(text: str) -> dict[int, int]:
    """For each run of backticks, where the code span it opens ends: after the next run of the
    same length. A run without one is literal text."""
    closers: dict[int, int] = {}
    next_run_end: dict[int, int] = {}  # run length -> end of the nearest such run to the right
    for run in reversed(list(re.finditer("`+", text))):
        length = run.end() - run.start()
        if length in next_run_end:
            closers[run.start()] = next_run_end[length]
        next_run_end[length] = run.end()
    return closers


def _read_inline(text: str) -> _Inline:
    """Code spans, HTML comments and `<details>` tags of a paragraph, left to right as
    CommonMark reads them: whichever starts first wins, so a code span hides `<!--`."""
    closers = _backtick_closers(text)
    inline = _Inline([], [], [])
    position, no_comment_end = 0, False
    for mark in _INLINE_MARK.finditer(text):
        if mark.start() < position:
            continue
        found = mark.group()
        if found[0] == "`":
            closer = closers.get(mark.start())
            if closer is not None:
                inline.hidden.append(_Span(mark.start(), closer))
                position = closer
        elif found == "<!--":
            # Searching from the opener's own dashes makes `<!-->` and `<!--->` closed.
            end = -1 if no_comment_end else text.find("-->", mark.start() + 2)
            if end < 0:
                no_comment_end = True  # an unclosed `<!--` is literal text, and so is any later
            else:
                comment = _Span(mark.start(), end + 3)
                inline.hidden.append(comment)
                inline.comments.append(comment)
                position = comment.end
        else:
            inline.details_tags.append((mark.start(), found[1] != "/"))
    return inline


def _paragraph_lines(lines: list[str], details: int) -> tuple[list[bool], int]:
    """For each line of a paragraph: is it shown as a plain line (starting outside code spans,
    HTML comments and `<details>`, touching no comment)? And how many `<details>` elements are
    open after it, given `details` open before."""
    inline = _read_inline("\n".join(lines))
    eligible: list[bool] = []
    hidden = comment = tag = start = 0
    for line in lines:
        end = start + len(line)
        while tag < len(inline.details_tags) and inline.details_tags[tag][0] < start:
            details = details + 1 if inline.details_tags[tag][1] else max(0, details - 1)
            tag += 1
        while hidden < len(inline.hidden) and inline.hidden[hidden].end <= start:
            hidden += 1
        while comment < len(inline.comments) and inline.comments[comment].end <= start:
            comment += 1
        inside = hidden < len(inline.hidden) and inline.hidden[hidden].start <= start
        touches = comment < len(inline.comments) and inline.comments[comment].start < end
        eligible.append(not (inside or touches) and details == 0)
        start = end + 1
    for _, opens in inline.details_tags[tag:]:
        details = details + 1 if opens else max(0, details - 1)
    return eligible, details


def _details_after(line: str, details: int) -> int:
    for tag in _DETAILS.finditer(line):
        details = details + 1 if tag.group()[1] != "/" else max(0, details - 1)
    return details


@dataclass
class _Reader:
    """The block structure read so far, line by line."""

    eligible: list[bool] = field(default_factory=list)
    paragraph: list[str] = field(default_factory=list)
    fence: _Fence | None = None
    html: _HtmlBlock | None = None
    in_quote: bool = False  # a quote line, or a lazy continuation of one, came just before
    details: int = 0  # `<details>` elements open: what they hold is collapsed, not a command

    def end_paragraph(self) -> None:
        if self.paragraph:
            shown, self.details = _paragraph_lines(self.paragraph, self.details)
            self.eligible.extend(
                show and _indentation(line) < _TAB_WIDTH
                for show, line in zip(shown, self.paragraph, strict=True)
            )
            self.paragraph = []

    def read(self, line: str) -> None:
        blank = not line.strip()
        if self.paragraph and not blank and not _interrupts_paragraph(line):
            self.paragraph.append(line)
            return
        self.end_paragraph()
        if self.fence is not None:
            if self.fence.closed_by(line):
                self.fence = None
        elif self.html is not None:
            self.details = _details_after(line, self.details)
            if self.html.ended_by(line, blank):
                self.html = None
        elif blank:
            self.in_quote = False
        elif _is_quote(line) or (self.in_quote and _fence_opened_by(line) is None):
            self.in_quote = True
        elif _indentation(line) >= _TAB_WIDTH:
            pass  # indented code
        elif (fence := _fence_opened_by(line)) is not None:
            self.fence = fence
        elif (html := _html_block_opened_by(line, interrupts_paragraph=False)) is not None:
            self.details = _details_after(line, self.details)
            self.html = None if html.ends_on_its_first_line(line) else html
        else:
            self.paragraph.append(line)
            return
        self.eligible.append(False)


def command_lines(lines: list[str]) -> list[bool]:
    """For each line: may it hold a command (shown by GitHub as a plain line of text)?"""
    reader = _Reader()
    for line in lines:
        reader.read(line)
    reader.end_paragraph()
    return reader.eligible
