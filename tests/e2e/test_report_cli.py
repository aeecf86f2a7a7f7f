"""`baton report` end to end: incidents run through webhooks on the stand-in (over HTTP), then
the report lists them through the GitHub API and reads their cards."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from app.cli import main
from app.demo.harness import REPO, Stage, stage
from app.entry.report import repository_report
from tests.e2e.helpers import FakeClock, open_incident, say, state_of

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def world_over_http(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Stage]:
    async with stage(
        over_http=True, database_url=f"sqlite:///{tmp_path / 'baton.db'}", clock=clock
    ) as running:
        yield running


async def test_report_of_incidents_run_through_webhooks(
    world_over_http: Stage, clock: FakeClock
) -> None:
    world = world_over_http
    # A sev1 incident: acknowledged after 5 minutes, mitigated after 15, resolved after 30.
    resolved = await open_incident(world, "Checkout is down")
    await say(world, resolved, "/sev 1", "alice")
    clock.advance(minutes=5)
    await say(world, resolved, "/ack", "alice")
    clock.advance(minutes=10)
    await say(world, resolved, "/mitigated Traffic drained.", "alice")
    clock.advance(minutes=15)
    await say(world, resolved, "/resolved Config reverted.", "alice")
    # A sev2 incident declared then, acknowledged 3 minutes later with an update, still open.
    ongoing = await open_incident(world, "Search is slow")
    await say(world, ongoing, "/sev 2", "alice")
    clock.advance(minutes=3)
    await say(world, ongoing, "/ack", "alice")
    await say(world, ongoing, "/update Index rebuilding.", "alice")
    clock.advance(minutes=2)
    assert state_of(world, resolved).status == "resolved"

    report = await repository_report(
        world.settings, repo=REPO, token=None, now=clock.now, since=timedelta(days=90)
    )

    assert report.repo == REPO
    assert (report.incidents, report.unverified, report.without_card) == (2, 0, 0)
    assert report.by_severity == {"sev1": 1, "sev2": 1, "sev3": 0, "sev4": 0}
    assert report.to_acknowledge.samples == 2
    assert (report.to_acknowledge.median, report.to_acknowledge.p90) == (
        timedelta(minutes=3),
        timedelta(minutes=5),
    )
    assert report.to_mitigate.median == timedelta(minutes=15)
    assert (report.to_resolve.samples, report.to_resolve.p90) == (1, timedelta(minutes=30))
    assert report.with_an_update == 1
    assert (report.updates_overdue, report.cadence_kept) == (0, 2)
    assert report.retrospectives_outstanding == 1  # sev1 needs one; it is not closed yet
    assert report.open_by_status == {"investigating": 1, "identified": 0, "mitigated": 0}

    # Only the incident declared within the last ten minutes.
    recent = await repository_report(
        world.settings, repo=REPO, token=None, now=clock.now, since=timedelta(minutes=10)
    )
    assert recent.incidents == 1
    assert recent.by_severity["sev2"] == 1

    # Read with another key, no card verifies: each is skipped and counted.
    stranger = world.settings.model_copy(
        update={"state_key_secret": "not the key that signed these cards"}
    )
    unverified = await repository_report(stranger, repo=REPO, token=None, now=clock.now, since=None)
    assert (unverified.incidents, unverified.unverified) == (0, 2)


async def test_the_command_prints_the_report_as_json(tmp_path: Path) -> None:
    async with stage(over_http=True, database_url=f"sqlite:///{tmp_path / 'b.db'}") as world:
        number = await open_incident(world)
        await say(world, number, "/ack", "alice")
        settings = world.settings
        assert settings.private_key and settings.webhook_secret
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("GITHUB_", "BATON_"))
        } | {
            "PYTHONPATH": str(ROOT),
            "GITHUB_APP_ID": str(settings.app_id),
            "GITHUB_APP_PRIVATE_KEY": settings.private_key,
            "GITHUB_WEBHOOK_SECRET": settings.webhook_secret,
            "GITHUB_API_URL": settings.api_url,
        }
        # Another process, so the stand-in keeps serving in this test's event loop.
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app",
            "report",
            "--repo",
            REPO,
            "--since",
            "30d",
            "--json",
            cwd=tmp_path,  # no .env file there
            env=environment,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)

    assert process.returncode == 0, err.decode()
    printed = json.loads(out)
    assert printed["repo"] == REPO
    assert printed["since_seconds"] == 30 * 86400
    assert printed["incidents"] == 1
    assert printed["by_severity"]["sev3"] == 1
    assert printed["time_to_acknowledge"]["incidents"] == 1
    assert printed["open_by_status"]["investigating"] == 1


def test_a_window_that_is_not_a_duration_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["report", "--repo", REPO, "--since", "a while"])
    assert exit.value.code == 2
    assert "is not a duration" in capsys.readouterr().err
