"""The public status page's model and files, from plain values: which incidents, which words,
in which order; the feed as a feed reader reads it; escaping."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import feedparser

from app.incident.effects import IssueView
from app.incident.retrospective import IncidentComment
from app.incident.state import IncidentState, Status
from app.incident.status_page import (
    RECENT,
    PublicIncident,
    PublicUpdate,
    is_public,
    is_shown,
    public_incident,
    public_title,
    public_updates,
    status_page,
)
from app.incident.status_site import FEED, FEED_ENTRIES, INDEX, JSON, site_files

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
URL = "https://status.example.com/"


def at(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


def comment(comment_id: int, body: str, minutes: int = 0, author: str = "alice") -> IncidentComment:
    return IncidentComment(comment_id, author, at(minutes), body, f"https://x/{comment_id}")


def issue(
    number: int = 7, title: str = "Checkout fails", labels: tuple[str, ...] = ()
) -> IssueView:
    return IssueView("acme/web", number, title, "", "rita", labels=labels)


def incident(
    number: int,
    status: Status = Status.INVESTIGATING,
    severity: str = "sev3",
    declared: int = -60,
    resolved: int | None = None,
    updates: tuple[PublicUpdate, ...] = (),
) -> PublicIncident:
    return PublicIncident(
        number=number,
        title=f"Incident {number}",
        status=status,
        severity=severity,
        declared_at=at(declared),
        mitigated_at=None,
        resolved_at=None if resolved is None else at(resolved),
        updates=updates,
    )


# --- which incidents -----------------------------------------------------------------------


def test_an_incident_is_public_with_both_labels_in_any_case() -> None:
    assert is_public(issue(labels=("Incident", "PUBLIC", "sev2")), "incident", "public")
    assert not is_public(issue(labels=("incident",)), "incident", "public")
    assert not is_public(issue(labels=("public",)), "incident", "public")
    assert is_public(issue(labels=("outage", "status-page")), "outage", "status-page")


def test_open_incidents_are_shown_however_old_and_ended_ones_for_90_days() -> None:
    long_ago = NOW - timedelta(days=400)
    assert is_shown(IncidentState(status=Status.MITIGATED, declared_at=long_ago), NOW)
    resolved = IncidentState(status=Status.RESOLVED, declared_at=long_ago)
    assert is_shown(replace_resolved(resolved, NOW - RECENT), NOW)
    assert not is_shown(replace_resolved(resolved, NOW - RECENT - timedelta(minutes=1)), NOW)
    closed = IncidentState(status=Status.CLOSED, declared_at=long_ago, closed_at=NOW)
    assert is_shown(closed, NOW), "closed without a resolution time: the closing counts"


def replace_resolved(state: IncidentState, moment: datetime) -> IncidentState:
    return IncidentState(status=state.status, declared_at=state.declared_at, resolved_at=moment)


# --- which words ---------------------------------------------------------------------------


def test_only_the_update_texts_baton_applied_are_public() -> None:
    comments = [
        comment(1, "/update We are looking into failed payments.", 1),
        comment(2, "/note 12:05 Rolled back deploy 4812 on db-primary-3", 2),
        comment(3, "/handoff @bob\nThe root password is in the vault.", 3),
        comment(4, "/update Not applied: refused or not yet answered", 4, author="mallory"),
        comment(5, "Just chatting about the /update", 5),
        comment(6, "/status identified\n/update We found the cause.\nA fix is coming.", 6),
    ]
    state = IncidentState(applied=(1, 2, 3, 6))

    updates = public_updates(state, comments)

    assert updates == (
        PublicUpdate(6, at(6), "We found the cause.\nA fix is coming."),
        PublicUpdate(1, at(1), "We are looking into failed payments."),
    )


def test_the_public_incident_carries_no_names_and_no_notes() -> None:
    state = IncidentState(
        status=Status.MITIGATED,
        severity="sev2",
        ic="alice",
        liaison="bob",
        reporter="rita",
        impact="Internal: the EU shard",
        declared_at=at(-30),
        mitigated_at=at(-5),
        applied=(1,),
    )
    shown = public_incident(
        issue(title="[Incident]: Checkout fails"), state, [comment(1, "/update Mitigated.")]
    )

    assert shown == PublicIncident(
        number=7,
        title="Checkout fails",
        status=Status.MITIGATED,
        severity="sev2",
        declared_at=at(-30),
        mitigated_at=at(-5),
        resolved_at=None,
        updates=(PublicUpdate(1, at(0), "Mitigated."),),
    )


def test_the_form_prefix_leaves_the_title() -> None:
    assert public_title("[Incident]: Checkout fails") == "Checkout fails"
    assert public_title("[incident] Search is slow") == "Search is slow"
    assert public_title("Payments [Incident]: x") == "Payments [Incident]: x"
    assert public_title("[Incident]: ") == "[Incident]:"


# --- in which order ------------------------------------------------------------------------


def test_current_incidents_come_first_most_severe_then_newest() -> None:
    page = status_page(
        "acme/web",
        [
            incident(1, Status.RESOLVED, "sev1", declared=-300, resolved=-200),
            incident(2, Status.INVESTIGATING, "sev3", declared=-10),
            incident(3, Status.IDENTIFIED, "sev1", declared=-100),
            incident(4, Status.CLOSED, "sev2", declared=-300, resolved=-100),
            incident(5, Status.MITIGATED, "sev3", declared=-5),
        ],
        severities=("sev1", "sev2", "sev3", "sev4"),
        now=NOW,
    )
    assert [i.number for i in page.current] == [3, 5, 2]
    assert [i.number for i in page.recent] == [4, 1]
    assert [i.number for i in page.incidents] == [3, 5, 2, 4, 1]


# --- the files -----------------------------------------------------------------------------


def test_the_site_has_an_index_a_page_per_incident_a_feed_and_json() -> None:
    page = status_page("acme/web", [incident(1), incident(2)], severities=("sev3",), now=NOW)
    files = site_files(page, title="Acme status", url=URL)
    assert set(files) == {INDEX, "incidents/1.html", "incidents/2.html", FEED, JSON}


def test_every_text_is_escaped_in_the_html_and_the_feed() -> None:
    hostile = "<script>alert(1)</script> & <img src=x onerror=alert(2)>"
    shown = PublicIncident(
        1,
        hostile,
        Status.INVESTIGATING,
        "sev1",
        at(-5),
        None,
        None,
        (PublicUpdate(9, NOW, hostile),),
    )
    files = site_files(
        status_page("acme/web", [shown], severities=(), now=NOW), title=hostile, url=URL
    )

    for name in (INDEX, "incidents/1.html", FEED):
        text = files[name].decode()
        assert "<script>" not in text and "<img" not in text, name
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;img" in text, name
    feed = feedparser.parse(files[FEED])
    assert feed.entries[0].content[0].value == hostile  # the reader gets the text back, as text
    assert json.loads(files[JSON])["incidents"][0]["title"] == hostile


def test_the_feed_is_atom_with_every_required_element() -> None:
    updates = tuple(PublicUpdate(n, at(n), f"Update {n}") for n in range(1, 4))
    page = status_page(
        "acme/web",
        [incident(1, updates=updates), incident(2, Status.RESOLVED, resolved=-1)],
        severities=("sev3",),
        now=NOW,
    )

    feed = feedparser.parse(site_files(page, title="Acme status", url=URL)[FEED])

    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert (feed.feed.id, feed.feed.title) == (URL, "Acme status: incident updates")
    assert feed.feed.updated_parsed is not None and feed.feed.author == "Acme status"
    assert {link.rel: link.href for link in feed.feed.links} == {
        "alternate": URL,
        "self": URL + FEED,
    }
    assert [entry.title for entry in feed.entries] == [
        "Update: Incident 1",
        "Update: Incident 1",
        "Update: Incident 1",
        "Resolved: Incident 2",
        "Declared: Incident 1",
        "Declared: Incident 2",
    ]
    assert [entry.content[0].value for entry in feed.entries[:3]] == [
        "Update 3",
        "Update 2",
        "Update 1",
    ]
    for entry in feed.entries:
        assert entry.id.startswith(URL + "incidents/") and entry.link == entry.id
        assert entry.updated_parsed is not None and entry.title
    moments = [entry.updated_parsed for entry in feed.entries]
    assert moments == sorted(moments, reverse=True), "newest first"
    assert len({entry.id for entry in feed.entries}) == len(feed.entries) == 6


def test_the_feed_holds_the_newest_entries_only() -> None:
    updates = tuple(PublicUpdate(n, at(n), f"Update {n}") for n in range(FEED_ENTRIES + 10))
    page = status_page("acme/web", [incident(1, updates=updates)], severities=(), now=NOW)
    feed = feedparser.parse(site_files(page, title="Acme", url=URL)[FEED])
    assert len(feed.entries) == FEED_ENTRIES
    assert feed.entries[0].content[0].value == f"Update {FEED_ENTRIES + 9}"


def test_the_json_file_holds_the_public_fields_only() -> None:
    page = status_page(
        "acme/web",
        [
            incident(
                4, Status.RESOLVED, "sev2", resolved=-1, updates=(PublicUpdate(9, NOW, "Fixed."),)
            )
        ],
        severities=("sev2",),
        now=NOW,
    )
    data = json.loads(site_files(page, title="Acme", url=URL)[JSON])
    assert data == {
        "repo": "acme/web",
        "generated_at": "2026-11-24T12:00:00Z",
        "updated_at": "2026-11-24T12:00:00Z",
        "incidents": [
            {
                "number": 4,
                "title": "Incident 4",
                "status": "resolved",
                "current": False,
                "severity": "sev2",
                "declared_at": "2026-11-24T11:00:00Z",
                "mitigated_at": None,
                "resolved_at": "2026-11-24T11:59:00Z",
                "url": URL + "incidents/4.html",
                "updates": [{"id": 9, "at": "2026-11-24T12:00:00Z", "text": "Fixed."}],
            }
        ],
    }
