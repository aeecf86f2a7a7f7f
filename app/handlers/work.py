"""One unit of work: a delivery (or a run of deliveries of one issue) being handled for one
repository."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime

from app.config import Config, LoadResult
from app.github import issues as gh
from app.github.client import GitHubSession
from app.github.projects import sync_board
from app.handlers.events import Known
from app.handlers.writes import Writes, Written
from app.incident import card
from app.incident.calendar import calendar_for
from app.incident.clocks import card_view_fields
from app.incident.effects import Actor, Decision, IssueView, Reply
from app.incident.labels import is_baton_label
from app.incident.notices import notices_for
from app.incident.plan import Plan, plan_for
from app.incident.retrospective import IncidentComment
from app.incident.state import IncidentState, issue_state_key
from app.incident.words import render

NOTICE_PROBLEMS = 20  # a notice lists this many problems and counts the rest


def config_notice(loaded: LoadResult) -> str:
    """The notice of what is wrong with the configuration: the first problems, and how many
    more `baton check-config` would list, so that it stays short whatever the file holds."""
    return render(
        "reply/config_problems.md.j2",
        problems=loaded.problems[:NOTICE_PROBLEMS],
        more=max(len(loaded.problems) - NOTICE_PROBLEMS, 0),
        sources=loaded.sources,
    )


@dataclass
class Work:
    session: GitHubSession
    repo: str
    loaded: LoadResult
    now: datetime
    key: bytes
    bot_login: str = ""  # tells Baton's own comments apart in a timeline; commands need it
    # What Baton last wrote of each issue, kept where every process sees it (None: unknown).
    writes: Writes | None = None
    notify: bool = False  # the plans carry notices for the chat channel (docs/notifications.md)
    # Each incident as first loaded, then as the plans decided so far leave it.
    _incidents: dict[int, IssueView] = field(default_factory=dict, repr=False)
    # What Baton last wrote of each incident, asked of `writes` once per unit of work.
    _written: dict[int, Written | None] = field(default_factory=dict, repr=False)
    # The incidents loaded with an earlier card than Baton last wrote: their card is rewritten.
    _replayed: set[int] = field(default_factory=set, repr=False)
    # Each incident's comments, listed once per unit of work.
    _comments: dict[int, tuple[datetime | None, list[IncidentComment]]] = field(
        default_factory=dict, repr=False
    )

    @property
    def config(self) -> Config:
        return self.loaded.config

    @property
    def known(self) -> Known:
        return Known(config=self.config, key=self.key)

    def card_key(self, number: int) -> bytes:
        return issue_state_key(self.key, self.repo, number)

    def render_card(self, state: IncidentState, number: int, title: str) -> str:
        clocks = card_view_fields(
            state, self.config, calendar_for(self.config.working_hours), self.now
        )
        view = card.CardView(title=title, clocks=clocks)
        return card.render_card(state, view, self.card_key(number))

    def read_card(self, body: str, number: int) -> card.CardReading:
        return card.read_card(body, self.card_key(number))

    async def follow_on_board(self, state: IncidentState, node_id: str) -> str | None:
        return await sync_board(self.session, self.config, issue_node_id=node_id, state=state)

    async def load_incident(self, number: int) -> tuple[IssueView, card.CardReading]:
        """The issue as GitHub has it now, and its card read back: read once per unit of work,
        then as `remember` left it."""
        issue = self._incidents.get(number)
        if issue is None:
            issue = await gh.load_issue(self.session, self.repo, number)
            self._incidents[number] = issue
        return issue, await self._trusted(self.read_card(issue.body, number), number)

    async def _trusted(self, reading: card.CardReading, number: int) -> card.CardReading:
        """The reading, or Baton's last written state in its place when the card on the issue
        is not one to decide on while Baton knows a better one: a validly signed earlier card
        pasted back, or a card forged or removed since Baton's last write. Nothing is ever
        decided on them, and the next write puts Baton's card back."""
        if self.writes is None:
            return reading
        if number not in self._written:
            self._written[number] = await self.writes.last_written(self.repo, number)
        written = self._written[number]
        last = None if written is None else self.read_card(written.body, number).state
        if last is None or (reading.state is not None and reading.state.rev >= last.rev):
            return reading
        self._replayed.add(number)
        return replace(reading, state=last, replayed=True)

    async def comments_since(
        self, number: int, since: datetime | None, *, including: int | None = None
    ) -> list[IncidentComment]:
        """The incident's comments written or edited since `since` (all of them for None),
        and maybe some before: listed once per unit of work, and again when the listing
        started later or comment `including` was written after it."""
        listed = self._comments.get(number)
        if listed is None or not _covers(listed, since, including):
            listed = (since, await gh.list_comments(self.session, self.repo, number, since=since))
            self._comments[number] = listed
        return listed[1]

    def remember(self, plan: Plan) -> None:
        """The incident as `plan` will leave it, for the next decision of this unit of work."""
        issue = self._incidents.get(plan.number)
        if issue is None:
            return
        body = issue.body
        if plan.state is not None:
            self._replayed.discard(plan.number)
            card_text = self.render_card(plan.state, plan.number, plan.title)
            body = card.place_card(plan.text_from or body, card_text)
        self._incidents[plan.number] = replace(
            issue,
            title=plan.new_title or issue.title,
            body=body,
            labels=issue.labels if plan.labels is None else plan.labels,
            assignees=issue.assignees if plan.assignees is None else plan.assignees,
            state=plan.issue_state or issue.state,
        )

    async def actor(self, login: str, issue: IssueView) -> Actor:
        responders = self.config.responders
        responder = await gh.responder_check(
            self.session, self.repo, login, minimum=responders.permission, teams=responders.teams
        )
        return Actor(
            login=login,
            is_responder=responder.is_responder,
            is_reporter=login == issue.author,
            unseen_teams=responder.unseen_teams,
        )

    def plan(self, decision: Decision, issue: IssueView, previous: IncidentState | None) -> Plan:
        """The plan for a decision; a card it writes gets the next revision. A replayed card is
        written over even when the state did not change."""
        decision = self._with_config_notice(decision, issue)
        ours = tuple(n for n in decision.issue.labels or () if is_baton_label(n, self.config))
        before = previous
        if issue.number in self._replayed:
            previous = None
        plan = plan_for(decision, issue=issue, previous=previous, ours=ours)
        if plan.state is None:
            return plan
        state = plan.state.next_revision()
        notices = (
            notices_for(decision, before, issue, self.config, revision=state.rev)
            if self.notify
            else ()
        )
        return replace(plan, state=state, notices=notices)

    def _with_config_notice(self, decision: Decision, issue: IssueView) -> Decision:
        """Say once per incident, and again whenever the file changes, which keys are wrong."""
        problems = self.loaded.problems
        if not problems or decision.refused or not decision.replies:
            return decision
        digest = hashlib.sha256("\n".join(map(str, problems)).encode()).hexdigest()[:12]
        notice_key = f"config@{digest}"
        if notice_key in decision.state.nudges:
            return decision
        notice = Reply(key=f"config:{issue.number}:{digest}", body=config_notice(self.loaded))
        state = replace(decision.state, nudges=(*decision.state.nudges, notice_key))
        return replace(decision, state=state, replies=(*decision.replies, notice))


def _covers(
    listed: tuple[datetime | None, list[IncidentComment]],
    since: datetime | None,
    including: int | None,
) -> bool:
    started, comments = listed
    begins_early = started is None or (since is not None and started <= since)
    return begins_early and (including is None or any(c.id == including for c in comments))
