"""GitHub's lists, page by page, each page asked for with the ETag of its last answer.

A run of the sweep lists the App's installations, their repositories and each repository's
open incidents. Kept in a `ListingCache`, a page GitHub answers with 304 Not Modified costs no
rate limit, and its items are read again from the cache (docs/sweep.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

from cachetools import LRUCache
from githubkit.utils import UNSET

from app.github.client import GitHubApp, GitHubSession, query_time
from app.github.issues import issue_view, split_repo
from app.incident.effects import IssueView

PER_PAGE = 100
PAGES_KEPT = 10_000


@dataclass
class Page:
    items: list[Any]
    has_next: bool


@dataclass
class ListingCache:
    """The previous run's list pages (installations, repositories, open incidents) with their
    ETags: a page GitHub answers with 304 Not Modified costs no rate limit. Pages of lists no
    longer asked for (a repository gone) are the least recently used, forgotten first."""

    pages: LRUCache[tuple[object, ...], tuple[str, Any]] = field(
        default_factory=lambda: LRUCache(PAGES_KEPT)
    )


_Parsed = TypeVar("_Parsed")


async def _listed(
    listings: ListingCache | None,
    key: tuple[object, ...],
    request: Callable[[dict[str, str] | None], Awaitable[Any]],
    parse: Callable[[Any], _Parsed],
) -> _Parsed:
    """One list page, asked for with the ETag of the last answer when there is one."""
    cached = listings.pages.get(key) if listings is not None else None
    response = await request({"If-None-Match": cached[0]} if cached is not None else None)
    if response.status_code == 304 and cached is not None:
        parsed: _Parsed = cached[1]
        return parsed
    parsed = parse(response)
    etag = response.headers.get("etag", "")
    if listings is not None and etag:
        listings.pages[key] = (etag, parsed)
    return parsed


async def every_page(
    listings: ListingCache | None,
    key: tuple[object, ...],
    request: Callable[[int, dict[str, str] | None], Awaitable[Any]],
    parse: Callable[[Any], Page],
) -> list[Any]:
    """Every page of one list, each asked for with its last ETag (`request(page, headers)`).

    githubkit's paginator (`GitHubSession.every`) cannot stand in here: it sends the first
    page's headers, and so its `If-None-Match`, with every page, and a 304 has no body for it
    to read; so this one list is walked by page number."""
    found: list[Any] = []
    number = 1
    while True:
        page = await _listed(
            listings,
            (*key, number),
            lambda headers, n=number: request(n, headers),  # type: ignore[misc]
            parse,
        )
        found += page.items
        if not page.has_next:
            return found
        number += 1


async def incident_issues(
    session: GitHubSession,
    repo: str,
    label: str,
    *,
    state: Literal["open", "all"] = "open",
    updated_since: datetime | None = None,
    listings: ListingCache | None = None,
) -> list[IssueView]:
    """The issues with the incident label (`GET /repos/{o}/{r}/issues?labels=…`), `state`
    open or all, updated since `updated_since` when given."""
    owner, name = split_repo(repo)
    since = UNSET if updated_since is None else query_time(updated_since)
    found: list[IssueView] = await every_page(
        listings,
        ("issues", repo, state, updated_since),
        lambda number, headers: session.read(
            lambda: session.rest.issues.async_list_for_repo(
                owner,
                name,
                labels=label,
                state=state,
                since=since,
                per_page=PER_PAGE,
                page=number,
                headers=headers,
            )
        ),
        lambda response: _page_of(repo, response),
    )
    return found


def _page_of(repo: str, response: Any) -> Page:
    issues = [
        issue_view(repo, issue)
        for issue in response.parsed_data
        if getattr(issue, "pull_request", None) in (None, UNSET)  # pull requests are listed too
    ]
    return Page(issues, _has_next(response))


def _has_next(response: Any) -> bool:
    return 'rel="next"' in response.headers.get("link", "")


async def installations(github_app: GitHubApp, listings: ListingCache | None) -> list[int]:
    """The App's installations (`GET /app/installations`, with the App's JWT)."""
    async with github_app.as_app() as app:
        found: list[int] = await every_page(
            listings,
            ("installations",),
            lambda number, headers: app.read(
                lambda: app.rest.apps.async_list_installations(
                    per_page=PER_PAGE, page=number, headers=headers
                )
            ),
            lambda response: Page(
                [installation.id for installation in response.parsed_data], _has_next(response)
            ),
        )
    return found


async def installation_repositories(
    session: GitHubSession, installation_id: int, listings: ListingCache | None
) -> list[str]:
    """The repositories one installation covers (`GET /installation/repositories`)."""
    found: list[str] = await every_page(
        listings,
        ("repositories", installation_id),
        lambda number, headers: session.read(
            lambda: session.rest.apps.async_list_repos_accessible_to_installation(
                per_page=PER_PAGE, page=number, headers=headers
            )
        ),
        lambda response: Page(
            [r.full_name for r in response.parsed_data.repositories], _has_next(response)
        ),
    )
    return found
