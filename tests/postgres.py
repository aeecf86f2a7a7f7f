"""The PostgreSQL server the tests use: `BATON_TEST_DATABASE_URL`, by default the CI machine's
(`.ci/run` starts it). Each test gets schemas of its own, so no test sees another's rows; a
server that cannot be reached fails the test, it is never skipped."""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest
from psycopg import sql

TEST_DATABASE_URL = os.environ.get(
    "BATON_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def connect() -> psycopg.Connection:
    try:
        return psycopg.connect(TEST_DATABASE_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(
            f"PostgreSQL is not reachable at {TEST_DATABASE_URL} (BATON_TEST_DATABASE_URL): "
            f"start it (.ci/run does: pg_ctlcluster VERSION main start): {error}",
            pytrace=False,
        )


def in_schema(url: str, schema: str) -> str:
    """The URL with `schema` first on its search path: Baton's tables are made there."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


class Schemas:
    """Empty schemas on the test database, each a database of its own for Baton; dropped
    with everything in them by `drop`."""

    def __init__(self) -> None:
        self.made: list[str] = []

    def new_url(self) -> str:
        name = f"baton_test_{uuid.uuid4().hex[:16]}"
        with connect() as db:
            db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
        self.made.append(name)
        return in_schema(TEST_DATABASE_URL, name)

    def drop(self) -> None:
        if not self.made:
            return
        with connect() as db:
            for name in self.made:
                db.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
        self.made.clear()
