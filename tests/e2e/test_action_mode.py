"""Action mode: `baton action` handles one event with a GITHUB_TOKEN, with the server's results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.demo.harness import REPO, Stage
from app.entry.actions_mode import create_labels, run_action
from app.entry.settings import Settings, SettingsError, load_settings
from app.entry.sweep_once import sweep_once
from app.incident.card import read_card
from app.incident.state import IncidentState, derive_state_key, issue_state_key
from tests.e2e.helpers import form_labels

STATE_KEY = "action-mode-state-key"


async def event_file(world: Stage, tmp_path: Path, *, action: str) -> tuple[str, Path]:
    """The payload GitHub would hand the workflow: the stand-in's own latest delivery."""
    sent = next(d for d in reversed(world.standin.deliveries) if d.action == action)
    path = tmp_path / "event.json"
    path.write_text(json.dumps(sent.payload))
    return sent.event, path


def settings_of(environ: dict[str, str]) -> Settings:
    return load_settings(environ, env_file=None)


def environ(world: Stage, event: str, path: Path) -> dict[str, str]:
    return {
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(path),
        "GITHUB_TOKEN": world.standin.actions_token(REPO),
        "GITHUB_API_URL": world.standin.base_url,
        "BATON_STATE_KEY": STATE_KEY,
        "GITHUB_RUN_ID": "7001",
    }


async def labelled_by_rita(world: Stage) -> int:
    """An issue rita reports and alice labels `incident`, with no server: only workflow runs act."""
    await world.stop()
    issue = await world.standin.open_issue(REPO, "Search is slow", "p99 at 9 s", "rita")
    await world.standin.add_labels(REPO, issue["number"], ["incident"], "alice")
    await world.standin.settle()
    return int(issue["number"])


async def test_action_mode_declares_and_runs_commands(world: Stage, tmp_path: Path) -> None:
    number = await labelled_by_rita(world)
    transport = world.standin.transport()

    name, path = await event_file(world, tmp_path, action="labeled")
    said = await run_action(settings_of(environ(world, name, path)), transport=transport)
    assert said == f"handled issues.labeled on {REPO}#{number}"

    await world.standin.comment(REPO, number, "/ic me\n/sev 2", "alice")
    await world.standin.settle()
    name, path = await event_file(world, tmp_path, action="created")
    await run_action(settings_of(environ(world, name, path)), transport=transport)

    body = world.standin.issue(REPO, number)["body"]
    key = issue_state_key(derive_state_key(STATE_KEY), REPO, number)
    state = read_card(body, key).state
    assert state is not None
    assert (state.ic, state.severity) == ("alice", "sev2")
    assert [a["login"] for a in world.standin.issue(REPO, number)["assignees"]] == ["alice"]
    replies = [c for c in world.standin.comments(REPO, number) if c["user"]["type"] == "Bot"]
    assert len(replies) == 2  # the first response, and the confirmation of the commands
    assert "**Incident Commander:** @alice" in body


async def test_action_mode_needs_its_state_key(world: Stage, tmp_path: Path) -> None:
    issue = await world.standin.open_issue(REPO, "Search is slow", "", "rita")
    await world.standin.add_labels(REPO, issue["number"], ["incident"], "alice")
    await world.standin.settle()
    name, path = await event_file(world, tmp_path, action="labeled")
    env = environ(world, name, path)
    del env["BATON_STATE_KEY"]
    with pytest.raises(SettingsError, match="BATON_STATE_KEY"):
        await run_action(settings_of(env), transport=world.standin.transport())


async def test_an_event_baton_does_not_handle_is_nothing_to_do(tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"action": "starred"}))
    env = {"GITHUB_EVENT_NAME": "watch", "GITHUB_EVENT_PATH": str(path)}
    assert await run_action(settings_of(env)) == "nothing to do for watch.starred"


async def test_baton_labels_creates_the_labels_the_incident_form_needs(world: Stage) -> None:
    await world.stop()  # no server: the workflow creates the labels
    env = {
        "GITHUB_TOKEN": world.standin.actions_token(REPO),
        "GITHUB_API_URL": world.standin.base_url,
        "GITHUB_REPOSITORY": REPO,
    }
    said = await create_labels(settings_of(env), transport=world.standin.transport())
    assert said.startswith(f"created 13 labels in {REPO}: incident, sev1")

    issue = await world.standin.submit_form(REPO, "[Incident]: down", "", "rita", form_labels())
    assert [label["name"] for label in issue["labels"]] == ["incident"], "the form's label kept"

    world.standin.reset_requests()
    said = await create_labels(settings_of(env), transport=world.standin.transport())
    assert said == f"every label of Baton's exists in {REPO}"
    assert world.standin.count(writes_only=True) == 0


async def test_baton_labels_needs_a_token_and_a_repository() -> None:
    with pytest.raises(SettingsError, match="GITHUB_TOKEN"):
        await create_labels(settings_of({"GITHUB_REPOSITORY": REPO}))


async def test_a_team_the_workflow_token_cannot_see_is_a_clear_refusal(
    world: Stage, tmp_path: Path
) -> None:
    """A workflow's token has no `members` permission: GitHub answers 403 to a team-membership
    check. The commenter then counts as no member, and the refusal says why."""
    world.standin.put_file(REPO, ".github/baton.yml", "responders: {teams: [acme/sre]}\n")
    world.standin.add_user("tess")  # no role on the repository: a responder by her team only
    world.standin.add_team("acme", "sre", ["tess"])
    number = await labelled_by_rita(world)
    transport = world.standin.transport()
    name, path = await event_file(world, tmp_path, action="labeled")
    await run_action(settings_of(environ(world, name, path)), transport=transport)

    await world.standin.comment(REPO, number, "/ack", "tess")
    await world.standin.settle()
    name, path = await event_file(world, tmp_path, action="created")
    said = await run_action(settings_of(environ(world, name, path)), transport=transport)

    assert said == f"handled issue_comment.created on {REPO}#{number}"
    reply = world.standin.comments(REPO, number)[-1]["body"]
    assert "needs at least triage access to this repository or membership of `acme/sre`" in reply
    assert "could not see who belongs to `acme/sre`" in reply
    assert "GitHub answered 403" in reply


async def declared_in_action_mode(world: Stage, tmp_path: Path) -> int:
    number = await labelled_by_rita(world)
    name, path = await event_file(world, tmp_path, action="labeled")
    await run_action(settings_of(environ(world, name, path)), transport=world.standin.transport())
    return number


def card_state(world: Stage, number: int) -> IncidentState:
    key = issue_state_key(derive_state_key(STATE_KEY), REPO, number)
    state = read_card(world.standin.issue(REPO, number)["body"], key).state
    assert state is not None
    return state


def answered(world: Stage, number: int) -> list[str]:
    return [c["body"] for c in world.standin.comments(REPO, number) if c["user"]["type"] == "Bot"]


async def test_a_cancelled_run_loses_no_command(world: Stage, tmp_path: Path) -> None:
    """GitHub keeps one pending run per concurrency group: a newer one cancels it. The run that
    is left decides the commands of the cancelled runs first, in the order they were written."""
    number = await declared_in_action_mode(world, tmp_path)
    for body in ("/ic me", "/sev 1", "/sev 3"):  # the runs of the first two are cancelled
        await world.standin.comment(REPO, number, body, "alice")
    await world.standin.settle()

    name, path = await event_file(world, tmp_path, action="created")
    said = await run_action(
        settings_of(environ(world, name, path)), transport=world.standin.transport()
    )

    assert said == f"handled issue_comment.created on {REPO}#{number}"
    state = card_state(world, number)
    assert (state.ic, state.severity) == ("alice", "sev3")
    replies = answered(world, number)[1:]  # after the first response
    assert len(replies) == 3, "each command answered once"
    assert "Severity is now **sev1**" in replies[1] and "**sev3** (was sev1)" in replies[2]


async def test_a_run_whose_command_was_already_decided_does_nothing(
    world: Stage, tmp_path: Path
) -> None:
    """A run of a cancelled event re-run by hand after a later run decided its command."""
    number = await declared_in_action_mode(world, tmp_path)
    await world.standin.comment(REPO, number, "/sev 1", "alice")
    await world.standin.settle()
    first, first_path = await event_file(world, tmp_path, action="created")
    kept = tmp_path / "first.json"
    kept.write_text(first_path.read_text())
    await world.standin.comment(REPO, number, "/sev 2", "alice")
    await world.standin.settle()
    name, path = await event_file(world, tmp_path, action="created")
    await run_action(settings_of(environ(world, name, path)), transport=world.standin.transport())
    replies = len(answered(world, number))

    said = await run_action(
        settings_of(environ(world, first, kept)), transport=world.standin.transport()
    )

    assert said == f"nothing to do for issue_comment.created on {REPO}"
    assert card_state(world, number).severity == "sev2"
    assert len(answered(world, number)) == replies


async def test_a_run_for_another_incident_decides_a_cancelled_runs_command(
    world: Stage, tmp_path: Path
) -> None:
    """One concurrency group serves the whole repository: the run left may be another issue's."""
    first = await declared_in_action_mode(world, tmp_path)
    second = await labelled_by_rita(world)
    name, path = await event_file(world, tmp_path, action="labeled")
    await run_action(settings_of(environ(world, name, path)), transport=world.standin.transport())
    await world.standin.comment(REPO, first, "/sev 1", "alice")  # its run is cancelled
    await world.standin.comment(REPO, second, "/sev 2", "alice")
    await world.standin.settle()

    name, path = await event_file(world, tmp_path, action="created")
    await run_action(settings_of(environ(world, name, path)), transport=world.standin.transport())

    assert (card_state(world, first).severity, card_state(world, second).severity) == (
        "sev1",
        "sev2",
    )
    assert "Severity is now **sev1**" in answered(world, first)[-1]


async def test_the_sweep_decides_the_commands_no_run_applied(world: Stage, tmp_path: Path) -> None:
    number = await declared_in_action_mode(world, tmp_path)
    await world.standin.comment(REPO, number, "/ic me", "alice")  # its run is cancelled
    await world.standin.settle()
    settings = settings_of(environ(world, "schedule", tmp_path / "none.json"))

    await sweep_once(
        settings,
        token=world.standin.actions_token(REPO),
        repo=REPO,
        now=world.clock(),
        dry_run=False,
        budget=10,
        transport=world.standin.transport(),
    )

    assert card_state(world, number).ic == "alice"
    assert "@alice" in answered(world, number)[-1]


async def test_a_run_with_nothing_missed_only_reads(world: Stage, tmp_path: Path) -> None:
    """Catching up reads the open incidents and each one's comments since its newest command."""
    number = await declared_in_action_mode(world, tmp_path)
    await labelled_by_rita(world)
    name, path = await event_file(world, tmp_path, action="labeled")
    await run_action(settings_of(environ(world, name, path)), transport=world.standin.transport())
    await world.standin.comment(REPO, number, "thanks, looking", "alice")  # no command
    await world.standin.settle()
    before = world.standin.count(writes_only=True)

    name, path = await event_file(world, tmp_path, action="created")
    said = await run_action(
        settings_of(environ(world, name, path)), transport=world.standin.transport()
    )

    assert said == f"nothing to do for issue_comment.created on {REPO}"
    assert world.standin.count(writes_only=True) == before
