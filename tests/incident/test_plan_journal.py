"""A plan journaled before an upgrade resumes after it: the journal's JSON, read back."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from app.incident.effects import NewIssue, Outcome, Reaction, Reply
from app.incident.plan import Plan
from app.incident.state import Handoff, IncidentState, Sme, Status

# Written by the hand-made serialiser (`json.dumps` of `asdict`) that came before msgspec.
JOURNALED = (
    '{"repo": "acme/shop", "number": 42, "title": "Checkout is down", "body_read": '
    '"body\\n<!-- x -->", "node_id": "I_kw42", "state": {"v": 1, "rev": 4, "status": '
    '"mitigated", "severity": "sev1", "ic": "alice", "liaison": null, "smes": [{"login": '
    '"bob", "area": "db"}, {"login": "carol", "area": null}], "pending_handoff": {"role": '
    '"ic", "from": "alice", "to": "dave", "requested_at": "2026-11-24T10:05:00Z", "notes": '
    '"caf\\u00e9 \\u2713 -- <b>", "comment_id": 77}, "declared_at": "2026-11-24T09:00:30Z", '
    '"acknowledged_at": "2026-11-24T09:03:00Z", "mitigated_at": "2026-11-24T10:00:00Z", '
    '"resolved_at": null, "closed_at": null, "last_update_at": null, "close_wait_from": null, '
    '"confirmed_at": null, "snoozed_until": null, "last_activity_at": null, '
    '"commands_through": "2026-11-24T10:01:00Z", "retro": 12, "actions": [13, 14], '
    '"reporter": "rita", "impact": "Checkout fails", "started": "around 9", "close_reason": '
    'null, "report_done": false, "stale": false, "nudges": ["update@2026-11-24T10:00Z"], '
    '"applied": [501, 502]}, "new_title": "Checkout is down (mitigated)", "labels": '
    '["incident", "sev1"], "assignees": null, "issue_state": null, "state_reason": null, '
    '"reactions": [{"comment_id": 501, "content": "eyes"}], "new_issues": [{"key": '
    '"retro:42", "kind": "retrospective", "title": "Retrospective", "body": "text", "labels": '
    '["retro"]}], "replies": [{"key": "comment:502", "body": "Mitigated."}], "ours": '
    '["incident"], "text_from": null, "reactions_first": true, "outcome": {"applied": '
    '["/mitigated"], "refused": ["/sev: no"]}}'
)


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 11, 24, hour, minute, second, tzinfo=UTC)


PLAN = Plan(
    repo="acme/shop",
    number=42,
    title="Checkout is down",
    body_read="body\n<!-- x -->",
    node_id="I_kw42",
    state=IncidentState(
        status=Status.MITIGATED,
        severity="sev1",
        ic="alice",
        smes=(Sme("bob", "db"), Sme("carol")),
        pending_handoff=Handoff("ic", "alice", "dave", at(10, 5), "café ✓ -- <b>", 77),
        declared_at=at(9, 0, 30),
        acknowledged_at=at(9, 3),
        mitigated_at=at(10, 0),
        retro=12,
        actions=(13, 14),
        reporter="rita",
        impact="Checkout fails",
        started="around 9",
        nudges=("update@2026-11-24T10:00Z",),
        applied=(501, 502),
        commands_through=at(10, 1),
        rev=4,
    ),
    new_title="Checkout is down (mitigated)",
    labels=("incident", "sev1"),
    reactions=(Reaction(501, "eyes"),),
    new_issues=(NewIssue("retro:42", "retrospective", "Retrospective", "text", ("retro",)),),
    replies=(Reply("comment:502", "Mitigated."),),
    ours=("incident",),
    reactions_first=True,
    outcome=Outcome(applied=("/mitigated",), refused=("/sev: no",)),
)


def test_a_plan_journaled_by_the_previous_version_resumes() -> None:
    assert Plan.from_json(JOURNALED) == PLAN


def test_a_plan_journaled_now_reads_back_the_same() -> None:
    assert Plan.from_json(PLAN.to_json()) == PLAN
    without_state = replace(PLAN, state=None, reactions_first=False)
    assert Plan.from_json(without_state.to_json()) == without_state


def test_a_plan_journaled_before_later_fields_existed_keeps_their_old_meaning() -> None:
    older = JOURNALED.replace(', "text_from": null, "reactions_first": true', "")
    older = older[: older.index(', "outcome"')] + "}"

    plan = Plan.from_json(older)

    assert plan == replace(PLAN, outcome=Outcome())
    assert plan.reactions_first, "reactions went first before the order was journaled"
