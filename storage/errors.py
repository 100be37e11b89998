"""What storage raises on purpose, as one small tree.

    StorageError
    ├── DatabaseNewerThanCode   the schema is at a migration this code does not know
    ├── QuestionnaireChanged    same questionnaire key and version, different content
    ├── IdentityTaken           a platform identity already belongs to someone else
    └── UnsupportedDatabase     a dialect other than SQLite or PostgreSQL

`StaleDataError` (from SQLAlchemy) is re-exported beside them: it is what a run save
raises when another transaction saved the same run first, and callers retry on it.
`is_transient` says which database errors mean "try the transaction again": PostgreSQL
picking a deadlock's victim, a serialization failure, a lock not available (#8).
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError

__all__ = [
    "DatabaseNewerThanCode",
    "IdentityTaken",
    "QuestionnaireChanged",
    "StaleDataError",
    "StorageError",
    "UnsupportedDatabase",
    "is_transient",
]

_TRANSIENT_STATES = frozenset({"40001", "40P01", "55P03"})
"""serialization_failure, deadlock_detected, lock_not_available: the transaction did
nothing wrong and succeeds when run again."""


def is_transient(error: BaseException) -> bool:
    """Whether `error` aborted a transaction that is worth running again as it was."""
    if not isinstance(error, DBAPIError):
        return False
    return getattr(error.orig, "sqlstate", None) in _TRANSIENT_STATES


class StorageError(Exception):
    """Base class for the errors storage raises deliberately."""


class DatabaseNewerThanCode(StorageError):
    """The database was migrated by a newer Parley; running older code on it would corrupt it."""


class QuestionnaireChanged(StorageError):
    """A questionnaire key and version were stored before with a different checksum.

    Runs refer to a questionnaire by key and version, so changing the content without
    bumping the version would silently change what past answers mean.
    """

    def __init__(self, key: str, version: str, stored: str, given: str) -> None:
        super().__init__(
            f"questionnaire {key!r} version {version!r} is already stored with checksum "
            f"{stored}, not {given}; give the changed questionnaire a new version"
        )
        self.key = key
        self.version = version
        self.stored_checksum = stored
        self.given_checksum = given


class IdentityTaken(StorageError):
    """A platform identity is already linked to another stakeholder."""

    def __init__(self, platform: str, external_id: str, stakeholder_id: int) -> None:
        super().__init__(
            f"{platform} identity {external_id!r} is already linked to stakeholder {stakeholder_id}"
        )
        self.platform = platform
        self.external_id = external_id
        self.stakeholder_id = stakeholder_id


class UnsupportedDatabase(StorageError):
    """Parley speaks SQLite and PostgreSQL only (it relies on their ON CONFLICT)."""
