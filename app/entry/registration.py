"""One-click registration of Baton as a GitHub App (GitHub's App Manifest flow).

`baton serve` without App credentials serves this small app instead of Baton. Its page posts
`app.yml`, pointed at this server, to GitHub; GitHub creates the App and sends the browser back
to `/setup/callback` with a one-hour code, which is exchanged for the App's id, private key and
webhook secret. Those are written to the `.env` file that `app/entry/settings.py` reads.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import yaml
from cachetools import TTLCache
from githubkit import GitHub
from githubkit.exception import RequestError, RequestFailed
from githubkit_schemas.v2022_11_28.models import (
    AppManifestsCodeConversionsPostResponse201 as NewApp,
)
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from app.entry.settings import DEFAULT_API_URL, Settings, load_settings
from app.github.client import REST_API_VERSION
from app.incident.logins import is_account_name

log = logging.getLogger(__name__)

MANIFEST = resources.files("app") / "app.yml"
SETUP_PATH = "/setup"
CALLBACK_PATH = "/setup/callback"
STATE_LIFETIME = 3600.0  # seconds: as long as GitHub's code lives
STATE_CAPACITY = 1000  # pages shown and not yet used; the oldest are forgotten first
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})
# What a single-quoted dotenv value cannot hold as is: quotes, line breaks, and backslashes
# other than the "\n" escapes of a one-line private key.
UNQUOTABLE = re.compile(r"['\r\n]|\\(?!n)")
USER_AGENT = "Baton (incident response on GitHub issues)"

_pages = Environment(
    loader=PackageLoader("app", "templates/setup"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    keep_trailing_newline=True,
)


class SetupStates:
    """CSRF tokens for the manifest form: random, single-use, forgotten after `lifetime`
    seconds, the oldest first beyond `capacity`."""

    def __init__(
        self,
        lifetime: float = STATE_LIFETIME,
        capacity: int = STATE_CAPACITY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._issued: TTLCache[str, bool] = TTLCache(capacity, lifetime, clock)

    def issue(self) -> str:
        state = secrets.token_urlsafe(32)
        self._issued[state] = True
        return state

    def redeem(self, state: str) -> bool:
        """True once for a state this server issued and that has not expired."""
        return self._issued.pop(state, False)


def load_manifest() -> dict[str, Any]:
    """The App's manifest as the package ships it (`app/app.yml`, the same as the repository's
    top-level `app.yml`), so that a wheel installed anywhere has it."""
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    if not isinstance(manifest, dict):
        raise ValueError(f"{MANIFEST} is not a GitHub App manifest")
    return manifest


def manifest_for(manifest: Mapping[str, Any], public_url: str) -> dict[str, Any]:
    """The manifest with every address pointing at the server reachable at `public_url`."""
    base = public_url.rstrip("/")
    return {
        **manifest,
        "url": base,
        "hook_attributes": {**manifest.get("hook_attributes", {}), "url": f"{base}/webhooks"},
        "redirect_url": f"{base}{CALLBACK_PATH}",
    }


def github_web_url(api_url: str) -> str:
    """github.com for the public API; `https://HOST` for Enterprise Server's `https://HOST/api/v3`."""
    api = api_url.rstrip("/")
    if api == DEFAULT_API_URL:
        return "https://github.com"
    return api.removesuffix("/api/v3")


def setup_address(host: str, port: int, public_url: str | None) -> str:
    """The address to open in a browser to register Baton."""
    if public_url:
        return f"{public_url.rstrip('/')}{SETUP_PATH}"
    shown = "localhost" if host in LOCAL_HOSTS else host
    return f"http://{shown}:{port}{SETUP_PATH}"


def credentials_from(app: NewApp, api_url: str) -> dict[str, str]:
    """The environment variables Baton reads, from GitHub's answer to the conversion."""
    if not app.webhook_secret:
        raise ValueError("GitHub returned no webhook secret")
    values = {
        "GITHUB_APP_ID": str(app.id),
        # One line with "\n" escapes: app/entry/settings.py turns them back into newlines.
        "GITHUB_APP_PRIVATE_KEY": app.pem.strip().replace("\n", "\\n"),
        "GITHUB_WEBHOOK_SECRET": app.webhook_secret,
    }
    if api_url.rstrip("/") != DEFAULT_API_URL:
        values["GITHUB_API_URL"] = api_url
    return values


def save_credentials(env_path: Path, values: Mapping[str, str]) -> None:
    """Write `values` into the dotenv file, keeping its other lines; readable by its owner only."""
    kept = []
    if env_path.is_file():
        kept = [
            line
            for line in env_path.read_text(encoding="utf-8").splitlines()
            if _assigned_name(line) not in values
        ]
    text = "\n".join([*kept, *(_env_line(name, value) for name, value in values.items())])
    partial = env_path.with_name(f".{env_path.name}.{secrets.token_hex(4)}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text + "\n")
        os.replace(partial, env_path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _assigned_name(line: str) -> str | None:
    found = re.match(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=", line)
    return found[1] if found else None


def _env_line(name: str, value: str) -> str:
    # Single quotes: python-dotenv neither expands "${...}" nor unescapes "\n" inside them.
    if UNQUOTABLE.search(value):
        raise ValueError(f"{name} cannot be written to a .env file as one quoted line")
    return f"{name}='{value}'"


async def exchange_code(
    code: str, api_url: str, transport: httpx.AsyncBaseTransport | None = None
) -> NewApp:
    """GitHub's new App with its credentials, for the code from the manifest redirect."""
    github = GitHub(
        base_url=api_url,
        user_agent=USER_AGENT,
        auto_retry=False,
        timeout=httpx.Timeout(10.0),
        async_transport=transport,
    )
    async with github:
        response = await github.rest(REST_API_VERSION).apps.async_create_from_manifest(code)
    return response.parsed_data


def create_setup_app(
    *,
    env_path: Path,
    github_url: str = "https://github.com",
    api_url: str,
    public_url: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """The registration pages `baton serve` shows while Baton has no App credentials."""
    states = SetupStates()
    manifest = load_manifest()
    github = github_url.rstrip("/")

    def registered_already() -> bool:
        return load_settings(environ={}, env_file=env_path).has_app_credentials

    async def register(request: Request) -> HTMLResponse:
        if registered_already():
            return _already_registered(env_path)
        base = public_url or str(request.base_url)
        org = request.query_params.get("org", "").strip()
        org_ok = is_account_name(org)
        query = urlencode({"state": states.issue()})
        return _page(
            "register.html.j2",
            app_name=manifest.get("name", "Baton"),
            env_path=env_path,
            webhook_url=f"{base.rstrip('/')}/webhooks",
            local=httpx.URL(base).host in LOCAL_HOSTS,
            manifest=json.dumps(manifest_for(manifest, base)),
            personal_action=f"{github}/settings/apps/new?{query}",
            org=org,
            org_action=(
                f"{github}/organizations/{quote(org)}/settings/apps/new?{query}" if org_ok else None
            ),
            org_problem=(f"“{org}” is not an organisation login." if org and not org_ok else None),
            setup_path=SETUP_PATH,
        )

    async def callback(request: Request) -> HTMLResponse:
        if not states.redeem(request.query_params.get("state", "")):
            return _problem(
                403,
                "This link was not started here",
                "The registration link is unknown, used already or more than an hour old.",
            )
        if registered_already():
            return _already_registered(env_path)
        code = request.query_params.get("code", "")
        if not code:
            return _problem(400, "GitHub sent no code", "The address holds no registration code.")
        try:
            app = await exchange_code(code, api_url, transport)
            save_credentials(env_path, credentials_from(app, api_url))
        except RequestFailed as failure:
            log.warning("GitHub refused the manifest code (HTTP %s)", failure.response.status_code)
            return _problem(
                400,
                "GitHub did not accept the code",
                "The code is used already or more than an hour old. Register again; "
                "delete the App GitHub created in its settings if you do not need it.",
            )
        except RequestError:
            log.warning("GitHub could not be reached to exchange the manifest code")
            return _problem(502, "GitHub could not be reached", "Try the registration again.")
        except ValueError as problem:
            return _problem(502, "GitHub's answer cannot be saved", str(problem))
        log.info("registered GitHub App %s (id %s); credentials in %s", app.slug, app.id, env_path)
        return _page(
            "registered.html.j2",
            app_name=app.name,
            env_path=env_path,
            install_url=f"{app.html_url}/installations/new",
        )

    async def health(request: Request) -> JSONResponse:
        if registered_already():
            return JSONResponse({"status": "unavailable", "error": _RESTART}, status_code=503)
        return JSONResponse({"status": "registering"})

    return Starlette(
        routes=[
            Route("/healthz", health),
            Route("/", register),
            Route(SETUP_PATH, register),
            Route(CALLBACK_PATH, callback),
            Route("/webhooks", _delivery_before_baton_runs, methods=["POST"]),
        ]
    )


_RESTART = "Baton is not running yet: restart baton serve once the App is registered"


async def _delivery_before_baton_runs(request: Request) -> JSONResponse:
    """GitHub pings the webhook as it creates the App: answered. Any other delivery (the App
    installed before `baton serve` restarts) is refused: GitHub lists it as failed, and Baton,
    once running, asks GitHub to deliver it again."""
    if request.headers.get("x-github-event") == "ping":
        return JSONResponse({"ok": True})
    return JSONResponse({"error": _RESTART}, status_code=503)


def serve_setup(settings: Settings, *, host: str, port: int, env_path: Path = Path(".env")) -> None:
    """Serve the registration pages until stopped; BATON_PUBLIC_URL is the address GitHub sees."""
    import uvicorn

    public_url = settings.public_url
    setup = create_setup_app(
        env_path=env_path.resolve(),
        github_url=github_web_url(settings.api_url),
        api_url=settings.api_url,
        public_url=public_url,
    )
    print(
        f"baton: no GitHub App credentials yet; to register Baton, open "
        f"{setup_address(host, port, public_url)}"
    )
    # No access log and no httpx request lines: their addresses hold the registration code.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Its lines go through Baton's logging, in its format (`baton serve` set it up).
    uvicorn.run(
        setup,
        host=host,
        port=port,
        log_config=None,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


def _page(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_pages.get_template(template).render(**context), status_code=status_code)


def _problem(status_code: int, headline: str, explanation: str) -> HTMLResponse:
    return _page(
        "problem.html.j2",
        status_code,
        headline=headline,
        explanation=explanation,
        retry=True,
        setup_path=SETUP_PATH,
    )


def _already_registered(env_path: Path) -> HTMLResponse:
    return _page(
        "problem.html.j2",
        409,
        headline="Baton is registered already",
        explanation=f"{env_path} holds App credentials: restart baton serve to run Baton.",
        retry=False,
        setup_path=SETUP_PATH,
    )
