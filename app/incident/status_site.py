"""The public status page as files (docs/status-page.md): `index.html`, one page per incident
under `incidents/`, an Atom feed (`feed.atom`) and a JSON file for machines (`status.json`).

Pure: `site_files` returns each file's bytes; `app/entry/status_page.py` writes them. The pages
come from the HTML templates in `app/templates/status_page/` (every value escaped), the feed
from `feedgen`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from feedgen.feed import FeedGenerator

from app.incident.state import format_time
from app.incident.status_page import PublicIncident, StatusPage
from app.incident.text import when
from app.incident.words import render_html

INDEX = "index.html"
FEED = "feed.atom"
JSON = "status.json"
INCIDENTS = "incidents"  # the folder of the incident pages
FEED_ENTRIES = 50  # the newest entries the feed holds
_MILESTONES = (
    ("declared_at", "declared"),
    ("mitigated_at", "mitigated"),
    ("resolved_at", "resolved"),
)


def incident_path(number: int) -> str:
    return f"{INCIDENTS}/{number}.html"


def site_files(page: StatusPage, *, title: str, url: str) -> dict[str, bytes]:
    """Every file of the site by its path; `url` is where the site is published (its links
    and the feed's ids are made from it)."""
    base = url if url.endswith("/") else url + "/"
    files = {INDEX: _page("index.html.j2", page, title, root="", anchors=False).encode()}
    for incident in page.incidents:
        html = _page("incident.html.j2", page, title, root="../", anchors=True, incident=incident)
        files[incident_path(incident.number)] = html.encode()
    files[FEED] = atom_feed(page, title=title, url=base)
    files[JSON] = (json.dumps(page_json(page, url=base), indent=2) + "\n").encode()
    return files


def _page(template: str, page: StatusPage, title: str, *, root: str, **context: Any) -> str:
    return render_html(
        f"status_page/{template}",
        page=page,
        title=title,
        root=root,
        feed=FEED,
        json_file=JSON,
        incident_path=incident_path,
        **context,
    )


# --- the Atom feed -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedEntry:
    id: str  # also its link: the incident page, at the update or milestone
    at: datetime
    title: str
    text: str


def atom_feed(page: StatusPage, *, title: str, url: str) -> bytes:
    """The newest FEED_ENTRIES updates and milestones (declared, mitigated, resolved)."""
    feed = FeedGenerator()
    feed.id(url)
    feed.title(f"{title}: incident updates")
    feed.author({"name": title})
    feed.link(href=url, rel="alternate", type="text/html")
    feed.link(href=url + FEED, rel="self", type="application/atom+xml")
    feed.language("en")
    feed.updated(page.updated_at)
    newest = sorted(feed_entries(page, url), key=lambda entry: entry.at, reverse=True)
    for entry in newest[:FEED_ENTRIES]:
        item = feed.add_entry(order="append")
        item.id(entry.id)
        item.title(entry.title)
        item.link(href=entry.id, rel="alternate", type="text/html")
        item.published(entry.at)
        item.updated(entry.at)
        item.content(entry.text, type="text")
    atom: bytes = feed.atom_str(pretty=True)
    return atom


def feed_entries(page: StatusPage, url: str) -> Iterator[FeedEntry]:
    for incident in page.incidents:
        link = url + incident_path(incident.number)
        for field, word in _MILESTONES:
            moment: datetime | None = getattr(incident, field)
            if moment is not None:
                text = f"{incident.title}: {word} at {when(moment)} (severity {incident.severity})."
                yield FeedEntry(
                    f"{link}#{word}", moment, f"{word.capitalize()}: {incident.title}", text
                )
        for update in incident.updates:
            yield FeedEntry(
                f"{link}#update-{update.id}", update.at, f"Update: {incident.title}", update.text
            )


# --- the JSON file -----------------------------------------------------------------------------


def page_json(page: StatusPage, *, url: str) -> dict[str, Any]:
    return {
        "repo": page.repo,
        "generated_at": format_time(page.generated_at),
        "updated_at": format_time(page.updated_at),
        "incidents": [_incident_json(incident, url) for incident in page.incidents],
    }


def _incident_json(incident: PublicIncident, url: str) -> Mapping[str, Any]:
    return {
        "number": incident.number,
        "title": incident.title,
        "status": str(incident.status),
        "current": incident.current,
        "severity": incident.severity,
        "declared_at": _time(incident.declared_at),
        "mitigated_at": _time(incident.mitigated_at),
        "resolved_at": _time(incident.resolved_at),
        "url": url + incident_path(incident.number),
        "updates": [
            {"id": update.id, "at": format_time(update.at), "text": update.text}
            for update in incident.updates
        ],
    }


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment)


__all__ = [
    "FEED",
    "INDEX",
    "JSON",
    "FeedEntry",
    "atom_feed",
    "feed_entries",
    "incident_path",
    "page_json",
    "site_files",
]
