"""Slash commands: the command table, and comment text -> commands.

The table (`COMMANDS`) is the single source of truth for the parser, `/help` and
docs/commands.md (`commands_markdown()` renders the whole page; a test keeps the file equal).

Pure: no I/O. What the parser cannot know (who may run a command, whether `sev9` is a
configured severity, whether a time zone exists, who `me` is) is checked by the caller.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from app.incident import times
from app.incident.logins import LOGIN_PATTERN
from app.incident.state import SETTABLE_STATUSES
from app.incident.suggestions import closest


@dataclass(frozen=True)
class CommandSpec:
    name: str  # canonical, lower case
    aliases: tuple[str, ...]
    usage: str
    summary: str
    who: str
    example: str


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "declare",
        (),
        "/declare [sevN] [title]",
        "Make this issue an incident, optionally with a severity and a title.",
        "a responder (on any issue)",
        "/declare sev2 Checkout returns 502 for EU customers",
    ),
    CommandSpec(
        "ack",
        (),
        "/ack",
        "Acknowledge the incident; records the time to acknowledge.",
        "a responder",
        "/ack looking now",
    ),
    CommandSpec(
        "ic",
        (),
        "/ic [me|@user] [notes]",
        "`/ic` or `/ic me`: take the Incident Commander role now, also from a sitting IC, "
        "who is told by name that they no longer hold it (no `/accept` needed, so an incident "
        "never waits for an IC who cannot answer); a pending handoff is withdrawn. "
        "`/ic @user`: propose a handoff, as `/handoff` does.",
        "a responder takes the role; a handoff: the IC, or any responder while there is none",
        "/ic me",
    ),
    CommandSpec(
        "handoff",
        (),
        "/handoff @user|me [notes]",
        "Propose handing the IC role to `@user`; pending until they say `/accept` "
        "(or `/ic me`). The notes, what was done and what is next, are recorded.",
        "the IC, or any responder while there is none",
        "/handoff @octocat Rolled back deploy 4812, error rate is back to normal.\n"
        "Next: watch the payment queue drain, then decide on the hotfix.",
    ),
    CommandSpec(
        "accept",
        (),
        "/accept",
        "Accept the handoff proposed to you: you become the Incident Commander.",
        "the handoff's target",
        "/accept",
    ),
    CommandSpec(
        "decline",
        (),
        "/decline [reason]",
        "Refuse the handoff proposed to you; the proposer is told.",
        "the handoff's target",
        "/decline I am off shift in ten minutes, please ask @hubot",
    ),
    CommandSpec(
        "cancel",
        (),
        "/cancel",
        "Withdraw the pending handoff you proposed.",
        "the proposer",
        "/cancel",
    ),
    CommandSpec(
        "liaison",
        (),
        "/liaison @user|me",
        "Set the External Liaison, who posts stakeholder updates (the IC until set).",
        "the IC, or any responder while there is no IC",
        "/liaison @monalisa",
    ),
    CommandSpec(
        "sme",
        (),
        "/sme [remove] @user|me [area]",
        "Add a Subject Matter Expert, optionally with an area (the rest of the line); "
        "`/sme remove @user` removes one.",
        "a responder",
        "/sme @hubot database",
    ),
    CommandSpec(
        "severity",
        ("sev",),
        "/severity sevN",
        "Change the severity (`/sev 2` works too); the severity label follows.",
        "a responder",
        "/sev 1",
    ),
    CommandSpec(
        "status",
        (),
        "/status investigating|identified|mitigated|resolved",
        "Set the status; the status label follows.",
        "a responder",
        "/status identified",
    ),
    CommandSpec(
        "mitigated",
        (),
        "/mitigated [text]",
        "Mark the incident mitigated; the time is recorded.",
        "a responder",
        "/mitigated Traffic is drained to eu-west-2, customers can pay again.",
    ),
    CommandSpec(
        "resolved",
        (),
        "/resolved [text]",
        "Mark the incident resolved: posts the resolution notice, starts the close clock "
        "and opens the retrospective issue when configured.",
        "a responder",
        "/resolved The faulty config is reverted and eu-west-1 serves traffic again.",
    ),
    CommandSpec(
        "update",
        (),
        "/update text",
        "Post a stakeholder update; resets the update reminder.",
        "a responder",
        "/update We have found the cause, a bad config push, and are rolling it back.\n"
        "Next update by 15:00 UTC.",
    ),
    CommandSpec(
        "note",
        (),
        "/note [time] text",
        "Record a timeline entry. A leading `HH:MM` or `YYYY-MM-DD HH:MM` (UTC, or followed "
        "by a zone such as `Europe/Paris` or `+01:00`) backdates it.",
        "a responder",
        "/note 14:05 Decided to fail over to eu-west-2 rather than wait for the fix.",
    ),
    CommandSpec(
        "action",
        (),
        "/action text",
        "Open a follow-up issue linked to the incident; the first line is its title, "
        "the next lines its body.",
        "a responder",
        "/action Alert on config push error rate\nThe bad push went unnoticed for 20 minutes.",
    ),
    CommandSpec(
        "snooze",
        (),
        "/snooze duration",
        "Postpone the update reminder by a duration such as `30m`, `2h` or `1h30m`.",
        "the IC or the liaison",
        "/snooze 30m waiting for the vendor",
    ),
    CommandSpec(
        "retro",
        (),
        "/retro",
        "Open the retrospective issue now, or link the one that exists.",
        "a responder",
        "/retro",
    ),
    CommandSpec(
        "confirm",
        (),
        "/confirm",
        "Confirm that the fix works; the incident may close now.",
        "the reporter or a responder",
        "/confirm checkout works for us again, thanks!",
    ),
    CommandSpec(
        "close",
        (),
        "/close [reason]",
        "Close the incident now, skipping the wait; the reason is recorded.",
        "the IC",
        "/close Confirmed with the three affected customers by phone.",
    ),
    CommandSpec(
        "reopen",
        (),
        "/reopen",
        "Take a resolved or closed incident back to investigating.",
        "a responder",
        "/reopen errors are back since 16:20",
    ),
    CommandSpec(
        "help",
        (),
        "/help",
        "Show the command list.",
        "anyone",
        "/help",
    ),
)

_BY_NAME: dict[str, CommandSpec] = {
    written: spec for spec in COMMANDS for written in (spec.name, *spec.aliases)
}


def spec_for(name_or_alias: str) -> CommandSpec | None:
    """The command a name or alias (any case, with or without the leading `/`) stands for."""
    return _BY_NAME.get(name_or_alias.removeprefix("/").lower())


def usage(name: str) -> str:
    """The usage line of a command, by name or alias. Raises KeyError for an unknown name."""
    spec = spec_for(name)
    if spec is None:
        raise KeyError(name)
    return spec.usage


# --- parsed output -------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    name: str  # canonical name
    written: str  # the name as typed, e.g. "Sev"
    line: int  # 1-based line number in the comment
    user: str | None = None  # a login without "@", or "me"
    word: str | None = None  # the keyword argument, normalised (see docs/commands.md)
    text: str = ""
    problem: str | None = None  # a syntax problem, None when well-formed

    @property
    def gist(self) -> str:
        """The command in a few words, without its free text: `/handoff @bob`, `/severity sev1`."""
        user = self.user if self.user is None or self.user.casefold() == "me" else f"@{self.user}"
        return " ".join(part for part in (f"/{self.name}", user, self.word) if part)


@dataclass(frozen=True)
class NearMiss:
    written: str  # as typed, with the slash: "/hanoff"
    suggestion: str  # a command name or alias: "handoff"
    line: int


@dataclass(frozen=True)
class ParsedComment:
    commands: tuple[Command, ...]
    near_misses: tuple[NearMiss, ...]


# --- which lines may hold a command --------------------------------------------------------
#
# GitHub renders comments as GitHub Flavored Markdown, so a line is a command only where GitHub
# shows it as a plain line of text. One pass over the lines follows CommonMark's block
# structure (fences, indented code, quotes, HTML blocks); the lines of each paragraph are then
# scanned once for code spans and HTML comments, which may run across its lines. Every step
# moves forward only, so the work is linear in the comment's length.

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
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


def _command_lines(lines: list[str]) -> list[bool]:
    """For each line: may it hold a command (shown by GitHub as a plain line of text)?"""
    reader = _Reader()
    for line in lines:
        reader.read(line)
    reader.end_paragraph()
    return reader.eligible


# --- command heads and near misses ---------------------------------------------------------

_HEAD = re.compile(r"\s*/(?P<name>\S*)(?P<rest>.*)")
_WORD = re.compile(r"[A-Za-z]+")


class _Head(NamedTuple):
    written: str  # the name as typed, without the slash
    rest: str  # the rest of the line after the name


def _head(line: str) -> _Head | None:
    match = _HEAD.fullmatch(line)
    if match is None:
        return None
    return _Head(match["name"], match["rest"])


# Looking for a typo costs tens of microseconds a word: a comment gets that for this many
# different words at most, and a word already looked at costs nothing.
_TYPO_LOOKUPS_PER_COMMENT = 20


def _may_be_typo(word: str) -> bool:
    return 3 <= len(word) <= 20 and _WORD.fullmatch(word) is not None


@functools.lru_cache(maxsize=1024)
def _suggestion(word: str) -> str | None:
    """The command name or alias a mistyped lower-case word most likely meant, if any."""
    return closest(word, _BY_NAME)


# --- arguments -----------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?P<token>\S+)(?P<rest>.*)")
_MENTION = re.compile(rf"@(?P<login>{LOGIN_PATTERN})[,.;:!?)]*")
_TEAM = re.compile(rf"@{LOGIN_PATTERN}/\S+")
_SEVERITY_NUMBER = re.compile(r"(?:sev)?(?P<number>[0-9]+)", re.IGNORECASE)
_DIGITS = re.compile(r"[0-9]+")
_SEVERITY_WORD = re.compile(r"[A-Za-z0-9_-]+")
_SEVERITY_IN_TITLE = re.compile(r"\s*sev ?(?P<number>[0-9]+)(?=\s|$)", re.IGNORECASE)


@dataclass(frozen=True)
class _Arguments:
    user: str | None = None
    word: str | None = None
    rest: str = ""  # the rest of the command line after the arguments
    problem: str | None = None  # a reason, completed with the command and usage later


def _first_token(rest: str) -> tuple[str, str] | None:
    match = _TOKEN.match(rest)
    return None if match is None else (match["token"], match["rest"])


def _code(text: str) -> str:
    """`text` as a Markdown code span, whatever backticks it holds (no mention pings)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def _user_in(token: str) -> tuple[str | None, str | None]:
    """(login or "me", None), or (None, the reason the token names no person)."""
    if token.lower() in ("me", "@me"):
        return "me", None
    mention = _MENTION.fullmatch(token)
    if mention is not None:
        return mention["login"], None
    if _TEAM.fullmatch(token):
        return None, f"names the team {_code(token)}; name a person, not a team"
    if token.startswith("@"):
        return None, f"names {_code(token)}, which is not a GitHub login"
    return None, "needs a @user or `me`"


def _read_user(rest: str) -> _Arguments:
    first = _first_token(rest)
    if first is None:
        return _Arguments(problem="needs a @user or `me`")
    user, problem = _user_in(first[0])
    return _Arguments(user=user, rest=first[1], problem=problem)


def _read_optional_user(rest: str) -> _Arguments:
    if _first_token(rest) is None:
        return _Arguments(user="me")
    return _read_user(rest)


def _read_sme(rest: str) -> _Arguments:
    first = _first_token(rest)
    if first is not None and first[0].lower() == "remove":
        removal = _read_user(first[1])
        return _Arguments(user=removal.user, word="remove", problem=removal.problem)
    return _read_user(rest)


def _read_severity(rest: str) -> _Arguments:
    first = _first_token(rest)
    if first is None:
        return _Arguments(problem="needs a severity such as `sev2` or `2`")
    token, after = first
    second = _first_token(after)
    if token.lower() == "sev" and second is not None and _DIGITS.fullmatch(second[0]):
        token, after = token + second[0], second[1]
    number = _SEVERITY_NUMBER.fullmatch(token)
    if number is not None:
        return _Arguments(word=_severity_name(number["number"]), rest=after)
    if _SEVERITY_WORD.fullmatch(token):
        return _Arguments(word=token.lower(), rest=after)
    return _Arguments(problem=f"needs a severity such as `sev2`, not {_code(token)}")


def _severity_name(number: str) -> str:
    return "sev" + (number.lstrip("0") or "0")


def _read_declaration(rest: str) -> _Arguments:
    severity = _SEVERITY_IN_TITLE.match(rest)
    if severity is None:
        return _Arguments(rest=rest)
    return _Arguments(word=_severity_name(severity["number"]), rest=rest[severity.end() :])


def _read_status(rest: str) -> _Arguments:
    first = _first_token(rest)
    if first is not None and first[0].lower() in SETTABLE_STATUSES:
        return _Arguments(word=first[0].lower(), rest=first[1])
    return _Arguments(problem="needs a status")


def _read_duration(rest: str) -> _Arguments:
    found = times.duration_at_start(rest)
    if found is None:
        return _Arguments(problem="needs a duration such as `30m`, `2h` or `1h30m`")
    return _Arguments(word=found[0], rest=found[1])


def _read_note_time(rest: str) -> _Arguments:
    found = times.note_time_at_start(rest)
    if found is None:
        return _Arguments(rest=rest)
    written, after = found
    if not times.is_clock_time(written):
        return _Arguments(problem=f"starts with {_code(written)}, which is not a real time")
    return _Arguments(word=written, rest=after)


def _read_nothing(rest: str) -> _Arguments:
    return _Arguments(rest=rest)


_ARGUMENT_READERS: dict[str, Callable[[str], _Arguments]] = {
    "declare": _read_declaration,
    "ic": _read_optional_user,
    "handoff": _read_user,
    "liaison": _read_user,
    "sme": _read_sme,
    "severity": _read_severity,
    "status": _read_status,
    "snooze": _read_duration,
    "note": _read_note_time,
}
_NEEDS_TEXT = frozenset({"update", "note", "action"})
_TEXT_ON_ITS_LINE_ONLY = frozenset({"sme"})  # an area is a few words, not a paragraph


# --- the parser ----------------------------------------------------------------------------


def parse_comment(body: str) -> ParsedComment:
    """The commands and near misses in a comment, in order. Never raises."""
    lines = _LINE_BREAK.split(body.removeprefix("\ufeff"))
    found: list[tuple[int, _Head, CommandSpec | None, str | None]] = []
    looked_up: set[str] = set()
    for index, eligible in enumerate(_command_lines(lines)):
        head = _head(lines[index]) if eligible else None
        if head is None:
            continue
        word = head.written.lower()
        spec, suggestion = _BY_NAME.get(word), None
        if (
            spec is None
            and _may_be_typo(word)
            and (word in looked_up or len(looked_up) < _TYPO_LOOKUPS_PER_COMMENT)
        ):
            looked_up.add(word)
            suggestion = _suggestion(word)
        if spec is not None or suggestion is not None:
            found.append((index, head, spec, suggestion))
    # A command's text runs up to the next command line, or the next mistyped one.
    ends = [index for index, *_ in found[1:]] + [len(lines)] if found else []
    commands: list[Command] = []
    near_misses: list[NearMiss] = []
    for (index, head, spec, suggestion), end in zip(found, ends, strict=True):
        if spec is None:
            near_misses.append(NearMiss("/" + head.written, suggestion or "", index + 1))
        else:
            commands.append(_command(spec, head, index + 1, lines[index + 1 : end]))
    return ParsedComment(tuple(commands), tuple(near_misses))


def _command(spec: CommandSpec, head: _Head, line: int, following: list[str]) -> Command:
    arguments = _ARGUMENT_READERS.get(spec.name, _read_nothing)(head.rest)
    if spec.name in _TEXT_ON_ITS_LINE_ONLY:
        following = []
    text = "\n".join([arguments.rest, *following]).strip()
    problem = arguments.problem
    if problem is None and spec.name in _NEEDS_TEXT and not text:
        problem = "needs text"
    return Command(
        name=spec.name,
        written=head.written,
        line=line,
        user=arguments.user,
        word=arguments.word,
        text=text,
        problem=None if problem is None else f"`/{head.written}` {problem}: {_code(spec.usage)}",
    )


# --- /help and docs/commands.md ------------------------------------------------------------


class HelpRow(NamedTuple):
    usage: str
    aliases: tuple[str, ...]  # with the slash: ("/sev",)
    who: str
    summary: str


def help_text_rows() -> tuple[HelpRow, ...]:
    """One row per command, in table order, for `/help` and the docs."""
    return tuple(
        HelpRow(spec.usage, tuple("/" + alias for alias in spec.aliases), spec.who, spec.summary)
        for spec in COMMANDS
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def help_table_markdown() -> str:
    """The command table as GitHub Markdown, for `/help` replies and the docs."""
    rows = ["| command | who | what it does |", "| --- | --- | --- |"]
    for row in help_text_rows():
        command = ", alias ".join(_code(written) for written in (row.usage, *row.aliases))
        rows.append(f"| {_cell(command)} | {_cell(row.who)} | {_cell(row.summary)} |")
    return "\n".join(rows) + "\n"


_DOCS_INTRO = """\
# Commands

<!-- Generated from app/incident/commands.py (COMMANDS); do not edit by hand. Regenerate:
python -c "from app.incident.commands import commands_markdown as m; print(m(), end='')" \
> docs/commands.md -->

People drive an incident with slash commands in comments on the incident issue; `/declare`
also works on any issue, to make it an incident.

## How a command is written

- A command is a line whose first non-blank character is `/`, followed by a command name
  (any case: `/ACK`, `/Sev 2`) and then a space or the end of the line. Several commands
  may share one comment, one per line.
- `@login` names a person; `me` (or `@me`) names you. Teams (`@acme/sre`) are refused:
  name a person. `/ic` alone means `/ic me`.
- The text of a command is the rest of its line, and the lines after it up to the next
  command line (used by `/update`, `/note`, `/handoff`, `/resolved`, `/mitigated`,
  `/decline`, `/close`, `/declare`, `/action`). For `/declare` and `/action` its first
  line is the title. For `/sme` only the rest of the line counts, as the area. A line
  that looks like a mistyped command also ends the text.
- Commands that take nothing (`/ack`, `/accept`, `/cancel`, `/retro`, `/confirm`,
  `/reopen`, `/help`) ignore words after them, so `/ack on it` is fine.
- Severity: `sev2`, `SEV2`, `sev 2` and `2` all mean `sev2`; which severities exist is
  configured in `.github/baton.yml`. `/declare` takes a severity only as `sevN`, so a
  title may start with a number.
- Status: `investigating`, `identified`, `mitigated` or `resolved`.
- Durations (`/snooze`): `30m`, `2h`, `1d`, `1h30m`, `90 min`, `2 hours`.
- `/note` time: `14:05`, `2026-11-24 14:05`, `2026-11-24T14:05Z`, `14:05 Europe/Paris`,
  `14:05 +01:00`; UTC unless a zone or offset follows.

## What is not a command

A command is a line that GitHub shows as a plain line of text. These lines never are:

- lines inside fenced code blocks (```` ``` ```` or `~~~`) and indented code (four spaces or
  a tab);
- block quotes (`>`, including the lines that continue a quote without a blank line):
  quoting an earlier comment never runs it again;
- HTML comments (`<!-- -->`), and any line that touches one; a `<!--` inside a code span
  (`` `<!--` ``) is only text, and so is a `<!--` in a paragraph that is never closed;
- lines inside a code span that runs over several lines;
- the lines of an HTML block, as CommonMark defines it: from a line starting with `<pre>`,
  `<script>`, `<style>` or `<textarea>` to its closing tag, or from a line starting with a
  block tag such as `<div>` or `<details>` (or a tag alone on its line) to the next blank
  line; GitHub joins such lines into one, so none of them shows as a line of its own;
- anything inside `<details>` … `</details>`, even what GitHub renders as Markdown after a
  blank line: a folded section is out of sight, and a command there would run unseen.

You can show a command in code to explain it. Only the first 20 different slash-words of a
comment that are not commands are checked for typos.

## All or nothing

All commands of one comment are checked first. If any is invalid or not allowed, none is
applied and Baton's reply explains each problem with the right usage. A word that looks
like a mistyped command (`/hanoff`, `/resovled`) is pointed out with a suggestion; paths
and other words (`/usr/bin`, `/shrug`) are ignored. Baton reacts to each command comment:
:eyes: when taken, :confused: when refused.

## The commands

"""


def _examples_markdown() -> str:
    sections = [
        f"### `/{spec.name}`\n\n{spec.summary}\n\n```text\n{spec.example}\n```\n"
        for spec in COMMANDS
    ]
    return "## Examples\n\n" + "\n".join(sections)


def commands_markdown() -> str:
    """The whole of docs/commands.md, rendered from the table."""
    return f"{_DOCS_INTRO}{help_table_markdown()}\n{_examples_markdown()}"
