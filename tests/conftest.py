from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.postgres import Schemas


@pytest.fixture
def postgres() -> Iterator[Schemas]:
    """Fresh schemas on the test PostgreSQL server, dropped after the test."""
    schemas = Schemas()
    yield schemas
    schemas.drop()
