"""The plan: what a decision writes to GitHub, and the contract every handler returns.

A `Plan` is a decision tied to the issue it was decided on (the body read, the node id for the
project board). It is plain data: journaled as JSON before its first request, so a delivery
interrupted by a crash resumes it (app/github/executor.py carries it out).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, TypeVar

from app.incident.effects import Decision, IssueView, NewIssue, Outcome, Reaction, Reply
from app.incident.notices import Notice
from app.incident.state import IncidentState, state_from_dict, state_to_dict

_T = TypeVar("_T")


@dataclass(frozen=True)
class Plan:
    repo: str
    number: int
    title: str  # shown on the card
    body_read: str  # the issue body decided on: what Baton believes GitHub has
    node_id: str  # for the project board
    state: IncidentState | None  # the state to write into the card; None leaves the card alone
    new_title: str | None = None
    labels: tuple[str, ...] | None = None
    assignees: tuple[str, ...] | None = None
    issue_state: str | None = None
    state_reason: str | None = None
    reactions: tuple[Reaction, ...] = ()
    new_issues: tuple[NewIssue, ...] = ()
    replies: tuple[Reply, ...] = ()
    ours: tuple[str, ...] = field(default=())  # labels Baton manages: created with colours
    # The body whose text outside the card the write keeps, when it is not the body read: the
    # text of a person's edit that an earlier write of Baton's undid (app/handlers/edits.py).
    text_from: str | None = None
    # A plan journaled when reactions were its first steps resumes in that order.
    reactions_first: bool = False
    outcome: Outcome = field(default_factory=Outcome)  # what became of the commands, for the log
    # Told to the chat channel once the GitHub writes are done (app/pipeline/announcing.py):
    # not steps of the plan, so that a chat outage never holds up the incident's GitHub writes.
    notices: tuple[Notice, ...] = ()

    def summary(self) -> str:
        """What was decided, in a few words for the log: the commands applied or refused and
        why, else what the plan writes."""
        said = [f"{command} applied" for command in self.outcome.applied]
        said += [f"refused: {reason.rstrip('.')}" for reason in self.outcome.refused]
        return ", ".join(said) or self._writes()

    @property
    def writes_nothing(self) -> bool:
        return not self._written()

    def _writes(self) -> str:
        parts = self._written()
        return "wrote " + ", ".join(parts) if parts else "nothing to write"

    def _written(self) -> list[str]:
        parts = [
            name
            for name, change in (
                ("the card", self.state),
                ("the title", self.new_title),
                ("labels", self.labels),
                ("assignees", self.assignees),
            )
            if change is not None
        ]
        if self.issue_state is not None:
            parts.append(f"state {self.issue_state}")
        for count, one, many in (
            (len(self.new_issues), "new issue", "new issues"),
            (len(self.replies), "reply", "replies"),
            (len(self.reactions), "reaction", "reactions"),
        ):
            if count:
                parts.append(f"{count} {one if count == 1 else many}")
        return parts

    @property
    def steps(self) -> int:
        return len(self.reactions) + len(self.new_issues) + 1 + len(self.replies)

    def to_json(self) -> str:
        data = asdict(self)
        data["state"] = None if self.state is None else state_to_dict(self.state)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        data: dict[str, Any] = json.loads(text)
        return cls(
            repo=data["repo"],
            number=data["number"],
            title=data["title"],
            node_id=data["node_id"],
            body_read=data["body_read"],
            state=None if data["state"] is None else state_from_dict(data["state"]),
            new_title=data["new_title"],
            labels=_tuple(data["labels"]),
            assignees=_tuple(data["assignees"]),
            issue_state=data["issue_state"],
            state_reason=data["state_reason"],
            reactions=tuple(Reaction(**r) for r in data["reactions"]),
            new_issues=tuple(
                NewIssue(**{**n, "labels": tuple(n["labels"])}) for n in data["new_issues"]
            ),
            replies=tuple(Reply(**r) for r in data["replies"]),
            ours=tuple(data["ours"]),
            text_from=data.get("text_from"),  # absent from plans journaled before it existed
            reactions_first=data.get("reactions_first", True),
            outcome=Outcome(**{k: tuple(v) for k, v in data.get("outcome", {}).items()}),
            notices=tuple(Notice.from_dict(n) for n in data.get("notices", ())),
        )


def _tuple(value: list[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


def plan_for(
    decision: Decision,
    *,
    issue: IssueView,
    previous: IncidentState | None,
    ours: tuple[str, ...] = (),
) -> Plan:
    """The plan for a decision; the card is rewritten only when the state changed."""
    changes = decision.issue
    return Plan(
        repo=issue.repo,
        number=issue.number,
        title=changes.title or issue.title,
        node_id=issue.node_id,
        body_read=issue.body,
        # New issues are linked into the card once GitHub has numbered them.
        state=decision.state if decision.state != previous or decision.new_issues else None,
        new_title=changes.title,
        labels=changes.labels,
        assignees=changes.assignees,
        issue_state=changes.state,
        state_reason=changes.state_reason,
        reactions=decision.reactions,
        new_issues=decision.new_issues,
        replies=decision.replies,
        ours=ours,
        outcome=decision.outcome,
    )


def merge_plans(plans: Sequence[Plan]) -> Plan:
    """One plan for the plans of a run decided one after the other on one incident: every
    reaction, new issue and reply, in order, and one PATCH leaving the issue as the last plan
    that changes each part wants it. The body read is the first plan's: the later ones read the
    body the earlier ones were going to write, which differs from it only inside the card."""
    first, last = plans[0], plans[-1]
    if len(plans) == 1:
        return first
    closing = _last(p for p in plans if p.issue_state is not None)
    return replace(
        first,
        title=last.title,
        state=_last(p.state for p in plans),
        new_title=_last(p.new_title for p in plans),
        labels=_last(p.labels for p in plans),
        assignees=_last(p.assignees for p in plans),
        issue_state=None if closing is None else closing.issue_state,
        state_reason=None if closing is None else closing.state_reason,
        reactions=tuple(r for p in plans for r in p.reactions),
        new_issues=tuple(n for p in plans for n in p.new_issues),
        replies=tuple(r for p in plans for r in p.replies),
        ours=tuple(dict.fromkeys(name for p in plans for name in p.ours)),
        text_from=_last(p.text_from for p in plans),
        outcome=Outcome(
            applied=tuple(c for p in plans for c in p.outcome.applied),
            refused=tuple(r for p in plans for r in p.outcome.refused),
        ),
        notices=tuple(n for p in plans for n in p.notices),
    )


def _last(values: Iterable[_T | None]) -> _T | None:
    found = None
    for value in values:
        if value is not None:
            found = value
    return found
