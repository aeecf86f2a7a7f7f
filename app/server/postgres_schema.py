"""The PostgreSQL delivery store's schema and its versioned migrations.

The version is the one row of `schema_version`. Migrations run in one transaction that first
takes a transaction-level advisory lock (`pg_advisory_xact_lock`): of several processes starting
at once, one migrates and the others wait, then find the schema at its version and change
nothing. The lock is keyed by the schema Baton's tables live in (the first of `search_path`),
so installations sharing a database in separate schemas do not wait for each other.
"""

from __future__ import annotations

import psycopg

from app.server.store import NewerSchema

_TABLES = """
CREATE TABLE deliveries (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id text NOT NULL UNIQUE,
    event text NOT NULL,
    action text,
    issue_key text,
    received_at timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'done', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    reschedules integer NOT NULL DEFAULT 0,
    not_before timestamptz,
    lease_until timestamptz,
    last_error text,
    plan text,
    plan_step integer NOT NULL DEFAULT 0,
    -- Payloads are stored out of line (TOAST) once over about 2 kB, most webhooks: a change of
    -- status writes a new row version without copying them.
    body bytea NOT NULL
);
CREATE INDEX deliveries_unfinished_by_issue
    ON deliveries (issue_key, seq) WHERE status IN ('pending', 'running');
CREATE INDEX deliveries_unfinished_without_issue
    ON deliveries (seq) WHERE issue_key IS NULL AND status IN ('pending', 'running');
CREATE INDEX deliveries_waiting ON deliveries (not_before) WHERE status = 'pending';
CREATE INDEX deliveries_failed ON deliveries (seq) WHERE status = 'failed';
CREATE INDEX deliveries_done_by_age ON deliveries (received_at) WHERE status = 'done'
"""

# The last body Baton wrote of each issue (app/handlers/writes.py).
_BODIES_WRITTEN = """
CREATE TABLE bodies_written (
    issue_key text PRIMARY KEY,
    body text NOT NULL,
    over text NOT NULL
)
"""

# Leases: the claims' ends, for the time a waiting worker wakes up at; the holders of the jobs run
# once per deployment.
_LEASES = """
CREATE INDEX deliveries_running ON deliveries (lease_until) WHERE status = 'running';
CREATE TABLE job_leases (
    job text PRIMARY KEY,
    holder text NOT NULL,
    until timestamptz NOT NULL
)
"""

# In order: a database at version N has had the first N applied. Append; never edit one.
_MIGRATIONS: tuple[str, ...] = (_TABLES, _BODIES_WRITTEN, _LEASES)
SCHEMA_VERSION = len(_MIGRATIONS)

_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    one_row boolean PRIMARY KEY DEFAULT true CHECK (one_row),
    version integer NOT NULL
)
"""

_HAS_VERSION_TABLE = (
    "SELECT EXISTS (SELECT FROM pg_catalog.pg_tables"
    " WHERE schemaname = current_schema() AND tablename = 'schema_version')"
)

# One key per schema: `hashtextextended` gives the bigint an advisory lock takes.
MIGRATION_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '.migrate', 0))"


def schema_version(db: psycopg.Connection) -> int:
    """0 for a database Baton has not written yet."""
    # Read from the catalog by a query, which sees every commit before it: a lookup by name
    # (`to_regclass`) would trust this connection's cache, which remembers the table missing
    # from before the wait for the lock.
    if db.execute(_HAS_VERSION_TABLE).fetchone() == (False,):
        return 0
    row = db.execute("SELECT version FROM schema_version").fetchone()
    return 0 if row is None else int(row[0])


def migrate(db: psycopg.Connection) -> None:
    """Bring the schema to SCHEMA_VERSION: the missing migrations in one transaction, so a
    database is at one version or the next, never between. A database already there is only
    read."""
    if schema_version(db) == SCHEMA_VERSION:
        return
    with db.transaction():
        db.execute(MIGRATION_LOCK)
        version = schema_version(db)  # again: another process may have migrated meanwhile
        if version > SCHEMA_VERSION:
            raise NewerSchema(version, SCHEMA_VERSION)
        db.execute(_VERSION_TABLE)
        for migration in _MIGRATIONS[version:]:
            db.execute(migration)  # several statements: no parameters, so one round trip
        db.execute(
            "INSERT INTO schema_version (version) VALUES (%s)"
            " ON CONFLICT (one_row) DO UPDATE SET version = excluded.version",
            (SCHEMA_VERSION,),
        )
