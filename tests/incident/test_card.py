"""The card: rendering, placing it in a body, reading it back, and hostile text."""

from __future__ import annotations

import json
import os
import re
import time
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.incident import card as card_module
from app.incident.card import (
    CARD_END,
    CARD_START,
    CardView,
    place_card,
    read_card,
    render_card,
    without_card,
    without_fenced_copies,
)
from app.incident.clocks import CardClocks
from app.incident.state import Handoff, IncidentState, Sme, Status, compute_mac, state_to_dict

KEY = b"test-key-for-the-card-mac"
GOLDEN = Path(__file__).parent / "golden" / "card.md"
GITHUB_BODY_LIMIT = 65_536

HOSTILE = [
    "-->",
    "<!--",
    CARD_START,
    CARD_END,
    "<!-- baton:state {} -->",
    "|",
    "\\|",
    "\n",
    "\r\n",
    "<script>x</script>",
    "@acme/sre",
    "@bob",
    "```",
    "`",
    "# x",
    "--",
    "\u2028",
]
hostile_text = st.lists(st.one_of(st.text(max_size=10), st.sampled_from(HOSTILE)), max_size=12).map(
    "".join
)
logins = st.from_regex(r"\A[A-Za-z0-9](?:-?[A-Za-z0-9]){0,10}\Z")
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda moment: moment.replace(microsecond=0))
numbers = st.integers(min_value=1, max_value=10**9)
handoffs = st.builds(
    Handoff,
    role=st.sampled_from(["ic", "liaison"]),
    from_login=st.none() | logins,
    to=logins,
    requested_at=moments,
    notes=hostile_text,
    comment_id=st.none() | numbers,
)
states = st.builds(
    IncidentState,
    status=st.sampled_from(Status),
    severity=st.sampled_from(["sev1", "sev2", "sev3", "sev4"]) | hostile_text,
    ic=st.none() | logins,
    liaison=st.none() | logins,
    smes=st.lists(st.builds(Sme, login=logins, area=st.none() | hostile_text), max_size=4).map(
        tuple
    ),
    pending_handoff=st.none() | handoffs,
    declared_at=st.none() | moments,
    acknowledged_at=st.none() | moments,
    mitigated_at=st.none() | moments,
    resolved_at=st.none() | moments,
    closed_at=st.none() | moments,
    last_update_at=st.none() | moments,
    retro=st.none() | numbers,
    actions=st.lists(numbers, max_size=5).map(tuple),
    reporter=st.none() | logins,
    impact=st.none() | hostile_text,
    started=st.none() | hostile_text,
    close_wait_from=st.none() | moments,
    confirmed_at=st.none() | moments,
    close_reason=st.none() | hostile_text,
    report_done=st.booleans(),
    snoozed_until=st.none() | moments,
    stale=st.booleans(),
    last_activity_at=st.none() | moments,
    nudges=st.lists(hostile_text, max_size=3).map(tuple),
    applied=st.lists(numbers, max_size=5).map(tuple),
)
views = st.builds(
    CardView,
    title=hostile_text,
    clocks=st.builds(
        CardClocks,
        next_update_due=st.none() | moments,
        update_overdue=st.booleans(),
        close_line=st.none() | hostile_text,
        report_line=st.none() | hostile_text,
    ),
)
# People's text: anything, as long as it holds no live marker of its own.
human_bodies = hostile_text.filter(lambda text: "baton:card" not in text)

DECLARED = datetime(2026, 11, 24, 9, 41, tzinfo=UTC)
EXAMPLE = IncidentState(
    status=Status.IDENTIFIED,
    severity="sev2",
    ic="alice",
    smes=(Sme("bob", "database"), Sme("carol")),
    pending_handoff=Handoff("ic", "alice", "dave", datetime(2026, 11, 24, 10, 2, tzinfo=UTC)),
    declared_at=DECLARED,
    acknowledged_at=datetime(2026, 11, 24, 9, 45, tzinfo=UTC),
    last_update_at=datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
    retro=12,
    actions=(13, 14),
    reporter="erin",
    impact="Checkout fails for | some EU customers <b>",
    started="around 09:30 UTC",
)
EXAMPLE_CLOCKS = CardClocks(
    next_update_due=datetime(2026, 11, 24, 11, 0, tzinfo=UTC), update_overdue=True
)
EXAMPLE_VIEW = CardView(title="Checkout errors in EU", clocks=EXAMPLE_CLOCKS)


def card_of(state: IncidentState, view: CardView = EXAMPLE_VIEW) -> str:
    return render_card(state, view, KEY)


def visible_part(card: str) -> str:
    return card[len(CARD_START) : card.index("<!-- baton:state ")]


# --- rendering ---------------------------------------------------------------------------------


def test_the_card_is_framed_by_its_markers_without_a_trailing_newline() -> None:
    card = card_of(EXAMPLE)
    assert card.startswith(CARD_START + "\n")
    assert card.endswith("-->\n" + CARD_END)


def test_the_ic_line_reads_exactly() -> None:
    assert "**Incident Commander:** @alice" in card_of(EXAMPLE).splitlines()
    unassigned = card_of(replace(EXAMPLE, ic=None))
    assert "**Incident Commander:** _unassigned_" in unassigned.splitlines()


def test_the_liaison_defaults_to_the_ic_and_says_so() -> None:
    assert "**External Liaison:** @alice (the IC)" in card_of(EXAMPLE).splitlines()
    named = card_of(replace(EXAMPLE, liaison="frank"))
    assert "**External Liaison:** @frank" in named.splitlines()


def test_the_pending_handoff_says_who_must_answer() -> None:
    assert (
        "**Pending handoff:** @alice → @dave (Incident Commander), asked 2026-11-24 10:02 UTC"
        " — waiting for @dave to answer `/accept` or `/decline`"
    ) in card_of(EXAMPLE).splitlines()
    assert "Pending handoff" not in card_of(replace(EXAMPLE, pending_handoff=None))


def test_the_table_shows_clocks_and_links() -> None:
    clocks = replace(
        EXAMPLE_CLOCKS,
        close_line="closes 2026-11-27 14:02 UTC unless someone replies",
        report_line="waits for the retrospective #12 to be closed",
    )
    view = replace(EXAMPLE_VIEW, clocks=clocks)
    lines = card_of(EXAMPLE, view).splitlines()
    assert "| Next update due | 2026-11-24 11:00 UTC — **overdue** |" in lines
    assert "| Retrospective | #12 |" in lines
    assert "| Action items | #13, #14 |" in lines
    assert (
        "| Closes | closes 2026-11-27 14:02 UTC unless someone replies;"
        " waits for the retrospective #12 to be closed |"
    ) in lines
    assert "| Impact | Checkout fails for \\| some EU customers &lt;b&gt; |" in lines


def test_the_golden_card() -> None:
    card = card_of(EXAMPLE)
    if os.environ.get("BATON_REGENERATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(card + "\n", encoding="utf-8")
    assert card + "\n" == GOLDEN.read_text(encoding="utf-8")


# --- round trips -------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(states, views, human_bodies)
def test_render_place_read_gives_back_the_state(
    state: IncidentState, view: CardView, body: str
) -> None:
    reading = read_card(place_card(body, render_card(state, view, KEY)), KEY)
    assert reading.found
    assert reading.problem is None
    assert not reading.tampered
    assert reading.state == state
    assert reading.human_text == body


@settings(max_examples=150, deadline=None)
@given(states, views)
def test_hostile_text_cannot_break_the_card(state: IncidentState, view: CardView) -> None:
    visible = visible_part(render_card(state, view, KEY))
    assert "<!--" not in visible
    assert "-->" not in visible
    assert re.search(r"@[A-Za-z0-9][A-Za-z0-9-]*/", visible) is None
    for row in (line for line in visible.splitlines() if line.startswith("|")):
        # Two cells: exactly three delimiters once escaped pipes are set aside.
        assert len(re.findall(r"(?<!\\)(?:\\\\)*\|", row)) == 3, row


def test_seventy_thousand_characters_are_capped_on_the_card() -> None:
    huge = ("<!-- baton:card:end --> | @acme/sre\n" * 2000)[:70_000]
    state = replace(EXAMPLE, impact=huge, smes=(Sme("bob", huge),), close_reason=huge)
    clocks = replace(EXAMPLE_CLOCKS, close_line=huge, report_line=huge)
    view = replace(EXAMPLE_VIEW, title=huge, clocks=clocks)
    card = render_card(state, view, KEY)
    assert len(visible_part(card)) < 3_000
    human = f"```\n{huge}\n```"
    reading = read_card(place_card(human, card), KEY)
    assert reading.state == state
    assert reading.problem is None
    assert reading.human_text == human
    stray = read_card(place_card(huge, card), KEY)
    assert stray.state == state
    assert stray.problem == "card markers outside the card were ignored"


def test_a_realistic_busy_incident_stays_under_githubs_body_limit() -> None:
    busy = replace(
        EXAMPLE,
        smes=tuple(Sme(f"sme-{n}", "x" * 100) for n in range(20)),
        impact="i" * 1_000,
        started="s" * 200,
        actions=tuple(range(100, 150)),
        nudges=tuple(f"update@2026-11-{day:02d}T10:00Z" for day in range(1, 31)),
        applied=tuple(range(4_000_000_000, 4_000_000_300)),
        pending_handoff=replace(EXAMPLE.pending_handoff, notes="n" * 2_000)
        if EXAMPLE.pending_handoff
        else None,
    )
    clocks = replace(EXAMPLE_CLOCKS, close_line="c" * 200, report_line="r" * 100)
    view = replace(EXAMPLE_VIEW, title="t" * 256, clocks=clocks)
    body = place_card("people's notes\n" * 1_000, render_card(busy, view, KEY))
    assert len(body) < GITHUB_BODY_LIMIT


# --- placing -----------------------------------------------------------------------------------


@given(human_bodies, states, states)
@settings(deadline=None)
def test_place_card_keeps_the_peoples_text_byte_for_byte(
    body: str, first: IncidentState, second: IncidentState
) -> None:
    card_one, card_two = card_of(first), card_of(second)
    placed = place_card(body, card_one)
    assert without_card(placed) == body
    replaced = place_card(placed, card_two)
    assert replaced == place_card(body, card_two)
    assert place_card(replaced, card_two) == replaced


def test_a_new_card_goes_on_top_of_the_body() -> None:
    card = card_of(EXAMPLE)
    assert place_card("We see 500s.", card) == card + "\n\nWe see 500s."
    assert place_card("", card) == card


def test_replacing_keeps_text_typed_above_and_below() -> None:
    old, new = card_of(EXAMPLE), card_of(replace(EXAMPLE, status=Status.MITIGATED))
    body = "typed above\r\n" + old + "\r\n\r\nbelow\r\n"
    assert place_card(body, new) == "typed above\r\n" + new + "\r\n\r\nbelow\r\n"


# --- reading -----------------------------------------------------------------------------------


def test_a_body_without_a_card() -> None:
    reading = read_card("just an issue", KEY)
    assert reading == type(reading)(False, None, None, False, "just an issue")


def test_text_typed_above_the_card_is_human_text() -> None:
    body = "typed above\n" + place_card("below", card_of(EXAMPLE))
    reading = read_card(body, KEY)
    assert reading.state == EXAMPLE
    assert reading.human_text == "typed above\n\n\nbelow"


def test_only_the_first_card_counts() -> None:
    second = card_of(replace(EXAMPLE, status=Status.RESOLVED))
    body = card_of(EXAMPLE) + "\n\nnotes\n\n" + second
    reading = read_card(body, KEY)
    assert reading.state == EXAMPLE
    assert reading.problem is not None and "only the first card counts" in reading.problem


def test_markers_in_fenced_or_inline_code_are_ignored() -> None:
    quoted = card_of(replace(EXAMPLE, status=Status.CLOSED))
    human = f"An old card:\n\n~~~\n{quoted}\n~~~\n\nThe start is `{CARD_START}`."
    reading = read_card(place_card(human, card_of(EXAMPLE)), KEY)
    assert reading.state == EXAMPLE
    assert reading.problem is None
    assert reading.human_text == human
    assert not read_card(human, KEY).found


def test_a_crlf_body_is_read() -> None:
    body = place_card("notes", card_of(EXAMPLE)).replace("\n", "\r\n")
    reading = read_card(body, KEY)
    assert reading.state == EXAMPLE
    assert reading.human_text == "notes"


def test_an_edited_visible_card_still_trusts_the_state() -> None:
    body = place_card("", card_of(EXAMPLE)).replace("@alice", "@mallory")
    reading = read_card(body, KEY)
    assert reading.state == EXAMPLE
    assert reading.problem is None


def test_an_edited_state_is_tampered() -> None:
    body = place_card("", card_of(EXAMPLE)).replace('"severity":"sev2"', '"severity":"sev1"')
    reading = read_card(body, KEY)
    assert reading.found and reading.tampered
    assert reading.state is None
    assert reading.problem == "tampered"


def test_another_key_is_tampered() -> None:
    assert read_card(card_of(EXAMPLE), b"another key").tampered


def test_a_broken_state_line_is_malformed() -> None:
    card = re.sub(r"\{.*\}", "{not json", card_of(EXAMPLE))
    reading = read_card(card, KEY)
    assert reading.found and not reading.tampered and reading.state is None
    assert reading.problem is not None and reading.problem.startswith(
        "malformed: state is not JSON"
    )


def test_a_state_with_a_wrong_field_is_malformed() -> None:
    card = card_of(EXAMPLE).replace('"retro":12', '"retro":"twelve"')
    reading = read_card(card, KEY)
    assert reading.state is None and not reading.tampered
    assert reading.problem == "malformed state: Expected `int | null`, got `str` - at `$.retro`"


def test_a_missing_state_line() -> None:
    card = re.sub(r"<!-- baton:state .* -->\n", "", card_of(EXAMPLE))
    assert read_card(card, KEY).problem == "missing state line"


def test_two_state_lines_are_not_trusted() -> None:
    old_line = card_of(replace(EXAMPLE, ic="mallory")).splitlines()[-2]
    card = card_of(EXAMPLE).replace(CARD_START, CARD_START + "\n" + old_line)
    reading = read_card(card, KEY)
    assert reading.state is None
    assert reading.problem == "malformed: more than one state line"


def test_orphan_markers_are_reported() -> None:
    start_only = read_card(f"{CARD_START}\nhello", KEY)
    assert not start_only.found
    assert start_only.problem == "start marker without an end marker"
    reversed_markers = read_card(f"{CARD_END}\n{CARD_START}", KEY)
    assert reversed_markers.problem == "markers out of order"


def test_card_block_is_the_card_as_it_stands_in_the_body() -> None:
    card = "\n".join((CARD_START, "visible", CARD_END))
    body = place_card("people's text", card)
    assert card_module.card_block(body) == card
    assert card_module.card_block("no card here") is None


# --- revisions ---------------------------------------------------------------------------------


def test_the_revision_travels_in_the_signed_state() -> None:
    reading = read_card(card_of(replace(EXAMPLE, rev=7)), KEY)
    assert reading.state is not None and reading.state.rev == 7
    forged = card_of(replace(EXAMPLE, rev=7)).replace('"rev":7', '"rev":70')
    assert read_card(forged, KEY).tampered


def test_a_card_written_before_revisions_reads_as_revision_zero() -> None:
    data = state_to_dict(EXAMPLE)
    del data["rev"]
    data["mac"] = compute_mac(data, KEY)
    line = json.dumps(data, separators=(",", ":")).replace("-", "\\u002d")
    old_card = re.sub(r"\{.*\}", lambda _: line, card_of(EXAMPLE))
    reading = read_card(old_card, KEY)
    assert reading.state == replace(EXAMPLE, rev=0)


# --- cards wrapped in code ---------------------------------------------------------------------


def test_a_fenced_card_is_a_dead_copy_to_remove() -> None:
    card = card_of(EXAMPLE)
    earlier = place_card("We see 500s.\r\n", card)
    fenced = "```\n" + card + "\n```\n\nWe see 500s.\r\n"
    assert without_fenced_copies(fenced, earlier) == "We see 500s.\r\n"
    around = "above\n~~~~ md\n" + card + "\n~~~~\nbelow"
    assert without_fenced_copies(around, earlier) == "above\n\nbelow"


def test_an_unclosed_fence_loses_only_the_card_it_swallowed() -> None:
    card = card_of(EXAMPLE)
    fenced = "```\n" + card + "\n\nWe see 500s."
    assert without_fenced_copies(fenced, place_card("We see 500s.", card)) == "We see 500s."


def test_fenced_cards_people_had_before_are_theirs() -> None:
    quoted = "An old card:\n\n~~~\n" + card_of(replace(EXAMPLE, status=Status.CLOSED)) + "\n~~~\n"
    earlier = place_card(quoted, card_of(EXAMPLE))
    assert without_fenced_copies(quoted, earlier) == quoted
    assert without_fenced_copies("```\nplain code\n```", earlier) == "```\nplain code\n```"


# --- hostile bodies ----------------------------------------------------------------------------


def invisible_characters(text: str) -> list[str]:
    """Format characters other than the joiner that breaks a mention after `@`."""
    return [c for c in text.replace("@\u200d", "@") if unicodedata.category(c) == "Cf"]


def test_invisible_characters_never_reach_the_visible_card() -> None:
    sneaky = "db\u202eexe.\u202c \u200bpay\u2066ments\u2069\ufeff"
    state = replace(EXAMPLE, smes=(Sme("bob", sneaky),), impact=sneaky, started=sneaky)
    visible = visible_part(card_of(state, replace(EXAMPLE_VIEW, title=sneaky)))
    assert "dbexe. payments" in visible
    assert invisible_characters(visible) == []


def worst_bodies() -> dict[str, str]:
    """Bodies made to make a reader backtrack or go quadratic, each within GitHub's limit."""
    limit = GITHUB_BODY_LIMIT
    state_opener = "<!-- baton:state "
    in_state = {"head": CARD_START + "\n" + state_opener, "tail": " -->\n" + CARD_END}

    def filled(unit: str, head: str = CARD_START + "\n", tail: str = "\n" + CARD_END) -> str:
        return head + unit * ((limit - len(head) - len(tail)) // len(unit)) + tail

    return {
        "unclosed state openers": filled(state_opener),
        "unclosed state openers, one a line": filled(state_opener + "\n"),
        "state openers closed far away": filled(state_opener, tail=" -->\n" + CARD_END),
        "unclosed comments": filled("<!--"),
        "start markers": filled(CARD_START, head=""),
        "end markers": filled(CARD_END, head="", tail=""),
        "cards": filled(CARD_START + CARD_END, head="", tail=""),
        "markers after backticks": filled("`" + CARD_START + CARD_END, head="", tail=""),
        "fences": filled("```\n" + CARD_START + "\n"),
        "nested arrays": filled("[", **in_state),
        "nested objects": filled('{"a":', **in_state),
    }


@pytest.mark.parametrize("name", worst_bodies())
def test_reading_a_hostile_body_stays_cheap(name: str) -> None:
    body = worst_bodies()[name]
    assert len(body) <= GITHUB_BODY_LIMIT

    def cpu_seconds() -> float:
        started = time.process_time()
        reading = read_card(body, KEY)
        without_fenced_copies(body, "")
        assert reading.state is None
        return time.process_time() - started

    # The best of three, so a busy machine does not count; a linear read takes 1 to 15 ms here.
    assert min(cpu_seconds() for _ in range(3)) < 0.1, name
