"""The sweep runs the incident clocks (SPEC §5, §8 `baton sweep`), with time moved by the test."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.cli import main
from app.demo.harness import APP_ID, REPO, Stage, stage
from app.entry.credentials import state_key
from app.entry.settings import Settings
from app.entry.sweep_once import sweep_once
from app.github.listing import ListingCache
from app.incident.card import CardView, place_card, read_card, render_card
from app.incident.state import IncidentState, Status, issue_state_key
from app.jobs.server_sweep import ServerSweep
from app.jobs.sweep_report import SweepReport
from app.sandbox.standin import TOKEN_ROUTE
from tests.e2e.helpers import PLANTED_REPORT, FakeClock, card_key, declared, plant_incident, sweep

LIST_ROUTE = "/repos/{owner}/{repo}/issues"
# What every run of `baton sweep` over the one repository reads before any incident (the
# installation token aside): the installations, their repositories, the two configuration
# files (the repository's and the organisation's `.github`).
SWEEP_START = (
    "GET /app/installations",
    "GET /installation/repositories",
    "GET /repos/{owner}/{repo}/contents/{path}",
    "GET /repos/{owner}/{repo}/contents/{path}",
)
LIST_PAGE = f"GET {LIST_ROUTE}"


def sweep_requests(world: Stage) -> list[str]:
    """Every request since the last reset, as "METHOD route", the installation token aside."""
    return [f"{r.method} {r.route}" for r in world.standin.requests if r.route != TOKEN_ROUTE]


def state_of(world: Stage, number: int) -> IncidentState:
    reading = read_card(world.standin.issue(REPO, number)["body"], card_key(world, number))
    assert reading.state is not None
    return reading.state


def comments(world: Stage, number: int) -> list[str]:
    return [c["body"] for c in world.standin.comments(REPO, number)]


def last_thursday_noon() -> datetime:
    """A Thursday 12:00 UTC at least a week ago, so the following Monday is past too."""
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    return today - timedelta(days=(today.weekday() - 3) % 7 + 7)


async def test_an_overdue_update_is_reminded_once_per_period(
    timed_world: Stage, clock: FakeClock
) -> None:
    world = timed_world
    start = clock()
    # sev2: an update every hour; the escalation at 30 minutes was already posted.
    number = plant_incident(world, declared(start, severity="sev2", nudges=("escalate",)))

    assert (await sweep(world, start + timedelta(minutes=59))).acted == []
    first = await sweep(world, start + timedelta(hours=1))
    again = await sweep(world, start + timedelta(hours=1, minutes=5))

    assert [a.number for a in first.acted] == [number] and again.acted == []
    [reminder] = comments(world, number)
    assert "@alice" in reminder and "stakeholder update was due" in reminder
    assert f"update@{(start + timedelta(hours=1)).strftime('%Y-%m-%dT%H:%M')}" in "".join(
        state_of(world, number).nudges
    )

    await sweep(world, start + timedelta(hours=2))
    assert len(comments(world, number)) == 2, "the next period reminds again"


async def test_the_server_sweep_reminds_once_also_across_a_restart(
    timed_world: Stage, clock: FakeClock
) -> None:
    world = timed_world
    number = plant_incident(world, declared(clock(), severity="sev2", nudges=("escalate",)))

    async def server_sweep() -> SweepReport:
        service = world.service
        report = await ServerSweep(
            github=service.github,
            store=service.store,
            notify=service.worker.notify,
            key=state_key(world.settings),
            clock=clock,
        ).run_once()
        await world.settle()
        return report

    clock.advance(hours=1)
    await world.stop()  # a restart after the hour: fresh tokens for the new "now"
    await world.start()
    assert len((await server_sweep()).acted) == 1
    assert (await server_sweep()).acted == []
    await world.stop()
    await world.start()
    assert (await server_sweep()).acted == []
    assert len(comments(world, number)) == 1

    clock.advance(hours=1)
    await world.stop()
    await world.start()
    await server_sweep()
    assert len(comments(world, number)) == 2


async def test_nobody_took_the_ic_role(timed_world: Stage, clock: FakeClock) -> None:
    world = timed_world
    number = plant_incident(world, declared(clock(), ic=None))

    await sweep(world, clock() + timedelta(minutes=14))
    assert comments(world, number) == []
    await sweep(world, clock() + timedelta(minutes=15))
    await sweep(world, clock() + timedelta(minutes=16))

    [nudge] = comments(world, number)
    assert "Nobody has taken the Incident Commander role" in nudge
    assert "no_ic" in state_of(world, number).nudges


async def test_a_resolved_incident_closes_after_48_working_hours(
    timed_world: Stage, clock: FakeClock
) -> None:
    world = timed_world
    thursday = last_thursday_noon()
    clock.now = thursday
    resolved = declared(
        thursday - timedelta(hours=3),
        status=Status.RESOLVED,
        resolved_at=thursday,
        nudges=("escalate",),
    )
    number = plant_incident(world, resolved)

    for before in (timedelta(days=1), timedelta(days=3), timedelta(days=3, hours=23, minutes=59)):
        await sweep(world, thursday + before)  # Friday, Sunday, Monday 11:59
        assert world.standin.issue(REPO, number)["state"] == "open"
    monday_noon = thursday + timedelta(days=4)
    assert monday_noon.weekday() == 0
    await sweep(world, monday_noon)

    assert world.standin.issue(REPO, number)["state"] == "closed"
    assert state_of(world, number).status == "closed"
    assert "now **closed**" in comments(world, number)[-1]


async def test_a_community_reply_restarts_the_wait_from_its_own_time(
    timed_world: Stage, clock: FakeClock
) -> None:
    world = timed_world
    thursday = last_thursday_noon()
    resolved = declared(
        thursday - timedelta(hours=3),
        status=Status.RESOLVED,
        resolved_at=thursday,
        close_wait_from=thursday,
        nudges=("escalate",),
    )
    number = plant_incident(world, resolved)
    friday_ten = thursday + timedelta(hours=22)
    clock.now = friday_ten + timedelta(hours=5)  # the delivery arrives hours after the comment
    await world.standin.comment(
        REPO, number, "It still fails for me.", "mallory", created_at=friday_ten
    )
    await world.settle()
    assert state_of(world, number).close_wait_from == friday_ten
    assert "The incident stays open" in comments(world, number)[-1]

    monday_noon = thursday + timedelta(days=4)
    await sweep(world, monday_noon)
    assert world.standin.issue(REPO, number)["state"] == "open"
    # 48 working hours from Friday 10:00: 14 on Friday, 24 on Monday, 10 on Tuesday.
    await sweep(world, friday_ten + timedelta(days=4) - timedelta(seconds=1))
    assert world.standin.issue(REPO, number)["state"] == "open"
    await sweep(world, friday_ten + timedelta(days=4))
    assert world.standin.issue(REPO, number)["state"] == "closed"


async def test_a_dry_run_writes_nothing(timed_world: Stage, clock: FakeClock) -> None:
    world = timed_world
    number = plant_incident(world, declared(clock(), ic=None))
    world.standin.reset_requests()

    report = await sweep(world, clock() + timedelta(hours=1), dry_run=True)

    assert world.standin.count(writes_only=True) == 0
    [planned] = report.acted
    assert planned.number == number and "no_ic" in planned.nudges
    assert any("comment nudges:no_ic" in line for line in report.lines())
    assert comments(world, number) == []


# One unknown key and one bad value: each falls back to its default, the rest applies.
WRONG_KEYS = "escalaton:\n  team: acme/sre\nclocks:\n  acknowledge_within: soon\n"


async def test_a_configuration_with_wrong_keys_still_nags_and_closes(
    timed_world: Stage, clock: FakeClock
) -> None:
    world = timed_world
    world.standin.put_file(REPO, ".github/baton.yml", WRONG_KEYS)
    thursday = last_thursday_noon()
    clock.now = thursday
    no_ic = plant_incident(world, declared(thursday, ic=None))
    resolved = plant_incident(
        world,
        declared(thursday, status=Status.RESOLVED, resolved_at=thursday, nudges=("escalate",)),
    )

    report = await sweep(world, thursday + timedelta(days=7))

    assert report.listed == 2 and report.skipped == []
    assert {planned.number for planned in report.acted} == {no_ic, resolved}
    assert any("Nobody has taken the Incident Commander role" in c for c in comments(world, no_ic))
    [notice] = [c for c in comments(world, no_ic) if "configuration has problems" in c]
    assert "escalaton" in notice and "clocks.acknowledge_within" in notice
    assert world.standin.issue(REPO, resolved)["state"] == "closed"
    [named] = [line for line in report.lines() if "escalaton" in line]
    assert named.startswith(REPO) and "clocks.acknowledge_within" in named
    assert "2 open incidents" in report.summary()


async def test_the_server_sweep_names_a_wrong_key_once(
    timed_world: Stage, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    world = timed_world
    world.standin.put_file(REPO, ".github/baton.yml", WRONG_KEYS)
    plant_incident(world, declared(clock(), nudges=("escalate",)))

    with caplog.at_level(logging.WARNING, logger="app.jobs.server_sweep"):
        first = await world.service.sweep.run_once()
        clock.advance(minutes=5)
        again = await world.service.sweep.run_once()

    assert first.listed == again.listed == 1
    assert [line for line in first.lines() if "escalaton" in line]
    assert not [line for line in again.lines() if "escalaton" in line]
    assert len([r for r in caplog.records if "escalaton" in r.getMessage()]) == 1

    await world.standin.push_file(
        REPO, ".github/baton.yml", "escalaton: {team: acme/sre}\n", "alice"
    )
    await world.settle()
    changed = await world.service.sweep.run_once()
    assert [line for line in changed.lines() if "escalaton" in line], "a new problem is named"

    for text in ("", WRONG_KEYS):  # fixed, then broken again as before
        await world.standin.push_file(REPO, ".github/baton.yml", text, "alice")
        await world.settle()
        fixed_or_back = await world.service.sweep.run_once()
    assert [line for line in fixed_or_back.lines() if "escalaton" in line]


async def test_a_configuration_with_thousands_of_problems_is_named_in_a_few_words(
    timed_world: Stage, clock: FakeClock
) -> None:
    world = timed_world
    world.standin.put_file(REPO, ".github/baton.yml", "".join(f"k{n}: 1\n" for n in range(3000)))
    number = plant_incident(world, declared(clock(), ic=None))

    report = await sweep(world, clock() + timedelta(days=10))

    assert [planned.number for planned in report.acted] == [number]
    [named] = [line for line in report.lines() if line.startswith(f"{REPO}: ")]
    assert len(named) < 1000 and "; and 2997 more" in named


async def test_a_tampered_card_is_left_alone(timed_world: Stage, clock: FakeClock) -> None:
    world = timed_world
    number = plant_incident(world, declared(clock(), ic=None))
    repo = world.standin.world.repo(REPO)
    assert repo is not None
    issue = repo.issues[number]
    assert issue.body is not None
    issue.body = issue.body.replace('"sev3"', '"sev1"')

    report = await sweep(world, clock() + timedelta(hours=1))

    assert comments(world, number) == []
    assert report.skipped == [(f"{REPO}#{number}", "its card cannot be trusted (tampered)")]


async def test_the_budget_stops_a_run_and_the_next_run_resumes(
    timed_world: Stage, clock: FakeClock
) -> None:
    world = timed_world
    numbers = [plant_incident(world, declared(clock(), ic=None)) for _ in range(3)]
    later = clock() + timedelta(minutes=20)

    first = await sweep(world, later, budget=3)  # one incident costs 2 writes: card, comment
    second = await sweep(world, later)

    assert len(first.acted) == 1 and len(first.deferred) == 2
    assert len(second.acted) == 2 and second.deferred == []
    assert [len(comments(world, n)) for n in numbers] == [1, 1, 1]


async def test_a_thousand_quiet_incidents_cost_only_the_list_pages(
    timed_world: Stage, clock: FakeClock
) -> None:
    world = timed_world
    start = clock()
    for _ in range(999):
        plant_incident(world, declared(start, nudges=("escalate",)))
    last = plant_incident(world, declared(start, ic=None, nudges=("escalate",)))
    listings = ListingCache()
    world.standin.reset_requests()

    quiet = await sweep(world, start, listings=listings)

    assert quiet.listed == 1000 and quiet.acted == []
    assert sweep_requests(world) == [*SWEEP_START, *[LIST_PAGE] * 10]

    # Nothing changed on GitHub, but the clocks moved: unchanged pages (304) are evaluated
    # again from the bodies kept with their ETags.
    world.standin.reset_requests()
    later = await sweep(world, start + timedelta(minutes=20), listings=listings)

    listed = [r for r in world.standin.requests if r.route == LIST_ROUTE]
    assert len(listed) == 10 and {r.status for r in listed} == {304}
    assert [a.number for a in later.acted] == [last]
    assert world.standin.count(content_creating=True) == 1


async def test_a_sweep_never_asks_for_the_bot_login(timed_world: Stage, clock: FakeClock) -> None:
    """Reading cards, deciding what is due and nudging need nothing of the App: not even its
    bot login (`GET /app`), quiet or not."""
    world = timed_world
    start = clock()
    quiet = plant_incident(world, declared(start, nudges=("escalate",)))
    due = [plant_incident(world, declared(start, ic=None, nudges=("escalate",))) for _ in range(2)]
    world.standin.reset_requests()

    nothing = await sweep(world, start)

    assert nothing.listed == 3 and nothing.acted == []
    assert sweep_requests(world) == [*SWEEP_START, LIST_PAGE]

    world.standin.reset_requests()
    nudged = await sweep(world, start + timedelta(minutes=20))

    assert sorted(a.number for a in nudged.acted) == due
    nudge = (
        "GET /repos/{owner}/{repo}/issues/{issue_number}",
        "PATCH /repos/{owner}/{repo}/issues/{issue_number}",
        "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
    )
    first_labels = (  # the list of labels, and the two Baton uses here for the first time
        "GET /repos/{owner}/{repo}/labels",
        "POST /repos/{owner}/{repo}/labels",
        "POST /repos/{owner}/{repo}/labels",
    )
    assert sweep_requests(world) == [
        *SWEEP_START,
        LIST_PAGE,
        nudge[0],
        *first_labels,
        *nudge[1:],
        *nudge,
    ]
    bot = world.standin.bot.login
    for number in due:
        [comment] = world.standin.comments(REPO, number)
        assert comment["user"]["login"] == bot
        assert "Nobody has taken the Incident Commander role" in comment["body"]
    assert comments(world, quiet) == []


async def test_baton_sweep_dry_run_over_http(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with stage(over_http=True, database_url=f"sqlite:///{tmp_path / 'b.db'}") as world:
        now = world.clock()
        number = plant_incident(world, declared(now, ic=None))
        settings = world.settings
        assert settings.private_key is not None and settings.webhook_secret is not None
        for name, value in {
            "GITHUB_APP_ID": str(APP_ID),
            "GITHUB_APP_PRIVATE_KEY": settings.private_key,
            "GITHUB_WEBHOOK_SECRET": settings.webhook_secret,
            "GITHUB_API_URL": settings.api_url,
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)  # no stray .env
        world.standin.reset_requests()

        later = (now + timedelta(minutes=20)).isoformat()
        code = await asyncio.to_thread(main, ["sweep", "--dry-run", "--now", later])

        assert code == 0
        out = capsys.readouterr().out
        assert f"{REPO}#{number}: no_ic" in out
        assert "would nudge 1" in out
        assert world.standin.count(writes_only=True) == 0
        assert comments(world, number) == []


async def test_a_sweep_with_a_workflow_token(world: Stage) -> None:
    """Action mode: GITHUB_TOKEN for the one repository, the card signed with BATON_STATE_KEY."""
    settings = Settings(api_url=world.settings.api_url, state_key_secret="workflow secret")
    number = plant_incident(world, declared(world.clock(), ic=None))
    repo = world.standin.world.repo(REPO)
    assert repo is not None
    key = issue_state_key(state_key(settings), REPO, number)
    card = render_card(declared(world.clock(), ic=None), CardView(title="Checkout"), key)
    repo.issues[number].body = place_card(PLANTED_REPORT, card)

    report = await sweep_once(
        settings,
        token=world.standin.actions_token(REPO),
        repo=REPO,
        now=world.clock() + timedelta(minutes=20),
        dry_run=False,
        budget=10,
        transport=world.standin.transport(),
    )

    assert [a.number for a in report.acted] == [number]
    [nudge] = world.standin.comments(REPO, number)
    assert nudge["user"]["login"] == "github-actions[bot]"
    assert "Nobody has taken the Incident Commander role" in nudge["body"]


async def test_the_server_sweep_costs_no_rate_limit_while_nothing_changes(
    timed_world: Stage, clock: FakeClock
) -> None:
    """Every list the server's sweep reads (installations, repositories, open incidents) is
    asked for with the last answer's ETag; GitHub does not count a 304 against the rate limit."""
    world = timed_world
    for _ in range(250):
        plant_incident(world, declared(clock(), nudges=("escalate",)))
    await world.service.sweep.run_once()
    world.standin.reset_requests()

    report = await world.service.sweep.run_once()

    assert report.listed == 250 and report.acted == []
    assert [(r.method, r.path) for r in world.standin.requests] == [
        ("GET", "/app/installations"),
        ("GET", "/installation/repositories"),
        *[("GET", f"/repos/{REPO}/issues")] * 3,
    ]
    assert {r.status for r in world.standin.requests} == {304}
