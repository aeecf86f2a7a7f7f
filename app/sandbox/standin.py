"""`StandIn`: an in-memory GitHub (REST API + App webhooks) for Baton's tests and `baton demo`."""

from __future__ import annotations

import asyncio
import hashlib
import http
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from app.sandbox.api import AppIdentity, GitHubApi, bearer, is_jwt
from app.sandbox.changes import Changes
from app.sandbox.editions import GITHUB_COM, Edition, graphql_path
from app.sandbox.faults import Fault, FaultPlan
from app.sandbox.http import Call, RateLimits, Refusal, Reply, Window, error
from app.sandbox.shapes import JSON, Shapes
from app.sandbox.webhooks import Hookshot, SentDelivery, WebhookSink
from app.sandbox.world import (
    ROLES,
    Account,
    Installation,
    Issue,
    Repo,
    StoredFile,
    World,
)

DEFAULT_PERMISSIONS = {
    "issues": "write",
    "metadata": "read",
    "contents": "read",
    "members": "read",
    "organization_projects": "write",
}
ACTIONS_PERMISSIONS = {"issues": "write", "metadata": "read", "contents": "read"}
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
TOKEN_ROUTE = "/app/installations/{installation_id}/access_tokens"
CONTENT_CREATING_ROUTES = frozenset(
    {
        "/repos/{owner}/{repo}/issues",
        "/repos/{owner}/{repo}/issues/{issue_number}/comments",
    }
)
SECONDARY_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID {request_id}."
)
RATE_LIMIT_DOCS = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class RecordedRequest:
    method: str
    path: str
    route: str | None  # the template, e.g. "/repos/{owner}/{repo}/issues/{issue_number}"
    status: int
    installation_id: int | None
    json: Any
    at: datetime
    api_version: str | None = None  # the X-GitHub-Api-Version header, if the request had one


class ConnectionDropped(Exception):
    """Raised after a "drop" fault's response has started, so the connection is cut."""


class _DroppingTransport(httpx.AsyncBaseTransport):
    def __init__(self, app: Starlette) -> None:
        self.inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self.inner.handle_async_request(request)
        except ConnectionDropped as exc:
            raise httpx.ReadError("the stand-in dropped the connection", request=request) from exc

    async def aclose(self) -> None:
        await self.inner.aclose()


class StandIn:
    def __init__(
        self,
        *,
        app_id: int,
        app_public_key_pem: bytes,
        webhook_secret: str,
        app_slug: str = "baton",
        webhook_sink: WebhookSink | None = None,
        clock: Callable[[], datetime] = utc_now,
        base_url: str | None = None,
        core_rate_limit: int | None = None,
        edition: Edition = GITHUB_COM,
    ) -> None:
        self.clock = clock
        self.edition = edition
        self.base_url = (base_url or edition.base_url).rstrip("/")
        self.world = World()
        self.shapes = Shapes(self.base_url, edition)
        self.hookshot = Hookshot(
            secret=webhook_secret, app_id=app_id, sink=webhook_sink, clock=clock
        )
        self.changes = Changes(self.world, self.shapes, self.hookshot, clock)
        self.bot = self._account(f"{app_slug}[bot]", "Bot")
        self.actions_bot = self._account("github-actions[bot]", "Bot")
        identity = AppIdentity(
            app_id, app_slug, app_public_key_pem, clock(), self._account(f"{app_slug}-owner")
        )
        self.api = GitHubApi(self.world, self.shapes, self.changes, self.hookshot, identity, clock)
        self.faults = FaultPlan()
        self.requests: list[RecordedRequest] = []
        self.app = Starlette(routes=[Route("/{rest:path}", _Endpoint(self))])
        self._rate_limits = RateLimits(clock, core_limit=core_rate_limit)

    # -- world set-up (no webhooks) -------------------------------------------------------
    def add_user(self, login: str, *, type: str = "User") -> JSON:
        return self.shapes.user(self._account(login, type))

    def add_org(self, login: str) -> JSON:
        account = self._account(login, "Organization")
        account.type = "Organization"
        return self.shapes.user(account)

    def add_repo(
        self, full_name: str, *, default_branch: str = "main", private: bool = False
    ) -> JSON:
        owner_login, name = full_name.split("/", 1)
        repo = Repo(
            self.world.next_id(),
            self._account(owner_login),
            name,
            default_branch,
            private,
            self.clock(),
        )
        self.world.repos[full_name.lower()] = repo
        return self.shapes.repository(repo, 0)

    def add_team(self, org: str, slug: str, members: list[str]) -> None:
        for login in members:
            self._account(login)
        self.world.teams[(org.lower(), slug.lower())] = {m.lower() for m in members}

    def install(
        self,
        account: str,
        repos: list[str] | None = None,
        permissions: dict[str, str] | None = None,
    ) -> int:
        owner = self._account(account)
        chosen = None if repos is None else {_full_name(owner.login, r) for r in repos}
        installation = Installation(
            self.world.next_id(),
            owner,
            chosen,
            dict(DEFAULT_PERMISSIONS if permissions is None else permissions),
            self.clock(),
        )
        self.world.installations[installation.id] = installation
        return installation.id

    def set_role(self, full_name: str, login: str, role: str) -> None:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")
        self._account(login)
        self._repo(full_name).roles[login.lower()] = role

    def put_file(self, full_name: str, path: str, text: str) -> None:
        self._repo(full_name).files[path.strip("/")] = StoredFile.of(text)

    def actions_token(self, full_name: str) -> str:
        repo = self._repo(full_name)
        workflow_installation = Installation(
            self.world.next_id(),
            repo.owner,
            {repo.full_name.lower()},
            dict(ACTIONS_PERMISSIONS),
            self.clock(),
        )
        return self.api.issue_token(
            workflow_installation, only_repo=repo.full_name.lower(), bot=self.actions_bot
        )

    # -- human actions (change the world and send the webhooks) ---------------------------
    async def install_app(self, account: str, *, by: str, repos: list[str] | None = None) -> int:
        """`by` installs the App on `account` (every repository, or `repos`): GitHub sends
        `installation.created`, listing the repositories, to the App's webhook."""
        installation = self.world.installations[self.install(account, repos)]
        covered = [r for r in self.world.repos.values() if installation.covers(r)]
        self._announce_installation(
            "installation", installation, by, repositories=self._listed(covered), requester=None
        )
        return installation.id

    async def add_to_installation(self, installation_id: int, repos: list[str], *, by: str) -> None:
        """`by` gives the installation more repositories: `installation_repositories.added`."""
        installation = self.world.installations[installation_id]
        added = [self._repo(_full_name(installation.account.login, r)) for r in repos]
        added = [r for r in added if not installation.covers(r)]
        if installation.repos is None or not added:
            return
        installation.repos |= {r.full_name.lower() for r in added}
        self._announce_installation(
            "installation_repositories",
            installation,
            by,
            action="added",
            repository_selection="selected",
            repositories_added=self._listed(added),
            repositories_removed=[],
            requester=None,
        )

    async def submit_form(
        self, full_name: str, title: str, body: str, author: str, labels: Iterable[str]
    ) -> JSON:
        """An issue form submitted: the form's labels that the repository does not have are
        dropped without a word, as GitHub does."""
        repo = self._repo(full_name)
        kept = [name for name in labels if repo.label(name) is not None]
        return await self.open_issue(full_name, title, body, author, kept)

    async def open_issue(
        self, full_name: str, title: str, body: str | None, author: str, labels: Iterable[str] = ()
    ) -> JSON:
        repo = self._repo(full_name)
        issue = self.changes.open_issue(repo, title, body, self._account(author), labels)
        return self.shapes.issue(repo, issue)

    async def add_labels(
        self, full_name: str, number: int, labels: Iterable[str], actor: str
    ) -> None:
        repo, issue = self._issue(full_name, number)
        self.changes.add_labels(repo, issue, labels, self._account(actor))

    async def remove_label(self, full_name: str, number: int, label: str, actor: str) -> None:
        repo, issue = self._issue(full_name, number)
        found = repo.label(label)
        if found is None or found not in issue.labels:
            raise KeyError(f"label {label!r} is not on {full_name}#{number}")
        self.changes.remove_label(repo, issue, found, self._account(actor))

    async def comment(
        self,
        full_name: str,
        number: int,
        body: str,
        author: str,
        *,
        created_at: datetime | None = None,
    ) -> JSON:
        repo, issue = self._issue(full_name, number)
        made = self.changes.comment(repo, issue, body, self._account(author), created_at)
        return self.shapes.comment(repo, made)

    async def delete_comment(self, full_name: str, comment_id: int, actor: str) -> None:
        repo = self._repo(full_name)
        found = self.world.find_comment(repo, comment_id)
        if found is None:
            raise KeyError(f"no comment {comment_id} in {full_name}")
        self.changes.delete_comment(repo, *found, self._account(actor))

    async def edit_body(self, full_name: str, number: int, body: str, actor: str) -> None:
        repo, issue = self._issue(full_name, number)
        self.changes.edit(repo, issue, self._account(actor), None, body)

    async def close_issue(
        self, full_name: str, number: int, actor: str, reason: str = "completed"
    ) -> None:
        repo, issue = self._issue(full_name, number)
        self.changes.close(repo, issue, self._account(actor), reason)

    async def reopen_issue(self, full_name: str, number: int, actor: str) -> None:
        repo, issue = self._issue(full_name, number)
        self.changes.reopen(repo, issue, self._account(actor))

    async def assign(self, full_name: str, number: int, logins: list[str], actor: str) -> None:
        repo, issue = self._issue(full_name, number)
        added = self.changes.assignable(repo, logins)
        self.changes.set_assignees(repo, issue, [*issue.assignees, *added], self._account(actor))

    async def push_file(
        self, full_name: str, path: str, text: str | None, pusher: str, *, branch: str | None = None
    ) -> None:
        """Commit one file (None: remove it) and push it, to the default branch unless `branch`
        names another; GitHub sends a `push` delivery."""
        await self.push(full_name, [{path.strip("/"): text}], pusher, branch=branch)

    async def push(
        self,
        full_name: str,
        commits: Sequence[Mapping[str, str | None]],
        pusher: str,
        *,
        branch: str | None = None,
    ) -> None:
        """Push commits, each a mapping of paths to their new text (None: removed)."""
        repo = self._repo(full_name)
        self.changes.push(repo, branch or repo.default_branch, commits, self._account(pusher))

    async def settle(self) -> None:
        await self.hookshot.settle()

    # -- inspection -----------------------------------------------------------------------
    def issue(self, full_name: str, number: int) -> JSON:
        repo, issue = self._issue(full_name, number)
        return self.shapes.issue(repo, issue)

    def comments(self, full_name: str, number: int) -> list[JSON]:
        repo, issue = self._issue(full_name, number)
        return [self.shapes.comment(repo, c) for c in issue.comments]

    def issues(self, full_name: str) -> list[JSON]:
        repo = self._repo(full_name)
        return [self.shapes.issue(repo, i) for i in sorted(repo.issues.values(), key=_number)]

    @property
    def deliveries(self) -> list[SentDelivery]:
        return self.hookshot.deliveries

    def count(
        self,
        *,
        method: str | None = None,
        route: str | None = None,
        writes_only: bool = False,
        content_creating: bool = False,
    ) -> int:
        return sum(
            1
            for r in self.requests
            if (method is None or r.method == method.upper())
            and (route is None or r.route == route)
            and (not writes_only or (r.method in WRITE_METHODS and r.route != TOKEN_ROUTE))
            and (
                not content_creating or (r.method == "POST" and r.route in CONTENT_CREATING_ROUTES)
            )
        )

    def reset_requests(self) -> None:
        self.requests.clear()

    def transport(self) -> httpx.AsyncBaseTransport:
        return _DroppingTransport(self.app)

    # -- answering requests ---------------------------------------------------------------
    async def answer(self, request: Request) -> tuple[Reply, bool]:
        """GitHub's reply to one request, and whether to drop the connection after it."""
        method = request.method
        headers = {k.lower(): v for k, v in request.headers.items()}
        path = self._route_path(request.url.path)
        matched = self.api.router.match(method, path) if path is not None else None
        path = path or request.url.path
        template = matched[0].template if matched else None
        token = self.api.token_for(headers)
        installation_id = (
            token.installation.id if token is not None and token.only_repo is None else None
        )
        resource = "search" if template == "/search/issues" else "core"
        window = self._rate_limits.window(_caller(headers, token), resource)
        raw = await request.body()
        fault = self.faults.take(method, template or path)
        drop = fault is not None and fault.kind == "drop"
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.kind not in ("slow", "drop"):
            reply = self._fault_reply(fault, installation_id)
        else:
            reply = await self._handle(method, request, matched, headers, raw, window)
        reply.headers = {**RateLimits.headers(window, resource), **reply.headers}
        self.requests.append(
            RecordedRequest(
                method,
                path,
                template,
                reply.status,
                installation_id,
                _parsed(raw),
                self.clock(),
                headers.get("x-github-api-version"),
            )
        )
        return reply, drop

    async def _handle(
        self,
        method: str,
        request: Request,
        matched: Any,
        headers: dict[str, str],
        raw: bytes,
        window: Window,
    ) -> Reply:
        if window.used >= window.limit:
            return _limit_reply(
                403, "API rate limit exceeded. Wait for the reset.", RATE_LIMIT_DOCS
            )
        version = headers.get("x-github-api-version")
        if version is not None and (refusal := self.edition.refusal_of_version(version)):
            return error(400, refusal).reply
        if matched is None:
            return error(404, "Not Found").reply
        route, params = matched
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return error(400, "Problems parsing JSON").reply
        call = Call(
            method, httpx.URL(str(request.url)), params, dict(request.query_params), body, headers
        )
        try:
            reply = await route.handler(call)
        except Refusal as refusal:
            reply = refusal.reply
        reply = _with_etag(method, reply, headers)
        if reply.status != 304:
            window.used += 1
        return reply

    def _fault_reply(self, fault: Fault, installation_id: int | None) -> Reply:
        if fault.kind == "secondary_rate_limit":
            message = SECONDARY_LIMIT_MESSAGE.format(request_id="C0DE:5AFE:1D:2B:3C")
            reply = _limit_reply(403, message, RATE_LIMIT_DOCS)
            reply.headers["retry-after"] = str(fault.retry_after)
            return reply
        if fault.kind == "rate_limit":
            who = f" for installation ID {installation_id}" if installation_id else ""
            status = 429 if fault.status == 429 else 403
            reply = _limit_reply(status, f"API rate limit exceeded{who}.", RATE_LIMIT_DOCS)
            reset = self.clock() + timedelta(seconds=fault.retry_after)
            reply.headers.update(
                {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(reset.timestamp()))}
            )
            return reply
        return error(fault.status, _phrase(fault.status)).reply

    # -- helpers --------------------------------------------------------------------------
    def _route_path(self, path: str) -> str | None:
        """The request's path as the routes know it: without the API's prefix (`/api/v3` on
        Enterprise Server), and GraphQL wherever the edition serves it as `/graphql`; None
        outside the API (on Enterprise Server, the web pages)."""
        prefix = httpx.URL(self.base_url).path.rstrip("/")
        if path.rstrip("/") == graphql_path(prefix):
            return "/graphql"
        if not path.startswith(prefix):
            return None
        return path.removeprefix(prefix) or "/"

    def _listed(self, repos: Iterable[Repo]) -> list[JSON]:
        return [self.shapes.installed_repository(r) for r in sorted(repos, key=_repo_id)]

    def _announce_installation(
        self, event: str, installation: Installation, sender: str, **fields: Any
    ) -> None:
        payload = {
            "action": "created",
            **fields,
            "installation": self.api.installation_shape(installation),
            "sender": self.shapes.user(self._account(sender)),
        }
        self.hookshot.enqueue(event, payload, installation.id, None)

    def _account(self, login: str, type: str = "User") -> Account:
        account = self.world.account(login)
        if account is None:
            account = Account(login, self.world.next_id(), type)
            self.world.accounts[login.lower()] = account
        return account

    def _repo(self, full_name: str) -> Repo:
        repo = self.world.repo(full_name)
        if repo is None:
            raise KeyError(f"no repository {full_name!r}; call add_repo first")
        return repo

    def _issue(self, full_name: str, number: int) -> tuple[Repo, Issue]:
        repo = self._repo(full_name)
        if number not in repo.issues:
            raise KeyError(f"no issue {full_name}#{number}")
        return repo, repo.issues[number]


class _Endpoint:
    """The raw ASGI endpoint: lets a "drop" fault start a response and then cut it."""

    def __init__(self, standin: StandIn) -> None:
        self.standin = standin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        reply, drop = await self.standin.answer(Request(scope, receive))
        content = reply.content()
        media_type = "application/json; charset=utf-8" if reply.body is not None else None
        response = Response(content, reply.status, reply.headers, media_type)
        if drop:
            await send(
                {
                    "type": "http.response.start",
                    "status": reply.status,
                    "headers": response.raw_headers,
                }
            )
            raise ConnectionDropped
        await response(scope, receive, send)


def _limit_reply(status: int, message: str, docs: str) -> Reply:
    return Reply(status, {"message": message, "documentation_url": docs, "status": str(status)})


def _caller(headers: dict[str, str], token: Any) -> str:
    if token is not None:
        return f"installation:{token.installation.id}"
    credential = bearer(headers)
    return "app" if credential is not None and is_jwt(credential) else "anonymous"


def _with_etag(method: str, reply: Reply, headers: dict[str, str]) -> Reply:
    if method != "GET" or reply.status != 200:
        return reply
    etag = f'W/"{hashlib.sha256(reply.content()).hexdigest()[:40]}"'
    if etag in {tag.strip() for tag in headers.get("if-none-match", "").split(",")}:
        return Reply(304, None, {"etag": etag})
    return Reply(reply.status, reply.body, {**reply.headers, "etag": etag})


def _parsed(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Server Error"


def _full_name(owner: str, repo: str) -> str:
    return (repo if "/" in repo else f"{owner}/{repo}").lower()


def _number(issue: Issue) -> int:
    return issue.number


def _repo_id(repo: Repo) -> int:
    return repo.id
