"""The App's installations and an installation's repositories, as the sweep lists them."""

from __future__ import annotations

from typing import Any

import pytest
from githubkit import AppInstallationAuthStrategy, GitHub, TokenAuthStrategy
from githubkit.exception import RequestFailed

from app.sandbox import StandIn
from tests.sandbox.helpers import APP_ID, OWNER, REPO, client_for


async def test_the_app_lists_its_installations(
    standin: StandIn, app_client: GitHub[Any], installation_id: int, rest_schema: Any
) -> None:
    standin.add_org("globex")
    other = standin.install("globex")

    response = await app_client.rest.apps.async_list_installations(per_page=100)

    assert [i.id for i in response.parsed_data] == [installation_id, other]
    listed: list[dict[str, Any]] = response.json()  # type: ignore[assignment]
    assert [i["account"]["login"] for i in listed] == [OWNER, "globex"]
    assert all(rest_schema("installation", item) == [] for item in listed)


async def test_installations_are_paginated(standin: StandIn, app_client: GitHub[Any]) -> None:
    ids = [standin.install(f"org{n}") for n in range(3)]

    first = await app_client.rest.apps.async_list_installations(per_page=2)
    second = await app_client.rest.apps.async_list_installations(per_page=2, page=2)

    assert [i.id for i in [*first.parsed_data, *second.parsed_data]] == ids
    assert 'rel="next"' in first.headers["link"]


async def test_an_installation_lists_the_repositories_it_covers(
    standin: StandIn, gh: GitHub[Any], rest_schema: Any
) -> None:
    standin.add_repo(f"{OWNER}/api")
    standin.add_org("globex")
    standin.add_repo("globex/secret")

    response = await gh.rest.apps.async_list_repos_accessible_to_installation(per_page=100)

    data = response.parsed_data
    assert [r.full_name for r in data.repositories] == [REPO, f"{OWNER}/api"]
    assert data.total_count == 2 and data.repository_selection == "all"
    assert all(rest_schema("repository", r) == [] for r in response.json()["repositories"])


async def test_a_selected_installation_lists_only_its_repositories(
    standin: StandIn, private_pem: str
) -> None:
    standin.add_repo(f"{OWNER}/api")
    chosen = standin.install(OWNER, repos=["api"])
    strategy = AppInstallationAuthStrategy(APP_ID, private_pem, chosen)
    async with client_for(standin, strategy) as client:
        response = await client.rest.apps.async_list_repos_accessible_to_installation()

    assert [r.full_name for r in response.parsed_data.repositories] == [f"{OWNER}/api"]
    assert response.parsed_data.repository_selection == "selected"


async def test_only_the_app_lists_installations(standin: StandIn) -> None:
    token = standin.actions_token(REPO)
    async with client_for(standin, TokenAuthStrategy(token)) as with_token:
        with pytest.raises(RequestFailed) as refused:
            await with_token.rest.apps.async_list_installations()
    assert refused.value.response.status_code == 401
