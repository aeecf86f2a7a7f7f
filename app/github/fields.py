"""Baton's own small types for answers whose githubkit model asks more than GitHub guarantees.

githubkit's models require a label's `archived_at` and `archived_by`, and the `role_name` of
the user nested in a collaborator's permission. GitHub Enterprise Server's description does not
guarantee them, so where Baton needs only a few fields it reads them from the raw JSON, and
every answer GitHub's descriptions allow parses.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from githubkit import Response

T = TypeVar("T")


class NamedLabel(msgspec.Struct):
    name: str


class Permission(msgspec.Struct):
    """A user's access to a repository: `role_name` names custom and fine roles (triage,
    maintain); `permission` is the legacy base role (read, write, admin, none)."""

    permission: str
    role_name: str | None = None


def read_as(response: Response[Any], kind: type[T]) -> T:
    """The answer's JSON body as one of these types; fields not named are ignored."""
    return msgspec.json.decode(response.content, type=kind)
