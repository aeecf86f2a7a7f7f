"""`baton status-page` end to end: incidents run through webhooks on the stand-in, the page
built by the command against it, then read as a visitor's browser reads it (headless Chromium:
the visible text, the headings, the contrast of every text) and as a feed reader reads the feed.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import feedparser
import pytest

from app.demo.harness import PEOPLE, REPO, Stage, stage
from app.entry.status_page import pages_url, public_status, write_site
from app.incident.status_page import PublicIncident, status_page
from app.incident.status_site import FEED, INDEX, JSON, incident_path, site_files
from tests.e2e.conftest import FakeClock
from tests.e2e.helpers import open_incident, say, state_of

ROOT = Path(__file__).resolve().parents[2]
URL = "https://status.example.com/"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (`apt-get install chromium`)"
)

# What the responders write that the public must never read.
NOTE = "Decided against failing over db-primary-3: replica lag was 40 s"
HANDOFF_NOTES = "The runbook password rotation is half done"
REFUSED_UPDATE = "Everything is hacked, sell your shares"
CHATTER = "Can someone check the payments dashboard?"
PRIVATE_TITLE = "Staging credentials leaked"
PRIVATE_UPDATE = "We are rotating the staging credentials"
NEVER_SHOWN = (NOTE, HANDOFF_NOTES, REFUSED_UPDATE, CHATTER, PRIVATE_TITLE, PRIVATE_UPDATE)

PAST_TITLE = "Checkout fails for card payments"
PAST_UPDATES = (
    "Card payments fail in the EU region. We are investigating.",
    "We rolled back the release; payments work again.\nWe are watching the error rate.",
)
CURRENT_TITLE = "Search is slow"
CURRENT_UPDATE = "Search takes up to 30 seconds. We are adding capacity."


@dataclass(frozen=True)
class Built:
    out: Path
    printed: str
    past: int
    current: int
    private: int


async def play_incidents(world: Stage, clock: FakeClock) -> tuple[int, int, int]:
    """A resolved public incident, an ongoing public one, and one that is not public."""
    past = await open_incident(world, f"[Incident]: {PAST_TITLE}")
    await say(world, past, "/ic me\n/sev 2", "alice")
    clock.advance(minutes=5)
    await say(world, past, f"/update {PAST_UPDATES[0]}", "alice")
    await say(world, past, CHATTER, "carol")
    await say(world, past, f"/update {REFUSED_UPDATE}", "mallory")
    clock.advance(minutes=5)
    await say(world, past, f"/note {NOTE}", "carol")
    await say(world, past, f"/handoff @bob\n{HANDOFF_NOTES}", "alice")
    await say(world, past, "/accept", "bob")
    clock.advance(minutes=10)
    await say(world, past, "/mitigated Rolled back.", "bob")
    await say(world, past, f"/update {PAST_UPDATES[1]}", "bob")
    clock.advance(minutes=20)
    await say(world, past, "/resolved Reverted the pool setting.", "bob")

    current = await open_incident(world, CURRENT_TITLE)
    await say(world, current, "/sev 1\n/ic me", "carol")
    clock.advance(minutes=3)
    await say(world, current, f"/update {CURRENT_UPDATE}", "carol")

    private = await open_incident(world, PRIVATE_TITLE)
    await say(world, private, f"/ic me\n/update {PRIVATE_UPDATE}", "alice")

    for number in (past, current):
        await world.standin.add_labels(REPO, number, ["public"], "alice")
    await world.settle()
    assert state_of(world, past).status == "resolved"
    return past, current, private


def cli_environment(world: Stage) -> dict[str, str]:
    """The App's credentials and the stand-in's address, nothing else of GitHub's or Baton's."""
    settings = world.settings
    assert settings.private_key and settings.webhook_secret
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "BATON_"))}
    return kept | {
        "PYTHONPATH": str(ROOT),
        "GITHUB_APP_ID": str(settings.app_id),
        "GITHUB_APP_PRIVATE_KEY": settings.private_key,
        "GITHUB_WEBHOOK_SECRET": settings.webhook_secret,
        "GITHUB_API_URL": settings.api_url,
    }


async def build_with_the_command(out: Path) -> Built:
    clock = FakeClock()
    async with stage(over_http=True, clock=clock) as world:
        past, current, private = await play_incidents(world, clock)
        # Another process, so the stand-in keeps serving in this event loop.
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "app", "status-page", "--repo", REPO),
            *("--out", str(out), "--url", URL),
            cwd=out.parent,  # no .env file there
            env=cli_environment(world),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        printed, errors = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, errors.decode()
    return Built(out, printed.decode(), past, current, private)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """One site for every test of this module: playing the incidents takes a few seconds."""
    return asyncio.run(build_with_the_command(tmp_path_factory.mktemp("site") / "status"))


def site_text(out: Path) -> Iterator[tuple[str, str]]:
    for path in sorted(out.rglob("*")):
        if path.is_file():
            yield str(path.relative_to(out)), path.read_text(encoding="utf-8")


# --- the files ---------------------------------------------------------------------------------


def test_the_command_writes_the_site_and_says_where(built: Built) -> None:
    files = {name for name, _ in site_text(built.out)}
    assert files == {
        INDEX,
        FEED,
        JSON,
        incident_path(built.past),
        incident_path(built.current),
    }
    assert built.printed == (
        f"Status page of {REPO}: 1 current and 1 past incident, written to {built.out / INDEX}\n"
    )


def test_nothing_meant_for_responders_is_in_any_file(built: Built) -> None:
    logins = re.compile(r"\b(" + "|".join(PEOPLE) + r")\b", re.IGNORECASE)
    for name, text in site_text(built.out):
        for secret in NEVER_SHOWN:
            assert secret not in text, (name, secret)
        assert not logins.findall(text), name
        assert f"/{built.private}." not in text, name
        assert "Rolled back." not in text and "pool setting" not in text, "resolution notes"


def test_the_json_file_lists_the_public_incidents_current_first(built: Built) -> None:
    data = json.loads((built.out / JSON).read_text())
    incidents = data["incidents"]
    assert [
        (i["number"], i["title"], i["status"], i["severity"], i["current"]) for i in incidents
    ] == [
        (built.current, CURRENT_TITLE, "investigating", "sev1", True),
        (built.past, PAST_TITLE, "resolved", "sev2", False),
    ]
    past = incidents[1]
    assert [update["text"] for update in past["updates"]] == list(reversed(PAST_UPDATES))
    assert past["declared_at"] < past["mitigated_at"] < past["resolved_at"]
    assert past["url"] == URL + incident_path(built.past)


def test_the_feed_is_valid_atom_with_the_updates(built: Built) -> None:
    feed = feedparser.parse((built.out / FEED).read_bytes())

    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.id == URL and feed.feed.title and feed.feed.updated_parsed
    texts = [entry.content[0].value for entry in feed.entries]
    assert texts[0] == CURRENT_UPDATE, "the newest entry first"
    for text in (*PAST_UPDATES, CURRENT_UPDATE):
        assert texts.count(text) == 1
    titles = [entry.title for entry in feed.entries]
    assert f"Resolved: {PAST_TITLE}" in titles and f"Mitigated: {PAST_TITLE}" in titles
    for entry in feed.entries:
        assert entry.id.startswith(URL) and entry.updated_parsed and entry.title


# --- what a visitor sees -----------------------------------------------------------------------

# Run in the page by Chromium: what a visitor's browser shows, measured. The contrast of each
# text is WCAG's, from the computed colours of the text and of the first opaque background
# behind it.
AUDIT = """
<script>
(() => {
  const rgba = (colour) => {
    const [r, g, b, a = 1] = colour.match(/[\\d.]+/g).map(Number);
    return { r, g, b, a };
  };
  const luminance = ({ r, g, b }) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const behind = (element) => {
    for (let e = element; e; e = e.parentElement) {
      const colour = rgba(getComputedStyle(e).backgroundColor);
      if (colour.a > 0) return colour;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const contrast = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node; (node = walker.nextNode()); ) {
    const element = node.parentElement;
    const box = element.getBoundingClientRect();
    if (!node.textContent.trim() || element.closest("script") || box.right <= 0) continue;
    const text = luminance(rgba(getComputedStyle(element).color));
    const [light, dark] = [text, luminance(behind(element))].sort((a, b) => b - a);
    contrast.push([node.textContent.trim().slice(0, 40), (light + 0.05) / (dark + 0.05)]);
  }
  const audit = {
    lang: document.documentElement.lang,
    title: document.title,
    text: document.body.innerText,
    headings: [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")]
      .map((h) => [Number(h.tagName[1]), h.textContent.trim()]),
    landmarks: [...document.querySelectorAll("header, nav, main, footer")]
      .map((e) => e.tagName.toLowerCase()),
    images: [...document.querySelectorAll("img, svg, [role=img]")]
      .map((e) => e.getAttribute("alt") || e.getAttribute("aria-label") || ""),
    contrast,
    overflows: document.documentElement.scrollWidth > window.innerWidth,
  };
  const out = document.createElement("pre");
  out.id = "audit";
  out.textContent = encodeURIComponent(JSON.stringify(audit));
  document.body.append(out);
})();
</script>
"""


def seen(page: Path, tmp_path: Path) -> dict[str, Any]:
    """The page as headless Chromium shows it on a phone-sized window, measured by AUDIT (run
    in a copy beside the page, so that its links and styles are the page's)."""
    assert CHROMIUM is not None
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html, "the page needs no JavaScript"
    copy = page.with_name(f"audited-{page.name}")
    copy.write_text(html.replace("</body>", AUDIT + "</body>"), encoding="utf-8")
    try:
        done = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",  # as root in a container
                "--disable-gpu",
                "--disable-dev-shm-usage",
                f"--user-data-dir={tmp_path / 'chromium'}",
                "--window-size=390,844",
                "--dump-dom",
                copy.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    finally:
        copy.unlink()
    found = re.search(r'<pre id="audit">([^<]*)</pre>', done.stdout)
    assert found, done.stdout[-2000:] + done.stderr[-2000:]
    audit: dict[str, Any] = json.loads(unquote(found[1]))
    return audit


def assert_accessible(audit: dict[str, Any]) -> None:
    assert audit["lang"] == "en"
    assert audit["title"]
    levels = [level for level, _ in audit["headings"]]
    assert levels[0] == 1 and levels.count(1) == 1, audit["headings"]
    assert all(b <= a + 1 for a, b in pairwise(levels)), "no level skipped"
    assert {"header", "main", "footer"} <= set(audit["landmarks"])
    assert all(audit["images"]), "every image has a text alternative"
    low = [(text, round(ratio, 2)) for text, ratio in audit["contrast"] if ratio < 4.5]
    assert audit["contrast"] and not low, f"below WCAG AA (4.5:1): {low}"
    assert not audit["overflows"], "the page fits a phone's width"


@needs_chromium
def test_a_visitor_sees_the_current_incident_first_then_the_past_one(
    built: Built, tmp_path: Path
) -> None:
    audit = seen(built.out / INDEX, tmp_path)

    assert_accessible(audit)
    text = audit["text"]
    assert [heading for _, heading in audit["headings"]] == [
        f"{REPO} status",
        "1 incident in progress",
        "Current incidents",
        CURRENT_TITLE,
        "Past incidents (last 90 days)",
        PAST_TITLE,
    ]
    assert "Investigating" in text and "Severity sev1" in text and CURRENT_UPDATE in text
    assert "Resolved" in text and "Severity sev2" in text
    assert PAST_UPDATES[1].splitlines()[0] in text, "the latest update of the past incident"
    for secret in NEVER_SHOWN:
        assert secret not in text


@needs_chromium
def test_a_visitor_reads_every_update_of_an_incident_newest_first(
    built: Built, tmp_path: Path
) -> None:
    audit = seen(built.out / incident_path(built.past), tmp_path)

    assert_accessible(audit)
    assert [heading for _, heading in audit["headings"]] == [PAST_TITLE, "Updates"]
    text = audit["text"]
    newest, oldest = (text.index(update) for update in reversed(PAST_UPDATES))
    assert newest < oldest
    assert PAST_UPDATES[1] in text, "the update's lines are kept"
    for label in ("Declared", "Mitigated", "Resolved"):
        assert re.search(rf"{label}\s+\d{{4}}-\d\d-\d\d \d\d:\d\d UTC", text), label
    for secret in NEVER_SHOWN:
        assert secret not in text


# --- the reading, in-process -------------------------------------------------------------------


async def test_a_card_that_cannot_be_trusted_is_never_published(
    timed_world: Stage, clock: FakeClock
) -> None:
    await play_incidents(timed_world, clock)
    stranger = timed_world.settings.model_copy(update={"state_key_secret": "another key"})
    transport = timed_world.standin.transport()

    page = await public_status(stranger, repo=REPO, token=None, now=clock.now, transport=transport)
    assert page.incidents == ()
    trusted = await public_status(
        timed_world.settings, repo=REPO, token=None, now=clock.now, transport=transport
    )
    assert [i.title for i in trusted.incidents] == [CURRENT_TITLE, PAST_TITLE]


async def test_an_incident_no_longer_public_leaves_the_page(
    timed_world: Stage, clock: FakeClock, tmp_path: Path
) -> None:
    past, current, _ = await play_incidents(timed_world, clock)
    transport = timed_world.standin.transport()

    async def rebuild() -> tuple[PublicIncident, ...]:
        page = await public_status(
            timed_world.settings, repo=REPO, token=None, now=clock.now, transport=transport
        )
        write_site(tmp_path, site_files(page, title="Acme status", url=URL))
        return page.incidents

    assert len(await rebuild()) == 2
    await timed_world.standin.remove_label(REPO, past, "public", "alice")
    await timed_world.settle()

    assert [i.number for i in await rebuild()] == [current]
    assert not (tmp_path / incident_path(past)).exists()
    assert PAST_TITLE not in (tmp_path / INDEX).read_text()


def test_a_rebuild_keeps_files_that_are_not_batons(tmp_path: Path) -> None:
    page = status_page(REPO, [], severities=(), now=FakeClock().now)
    (tmp_path / "CNAME").write_text("status.example.com\n")
    write_site(tmp_path, site_files(page, title="Acme status", url=URL))
    assert (tmp_path / "CNAME").read_text() == "status.example.com\n"
    assert "No incidents in progress" in (tmp_path / INDEX).read_text()


def test_the_default_address_is_github_pages() -> None:
    assert pages_url("Acme/web") == "https://acme.github.io/web/"
