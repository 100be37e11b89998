"""End to end (#6): the real `parley run` posts the digest through the loopback fakes.

The database is prepared in this process (a study of a few answers, and a schedule first
seen two days ago), so the start-up sweep finds today's occurrence two minutes overdue
and fires it at once: no waiting for a clock. Then researchers ask for one in chat and
others are refused. Two `parley run` starts in all (one per platform): each costs seconds.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from matplotlib import image as mpimg
from sqlalchemy import select

from analytics.model import Digest
from bot.questionnaires import QuestionnaireBook
from storage import digests as stored
from storage.db import make_engine, make_session_factory
from storage.migrate import ensure_schema
from storage.models import Digest as DigestRow
from storage.unit_of_work import UnitOfWork
from tests.analytics.test_digest_posting import PNG_SIGNATURE, seed_study
from tests.e2e.support import EXAMPLE
from tests.e2e.telegram_support import WAIT, ParleyBot, free_port, telegram_env
from tests.e2e.test_slack import running, slack_env
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram

RESEARCH_SLACK = "C0RESEARCH"
RESEARCH_TELEGRAM = -1009990001


def prepare(database_url: str) -> tuple[str, datetime]:
    """A study of six people, and a daily schedule whose occurrence today was two minutes
    ago (first seen two days ago): `parley run` posts it on start. The schedule setting
    and the occurrence it gives."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    due = now - timedelta(minutes=2)
    engine = make_engine(database_url)
    try:
        ensure_schema(engine)
        with UnitOfWork(make_session_factory(engine)) as uow:
            QuestionnaireBook.from_file(EXAMPLE).store_current(uow.session)
            seed_study(uow.session, 6, now - timedelta(days=3))
            stored.record_start(uow.session, now - timedelta(days=2))
            uow.commit()
    finally:
        engine.dispose()
    return f"daily {due:%H:%M} UTC", due


def digest_rows(database_url: str) -> list[DigestRow]:
    engine = make_engine(database_url)
    try:
        with UnitOfWork(make_session_factory(engine)) as uow:
            return list(uow.session.scalars(select(DigestRow).order_by(DigestRow.id)))
    finally:
        engine.dispose()


def decodable_png(data: bytes | None) -> bool:
    assert data is not None and data.startswith(PNG_SIGNATURE)
    pixels = mpimg.imread(io.BytesIO(data), format="png")
    return bool(pixels.shape[0] > 100 and pixels.shape[1] > 100)


def test_slack_digest_on_schedule_and_on_demand(tmp_path: Path, sqlite_url: str) -> None:
    schedule, due = prepare(sqlite_url)
    port = free_port()
    with FakeSlack() as slack:
        slack.request_url = f"http://127.0.0.1:{port}/slack/events"
        lead = slack.user("U0LEAD001", name="lead")
        eve = slack.user("U0EVE0001", name="eve")
        research = slack.channel(RESEARCH_SLACK, "research", members=[lead, eve])
        env = slack_env(
            sqlite_url,
            slack,
            port,
            PARLEY_RESEARCH_CHANNEL=f"slack:{RESEARCH_SLACK}",
            PARLEY_RESEARCHERS="slack:U0LEAD001",
            PARLEY_DIGEST_SCHEDULE=schedule,
        )
        with running(env, tmp_path, port) as bot:
            head = research.wait_for(lambda m: "Digest: Data needs" in m.visible_text, WAIT)
            assert head.thread_ts is None and "4 of 6" in head.text
            charts = slack.wait_until(  # funnel, org_type, data_uses, data_importance
                lambda: [f for f in slack.files if f.completed][3:] and slack.files,
                WAIT,
                "the four charts",
            )
            assert {f.filename for f in charts} >= {"funnel.png", "item-org_type.png"}
            assert all(f.channel == RESEARCH_SLACK and f.thread_ts == head.ts for f in charts)
            assert all(f.alt_txt and f.title and decodable_png(f.data) for f in charts)
            assert not [v for v in slack.violations if v.kind == "invalid_blocks"], bot.log()

            eve.command("/parley", "digest", channel=RESEARCH_SLACK).wait(WAIT)
            eve.wait_for_ephemeral(lambda e: "only members of the research team" in e.text, WAIT)
            lead.command("/parley", "digest fr", channel=RESEARCH_SLACK).wait(WAIT)
            lead.wait_for_ephemeral(lambda e: "Preparing the digest (fr)" in e.text, WAIT)
            again = research.wait_for(lambda m: "Bilan" in m.visible_text, WAIT)
            assert again.thread_ts is None and again.ts != head.ts
        rows = digest_rows(sqlite_url)
    done = [r for r in rows if r.status == "done"]
    asked = [r for r in rows if r.status == "on_demand"]
    assert [r.due_at for r in done] == [due] and len(asked) == 1  # eve's refusal made none
    assert done[0].summary is not None and asked[0].summary is not None
    first, second = Digest.from_dict(done[0].summary), Digest.from_dict(asked[0].summary)
    assert second.changes is not None and second.changes.since == first.built_at


def test_telegram_digest_with_a_media_group(tmp_path: Path, sqlite_url: str) -> None:
    schedule, due = prepare(sqlite_url)
    with FakeTelegram() as tg:
        group = tg.group(RESEARCH_TELEGRAM, "Research team")
        env = telegram_env(
            sqlite_url,
            tg,
            PARLEY_RESEARCH_CHANNEL=f"telegram:{RESEARCH_TELEGRAM}",
            PARLEY_RESEARCHERS="telegram:7001",
            PARLEY_DIGEST_SCHEDULE=schedule,
        )
        with ParleyBot(env, tmp_path) as bot:
            title = group.wait_for(lambda m: (m.text or "").startswith("Digest: Data"), WAIT)
            assert title.kind == "text" and title.parse_mode == "HTML"
            photos = tg.wait_until(
                lambda: [m for m in group.messages() if m.kind == "photo"] or None,
                WAIT,
                "the charts",
            )
            assert len({m.media_group_id for m in photos}) == 1 and len(photos) >= 2, bot.log()
            assert all(m.file is not None and decodable_png(m.file.data) for m in photos)
            assert all(m.text and m.parse_mode == "HTML" for m in photos)  # alt text captions
            assert photos[0].message_id > title.message_id
            assert not tg.violations, bot.log()
            other = tg.user(7002, first_name="Other")
            other.send_text_in(group, "/digest")
            group.wait_for(lambda m: "only members of the research team" in (m.text or ""), WAIT)
        rows = digest_rows(sqlite_url)
    assert [(r.status, r.due_at) for r in rows if r.status in ("done", "on_demand")] == [
        ("done", due)
    ]
