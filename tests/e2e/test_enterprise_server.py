"""An incident end to end on GitHub Enterprise Server 3.17: REST under `/api/v3`, GraphQL at
`/api/graphql`, only API version 2022-11-28, and answers that carry only what its description
guarantees (no label archive fields, no `role_name` on a collaborator's nested user)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.demo.harness import ORG, REPO, Stage, stage
from app.sandbox.editions import ENTERPRISE_SERVER
from app.sandbox.graphql import add_project, project_items
from tests.e2e.helpers import assert_taken, assignees_of, labels_of, open_incident, say, state_of

BOARD_CONFIG = """\
project:
  url: http://ghes.test/orgs/acme/projects/7
  status_field: Status
"""


@pytest.fixture
async def enterprise(tmp_path: Path) -> AsyncIterator[Stage]:
    """Baton and the stand-in as an Enterprise Server, over real loopback HTTP."""
    async with stage(
        over_http=True,
        database_url=f"sqlite:///{tmp_path / 'baton.db'}",
        edition=ENTERPRISE_SERVER,
    ) as running:
        yield running


async def test_declaration_handoff_and_resolution_with_retrospective(enterprise: Stage) -> None:
    world = enterprise
    assert world.settings.api_url.endswith("/api/v3")
    add_project(world.standin, ORG, 7, "Incidents", fields={"Status": ["Investigating", "Done"]})
    world.standin.put_file(REPO, ".github/baton.yml", BOARD_CONFIG)

    number = await open_incident(world)
    assert state_of(world, number).status == "investigating"
    assert labels_of(world, number) == {"incident", "sev3", "status:investigating"}
    (item,) = project_items(world.standin, ORG, 7)
    assert (item["number"], item["fields"]) == (number, {"Status": "Investigating"})

    assert_taken(await say(world, number, "/ic me", "alice"), "@alice is now the Incident")
    assert_taken(await say(world, number, "/handoff @bob rolled back", "alice"), "@bob, @alice")
    assert_taken(await say(world, number, "/accept", "bob"), "@bob is now the Incident Commander")
    assert state_of(world, number).ic == "bob" and assignees_of(world, number) == ["bob"]

    await say(world, number, "/sev 2", "bob")
    assert_taken(await say(world, number, "/resolved config reverted", "bob"), "resolved as of")
    retro = state_of(world, number).retro
    assert retro is not None
    assert "retrospective" in labels_of(world, retro)
    assert_taken(await say(world, number, "/confirm", "rita"), "closes as soon as its retro")

    await world.standin.close_issue(REPO, retro, "bob")
    await world.settle()
    assert state_of(world, number).status == "closed"
    assert world.standin.issue(REPO, number)["state"] == "closed"
    rest = [r for r in world.standin.requests if r.route != "/graphql"]
    assert {r.api_version for r in rest} == {"2022-11-28"}, "including the token requests"
    assert not [r for r in world.standin.requests if r.status == 400]
    assert world.standin.count(route="/graphql") > 0
