"""The GitHub App manifest (`app.yml`) asks for exactly the events and permissions Baton uses."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from githubkit import GitHub
from githubkit_schemas.latest.models import AppPermissions

from app.entry.registration import MANIFEST
from app.handlers.router import handled_events

ROOT = Path(__file__).resolve().parent.parent
MANIFEST_PATH = ROOT / "app.yml"

# githubkit REST calls as Baton's code writes them: `rest.<namespace>.async_<operation>(`.
REST_CALL = re.compile(r"\brest\.(?P<namespace>\w+)\.async_(?P<operation>\w+)\(")

# The permission each REST operation needs. None: no permission, as the App itself (JWT) or, for
# `apps.list_repos_accessible_to_installation`, any installation token.
# An entry `namespace.*` covers the whole namespace.
PERMISSION_FOR_OPERATION: dict[str, str | None] = {
    "issues.*": "issues",
    "reactions.create_for_issue_comment": "issues",
    "repos.get_collaborator_permission_level": "metadata",
    "repos.get": "metadata",
    "repos.get_content": "contents",
    "teams.get_membership_for_user_in_org": "members",
    "apps.*": None,
}
READ_ONLY_VERBS = ("get_", "list_", "check_")
MANIFEST_KEYS = {
    "name",
    "url",
    "description",
    "hook_attributes",
    "redirect_url",
    "callback_urls",
    "setup_url",
    "setup_on_update",
    "public",
    "default_events",
    "default_permissions",
    "request_oauth_on_install",
}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def rest_operations_called() -> dict[str, list[str]]:
    """Every `namespace.operation` the app's source calls, with the files calling it."""
    sources = [*ROOT.glob("app/*.py"), *ROOT.glob("app/github/*.py")]
    called: dict[str, list[str]] = {}
    for source in sources:
        for call in REST_CALL.finditer(source.read_text(encoding="utf-8")):
            operation = f"{call['namespace']}.{call['operation']}"
            called.setdefault(operation, []).append(source.relative_to(ROOT).as_posix())
    return called


def permission_needed(operation: str) -> tuple[str | None, str]:
    """(permission, access) for an operation; KeyError when the table does not know it."""
    namespace, name = operation.split(".", 1)
    key = operation if operation in PERMISSION_FOR_OPERATION else f"{namespace}.*"
    access = "read" if name == "get" or name.startswith(READ_ONLY_VERBS) else "write"
    return PERMISSION_FOR_OPERATION[key], access


def test_manifest_uses_only_keys_of_the_manifest_format(manifest: dict[str, Any]) -> None:
    assert set(manifest) <= MANIFEST_KEYS
    assert manifest["public"] is False
    assert manifest["hook_attributes"]["active"] is True
    assert manifest["hook_attributes"]["url"].endswith("/webhooks")


def test_github_sends_the_browser_back_to_the_setup_callback(manifest: dict[str, Any]) -> None:
    assert manifest["redirect_url"].endswith("/setup/callback")
    # Callback URLs serve users authorizing the App, which Baton never asks them to do.
    assert "callback_urls" not in manifest and "request_oauth_on_install" not in manifest


def test_subscribed_events_are_exactly_the_handled_events(manifest: dict[str, Any]) -> None:
    assert set(manifest["default_events"]) == handled_events()
    assert len(manifest["default_events"]) == len(set(manifest["default_events"]))


def test_permissions_are_real_github_app_permissions(manifest: dict[str, Any]) -> None:
    permissions = manifest["default_permissions"]
    assert set(permissions) <= set(AppPermissions.model_fields)
    AppPermissions.model_validate(permissions)


def test_the_source_scan_finds_the_rest_calls() -> None:
    called = rest_operations_called()
    assert called, "the regex found no REST call: has the calling style changed?"
    github = GitHub("not-a-token")  # kept alive: its namespaces hold only a weak reference
    for operation in called:
        namespace, name = operation.split(".", 1)
        assert hasattr(getattr(github.rest, namespace), f"async_{name}"), operation


def test_every_rest_operation_is_in_the_permission_table() -> None:
    unknown = {
        operation: files
        for operation, files in rest_operations_called().items()
        if operation not in PERMISSION_FOR_OPERATION
        and f"{operation.split('.')[0]}.*" not in PERMISSION_FOR_OPERATION
    }
    assert not unknown, f"add these operations to PERMISSION_FOR_OPERATION: {unknown}"


def test_manifest_grants_every_permission_the_code_needs(manifest: dict[str, Any]) -> None:
    granted: dict[str, str] = manifest["default_permissions"]
    missing = []
    for operation in rest_operations_called():
        permission, access = permission_needed(operation)
        if permission is None:
            continue
        if granted.get(permission) not in ({"read", "write"} if access == "read" else {"write"}):
            missing.append(f"{operation} needs {permission}: {access}")
    assert not missing


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        ("issues.update", ("issues", "write")),
        ("issues.list_comments", ("issues", "read")),
        ("repos.get_content", ("contents", "read")),
        ("repos.get", ("metadata", "read")),
        ("apps.get_authenticated", (None, "read")),
    ],
)
def test_permission_lookup(operation: str, expected: tuple[str | None, str]) -> None:
    assert permission_needed(operation) == expected


def test_permission_lookup_refuses_unknown_operations() -> None:
    with pytest.raises(KeyError):
        permission_needed("repos.delete")


def test_the_package_ships_the_manifest_of_the_repository() -> None:
    """`baton serve` reads the manifest from the installed package; the repository's top-level
    `app.yml` is the copy people read and edit: they must be the same file."""
    assert MANIFEST.read_bytes() == MANIFEST_PATH.read_bytes(), (
        "app/app.yml and app.yml differ: copy app.yml over app/app.yml"
    )
