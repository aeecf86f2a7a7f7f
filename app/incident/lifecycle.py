"""What happens around the commands: `/declare` on an ordinary issue, the community's replies
after the resolution notice, the retrospective issue closing, and an incident closed or reopened
by hand. Pure, like the rules: state, event and time in, a Decision out.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from app.incident import commands as command_table
from app.incident.calendar import calendar_for
from app.incident.clocks import close_due_at, report_blocks_close
from app.incident.declaring import declare
from app.incident.effects import (
    Actor,
    Decision,
    IssueChange,
    IssueView,
    Outcome,
    Reaction,
    Reply,
)
from app.incident.labels import labels_for
from app.incident.permissions import responder_requirement
from app.incident.state import IncidentState, Status
from app.incident.statuses import reopened
from app.incident.words import render

if TYPE_CHECKING:
    from app.incident.commands import Command
    from app.incident.config import Config


def declare_by_command(
    issue: IssueView,
    command: Command,
    actor: Actor,
    *,
    comment_id: int,
    config: Config,
    now: datetime,
) -> Decision | None:
    """`/declare [sevN] [title]` on an issue that is not an incident yet. None when refused:
    the refusal is then a reply on an issue that stays as it is (see `declare_refused`)."""
    if not actor.is_responder or command.problem:
        return None
    decision = declare(issue, actor, config, now, severity=command.word)
    title = command.text.strip().partition("\n")[0].strip() or None
    return replace(
        decision,
        state=decision.state.with_applied(comment_id),
        issue=replace(decision.issue, title=title),
        reactions=(Reaction(comment_id, "eyes"),),
        outcome=Outcome(applied=(command.gist,)),
    )


def declare_refused(command: Command, actor: Actor, *, comment_id: int, config: Config) -> Reply:
    reason = command.problem or (f"`/{command.written}` {responder_requirement(config)}.")
    body = render(
        "reply/declare_refused.md.j2",
        actor=actor,
        reason=reason,
        usage=command_table.usage("declare"),
    )
    return Reply(key=f"comment:{comment_id}", body=body)


def community_reply(
    state: IncidentState,
    actor: Actor,
    issue: IssueView,
    *,
    comment_id: int,
    written_at: datetime,
    config: Config,
    now: datetime,
) -> Decision:
    """A comment from someone who is not a responder, once the incident is resolved or closed.

    After the resolution notice it restarts the working-hour wait, counted from the comment's own
    time; on an incident that Baton closed, the reporter's comment is passed to the IC."""
    if actor.is_responder or actor.is_bot or state.has_applied(comment_id):
        return Decision(state=state)
    if state.status == Status.RESOLVED and state.confirmed_at is None:
        waiting_from = max(written_at, state.close_wait_from or written_at)
        after = replace(
            state.with_applied(comment_id), close_wait_from=waiting_from, last_activity_at=now
        )
        calendar = calendar_for(config.working_hours)
        body = render(
            "reply/community_reply.md.j2",
            state=after,
            actor=actor,
            closes_at=close_due_at(after, config, calendar),
            close_after=f"{config.clocks.close_after_working_hours:g}",
            report_needed=report_blocks_close(after, config),
        )
        return Decision(state=after, replies=(Reply(f"comment:{comment_id}", body),))
    if state.status == Status.CLOSED and actor.is_reporter:
        body = render("reply/reporter_after_close.md.j2", state=state, actor=actor)
        after = state.with_applied(comment_id)
        return Decision(state=after, replies=(Reply(f"comment:{comment_id}", body),))
    return Decision(state=state)


def retrospective_closed(
    state: IncidentState,
    issue: IssueView,
    retro: int,
    *,
    closed: bool,
    config: Config,
    now: datetime,
) -> Decision:
    """Closing the retrospective issue marks the incident report done (and closes an incident
    whose fix is already confirmed); reopening it undoes the report."""
    if state.retro != retro or state.report_done == closed:
        return Decision(state=state)
    after = replace(state, report_done=closed)
    closes_now = closed and after.status == Status.RESOLVED and after.confirmed_at is not None
    if closes_now:
        after = replace(after, status=Status.CLOSED, closed_at=now)
    calendar = calendar_for(config.working_hours)
    body = render(
        "reply/report_done.md.j2",
        state=after,
        retro=retro,
        closed=closed,
        closes_at=close_due_at(after, config, calendar)
        if after.status == Status.RESOLVED
        else None,
    )
    key = f"report:{retro}:{'closed' if closed else 'reopened'}:{now.isoformat()}"
    change = _labels_change(after, issue, config)
    if closes_now:
        change = replace(change, state="closed", state_reason="completed")
    return Decision(state=after, issue=change, replies=(Reply(key, body),))


def closed_by_hand(
    state: IncidentState, actor: Actor, issue: IssueView, *, config: Config, now: datetime
) -> Decision:
    """Someone closed the incident issue with GitHub's button: the card follows."""
    if state.status == Status.CLOSED:
        return Decision(state=state)
    after = replace(
        state, status=Status.CLOSED, closed_at=now, close_reason=f"closed by @{actor.login}"
    )
    return Decision(
        state=after,
        issue=_labels_change(after, issue, config),
        replies=(
            Reply(
                f"closed:{issue.number}:{now.isoformat()}", _words("closed_by_hand", after, actor)
            ),
        ),
        by=actor.login,
    )


def reopened_by_hand(
    state: IncidentState, actor: Actor, issue: IssueView, *, config: Config, now: datetime
) -> Decision:
    """Someone reopened the incident issue: back to investigating, as `/reopen` would."""
    if state.status.is_open:
        return Decision(state=state)
    after = replace(reopened(state), last_activity_at=now)
    return Decision(
        state=after,
        issue=_labels_change(after, issue, config),
        replies=(
            Reply(
                f"reopened:{issue.number}:{now.isoformat()}",
                _words("reopened_by_hand", after, actor),
            ),
        ),
    )


def _labels_change(state: IncidentState, issue: IssueView, config: Config) -> IssueChange:
    labels = labels_for(state, issue.labels, config)
    return IssueChange(labels=None if labels == issue.labels else labels)


def _words(template: str, state: IncidentState, actor: Actor) -> str:
    return render(f"reply/{template}.md.j2", state=state, actor=actor)
