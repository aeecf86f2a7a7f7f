"""`push`: a change of `.github/baton.yml` on the default branch takes effect at once.

Each process keeps a repository's configuration for a short while (see
`app/github/config_source.py`). A push that may change the file drops what is kept, while the
delivery is being acknowledged: GitHub sends one installation's deliveries in order, so whatever
comes after the push (an incident declared right away) is handled with the new file. Nothing is
stored, as there is nothing else to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from app.config import CONFIG_PATH
from app.handlers.events import Event

# A push delivery lists at most this many commits: a list as long may leave out the commit
# that changed the file.
COMMITS_LISTED_AT_MOST: Final = 20
_CHANGES: Final = ("added", "modified", "removed")


def pushed_config(event: Event) -> str | None:
    """The repository whose `.github/baton.yml` the push may have changed, or None."""
    repo, branch = event.repo, event.default_branch
    if repo is None or branch is None or event.ref != f"refs/heads/{branch}":
        return None
    return repo if _may_change(event, CONFIG_PATH) else None


def _may_change(event: Event, path: str) -> bool:
    """Whether the push changed `path`, or may have without listing it: a list of commits that
    may be cut short, an empty one, or history rewritten by a forced push."""
    commits = event.commits
    if not commits or event.forced:
        return True
    if len(commits) >= COMMITS_LISTED_AT_MOST:
        return True
    return any(_lists(commit, path) for commit in commits)


def _lists(commit: object, path: str) -> bool:
    for change in _CHANGES:
        paths = commit.get(change) if isinstance(commit, Mapping) else None
        if not isinstance(paths, list) or path in paths:
            return True
    return False
