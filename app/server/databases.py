"""Which database `BATON_DATABASE_URL` names, and opening its delivery store.

`sqlite:///path/to/baton.db` (the default, `sqlite:///baton.db`): one process on a file.
`postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (or `postgres://`): any number of processes
on one PostgreSQL database. A URL's password is never echoed.
"""

from __future__ import annotations

from app.server.sqlite_store import SqliteDeliveryStore
from app.server.store import DeliveryStore

SQLITE_PREFIX = "sqlite:///"
POSTGRES_SCHEMES = ("postgresql", "postgres")
FORMS = f"{SQLITE_PREFIX}path/to/baton.db or postgresql://USER@HOST:PORT/DATABASE"


def database_path(url: str) -> str | None:
    """The SQLite file named by the URL (`sqlite:///relative.db`, `sqlite:////absolute/path.db`,
    `sqlite:///:memory:`); None for a PostgreSQL URL. Raises ValueError for anything else."""
    if url.startswith(SQLITE_PREFIX) and len(url) > len(SQLITE_PREFIX):
        return url.removeprefix(SQLITE_PREFIX)
    if is_postgres(url):
        return None
    # Never echo the whole URL: a database URL may carry a password.
    scheme = url.split(":", 1)[0] if ":" in url else "(none)"
    raise ValueError(
        f"BATON_DATABASE_URL: Baton stores deliveries in SQLite or PostgreSQL, not {scheme!r}:"
        f" expected {FORMS}"
    )


def is_postgres(url: str) -> bool:
    scheme, _, rest = url.partition("://")
    return scheme in POSTGRES_SCHEMES and bool(rest)


def open_store(url: str, *, exclusive: bool = True) -> DeliveryStore:
    """Open the store named by `BATON_DATABASE_URL`. `exclusive=False` opens a SQLite file
    beside the server that holds it (`baton deliveries`); PostgreSQL is shared in any case."""
    path = database_path(url)
    if path is None:
        # Here, not at the top: every command reads the settings, which check the URL here,
        # and only a PostgreSQL store needs psycopg (about 0.1 s to import).
        from app.server.postgres_store import PostgresDeliveryStore

        return PostgresDeliveryStore(url)
    return SqliteDeliveryStore(path, exclusive=exclusive)
