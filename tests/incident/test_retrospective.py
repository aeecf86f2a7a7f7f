"""The retrospective issue: timeline, figures, participants, the document, hostile text."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config import DEFAULTS
from app.incident.effects import IssueView
from app.incident.retrospective import (
    GITHUB_BODY_LIMIT,
    REFUSAL_WORDS,
    IncidentComment,
    build_timeline,
    figures,
    note_time,
    participants,
    retrospective_issue,
)
from app.incident.state import IncidentState, Sme, Status
from app.incident.text import ZERO_WIDTH_JOINER
from app.incident.words import render

GOLDEN = Path(__file__).parent / "golden" / "retrospective.md"
BOT = "baton[bot]"
ISSUE_URL = "https://github.com/acme/shop/issues/12"
# The incident report form as GitHub renders it, below the card Baton wrote.
REPORT = """\
### Summary

Card payments fail with a 502 at the last step of checkout.

### Impact

EU customers cannot pay.

### Severity

sev1 — Critical: the service is down or data is at risk for many users
"""
ISSUE = IssueView(
    repo="acme/shop",
    number=12,
    title="Checkout returns 502 for EU customers",
    body=REPORT,
    author="dave",
    html_url=ISSUE_URL,
)


def at(hour: int, minute: int, day: int = 24) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def comment(number: int, author: str, moment: datetime, body: str) -> IncidentComment:
    return IncidentComment(number, author, moment, body, f"{ISSUE_URL}#issuecomment-{number}")


def bot_reply(number: int, moment: datetime, answered: int, words: str) -> IncidentComment:
    return comment(number, BOT, moment, f"<!-- baton:reply comment:{answered} -->\n{words}")


# A whole incident as it was played: commands, Baton's answers, a plain comment, a refusal.
SCRIPT = (
    comment(101, "alice", at(13, 52), "/ic me"),
    bot_reply(102, at(13, 52), 101, "@alice is now the Incident Commander for this incident."),
    comment(103, "dave", at(13, 58), "Still broken for us in Lyon, FWIW."),
    comment(
        104,
        "alice",
        at(14, 1),
        "/handoff @bob Rolled back deploy 4812; errors unchanged.\nNext: check the DB.",
    ),
    comment(105, "bob", at(14, 3), "/accept"),
    bot_reply(106, at(14, 3), 105, "@bob is now the Incident Commander, taking over from @alice."),
    comment(107, "bob", at(14, 4), "/sme @carol database\n/sev sev1"),
    comment(108, "eve", at(14, 6), "/sev 1\n/statuss identified"),
    bot_reply(109, at(14, 6), 108, f"@eve, {REFUSAL_WORDS}: nothing in it has changed."),
    comment(110, "carol", at(14, 12), "/status identified\nThe primary's disk is full."),
    comment(111, "bob", at(14, 15), "/update We know the cause and are freeing disk space."),
    comment(112, "carol", at(14, 20), "/note 14:05 Decided to fail over to the replica."),
    comment(113, "bob", at(14, 31), "/mitigated Replica serves traffic."),
    comment(114, "bob", at(15, 2), "/resolved Disk grown, primary back.\nWatching for an hour."),
    bot_reply(115, at(15, 2), 114, "Resolved. The incident closes after 48 working hours."),
)
STATE = IncidentState(
    status=Status.RESOLVED,
    severity="sev1",
    ic="bob",
    smes=(Sme("carol", "database"),),
    declared_at=at(13, 50),
    acknowledged_at=at(13, 52),
    mitigated_at=at(14, 31),
    resolved_at=at(15, 2),
    last_update_at=at(14, 15),
    actions=(13, 14),
    reporter="dave",
    impact="EU customers could not pay for 41 minutes.",
)


def retrospective_body(
    state: IncidentState = STATE, comments: tuple[IncidentComment, ...] = SCRIPT
) -> str:
    return retrospective_issue(state, ISSUE, comments, config=DEFAULTS, bot_login=BOT).body


# --- the whole document ----------------------------------------------------------------------


def test_the_scripted_incident_matches_the_golden_file() -> None:
    body = retrospective_body()
    if os.environ.get("BATON_REGENERATE_GOLDEN"):
        GOLDEN.write_text(body, encoding="utf-8")
    assert body == GOLDEN.read_text(encoding="utf-8"), (
        "The retrospective changed. If that is intended, regenerate the golden file with "
        "`BATON_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest "
        "tests/incident/test_retrospective.py` "
        "and review the diff of tests/incident/golden/retrospective.md."
    )


def test_the_summary_is_the_reporters_summary_and_the_impact_the_impact() -> None:
    body = retrospective_body()
    assert (
        "## Summary\n\nCard payments fail with a 502 at the last step of checkout.\n\n"
        "## Impact\n\nEU customers could not pay for 41 minutes.\n"
    ) in body
    said = "Card payments fail with a 502 at the last step of checkout."
    left_empty = replace(ISSUE, body=REPORT.replace(said, "_No response_"))
    unsaid = retrospective_issue(STATE, left_empty, (), config=DEFAULTS, bot_login=BOT)
    assert "## Summary\n\n_What happened, in two or three sentences._\n" in unsaid.body


def test_the_issue_is_titled_labelled_and_keyed_for_the_incident() -> None:
    issue = retrospective_issue(STATE, ISSUE, SCRIPT, config=DEFAULTS, bot_login=BOT)
    assert issue.title == "Retrospective: Checkout returns 502 for EU customers (#12)"
    assert issue.labels == (DEFAULTS.labels.retrospective,)
    assert issue.key == "retro:acme/shop#12"
    assert issue.kind == "retrospective"


def test_the_sections_come_in_the_documented_order() -> None:
    body = retrospective_body()
    sections = [
        "Retrospective for #12",
        "## Summary",
        "## Impact",
        "## Severity",
        "## Roles",
        "## Figures",
        "## Timeline",
        "## Five whys",
        "## What went well",
        "## What went wrong",
        "## Where we got lucky",
        "## Follow-up actions",
        "### Process",
        "### Documentation",
        "### Technical",
        "- [ ] #13",
        "## Participants",
        "Closing this issue marks the incident report",
    ]
    positions = [body.index(section) for section in sections]
    assert positions == sorted(positions)
    assert ISSUE_URL in body.splitlines()[0]


def test_the_scripted_timeline_reads_in_order_with_dates_and_permalinks() -> None:
    entries = build_timeline(STATE, SCRIPT, bot_login=BOT)
    lines = [(entry.at.strftime("%H:%M"), entry.text, entry.url) for entry in entries]
    link = f"{ISSUE_URL}#issuecomment-"
    assert lines == [
        ("13:50", "incident declared", None),
        ("13:52", "incident acknowledged", None),
        ("13:52", "@alice took the Incident Commander role", link + "101"),
        (
            "14:01",
            "@alice handed off the Incident Commander role to @bob: "
            "Rolled back deploy 4812; errors unchanged. Next: check the DB.",
            link + "104",
        ),
        ("14:03", "@bob accepted the handoff", link + "105"),
        ("14:04", "@bob brought in @carol as an SME (database)", link + "107"),
        ("14:04", "@bob changed the severity to sev1", link + "107"),
        ("14:05", "note by @carol: Decided to fail over to the replica.", link + "112"),
        ("14:12", "@carol set the status to identified", link + "110"),
        ("14:15", "update by @bob: We know the cause and are freeing disk space.", link + "111"),
        ("14:31", "@bob marked the incident mitigated: Replica serves traffic.", link + "113"),
        (
            "15:02",
            "@bob marked the incident resolved: Disk grown, primary back. Watching for an hour.",
            link + "114",
        ),
    ]


def test_every_timeline_line_carries_its_date_in_utc() -> None:
    body = retrospective_body()
    timeline = body.split("## Timeline")[1].split("## Five whys")[0]
    entries = [line for line in timeline.splitlines() if line.startswith("- ")]
    assert len(entries) == len(build_timeline(STATE, SCRIPT, bot_login=BOT))
    assert all(line.startswith("- 2026-11-24 ") and " UTC — " in line for line in entries)


def test_figures_count_from_the_declaration() -> None:
    numbers = figures(STATE)
    assert numbers.to_acknowledge == timedelta(minutes=2)
    assert numbers.to_mitigate == timedelta(minutes=41)
    assert numbers.to_resolve == timedelta(hours=1, minutes=12)
    assert numbers.words() == (
        ("Time to acknowledge", "2 min"),
        ("Time to mitigate", "41 min"),
        ("Time to resolve", "1 h 12 min"),
    )


def test_figures_not_reached_are_none_and_shown_as_a_dash() -> None:
    numbers = figures(replace(STATE, mitigated_at=None, resolved_at=None))
    assert numbers.to_mitigate is None and numbers.to_resolve is None
    assert dict(numbers.words())["Time to resolve"] == "—"
    assert figures(IncidentState()).words() == (
        ("Time to acknowledge", "—"),
        ("Time to mitigate", "—"),
        ("Time to resolve", "—"),
    )


def test_participants_are_people_in_order_of_first_comment_with_the_reporter() -> None:
    assert participants(SCRIPT, bot_login=BOT, reporter="dave") == (
        "dave",
        "alice",
        "bob",
        "eve",
        "carol",
    )
    assert participants(SCRIPT, bot_login=BOT) == ("alice", "dave", "bob", "eve", "carol")
    assert participants([], bot_login=BOT, reporter=None) == ()


# --- what is and is not a timeline entry ----------------------------------------------------


def test_baton_plain_comments_and_refused_comments_are_not_entries() -> None:
    urls = {entry.url for entry in build_timeline(STATE, SCRIPT, bot_login=BOT)}
    for skipped in (102, 103, 106, 108, 109, 115):
        assert f"{ISSUE_URL}#issuecomment-{skipped}" not in urls


def test_a_comment_with_a_malformed_command_adds_nothing() -> None:
    bad = comment(1, "alice", at(14, 0), "/sev 1\n/handoff @acme/sre please")
    assert build_timeline(IncidentState(), [bad], bot_login=BOT) == ()


def test_a_note_dated_in_the_future_was_refused_so_it_is_left_out() -> None:
    future = comment(1, "alice", at(14, 0), "/ack\n/note 2026-11-25 09:00 tomorrow")
    assert build_timeline(IncidentState(), [future], bot_login=BOT) == ()


def test_the_state_timestamp_shows_when_no_comment_does() -> None:
    state = IncidentState(declared_at=at(9, 0), acknowledged_at=at(9, 5), mitigated_at=at(9, 30))
    texts = [entry.text for entry in build_timeline(state, [], bot_login=BOT)]
    assert texts == ["incident declared", "incident acknowledged", "incident mitigated"]
    by_status = comment(1, "bob", at(9, 30), "/status mitigated")
    texts = [entry.text for entry in build_timeline(state, [by_status], bot_login=BOT)]
    assert texts == [
        "incident declared",
        "incident acknowledged",
        "@bob set the status to mitigated",
    ]


def test_equal_times_keep_comment_order() -> None:
    same = at(10, 0)
    comments = [
        comment(3, "carol", same, "/note third written, first listed"),
        comment(1, "alice", same, "/update second"),
        comment(2, "bob", same, "/note 10:00 third"),
    ]
    entries = build_timeline(IncidentState(declared_at=same), comments, bot_login=BOT)
    assert [entry.who for entry in entries] == [None, "carol", "alice", "bob"]


# --- /note times ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "written_at", "expected"),
    [
        ("14:05", at(14, 20), at(14, 5)),
        ("14:20", at(14, 20), at(14, 20)),
        ("23:50", at(0, 10), at(23, 50, day=23)),  # before midnight, written just after it
        ("2026-11-23 23:50", at(0, 10), at(23, 50, day=23)),
        ("2026-11-24T14:05Z", at(15, 0), at(14, 5)),
        ("14:05 UTC", at(15, 0), at(14, 5)),
        ("14:05 Europe/Paris", at(15, 0), at(13, 5)),  # UTC+1 in November
        ("14:05+01:00", at(15, 0), at(13, 5)),
        ("09:30 -05:00", at(15, 0), at(14, 30)),
        ("00:30 Asia/Tokyo", at(15, 0), at(15, 30, day=23)),  # the local day is already the 25th
        ("2026-11-24 14:05:30", at(15, 0), at(14, 5) + timedelta(seconds=30)),
    ],
)
def test_note_times_are_read_against_the_comment_time(
    token: str, written_at: datetime, expected: datetime
) -> None:
    assert note_time(token, written_at) == expected


@pytest.mark.parametrize(
    "token", ["lunch", "25:00", "2026-02-30 10:00", "14:05 Mars/Olympus", "2026-11-25 10:00"]
)
def test_unreadable_or_future_note_times_raise_a_clear_value_error(token: str) -> None:
    with pytest.raises(ValueError, match="/note time"):
        note_time(token, at(15, 0))


def test_a_note_without_a_zone_on_a_naive_comment_time_is_read_as_utc() -> None:
    assert note_time("14:05", datetime(2026, 11, 24, 15, 0)) == at(14, 5)


note_tokens = st.one_of(
    st.text(max_size=30),
    st.from_regex(
        r"\A(?:[0-9]{4}-[0-9]{2}-[0-9]{2}[ T])?[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?"
        r"(?:Z| UTC| [+-][0-9]{2}:?[0-9]{2}| Europe/Paris| Pacific/Kiritimati| Nowhere/Else)?\Z"
    ),
)


@settings(max_examples=300, deadline=None)
@given(token=note_tokens, written_at=st.datetimes(timezones=st.just(UTC)))
def test_note_time_is_in_the_past_or_a_value_error(token: str, written_at: datetime) -> None:
    try:
        moment = note_time(token, written_at)
    except ValueError as error:
        assert "/note time" in str(error)
    else:
        assert moment <= written_at and moment.tzinfo is UTC


# --- hostile text ---------------------------------------------------------------------------

HOSTILE = [
    "-->",
    "<!--",
    "<!-- baton:card:start -->",
    "@acme/sre",
    "|",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "```",
    "# heading",
    "\n- [x] done\n",
    "](javascript:alert(1))",
]


def test_hostile_text_is_neutralised_everywhere() -> None:
    hostile = " ".join(HOSTILE)
    comments = [
        comment(1, "alice", at(14, 0), f"/note {hostile}"),
        comment(2, "alice", at(14, 1), f"/update {hostile}"),
        comment(3, "alice", at(14, 2), f"/sme @bob {hostile}"),
        IncidentComment(4, "alice", at(14, 3), "/ack", "javascript:alert(1)"),
    ]
    state = replace(STATE, impact=hostile, started=hostile, smes=(Sme("bob", hostile),))
    summary = "### Summary\n\n" + "\n".join(HOSTILE)
    issue = replace(ISSUE, title=hostile, body=summary, html_url="https://x) <script>")
    body = retrospective_issue(state, issue, comments, config=DEFAULTS, bot_login=BOT).body
    assert "-->" not in body and "<!--" not in body
    assert "<script" not in body and "<img" not in body
    assert "@acme/sre" not in body and f"@{ZERO_WIDTH_JOINER}acme/sre" in body
    assert "[comment](javascript:" not in body and "https://x)" not in body
    timeline = body.split("## Timeline")[1].split("## Five whys")[0].strip().splitlines()
    assert len(timeline) == 2 + len(comments)  # the heading's note, a blank line, one per entry
    assert all(line.startswith("- 2026-11-24 ") for line in timeline[2:])


def test_a_long_note_is_shortened_and_keeps_its_link() -> None:
    long_note = comment(1, "carol", at(14, 0), "/note " + "word " * 14_000)
    (entry,) = build_timeline(IncidentState(), [long_note], bot_login=BOT)
    assert entry.text.endswith("…") and len(entry.text) <= 320
    line = next(
        line for line in retrospective_body(comments=(long_note,)).splitlines() if "note by" in line
    )
    assert line.endswith(f"([comment]({long_note.url}))")


def test_a_huge_incident_stays_under_githubs_body_limit_and_says_what_is_left_out() -> None:
    note = "/note " + "&<|>" * 17_500  # 70,000 characters, each one escaped into several
    comments = tuple(
        comment(n, f"user{n % 50}", at(10, 0) + timedelta(minutes=n), note) for n in range(600)
    )
    state = replace(STATE, actions=tuple(range(1000, 1400)))
    body = retrospective_body(state, comments)
    assert len(body) < GITHUB_BODY_LIMIT
    assert "more entries: see the incident issue #12" in body
    assert "## Participants" in body and "Closing this issue" in body


def test_the_refusal_words_are_what_baton_writes_when_it_refuses() -> None:
    problem = SimpleNamespace(sentence="`/sev 9` names no severity.", usage="/severity sevN")
    refusal = render(
        "reply/refused.md.j2", problems=[problem], more=0, actor=SimpleNamespace(login="x")
    )
    assert REFUSAL_WORDS in refusal


# --- properties -----------------------------------------------------------------------------

COMMAND_LINES = [
    "/ic me",
    "/ic @bob",
    "/handoff @bob notes",
    "/accept",
    "/note 14:05 x",
    "/note 23:59 Europe/Paris x",
    "/note 2026-11-24T00:00Z x",
    "/sev 1",
    "/status resolved",
    "/mitigated",
    "/resolved done",
    "/update u",
    "> /ack",
    "```",
    "<!--",
]
bodies = st.lists(st.one_of(st.text(max_size=30), st.sampled_from(COMMAND_LINES)), max_size=6).map(
    "\n".join
)
moments = st.datetimes(
    min_value=datetime(2001, 1, 1), max_value=datetime(2099, 1, 1), timezones=st.just(UTC)
)
comments_strategy = st.lists(
    st.builds(
        IncidentComment,
        id=st.integers(min_value=1, max_value=10**6),
        author=st.sampled_from(["alice", "bob", BOT, "dependabot[bot]"]),
        created_at=moments,
        body=bodies,
        url=st.text(max_size=40),
    ),
    max_size=8,
)


@settings(max_examples=150, deadline=None)
@given(comments=comments_strategy, declared=st.none() | moments)
def test_build_timeline_never_raises_and_is_always_sorted(
    comments: list[IncidentComment], declared: datetime | None
) -> None:
    entries = build_timeline(IncidentState(declared_at=declared), comments, bot_login=BOT)
    assert [entry.at for entry in entries] == sorted(entry.at for entry in entries)
    assert all(entry.who not in (BOT, "dependabot[bot]") for entry in entries)
    assert all(entry.at.tzinfo is not None for entry in entries)


@settings(max_examples=40, deadline=None)
@given(comments=comments_strategy, title=st.text(max_size=300))
def test_the_body_always_renders_under_the_limit_without_markers(
    comments: list[IncidentComment], title: str
) -> None:
    issue = replace(ISSUE, title=title)
    new = retrospective_issue(STATE, issue, comments, config=DEFAULTS, bot_login=BOT)
    assert len(new.body) < GITHUB_BODY_LIMIT
    assert "<!--" not in new.body and "-->" not in new.body
    assert "\n" not in new.title
