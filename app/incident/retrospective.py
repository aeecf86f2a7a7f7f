"""The retrospective issue: its timeline, figures and participants, from the incident alone.

Everything here is built from the incident's state and the comments on the incident issue, so
the retrospective can be opened (or opened again) at any time and always says the same thing.
Timeline texts are plain text; the template escapes them with the `inline` filter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from app.incident.commands import Command, parse_comment
from app.incident.effects import IssueView, NewIssue
from app.incident.forms import read_incident_form
from app.incident.state import IncidentState
from app.incident.times import duration, note_time
from app.incident.words import render

if TYPE_CHECKING:
    from app.incident.config import Config

GITHUB_BODY_LIMIT = 65_536
MAX_TIMELINE_ENTRIES = 400
MAX_LISTED = 200  # participants and follow-up actions listed by name; the rest are counted
SHORT_TEXT = 300  # characters of an update, note or handoff note quoted in the timeline
TITLE_ROOM = 200  # characters of the incident title in the retrospective's title
# The opening words of Baton's refusal reply (reply/refused.md.j2): nothing in that comment
# changed the incident, so none of its commands belongs on the timeline.
REFUSAL_WORDS = "I did not apply this comment"
_REPLY_MARKER = re.compile(r"<!-- baton:reply comment:(\d+) -->")
_PERMALINK = re.compile(r"https?://[^\s<>()\[\]`\\]+")


@dataclass(frozen=True)
class IncidentComment:
    """A comment on the incident issue, as read from GitHub."""

    id: int
    author: str
    created_at: datetime
    body: str
    url: str  # html_url: the comment's permalink


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    text: str  # plain text, at most a few hundred characters; escaped when rendered
    url: str | None  # the comment it came from; None for the incident's own timestamps
    who: str | None  # the login of the person who did it


@dataclass(frozen=True)
class Figures:
    """How long the incident took to reach each milestone, counted from its declaration."""

    to_acknowledge: timedelta | None
    to_mitigate: timedelta | None
    to_resolve: timedelta | None

    def words(self) -> tuple[tuple[str, str], ...]:
        """Each figure as people say it (`1 h 12 min`), or `—` when it is not reached."""
        return tuple(
            (label, "—" if length is None else duration(length))
            for label, length in (
                ("Time to acknowledge", self.to_acknowledge),
                ("Time to mitigate", self.to_mitigate),
                ("Time to resolve", self.to_resolve),
            )
        )


# --- the timeline --------------------------------------------------------------------------

_Describe = Callable[[Command, str], str]


def _took_or_handed(command: Command, author: str) -> str:
    target = _person(command.user, author)
    if target == author:
        return f"@{author} took the Incident Commander role"
    return _with_text(f"@{author} handed off the Incident Commander role to @{target}", command)


def _liaison(command: Command, author: str) -> str:
    target = _person(command.user, author)
    if target == author:
        return f"@{author} took the External Liaison role"
    return f"@{author} made @{target} the External Liaison"


def _sme(command: Command, author: str) -> str:
    target = _person(command.user, author)
    if command.word == "remove":
        return f"@{author} removed @{target} from the SMEs"
    area = f" ({command.text})" if command.text else ""
    return f"@{author} brought in @{target} as an SME{area}"


_DESCRIPTIONS: dict[str, _Describe] = {
    "declare": lambda command, author: f"@{author} declared the incident",
    "ack": lambda command, author: f"@{author} acknowledged the incident",
    "ic": _took_or_handed,
    "handoff": _took_or_handed,
    "accept": lambda command, author: f"@{author} accepted the handoff",
    "decline": lambda command, author: _with_text(f"@{author} declined the handoff", command),
    "cancel": lambda command, author: f"@{author} withdrew the handoff",
    "liaison": _liaison,
    "sme": _sme,
    "severity": lambda command, author: f"@{author} changed the severity to {command.word}",
    "status": lambda command, author: f"@{author} set the status to {command.word}",
    "mitigated": lambda command, author: _with_text(
        f"@{author} marked the incident mitigated", command
    ),
    "resolved": lambda command, author: _with_text(
        f"@{author} marked the incident resolved", command
    ),
    "update": lambda command, author: _with_text(f"update by @{author}", command),
    "note": lambda command, author: _with_text(f"note by @{author}", command),
    "action": lambda command, author: _with_text(f"@{author} filed a follow-up action", command),
    "confirm": lambda command, author: f"@{author} confirmed the fix",
    "close": lambda command, author: _with_text(f"@{author} closed the incident", command),
    "reopen": lambda command, author: f"@{author} reopened the incident",
}
# The incident's own timestamps, and the commands whose comments already show each of them.
_MILESTONES = (
    ("declared_at", "incident declared", frozenset({"declare"})),
    ("acknowledged_at", "incident acknowledged", frozenset({"ack"})),
    ("mitigated_at", "incident mitigated", frozenset({"mitigated"})),
    ("resolved_at", "incident resolved", frozenset({"resolved"})),
)
_STATUS_MILESTONES = {"mitigated": "mitigated", "resolved": "resolved"}


def build_timeline(
    state: IncidentState, comments: Sequence[IncidentComment], *, bot_login: str
) -> tuple[TimelineEntry, ...]:
    """The incident's timeline, oldest first; entries at the same time keep comment order.

    Human command comments that Baton applied become entries (a `/note` at the time it names);
    Baton's own comments, plain comments and refused commands do not.
    """
    refused = _refused_comment_ids(comments, bot_login)
    from_comments: list[TimelineEntry] = []
    shown: set[str] = set()
    for comment in comments:
        if _is_bot(comment.author, bot_login) or comment.id in refused:
            continue
        commands = parse_comment(comment.body).commands
        entries = _comment_entries(comment, commands)
        from_comments.extend(entries)
        if entries:
            shown.update(_milestones_shown(commands))
    timeline = [*_milestone_entries(state, shown), *from_comments]
    return tuple(sorted(timeline, key=lambda entry: entry.at))


def _comment_entries(
    comment: IncidentComment, commands: Sequence[Command]
) -> tuple[TimelineEntry, ...]:
    """One entry per command worth recording; none if any command was malformed, since then
    Baton applied nothing from the comment."""
    if any(command.problem for command in commands):
        return ()
    entries: list[TimelineEntry] = []
    for command in commands:
        describe = _DESCRIPTIONS.get(command.name)
        if describe is None:  # /help, /retro, /snooze: nothing happened to the incident
            continue
        try:
            at = _command_time(command, comment)
        except ValueError:
            return ()
        text = describe(command, comment.author)
        entries.append(TimelineEntry(at, text, permalink(comment.url), comment.author))
    return tuple(entries)


def _command_time(command: Command, comment: IncidentComment) -> datetime:
    if command.name == "note" and command.word:
        return note_time(command.word, comment.created_at)
    return _utc(comment.created_at)


def _milestones_shown(commands: Iterable[Command]) -> set[str]:
    shown: set[str] = set()
    for command in commands:
        shown.add(command.name)
        if command.name == "status" and command.word in _STATUS_MILESTONES:
            shown.add(_STATUS_MILESTONES[command.word])
    return shown


def _milestone_entries(state: IncidentState, shown: set[str]) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    for field_name, text, commands in _MILESTONES:
        moment: datetime | None = getattr(state, field_name)
        if moment is not None and not commands & shown:
            entries.append(TimelineEntry(_utc(moment), text, None, None))
    return entries


def answered_comment_ids(comments: Iterable[IncidentComment], bot_login: str) -> set[int]:
    """The comments Baton's replies among `comments` answer (each reply names its comment)."""
    return {
        int(answered)
        for reply in comments
        if _is_bot(reply.author, bot_login)
        for answered in _REPLY_MARKER.findall(reply.body)
    }


def _refused_comment_ids(comments: Iterable[IncidentComment], bot_login: str) -> set[int]:
    """Comments Baton answered with a refusal (its reply names the comment in a marker)."""
    return {
        int(answered)
        for reply in comments
        if _is_bot(reply.author, bot_login) and REFUSAL_WORDS in reply.body
        for answered in _REPLY_MARKER.findall(reply.body)
    }


def _with_text(words: str, command: Command) -> str:
    return f"{words}: {shortened(command.text)}" if command.text.strip() else words


def shortened(text: str, limit: int = SHORT_TEXT) -> str:
    """One line of at most `limit` characters, ending in `…` when something was cut."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def permalink(url: str) -> str | None:
    """The URL if it can sit in a Markdown link as it is (GitHub's own `https` links can)."""
    return url if _PERMALINK.fullmatch(url) else None


def _person(user: str | None, author: str) -> str:
    return author if user in (None, "me") else str(user)


def _is_bot(login: str, bot_login: str) -> bool:
    return login.casefold() == bot_login.casefold() or login.endswith("[bot]")


def _utc(moment: datetime) -> datetime:
    """GitHub's times are UTC; a time without a zone is read as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- figures and participants --------------------------------------------------------------


def figures(state: IncidentState) -> Figures:
    return Figures(
        to_acknowledge=_since_declared(state, state.acknowledged_at),
        to_mitigate=_since_declared(state, state.mitigated_at),
        to_resolve=_since_declared(state, state.resolved_at),
    )


def _since_declared(state: IncidentState, moment: datetime | None) -> timedelta | None:
    if state.declared_at is None or moment is None:
        return None
    return moment - state.declared_at


def participants(
    comments: Iterable[IncidentComment], *, bot_login: str, reporter: str | None = None
) -> tuple[str, ...]:
    """The reporter, then every person who commented, in order of their first comment."""
    logins = [reporter] if reporter else []
    logins += [c.author for c in comments if not _is_bot(c.author, bot_login)]
    return tuple(dict.fromkeys(logins))


# --- the retrospective issue ---------------------------------------------------------------


def retrospective_issue(
    state: IncidentState,
    issue: IssueView,
    comments: Sequence[IncidentComment],
    *,
    config: Config,
    bot_login: str,
) -> NewIssue:
    """The retrospective issue for an incident, its body under GitHub's size limit."""
    title = shortened(issue.title, TITLE_ROOM)
    return NewIssue(
        key=f"retro:{issue.repo}#{issue.number}",
        kind="retrospective",
        title=f"Retrospective: {title} (#{issue.number})",
        body=_body(state, issue, comments, bot_login),
        labels=(config.labels.retrospective,),
    )


def _body(
    state: IncidentState, issue: IssueView, comments: Sequence[IncidentComment], bot_login: str
) -> str:
    timeline = build_timeline(state, comments, bot_login=bot_login)
    people = participants(comments, bot_login=bot_login, reporter=state.reporter or issue.author)
    summary = read_incident_form(issue.body).summary  # as the report reads now, edits included

    def body_with(shown: int) -> str:
        return render(
            "retrospective.md.j2",
            state=state,
            issue=issue,
            incident_url=permalink(issue.html_url),
            incident_title=shortened(issue.title, TITLE_ROOM),
            summary=summary,
            timeline=timeline[:shown],
            timeline_left=len(timeline) - shown,
            figures=figures(state).words(),
            participants=people[:MAX_LISTED],
            participants_left=max(0, len(people) - MAX_LISTED),
            actions=state.actions[:MAX_LISTED],
            actions_left=max(0, len(state.actions) - MAX_LISTED),
        )

    shown = min(len(timeline), MAX_TIMELINE_ENTRIES)
    body = body_with(shown)
    while len(body) >= GITHUB_BODY_LIMIT and shown > 0:
        shown = shown * 3 // 4
        body = body_with(shown)
    return body


__all__ = [
    "GITHUB_BODY_LIMIT",
    "MAX_TIMELINE_ENTRIES",
    "REFUSAL_WORDS",
    "Figures",
    "IncidentComment",
    "TimelineEntry",
    "build_timeline",
    "figures",
    "participants",
    "permalink",
    "retrospective_issue",
    "shortened",
]
