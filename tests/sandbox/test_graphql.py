"""The stand-in's GraphQL subset (Projects v2), read through githubkit's `async_graphql`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from githubkit import AppInstallationAuthStrategy, GitHub, TokenAuthStrategy
from githubkit.exception import GraphQLFailed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.sandbox import StandIn
from app.sandbox.graphql import add_project, project_items
from tests.sandbox.helpers import APP_ID, OWNER, PROJECT_QUERY, REPO, client_for

ADD_ITEM = """
mutation($project: ID!, $content: ID!) {
  addProjectV2ItemById(input: {projectId: $project, contentId: $content}) { item { id } }
}
"""
SET_VALUE = """
mutation($project: ID!, $item: ID!, $field: ID!, $option: String!) {
  updateProjectV2ItemFieldValue(input: {
    projectId: $project, itemId: $item, fieldId: $field,
    value: {singleSelectOptionId: $option}
  }) { projectV2Item { id } }
}
"""
STATUSES = ["Investigating", "Mitigated", "Resolved", "Done"]


@pytest.fixture
def board(standin: StandIn) -> Any:
    return add_project(standin, OWNER, 7, "Incidents", {"Status": STATUSES, "Notes": None})


async def project_of(gh: GitHub[Any], number: int = 7, login: str = OWNER) -> Any:
    data = await gh.async_graphql(PROJECT_QUERY, {"login": login, "number": number})
    return data["organization"]["projectV2"]


def problems_of(failure: GraphQLFailed) -> list[tuple[str | None, list[int | str] | None]]:
    return [(e.type, e.path) for e in failure.response.errors or []]


async def test_project_and_its_fields_are_read(gh: GitHub[Any], board: Any) -> None:
    project = await project_of(gh)
    assert project["id"] == board.id and project["title"] == "Incidents"
    by_name = {node["name"]: node for node in project["fields"]["nodes"]}
    assert set(by_name) == {"Title", "Status", "Notes"}
    assert [o["name"] for o in by_name["Status"]["options"]] == STATUSES
    assert "options" not in by_name["Notes"]


async def test_a_missing_project_is_a_typed_not_found(gh: GitHub[Any], board: Any) -> None:
    with pytest.raises(GraphQLFailed) as failure:
        await project_of(gh, number=8)
    assert problems_of(failure.value) == [("NOT_FOUND", ["organization", "projectV2"])]
    assert failure.value.response.data == {"organization": {"projectV2": None}}


async def test_an_unknown_organization_is_a_typed_not_found(gh: GitHub[Any], board: Any) -> None:
    with pytest.raises(GraphQLFailed) as failure:
        await project_of(gh, login="nobody-here")
    assert problems_of(failure.value) == [("NOT_FOUND", ["organization"])]
    assert "nobody-here" in (failure.value.response.errors or [])[0].message


async def test_an_actions_token_is_refused_org_projects(standin: StandIn, board: Any) -> None:
    async with client_for(standin, TokenAuthStrategy(standin.actions_token(REPO))) as actions:
        with pytest.raises(GraphQLFailed) as failure:
            await project_of(actions)
    assert problems_of(failure.value) == [("FORBIDDEN", ["organization", "projectV2"])]
    message = (failure.value.response.errors or [])[0].message
    assert message == "Resource not accessible by integration"


async def test_an_installation_without_project_access_is_refused(
    standin: StandIn, private_pem: str, board: Any
) -> None:
    narrow = standin.install(OWNER, permissions={"issues": "write", "metadata": "read"})
    strategy = AppInstallationAuthStrategy(APP_ID, private_pem, narrow)
    async with client_for(standin, strategy) as client:
        with pytest.raises(GraphQLFailed) as failure:
            await project_of(client)
    assert problems_of(failure.value) == [("FORBIDDEN", ["organization", "projectV2"])]


async def test_no_token_is_bad_credentials(standin: StandIn, board: Any) -> None:
    async with httpx.AsyncClient(transport=standin.transport(), base_url=standin.base_url) as raw:
        reply = await raw.post("/graphql", json={"query": 'query { user(login: "a") { login } }'})
    assert reply.status_code == 401
    assert reply.json()["message"] == "Bad credentials"


async def test_adding_an_issue_is_idempotent_and_values_are_set(
    standin: StandIn, gh: GitHub[Any], board: Any
) -> None:
    issue = await standin.open_issue(REPO, "Checkout is down", None, "alice")
    ids = {"project": board.id, "content": issue["node_id"]}
    first = await gh.async_graphql(ADD_ITEM, ids)
    again = await gh.async_graphql(ADD_ITEM, ids)
    item_id = first["addProjectV2ItemById"]["item"]["id"]
    assert again["addProjectV2ItemById"]["item"]["id"] == item_id
    status = board.fields[1]
    variables = {**ids, "item": item_id, "field": status.id, "option": status.options[1].id}
    variables.pop("content")
    done = await gh.async_graphql(SET_VALUE, variables)
    assert done["updateProjectV2ItemFieldValue"]["projectV2Item"]["id"] == item_id
    assert project_items(standin, OWNER, 7) == [
        {"repo": REPO, "number": issue["number"], "fields": {"Status": "Mitigated"}}
    ]


async def test_an_option_of_another_field_is_refused(
    standin: StandIn, gh: GitHub[Any], board: Any
) -> None:
    issue = await standin.open_issue(REPO, "Checkout is down", None, "alice")
    added = await gh.async_graphql(ADD_ITEM, {"project": board.id, "content": issue["node_id"]})
    item_id = added["addProjectV2ItemById"]["item"]["id"]
    variables = {"project": board.id, "item": item_id, "field": board.fields[1].id}
    with pytest.raises(GraphQLFailed) as failure:
        await gh.async_graphql(SET_VALUE, {**variables, "option": "not-an-option"})
    assert failure.value.response.data == {"updateProjectV2ItemFieldValue": None}
    assert project_items(standin, OWNER, 7)[0]["fields"] == {}


async def test_unknown_content_is_not_found(gh: GitHub[Any], board: Any) -> None:
    with pytest.raises(GraphQLFailed) as failure:
        await gh.async_graphql(ADD_ITEM, {"project": board.id, "content": "I_nope"})
    assert problems_of(failure.value) == [("NOT_FOUND", ["addProjectV2ItemById"])]


async def test_an_invalid_query_names_the_problem(gh: GitHub[Any], board: Any) -> None:
    with pytest.raises(GraphQLFailed) as failure:
        await gh.async_graphql('query { organization(login: "acme") { nonsense } }')
    errors = failure.value.response.errors or []
    assert errors and "nonsense" in errors[0].message
    assert failure.value.response.data is None


async def test_user_boards_are_reached_through_user(standin: StandIn, private_pem: str) -> None:
    standin.add_user("alice")
    project = add_project(standin, "alice", 2, "Mine")
    strategy = AppInstallationAuthStrategy(APP_ID, private_pem, standin.install("alice"))
    query = 'query { user(login: "alice") { projectV2(number: 2) { id title } } }'
    async with client_for(standin, strategy) as client:
        data = await client.async_graphql(query)
    assert data == {"user": {"projectV2": {"id": project.id, "title": "Mine"}}}


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=6, unique=True))
async def test_any_option_names_come_back_as_given(
    standin: StandIn, gh: GitHub[Any], names: list[str]
) -> None:
    add_project(standin, OWNER, 9, "Free text", {"Status": names})
    project = await project_of(gh, number=9)
    status = next(n for n in project["fields"]["nodes"] if n["name"] == "Status")
    assert [o["name"] for o in status["options"]] == names
