"""Secrets never reach logs (SPEC §9): a whole incident, with GitHub failing now and then, logged
at DEBUG by every logger (Baton's, httpx, httpcore, githubkit), and as Baton writes its log
lines, in text and in JSON."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.demo.harness import REPO, app_key_pem
from app.logs import TEXT_FORMAT, JsonFormatter
from app.sandbox import Fault
from tests.e2e.helpers import FakeClock, state_of
from tests.reliability.helpers import built_stage, declare, settle_through_reschedules

JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")
COMMENTS = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
ISSUE = "/repos/{owner}/{repo}/issues/{issue_number}"
INCIDENT = (
    "/ic me",
    "/sev 1",
    "/note Paged the database team.",
    "/status identified",
    "/update Failing over to the replica.",
    "/mitigated Traffic is back on the replica.",
    "/resolved Primary repaired.",
    "/close Verified by support.",
)


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    formatter = logging.Formatter()
    parts = []
    for record in caplog.records:
        parts += [record.getMessage(), repr(record.args), repr(record.__dict__)]
        if record.exc_info:
            parts.append(formatter.formatException(record.exc_info))
        if record.stack_info:
            parts.append(record.stack_info)
    return "\n".join(parts)


@pytest.fixture
def written() -> Iterator[dict[str, io.StringIO]]:
    """Every record as Baton's log writes it, in each format."""
    formatters = {"text": logging.Formatter(TEXT_FORMAT), "json": JsonFormatter()}
    outputs = {form: io.StringIO() for form in formatters}
    handlers = [logging.StreamHandler(outputs[form]) for form in formatters]
    for handler, formatter in zip(handlers, formatters.values(), strict=True):
        handler.setFormatter(formatter)
        logging.getLogger().addHandler(handler)
    try:
        yield outputs
    finally:
        for handler in handlers:
            logging.getLogger().removeHandler(handler)


def pem_body_lines(pem: str) -> list[str]:
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


async def test_no_secret_reaches_any_log_record(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, written: dict[str, io.StringIO]
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "githubkit", "app", "uvicorn"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    clock = FakeClock()
    async with built_stage(tmp_path, clock=clock) as world:
        for fault in (
            Fault(method="PATCH", route=ISSUE, status=502, times=3),  # gives up: logged with
            Fault(method="POST", route=COMMENTS, kind="drop"),  # its exception
            Fault(method="GET", route=ISSUE, kind="secondary_rate_limit"),
        ):
            world.standin.faults.add(fault)
        number = await declare(world, "Checkout is down")
        await settle_through_reschedules(world, clock)
        for command in INCIDENT:
            await world.standin.comment(REPO, number, command, "alice")
            await settle_through_reschedules(world, clock)
        assert state_of(world, number).closed_at is not None, "the whole incident ran"
        tokens = list(world.standin.api.world.tokens)
        secret = world.settings.webhook_secret

    lines = {form: output.getvalue() for form, output in written.items()}
    assert "issue_comment.created acme/web#1: /close applied" in lines["text"]
    assert '"decision": "/close applied"' in lines["json"]
    logged = "\n".join([everything_logged(caplog), *lines.values()])
    assert len(caplog.records) > 50, "DEBUG logging was on"
    assert tokens and all(t.startswith("ghs_") for t in tokens)
    assert not [t for t in tokens if t in logged], "an installation token was logged"
    assert secret and secret not in logged
    assert not JWT.findall(logged), "a JWT was logged"
    private_pem, _ = app_key_pem()
    assert not [line for line in pem_body_lines(private_pem) if line in logged]
    assert any(r.levelno >= logging.WARNING and r.exc_info for r in caplog.records), (
        "a failure with its exception was logged, and checked too"
    )
