"""The mistakes people make running `baton` end in one line that says what failed and what to
check, with an exit status that tells the kind of failure; `--debug` adds the traceback. Each
runs `python -m app` as another process, against the stand-in served over HTTP."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.demo.harness import APP_ID, REPO, Stage, app_key_pem, stage
from app.entry.failures import Exit
from app.sandbox.faults import Fault

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Ran:
    status: int
    stdout: str
    stderr: str

    def one_baton_line(self) -> str:
        """The run's only line on stderr that starts `baton:`, its last; no traceback. (Log
        records may come before it.)"""
        assert "Traceback" not in self.stderr, self.stderr
        said = [line for line in self.stderr.splitlines() if line.startswith("baton:")]
        assert len(said) == 1 and self.stderr.splitlines()[-1] == said[0], self.stderr
        return said[0]


async def baton(*args: str, cwd: Path, **variables: str) -> Ran:
    """`baton ARGS` in `cwd` (no .env there) with only these GITHUB_/BATON_ variables."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("GITHUB_", "BATON_"))
    } | {"PYTHONPATH": str(ROOT), **variables}
    # Another process, so the stand-in keeps serving in this test's event loop.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        *args,
        cwd=cwd,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[Stage]:
    async with stage(over_http=True, database_url=f"sqlite:///{tmp_path / 'baton.db'}") as running:
        yield running


def with_token(world: Stage, token: str) -> dict[str, str]:
    return {
        "GITHUB_TOKEN": token,
        "GITHUB_API_URL": world.settings.api_url,
        "BATON_STATE_KEY": "the workflow's secret",
    }


def app_credentials(**more: str) -> dict[str, str]:
    return {
        "GITHUB_APP_ID": str(APP_ID),
        "GITHUB_APP_PRIVATE_KEY": app_key_pem()[0],
        "GITHUB_WEBHOOK_SECRET": "secret",
        **more,
    }


def closed_port() -> int:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        return int(listening.getsockname()[1])


async def test_a_bad_token(world: Stage, tmp_path: Path) -> None:
    ran = await baton("report", "--repo", REPO, cwd=tmp_path, **with_token(world, "ghs_wrong"))

    assert ran.status == Exit.REFUSED
    line = ran.one_baton_line()
    assert line.startswith("baton: GitHub answered 401 (Bad credentials) to GET /")
    assert line.endswith("check GITHUB_TOKEN, or GITHUB_APP_ID and the App's private key")


async def test_a_repository_that_does_not_exist(world: Stage, tmp_path: Path) -> None:
    token = world.standin.actions_token(REPO)
    ran = await baton(
        "report", "--repo", "acme/no-such-repo", cwd=tmp_path, **with_token(world, token)
    )

    assert ran.status == Exit.REFUSED
    line = ran.one_baton_line()
    assert "GitHub answered 404 (Not Found) to GET /" in line
    assert "/repos/acme/no-such-repo/" in line
    assert line.endswith(
        "check the repository's OWNER/NAME, and that the token or the App can see it"
    )


async def test_a_repository_without_its_owner(world: Stage, tmp_path: Path) -> None:
    token = world.standin.actions_token(REPO)
    for command in (["report", "--repo", "justname"], ["sweep", "--repo", "justname"]):
        world.standin.reset_requests()
        ran = await baton(*command, cwd=tmp_path, **with_token(world, token))

        assert ran.status == Exit.SETTINGS
        assert ran.one_baton_line() == (
            "baton: --repo 'justname': expected OWNER/NAME, such as acme/payments"
        )
        assert world.standin.count() == 0, "refused before asking GitHub"


@pytest.mark.parametrize("mode", ["token", "app"])
async def test_github_unreachable_ends_the_sweep_with_status_4(tmp_path: Path, mode: str) -> None:
    address = f"http://127.0.0.1:{closed_port()}"
    credentials = (
        app_credentials()
        if mode == "app"
        else {"GITHUB_TOKEN": "ghs_token", "BATON_STATE_KEY": "the workflow's secret"}
    )
    ran = await baton("sweep", "--repo", REPO, cwd=tmp_path, GITHUB_API_URL=address, **credentials)

    assert ran.status == Exit.UNAVAILABLE
    line = ran.one_baton_line()
    assert line.startswith(f"baton: no answer from GitHub at {address}")
    assert "check GITHUB_API_URL, the network" in line
    assert ran.stdout == "", "no report of a run that did not happen"


async def test_github_failing_with_5xx_ends_the_sweep_with_status_4(
    world: Stage, tmp_path: Path
) -> None:
    token = world.standin.actions_token(REPO)
    world.standin.faults.add(Fault(route="/repos/{owner}/{repo}/issues", status=502, times=3))

    ran = await baton("sweep", "--repo", REPO, cwd=tmp_path, **with_token(world, token))

    assert ran.status == Exit.UNAVAILABLE
    assert ran.one_baton_line() == (
        f"baton: GitHub kept answering 502 to GET /repos/{REPO}/issues: GitHub may be "
        "having trouble (https://www.githubstatus.com); try again later"
    )


async def test_a_database_folder_that_does_not_exist(tmp_path: Path) -> None:
    database = tmp_path / "missing" / "baton.db"
    ran = await baton(
        "serve",
        "--port",
        "0",
        cwd=tmp_path,
        **app_credentials(BATON_DATABASE_URL=f"sqlite:///{database}"),
    )

    assert ran.status == Exit.STORE
    line = ran.one_baton_line()
    assert line.startswith(f"baton: cannot create {database}.lock: No such file or directory")
    assert "check that BATON_DATABASE_URL names a folder that exists" in line


async def test_an_unreachable_postgres_database_is_named_without_its_password(
    tmp_path: Path,
) -> None:
    url = "postgres://baton:hunter2@db.invalid/baton"
    ran = await baton(
        "serve", "--port", "0", cwd=tmp_path, **app_credentials(BATON_DATABASE_URL=url)
    )

    assert ran.status == Exit.STORE
    line = ran.one_baton_line()
    assert line.startswith("baton: cannot open the delivery store postgres://baton:***@db.invalid/")
    assert "hunter2" not in ran.stdout + ran.stderr


@pytest.mark.parametrize("command", [["sweep"], ["report", "--repo", REPO]])
async def test_an_invalid_private_key(tmp_path: Path, command: list[str]) -> None:
    ran = await baton(*command, cwd=tmp_path, **app_credentials(GITHUB_APP_PRIVATE_KEY="ghp_0123"))

    assert ran.status == Exit.SETTINGS
    assert ran.one_baton_line().startswith("baton: GITHUB_APP_PRIVATE_KEY is not a PEM private key")


@pytest.mark.parametrize("where", ["before", "after"])
async def test_debug_shows_the_traceback(world: Stage, tmp_path: Path, where: str) -> None:
    command = ["report", "--repo", REPO]
    arguments = ["--debug", *command] if where == "before" else [*command, "--debug"]
    ran = await baton(*arguments, cwd=tmp_path, **with_token(world, "ghs_wrong"))

    assert ran.status == Exit.REFUSED
    assert "Traceback (most recent call last):" in ran.stderr
    assert "githubkit.exception.RequestFailed" in ran.stderr
    assert ran.stderr.splitlines()[-1].startswith("baton: GitHub answered 401")
