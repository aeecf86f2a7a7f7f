"""What a process remembers of incident issues (app/github/memory.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.github.memory import IssueMemory, newest
from app.incident.effects import IssueView

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def view(body: str, at: datetime | None, number: int = 7) -> IssueView:
    return IssueView(
        repo="acme/web", number=number, title="t", body=body, author="rita", updated_at=at
    )


def test_the_newer_copy_wins_and_a_tie_or_a_missing_time_means_read() -> None:
    ours, theirs = view("ours", T0), view("theirs", T0 + timedelta(seconds=1))
    assert newest(ours, theirs) is theirs
    assert newest(theirs, ours) is theirs
    assert newest(ours, view("same second", T0)) is None
    assert newest(ours, view("no time", None)) is None
    assert newest(view("no time", None), theirs) is None
    assert newest(ours, None) is None


def test_the_last_copy_seen_is_kept_and_the_oldest_forgotten() -> None:
    memory = IssueMemory(issues_kept=2)
    for number in (1, 2, 1, 3):
        memory.saw(view(f"body {number}", T0, number))
    assert memory.last_seen("acme/web", 1) is not None
    assert memory.last_seen("acme/web", 3) is not None
    assert memory.last_seen("acme/web", 2) is None


def test_a_write_over_another_body_than_believed_is_told() -> None:
    memory = IssueMemory()
    memory.wrote("acme/web", 7, body="card + report", over="old card + report")
    assert not memory.overwrote_someone(
        "acme/web", 7, body="card + report", replaced="old card + report"
    )
    assert memory.overwrote_someone(
        "acme/web", 7, body="card + report", replaced="old card + report, edited"
    )
    # A write this process did not make (or has forgotten) tells nothing.
    assert not memory.overwrote_someone("acme/web", 7, body="other", replaced="anything")
    assert not memory.overwrote_someone("acme/web", 8, body="card + report", replaced="x")
