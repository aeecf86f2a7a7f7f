"""Fixtures: a stand-in with one organisation repository, and githubkit clients against it."""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from githubkit import AppAuthStrategy, AppInstallationAuthStrategy, GitHub

from app.demo.harness import MovableClock as FakeClock
from app.sandbox import StandIn
from tests.sandbox.helpers import APP_ID, OWNER, REPO, SECRET, client_for


@pytest.fixture(scope="session")
def app_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def private_pem(app_key: rsa.RSAPrivateKey) -> str:
    return app_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="session")
def public_pem(app_key: rsa.RSAPrivateKey) -> bytes:
    return app_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def standin(public_pem: bytes, clock: FakeClock) -> StandIn:
    stand_in = StandIn(
        app_id=APP_ID, app_public_key_pem=public_pem, webhook_secret=SECRET, clock=clock
    )
    stand_in.add_org(OWNER)
    stand_in.add_repo(REPO)
    for login, role in (("alice", "write"), ("bob", "triage"), ("erin", "maintain")):
        stand_in.set_role(REPO, login, role)
    stand_in.add_user("mallory")
    return stand_in


@pytest.fixture
def installation_id(standin: StandIn) -> int:
    return standin.install(OWNER)


@pytest.fixture
async def app_client(standin: StandIn, private_pem: str) -> AsyncIterator[GitHub[Any]]:
    async with client_for(standin, AppAuthStrategy(APP_ID, private_pem)) as gh:
        yield gh


@pytest.fixture
async def gh(
    standin: StandIn, private_pem: str, installation_id: int
) -> AsyncIterator[GitHub[Any]]:
    strategy = AppInstallationAuthStrategy(APP_ID, private_pem, installation_id)
    async with client_for(standin, strategy) as client:
        yield client


# -- GitHub's reference material (optional) ---------------------------------------------------
def reference_root() -> pathlib.Path:
    default = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "github-reference"
    return pathlib.Path(os.environ.get("BATON_GITHUB_REFERENCE", default))


@pytest.fixture(scope="session")
def reference() -> pathlib.Path:
    root = reference_root()
    if not root.is_dir():
        pytest.skip(f"GitHub reference material not found at {root}")
    return root


@pytest.fixture(scope="session")
def rest_schema() -> Any:
    """`check(component, body)` lists the body's violations of an OpenAPI component schema.

    Without the reference material it finds none, so the githubkit parsing checks still run.
    """
    from openapi_schema_validator import OAS30Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    reference = reference_root()
    if not reference.is_dir():
        return lambda component, body: []
    doc = json.loads((reference / "openapi" / "issues-subset.json").read_text())
    registry = Registry().with_resource(
        "urn:api", Resource.from_contents(doc, default_specification=DRAFT4)
    )

    def check(component: str, body: Any) -> list[str]:
        validator = OAS30Validator(
            {"$ref": f"urn:api#/components/schemas/{component}"}, registry=registry
        )
        return [
            f"{list(e.absolute_path)}: {e.message}"
            for e in validator.iter_errors(body)
            if not nullable_enum_quirk(e)
        ]

    return check


def nullable_enum_quirk(error: Any) -> bool:
    """GitHub's document marks enums `nullable` without listing null; GitHub itself sends null."""
    return error.validator == "enum" and error.instance is None and error.schema.get("nullable")


@pytest.fixture(scope="session")
def webhook_schemas(reference: pathlib.Path) -> Any:
    """`check(event, action, payload)`: violations of octokit's and GitHub's own schemas."""
    from jsonschema import Draft7Validator
    from openapi_schema_validator import OAS30Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4, DRAFT7

    root = reference / "webhook-schemas" / "api.github.com"
    schemas = [json.loads(f.read_text()) for f in root.rglob("*.schema.json")]
    octokit = Registry().with_resources(
        (s["$id"], Resource.from_contents(s, default_specification=DRAFT7)) for s in schemas
    )
    doc = json.loads((reference / "openapi" / "webhooks-subset.json").read_text())
    github = Registry().with_resource(
        "urn:gh", Resource.from_contents(doc, default_specification=DRAFT4)
    )

    def check(event: str, action: str, payload: Any) -> list[str]:
        ours = Draft7Validator({"$ref": f"{event}${action}"}, registry=octokit)
        key = f"{event.replace('_', '-')}-{action}"
        media = doc["x-webhooks"][key]["post"]["requestBody"]["content"]["application/json"]
        theirs = OAS30Validator({"$ref": "urn:gh" + media["schema"]["$ref"]}, registry=github)
        return [
            f"{source} {list(e.absolute_path)}: {e.message}"
            for source, validator in (("octokit", ours), ("github", theirs))
            for e in validator.iter_errors(payload)
            if not nullable_enum_quirk(e)
        ]

    return check
