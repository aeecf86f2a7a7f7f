"""The App Manifest flow's last step: `POST /app-manifests/{code}/conversions`.

GitHub answers a code once, within an hour, with the new App (the `integration` schema) plus
its credentials: `client_id`, `client_secret`, `webhook_secret` and `pem`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.sandbox.http import Call, Reply, not_found
from app.sandbox.shapes import Shapes, iso
from app.sandbox.world import Account, World

if TYPE_CHECKING:
    from app.sandbox.standin import StandIn

CODE_LIFETIME = timedelta(hours=1)


@dataclass
class PendingManifest:
    manifest: dict[str, Any]
    owner: Account
    issued_at: datetime


class ManifestConversions:
    """Codes GitHub hands out when someone confirms a manifest, each good for one conversion."""

    def __init__(self, world: World, shapes: Shapes, clock: Callable[[], datetime]) -> None:
        self.world = world
        self.shapes = shapes
        self.clock = clock
        self.pending: dict[str, PendingManifest] = {}

    def issue(self, manifest: dict[str, Any], owner: Account) -> str:
        code = secrets.token_hex(10)
        self.pending[code] = PendingManifest(manifest, owner, self.clock())
        return code

    async def convert(self, call: Call) -> Reply:
        pending = self.pending.pop(call.params["code"], None)
        if pending is None or self.clock() - pending.issued_at > CODE_LIFETIME:
            raise not_found()
        return Reply(201, self._registered_app(pending))

    def _registered_app(self, pending: PendingManifest) -> dict[str, Any]:
        manifest, now = pending.manifest, iso(self.clock())
        app_id = self.world.next_id()
        name = str(manifest.get("name") or f"app-{app_id}")
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        return {
            "id": app_id,
            "slug": slug,
            "node_id": f"MDM6QXBw{app_id}",
            "client_id": f"Iv1.{secrets.token_hex(8)}",
            "owner": self.shapes.user(pending.owner),
            "name": name,
            "description": manifest.get("description"),
            "external_url": manifest.get("url", self.shapes.app_url(slug)),
            "html_url": self.shapes.app_url(slug),
            "created_at": now,
            "updated_at": now,
            "permissions": dict(manifest.get("default_permissions", {})),
            "events": list(manifest.get("default_events", [])),
            "client_secret": secrets.token_hex(20),
            "webhook_secret": secrets.token_hex(20),
            "pem": _new_private_key_pem(),
        }


def issue_manifest_code(standin: StandIn, manifest: dict[str, Any], owner: str = "octocat") -> str:
    """The code GitHub would put in the redirect after `owner` confirms `manifest`. GitHub
    creates the App's webhook then, and pings it."""
    standin.add_user(owner)
    account = standin.world.account(owner)
    assert account is not None
    standin.hookshot.enqueue("ping", _ping(standin, manifest, account), None, None)
    return standin.api.manifests.issue(manifest, account)


def _ping(standin: StandIn, manifest: dict[str, Any], owner: Account) -> dict[str, Any]:
    hook_id = standin.world.next_id()
    now = iso(standin.clock())
    return {
        "zen": "Design for failure.",
        "hook_id": hook_id,
        "hook": {
            "type": "App",
            "id": hook_id,
            "name": "web",
            "active": True,
            "events": list(manifest.get("default_events", [])),
            "config": {
                "content_type": "json",
                "url": manifest.get("hook_attributes", {}).get("url"),
                "insecure_ssl": "0",
            },
            "updated_at": now,
            "created_at": now,
            "deliveries_url": f"{standin.base_url}/app/hook/deliveries",
            "last_response": {"code": None, "status": "unused", "message": None},
        },
        "sender": standin.shapes.user(owner),
    }


def _new_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
