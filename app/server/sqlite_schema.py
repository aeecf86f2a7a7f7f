"""The SQLite delivery store's schema and its versioned migrations (`PRAGMA user_version`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from app.server.store import NewerSchema

# The schema as the last release without schema versions left it (`user_version` 0).
_TABLES = """
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY,
    delivery_id TEXT NOT NULL UNIQUE,
    event TEXT NOT NULL,
    action TEXT,
    issue_key TEXT,
    received_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    reschedules INTEGER NOT NULL DEFAULT 0,
    not_before TEXT,
    lease_until TEXT,
    last_error TEXT,
    plan TEXT,
    plan_step INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS deliveries_unfinished_by_issue
    ON deliveries (issue_key, seq) WHERE status IN ('pending', 'running');
CREATE INDEX IF NOT EXISTS deliveries_unfinished_without_issue
    ON deliveries (seq) WHERE issue_key IS NULL AND status IN ('pending', 'running');
CREATE INDEX IF NOT EXISTS deliveries_by_status ON deliveries (status, not_before);
-- The body apart, so that a change of status does not write the whole payload again.
CREATE TABLE IF NOT EXISTS payloads (
    seq INTEGER PRIMARY KEY,
    body BLOB NOT NULL
);
"""

# The first databases kept the payloads in `deliveries.body`.
_MOVE_BODIES = """
INSERT INTO payloads (seq, body) SELECT seq, body FROM deliveries;
ALTER TABLE deliveries DROP COLUMN body;
"""


_BODIES_WRITTEN = """
CREATE TABLE bodies_written (
    issue_key TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    over TEXT NOT NULL
)
"""


def _statements(script: str) -> list[str]:
    # `executescript` would commit the migration's transaction; the scripts hold no `;` in text.
    return [statement for statement in script.split(";") if statement.strip()]


def _tables(db: sqlite3.Connection) -> None:
    """Version 1: the tables, on a new database or one written before schema versions."""
    columns = {column[1] for column in db.execute("PRAGMA table_info(deliveries)")}
    for statement in _statements(_TABLES):
        db.execute(statement)
    if "body" in columns:  # the versionless databases are told apart by their shape alone
        for statement in _statements(_MOVE_BODIES):
            db.execute(statement)


def _done_by_age(db: sqlite3.Connection) -> None:
    """Version 2: pruning finds the old done deliveries without reading the others."""
    db.execute(
        "CREATE INDEX deliveries_done_by_age ON deliveries (received_at) WHERE status = 'done'"
    )


def _bodies_written(db: sqlite3.Connection) -> None:
    """Version 3: the last body Baton wrote of each issue (app/handlers/writes.py)."""
    db.execute(_BODIES_WRITTEN)


def _leases(db: sqlite3.Connection) -> None:
    """Version 4: the claims' ends, for the time a waiting worker wakes up at; the holders of
    the jobs run once per deployment."""
    db.execute(
        "CREATE INDEX deliveries_running ON deliveries (lease_until) WHERE status = 'running'"
    )
    db.execute(
        "CREATE TABLE job_leases (job TEXT PRIMARY KEY, holder TEXT NOT NULL, until TEXT NOT NULL)"
    )


# In order: a database at version N has had the first N applied. Append; never edit one.
_MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _tables,
    _done_by_age,
    _bodies_written,
    _leases,
)
SCHEMA_VERSION = len(_MIGRATIONS)


def _schema_version(db: sqlite3.Connection) -> int:
    [version] = db.execute("PRAGMA user_version").fetchone()
    return int(version)


def migrate(db: sqlite3.Connection) -> None:
    """Bring the schema to SCHEMA_VERSION: the missing migrations in one transaction, so a
    database is at one version or the next, never between. A database already there is only
    read: it opens while another connection holds the write lock."""
    if _schema_version(db) == SCHEMA_VERSION:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        version = _schema_version(db)  # again: another process may have migrated meanwhile
        if version > SCHEMA_VERSION:
            raise NewerSchema(version, SCHEMA_VERSION)
        for migration in _MIGRATIONS[version:]:
            migration(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
