"""Baton's log tells what it did with each delivery: one INFO line per delivery handled (event,
repository#issue, what was decided, how many GitHub requests, how long), each GitHub request
at DEBUG only, as text or as one JSON object per line."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.demo.harness import REPO, Stage
from app.logs import configure_logging
from tests.e2e.helpers import open_incident
from tests.test_startup import serve

Configure = Callable[[str, str], io.StringIO]
TEXT_LINE = re.compile(
    r"app\.pipeline\.processing: (?P<event>[\w.]+) (?P<where>\S+): (?P<decision>.+); "
    r"(?P<requests>\d+) requests?; (?P<ms>\d+) ms$"
)


@pytest.fixture
def log_to() -> Iterator[Configure]:
    """Configures logging as `baton serve` does, into a buffer; puts the previous set-up back."""
    root = logging.getLogger()
    loggers = [root, *(logging.getLogger(name) for name in ("httpx", "httpcore"))]
    before = [(logger, logger.level, logger.handlers[:]) for logger in loggers]

    def configure(level: str, form: str) -> io.StringIO:
        out = io.StringIO()
        configure_logging(level, form, stream=out)
        return out

    yield configure
    for logger, level, handlers in before:
        logger.setLevel(level)
        logger.handlers[:] = handlers


async def comment_logged(
    world: Stage, log_to: Configure, level: str, form: str, body: str, author: str
) -> tuple[list[str], int]:
    """The lines logged while Baton handles a comment on a fresh incident, and how many
    requests GitHub received meanwhile."""
    number = await open_incident(world)
    out = log_to(level, form)
    sent = len(world.standin.requests)
    await world.standin.comment(REPO, number, body, author)
    await world.settle()
    return out.getvalue().splitlines(), len(world.standin.requests) - sent


async def test_a_handled_comment_is_one_info_line_that_tells_the_story(
    world: Stage, log_to: Configure
) -> None:
    lines, received = await comment_logged(world, log_to, "INFO", "text", "/sev 1\n/ic me", "alice")

    stories = [TEXT_LINE.search(line) for line in lines]
    assert all(stories), f"only story lines at INFO: {lines}"
    comment = [s for s in stories if s and s["event"] == "issue_comment.created"]
    assert len(comment) == 1, lines
    assert comment[0]["where"] == f"{REPO}#1"
    assert comment[0]["decision"] == "/severity sev1 applied, /ic me applied"
    assert sum(int(s["requests"]) for s in stories if s) == received > 0
    assert all(" INFO " in line for line in lines)


async def test_a_refusal_is_logged_with_its_reason(world: Stage, log_to: Configure) -> None:
    lines, _ = await comment_logged(world, log_to, "INFO", "text", "/ack", "dave")

    [story] = [line for line in lines if "issue_comment.created" in line]
    assert "refused: `/ack` needs at least triage access to this repository" in story


async def test_json_lines_carry_the_story_as_fields(world: Stage, log_to: Configure) -> None:
    lines, received = await comment_logged(world, log_to, "INFO", "json", "/ic me", "alice")

    records = [json.loads(line) for line in lines]
    assert {r["level"] for r in records} == {"INFO"}
    [comment] = [r for r in records if r["event"] == "issue_comment.created"]
    assert comment["repo"] == REPO and comment["issue"] == 1
    assert comment["decision"] == "/ic me applied"
    assert isinstance(comment["ms"], int) and comment["delivery"]
    assert sum(r["requests"] for r in records) == received > 0
    assert comment["message"].startswith(f"issue_comment.created {REPO}#1: /ic me applied; ")


@pytest.mark.parametrize("form", ["text", "json"])
async def test_each_github_request_is_a_debug_line(
    world: Stage, log_to: Configure, form: str
) -> None:
    lines, received = await comment_logged(world, log_to, "DEBUG", form, "/ic me", "alice")

    requests = [line for line in lines if "GitHub " in line and "app.github.client" in line]
    assert len(requests) == received > 0
    if form == "json":
        assert {json.loads(line)["level"] for line in requests} == {"DEBUG"}
        assert all(json.loads(line)["status"] in (200, 201) for line in requests)


def test_an_unknown_log_level_stops_serve_with_one_line(tmp_path: Path) -> None:
    done = serve(tmp_path, BATON_LOG_LEVEL="LOUD")

    assert done.returncode == 2
    assert done.stderr.startswith("baton: BATON_LOG_LEVEL")
    assert len(done.stderr.splitlines()) == 1, done.stderr


def test_an_unknown_log_format_stops_serve_with_one_line(tmp_path: Path) -> None:
    done = serve(tmp_path, BATON_LOG_FORMAT="xml")

    assert done.returncode == 2
    assert done.stderr.startswith("baton: BATON_LOG_FORMAT")
    assert len(done.stderr.splitlines()) == 1, done.stderr
