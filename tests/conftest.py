"""Database fixtures shared by every test package.

- `sqlite_url`: a real SQLite file under tmp_path (in a subdirectory `make_engine` creates).
- `postgres_url`: a fresh schema per test in the PostgreSQL named by PARLEY_TEST_POSTGRES_URL,
  reached through `?options=-csearch_path=<schema>` so that every table, Alembic's version
  table included, lands in it; dropped afterwards. Several people's test runs can share one
  server without seeing each other. Skips when the server does not answer.
- `database_url`: both of the above, ids "sqlite" and "postgres"; contract suites use it and
  never ask which one they got.
- `engine` / `session_factory`: built with `storage.make_engine`, migrated to head.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from storage import ensure_schema, make_engine, make_session_factory

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db' / 'parley.sqlite3'}"


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """A connection to the test server, checked once per session (skips if unreachable)."""
    url = os.environ.get("PARLEY_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    engine = create_engine(url, connect_args={"connect_timeout": 3}, pool_size=1)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as error:
        engine.dispose()
        shown = make_url(url).render_as_string(hide_password=True)
        pytest.skip(f"PostgreSQL not reachable at {shown}: {error.orig or error}")
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_url(postgres_admin: Engine) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with postgres_admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = postgres_admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with postgres_admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    """An engine on a fresh, migrated PostgreSQL schema (for what only PostgreSQL does)."""
    engine = make_engine(postgres_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The fault suite (the longest file, minutes) first: with `make test`'s two workers
    taking a file at a time, starting it last made the other worker wait at the end."""
    items.sort(key=lambda item: not item.nodeid.startswith("tests/faults/"))
