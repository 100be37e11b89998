"""A digest, posted: built from the answers, laid out for where it goes, enqueued, stored.

Three ways in, one way out (the outbox, sent by the dispatcher like every message):

- the schedule (`bot.digests`): an occurrence claims its `digests` row (unique `due_at`);
- a researcher in chat (`/digest`, `/parley digest`): the handling transaction records a
  `requested` row and nothing more, because building takes seconds on a big study and
  every stakeholder's answer waits behind that transaction. The running Parley builds
  and posts requested digests right after the commit (`DigestPoster.post_requested`),
  and again at start-up for any a crash left behind;
- `parley digest --post` (`bot.digest_cli`): built and enqueued by the CLI's process;
  the running `parley run` sends the rows (its dispatcher looks every second).

The digest is built in a reading transaction (on SQLite a deferred BEGIN, so no write
lock is held while pandas and matplotlib work); a short write transaction then claims or
marks the row, enqueues the messages and stores `Digest.to_dict()` as the row's
`summary`. The next digest's "since the last digest" is the latest stored summary,
scheduled or on demand.

What is posted, in order: the rendered text messages (Slack Block Kit posts, Telegram
HTML messages, or one console text), then the charts. Charts travel in the outbox as
base64 PNG inside `Gallery` payloads of at most ten images (Telegram's media-group
limit) and about 600 KB: one row per media group keeps a group atomic and retried as
one, and no blob store is needed for ~15-30 KB charts.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.questionnaires import QuestionnaireBook
from conversations.messages import Gallery, Image, Message, Rich, message_to_dict
from conversations.questionnaire import Questionnaire
from storage import SQLITE_BEGIN_OPTION, make_session_factory, repository
from storage import digests as stored
from storage.unit_of_work import UnitOfWork

if TYPE_CHECKING:  # pandas and matplotlib load when a digest is built, not for every command
    from analytics.charts import Chart
    from analytics.model import Digest

__all__ = [
    "CONSOLE_ADDRESS",
    "MAX_GALLERY_BYTES",
    "MAX_GALLERY_IMAGES",
    "Built",
    "DigestPoster",
    "DigestRequests",
    "build_digest_messages",
    "digest_messages",
    "enqueue_messages",
    "galleries",
    "previous_digest",
    "reading_sessions",
]

log = logging.getLogger(__name__)

CONSOLE_ADDRESS = ("console", "research")
"""Where digests go when no research channel is set: the console prints them."""

MAX_GALLERY_IMAGES = 10
"""Telegram's media group holds 2-10 photos; Slack uploads them as one message too."""
MAX_GALLERY_BYTES = 600_000
"""Base64 characters per outbox payload: a few hundred KB at most."""
_MAX_REQUESTS = 20
"""Requested digests built per wake-up; more wait for the next one."""


@dataclass(frozen=True)
class Built:
    """A digest and the messages that show it, ready to enqueue."""

    digest: Digest
    messages: tuple[Message, ...]

    @property
    def charts(self) -> int:
        return sum(len(m.images) for m in self.messages if isinstance(m, Gallery))


def digest_messages(
    digest: Digest,
    questionnaire: Questionnaire,
    language: str,
    platform: str,
    thread: str = "",
) -> list[Message]:
    """What a platform is sent for `digest`: the text messages, then the charts."""
    from analytics.charts import charts_for

    charts = charts_for(digest, questionnaire, language)
    return [*_texts(digest, questionnaire, language, platform, thread), *galleries(charts, thread)]


def _texts(
    digest: Digest, questionnaire: Questionnaire, language: str, platform: str, thread: str
) -> list[Message]:
    from analytics.render import to_console, to_slack, to_telegram

    if platform == "slack":
        posts = to_slack(digest, questionnaire, language)
        return [Rich(p.text, blocks=p.blocks, thread=thread) for p in posts]
    if platform == "telegram":
        return [
            Rich("", html=h, thread=thread) for h in to_telegram(digest, questionnaire, language)
        ]
    return [Rich(to_console(digest, questionnaire, language).rstrip("\n"), thread=thread)]


def galleries(charts: Sequence[Chart], thread: str = "") -> list[Gallery]:
    """Charts in groups of at most ten images and `MAX_GALLERY_BYTES` of base64, in order."""
    groups: list[list[Image]] = []
    size = 0
    for chart in charts:
        image = Image(
            chart.filename, base64.b64encode(chart.png).decode(), chart.title, chart.alt_text
        )
        full = bool(groups) and (
            len(groups[-1]) >= MAX_GALLERY_IMAGES
            or size + len(image.png_base64) > MAX_GALLERY_BYTES
        )
        if not groups or full:
            groups.append([])
            size = 0
        groups[-1].append(image)
        size += len(image.png_base64)
    return [Gallery(tuple(group), thread) for group in groups]


def previous_digest(session: Session) -> Digest | None:
    """The last posted digest's numbers (scheduled or on demand), or None before the first."""
    from analytics.model import Digest

    summary = stored.last_summary(session)
    return Digest.from_dict(summary) if summary is not None else None


def build_digest_messages(
    session: Session,
    questionnaire: Questionnaire,
    address: tuple[str, str],
    language: str,
    now: datetime,
) -> Built:
    """Read the answers and the last digest's numbers; the digest and its messages."""
    from analytics.digest import digest_from_database

    digest = digest_from_database(session, questionnaire, previous_digest(session), now)
    thread = f"digest:{now.strftime('%Y%m%dT%H%M%S.%f')}"
    messages = digest_messages(digest, questionnaire, language, address[0], thread)
    return Built(digest, tuple(messages))


def enqueue_messages(
    session: Session, address: tuple[str, str], messages: Sequence[Message], now: datetime
) -> list[int]:
    """Outbox rows for the messages, in posting order; nothing is sent before the commit."""
    channel, where = address
    payloads = [message_to_dict(m) for m in messages]
    return list(repository.enqueue_many(session, channel, where, payloads, run_id=None, now=now))


def reading_sessions(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """Sessions that only read: on SQLite a deferred BEGIN, so building a digest never holds
    the write lock that handling transactions queue for."""
    bind = session_factory.kw.get("bind")
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite":
        return session_factory
    return make_session_factory(bind.execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"}))


@dataclass
class DigestPoster:
    """Builds and enqueues on-demand digests asked for in chat (`requested` rows)."""

    session_factory: sessionmaker[Session]
    book: QuestionnaireBook
    clock: Callable[[], datetime]

    def post_requested(self) -> list[int]:
        """Every requested digest, oldest first: built, enqueued, marked posted. Returns the
        outbox ids. A request another worker posted meanwhile is left alone."""
        with UnitOfWork(reading_sessions(self.session_factory)) as uow:
            rows = stored.requested(uow.session)[:_MAX_REQUESTS]
            asked = [(r.id, r.channel, r.address, r.language) for r in rows]
        ids: list[int] = []
        for row_id, channel, address, language in asked:
            if channel is not None and address is not None:
                ids += self._fulfil(row_id, (channel, address), language)
        return ids

    def _fulfil(self, row_id: int, address: tuple[str, str], language: str | None) -> list[int]:
        questionnaire = self.book.current
        chosen = questionnaire.language_or_default(language)
        now = self.clock()
        with UnitOfWork(reading_sessions(self.session_factory)) as uow:
            built = build_digest_messages(uow.session, questionnaire, address, chosen, now)
        with UnitOfWork(self.session_factory) as uow:
            if not stored.fulfil_request(uow.session, row_id, built.digest.to_dict(), now):
                return []
            ids = enqueue_messages(uow.session, address, built.messages, now)
            uow.commit()
        return ids


class DigestRequests:
    """Runs `DigestPoster.post_requested` off the event loop, one run at a time: a wake
    during a run makes one more run after it (requests committed meanwhile)."""

    def __init__(self, poster: DigestPoster, on_enqueued: Callable[[], None]) -> None:
        self.poster = poster
        self.on_enqueued = on_enqueued
        self._again = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Look for requested digests now (call from the event loop)."""
        self._again = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while self._again:
            self._again = False
            try:
                ids = await asyncio.to_thread(self.poster.post_requested)
            except Exception:  # the next request or start-up tries again
                log.exception("posting a requested digest failed")
                continue
            if ids:
                self.on_enqueued()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
