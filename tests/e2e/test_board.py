"""The project board follows incidents end to end: declared, status changes, problems said once."""

from __future__ import annotations

import pytest

from app.demo.harness import ORG, REPO, Stage
from app.sandbox.graphql import Project, add_project, project_items
from tests.e2e.helpers import open_incident

BOARD_CONFIG = """\
project:
  url: https://github.com/orgs/acme/projects/7
  status_field: Status
  severity_field: Severity
"""
STATUS = ["Investigating", "Mitigated", "Resolved", "Done"]


def board_setup(world: Stage, *, status: list[str] | None = STATUS) -> Project:
    fields: dict[str, list[str] | None] = {"Severity": ["sev1", "sev2", "sev3", "sev4"]}
    if status is not None:
        fields["Status"] = status
    board = add_project(world.standin, ORG, 7, "Incidents", fields=fields)
    world.standin.put_file(REPO, ".github/baton.yml", BOARD_CONFIG)
    return board


async def test_a_declared_incident_joins_the_board_and_its_status_follows(world: Stage) -> None:
    board_setup(world)
    number = await open_incident(world)
    (item,) = project_items(world.standin, ORG, 7)
    assert item["number"] == number
    assert item["fields"] == {"Status": "Investigating", "Severity": "sev3"}

    await world.standin.comment(REPO, number, "/mitigated rolled back\n/sev 2", "alice")
    await world.settle()
    (item,) = project_items(world.standin, ORG, 7)
    assert item["fields"] == {"Status": "Mitigated", "Severity": "sev2"}


async def test_a_board_without_the_status_field_is_reported_once(world: Stage) -> None:
    board_setup(world, status=None)
    number = await open_incident(world)
    await world.standin.comment(REPO, number, "/ic me", "alice")
    await world.settle()

    problems = [c for c in world.standin.comments(REPO, number) if "project board" in c["body"]]
    assert len(problems) == 1
    assert "no field called Status" in problems[0]["body"]
    assert "**Incident Commander:** @alice" in world.standin.issue(REPO, number)["body"]


async def test_an_issue_github_did_not_add_is_said_and_added_at_the_next_change(
    world: Stage, caplog: pytest.LogCaptureFixture
) -> None:
    board = board_setup(world)
    board.items_not_added = 1
    number = await open_incident(world)
    assert "### Investigating" in world.standin.issue(REPO, number)["body"]
    assert project_items(world.standin, ORG, 7) == []
    problems = [c for c in world.standin.comments(REPO, number) if "project board" in c["body"]]
    assert len(problems) == 1 and "did not add" in problems[0]["body"]
    assert "did not add" in caplog.text

    await world.standin.comment(REPO, number, "/mitigated rolled back", "alice")
    await world.settle()
    (item,) = project_items(world.standin, ORG, 7)
    assert item["number"] == number and item["fields"]["Status"] == "Mitigated"
