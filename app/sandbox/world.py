"""The stand-in's world: accounts, repositories, issues, comments and installations.

Plain records and no behaviour beyond small lookups; the API handlers and the administrator
methods of `StandIn` change them, `shapes` renders them as GitHub's JSON.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import datetime

ROLES = ("read", "triage", "write", "maintain", "admin")


@dataclass(eq=False)  # one record per login: identity is equality
class Account:
    login: str
    id: int
    type: str = "User"  # User | Organization | Bot


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None


@dataclass
class Reaction:
    id: int
    user: Account
    content: str
    created_at: datetime


@dataclass
class Comment:
    id: int
    issue_number: int
    user: Account
    body: str
    created_at: datetime
    updated_at: datetime
    reactions: list[Reaction] = field(default_factory=list)


@dataclass
class TimelineEvent:
    id: int
    event: str  # labeled | unlabeled | assigned | unassigned | closed | reopened | commented
    actor: Account
    created_at: datetime
    label: Label | None = None
    assignee: Account | None = None
    comment: Comment | None = None
    state_reason: str | None = None


@dataclass
class Issue:
    id: int
    number: int
    title: str
    body: str | None
    user: Account
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    state_reason: str | None = None
    closed_at: datetime | None = None
    labels: list[Label] = field(default_factory=list)
    assignees: list[Account] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    timeline: list[TimelineEvent] = field(default_factory=list)


@dataclass
class StoredFile:
    text: str
    sha: str

    @classmethod
    def of(cls, text: str) -> StoredFile:
        data = text.encode()
        return cls(text, hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest())


@dataclass
class Commit:
    sha: str
    message: str
    author: Account
    at: datetime
    added: list[str]
    removed: list[str]
    modified: list[str]


@dataclass
class Repo:
    id: int
    owner: Account
    name: str
    default_branch: str
    private: bool
    created_at: datetime
    labels: dict[str, Label] = field(default_factory=dict)  # keyed by lower-cased name
    issues: dict[int, Issue] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)  # login -> role
    files: dict[str, StoredFile] = field(default_factory=dict)  # on the default branch
    heads: dict[str, str] = field(default_factory=dict)  # branch -> its latest commit's sha

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"

    @property
    def open_issues(self) -> int:
        return sum(1 for issue in self.issues.values() if issue.state == "open")

    def label(self, name: str) -> Label | None:
        return self.labels.get(name.lower())

    def role_of(self, login: str) -> str | None:
        if login.lower() == self.owner.login.lower():
            return "admin"
        return self.roles.get(login.lower())


@dataclass
class Installation:
    id: int
    account: Account
    repos: set[str] | None  # lower-cased full names; None means every repository
    permissions: dict[str, str]
    created_at: datetime

    def covers(self, repo: Repo) -> bool:
        if repo.owner.login.lower() != self.account.login.lower():
            return False
        return self.repos is None or repo.full_name.lower() in self.repos


@dataclass
class AccessToken:
    installation: Installation
    expires_at: datetime
    only_repo: str | None = None  # lower-cased full name, for Actions tokens
    bot: Account | None = None  # the sender of changes made with this token


@dataclass
class World:
    """Every account and repository, with one id sequence like GitHub's."""

    accounts: dict[str, Account] = field(default_factory=dict)  # lower-cased login
    repos: dict[str, Repo] = field(default_factory=dict)  # lower-cased full name
    teams: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    installations: dict[int, Installation] = field(default_factory=dict)
    tokens: dict[str, AccessToken] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1001))

    def next_id(self) -> int:
        return next(self._ids)

    def account(self, login: str) -> Account | None:
        return self.accounts.get(login.lower())

    def repo(self, full_name: str) -> Repo | None:
        return self.repos.get(full_name.lower())

    def installation_for(self, repo: Repo) -> Installation | None:
        return next((i for i in self.installations.values() if i.covers(repo)), None)

    def find_comment(self, repo: Repo, comment_id: int) -> tuple[Issue, Comment] | None:
        for issue in repo.issues.values():
            for comment in issue.comments:
                if comment.id == comment_id:
                    return issue, comment
        return None
