"""The REST operations Baton uses, answered the way GitHub answers them."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from app.sandbox.changes import Changes
from app.sandbox.graphql import GraphQLEndpoint
from app.sandbox.http import (
    Call,
    Reply,
    Router,
    error,
    int_param,
    not_found,
    page_of,
    since_param,
    validation_failed,
)
from app.sandbox.manifests import ManifestConversions
from app.sandbox.shapes import REACTION_CONTENTS, Shapes, iso
from app.sandbox.webhooks import Hookshot
from app.sandbox.world import (
    ROLES,
    AccessToken,
    Account,
    Comment,
    Installation,
    Issue,
    Reaction,
    Repo,
    World,
)

TOKEN_LIFETIME = timedelta(hours=1)
BODY_LIMIT = 65_536  # characters of an issue or comment body (GitHub counts characters, not bytes)
JWT_LONGEST = 600  # seconds between iat and exp that GitHub accepts
LEVELS = {"none": 0, "read": 1, "write": 2, "admin": 3}
PERMISSION_OF_ROLE = {
    "read": "read",
    "triage": "read",
    "write": "write",
    "maintain": "write",
    "admin": "admin",
}


def bearer(headers: dict[str, str]) -> str | None:
    parts = headers.get("authorization", "").split()
    return parts[1] if len(parts) == 2 and parts[0].lower() in ("token", "bearer") else None


def is_jwt(credential: str) -> bool:
    return credential.count(".") == 2


@dataclass
class AppIdentity:
    app_id: int
    slug: str
    public_key_pem: bytes
    created_at: datetime
    owner: Account


class GitHubApi:
    def __init__(
        self,
        world: World,
        shapes: Shapes,
        changes: Changes,
        hookshot: Hookshot,
        identity: AppIdentity,
        clock: Callable[[], datetime],
    ) -> None:
        self.world = world
        self.shapes = shapes
        self.changes = changes
        self.hookshot = hookshot
        self.identity = identity
        self.clock = clock
        self.manifests = ManifestConversions(world, shapes, clock)
        self.router = Router()
        self._register()

    def _register(self) -> None:
        repo = "/repos/{owner}/{repo}"
        issue = f"{repo}/issues/{{issue_number}}"
        comment = f"{repo}/issues/comments/{{comment_id}}"
        for method, template, handler in (
            ("GET", "/app", self.get_app),
            ("GET", "/app/installations", self.list_installations),
            ("GET", "/installation/repositories", self.list_installation_repositories),
            ("GET", "/app/hook/deliveries", self.list_deliveries),
            ("POST", "/app/hook/deliveries/{delivery_id}/attempts", self.redeliver),
            ("POST", "/app/installations/{installation_id}/access_tokens", self.mint_token),
            ("GET", f"{repo}/installation", self.get_repo_installation),
            ("GET", repo, self.get_repo),
            ("GET", f"{repo}/assignees/{{assignee}}", self.check_assignee),
            ("GET", f"{repo}/collaborators/{{username}}/permission", self.get_permission),
            ("GET", f"{repo}/contents/{{path}}", self.get_content),
            ("GET", f"{repo}/labels", self.list_labels),
            ("POST", f"{repo}/labels", self.create_label),
            ("GET", f"{repo}/issues", self.list_issues),
            ("POST", f"{repo}/issues", self.create_issue),
            ("GET", comment, self.get_comment),
            ("PATCH", comment, self.update_comment),
            ("POST", f"{comment}/reactions", self.react),
            ("GET", issue, self.get_issue),
            ("PATCH", issue, self.update_issue),
            ("POST", f"{issue}/assignees", self.add_assignees),
            ("DELETE", f"{issue}/assignees", self.remove_assignees),
            ("GET", f"{issue}/comments", self.list_comments),
            ("POST", f"{issue}/comments", self.create_comment),
            ("POST", f"{issue}/labels", self.add_labels),
            ("DELETE", f"{issue}/labels/{{name}}", self.remove_label),
            ("GET", f"{issue}/timeline", self.timeline),
            ("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}", self.team_membership),
            ("GET", "/search/issues", self.search_issues),
            ("POST", "/graphql", GraphQLEndpoint(self).answer),
            ("POST", "/app-manifests/{code}/conversions", self.manifests.convert),
        ):
            self.router.add(method, template, handler)

    # -- authentication -------------------------------------------------------------------
    def token_for(self, headers: dict[str, str]) -> AccessToken | None:
        credential = bearer(headers)
        if credential is None or is_jwt(credential):
            return None
        token = self.world.tokens.get(credential)
        return token if token is not None and token.expires_at > self.clock() else None

    def require_app(self, call: Call) -> None:
        credential = bearer(call.headers)
        if credential is None or not is_jwt(credential):
            raise error(401, "A JSON web token could not be decoded")
        try:
            claims = jwt.decode(
                credential,
                self.identity.public_key_pem,
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"], "verify_iat": False},
                leeway=60,
            )
        except jwt.PyJWTError as exc:
            raise error(401, "A JSON web token could not be decoded") from exc
        if str(claims["iss"]) != str(self.identity.app_id):
            raise error(401, "'Issuer' claim ('iss') must be an Integer")
        if claims["exp"] - claims["iat"] > JWT_LONGEST:
            raise error(401, "'Expiration time' claim ('exp') is too far in the future")
        if claims["iat"] > time.time() + 60:
            raise error(
                401, "'Issued at' claim ('iat') must be an Integer representing a past time"
            )

    def authorize(self, call: Call, permission: str, level: str) -> AccessToken:
        token = self.token_for(call.headers)
        if token is None:
            raise error(401, "Bad credentials")
        granted = token.installation.permissions.get(permission, "none")
        if LEVELS[granted] < LEVELS[level]:
            raise error(403, "Resource not accessible by integration")
        return token

    def repo_for(self, call: Call, permission: str, level: str) -> tuple[Repo, Account]:
        """The repository in the path and the account acting, or GitHub's refusal.

        A repository the token cannot see is 404 even when the permission is also missing,
        as on GitHub, so visibility is checked first.
        """
        token = self.token_for(call.headers)
        repo = self.world.repo(f"{call.params['owner']}/{call.params['repo']}")
        if token is not None and (repo is None or not _sees(token, repo)):
            raise not_found()
        self.authorize(call, permission, level)
        assert token is not None and repo is not None
        return repo, token.bot or self.bot

    @property
    def bot(self) -> Account:
        account = self.world.account(f"{self.identity.slug}[bot]")
        assert account is not None
        return account

    # -- the App --------------------------------------------------------------------------
    async def get_app(self, call: Call) -> Reply:
        self.require_app(call)
        identity = self.identity
        return Reply(
            200,
            {
                "id": identity.app_id,
                "slug": identity.slug,
                "node_id": f"MDM6QXBw{identity.app_id}",
                "client_id": f"Iv1.{identity.app_id:016x}",
                "owner": self.shapes.user(identity.owner),
                "name": identity.slug.capitalize(),
                "description": "Incident response on GitHub issues",
                "external_url": self.shapes.app_url(identity.slug),
                "html_url": self.shapes.app_url(identity.slug),
                "created_at": iso(identity.created_at),
                "updated_at": iso(identity.created_at),
                "permissions": {"issues": "write", "metadata": "read", "contents": "read"},
                "events": ["issues", "issue_comment"],
                "installations_count": len(self.world.installations),
            },
        )

    async def get_repo(self, call: Call) -> Reply:
        repo, _ = self.repo_for(call, "metadata", "read")
        shaped = self.shapes.repository(repo, repo.open_issues)
        return Reply(200, {**shaped, "network_count": 0, "subscribers_count": 0})

    async def get_repo_installation(self, call: Call) -> Reply:
        self.require_app(call)
        repo = self.world.repo(f"{call.params['owner']}/{call.params['repo']}")
        installation = None if repo is None else self.world.installation_for(repo)
        if installation is None:
            raise not_found()
        return Reply(200, self.installation_shape(installation))

    async def list_installations(self, call: Call) -> Reply:
        self.require_app(call)
        everyone = sorted(self.world.installations.values(), key=lambda i: i.id)
        page, link = page_of(call, everyone)
        return _listing([self.installation_shape(i) for i in page], link)

    async def list_installation_repositories(self, call: Call) -> Reply:
        token = self.token_for(call.headers)
        if token is None:
            raise error(401, "Bad credentials")
        covered = sorted(
            (r for r in self.world.repos.values() if _sees(token, r)), key=lambda r: r.id
        )
        page, link = page_of(call, covered)
        body = {
            "total_count": len(covered),
            "repository_selection": "all" if token.installation.repos is None else "selected",
            "repositories": [self.shapes.repository(r, _open_issues(r)) for r in page],
        }
        return Reply(200, body, {"link": link} if link else {})

    def installation_shape(self, installation: Installation) -> dict[str, Any]:
        return self.shapes.installation(installation, self.identity.app_id, self.identity.slug)

    async def mint_token(self, call: Call) -> Reply:
        self.require_app(call)
        installation = self.world.installations.get(_int(call.params["installation_id"]))
        if installation is None:
            raise not_found()
        token = self.issue_token(installation)
        return Reply(
            201,
            {
                "token": token,
                "expires_at": iso(self.world.tokens[token].expires_at),
                "permissions": dict(installation.permissions),
                "repository_selection": "all" if installation.repos is None else "selected",
            },
        )

    def issue_token(
        self, installation: Installation, only_repo: str | None = None, bot: Account | None = None
    ) -> str:
        token = "ghs_" + secrets.token_urlsafe(27)
        expires_at = self.clock() + TOKEN_LIFETIME
        self.world.tokens[token] = AccessToken(installation, expires_at, only_repo, bot)
        return token

    async def list_deliveries(self, call: Call) -> Reply:
        self.require_app(call)
        newest_first = sorted(self.hookshot.hook_deliveries, key=lambda d: -d.id)
        if (status := call.query.get("status")) is not None:
            newest_first = [d for d in newest_first if _delivery_ok(d.status_code) == status]
        cursor = call.query.get("cursor")
        if cursor:
            newest_first = [d for d in newest_first if d.id <= _int(cursor.removeprefix("v1_"))]
        per_page = min(max(int_param(call, "per_page", 30), 1), 100)
        page, rest = newest_first[:per_page], newest_first[per_page:]
        headers = {}
        if rest:
            url = call.url.copy_merge_params(
                {"per_page": str(per_page), "cursor": f"v1_{rest[0].id}"}
            )
            headers["link"] = f'<{url}>; rel="next"'
        items = [
            {
                "id": d.id,
                "guid": d.guid,
                "delivered_at": iso(d.delivered_at),
                "redelivery": d.redelivery,
                "duration": d.duration,
                "status": d.status,
                "status_code": d.status_code,
                "event": d.event,
                "action": d.action,
                "installation_id": d.installation_id,
                "repository_id": d.repository_id,
                "throttled_at": None,
            }
            for d in page
        ]
        return Reply(200, items, headers)

    async def redeliver(self, call: Call) -> Reply:
        self.require_app(call)
        wanted = _int(call.params["delivery_id"])
        delivery = next((d for d in self.hookshot.hook_deliveries if d.id == wanted), None)
        if delivery is None:
            raise not_found()
        self.hookshot.redeliver(delivery)
        return Reply(202, {})

    # -- issues ---------------------------------------------------------------------------
    def issue_in(self, repo: Repo, call: Call) -> Issue:
        issue = repo.issues.get(_int(call.params["issue_number"]))
        if issue is None:
            raise not_found()
        return issue

    async def get_issue(self, call: Call) -> Reply:
        repo, _ = self.repo_for(call, "issues", "read")
        return Reply(200, self.shapes.issue(repo, self.issue_in(repo, call)))

    async def create_issue(self, call: Call) -> Reply:
        repo, actor = self.repo_for(call, "issues", "write")
        body = _object(call)
        title = body.get("title")
        if not isinstance(title, str | int) or not str(title).strip():
            raise validation_failed("Issue", "missing_field", "title")
        issue = self.changes.open_issue(
            repo,
            str(title),
            _issue_body(body),
            actor,
            labels=_label_names(body.get("labels") or []),
            assignees=self.changes.assignable(repo, _assignee_logins(body)),
        )
        return Reply(201, self.shapes.issue(repo, issue))

    async def update_issue(self, call: Call) -> Reply:
        repo, actor = self.repo_for(call, "issues", "write")
        issue = self.issue_in(repo, call)
        body = _object(call)
        self.changes.edit(repo, issue, actor, _opt_str(body, "title"), _issue_body(body))
        if "labels" in body:
            self.changes.set_labels(repo, issue, _label_names(body["labels"] or []), actor)
        if "assignees" in body or "assignee" in body:
            logins = _assignee_logins(body)
            self.changes.set_assignees(repo, issue, self.changes.assignable(repo, logins), actor)
        state = body.get("state")
        if state == "closed":
            self.changes.close(repo, issue, actor, body.get("state_reason"))
        elif state == "open":
            self.changes.reopen(repo, issue, actor)
        elif state is not None:
            raise validation_failed("Issue", "invalid", "state")
        return Reply(200, self.shapes.issue(repo, issue))

    async def list_issues(self, call: Call) -> Reply:
        repo, _ = self.repo_for(call, "issues", "read")
        issues = self.filter_issues(repo.issues.values(), call)
        page, link = page_of(call, issues)
        return _listing([self.shapes.issue(repo, i) for i in page], link)

    def filter_issues(self, issues: Any, call: Call) -> list[Issue]:
        state = call.query.get("state", "open")
        wanted = {n.strip().lower() for n in call.query.get("labels", "").split(",") if n.strip()}
        since = since_param(call)
        chosen = [
            i
            for i in issues
            if state in ("all", i.state)
            and wanted <= {label.name.lower() for label in i.labels}
            and (since is None or i.updated_at >= since)
        ]
        sort = call.query.get("sort", "created")
        key = {"updated": "updated_at", "comments": "comments"}.get(sort, "created_at")
        descending = call.query.get("direction", "desc") == "desc"
        chosen.sort(key=lambda i: (_sort_value(i, key), i.number), reverse=descending)
        return chosen

    # -- comments -------------------------------------------------------------------------
    def comment_in(self, repo: Repo, call: Call) -> tuple[Issue, Comment]:
        found = self.world.find_comment(repo, _int(call.params["comment_id"]))
        if found is None:
            raise not_found()
        return found

    async def list_comments(self, call: Call) -> Reply:
        repo, _ = self.repo_for(call, "issues", "read")
        since = since_param(call)
        comments = [
            c for c in self.issue_in(repo, call).comments if since is None or c.updated_at >= since
        ]
        page, link = page_of(call, comments)
        return _listing([self.shapes.comment(repo, c) for c in page], link)

    async def create_comment(self, call: Call) -> Reply:
        repo, actor = self.repo_for(call, "issues", "write")
        issue = self.issue_in(repo, call)
        text = _comment_body(call)
        comment = self.changes.comment(repo, issue, text, actor)
        return Reply(201, self.shapes.comment(repo, comment))

    async def get_comment(self, call: Call) -> Reply:
        repo, _ = self.repo_for(call, "issues", "read")
        return Reply(200, self.shapes.comment(repo, self.comment_in(repo, call)[1]))

    async def update_comment(self, call: Call) -> Reply:
        repo, actor = self.repo_for(call, "issues", "write")
        issue, comment = self.comment_in(repo, call)
        text = _comment_body(call)
        self.changes.edit_comment(repo, issue, comment, text, actor)
        return Reply(200, self.shapes.comment(repo, comment))

    async def react(self, call: Call) -> Reply:
        repo, actor = self.repo_for(call, "issues", "write")
        _, comment = self.comment_in(repo, call)
        content = _object(call).get("content")
        if content not in REACTION_CONTENTS:
            raise validation_failed("Reaction", "invalid", "content")
        for reaction in comment.reactions:
            if reaction.user == actor and reaction.content == content:
                return Reply(200, self.shapes.reaction(reaction))
        reaction = Reaction(self.world.next_id(), actor, content, self.clock())
        comment.reactions.append(reaction)
        return Reply(201, self.shapes.reaction(reaction))

    # -- labels ---------------------------------------------------------------------------
    async def list_labels(self, call: Call) -> Reply:
        repo, _ = self.repo_for(call, "issues", "read")
        page, link = page_of(call, sorted(repo.labels.values(), key=lambda lb: lb.name.lower()))
        return _listing([self.shapes.rest_label(repo, lb) for lb in page], link)

    async def create_label(self, call: Call) -> Reply:
        repo, _ = self.repo_for(call, "issues", "write")
        body = _object(call)
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise validation_failed("Label", "missing_field", "name")
        if repo.label(name) is not None:
            raise validation_failed("Label", "already_exists", "name")
        label = self.changes.ensure_label(repo, name)
        label.color = str(body.get("color", "ededed")).removeprefix("#").lower()
        label.description = body.get("description")
        return Reply(201, self.shapes.rest_label(repo, label))

    async def add_labels(self, call: Call) -> Reply:
        repo, actor = self.repo_for(call, "issues", "write")
        issue = self.issue_in(repo, call)
        raw = call.json.get("labels", []) if isinstance(call.json, dict) else call.json
        self.changes.add_labels(repo, issue, _label_names(raw or []), actor)
        return Reply(200, [self.shapes.rest_label(repo, lb) for lb in issue.labels])

    async def remove_label(self, call: Call) -> Reply:
        repo, actor = self.repo_for(call, "issues", "write")
        issue = self.issue_in(repo, call)
        label = repo.label(call.params["name"])
        if label is None or label not in issue.labels:
            raise error(404, "Label does not exist")
        self.changes.remove_label(repo, issue, label, actor)
        return Reply(200, [self.shapes.rest_label(repo, lb) for lb in issue.labels])

    # -- assignees ------------------------------------------------------------------------
    async def add_assignees(self, call: Call) -> Reply:
        repo, actor = self.repo_for(call, "issues", "write")
        issue = self.issue_in(repo, call)
        added = self.changes.assignable(repo, _assignee_logins(_object(call)))
        self.changes.set_assignees(repo, issue, [*issue.assignees, *added], actor)
        return Reply(201, self.shapes.issue(repo, issue))

    async def remove_assignees(self, call: Call) -> Reply:
        repo, actor = self.repo_for(call, "issues", "write")
        issue = self.issue_in(repo, call)
        gone = {login.lower() for login in _assignee_logins(_object(call))}
        kept = [a for a in issue.assignees if a.login.lower() not in gone]
        self.changes.set_assignees(repo, issue, kept, actor)
        return Reply(200, self.shapes.issue(repo, issue))

    async def check_assignee(self, call: Call) -> Reply:
        repo, _ = self.repo_for(call, "issues", "read")
        if not self.changes.assignable(repo, [call.params["assignee"]]):
            raise not_found()
        return Reply(204)

    # -- people ---------------------------------------------------------------------------
    async def get_permission(self, call: Call) -> Reply:
        repo, _ = self.repo_for(call, "metadata", "read")
        account = self.world.account(call.params["username"])
        if account is None:
            raise not_found()
        role = repo.role_of(account.login)
        if role is None and not repo.private:
            role = "read"  # a public repository reports read access for anyone
        permission = PERMISSION_OF_ROLE[role] if role else "none"
        user = self.shapes.collaborator(account, role, _permission_flags(role))
        return Reply(200, {"permission": permission, "role_name": role or "none", "user": user})

    async def team_membership(self, call: Call) -> Reply:
        token = self.authorize(call, "members", "read")
        org = call.params["org"].lower()
        if token.installation.account.login.lower() != org:
            raise not_found()
        members = self.world.teams.get((org, call.params["team_slug"].lower()))
        username = call.params["username"]
        if members is None or username.lower() not in members:
            raise not_found()
        url = (
            f"{self.shapes.api}/orgs/{org}/teams/{call.params['team_slug']}/memberships/{username}"
        )
        return Reply(200, {"url": url, "role": "member", "state": "active"})

    # -- contents -------------------------------------------------------------------------
    async def get_content(self, call: Call) -> Reply:
        repo, _ = self.repo_for(call, "contents", "read")
        ref = call.query.get("ref", repo.default_branch)
        if ref not in (repo.default_branch, f"refs/heads/{repo.default_branch}"):
            raise error(404, f"No commit found for the ref {ref}")
        path = call.params["path"].strip("/")
        stored = repo.files.get(path)
        if stored is None:
            raise not_found()
        data = stored.text.encode()
        encoded = base64.b64encode(data).decode()
        api_url = f"{self.shapes.api}/repos/{repo.full_name}"
        html_url = f"{self.shapes.web}/{repo.full_name}/blob/{repo.default_branch}/{path}"
        git_url = f"{api_url}/git/blobs/{stored.sha}"
        self_url = f"{api_url}/contents/{path}?ref={repo.default_branch}"
        return Reply(
            200,
            {
                "type": "file",
                "encoding": "base64",
                "size": len(data),
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "content": "\n".join(encoded[i : i + 60] for i in range(0, len(encoded), 60)),
                "sha": stored.sha,
                "url": self_url,
                "git_url": git_url,
                "html_url": html_url,
                "download_url": f"https://raw.githubusercontent.com/{repo.full_name}/"
                f"{repo.default_branch}/{path}",
                "_links": {"self": self_url, "git": git_url, "html": html_url},
            },
        )

    # -- timeline and search --------------------------------------------------------------
    async def timeline(self, call: Call) -> Reply:
        repo, _ = self.repo_for(call, "issues", "read")
        issue = self.issue_in(repo, call)
        page, link = page_of(call, issue.timeline)
        return _listing([self.shapes.timeline_event(repo, issue, e) for e in page], link)

    async def search_issues(self, call: Call) -> Reply:
        token = self.authorize(call, "issues", "read")
        query = call.query.get("q", "")
        if not query.strip():
            raise validation_failed("Search", "missing", "q")
        found = [
            (repo, issue)
            for repo in self.world.repos.values()
            if token.installation.covers(repo)
            for issue in repo.issues.values()
            if _search_matches(repo, issue, query)
        ]
        found.sort(key=lambda pair: pair[1].created_at, reverse=True)
        page, link = page_of(call, found)
        items = [{**self.shapes.issue(r, i), "score": 1.0} for r, i in page]
        body = {
            "total_count": len(found),
            "incomplete_results": False,
            "items": items,
            "search_type": "lexical",
        }
        return Reply(200, body, {"link": link} if link else {})


def _sees(token: AccessToken, repo: Repo) -> bool:
    only = token.only_repo
    return token.installation.covers(repo) and (only is None or only == repo.full_name.lower())


def _search_matches(repo: Repo, issue: Issue, query: str) -> bool:
    labels = {label.name.lower() for label in issue.labels}
    text = f"{issue.title}\n{issue.body or ''}".lower()
    for term in query.split():
        qualifier, _, value = term.partition(":")
        value = value.strip('"').lower()
        checks = {
            "repo": lambda v: repo.full_name.lower() == v,
            "label": lambda v: v in labels,
            "is": lambda v: v in (issue.state, "issue"),
            "state": lambda v: v == issue.state,
        }
        if value and qualifier.lower() in checks:
            if not checks[qualifier.lower()](value):
                return False
        elif term.lower() not in text:
            return False
    return True


def _open_issues(repo: Repo) -> int:
    return sum(1 for issue in repo.issues.values() if issue.state == "open")


def _listing(items: list[Any], link: str) -> Reply:
    return Reply(200, items, {"link": link} if link else {})


def _int(raw: str) -> int:
    if not raw.isdigit():
        raise not_found()
    return int(raw)


def _object(call: Call) -> dict[str, Any]:
    if call.json is None:
        return {}
    if not isinstance(call.json, dict):
        raise error(400, "Problems parsing JSON")
    return call.json


def _opt_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    return None if value is None else str(value)


def _comment_body(call: Call) -> str:
    text = _object(call).get("body")
    if not isinstance(text, str) or not text:
        raise validation_failed("IssueComment", "missing_field", "body")
    _check_length("IssueComment", text)
    return text


def _issue_body(body: dict[str, Any]) -> str | None:
    text = _opt_str(body, "body")
    if text is not None:
        _check_length("Issue", text)
    return text


def _check_length(resource: str, text: str) -> None:
    """GitHub refuses a body longer than it keeps, counted in characters."""
    if len(text) > BODY_LIMIT:
        message = f"body is too long (maximum is {BODY_LIMIT} characters)"
        raise validation_failed(resource, "custom", "body", message)


def _label_names(raw: Any) -> list[str]:
    if not isinstance(raw, list):
        raise validation_failed("Label", "invalid", "labels")
    names = [item.get("name") if isinstance(item, dict) else item for item in raw]
    return [str(name) for name in names if name]


def _assignee_logins(body: dict[str, Any]) -> list[str]:
    logins = body.get("assignees") or []
    if body.get("assignee"):
        logins = [body["assignee"], *logins]
    return [str(login) for login in logins]


def _sort_value(issue: Issue, key: str) -> Any:
    return len(issue.comments) if key == "comments" else getattr(issue, key)


def _permission_flags(role: str | None) -> dict[str, bool]:
    rank = ROLES.index(role) if role else -1
    return {name: rank >= ROLES.index(name) for name in ("admin", "maintain", "triage")} | {
        "push": rank >= ROLES.index("write"),
        "pull": rank >= 0,
    }


def _delivery_ok(status_code: int) -> str:
    return "success" if 200 <= status_code < 300 else "failure"
