"""Alembic environment: migrate on the connection `storage.migrate` hands over.

`storage.migrate` opens the transaction (and on PostgreSQL takes the migration lock),
puts the connection in `config.attributes["connection"]` and calls Alembic; this file only
configures the context. Without a connection (a developer running
`alembic.command.revision(storage.migrate.alembic_config(url=...), autogenerate=True)`)
it builds an engine from `sqlalchemy.url` with `storage.db.make_engine`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from storage.db import make_engine
from storage.models import Base


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("pass a connection or set sqlalchemy.url (see storage.migrate)")
    engine = make_engine(url)
    try:
        with engine.begin() as own_connection:
            run_on(own_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("Parley migrations run online only (storage.migrate.upgrade)")
run_migrations_online()
