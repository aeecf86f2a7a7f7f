"""Slash commands in a comment on an incident issue (and `/declare` on any issue); plain
comments from the community once an incident is resolved or closed."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import replace

from app.github import issues as gh
from app.handlers.events import Event, Known
from app.handlers.work import Work
from app.incident import lifecycle, rules
from app.incident.commands import Command, parse_comment
from app.incident.effects import Actor, Decision, IssueView, Reaction, UserFacts
from app.incident.plan import Plan
from app.incident.retrospective import IncidentComment, answered_comment_ids
from app.incident.state import IncidentState, format_time

NEEDS_ASSIGNABLE = frozenset({"ic", "handoff"})  # commands whose user may become the assignee


def comment_matters(event: Event, known: Known) -> bool:
    """A command (or a near miss) anywhere, or any comment on a resolved or closed incident."""
    if _answerable(event) is None:
        return False
    return has_commands(event.comment_body) or _after_resolution(event, known)


def _answerable(event: Event) -> tuple[int, int, str] | None:
    """(issue number, comment id, sender) of a comment on an issue, not on a pull request."""
    number, comment_id, sender = event.issue_number, event.comment_id, event.sender
    if event.is_pull_request or number is None or comment_id is None or sender is None:
        return None
    return number, comment_id, sender


def _after_resolution(event: Event, known: Known) -> bool:
    """Whether the card in the payload (no request needed) is of a resolved or closed incident."""
    repo, number = event.repo, event.issue_number
    if repo is None or number is None:
        return False
    seen = known.card_state(repo, number, event.issue_body)
    return seen is not None and not seen.status.is_open


async def on_comment_created(work: Work, event: Event) -> Plan | None:
    answerable = _answerable(event)
    if answerable is None:
        return None
    number, comment_id, sender = answerable
    parsed = parse_comment(event.comment_body)
    if not parsed.commands and not parsed.near_misses:
        if not _after_resolution(event, work.known):
            return None
        return await _community_comment(work, event, number, comment_id)
    issue, reading = await work.load_incident(number)
    if reading.state is None:
        declaring = next((c for c in parsed.commands if c.name == "declare"), None)
        if declaring is None or reading.found:
            return None  # not an incident (or a card that cannot be trusted)
        return await _declare(work, issue, declaring, sender, comment_id)
    actor = await work.actor(sender, issue)
    needs_comments = rules.needs_comments(parsed.commands, work.config)
    decision = rules.apply_comment(
        reading.state,
        parsed.commands,
        parsed.near_misses,
        actor,
        await _named_users(work, parsed.commands, actor.login),
        comment_id=comment_id,
        issue=issue,
        config=work.config,
        now=work.now,
        comments=await work.comments_since(number, None, including=comment_id)
        if needs_comments
        else (),
        bot_login=work.bot_login,
    )
    return work.plan(_stamped(decision, reading.state, event), issue, previous=reading.state)


def _stamped(decision: Decision, before: IncidentState, event: Event) -> Decision:
    """A newly applied command moves `commands_through` up to when it was written."""
    written, comment_id = event.comment_created_at, event.comment_id
    if written is None or comment_id is None or before.has_applied(comment_id):
        return decision
    if not decision.state.has_applied(comment_id):
        return decision
    through = max(written, before.commands_through or written)
    return replace(decision, state=replace(decision.state, commands_through=through))


async def missed_before(
    work: Work, event: Event, decided: AbstractSet[int] = frozenset()
) -> list[Event] | None:
    """The command comments written before this one that were neither applied nor answered
    (nor `decided` in this unit of work), oldest first, as the deliveries GitHub sent for them:
    to be decided first, so that commands take effect in the order they were written whatever
    order their deliveries arrive in. None when this comment needs no decision: it was decided
    already, as a missed one before a later comment's delivery.

    Every command written before the newest applied one was handled when that one was, so only
    the comments since then are listed (one read per run)."""
    answerable = _answerable(event)
    written = event.comment_created_at
    if answerable is None or written is None or not has_commands(event.comment_body):
        return []
    number, comment_id, _ = answerable
    if comment_id in decided:
        return None
    _, reading = await work.load_incident(number)
    state = reading.state
    if state is None or state.has_applied(comment_id):
        return []
    # A command that needs the whole timeline reads it here, once.
    listed_from = (
        None
        if rules.needs_comments(parse_comment(event.comment_body).commands, work.config)
        else state.commands_through or state.declared_at
    )
    comments = await work.comments_since(number, listed_from, including=comment_id)
    done = answered_comment_ids(comments, work.bot_login) | decided
    if comment_id in done:
        return None
    return [
        _as_delivery(event, c)
        for c in _unhandled(work, comments, state, done)
        if (c.created_at, c.id) < (written, comment_id)
    ]


async def missed_on(work: Work, issue: IssueView, delivery_id: str) -> list[Event]:
    """Every command comment on the incident `issue` that was neither applied nor answered,
    oldest first, as the deliveries GitHub sent for them: in Actions mode, GitHub's concurrency
    cancels a pending run when a newer one comes, and a run decides what those left."""
    _, reading = await work.load_incident(issue.number)
    state = reading.state
    if state is None:
        return []
    comments = await work.comments_since(issue.number, state.commands_through or state.declared_at)
    done = answered_comment_ids(comments, work.bot_login)
    on_issue = _issue_event(issue, delivery_id)
    return [_as_delivery(on_issue, c) for c in _unhandled(work, comments, state, done)]


def _unhandled(
    work: Work, comments: list[IncidentComment], state: IncidentState, done: AbstractSet[int]
) -> list[IncidentComment]:
    """The command comments since the newest applied one, neither applied nor `done`."""
    start = state.commands_through or state.declared_at
    return [
        c
        for c in comments
        if (start is None or c.created_at >= start)
        and c.author != work.bot_login
        and c.id not in done
        and not state.has_applied(c.id)
        and has_commands(c.body)
    ]


def has_commands(body: str) -> bool:
    parsed = parse_comment(body)
    return bool(parsed.commands or parsed.near_misses)


def _as_delivery(event: Event, comment: IncidentComment) -> Event:
    """The delivery GitHub sent for `comment`, on the issue as `event` has it."""
    payload = {
        **event.payload,
        "comment": {
            "id": comment.id,
            "body": comment.body,
            "created_at": format_time(comment.created_at),
            "html_url": comment.url,
            "user": {"login": comment.author},
        },
        "sender": {"login": comment.author},
    }
    return Event(event.name, event.action, payload, f"{event.delivery_id}:{comment.id}")


def _issue_event(issue: IssueView, delivery_id: str) -> Event:
    """A comment's delivery on `issue`, before the comment is put in (see `_as_delivery`)."""
    payload = {
        "action": "created",
        "issue": {
            "number": issue.number,
            "title": issue.title,
            "body": issue.body,
            "user": {"login": issue.author},
            "labels": [{"name": name} for name in issue.labels],
            "state": issue.state,
            "html_url": issue.html_url,
        },
        "repository": {"full_name": issue.repo},
    }
    return Event("issue_comment", "created", payload, delivery_id)


async def _named_users(
    work: Work, commands: tuple[Command, ...], actor: str
) -> dict[str, UserFacts]:
    assignees = {c.user for c in commands if c.name in NEEDS_ASSIGNABLE}
    responders = work.config.responders
    return {
        login: await gh.user_facts(
            work.session,
            work.repo,
            login,
            minimum=responders.permission,
            teams=responders.teams,
            needs_assignable=login in assignees,
        )
        for login in rules.named_users(commands, Actor(login=actor))
        if login != actor
    }


async def _declare(
    work: Work, issue: IssueView, command: Command, sender: str, comment_id: int
) -> Plan:
    actor = await work.actor(sender, issue)
    decision = lifecycle.declare_by_command(
        issue, command, actor, comment_id=comment_id, config=work.config, now=work.now
    )
    if decision is not None:
        return work.plan(decision, issue, previous=None)
    reply = lifecycle.declare_refused(command, actor, comment_id=comment_id, config=work.config)
    refusal = Decision(
        state=IncidentState(),  # not written: the issue is not an incident
        replies=(reply,),
        reactions=(Reaction(comment_id, "confused"),),
        refused=True,
    )
    return work.plan(refusal, issue, previous=refusal.state)


async def _community_comment(work: Work, event: Event, number: int, comment_id: int) -> Plan | None:
    """A comment on a resolved or closed incident: a reply restarts the wait for closing."""
    issue, reading = await work.load_incident(number)
    if reading.state is None:
        return None
    actor = await work.actor(event.sender or "", issue)
    decision = lifecycle.community_reply(
        reading.state,
        actor,
        issue,
        comment_id=comment_id,
        written_at=event.comment_created_at or work.now,
        config=work.config,
        now=work.now,
    )
    return work.plan(decision, issue, previous=reading.state)
