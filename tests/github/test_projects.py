"""`sync_board` through a real `GitHubSession` against the stand-in's GraphQL endpoint."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config import Config, config_from_layers
from app.demo.harness import APP_ID, ORG, REPO, app_key_pem
from app.github.client import (
    BOARD_MEMORY,
    GitHubApp,
    GitHubSession,
    WritePacer,
    token_session,
)
from app.github.projects import sync_board
from app.incident.state import IncidentState, Status
from app.sandbox import StandIn
from app.sandbox.graphql import add_project, boards_of, project_items

BOARD = f"https://github.com/orgs/{ORG}/projects/7"
STATUSES = ["Investigating", "Mitigated", "Resolved", "Done"]
SEVERITIES = ["SEV1", "SEV2", "SEV3", "SEV4"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def installation(standin: StandIn) -> int:
    return next(iter(standin.world.installations))


def new_app(standin: StandIn, timer: Callable[[], float] = time.monotonic) -> GitHubApp:
    return GitHubApp(
        app_id=APP_ID,
        private_key=app_key_pem()[0],
        api_url=standin.base_url,
        transport=standin.transport(),
        pacer_factory=lambda: WritePacer(interval=0),
        timer=timer,
    )


@pytest.fixture
async def session(standin: StandIn, installation: int) -> AsyncIterator[GitHubSession]:
    async with new_app(standin).installation(installation) as opened:
        yield opened


@pytest.fixture
async def issue(standin: StandIn) -> dict[str, Any]:
    return await standin.open_issue(REPO, "Checkout is down", None, "rita")


def config_for(url: str = BOARD, **project: Any) -> Config:
    result = config_from_layers([{"project": {"url": url, **project}}], ["test"])
    assert not result.problems
    return result.config


def graphql_requests(standin: StandIn) -> int:
    return standin.count(route="/graphql")


def items(standin: StandIn, owner: str = ORG, number: int = 7) -> list[dict[str, Any]]:
    return project_items(standin, owner, number)


async def test_declaring_puts_the_issue_on_the_board_in_three_requests(
    standin: StandIn, session: GitHubSession, issue: dict[str, Any]
) -> None:
    add_project(standin, ORG, 7, fields={"Status": STATUSES})
    problem = await sync_board(
        session, config_for(), issue_node_id=issue["node_id"], state=IncidentState()
    )
    assert problem is None
    assert items(standin) == [
        {"repo": REPO, "number": issue["number"], "fields": {"Status": "Investigating"}}
    ]
    assert graphql_requests(standin) == 3  # the board's shape, the item, its status


async def test_an_unchanged_incident_costs_no_request(
    standin: StandIn, session: GitHubSession, issue: dict[str, Any]
) -> None:
    add_project(standin, ORG, 7, fields={"Status": STATUSES})
    for _ in range(3):
        await sync_board(
            session, config_for(), issue_node_id=issue["node_id"], state=IncidentState()
        )
    assert graphql_requests(standin) == 3
    assert len(items(standin)) == 1


async def test_adding_again_from_a_fresh_process_keeps_one_item(
    standin: StandIn, installation: int, issue: dict[str, Any]
) -> None:
    add_project(standin, ORG, 7, fields={"Status": STATUSES})
    for status in (Status.INVESTIGATING, Status.MITIGATED):
        async with new_app(standin).installation(installation) as fresh:
            state = IncidentState(status=status)
            assert (
                await sync_board(fresh, config_for(), issue_node_id=issue["node_id"], state=state)
                is None
            )
    assert items(standin) == [
        {"repo": REPO, "number": issue["number"], "fields": {"Status": "Mitigated"}}
    ]


async def test_the_status_follows_and_the_board_is_read_once(
    standin: StandIn, session: GitHubSession, issue: dict[str, Any]
) -> None:
    add_project(standin, ORG, 7, fields={"Status": STATUSES})
    seen = []
    for status in Status:
        before = graphql_requests(standin)
        state = IncidentState(status=status)
        await sync_board(session, config_for(), issue_node_id=issue["node_id"], state=state)
        seen.append((items(standin)[0]["fields"]["Status"], graphql_requests(standin) - before))
    # "identified" maps to Investigating too, so it costs nothing.
    assert seen == [
        ("Investigating", 3),
        ("Investigating", 0),
        ("Mitigated", 1),
        ("Resolved", 1),
        ("Done", 1),
    ]
    board_queries = [r for r in standin.requests if "projectV2(" in str(r.json)]
    assert len(board_queries) == 1


async def test_severity_is_kept_when_configured_in_the_same_request(
    standin: StandIn, session: GitHubSession, issue: dict[str, Any]
) -> None:
    add_project(standin, ORG, 7, fields={"Status": STATUSES, "Severity": SEVERITIES})
    config = config_for(severity_field="Severity")
    await sync_board(
        session, config, issue_node_id=issue["node_id"], state=IncidentState(severity="sev2")
    )
    before = graphql_requests(standin)
    state = IncidentState(status=Status.MITIGATED, severity="sev1")
    assert await sync_board(session, config, issue_node_id=issue["node_id"], state=state) is None
    assert items(standin)[0]["fields"] == {"Status": "Mitigated", "Severity": "SEV1"}
    assert graphql_requests(standin) - before == 1  # both fields in one aliased mutation


async def test_severity_is_left_alone_when_not_configured(
    standin: StandIn, session: GitHubSession, issue: dict[str, Any]
) -> None:
    add_project(standin, ORG, 7, fields={"Status": STATUSES, "Severity": SEVERITIES})
    state = IncidentState(severity="sev1")
    await sync_board(session, config_for(), issue_node_id=issue["node_id"], state=state)
    assert items(standin)[0]["fields"] == {"Status": "Investigating"}


async def test_a_missing_board_is_a_sentence(
    standin: StandIn, session: GitHubSession, issue: dict[str, Any]
) -> None:
    problem = await sync_board(
        session, config_for(), issue_node_id=issue["node_id"], state=IncidentState()
    )
    assert problem == (
        f"the project board {BOARD} was not found, or Baton cannot see it: "
        "give the App organization projects (write) access"
    )


async def test_a_missing_field_is_a_sentence_and_the_issue_is_still_added(
    standin: StandIn, session: GitHubSession, issue: dict[str, Any]
) -> None:
    add_project(standin, ORG, 7, fields={"Stage": STATUSES})
    problem = await sync_board(
        session, config_for(), issue_node_id=issue["node_id"], state=IncidentState()
    )
    assert problem == f"the project board {BOARD} has no field called Status"
    assert items(standin) == [{"repo": REPO, "number": issue["number"], "fields": {}}]


async def test_a_text_field_is_not_a_status(
    standin: StandIn, session: GitHubSession, issue: dict[str, Any]
) -> None:
    add_project(standin, ORG, 7, fields={"Status": None})
    problem = await sync_board(
        session, config_for(), issue_node_id=issue["node_id"], state=IncidentState()
    )
    assert problem == f"the field Status on the project board {BOARD} is not a single-select field"


async def test_a_missing_option_is_a_sentence_and_other_fields_are_kept(
    standin: StandIn, session: GitHubSession, issue: dict[str, Any]
) -> None:
    add_project(standin, ORG, 7, fields={"Status": ["Investigating"], "Severity": SEVERITIES})
    state = IncidentState(status=Status.MITIGATED, severity="sev3")
    problem = await sync_board(
        session,
        config_for(severity_field="Severity"),
        issue_node_id=issue["node_id"],
        state=state,
    )
    assert problem == f"the project board {BOARD} has no option called Mitigated in Status"
    assert items(standin)[0]["fields"] == {"Severity": "SEV3"}


async def test_an_installation_without_project_access_gets_the_permission_sentence(
    standin: StandIn, issue: dict[str, Any]
) -> None:
    add_project(standin, ORG, 7, fields={"Status": STATUSES})
    for installation in list(standin.world.installations.values()):
        installation.permissions.pop("organization_projects")
    async with new_app(standin).installation(installation.id) as narrow:
        problem = await sync_board(
            narrow, config_for(), issue_node_id=issue["node_id"], state=IncidentState()
        )
    assert problem is not None
    assert problem.startswith(f"Baton may not use the project board {BOARD}: give the App")
    assert items(standin) == []


async def test_action_mode_token_gets_the_permission_sentence(
    standin: StandIn, issue: dict[str, Any]
) -> None:
    add_project(standin, ORG, 7, fields={"Status": STATUSES})
    token = standin.actions_token(REPO)
    async with token_session(token, standin.base_url, transport=standin.transport()) as actions:
        problem = await sync_board(
            actions, config_for(), issue_node_id=issue["node_id"], state=IncidentState()
        )
    assert problem is not None and "GITHUB_TOKEN cannot reach organization projects" in problem


async def test_the_board_is_read_again_after_an_hour(
    standin: StandIn, installation: int, issue: dict[str, Any]
) -> None:
    add_project(standin, ORG, 7, fields={"Status": STATUSES})
    clock = Clock()
    node = issue["node_id"]
    async with new_app(standin, timer=clock).installation(installation) as session:
        await sync_board(session, config_for(), issue_node_id=node, state=IncidentState())
        clock.now += BOARD_MEMORY + 1
        await sync_board(session, config_for(), issue_node_id=node, state=IncidentState())
    board_queries = [r for r in standin.requests if "projectV2(" in str(r.json)]
    assert len(board_queries) == 2
    assert items(standin)[0]["fields"] == {"Status": "Investigating"}


async def test_an_item_taken_off_the_board_is_put_back_on_the_next_change(
    standin: StandIn, session: GitHubSession, issue: dict[str, Any]
) -> None:
    project = add_project(standin, ORG, 7, fields={"Status": STATUSES})
    node = issue["node_id"]
    await sync_board(session, config_for(), issue_node_id=node, state=IncidentState())
    project.items.clear()
    state = IncidentState(status=Status.RESOLVED)
    assert await sync_board(session, config_for(), issue_node_id=node, state=state) is None
    assert items(standin)[0]["fields"] == {"Status": "Resolved"}


async def test_a_board_that_went_away_is_reported_and_forgotten(
    standin: StandIn, session: GitHubSession, issue: dict[str, Any]
) -> None:
    add_project(standin, ORG, 7, fields={"Status": STATUSES})
    node = issue["node_id"]
    await sync_board(session, config_for(), issue_node_id=node, state=IncidentState())
    boards_of(standin.api).projects.clear()
    state = IncidentState(status=Status.MITIGATED)
    problem = await sync_board(session, config_for(), issue_node_id=node, state=state)
    assert problem is not None and "was not found" in problem
    add_project(standin, ORG, 7, fields={"Status": STATUSES})
    assert await sync_board(session, config_for(), issue_node_id=node, state=state) is None
    assert items(standin)[0]["fields"] == {"Status": "Mitigated"}


async def test_a_user_board_is_reached_through_the_user(
    standin: StandIn, issue: dict[str, Any]
) -> None:
    add_project(standin, "alice", 2, fields={"Status": STATUSES})
    user_installation = standin.install("alice")
    repo = "alice/notes"
    standin.add_repo(repo)
    own = await standin.open_issue(repo, "Site is slow", None, "alice")
    config = config_for("https://github.com/users/alice/projects/2")
    async with new_app(standin).installation(user_installation) as session:
        assert (
            await sync_board(session, config, issue_node_id=own["node_id"], state=IncidentState())
            is None
        )
    assert items(standin, "alice", 2)[0]["repo"] == repo


async def test_no_board_configured_costs_nothing(
    standin: StandIn, session: GitHubSession, issue: dict[str, Any]
) -> None:
    config = replace(config_for(), project=None)
    assert await sync_board(session, config, issue_node_id="x", state=IncidentState()) is None
    assert graphql_requests(standin) == 0


BOARD_NUMBERS = itertools.count(100)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(option=st.text(min_size=1, max_size=40))
async def test_any_status_option_name_is_found(
    standin: StandIn, session: GitHubSession, issue: dict[str, Any], option: str
) -> None:
    number = next(BOARD_NUMBERS)  # a board of its own for each example
    add_project(standin, ORG, number, fields={"Status": ["Investigating", option]})
    base = config_for(f"https://github.com/orgs/{ORG}/projects/{number}")
    assert base.project is not None
    mapped = {**base.project.status_map, "mitigated": option}
    config = replace(base, project=replace(base.project, status_map=mapped))
    state = IncidentState(status=Status.MITIGATED)
    problem = await sync_board(session, config, issue_node_id=issue["node_id"], state=state)
    assert problem is None
    assert items(standin, number=number)[0]["fields"] == {"Status": option}


async def test_a_missing_user_board_explains_apps_and_user_boards(
    standin: StandIn, session: GitHubSession, issue: dict[str, Any]
) -> None:
    config = config_for("https://github.com/users/rita/projects/3")
    problem = await sync_board(
        session, config, issue_node_id=issue["node_id"], state=IncidentState()
    )
    assert problem is not None and "cannot reach a board owned by a user" in problem
