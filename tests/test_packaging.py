"""Baton is MIT-licensed: the LICENSE file says so, and so does the package's metadata."""

from __future__ import annotations

import tomllib
from importlib.metadata import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_license_file_is_the_mit_license_of_the_baton_authors() -> None:
    text = (ROOT / "LICENSE").read_text()

    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 the Baton authors" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text


def test_pyproject_names_the_license_by_its_spdx_expression_and_ships_the_file() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]


def test_the_installed_package_carries_the_license() -> None:
    installed = metadata("baton")

    assert installed["License-Expression"] == "MIT", "reinstall: pip install -e '.[test]'"
    assert installed.get_all("License-File") == ["LICENSE"]
