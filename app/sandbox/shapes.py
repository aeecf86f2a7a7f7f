"""GitHub's JSON shapes for the stand-in's records.

Key sets follow octokit's webhook schemas (which forbid extra keys) and are a superset of the
REST schemas' required keys, so one rendering serves both the REST API and webhook payloads.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any

from app.sandbox.editions import GITHUB_COM, Edition
from app.sandbox.world import (
    Account,
    Comment,
    Commit,
    Installation,
    Issue,
    Label,
    Reaction,
    Repo,
    TimelineEvent,
)

REACTION_CONTENTS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "eyes", "rocket")
JSON = dict[str, Any]
NO_COMMIT = "0" * 40  # `before` of a push that creates its branch


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0{kind}{number}".encode()).decode()


class Shapes:
    """Renders records with URLs under the stand-in's base URL."""

    def __init__(self, api_base: str, edition: Edition = GITHUB_COM) -> None:
        self.api = api_base.rstrip("/")
        self.edition = edition
        self.web = edition.web_url

    def app_url(self, slug: str) -> str:
        return f"{self.web}/{self.edition.apps_path}/{slug}"

    def user(self, account: Account) -> JSON:
        login = account.login
        url = f"{self.api}/users/{login}"
        return {
            "login": login,
            "id": account.id,
            "node_id": node_id(account.type, account.id),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{account.id}?v=4",
            "gravatar_id": "",
            "url": url,
            "html_url": f"{self.web}/{login}",
            "followers_url": f"{url}/followers",
            "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}",
            "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions",
            "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events",
            "type": account.type,
            "site_admin": False,
        }

    def organization(self, account: Account) -> JSON:
        url = f"{self.api}/orgs/{account.login}"
        return {
            "login": account.login,
            "id": account.id,
            "node_id": node_id("Organization", account.id),
            "url": url,
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events",
            "hooks_url": f"{url}/hooks",
            "issues_url": f"{url}/issues",
            "members_url": f"{url}/members{{/member}}",
            "public_members_url": f"{url}/public_members{{/member}}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{account.id}?v=4",
            "description": "",
        }

    def label(self, repo: Repo, label: Label) -> JSON:
        return {
            "id": label.id,
            "node_id": node_id("Label", label.id),
            "url": f"{self.api}/repos/{repo.full_name}/labels/{label.name}",
            "name": label.name,
            "color": label.color,
            "default": False,
            "description": label.description,
        }

    def rest_label(self, repo: Repo, label: Label) -> JSON:
        """GitHub.com's label endpoints add archive fields that issues and webhook payloads
        omit; Enterprise Server's description does not have them."""
        if not self.edition.label_archive_fields:
            return self.label(repo, label)
        return {**self.label(repo, label), "archived_at": None, "archived_by": None}

    def collaborator(self, account: Account, role: str | None, flags: dict[str, bool]) -> JSON:
        """The user of a collaborator's permission: `role_name` only where the edition's
        description requires it."""
        shaped = {**self.user(account), "permissions": flags}
        if self.edition.nested_role_name:
            shaped["role_name"] = role or "none"
        return shaped

    def reaction_rollup(self, url: str, reactions: list[Reaction]) -> JSON:
        counts = {content: 0 for content in REACTION_CONTENTS}
        for reaction in reactions:
            counts[reaction.content] += 1
        return {"url": f"{url}/reactions", "total_count": len(reactions), **counts}

    def reaction(self, reaction: Reaction) -> JSON:
        return {
            "id": reaction.id,
            "node_id": node_id("Reaction", reaction.id),
            "user": self.user(reaction.user),
            "content": reaction.content,
            "created_at": iso(reaction.created_at),
        }

    def issue(self, repo: Repo, issue: Issue) -> JSON:
        url = f"{self.api}/repos/{repo.full_name}/issues/{issue.number}"
        assignees = [self.user(a) for a in issue.assignees]
        return {
            "url": url,
            "repository_url": f"{self.api}/repos/{repo.full_name}",
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"{self.web}/{repo.full_name}/issues/{issue.number}",
            "id": issue.id,
            "node_id": node_id("Issue", issue.id),
            "number": issue.number,
            "title": issue.title,
            "user": self.user(issue.user),
            "labels": [self.label(repo, label) for label in issue.labels],
            "state": issue.state,
            "locked": False,
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "milestone": None,
            "comments": len(issue.comments),
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "closed_at": iso(issue.closed_at) if issue.closed_at else None,
            "author_association": author_association(repo, issue.user),
            "active_lock_reason": None,
            "performed_via_github_app": None,
            "body": issue.body,
            "reactions": self.reaction_rollup(url, []),
            "timeline_url": f"{url}/timeline",
            "state_reason": issue.state_reason,
        }

    def comment(self, repo: Repo, comment: Comment) -> JSON:
        issue_url = f"{self.api}/repos/{repo.full_name}/issues/{comment.issue_number}"
        url = f"{self.api}/repos/{repo.full_name}/issues/comments/{comment.id}"
        html = f"{self.web}/{repo.full_name}/issues/{comment.issue_number}"
        return {
            "url": url,
            "html_url": f"{html}#issuecomment-{comment.id}",
            "issue_url": issue_url,
            "id": comment.id,
            "node_id": node_id("IssueComment", comment.id),
            "user": self.user(comment.user),
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.updated_at),
            "author_association": author_association(repo, comment.user),
            "body": comment.body,
            "reactions": self.reaction_rollup(url, comment.reactions),
            "performed_via_github_app": None,
        }

    def repository(self, repo: Repo, open_issues: int) -> JSON:
        url = f"{self.api}/repos/{repo.full_name}"
        html = f"{self.web}/{repo.full_name}"
        created = iso(repo.created_at)
        templated = {
            "keys_url": "keys{/key_id}",
            "collaborators_url": "collaborators{/collaborator}",
            "issue_events_url": "issues/events{/number}",
            "assignees_url": "assignees{/user}",
            "branches_url": "branches{/branch}",
            "blobs_url": "git/blobs{/sha}",
            "git_tags_url": "git/tags{/sha}",
            "git_refs_url": "git/refs{/sha}",
            "trees_url": "git/trees{/sha}",
            "statuses_url": "statuses/{sha}",
            "commits_url": "commits{/sha}",
            "git_commits_url": "git/commits{/sha}",
            "comments_url": "comments{/number}",
            "issue_comment_url": "issues/comments{/number}",
            "contents_url": "contents/{+path}",
            "compare_url": "compare/{base}...{head}",
            "archive_url": "{archive_format}{/ref}",
            "issues_url": "issues{/number}",
            "pulls_url": "pulls{/number}",
            "milestones_url": "milestones{/number}",
            "notifications_url": "notifications{?since,all,participating}",
            "labels_url": "labels{/name}",
            "releases_url": "releases{/id}",
        }
        plain = [
            *("forks", "teams", "hooks", "events", "tags", "languages", "stargazers"),
            *("contributors", "subscribers", "subscription", "merges", "downloads", "deployments"),
        ]
        return {
            "id": repo.id,
            "node_id": node_id("Repository", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
            "owner": self.user(repo.owner),
            "html_url": html,
            "description": None,
            "fork": False,
            "url": url,
            **{f"{name}_url": f"{url}/{name}" for name in plain},
            **{key: f"{url}/{suffix}" for key, suffix in templated.items()},
            "created_at": created,
            "updated_at": created,
            "pushed_at": created,
            "git_url": f"git://github.com/{repo.full_name}.git",
            "ssh_url": f"git@github.com:{repo.full_name}.git",
            "clone_url": f"{html}.git",
            "svn_url": html,
            "homepage": None,
            "size": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": None,
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": 0,
            "mirror_url": None,
            "archived": False,
            "disabled": False,
            "open_issues_count": open_issues,
            "license": None,
            "forks": 0,
            "open_issues": open_issues,
            "watchers": 0,
            "default_branch": repo.default_branch,
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": [],
            "visibility": "private" if repo.private else "public",
            "custom_properties": {},
        }

    def push(
        self,
        repo: Repo,
        open_issues: int,
        branch: str,
        before: str,
        commits: list[Commit],
        pusher: Account,
    ) -> JSON:
        """A push delivery's own fields: the commits listed, and the repository as push
        deliveries show it (times in seconds, the owner with a name, the web address as url)."""
        html = f"{self.web}/{repo.full_name}"
        shown = [self.commit(repo, commit) for commit in commits]
        after = commits[-1].sha if commits else before
        created = int(repo.created_at.timestamp())
        owner = {"name": repo.owner.login, "email": None, **self.user(repo.owner)}
        repository = {
            **self.repository(repo, open_issues),
            "owner": owner,
            "url": html,
            "created_at": created,
            "pushed_at": int(commits[-1].at.timestamp()) if commits else created,
            "stargazers": 0,
            "master_branch": repo.default_branch,
        }
        return {
            "ref": f"refs/heads/{branch}",
            "before": before,
            "after": after,
            "repository": repository,
            "pusher": {"name": pusher.login, "email": f"{pusher.login}@users.noreply.github.com"},
            "created": False,
            "deleted": False,
            "forced": False,
            "base_ref": None,
            "compare": f"{html}/compare/{before[:12]}...{after[:12]}",
            "commits": shown,
            "head_commit": shown[-1] if shown else None,
        }

    def commit(self, repo: Repo, commit: Commit) -> JSON:
        person = {
            "name": commit.author.login,
            "email": f"{commit.author.login}@users.noreply.github.com",
            "username": commit.author.login,
        }
        return {
            "id": commit.sha,
            "tree_id": hashlib.sha1(commit.sha.encode()).hexdigest(),
            "distinct": True,
            "message": commit.message,
            "timestamp": iso(commit.at),
            "url": f"{self.web}/{repo.full_name}/commit/{commit.sha}",
            "author": person,
            "committer": person,
            "added": list(commit.added),
            "removed": list(commit.removed),
            "modified": list(commit.modified),
        }

    def installation(self, installation: Installation, app_id: int, app_slug: str) -> JSON:
        url = f"{self.api}/app/installations/{installation.id}"
        moment = iso(installation.created_at)
        return {
            "id": installation.id,
            "account": self.user(installation.account),
            "repository_selection": "all" if installation.repos is None else "selected",
            "access_tokens_url": f"{url}/access_tokens",
            "repositories_url": f"{self.api}/installation/repositories",
            "html_url": f"{self.web}/settings/installations/{installation.id}",
            "app_id": app_id,
            "app_slug": app_slug,
            "target_id": installation.account.id,
            "target_type": installation.account.type,
            "permissions": dict(installation.permissions),
            "events": ["issues", "issue_comment"],
            "created_at": moment,
            "updated_at": moment,
            "single_file_name": None,
            "suspended_by": None,
            "suspended_at": None,
        }

    def installed_repository(self, repo: Repo) -> JSON:
        """A repository as installation deliveries list it."""
        return {
            "id": repo.id,
            "node_id": f"R_kgDO{repo.id}",
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
        }

    def timeline_event(self, repo: Repo, issue: Issue, event: TimelineEvent) -> JSON:
        if event.comment is not None:
            return {
                "event": "commented",
                "actor": self.user(event.actor),
                **self.comment(repo, event.comment),
            }
        shaped: JSON = {
            "id": event.id,
            "node_id": node_id("Event", event.id),
            "url": f"{self.api}/repos/{repo.full_name}/issues/events/{event.id}",
            "actor": self.user(event.actor),
            "event": event.event,
            "commit_id": None,
            "commit_url": None,
            "created_at": iso(event.created_at),
            "performed_via_github_app": None,
        }
        if event.label is not None:
            shaped["label"] = {"name": event.label.name, "color": event.label.color}
        if event.assignee is not None:
            shaped["assignee"] = self.user(event.assignee)
        if event.event == "closed":
            shaped["state_reason"] = event.state_reason
        return shaped


def author_association(repo: Repo, account: Account) -> str:
    if account.login.lower() == repo.owner.login.lower():
        return "OWNER"
    return "COLLABORATOR" if repo.role_of(account.login) else "NONE"
