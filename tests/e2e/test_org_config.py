"""The organisation's `.github` repository that Baton cannot read is named, not silently ignored:
in `baton check-config --repo` and in the configuration notice on an incident."""

from __future__ import annotations

import pytest

from app.cli import main
from app.config import CONFIG_PATH, ORG_CONFIG_REPO
from app.demo.harness import ORG, REPO, Stage
from app.entry.config_check import check_repository_config
from app.entry.settings import Settings
from app.incident.card import CARD_START
from app.sandbox.faults import Fault
from tests.e2e.helpers import open_incident

ORG_REPO = f"{ORG}/{ORG_CONFIG_REPO}"
ORG_FILE = f"{ORG_REPO}:{CONFIG_PATH}"
CONTENTS = "/repos/{owner}/{repo}/contents/{path}"
WRONG_KEY = "escalaton: {team: acme/sre}\n"


def org_file_elsewhere(world: Stage) -> None:
    """The organisation keeps its file in a `.github` repository the App is not installed on."""
    world.standin.add_repo(ORG_REPO, private=True)
    world.standin.put_file(ORG_REPO, CONFIG_PATH, "default_severity: sev2\n")
    for installation in world.standin.world.installations.values():
        installation.repos = {REPO}


def notice_of(world: Stage, number: int) -> str:
    [notice] = [
        c["body"]
        for c in world.standin.comments(REPO, number)
        if "configuration has problems" in c["body"]
    ]
    return notice


async def check(world: Stage, token: str | None = None) -> tuple[int, str]:
    settings = world.settings
    if token is not None:
        settings = Settings(api_url=settings.api_url)
    return await check_repository_config(
        settings, REPO, token=token, transport=world.standin.transport()
    )


async def test_a_github_repository_outside_the_installation_is_named_in_the_notice(
    world: Stage,
) -> None:
    org_file_elsewhere(world)
    world.standin.put_file(REPO, CONFIG_PATH, WRONG_KEY)

    notice = notice_of(world, await open_incident(world))

    assert ORG_REPO in notice and "404" in notice and "escalaton" in notice


async def test_check_config_names_a_github_repository_outside_the_installation(
    world: Stage,
) -> None:
    org_file_elsewhere(world)

    code, text = await check(world)

    assert code == 1
    [line] = [line for line in text.splitlines() if line.startswith(ORG_FILE)]
    assert "404" in line and "installed" in line


async def test_check_config_with_a_workflow_token_names_the_organisations_repository(
    world: Stage,
) -> None:
    world.standin.add_repo(ORG_REPO, private=True)
    world.standin.put_file(ORG_REPO, CONFIG_PATH, "default_severity: sev2\n")

    code, text = await check(world, token=world.standin.actions_token(REPO))

    assert code == 1 and ORG_FILE in text and "404" in text


async def test_a_refused_organisation_file_is_named_and_handling_goes_on(world: Stage) -> None:
    world.standin.add_repo(ORG_REPO)
    world.standin.put_file(ORG_REPO, CONFIG_PATH, "default_severity: sev2\n")
    # The organisation's file is read first: GitHub refuses it, as for an IP allow list.
    world.standin.faults.add(Fault("GET", CONTENTS, status=403, times=1))

    number = await open_incident(world)

    assert world.standin.issue(REPO, number)["body"].startswith(CARD_START)
    notice = notice_of(world, number)
    assert ORG_FILE in notice and "403" in notice

    world.standin.faults.add(Fault("GET", CONTENTS, status=403, times=1))
    code, text = await check(world)
    assert code == 1 and ORG_FILE in text and "403" in text


async def test_check_config_of_a_repository_that_reads_everything_is_ok(world: Stage) -> None:
    world.standin.add_repo(ORG_REPO)
    world.standin.put_file(ORG_REPO, CONFIG_PATH, "default_severity: sev2\n")
    world.standin.put_file(REPO, CONFIG_PATH, "severities: [sev1, sev2, sev3]\n")

    code, text = await check(world)

    assert code == 0, text
    assert text.splitlines()[0] == f"ok: {REPO} ({ORG_FILE}, {REPO}:{CONFIG_PATH})"
    assert "severities: sev1, sev2, sev3 (default sev2)" in text


def test_check_config_needs_a_file_or_a_repository(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config"]) == 2
    assert "give a FILE or --repo OWNER/NAME" in capsys.readouterr().err


async def test_an_owner_without_a_github_repository_is_not_told_of_one(world: Stage) -> None:
    world.standin.put_file(REPO, CONFIG_PATH, WRONG_KEY)

    notice = notice_of(world, await open_incident(world))
    code, text = await check(world)

    assert ORG_REPO not in notice and ORG_REPO not in text
    assert code == 1 and "escalaton" in text


async def test_a_refused_question_about_the_installation_does_not_stop_the_check(
    world: Stage,
) -> None:
    org_file_elsewhere(world)
    world.standin.faults.add(Fault("GET", "/installation/repositories", status=403))

    code, text = await check(world)

    assert code == 1 and ORG_FILE in text and "404" in text
