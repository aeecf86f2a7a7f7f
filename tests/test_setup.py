"""One-click registration: the manifest page, the callback, the `.env` it writes, the stand-in."""

from __future__ import annotations

import asyncio
import json
import logging
import stat
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dotenv import dotenv_values
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from app.entry.registration import (
    MANIFEST,
    NewApp,
    SetupStates,
    create_setup_app,
    github_web_url,
    save_credentials,
    setup_address,
)
from app.entry.settings import load_settings
from app.sandbox import AsgiWebhookSink, StandIn
from app.sandbox.editions import ENTERPRISE_SERVER
from app.sandbox.manifests import issue_manifest_code

PUBLIC_URL = "https://baton.acme.test"
APP_YML = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


class Forms(HTMLParser):
    """The forms of a page: method, action and the values of their inputs."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self.forms.append({"method": found["method"], "action": found["action"], "inputs": {}})
        elif tag == "input" and self.forms:
            self.forms[-1]["inputs"][found["name"]] = found.get("value")

    def posting(self) -> list[dict[str, Any]]:
        return [form for form in self.forms if form["method"] == "post"]


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes requests on and keeps the JSON GitHub answered, to compare with what was saved."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.answers: list[Any] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        self.answers.append(json.loads(body) if body else None)
        return httpx.Response(response.status_code, headers=response.headers, content=body)


@pytest.fixture(scope="module")
def standin_key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture
def standin(standin_key_pem: bytes) -> StandIn:
    return StandIn(app_id=1, app_public_key_pem=standin_key_pem, webhook_secret="unused")


@pytest.fixture
def github(standin: StandIn) -> RecordingTransport:
    return RecordingTransport(standin.transport())


@pytest.fixture
def env_path(tmp_path: Path) -> Path:
    return tmp_path / ".env"


def setup_app(standin: StandIn, github: RecordingTransport, env_path: Path) -> Starlette:
    return create_setup_app(
        env_path=env_path, api_url=standin.base_url, public_url=PUBLIC_URL, transport=github
    )


@pytest.fixture
async def browser(
    standin: StandIn, github: RecordingTransport, env_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=setup_app(standin, github, env_path))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:3000") as client:
        yield client


async def start(browser: httpx.AsyncClient, query: str = "") -> tuple[str, dict[str, Any]]:
    """Open the setup page; the state of its forms and the manifest they post."""
    page = await browser.get(f"/setup{query}")
    assert page.status_code == 200
    form = Forms(page.text).posting()[0]
    state = parse_qs(urlsplit(form["action"]).query)["state"][0]
    return state, json.loads(form["inputs"]["manifest"])


async def confirm_on_github(
    browser: httpx.AsyncClient, standin: StandIn, state: str, manifest: dict[str, Any]
) -> httpx.Response:
    code = issue_manifest_code(standin, manifest, owner="acme-admin")
    return await browser.get("/setup/callback", params={"code": code, "state": state})


# -- the page ---------------------------------------------------------------------------------
async def test_page_posts_the_manifest_pointed_at_this_server(browser: httpx.AsyncClient) -> None:
    for path in ("/", "/setup?org=acme"):
        page = await browser.get(path)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
    forms = Forms(page.text)
    personal, organisation = forms.posting()
    assert urlsplit(personal["action"])[:3] == ("https", "github.com", "/settings/apps/new")
    assert urlsplit(organisation["action"])[:3] == (
        "https",
        "github.com",
        "/organizations/acme/settings/apps/new",
    )
    for form in (personal, organisation):
        manifest = json.loads(form["inputs"]["manifest"])
        assert manifest["hook_attributes"]["url"] == f"{PUBLIC_URL}/webhooks"
        assert manifest["redirect_url"] == f"{PUBLIC_URL}/setup/callback"
        assert "callback_urls" not in manifest
        assert manifest["default_events"] == APP_YML["default_events"]
        assert manifest["default_permissions"] == APP_YML["default_permissions"]
        assert manifest["name"] == APP_YML["name"]
    get_form = [form for form in forms.forms if form["method"] == "get"]
    assert get_form[0]["action"] == "/setup" and get_form[0]["inputs"]["org"] == "acme"


async def test_without_an_organisation_the_page_asks_for_one(browser: httpx.AsyncClient) -> None:
    forms = Forms((await browser.get("/setup")).text)
    assert len(forms.posting()) == 1
    assert [form["inputs"] for form in forms.forms if form["method"] == "get"] == [{"org": ""}]


async def test_each_page_gets_its_own_state(browser: httpx.AsyncClient) -> None:
    first, _ = await start(browser)
    second, _ = await start(browser)
    assert first != second and len(first) >= 32


async def test_without_a_public_url_the_request_address_is_used(
    standin: StandIn, github: RecordingTransport, env_path: Path
) -> None:
    app = create_setup_app(env_path=env_path, api_url=standin.base_url, transport=github)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:3000") as client:
        page = await client.get("/setup")
    manifest = json.loads(Forms(page.text).posting()[0]["inputs"]["manifest"])
    assert manifest["hook_attributes"]["url"] == "http://localhost:3000/webhooks"
    assert manifest["redirect_url"] == "http://localhost:3000/setup/callback"
    assert "BATON_PUBLIC_URL" in page.text  # GitHub refuses a webhook on localhost


@settings(max_examples=40, deadline=None)
@given(org=st.text(max_size=60))
def test_any_organisation_text_is_escaped_and_only_a_login_gets_a_form(
    standin_key_pem: bytes, tmp_path_factory: pytest.TempPathFactory, org: str
) -> None:
    standin = StandIn(app_id=1, app_public_key_pem=standin_key_pem, webhook_secret="unused")
    env_path = tmp_path_factory.mktemp("org") / ".env"
    app = setup_app(standin, RecordingTransport(standin.transport()), env_path)

    async def page() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
            return await client.get("/setup", params={"org": org})

    response = asyncio.run(page())
    assert response.status_code == 200
    forms = Forms(response.text)
    login = org.strip()
    is_login = login.isascii() and 0 < len(login) <= 39 and login.replace("-", "").isalnum()
    is_login = is_login and login[0] != "-"
    assert len(forms.posting()) == (2 if is_login else 1)
    assert [form["inputs"]["org"] for form in forms.forms if form["method"] == "get"] == [login]
    if "<" in login:
        assert login not in response.text


# -- the callback -----------------------------------------------------------------------------
async def test_callback_saves_the_credentials_and_links_to_the_install_page(
    browser: httpx.AsyncClient, standin: StandIn, github: RecordingTransport, env_path: Path
) -> None:
    env_path.write_text("# Baton\nBATON_DATABASE_URL=sqlite:///incidents.db\n")
    state, manifest = await start(browser)
    page = await confirm_on_github(browser, standin, state, manifest)

    assert page.status_code == 200
    answer = github.answers[-1]
    install_url = f"https://github.com/apps/{answer['slug']}/installations/new"
    assert f'href="{install_url}"' in page.text
    assert "baton serve" in page.text
    assert stat.S_IMODE(env_path.stat().st_mode) == 0o600
    saved = load_settings(environ={}, env_file=env_path)
    assert saved.has_app_credentials
    assert saved.app_id == answer["id"]
    assert saved.webhook_secret == answer["webhook_secret"]
    assert saved.api_url == standin.base_url
    assert saved.database_url == "sqlite:///incidents.db"
    assert saved.private_key is not None
    assert saved.private_key.strip() == answer["pem"].strip()
    key = serialization.load_pem_private_key(saved.private_key.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    lines = env_path.read_text().splitlines()
    assert lines[:2] == ["# Baton", "BATON_DATABASE_URL=sqlite:///incidents.db"]
    assert sum(line.startswith("GITHUB_APP_PRIVATE_KEY=") for line in lines) == 1


async def test_health_says_registering_and_then_that_baton_waits_for_a_restart(
    browser: httpx.AsyncClient, standin: StandIn
) -> None:
    """A health check pointed at /healthz works from the first start: healthy while the page
    waits for a registration, unhealthy once registered until `baton serve` restarts."""
    waiting = await browser.get("/healthz")
    assert waiting.status_code == 200
    assert waiting.json() == {"status": "registering"}

    state, manifest = await start(browser)
    await confirm_on_github(browser, standin, state, manifest)

    registered = await browser.get("/healthz")
    assert registered.status_code == 503
    assert registered.json()["status"] == "unavailable"
    assert "restart baton serve" in registered.json()["error"]


async def test_on_an_enterprise_server_the_code_is_exchanged_there(
    standin_key_pem: bytes, env_path: Path
) -> None:
    server = StandIn(
        app_id=1,
        app_public_key_pem=standin_key_pem,
        webhook_secret="unused",
        edition=ENTERPRISE_SERVER,
    )
    github = RecordingTransport(server.transport())
    app = create_setup_app(
        env_path=env_path,
        github_url=github_web_url(server.base_url),
        api_url=server.base_url,
        public_url=PUBLIC_URL,
        transport=github,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as browser:
        state, manifest = await start(browser)
        page = await confirm_on_github(browser, server, state, manifest)

    assert [(r.route, r.status) for r in server.requests] == [
        ("/app-manifests/{code}/conversions", 201)
    ]
    assert page.status_code == 200
    install_url = f"http://ghes.test/github-apps/{github.answers[-1]['slug']}/installations/new"
    assert f'href="{install_url}"' in page.text
    assert load_settings(environ={}, env_file=env_path).api_url == "http://ghes.test/api/v3"


async def test_githubs_ping_while_registering_is_answered(
    standin: StandIn, github: RecordingTransport, env_path: Path
) -> None:
    """GitHub pings the new App's webhook, this server, before the browser comes back."""
    registration = setup_app(standin, github, env_path)
    standin.hookshot.sink = AsgiWebhookSink(registration)
    transport = httpx.ASGITransport(app=registration)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as browser:
        state, manifest = await start(browser)
        await confirm_on_github(browser, standin, state, manifest)
    await standin.settle()

    [ping] = standin.deliveries
    assert ping.event == "ping"
    assert ping.payload["hook"]["config"]["url"] == f"{PUBLIC_URL}/webhooks"
    assert ping.status_code == 200


async def test_deliveries_before_the_restart_fail_so_that_baton_asks_for_them_again(
    browser: httpx.AsyncClient, standin: StandIn, env_path: Path
) -> None:
    """Registered, not restarted yet: the App installed now sends `installation.created` here.
    Answering it with an error leaves it listed as failed, and Baton, once started, asks GitHub
    to deliver it again (app/jobs/redelivery.py); a ping is still answered."""
    state, manifest = await start(browser)
    await confirm_on_github(browser, standin, state, manifest)
    headers = {"Content-Type": "application/json"}

    installed = await browser.post(
        "/webhooks", content=b'{"action":"created"}', headers={**headers, **event("installation")}
    )
    pinged = await browser.post(
        "/webhooks", content=b'{"zen":"z"}', headers={**headers, **event("ping")}
    )

    assert installed.status_code == 503
    assert "restart baton serve" in installed.json()["error"]
    assert pinged.status_code == 200


def event(name: str) -> dict[str, str]:
    return {"X-GitHub-Event": name, "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}


async def test_a_state_this_server_never_issued_is_refused(
    browser: httpx.AsyncClient, standin: StandIn, env_path: Path
) -> None:
    _, manifest = await start(browser)
    for state in ("forged", ""):
        page = await confirm_on_github(browser, standin, state, manifest)
        assert page.status_code == 403
    assert not env_path.exists()
    assert standin.requests == []  # the code was never exchanged


async def test_a_state_is_good_once(
    browser: httpx.AsyncClient, standin: StandIn, env_path: Path
) -> None:
    state, manifest = await start(browser)
    missing_code = await browser.get("/setup/callback", params={"state": state})
    assert missing_code.status_code == 400
    replay = await confirm_on_github(browser, standin, state, manifest)
    assert replay.status_code == 403
    assert not env_path.exists()


async def test_a_used_code_shows_an_error_and_saves_nothing(
    browser: httpx.AsyncClient, standin: StandIn, env_path: Path
) -> None:
    state, manifest = await start(browser)
    code = issue_manifest_code(standin, manifest)
    async with httpx.AsyncClient(transport=standin.transport(), base_url=standin.base_url) as gh:
        assert (await gh.post(f"/app-manifests/{code}/conversions")).status_code == 201
    page = await browser.get("/setup/callback", params={"code": code, "state": state})
    assert page.status_code == 400
    assert "did not accept the code" in page.text
    assert not env_path.exists()


async def test_existing_credentials_are_never_overwritten(
    browser: httpx.AsyncClient, standin: StandIn, env_path: Path
) -> None:
    state, manifest = await start(browser)
    assert (await confirm_on_github(browser, standin, state, manifest)).status_code == 200
    saved = env_path.read_text()
    assert (await browser.get("/setup")).status_code == 409
    assert not Forms((await browser.get("/setup")).text).posting()
    again = await confirm_on_github(browser, standin, state, manifest)
    assert again.status_code == 403
    assert env_path.read_text() == saved


async def test_secrets_never_reach_the_logs(
    browser: httpx.AsyncClient,
    standin: StandIn,
    github: RecordingTransport,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    state, manifest = await start(browser)
    assert (await confirm_on_github(browser, standin, state, manifest)).status_code == 200
    answer = github.answers[-1]
    assert caplog.records, "nothing was logged: the test would prove nothing"
    pem_body = answer["pem"].splitlines()[1:-1]
    for secret in (answer["webhook_secret"], answer["client_secret"], *pem_body):
        assert secret not in caplog.text


# -- the .env file ----------------------------------------------------------------------------
SECRET_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="'\\"), min_size=1
)


@settings(max_examples=60, deadline=None)
@given(secret=SECRET_TEXT, other=SECRET_TEXT)
def test_saved_values_read_back_exactly(
    tmp_path_factory: pytest.TempPathFactory, secret: str, other: str
) -> None:
    env_path = tmp_path_factory.mktemp("env") / ".env"
    env_path.write_text("KEEP='x'\nGITHUB_WEBHOOK_SECRET=old\n")
    save_credentials(env_path, {"GITHUB_WEBHOOK_SECRET": secret, "BATON_STATE_KEY": other})
    assert dotenv_values(env_path) == {
        "KEEP": "x",
        "GITHUB_WEBHOOK_SECRET": secret,
        "BATON_STATE_KEY": other,
    }
    assert stat.S_IMODE(env_path.stat().st_mode) == 0o600


@pytest.mark.parametrize("value", ["it's", "two\nlines", "back\\slash", "ends\\"])
def test_values_that_cannot_be_one_quoted_line_are_refused(env_path: Path, value: str) -> None:
    with pytest.raises(ValueError, match="GITHUB_WEBHOOK_SECRET") as refusal:
        save_credentials(env_path, {"GITHUB_WEBHOOK_SECRET": value})
    assert value not in str(refusal.value)
    assert not env_path.exists()


# -- states and addresses ---------------------------------------------------------------------
class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_states_expire_and_are_forgotten_oldest_first() -> None:
    ticks = Ticks()
    states = SetupStates(lifetime=60, capacity=2, clock=ticks)
    old, kept = states.issue(), states.issue()
    ticks.now = 59
    newest = states.issue()  # over capacity: `old` is forgotten
    assert not states.redeem(old)
    assert states.redeem(kept) and not states.redeem(kept)
    ticks.now = 200
    assert not states.redeem(newest)


def test_addresses() -> None:
    assert github_web_url("https://api.github.com") == "https://github.com"
    assert github_web_url("https://ghe.acme.test/api/v3/") == "https://ghe.acme.test"
    assert setup_address("0.0.0.0", 3000, None) == "http://localhost:3000/setup"
    assert setup_address("10.0.0.5", 8080, None) == "http://10.0.0.5:8080/setup"
    assert setup_address("0.0.0.0", 3000, f"{PUBLIC_URL}/") == f"{PUBLIC_URL}/setup"


# -- the stand-in's conversion ----------------------------------------------------------------
async def test_standin_converts_a_code_once_with_githubs_shape(standin: StandIn) -> None:
    code = issue_manifest_code(standin, APP_YML, owner="acme-admin")
    async with httpx.AsyncClient(transport=standin.transport(), base_url=standin.base_url) as gh:
        first = await gh.post(f"/app-manifests/{code}/conversions")
        second = await gh.post(f"/app-manifests/{code}/conversions")
    assert first.status_code == 201 and second.status_code == 404
    app = NewApp.model_validate(first.json())
    assert app.owner.login == "acme-admin"  # type: ignore[union-attr]
    assert app.events == APP_YML["default_events"]
    assert app.html_url == f"https://github.com/apps/{app.slug}"
