"""Turn a decision into the fewest GitHub requests, in an order that is safe to resume.

A decision becomes a `Plan`: new issues (whose numbers the card needs), then one PATCH of the
incident issue (card, labels, assignees, open/closed together), then the replies, then the
reactions: what a person needs first goes first, and while writes wait for their turn (see
`WritePacer`) a card goes before a reply and a reply before a reaction. The plan is journaled
before the first request and after each step, so a crash or a GitHub outage resumes it where it
stopped instead of deciding again. Replies and new issues carry markers, so a step that may have
happened already is looked for before it is repeated.

A request GitHub refuses for good (422: it will refuse the same request again; 404 on a reaction:
the comment was deleted) costs that one step: it is logged and the rest of the plan goes on,
instead of the delivery being retried as if GitHub were down while the incident's later
commands wait behind it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from githubkit.exception import RequestFailed

from app.github import issues as gh
from app.github.client import GitHubSession, is_not_found
from app.incident.effects import Reply
from app.incident.limits import make_room_for_card
from app.incident.plan import Plan
from app.incident.state import IncidentState
from app.incident.words import render

log = logging.getLogger(__name__)

_T = TypeVar("_T")

CardRenderer = Callable[[IncidentState, int, str], str]  # (state, issue number, title) -> card
Journal = Callable[[int], Awaitable[None]]
# Told of each body Baton wrote: (issue number, the body as GitHub took it, the body it read).
BodyWritten = Callable[[int, str, str], Awaitable[None]]
# Puts the incident on the project board as the state says; returns a problem sentence or None.
BoardSync = Callable[[IncidentState, str], Awaitable[str | None]]


async def execute(
    session: GitHubSession,
    plan: Plan,
    *,
    render_card: CardRenderer,
    board: BoardSync | None = None,
    done_steps: int = 0,
    journal: Journal | None = None,
    resumed_since: datetime | None = None,
    wrote: BodyWritten | None = None,
) -> None:
    """Carry out the plan from step `done_steps`. `resumed_since` is set when an earlier attempt
    may have done part of it: the issue is then re-read before its card is written, and content
    is looked for before it is created again."""
    step = 0
    state = plan.state
    problems: tuple[Reply, ...] = ()

    async def advance() -> None:
        nonlocal step
        step += 1
        if journal is not None and step > done_steps:
            await journal(step)

    async def react() -> None:
        for reaction in plan.reactions:
            if step >= done_steps:
                await _unless_refused(
                    gh.react(session, plan.repo, reaction.comment_id, reaction.content),
                    f"the reaction on comment {reaction.comment_id}",
                    gone_is_final=True,
                )
            await advance()

    async def post(replies: Iterable[Reply]) -> None:
        for reply in replies:
            if step >= done_steps:
                await _unless_refused(
                    _post_reply(session, plan, reply, resumed_since), f"the reply {reply.key}"
                )
            await advance()

    if plan.reactions_first:
        await react()
    for new_issue in plan.new_issues:
        if state is not None:
            if step >= done_steps:
                number: int | None = await _unless_refused(
                    gh.open_issue(session, plan.repo, new_issue), f"the issue {new_issue.key}"
                )
            else:  # opened before an interruption: find it again to link it
                number = await gh.find_issue_with(
                    session, plan.repo, gh.ISSUE_MARKER.format(key=new_issue.key), new_issue.labels
                )
            if number is not None:
                state = state.with_linked_issue(new_issue.kind, number)
        await advance()
    if step >= done_steps:
        if state is not None and board is not None and plan.node_id:
            state, problems = await _follow_on_board(board, state, plan)
        await _unless_refused(
            _update_incident_issue(session, plan, state, render_card, resumed_since, wrote),
            f"the update of {plan.repo}#{plan.number}",
        )
    await advance()
    await post(plan.replies)
    if not plan.reactions_first:
        await react()
    # Last: a resumed plan that is past the PATCH does not ask the board again, so the steps
    # before this reply are the same in every attempt.
    await post(problems)


async def _unless_refused(
    effect: Awaitable[_T], what: str, *, gone_is_final: bool = False
) -> _T | None:
    """The effect's result; None when GitHub refused it for good (see the module's text)."""
    try:
        return await effect
    except RequestFailed as error:
        status = error.response.status_code
        if status != 422 and not (gone_is_final and is_not_found(error)):
            raise
        log.warning("GitHub refused %s (%d %s); going on without it", what, status, error)
        return None


async def _post_reply(
    session: GitHubSession, plan: Plan, reply: Reply, resumed_since: datetime | None
) -> None:
    await gh.post_reply(
        session,
        plan.repo,
        plan.number,
        reply,
        check_first=resumed_since is not None,
        since=resumed_since,
    )


async def _follow_on_board(
    board: BoardSync, state: IncidentState, plan: Plan
) -> tuple[IncidentState, tuple[Reply, ...]]:
    """Board updates are idempotent and cost nothing when nothing changed. A problem with the
    board is said once per incident (recorded with the reminders), and the incident goes on."""
    problem = await board(state, plan.node_id)
    if problem is None:
        return state, ()
    digest = hashlib.sha256(problem.encode()).hexdigest()[:12]
    if f"board@{digest}" in state.nudges:
        return state, ()
    state = replace(state, nudges=(*state.nudges, f"board@{digest}"))
    body = render("reply/board_problem.md.j2", problem=problem)
    return state, (Reply(key=f"board:{plan.number}:{digest}", body=body),)


async def _update_incident_issue(
    session: GitHubSession,
    plan: Plan,
    state: IncidentState | None,
    render_card: CardRenderer,
    resumed_since: datetime | None,
    wrote: BodyWritten | None,
) -> None:
    changes: dict[str, Any] = {}
    body: str | None = None
    if state is not None:
        body = plan.body_read
        if resumed_since is not None:
            body = (await gh.load_issue(session, plan.repo, plan.number)).body
        card = render_card(state, plan.number, plan.title)
        changes["body"], moved = make_room_for_card(plan.text_from or body, card)
        if moved is not None:  # posted first: the text is never only in a body being replaced
            await _post_reply(session, plan, _moved_text(plan, state, moved), resumed_since)
    if plan.new_title is not None:
        changes["title"] = plan.new_title
    if plan.labels is not None:
        await gh.ensure_labels(session, plan.repo, [n for n in plan.labels if n in plan.ours])
        changes["labels"] = list(plan.labels)
    if plan.assignees is not None:
        changes["assignees"] = list(plan.assignees)
    if plan.issue_state is not None:
        changes["state"] = plan.issue_state
        if plan.state_reason is not None:
            changes["state_reason"] = plan.state_reason
    if not changes:
        return
    updated = await gh.update_issue(session, plan.repo, plan.number, changes)
    if body is not None and wrote is not None:
        await wrote(plan.number, updated.body, body)


def _moved_text(plan: Plan, state: IncidentState, moved: str) -> Reply:
    digest = hashlib.sha256(moved.encode()).hexdigest()[:12]
    body = render("reply/description_moved.md.j2", reporter=state.reporter, moved=moved)
    return Reply(key=f"moved:{plan.number}:{digest}", body=body)
