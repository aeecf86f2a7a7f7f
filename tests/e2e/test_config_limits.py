"""A hostile `.github/baton.yml` in one repository, through the stand-in over real HTTP: it costs
that repository its configuration, never another organisation its deliveries, and the notice
that says what is wrong fits in a GitHub comment."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from githubkit.webhooks import sign

from app.config import CONFIG_PATH, MAX_VALUES
from app.demo.harness import ORG, REPO, Stage, stage
from app.entry.credentials import state_key
from app.incident.card import read_card
from app.incident.state import issue_state_key
from tests.e2e.helpers import REPORT
from tests.test_config import alias_bomb

GITHUB_BODY_LIMIT = 65_536
OTHER_ORG = "globex"
OTHER_REPO = "globex/api"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[Stage]:
    """Two organisations with Baton installed on both, served on loopback sockets."""
    async with stage(over_http=True, database_url=f"sqlite:///{tmp_path / 'b.db'}") as running:
        running.standin.add_org(OTHER_ORG)
        running.standin.add_repo(OTHER_REPO)
        running.standin.set_role(OTHER_REPO, "alice", "write")
        running.standin.install(OTHER_ORG)
        yield running


async def declare(world: Stage, repo: str, title: str) -> int:
    issue = await world.standin.open_issue(repo, title, REPORT, "rita")
    await world.standin.add_labels(repo, issue["number"], ["incident"], "alice")
    return int(issue["number"])


class AckProbe:
    """GitHub's side of another delivery: from its own thread, as GitHub's servers are, it posts
    a signed delivery again and again and times how long Baton takes to acknowledge each."""

    def __init__(self, url: str, secret: str, event: str, body: bytes) -> None:
        self.url, self.secret, self.event, self.body = url, secret, event, body
        self.seconds: list[float] = []
        self.statuses: list[int] = []
        self._stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=60) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                response = client.post(self.url, content=self.body, headers=self._headers())
                self.seconds.append(time.perf_counter() - started)
                self.statuses.append(response.status_code)
                self._stop.wait(0.02)

    def _headers(self) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "X-GitHub-Event": self.event,
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": sign(self.secret, self.body),
        }

    async def sampled(self, count: int) -> None:
        """Wait until at least `count` acknowledgements are timed (the loop must stay free to
        answer them), so that a load finished quickly still leaves enough to judge by."""
        async with asyncio.timeout(10):
            while len(self.seconds) < count:
                await asyncio.sleep(0.02)

    @contextmanager
    def running(self) -> Iterator[AckProbe]:
        thread = threading.Thread(target=self.run, name="ack-probe")
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()


async def probe_of_the_other_organisation(world: Stage) -> AckProbe:
    """A probe that sends again an ordinary delivery of the other organisation (a new issue)."""
    await world.standin.open_issue(OTHER_REPO, "A question", "How do I log in?", "rita")
    await world.settle()
    sent = world.standin.hookshot.hook_deliveries[-1]
    secret = world.settings.webhook_secret
    assert secret is not None
    return AckProbe(f"{world.baton_url}/webhooks", secret, sent.event, sent.body)


def notice_on(world: Stage, repo: str, number: int) -> str:
    notices = [
        c["body"] for c in world.standin.comments(repo, number) if "configuration" in c["body"]
    ]
    assert len(notices) == 1, notices
    return str(notices[0])


async def test_files_that_grow_while_merging_neither_break_nor_delay_another_organisation(
    world: Stage,
) -> None:
    # Under 1 KB each; merged as they were, 600 MB and seconds of work on the event loop.
    world.standin.put_file(REPO, CONFIG_PATH, "_extends: web:.github/base.yml\n" + alias_bomb(20))
    world.standin.put_file(REPO, ".github/base.yml", alias_bomb(20))
    probe = await probe_of_the_other_organisation(world)

    with probe.running():
        hostile = await declare(world, REPO, "Checkout is down")
        other = await declare(world, OTHER_REPO, "Login is down")
        await world.settle()
        await probe.sampled(3)

    assert len(probe.seconds) >= 3 and set(probe.statuses) <= {200, 202}
    assert max(probe.seconds) < 1.0, f"acknowledgements took up to {max(probe.seconds):.2f} s"
    for repo, number in ((REPO, hostile), (OTHER_REPO, other)):
        key = issue_state_key(state_key(world.settings), repo, number)
        reading = read_card(world.standin.issue(repo, number)["body"], key)
        assert reading.state is not None and reading.state.severity == "sev3"
    assert f"more than {MAX_VALUES:,} values" in notice_on(world, REPO, hostile)
    assert len(world.standin.comments(OTHER_REPO, other)) == 1  # the first response, no notice


def put_chain_of_unknown_keys(world: Stage, repo: str) -> None:
    """Four files of 4,500 unknown keys, near the limits, each extending the next."""
    name = repo.split("/")[1]
    files = [CONFIG_PATH, *(f".github/more{level}.yml" for level in range(1, 4))]
    for level, path in enumerate(files):
        extends = f"_extends: {name}:{files[level + 1]}\n" if level + 1 < len(files) else ""
        keys = "".join(f"{name[0]}{level}_{n:04}: 1\n" for n in range(4500))
        world.standin.put_file(repo, path, extends + keys)


async def test_files_full_of_unknown_keys_are_checked_off_the_event_loop_in_a_short_notice(
    world: Stage,
) -> None:
    # The organisation's chain and the repository's: 36,000 unknown keys, seconds of work, none
    # of it on the event loop that acknowledges deliveries.
    world.standin.add_repo(f"{ORG}/.github")
    for repo in (REPO, f"{ORG}/.github"):
        put_chain_of_unknown_keys(world, repo)
    probe = await probe_of_the_other_organisation(world)

    with probe.running():
        number = await declare(world, REPO, "Checkout is down")
        await world.settle()
        await probe.sampled(3)

    assert len(probe.seconds) >= 3 and set(probe.statuses) <= {200, 202}
    assert max(probe.seconds) < 1.0, f"acknowledgements took up to {max(probe.seconds):.2f} s"
    notice = notice_on(world, REPO, number)
    assert len(notice) <= GITHUB_BODY_LIMIT
    assert "- `.3_0000`: unknown key; " in notice  # the lowest file comes first
    assert "… and 35980 more problems, which `baton check-config` lists." in notice
