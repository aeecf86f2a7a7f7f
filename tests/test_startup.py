"""`baton serve` refuses an App private key GitHub would not accept, at start-up, in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from app.demo.harness import app_key_pem

GOOD_PEM = app_key_pem()[0]


def pem_of(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, password: bytes | None) -> str:
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()


BAD_KEYS = {
    "not PEM": ("ghp_0123456789abcdef", "is not a PEM private key"),
    "cut short": (
        GOOD_PEM[: len(GOOD_PEM) // 2] + "\n-----END PRIVATE KEY-----\n",
        "cannot be read",
    ),
    "encrypted": (
        pem_of(rsa.generate_private_key(public_exponent=65537, key_size=2048), b"secret"),
        "is encrypted",
    ),
    "not RSA": (pem_of(ec.generate_private_key(ec.SECP256R1()), None), "is not an RSA key"),
}


def serve(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    environ = {
        key: value for key, value in os.environ.items() if not key.startswith(("GITHUB_", "BATON_"))
    }
    environ.update(
        {
            "GITHUB_APP_ID": "1001",
            "GITHUB_WEBHOOK_SECRET": "secret",
            "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'baton.db'}",
            **variables,
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "app", "serve", "--port", "0"],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,  # a server that started would run until then
    )


@pytest.mark.parametrize("case", BAD_KEYS)
def test_a_bad_key_in_the_environment_stops_serve_with_one_line(tmp_path: Path, case: str) -> None:
    pem, problem = BAD_KEYS[case]
    result = serve(tmp_path, GITHUB_APP_PRIVATE_KEY=pem)

    assert result.returncode != 0
    [line] = result.stderr.splitlines()
    assert line.startswith("baton: GITHUB_APP_PRIVATE_KEY")
    assert problem in line
    assert not (tmp_path / "baton.db").exists(), "refused before anything else"


def test_a_bad_key_file_is_named_with_its_variable_and_path(tmp_path: Path) -> None:
    key_file = tmp_path / "baton.private-key.pem"
    key_file.write_text(
        "-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----\n"
    )

    result = serve(tmp_path, GITHUB_APP_PRIVATE_KEY_PATH=str(key_file))

    assert result.returncode != 0
    assert result.stderr.splitlines() == [
        f"baton: GITHUB_APP_PRIVATE_KEY_PATH ({key_file}): the PEM private key cannot be read "
        "(damaged, cut short, or of an unsupported kind); use the .pem file GitHub generated "
        "for the App"
    ]


def test_a_binary_key_file_is_refused_in_one_line(tmp_path: Path) -> None:
    key_file = tmp_path / "baton.der"
    key_file.write_bytes(b"\x30\x82\x04\xa4\x02\x01\x00\xff\xfe")

    result = serve(tmp_path, GITHUB_APP_PRIVATE_KEY_PATH=str(key_file))

    assert result.returncode != 0
    [line] = result.stderr.splitlines()
    assert line.startswith(f"baton: GITHUB_APP_PRIVATE_KEY_PATH: cannot read {key_file}")


def test_a_postgresql_database_out_of_reach_stops_serve_without_its_password(
    tmp_path: Path,
) -> None:
    result = serve(
        tmp_path,
        GITHUB_APP_PRIVATE_KEY=GOOD_PEM,
        BATON_DATABASE_URL="postgresql://baton:hunter2@127.0.0.1:1/baton",
    )

    assert result.returncode == 5
    [line] = result.stderr.splitlines()
    assert line.startswith(
        "baton: cannot open the delivery store postgresql://baton:***@127.0.0.1:1/baton: "
    )
    assert "hunter2" not in result.stderr + result.stdout
