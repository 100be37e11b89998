"""Bring a database to the schema this code expects, or refuse to touch it.

Alembic is configured in code (no alembic.ini at runtime): the composition root calls
`ensure_schema(engine)` once at start-up. An empty or older database is upgraded to head
inside one transaction; a database migrated by a newer Parley is refused with
`DatabaseNewerThanCode`, because older code writing to a newer schema corrupts it quietly.

Two processes starting at once are safe: on SQLite the transaction's `BEGIN IMMEDIATE`
queues the second; on PostgreSQL a transaction-scoped advisory lock, keyed by the current
schema, does. The second then finds the database at head and does nothing.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from storage.errors import DatabaseNewerThanCode

__all__ = [
    "alembic_config",
    "current_revision",
    "ensure_schema",
    "head_revision",
    "upgrade",
]


def alembic_config(*, connection: Connection | None = None, url: str | None = None) -> Config:
    """Alembic's configuration for Parley's scripts, on a connection or a URL."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration this code knows."""
    head = _scripts().get_current_head()
    if head is None:
        raise RuntimeError("no migrations found in storage/migrations/versions")
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for a database Alembic never touched."""
    with engine.connect() as connection:
        return _revision_of(connection)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision` in one transaction."""
    with engine.begin() as connection:
        _lock_migrations(connection)
        command.upgrade(alembic_config(connection=connection), revision)


def ensure_schema(engine: Engine) -> None:
    """Upgrade an empty or older database to head; refuse one newer than this code."""
    with engine.begin() as connection:
        _lock_migrations(connection)
        current = _revision_of(connection)
        head = head_revision()
        if current == head:
            return
        if current is not None and current not in _known_revisions():
            where = engine.url.render_as_string(hide_password=True)
            raise DatabaseNewerThanCode(
                f"the database at {where} is at migration {current}, newer than this Parley "
                f"(head {head}); upgrade Parley"
            )
        command.upgrade(alembic_config(connection=connection), "head")


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def _known_revisions() -> set[str]:
    return {script.revision for script in _scripts().walk_revisions()}


def _revision_of(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _lock_migrations(connection: Connection) -> None:
    """Serialize concurrent migrators on PostgreSQL (SQLite's BEGIN IMMEDIATE already does)."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(current_schema(), 0))")
        )
