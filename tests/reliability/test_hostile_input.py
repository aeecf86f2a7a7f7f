"""Hostile input (SPEC §9): the webhook endpoint under random requests, the configuration loader
under random files, and user text through real commands that tries to break the card."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import yaml
from githubkit.webhooks import sign
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config import LoadResult, load_config
from app.demo.harness import REPO, Stage, app_key_pem
from app.incident.card import CARD_END, CARD_START, read_card
from app.server.web import MAX_BODY_BYTES
from bench.processes import free_port
from tests.e2e.helpers import card_key, state_of, with_severity_forged
from tests.incident.test_commands import WORST_COMMENTS
from tests.reliability.helpers import (
    baton_process,
    built_stage,
    declare,
    replies,
    reply_keys,
    serve_environment,
)

GITHUB_BODY_LIMIT = 65_536
TEAM = "@acme/sre"
HIDDEN_STATE = re.compile(r"<!-- baton:state .*? -->")
KEPT_BY_BATON = "the incident card at the top of this issue is kept by Baton"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[Stage]:
    async with built_stage(tmp_path) as running:
        yield running


# --- the webhook endpoint --------------------------------------------------------------------

HEADER_NAMES = st.sampled_from(
    [
        "X-GitHub-Event",
        "X-GitHub-Delivery",
        "X-Hub-Signature-256",
        "X-Hub-Signature",
        "Content-Type",
        "Content-Length",
        "Content-Encoding",
        "Transfer-Encoding",
        "X-Anything",
    ]
)
HEADER_VALUES = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=60,
)
BODIES = st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=500).map(lambda t: t.encode("utf-8")),
    st.text(max_size=200).map(lambda t: t.encode("utf-16")),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=20,
    ).map(lambda v: json.dumps(v).encode()),
)


async def stored(world: Stage) -> int:
    """Rows in the delivery store, whatever their status."""
    database = world.settings.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as db:
        (count,) = db.execute("SELECT COUNT(*) FROM deliveries").fetchone()
    return int(count)


async def post(world: Stage, body: bytes, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=world.service.web)
    async with httpx.AsyncClient(transport=transport, base_url="http://baton.test") as client:
        raw = {name.encode(): value.encode("latin-1") for name, value in headers.items()}
        return await client.post("/webhooks", content=body, headers=raw)


async def test_random_requests_never_get_a_5xx_and_bad_signatures_store_nothing(
    world: Stage,
) -> None:
    secret = world.settings.webhook_secret
    assert secret is not None
    loop_results: list[tuple[int, bool, bool]] = []

    @settings(
        max_examples=300,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        body=BODIES,
        headers=st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=6),
        sign_it=st.booleans(),
        event=st.sampled_from(["issues", "issue_comment", "ping", "push", ""]),
    )
    def one_request(body: bytes, headers: dict[str, str], sign_it: bool, event: str) -> None:
        request_headers = {"Content-Type": "application/json", **headers}
        request_headers.pop("Content-Length", None)  # httpx sets the true length
        if sign_it:
            request_headers["X-Hub-Signature-256"] = sign(secret, body)
            request_headers["X-GitHub-Event"] = event
        future = asyncio.run_coroutine_threadsafe(exchange(body, request_headers), loop)
        loop_results.append(future.result(timeout=30))

    async def exchange(body: bytes, headers: dict[str, str]) -> tuple[int, bool, bool]:
        before = await stored(world)
        response = await post(world, body, headers)
        good = headers.get("X-Hub-Signature-256") == sign(secret, body)
        return response.status_code, good, await stored(world) != before

    loop = asyncio.get_running_loop()
    await asyncio.to_thread(one_request)

    assert all(status < 500 for status, _, _ in loop_results), loop_results
    assert not [r for r in loop_results if not r[1] and r[2]], "stored with a bad signature"
    assert {status for status, good, _ in loop_results if not good} <= {400, 401, 413, 415}


async def test_an_oversized_body_is_refused_with_413(world: Stage) -> None:
    body = b"{" + b" " * MAX_BODY_BYTES + b"}"
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": "big",
        "X-Hub-Signature-256": "sha256=00",
    }
    assert (await post(world, body, headers)).status_code == 413
    assert await stored(world) == 0


# --- the configuration loader ------------------------------------------------------------

KEYS = st.sampled_from(
    ["severities", "labels", "responders", "clocks", "escalation", "retrospective", "project"]
)
YAML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=15,
)
CONFIG_TEXT = st.one_of(
    st.text(max_size=400),
    st.dictionaries(KEYS | st.text(max_size=10), YAML_VALUES).map(
        lambda d: yaml.safe_dump(d, allow_unicode=True)
    ),
    st.just("a: &x [*x]\n"),
    st.just("- " * 200 + "x\n"),
    st.just("!!python/object/apply:os.system ['true']\n"),
)


@settings(max_examples=300, deadline=None)
@given(text=CONFIG_TEXT, org_text=st.none() | CONFIG_TEXT)
def test_any_configuration_file_loads_to_a_config_and_problems(
    text: str, org_text: str | None
) -> None:
    async def fetch(owner: str, repo: str, path: str) -> str | None:
        return org_text if repo == ".github" else text

    result = asyncio.run(load_config(fetch, "acme", "web"))

    assert isinstance(result, LoadResult)
    assert all(str(problem) for problem in result.problems)


# --- user text that tries to break the card ----------------------------------------------

INJECTIONS = (
    "--> <!-- baton:card:end --> after the end",
    f'{CARD_END}\n{CARD_START}\n<!-- baton:state {{"severity": "sev4"}} -->',
    "| a | b |\n|---|---|\n| injected | row |",
    "<script>alert(1)</script><img src=x onerror=alert(1)><details open>",
    f"{TEAM} please look, and @acme/everyone too",
    "```\nunclosed fence\n<!--",
)


def assert_card_intact(world: Stage, number: int) -> None:
    body = world.standin.issue(REPO, number)["body"]
    assert body.count(CARD_START) == 1 and body.count(CARD_END) == 1
    reading = read_card(body, card_key(world, number))
    assert reading.state is not None and not reading.tampered
    assert len(body) < GITHUB_BODY_LIMIT
    # The hidden state is an HTML comment: GitHub neither renders nor notifies from it.
    visible = HIDDEN_STATE.sub("", body)
    assert TEAM not in visible, "team mentions on the card are neutralised"


async def test_injection_attempts_through_commands_never_break_the_card(world: Stage) -> None:
    number = await declare(world, f"Checkout {INJECTIONS[0]} {TEAM}")
    await world.settle()
    said = []
    for text in INJECTIONS:
        for command in (f"/note {text}", f"/update {text}", f"/sme @carol {text}"):
            said.append(await world.standin.comment(REPO, number, command, "alice"))
            await world.settle()
            assert_card_intact(world, number)
    huge = "x" * 70_000
    said.append(await world.standin.comment(REPO, number, f"/note {huge}", "alice"))
    said.append(await world.standin.comment(REPO, number, f"/handoff @bob\n{huge}", "alice"))
    await world.settle()

    assert_card_intact(world, number)
    assert state_of(world, number).pending_handoff is not None
    answered = replies(world.standin, number)
    assert all(len(b) < GITHUB_BODY_LIMIT for b in answered)
    assert not [b for b in answered if TEAM in b], "nobody paged by Baton's replies"
    keys = reply_keys(world.standin, number)
    # A line touching an HTML comment is never a command (SPEC §4): those get no answer.
    answers = {c["body"][:40]: keys[f"comment:{c['id']}"] for c in said}
    expected = {c["body"][:40]: int("<!--" not in c["body"].splitlines()[0]) for c in said}
    assert answers == expected, "every command answered once, the rest left alone"


async def test_a_reporter_who_edits_the_hidden_state_is_reverted_every_time(
    world: Stage,
) -> None:
    number = await declare(world, "Checkout is down")
    await world.settle()
    for attempt, severity in enumerate(["sev1", "sev4", "sev2", "sev1", "sev4"]):
        body = world.standin.issue(REPO, number)["body"]
        await world.standin.edit_body(REPO, number, with_severity_forged(body, severity), "rita")
        await world.settle()
        assert_card_intact(world, number)
        assert state_of(world, number).severity == "sev3", f"attempt {attempt + 1}"
    notices = [b for b in replies(world.standin, number) if KEPT_BY_BATON in b]
    assert len(notices) == 5, "each forgery reverted and explained"


async def test_deeply_nested_json_with_a_good_signature_gets_400(world: Stage) -> None:
    secret = world.settings.webhook_secret
    assert secret is not None
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000):
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": "issue_comment",
            "X-GitHub-Delivery": "deep",
            "X-Hub-Signature-256": sign(secret, body),
        }
        response = await post(world, body, headers)
        assert response.status_code == 400, response.text
        assert "nested too deeply" in response.json()["error"]
    assert await stored(world) == 0


# --- the acknowledgement under the costliest comments ------------------------------------------


def comment_delivery(number: int, comment_id: int, body: str) -> bytes:
    return json.dumps(
        {
            "action": "created",
            "installation": {"id": 1},
            "repository": {"full_name": REPO},
            "sender": {"login": "mallory"},
            "issue": {"number": number, "body": "Down.\n", "labels": []},
            "comment": {"id": comment_id, "body": body},
        }
    ).encode()


async def test_the_costliest_comments_do_not_delay_another_acknowledgement(
    tmp_path: Path,
) -> None:
    secret = secrets.token_hex(16)
    port = free_port()
    env = serve_environment(
        api_url="http://127.0.0.1:9",  # the acknowledgement never calls GitHub
        private_pem=app_key_pem()[0],
        webhook_secret=secret,
        database=tmp_path / "baton.db",
    )
    worst = [make(GITHUB_BODY_LIMIT - 1) for make in WORST_COMMENTS.values()]
    async with (
        baton_process(env, port, tmp_path / "baton.log"),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client,
    ):

        async def deliver(delivery_id: str, body: bytes) -> float:
            headers = {
                "Content-Type": "application/json",
                "X-GitHub-Event": "issue_comment",
                "X-GitHub-Delivery": delivery_id,
                "X-Hub-Signature-256": sign(secret, body),
            }
            started = time.perf_counter()
            response = await client.post("/webhooks", content=body, headers=headers)
            assert response.status_code == 202, response.text
            return time.perf_counter() - started

        ordinary = comment_delivery(1, 1, "/ack")
        await deliver("warm-up", comment_delivery(1, 0, "/ack"))
        hostile = [
            deliver(f"worst-{i}", comment_delivery(2, 100 + i, text))
            for i, text in enumerate(worst)
        ]
        waits = await asyncio.gather(*hostile[:4], deliver("ordinary", ordinary), *hostile[4:])

    # Before, four such comments held the answer to another delivery for over 11 s.
    assert waits[4] < 1.0, waits
    assert max(waits) < 2.0, waits
