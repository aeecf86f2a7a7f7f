"""Changes to issues, each recorded on the timeline and announced by the webhook GitHub sends.

Shared by the human actions of `StandIn` and by the REST handlers, so a change looks the same
to Baton whoever made it; only the sender differs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from app.sandbox.shapes import NO_COMMIT, Shapes
from app.sandbox.webhooks import Hookshot
from app.sandbox.world import (
    Account,
    Comment,
    Commit,
    Issue,
    Label,
    Repo,
    StoredFile,
    TimelineEvent,
    World,
)

# A push delivery lists this many commits at most (the latest), however many were pushed.
COMMITS_LISTED = 20


class Changes:
    def __init__(
        self, world: World, shapes: Shapes, hookshot: Hookshot, clock: Callable[[], datetime]
    ) -> None:
        self.world = world
        self.shapes = shapes
        self.hookshot = hookshot
        self.clock = clock

    # -- issues -------------------------------------------------------------------------
    def open_issue(
        self,
        repo: Repo,
        title: str,
        body: str | None,
        author: Account,
        labels: Iterable[str] = (),
        assignees: Iterable[Account] = (),
    ) -> Issue:
        now = self.clock()
        number = max(repo.issues, default=0) + 1
        issue = Issue(self.world.next_id(), number, title, body, author, now, now)
        repo.issues[number] = issue
        self._announce("issues", "opened", repo, issue, author)
        self.add_labels(repo, issue, labels, author)
        self.set_assignees(repo, issue, assignees, author)
        return issue

    def edit(
        self, repo: Repo, issue: Issue, actor: Account, title: str | None, body: str | None
    ) -> None:
        changes: dict[str, Any] = {}
        if title is not None and title != issue.title:
            changes["title"] = {"from": issue.title}
            issue.title = title
        if body is not None and body != issue.body:
            changes["body"] = {"from": issue.body or ""}
            issue.body = body
        if changes:
            self._touch(issue)
            self._announce("issues", "edited", repo, issue, actor, changes=changes)

    def close(self, repo: Repo, issue: Issue, actor: Account, reason: str | None) -> None:
        reason = reason or "completed"
        if issue.state == "closed" and issue.state_reason == reason:
            return
        issue.state, issue.state_reason = "closed", reason
        issue.closed_at = self._touch(issue)
        self._record(issue, "closed", actor, state_reason=reason)
        self._announce("issues", "closed", repo, issue, actor)

    def reopen(self, repo: Repo, issue: Issue, actor: Account) -> None:
        if issue.state == "open":
            return
        issue.state, issue.state_reason, issue.closed_at = "open", "reopened", None
        self._touch(issue)
        self._record(issue, "reopened", actor)
        self._announce("issues", "reopened", repo, issue, actor)

    # -- labels -------------------------------------------------------------------------
    def ensure_label(self, repo: Repo, name: str) -> Label:
        label = repo.label(name)
        if label is None:
            label = repo.labels[name.lower()] = Label(self.world.next_id(), name)
        return label

    def add_labels(self, repo: Repo, issue: Issue, names: Iterable[str], actor: Account) -> None:
        for name in names:
            label = self.ensure_label(repo, name)
            if label not in issue.labels:
                issue.labels.append(label)
                self._touch(issue)
                self._record(issue, "labeled", actor, label=label)
                self._announce("issues", "labeled", repo, issue, actor, label=label)

    def remove_label(self, repo: Repo, issue: Issue, label: Label, actor: Account) -> None:
        issue.labels.remove(label)
        self._touch(issue)
        self._record(issue, "unlabeled", actor, label=label)
        self._announce("issues", "unlabeled", repo, issue, actor, label=label)

    def set_labels(self, repo: Repo, issue: Issue, names: Iterable[str], actor: Account) -> None:
        wanted = {name.lower() for name in names}
        for label in [lb for lb in issue.labels if lb.name.lower() not in wanted]:
            self.remove_label(repo, issue, label, actor)
        self.add_labels(repo, issue, names, actor)

    # -- assignees ----------------------------------------------------------------------
    def assignable(self, repo: Repo, logins: Iterable[str]) -> list[Account]:
        """Accounts that may be assigned: those with explicit access (any role, `read` included;
        the `read` a public repository reports for everyone is not access). GitHub silently drops
        the others."""
        found = (self.world.account(login) for login in logins)
        return [a for a in found if a is not None and repo.role_of(a.login)]

    def set_assignees(
        self, repo: Repo, issue: Issue, accounts: Iterable[Account], actor: Account
    ) -> None:
        wanted = list(dict.fromkeys(accounts))[:10]
        for gone in [a for a in issue.assignees if a not in wanted]:
            issue.assignees.remove(gone)
            self._touch(issue)
            self._record(issue, "unassigned", actor, assignee=gone)
            self._announce("issues", "unassigned", repo, issue, actor, assignee=gone)
        for new in [a for a in wanted if a not in issue.assignees]:
            issue.assignees.append(new)
            self._touch(issue)
            self._record(issue, "assigned", actor, assignee=new)
            self._announce("issues", "assigned", repo, issue, actor, assignee=new)

    # -- comments -----------------------------------------------------------------------
    def comment(
        self, repo: Repo, issue: Issue, body: str, author: Account, at: datetime | None = None
    ) -> Comment:
        moment = at or self.clock()
        comment = Comment(self.world.next_id(), issue.number, author, body, moment, moment)
        issue.comments.append(comment)
        issue.updated_at = max(issue.updated_at, moment)
        issue.timeline.append(
            TimelineEvent(comment.id, "commented", author, moment, comment=comment)
        )
        self._announce("issue_comment", "created", repo, issue, author, comment=comment)
        return comment

    def edit_comment(
        self, repo: Repo, issue: Issue, comment: Comment, body: str, actor: Account
    ) -> None:
        if body == comment.body:
            return
        previous, comment.body = comment.body, body
        comment.updated_at = self.clock()
        changes = {"body": {"from": previous}}
        self._announce(
            "issue_comment", "edited", repo, issue, actor, comment=comment, changes=changes
        )

    def delete_comment(self, repo: Repo, issue: Issue, comment: Comment, actor: Account) -> None:
        issue.comments.remove(comment)
        issue.timeline = [e for e in issue.timeline if e.comment is not comment]
        self._announce("issue_comment", "deleted", repo, issue, actor, comment=comment)

    # -- commits ------------------------------------------------------------------------
    def push(
        self,
        repo: Repo,
        branch: str,
        changes: Sequence[Mapping[str, str | None]],
        pusher: Account,
    ) -> None:
        """Push one commit per mapping of paths to their new text (None: the file is removed)
        onto `branch`; only the default branch's files are kept."""
        before = repo.heads.get(branch, NO_COMMIT)
        commits: list[Commit] = []
        for number, files in enumerate(changes):
            parent = commits[-1].sha if commits else before
            commit = self._commit(repo, parent, files, pusher, f"Change {number + 1}")
            commits.append(commit)
            if branch == repo.default_branch:
                _apply(repo, files)
        repo.heads[branch] = commits[-1].sha if commits else before
        installation = self.world.installation_for(repo)
        if installation is None:
            return
        listed = commits[-COMMITS_LISTED:]
        payload = self.shapes.push(repo, repo.open_issues, branch, before, listed, pusher)
        payload["created"] = before == NO_COMMIT
        self._send("push", payload, repo, pusher, installation.id)

    def _commit(
        self,
        repo: Repo,
        parent: str,
        files: Mapping[str, str | None],
        author: Account,
        message: str,
    ) -> Commit:
        kept = repo.files
        added = [path for path, text in files.items() if text is not None and path not in kept]
        removed = [path for path, text in files.items() if text is None and path in kept]
        modified = [path for path, text in files.items() if text is not None and path in kept]
        seed = "\n".join([parent, message, *(f"{p}={t}" for p, t in sorted(files.items()))])
        sha = hashlib.sha1(seed.encode()).hexdigest()
        return Commit(sha, message, author, self.clock(), added, removed, modified)

    # -- helpers ------------------------------------------------------------------------
    def _touch(self, issue: Issue) -> datetime:
        issue.updated_at = self.clock()
        return issue.updated_at

    def _record(self, issue: Issue, event: str, actor: Account, **details: Any) -> None:
        issue.timeline.append(
            TimelineEvent(self.world.next_id(), event, actor, self.clock(), **details)
        )

    def _announce(
        self,
        event: str,
        action: str,
        repo: Repo,
        issue: Issue,
        sender: Account,
        *,
        label: Label | None = None,
        assignee: Account | None = None,
        comment: Comment | None = None,
        changes: dict[str, Any] | None = None,
    ) -> None:
        installation = self.world.installation_for(repo)
        if installation is None:
            return  # GitHub only sends an App the events of repositories it is installed on
        payload: dict[str, Any] = {"action": action, "issue": self.shapes.issue(repo, issue)}
        if changes is not None:
            payload["changes"] = changes
        if comment is not None:
            payload["comment"] = self.shapes.comment(repo, comment)
        if label is not None:
            payload["label"] = self.shapes.label(repo, label)
        if assignee is not None:
            payload["assignee"] = self.shapes.user(assignee)
        payload["repository"] = self.shapes.repository(repo, repo.open_issues)
        self._send(event, payload, repo, sender, installation.id)

    def _send(
        self, event: str, payload: dict[str, Any], repo: Repo, sender: Account, installation: int
    ) -> None:
        if repo.owner.type == "Organization":
            payload["organization"] = self.shapes.organization(repo.owner)
        payload["sender"] = self.shapes.user(sender)
        payload["installation"] = {
            "id": installation,
            "node_id": f"MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u{installation}",
        }
        self.hookshot.enqueue(event, payload, installation, repo.id)


def _apply(repo: Repo, files: Mapping[str, str | None]) -> None:
    for path, text in files.items():
        if text is None:
            repo.files.pop(path, None)
        else:
            repo.files[path] = StoredFile.of(text)
