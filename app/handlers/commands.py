"""Slash commands in a comment on an incident issue (and `/declare` on any issue)."""

from __future__ import annotations

from app.github import issues as gh
from app.github.executor import Plan
from app.handlers.events import Event
from app.handlers.work import Work
from app.incident import rules
from app.incident.commands import parse_comment
from app.incident.effects import UserFacts

NEEDS_ASSIGNABLE = frozenset({"ic", "handoff"})  # commands whose user may become the assignee


async def on_comment_created(work: Work, event: Event) -> Plan | None:
    if event.is_pull_request or event.issue_number is None or event.comment_id is None:
        return None
    parsed = parse_comment(event.comment_body)
    if not parsed.commands and not parsed.near_misses:
        return None
    issue, reading = await work.load_incident(event.issue_number)
    if reading.state is None and not any(c.name == "declare" for c in parsed.commands):
        return None  # not an incident: only /declare means anything here
    actor = await work.actor(event.sender or "", issue)
    assignees = {c.user for c in parsed.commands if c.name in NEEDS_ASSIGNABLE}
    users: dict[str, UserFacts] = {}
    for login in rules.named_users(parsed.commands, actor):
        if login != actor.login:
            users[login] = await gh.user_facts(
                work.session,
                work.repo,
                login,
                minimum=work.config.responders.permission,
                teams=work.config.responders.teams,
                needs_assignable=login in assignees,
            )
    decision = rules.apply_comment(
        reading.state,
        parsed.commands,
        parsed.near_misses,
        actor,
        users,
        comment_id=event.comment_id,
        issue=issue,
        config=work.config,
        now=work.now,
    )
    return work.plan(decision, issue, previous=reading.state)
