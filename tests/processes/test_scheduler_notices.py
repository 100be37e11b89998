"""A follow-up made in another process gets its job at once (#8): the elected scheduler
listens for `parley_schedules` notices instead of waiting for its 15-minute sweep.

A `--role scheduler` and a `--role dispatcher` process on PostgreSQL, the loopback
Telegram; the follow-up's sends are written afterwards, from this test (as the CLI or
a web process's researcher command writes them), due two seconds later.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.questionnaires import QuestionnaireBook
from storage import (
    UnitOfWork,
    ensure_schema,
    make_engine,
    make_session_factory,
    repository,
)
from tests.e2e.support import EXAMPLE
from tests.e2e.telegram_support import ParleyBot, free_port, telegram_env
from tests.fakes.telegram_api import FakeTelegram
from tests.scheduling.followup_seed import schedule_check_in

CHECK_IN = Path(__file__).resolve().parents[2] / "examples" / "check-in.yaml"
USER = 820_001
SWEEP_SECONDS = 15 * 60


def schedule_follow_up(database_url: str, due: datetime) -> None:
    engine = make_engine(database_url)
    ensure_schema(engine)
    factory = make_session_factory(engine)
    now = datetime.now(UTC)
    try:
        with UnitOfWork(factory) as uow:
            session = uow.session
            QuestionnaireBook.from_file(CHECK_IN).store_current(session)
            person = repository.create_stakeholder(
                session, name="P", language="en", time_zone="America/Toronto", now=now
            )
            repository.link_identity(session, person.id, "telegram", str(USER))
            schedule_check_in(session, [(person.id, due)], now)
            uow.commit()
    finally:
        engine.dispose()


def test_the_scheduler_adds_a_job_for_a_send_another_process_wrote(
    postgres_url: str, tmp_path: Path
) -> None:
    engine = make_engine(postgres_url)
    ensure_schema(engine)
    factory = make_session_factory(engine)
    with UnitOfWork(factory) as uow:
        QuestionnaireBook.from_file(EXAMPLE).store_current(uow.session)
        uow.commit()
    engine.dispose()
    with FakeTelegram() as tg:
        person = tg.user(USER, first_name="P")
        quiet = {"PARLEY_QUIET_HOURS": "00:00-00:00", "PARLEY_QUIET_WEEKENDS": "false"}
        bots = []
        try:
            for number, role in enumerate(("scheduler", "dispatcher"), start=1):
                env = telegram_env(
                    postgres_url, tg, PARLEY_ROLE=role, PARLEY_HTTP_PORT=str(free_port()), **quiet
                )
                bots.append(ParleyBot(env, tmp_path, number))
            deadline = time.monotonic() + 30
            while "leading the scheduler" not in bots[0].log():
                assert time.monotonic() < deadline, bots[0].log()[-2000:]
                time.sleep(0.2)
            written = time.monotonic()
            schedule_follow_up(postgres_url, datetime.now(UTC) + timedelta(seconds=2))
            person.wait_for(lambda message: bool(message.text), 30)
            took = time.monotonic() - written
        finally:
            for bot in bots:
                bot.stop()
    assert took < 30 < SWEEP_SECONDS, f"the follow-up went out after {took:.0f}s"
