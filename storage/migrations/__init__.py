"""Alembic migrations for Parley's schema; run them through `storage.migrate`, not a CLI."""
