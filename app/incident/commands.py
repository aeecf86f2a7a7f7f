"""Slash commands: the command table, and comment text -> commands.

The table (`COMMANDS`) is the single source of truth for the parser, `/help` and
docs/commands.md (`commands_markdown()` renders the whole page; a test keeps the file equal).

Pure: no I/O. What the parser cannot know (who may run a command, whether `sev9` is a
configured severity, whether a time zone exists, who `me` is) is checked by the caller.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import NamedTuple

from app.incident.arguments import read_arguments
from app.incident.command_lines import LINE_BREAK, command_lines
from app.incident.suggestions import closest
from app.incident.text import code
from app.incident.words import render


@dataclass(frozen=True)
class CommandSpec:
    name: str  # canonical, lower case
    aliases: tuple[str, ...]
    usage: str
    summary: str
    who: str
    example: str

    @property
    def forms(self) -> tuple[str, ...]:
        """The usage line, then each alias with its slash: how `/help` names the command."""
        return (self.usage, *("/" + alias for alias in self.aliases))


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


_NEEDS_TEXT = frozenset({"update", "note", "action"})
_TEXT_ON_ITS_LINE_ONLY = frozenset({"sme"})  # an area is a few words, not a paragraph


# --- the parser ----------------------------------------------------------------------------


def parse_comment(body: str) -> ParsedComment:
    """The commands and near misses in a comment, in order. Never raises."""
    lines = LINE_BREAK.split(body.removeprefix("\ufeff"))
    found: list[tuple[int, _Head, CommandSpec | None, str | None]] = []
    looked_up: set[str] = set()
    for index, eligible in enumerate(command_lines(lines)):
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
    arguments = read_arguments(spec.name, head.rest)
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
        problem=None if problem is None else f"`/{head.written}` {problem}: {code(spec.usage)}",
    )


# --- /help and docs/commands.md ------------------------------------------------------------


def help_table_markdown() -> str:
    """The command table as GitHub Markdown, for `/help` replies and the docs."""
    return render("command_table.md.j2", commands=COMMANDS)


def commands_markdown() -> str:
    """The whole of docs/commands.md, rendered from the table."""
    return render("docs/commands.md.j2", commands=COMMANDS, table=help_table_markdown())
