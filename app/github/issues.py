"""GitHub operations on issues, comments, labels and people, each a few typed githubkit calls."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from githubkit.exception import RequestFailed
from githubkit.utils import UNSET
from githubkit_schemas.v2022_11_28.models import IssueComment

from app.config import Config
from app.github.client import (
    AmbiguousWrite,
    GitHubSession,
    GitHubUnavailable,
    Precedence,
    is_forbidden,
    query_time,
)
from app.github.fields import NamedLabel, Permission, read_as
from app.incident.effects import IssueView, NewIssue, Reply, UserFacts
from app.incident.labels import colour_for, description_for
from app.incident.limits import fit
from app.incident.retrospective import IncidentComment

ROLE_RANK = {"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}
REPLY_MARKER = "<!-- baton:reply {key} -->"
ISSUE_MARKER = "<!-- baton:issue {key} -->"


def split_repo(repo: str) -> tuple[str, str]:
    owner, _, name = repo.partition("/")
    return owner, name


def issue_view(repo: str, issue: Any) -> IssueView:
    """An IssueView from githubkit's Issue model (REST or webhook payload)."""
    return IssueView(
        repo=repo,
        number=issue.number,
        title=issue.title or "",
        body=issue.body or "",
        author=issue.user.login if issue.user else "",
        labels=tuple(
            label if isinstance(label, str) else (label.name or "") for label in issue.labels
        ),
        assignees=tuple(a.login for a in (issue.assignees or [])),
        state=str(issue.state),
        html_url=issue.html_url,
        node_id=issue.node_id,
        updated_at=issue.updated_at,
    )


async def load_issue(session: GitHubSession, repo: str, number: int) -> IssueView:
    owner, name = split_repo(repo)
    response = await session.read(lambda: session.rest.issues.async_get(owner, name, number))
    view = issue_view(repo, response.parsed_data)
    session.labels_known_in(repo).names.update(view.labels)
    return view


async def update_issue(
    session: GitHubSession, repo: str, number: int, changes: dict[str, Any]
) -> IssueView:
    """The issue as GitHub has it after the change."""
    owner, name = split_repo(repo)
    response = await session.write(
        lambda: session.rest.issues.async_update(owner, name, number, data=changes)
    )
    return issue_view(repo, response.parsed_data)


async def react(session: GitHubSession, repo: str, comment_id: int, content: str) -> None:
    """Reactions are idempotent on GitHub: the same one twice answers 200 and adds nothing."""
    owner, name = split_repo(repo)
    await session.write(
        lambda: session.rest.reactions.async_create_for_issue_comment(
            owner, name, comment_id, content=content
        ),
        precedence=Precedence.REACTION,
    )


async def post_reply(
    session: GitHubSession,
    repo: str,
    number: int,
    reply: Reply,
    *,
    check_first: bool = False,
    since: datetime | None = None,
) -> None:
    """Post a reply once: it carries its key as a hidden marker, and after an ambiguous failure
    (or when resuming interrupted work) the marker is looked for before posting again."""
    owner, name = split_repo(repo)
    marker = REPLY_MARKER.format(key=reply.key)
    body = fit(reply.body.rstrip(), tail=f"\n\n{marker}\n")
    if check_first and await _has_comment_with(session, repo, number, marker, since):
        return
    for _ in range(2):
        try:
            await session.write(
                lambda: session.rest.issues.async_create_comment(owner, name, number, body=body),
                idempotent=False,
                content_creating=True,
                precedence=Precedence.REPLY,
            )
            return
        except AmbiguousWrite:
            if await _has_comment_with(session, repo, number, marker, since):
                return
    raise GitHubUnavailable(f"could not post a reply on {repo}#{number}")


async def list_comments(
    session: GitHubSession, repo: str, number: int, *, since: datetime | None = None
) -> list[IncidentComment]:
    """Every comment of the issue, oldest first (for the retrospective's timeline); with
    `since`, those created or edited at or after it."""
    return [
        IncidentComment(
            id=c.id,
            author=c.user.login if c.user else "",
            created_at=c.created_at,
            body=c.body or "",
            url=c.html_url,
        )
        async for c in _comments(session, repo, number, since)
    ]


async def _has_comment_with(
    session: GitHubSession, repo: str, number: int, marker: str, since: datetime | None
) -> bool:
    async for comment in _comments(session, repo, number, since):
        if marker in (comment.body or ""):
            return True
    return False


def _comments(
    session: GitHubSession, repo: str, number: int, since: datetime | None
) -> AsyncIterator[IssueComment]:
    owner, name = split_repo(repo)
    return session.every(
        session.github.rest.paginate(
            session.rest.issues.async_list_comments,
            owner=owner,
            repo=name,
            issue_number=number,
            since=UNSET if since is None else query_time(since),
            per_page=100,
        )
    )


async def open_issue(session: GitHubSession, repo: str, issue: NewIssue) -> int:
    """Open an issue once, found again by its marker after an ambiguous failure."""
    owner, name = split_repo(repo)
    marker = ISSUE_MARKER.format(key=issue.key)
    body = fit(issue.body.rstrip(), tail=f"\n\n{marker}\n")
    await ensure_labels(session, repo, issue.labels)
    for _ in range(2):
        try:
            response = await session.write(
                lambda: session.rest.issues.async_create(
                    owner, name, title=issue.title, body=body, labels=list(issue.labels)
                ),
                idempotent=False,
                content_creating=True,
            )
            return response.parsed_data.number
        except AmbiguousWrite:
            if (found := await find_issue_with(session, repo, marker, issue.labels)) is not None:
                return found
    raise GitHubUnavailable(f"could not open an issue in {repo}")


async def find_issue_with(
    session: GitHubSession, repo: str, marker: str, labels: Sequence[str]
) -> int | None:
    owner, name = split_repo(repo)
    response = await session.read(
        lambda: session.rest.issues.async_list_for_repo(
            owner, name, state="all", labels=",".join(labels), sort="created", per_page=30
        )
    )
    return next((i.number for i in response.parsed_data if marker in (i.body or "")), None)


async def ensure_labels(
    session: GitHubSession, repo: str, names: Sequence[str], config: Config | None = None
) -> list[str]:
    """Create Baton's labels with their colours and descriptions (`config`: the names it gives
    Baton's labels, when they are not the default ones). Labels seen on issues are known to
    exist; the repository's label list is read at most once per process and repository.
    Returns the names of the labels created."""
    known = session.labels_known_in(repo)
    missing = [n for n in names if n not in known.names]
    if not missing:
        return []
    owner, name = split_repo(repo)
    if not known.listed:
        labels = session.github.rest.paginate(
            session.rest.issues.async_list_labels_for_repo,
            lambda response: read_as(response, list[NamedLabel]),
            owner=owner,
            repo=name,
            per_page=100,
        )
        known.names.update([label.name async for label in session.every(labels)])
        known.listed = True
    created: list[str] = []
    for label in [n for n in missing if n not in known.names]:
        try:
            await session.write(
                lambda label=label: session.rest.issues.async_create_label(  # type: ignore[misc]
                    owner,
                    name,
                    name=label,
                    color=colour_for(label, config),
                    description=description_for(label, config),
                )
            )
        except RequestFailed as error:
            if error.response.status_code != 422:  # 422: it exists already
                raise
        else:
            created.append(label)
        known.names.add(label)
    return created


async def role_of(session: GitHubSession, repo: str, login: str) -> str | None:
    """The user's repository role (`role_name`: read, triage, write, maintain, admin, or none);
    None if the user does not exist. Cached briefly per repository and user."""
    with suppress(KeyError):  # None is a role remembered too: no such user
        return session.caches.roles[(repo, login)]
    owner, name = split_repo(repo)
    response = await session.read_if_found(
        lambda: session.rest.repos.async_get_collaborator_permission_level(owner, name, login)
    )
    role: str | None = None
    if response is not None:
        access = read_as(response, Permission)
        role = access.role_name or access.permission or "none"
    session.caches.roles[(repo, login)] = role
    return role


@dataclass(frozen=True)
class Responder:
    """Whether a user counts as a responder, and the responder teams GitHub would not show."""

    is_responder: bool
    unseen_teams: tuple[str, ...] = ()


async def in_team(session: GitHubSession, team: str, login: str) -> bool | None:
    """Whether the user is an active member of the team; None when GitHub will not say (403:
    a workflow's token has no `members` permission)."""
    org, _, slug = team.partition("/")
    try:
        response = await session.read_if_found(
            lambda: session.rest.teams.async_get_membership_for_user_in_org(org, slug, login)
        )
    except RequestFailed as error:
        if is_forbidden(error):
            return None
        raise
    return response is not None and str(response.parsed_data.state) == "active"


async def can_be_assigned(
    session: GitHubSession, repo: str, login: str, *, role: str | None = None
) -> bool:
    """Whether GitHub would assign the user to the repository's issues. Anyone with explicit
    access may be assigned; `triage` and above are only ever granted explicitly (as a
    collaborator, through a team, or as an organisation's base permission), so such a role
    answers without a request. `read` does not: a public repository reports it for everyone."""
    if role is not None and ROLE_RANK.get(role, 0) >= ROLE_RANK["triage"]:
        return True
    owner, name = split_repo(repo)
    found = await session.read_if_found(
        lambda: session.rest.issues.async_check_user_can_be_assigned(owner, name, login)
    )
    return found is not None


async def responder_check(
    session: GitHubSession,
    repo: str,
    login: str,
    *,
    minimum: str,
    teams: Sequence[str],
    role: str | None = None,
) -> Responder:
    """A responder has at least the minimum role, or belongs to one of the responder teams.
    A team whose members GitHub will not show counts as one the user is not in, and is named."""
    role = role if role is not None else await role_of(session, repo, login)
    if role is not None and ROLE_RANK.get(role, 0) >= ROLE_RANK.get(minimum, 2):
        return Responder(True)
    unseen: list[str] = []
    for team in teams:
        member = await in_team(session, team, login)
        if member:
            return Responder(True)
        if member is None:
            unseen.append(team)
    return Responder(False, unseen_teams=tuple(unseen))


async def user_facts(
    session: GitHubSession,
    repo: str,
    login: str,
    *,
    minimum: str,
    teams: Sequence[str],
    needs_assignable: bool,
) -> UserFacts:
    role = await role_of(session, repo, login)
    if role is None:
        return UserFacts(exists=False, assignable=False, is_responder=False)
    return UserFacts(
        exists=True,
        assignable=(
            await can_be_assigned(session, repo, login, role=role) if needs_assignable else True
        ),
        is_responder=(
            await responder_check(session, repo, login, minimum=minimum, teams=teams, role=role)
        ).is_responder,
    )


async def fetch_file(session: GitHubSession, owner: str, repo: str, path: str) -> str | None:
    """A file's text on the default branch, or None when it (or the repository) is absent."""
    response = await session.read_if_found(
        lambda: session.rest.repos.async_get_content(owner, repo, path)
    )
    if response is None:
        return None
    content = response.parsed_data
    encoded = getattr(content, "content", None)
    if not isinstance(encoded, str):
        return None  # a directory, symlink or submodule: not a configuration file
    return base64.b64decode(encoded).decode("utf-8", errors="replace")
