"""Commands that record or publish: stakeholder updates and their reminder, notes, follow-up
and retrospective issues, and `/help`.

Pure, like the rest of `app/incident/`: see `app/incident/rules.py`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from app.incident import commands as command_table
from app.incident import times
from app.incident.effects import (
    NewIssue,
)
from app.incident.logins import same_login
from app.incident.permissions import need_responder
from app.incident.state import IncidentState, Status
from app.incident.statuses import retrospective
from app.incident.turns import Refused, Step, Turn, already, cadence, section
from app.incident.words import render

if TYPE_CHECKING:
    from app.incident.commands import Command


LONGEST_SNOOZE = timedelta(days=7)


# A follow-up issue's title is the first line of `/action`'s text, shortened to this.
LONGEST_ACTION_TITLE = 120


def update(state: IncidentState, command: Command, turn: Turn) -> Step:
    if not same_login(turn.actor.login, state.liaison_or_ic):
        need_responder(turn)
    if state.status == Status.CLOSED:
        raise Refused("cannot post an update: the incident is closed; say `/reopen` first")
    if not command.text.strip():
        raise Refused("needs the update itself: what we know, and what we are doing")
    every = cadence(state.severity, turn.config) if state.status.is_open else None
    after = replace(state, last_update_at=turn.now, snoozed_until=None)
    next_due = turn.now + every if every else None
    text = command.text.strip()
    return Step(after, section("update", after, turn, text=text, next_due=next_due), update=text)


def note(state: IncidentState, command: Command, turn: Turn) -> Step:
    need_responder(turn)
    if not command.text.strip():
        raise Refused("needs the note itself: the decision, action or trade-off to record")
    moment = turn.now if not command.word else note_time(command.word, turn.now)
    # A note changes no field, but it is activity: the stale clock starts again.
    after = replace(state, last_activity_at=turn.now)
    return Step(after, section("note", after, turn, at=moment, text=command.text.strip()))


def note_time(token: str, now: datetime) -> datetime:
    """When a `/note` happened (see `times.note_time`); an unreadable time is refused."""
    try:
        return times.note_time(token, now)
    except ValueError as error:
        raise Refused(str(error).removeprefix(f"the /note time {token!r} ")) from None


def snooze(state: IncidentState, command: Command, turn: Turn) -> Step:
    if not any(same_login(turn.actor.login, holder) for holder in (state.ic, state.liaison)):
        raise Refused("is for the Incident Commander or the External Liaison")
    if not state.status.is_open:
        raise Refused(f"has nothing to postpone: no updates are due while it is {state.status}")
    length = snooze_length(command.word or "")
    until = turn.now + length
    after = replace(state, snoozed_until=until)
    return Step(after, section("snoozed", after, turn, until=until))


def snooze_length(text: str) -> timedelta:
    """`30m`, `2h`, `1d`, `1h30m`: at most a week."""
    try:
        length = times.parse_duration(text)
    except ValueError:
        raise Refused("needs a duration such as `30m`, `2h` or `1h30m`") from None
    if not timedelta(0) < length <= LONGEST_SNOOZE:
        raise Refused(
            "can postpone the update reminder by at most 7 days, and by more than nothing"
        )
    return length


def retro(state: IncidentState, command: Command, turn: Turn) -> Step:
    need_responder(turn)
    if state.retro is not None:
        return already(state, turn, f"the retrospective is #{state.retro}")
    return Step(
        state, section("retro_opened", state, turn), new_issues=(retrospective(state, turn),)
    )


def action(state: IncidentState, command: Command, turn: Turn) -> Step:
    need_responder(turn)
    text = command.text.strip()
    if not text:
        raise Refused("needs the follow-up itself: what should be done")
    title, _, details = text.partition("\n")
    title = title.strip()
    if len(title) > LONGEST_ACTION_TITLE:
        title = title[: LONGEST_ACTION_TITLE - 1].rstrip() + "…"
    body = render(
        "action_issue.md.j2",
        issue=turn.issue,
        actor=turn.actor,
        details=details.strip(),
        title=title,
    )
    follow_up = NewIssue(
        key=f"action:{turn.comment_id}:{command.line}",
        kind="action",
        title=title,
        body=body,
        labels=(turn.config.labels.action,),
    )
    return Step(state, section("action_opened", state, turn, title=title), new_issues=(follow_up,))


def declare_again(state: IncidentState, command: Command, turn: Turn) -> Step:
    return Step(state, section("already_incident", state, turn), words_only=True)


def show_help(state: IncidentState, command: Command, turn: Turn) -> Step:
    table = command_table.help_table_markdown()
    return Step(state, section("help", state, turn, table=table), words_only=True)
