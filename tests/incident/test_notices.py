"""The chat channel's moments, read from decisions without I/O (app/incident/notices.py)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from app.config import DEFAULTS, Config, Notify
from app.incident.calendar import calendar_for
from app.incident.clocks import apply_nudges, due_nudges
from app.incident.commands import parse_comment
from app.incident.declaring import declare
from app.incident.effects import Actor, Decision, IssueView, UserFacts
from app.incident.notices import MOMENTS, Notice, notices_for
from app.incident.plan import Plan
from app.incident.rules import apply_comment
from app.incident.state import IncidentState

NOW = datetime(2026, 11, 24, 14, 5, tzinfo=UTC)
ISSUE = IssueView(
    repo="acme/shop",
    number=42,
    title="Checkout <returns> 502",
    body="",
    author="carol",
    labels=("incident", "sev3", "status:investigating"),
    html_url="https://github.com/acme/shop/issues/42",
)
LINK = "<https://github.com/acme/shop/issues/42|#42 Checkout &lt;returns&gt; 502>"
ALICE = Actor("alice", is_responder=True)
COMMENT_IDS = itertools.count(100)
USERS = {"alice": UserFacts(is_responder=True), "bob": UserFacts(is_responder=True)}


def declared() -> IncidentState:
    return declare(ISSUE, ALICE, DEFAULTS, NOW - timedelta(hours=1)).state


def said(
    state: IncidentState, body: str, login: str = "alice", config: Config = DEFAULTS
) -> tuple[Decision, tuple[Notice, ...]]:
    parsed = parse_comment(body)
    actor = Actor(login, is_responder=True)
    decision = apply_comment(
        state,
        parsed.commands,
        parsed.near_misses,
        actor,
        USERS,
        comment_id=next(COMMENT_IDS),
        issue=ISSUE,
        config=config,
        now=NOW,
    )
    return decision, notices_for(decision, state, ISSUE, config, revision=5)


def test_declaring_names_the_incident_its_severity_and_who_declared_it() -> None:
    decision = declare(ISSUE, Actor("bob"), DEFAULTS, NOW, impact="Nobody can pay")
    (notice,) = notices_for(decision, None, ISSUE, DEFAULTS, revision=1)

    assert notice.moment == "declared"
    assert notice.text == f"*Incident declared* by @bob: {LINK} (*sev3*)\n*Impact:* Nobody can pay"
    assert notice.fallback == "#42 Checkout &lt;returns&gt; 502: incident declared (sev3)"
    assert notice.context == (
        "Severity: *sev3* · Status: *investigating* · Incident Commander: _unassigned_"
    )
    assert notice.key.startswith("acme/shop#42@1:declared:")


def test_an_accepted_handoff_is_told_in_the_words_of_the_issue() -> None:
    state = replace(declared(), ic="alice")
    proposed, _ = said(state, "/handoff @bob")
    decision, (notice,) = said(proposed.state, "/accept", "bob")

    sentence = "@bob is now the Incident Commander for this incident, taking over from @alice."
    assert notice.text == f"{LINK}: {sentence}"
    assert decision.replies[0].body.startswith(sentence)


def test_taking_over_without_a_handoff_says_so() -> None:
    _, (notice,) = said(replace(declared(), ic="alice"), "/ic me", "bob")
    assert notice.text.endswith("taking over from @alice without a handoff.")


def test_one_comment_can_tell_several_moments_in_order() -> None:
    _, notices = said(declared(), "/ic me\n/severity sev1\n/update Card payments fail.")
    assert [n.moment for n in notices] == ["commander", "severity", "update"]
    assert notices[1].text == f"{LINK}: severity is now *sev1* (was sev3), set by @alice."
    assert notices[2].text == f"*Status update* on {LINK} by @alice:\nCard payments fail."
    assert len({n.key for n in notices}) == 3


def test_an_update_cannot_mention_the_channel() -> None:
    _, (notice,) = said(declared(), "/update <!channel> pay & <https://evil|click>")
    assert notice.text.endswith("&lt;!channel&gt; pay &amp; &lt;https://evil|click&gt;")


def test_statuses_are_told_once_each() -> None:
    state = replace(declared(), ic="alice")
    mitigated, (first,) = said(state, "/mitigated")
    resolved, (second,) = said(mitigated.state, "/resolved")
    _, (third,) = said(resolved.state, "/close")
    assert [first.moment, second.moment, third.moment] == ["mitigated", "resolved", "closed"]
    _, again = said(resolved.state, "/resolved")
    assert again == (), "nothing changed: nothing to tell"


def test_a_note_a_refusal_or_a_rewritten_card_tells_nothing() -> None:
    state = declared()
    assert said(state, "/note Looked at the dashboards.")[1] == ()
    assert said(state, "/severity sev9")[1] == ()
    assert notices_for(Decision(state=state), None, ISSUE, DEFAULTS, revision=3) == ()


def test_escalation_nudges_are_told() -> None:
    state = declared()
    calendar = calendar_for(DEFAULTS.working_hours)
    due = due_nudges(state, DEFAULTS, calendar, NOW)
    decision = apply_nudges(state, due, DEFAULTS, NOW)
    notices = notices_for(decision, state, ISSUE, DEFAULTS, revision=2)

    assert [(n.moment, n.key.split(":")[1]) for n in notices] == [
        ("escalation", "escalation.no_ic"),
        ("escalation", "escalation.escalate"),
    ]
    assert "Nobody has taken the Incident Commander role" in notices[0].text
    later = notices_for(decision, decision.state, ISSUE, DEFAULTS, revision=3)
    assert later == (), "recorded nudges are told once"


def test_the_configuration_chooses_the_moments() -> None:
    only_resolved = replace(DEFAULTS, notify=Notify(slack_events=frozenset({"resolved"})))
    state = replace(declared(), ic="alice")
    assert said(state, "/severity sev1", config=only_resolved)[1] == ()
    assert [n.moment for n in said(state, "/resolved", config=only_resolved)[1]] == ["resolved"]
    assert DEFAULTS.notify.slack_events == frozenset(MOMENTS)


def test_notices_travel_in_the_journaled_plan() -> None:
    decision, notices = said(declared(), "/ic me")
    plan = Plan(
        repo="acme/shop",
        number=42,
        title=ISSUE.title,
        body_read="",
        node_id="",
        state=decision.state,
        notices=notices,
    )
    assert Plan.from_json(plan.to_json()) == plan
