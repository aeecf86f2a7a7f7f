"""`baton status-page` (docs/status-page.md): the public status page of one repository, built
from its incident issues and written to a folder.

The incidents with the public label are listed, each card read (its MAC checked with the
issue's own key: a card that cannot be trusted is never published) and, for those the page
shows, the comments read for their `/update` texts. What is shown is decided by the pure
`app.incident.status_page`; the files are made by `app.incident.status_site`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

from app.entry.credentials import repository_session, state_key
from app.entry.settings import Settings
from app.github.config_source import ConfigCache
from app.github.issues import list_comments, split_repo
from app.github.listing import incident_issues
from app.incident.card import read_card
from app.incident.state import issue_state_key
from app.incident.status_page import (
    StatusPage,
    is_public,
    is_shown,
    public_incident,
    status_page,
)
from app.incident.status_site import INCIDENTS, INDEX, site_files

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Built:
    page: StatusPage
    index: Path  # the written index.html

    def summary(self) -> str:
        current, recent = len(self.page.current), len(self.page.recent)
        return (
            f"Status page of {self.page.repo}: {current} current and {recent} past "
            f"incident{'s' if recent != 1 else ''}, written to {self.index}"
        )


def pages_url(repo: str) -> str:
    """Where GitHub Pages publishes a repository's site: `https://OWNER.github.io/NAME/`."""
    owner, name = split_repo(repo)
    return f"https://{owner.lower()}.github.io/{name}/"


async def build_status_page(
    settings: Settings,
    *,
    repo: str,
    token: str | None,
    out: Path,
    now: datetime,
    url: str | None = None,
    title: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Built:
    """Build the page of `repo` into the folder `out`: with the App's credentials through its
    installation on the repository, else with `token`. `url`: where the site is published
    (GitHub Pages' address by default); `title`: the page's title (`OWNER/NAME status`)."""
    page = await public_status(settings, repo=repo, token=token, now=now, transport=transport)
    files = site_files(page, title=title or f"{repo} status", url=url or pages_url(repo))
    write_site(out, files)
    return Built(page, out / INDEX)


async def public_status(
    settings: Settings,
    *,
    repo: str,
    token: str | None,
    now: datetime,
    transport: httpx.AsyncBaseTransport | None = None,
) -> StatusPage:
    """What the page of `repo` shows as of `now`."""
    key = state_key(settings)
    async with repository_session(settings, repo, token, transport) as session:
        config = (await ConfigCache().get(session, repo)).config
        labels = config.labels
        listed = await incident_issues(session, repo, labels.public, state="all")
        incidents = []
        for issue in listed:
            if not is_public(issue, labels.incident, labels.public):
                continue
            reading = read_card(issue.body, issue_state_key(key, repo, issue.number))
            if reading.state is None:
                if reading.found:
                    log.info("%s#%d: not published (%s)", repo, issue.number, reading.problem)
                continue
            if is_shown(reading.state, now):
                comments = await list_comments(session, repo, issue.number)
                incidents.append(public_incident(issue, reading.state, comments))
    return status_page(repo, incidents, severities=config.severities, now=now)


def write_site(out: Path, files: dict[str, bytes]) -> None:
    """Write `files` under `out`; an incident page left from an earlier build that is not
    among them (the incident no longer public) is deleted."""
    (out / INCIDENTS).mkdir(parents=True, exist_ok=True)
    for stale in (out / INCIDENTS).glob("*.html"):
        if f"{INCIDENTS}/{stale.name}" not in files:
            stale.unlink()
    for name, content in files.items():
        (out / name).write_bytes(content)
