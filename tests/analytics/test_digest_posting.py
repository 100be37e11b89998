"""Posting the digest (#6), in process, on a real SQLite file and a real PostgreSQL.

The study is written through the storage functions; the digest goes through
`bot.digests` (schedule) and `bot.digest_posting` (on demand) into the outbox, where the
rows are read back as the dispatcher would read them. `seed_study` is shared with the
end-to-end test (tests/e2e/test_digest.py).
"""

from __future__ import annotations

import base64
import csv
import io
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from matplotlib import image as mpimg
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from analytics.charts import Chart
from analytics.export import ExportRequest, FileFormat
from analytics.export_files import write_export
from analytics.model import ChoiceSummary, Digest, ScaleSummary
from bot.channels import telegram_format
from bot.channels.base import InboundEvent
from bot.channels.console import render as console_render
from bot.digest_posting import (
    MAX_GALLERY_BYTES,
    DigestPoster,
    build_digest_messages,
    digest_messages,
    galleries,
    reading_sessions,
)
from bot.digests import Digests, parse_plan
from bot.exports import prepare_export
from bot.handling import Access, Handler
from bot.questionnaires import QuestionnaireBook
from bot.researcher import Desk
from bot.settings import Settings
from conversations.inputs import Reply
from conversations.messages import Gallery, Image, Message, Rich, message_from_dict
from conversations.run import AnswerState, RunState, RunStatus, StoredAnswer
from storage import digests as stored
from storage import repository
from storage.answers import record_answers
from storage.models import Digest as DigestRow
from storage.models import OutboxRow
from storage.unit_of_work import UnitOfWork
from tests.analytics.sample_digest import questionnaire as sample_questionnaire
from tests.analytics.sample_digest import sample_digest
from tests.e2e.support import EXAMPLE
from tests.fakes.slack_blocks import validate_blocks
from tests.fakes.telegram_api import parse_html

Factory = sessionmaker[Session]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
START = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)  # Monday 07:00 in Toronto
TORONTO = ZoneInfo("America/Toronto")
RESEARCH = ("slack", "C0RESEARCH")
KEY = "settlement-data-needs"
ORG_TYPES = ("non_profit", "non_profit", "municipality", "university", "non_profit", "other")
USES = (["program_planning", "service_gaps"], ["trends"], ["program_planning"], ["funding"])


def _answer(value: Any, at: datetime) -> StoredAnswer:
    return StoredAnswer(value, str(value), str(value), AnswerState.ANSWERED, "en", at)


def seed_study(session: Session, people: int, at: datetime, *, first: int = 0) -> None:
    """`people` stakeholders (numbered from `first`) who answered four items; every
    third one is still in progress, the rest completed."""
    for n in range(first, first + people):
        person = repository.create_stakeholder(
            session, name=f"P{n}", language="en", organisation=f"Org {n}", now=at
        )
        completed = n % 3 != 2
        status = RunStatus.COMPLETED if completed else RunStatus.IN_PROGRESS
        state = RunState(KEY, "1", "en", status=status, started_at=at)
        run = repository.create_run(
            session,
            stakeholder_id=person.id,
            questionnaire_key=KEY,
            questionnaire_version="1",
            state=state.to_dict(),
            status=status.value,
            now=at,
        )
        answers = [
            ("org_type", _answer(ORG_TYPES[n % len(ORG_TYPES)], at)),
            ("data_importance", _answer(1 + n % 5, at)),
            ("data_uses", _answer(USES[n % len(USES)], at)),
            ("total_staff", _answer(10 * (n + 1), at)),
        ]
        record_answers(session, run.id, answers, "1", None, at)
        done = at + timedelta(minutes=20)
        repository.save_run_state(session, run, state.to_dict(), status.value, done)


@pytest.fixture
def book(session_factory: Factory) -> QuestionnaireBook:
    main = QuestionnaireBook.from_file(EXAMPLE)
    with UnitOfWork(session_factory) as uow:
        main.store_current(uow.session)
        uow.commit()
    return main


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def outbox(sf: Factory) -> list[tuple[OutboxRow, Message]]:
    with UnitOfWork(sf) as uow:
        rows = list(uow.session.scalars(select(OutboxRow).order_by(OutboxRow.id)))
    return [(row, message_from_dict(row.payload)) for row in rows]


def digest_rows(sf: Factory) -> list[DigestRow]:
    with UnitOfWork(sf) as uow:
        return stored.digests(uow.session)


def png_of(image: Image) -> bytes:
    data = base64.b64decode(image.png_base64)
    assert data.startswith(PNG_SIGNATURE)
    pixels = mpimg.imread(io.BytesIO(data), format="png")
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100
    return data


# --------------------------------------------------------------------- what is posted


@pytest.mark.parametrize("platform", ["slack", "telegram", "console"])
def test_the_digest_is_its_text_messages_then_its_charts(platform: str) -> None:
    digest, q = sample_digest(), sample_questionnaire()
    messages = digest_messages(digest, q, "en", platform, thread="digest:1")
    texts = [m for m in messages if isinstance(m, Rich)]
    pictures = [m for m in messages if isinstance(m, Gallery)]
    assert messages == [*texts, *pictures] and texts and pictures
    images = [image for gallery in pictures for image in gallery.images]
    assert [i.filename for i in images] == [
        "funnel.png",
        "item-org_type.png",
        "item-tools.png",
        "scales-quality.png",
    ]
    assert all(png_of(i) and i.alt and i.title for i in images)
    if platform == "slack":
        assert all(m.blocks and m.thread == "digest:1" for m in texts)
        assert all(validate_blocks([dict(b) for b in m.blocks]) == [] for m in texts)
    elif platform == "telegram":
        assert all(parse_html(m.html)[0] for m in texts)  # the fake's parser accepts it
    else:
        assert texts[0].text.startswith("Digest: ")
        assert "[funnel.png] Completion funnel:" in console_render(pictures[0])


def test_charts_are_grouped_ten_at_most_and_within_the_payload_budget() -> None:
    def chart(n: int, size: int) -> Chart:
        return Chart(f"c{n}", f"Chart {n}", f"Alt {n}", PNG_SIGNATURE + b"x" * size)

    small = galleries([chart(n, 100) for n in range(23)])
    assert [len(g.images) for g in small] == [10, 10, 3]
    big = galleries([chart(n, 200_000) for n in range(5)])  # ~267 KB of base64 each
    assert [len(g.images) for g in big] == [2, 2, 1]
    assert all(sum(len(i.png_base64) for i in g.images) <= MAX_GALLERY_BYTES for g in big)
    assert galleries([]) == []


def test_telegram_captions_are_escaped_alt_texts_within_the_caption_limit() -> None:
    nasty = Image("c.png", "", "T", "Pay <b>$5</b> & more " + "x" * 1100)
    rendered = telegram_format.render(Gallery((nasty, nasty)))
    assert rendered is not None and rendered.gallery is not None
    caption = rendered.chunks[0]
    assert caption.startswith("Pay &lt;b&gt;$5&lt;/b&gt; &amp; more")
    shown, entities = parse_html(caption)
    assert len(shown) <= 1024 and entities == [] and shown.endswith("…")


# ------------------------------------------------------------------ the schedule


def test_a_scheduled_digest_posts_once_and_stores_the_numbers_it_showed(
    session_factory: Factory, book: QuestionnaireBook
) -> None:
    with UnitOfWork(session_factory) as uow:
        seed_study(uow.session, 6, START - timedelta(days=2))
        uow.commit()
    clock = Clock(START)
    plan = parse_plan("daily 09:00", TORONTO)
    assert plan is not None
    rules = Digests(session_factory, book, clock, plan, RESEARCH, timedelta(hours=6))
    [due] = rules.pending()
    clock.now = due
    first, again = rules.process(due), rules.process(due)  # the job woke twice
    assert (first.status, again.status) == ("sent", "skipped")

    posted = outbox(session_factory)
    assert first.outbox_id == posted[0][0].id
    assert {(row.channel, row.address) for row, _ in posted} == {RESEARCH}
    kinds = [type(m).__name__ for _, m in posted]
    assert kinds == ["Rich"] * kinds.count("Rich") + ["Gallery"] * kinds.count("Gallery")
    assert kinds.count("Gallery") >= 1
    [row] = [r for r in digest_rows(session_factory) if r.status == "done"]
    assert (row.due_at, row.channel, row.address, row.language) == (due, *RESEARCH, "en")
    assert row.summary is not None
    shown = Digest.from_dict(row.summary)
    assert (shown.headline.completed, shown.headline.in_progress) == (4, 2)
    assert shown.changes is None  # the first digest has nothing to compare with


def test_the_next_digest_counts_from_the_stored_summary(
    session_factory: Factory, book: QuestionnaireBook
) -> None:
    with UnitOfWork(session_factory) as uow:
        seed_study(uow.session, 6, START - timedelta(days=2))
        uow.commit()
    clock = Clock(START)
    plan = parse_plan("daily 09:00", TORONTO)
    assert plan is not None
    rules = Digests(session_factory, book, clock, plan, RESEARCH, timedelta(hours=6))
    [monday] = rules.pending()
    clock.now = monday
    assert rules.process(monday).status == "sent"

    with UnitOfWork(session_factory) as uow:  # three more people answer on Monday
        seed_study(uow.session, 3, monday + timedelta(hours=1), first=6)
        uow.commit()
    tuesday = monday + timedelta(days=1)
    clock.now = tuesday
    assert rules.process(tuesday).status == "sent"
    monday_row, tuesday_row = [r for r in digest_rows(session_factory) if r.status == "done"]
    assert monday_row.summary is not None and tuesday_row.summary is not None
    before, after = Digest.from_dict(monday_row.summary), Digest.from_dict(tuesday_row.summary)
    assert after.changes is not None and after.changes.since == before.built_at == monday
    assert after.changes.new_completions == 2  # people 6 and 7; person 8 is in progress
    assert after.headline.completed == before.headline.completed + 2


def test_an_on_demand_digest_between_counts_as_the_last_one(
    session_factory: Factory, book: QuestionnaireBook
) -> None:
    with UnitOfWork(session_factory) as uow:
        seed_study(uow.session, 3, START - timedelta(days=2))
        stored.request_digest(uow.session, START, *RESEARCH, "fr")
        uow.commit()
    poster = DigestPoster(session_factory, book, Clock(START + timedelta(minutes=1)))
    ids = poster.post_requested()
    assert ids and poster.post_requested() == []  # posted once
    [row] = digest_rows(session_factory)
    assert (row.status, row.language, row.summary is not None) == ("on_demand", "fr", True)
    first = message_from_dict(outbox(session_factory)[0][0].payload)
    assert isinstance(first, Rich) and first.blocks[0]["text"]["text"].startswith("Bilan")

    with UnitOfWork(reading_sessions(session_factory)) as uow:
        later = START + timedelta(hours=2)
        built = build_digest_messages(uow.session, book.current, RESEARCH, "en", later)
        assert stored.last_handled(uow.session) is None  # not a schedule occurrence
    assert built.digest.changes is not None
    assert built.digest.changes.since == START + timedelta(minutes=1)


# ------------------------------------------------------------ chat and settings


def _handler(sf: Factory, book: QuestionnaireBook) -> Handler:
    access = Access(
        research_address=("telegram", "-100777"),
        researchers=frozenset({("telegram", "11"), ("slack", "ULEAD")}),
        desk=Desk(digest_to=("telegram", "-100777")),
    )
    return Handler(sf, book, lambda: START, access=access)


@pytest.mark.parametrize(
    ("platform", "sender", "address", "text", "slash", "requested", "reply"),
    [
        ("telegram", "11", "-100777", "/digest", False, "en", "Preparing the digest (en)"),
        ("telegram", "11", "-100777", "/digest@ParleyBot fr", False, "fr", "(fr)"),
        ("telegram", "12", "-100777", "/digest", False, None, "only members of the research"),
        ("telegram", "11", "-100777", "/digest de", False, None, "Language 'de': use en, fr"),
        ("slack", "ULEAD", "C9/ULEAD", "/digest", True, "en", "posted to telegram:-100777"),
        ("slack", "UOTHER", "C9/UOTHER", "/digest", True, None, "only members of the research"),
    ],
)
def test_researchers_ask_for_a_digest_in_chat_others_are_refused(
    session_factory: Factory,
    book: QuestionnaireBook,
    platform: str,
    sender: str,
    address: str,
    text: str,
    slash: bool,
    requested: str | None,
    reply: str,
) -> None:
    event = InboundEvent(
        platform, f"e-{sender}-{text}", sender, address, Reply(text), group=True, command=slash
    )
    handled = _handler(session_factory, book).handle(event)
    [(row, said)] = [(r, m) for r, m in outbox(session_factory) if r.id in handled.outbox_ids]
    assert reply in getattr(said, "text", "") and (row.channel, row.address) == (platform, address)
    rows = digest_rows(session_factory)
    assert [(r.status, r.language, r.address) for r in rows] == (
        [("requested", requested, "-100777")] if requested else []
    )


@pytest.mark.parametrize(
    ("value", "tokens", "says"),
    [
        (None, {}, None),
        ("slack:C0123ABC", {"slack_bot_token": "xoxb-1"}, None),
        ("telegram:-1001234567890", {"telegram_token": "1:x"}, None),
        ("irc:#research", {}, "use slack:<channel id>"),
        ("C0123ABC", {"slack_bot_token": "xoxb-1"}, "use slack:<channel id>"),
        ("telegram:research", {"telegram_token": "1:x"}, "use slack:<channel id>"),
        ("slack:", {"slack_bot_token": "xoxb-1"}, "use slack:<channel id>"),
        ("slack:C0123ABC", {"telegram_token": "1:x"}, "Slack is not configured"),
        ("telegram:-100123", {}, "PARLEY_TELEGRAM_TOKEN is not set"),
    ],
)
def test_the_research_channel_setting_is_checked_in_one_line(
    value: str | None, tokens: dict[str, str], says: str | None
) -> None:
    secrets = {name: SecretStr(token) for name, token in tokens.items()}
    settings = Settings(research_channel=value, _env_file=None, **secrets)  # type: ignore[call-arg, arg-type]
    problem = settings.research_channel_problem()
    if says is None:
        assert problem is None
    else:
        assert problem is not None and says in problem and "\n" not in problem
        assert problem.startswith(f"PARLEY_RESEARCH_CHANNEL '{value}'")


# ------------------------------------------------------------- digest = export


def test_the_digests_numbers_equal_the_exports(
    session_factory: Factory, book: QuestionnaireBook, tmp_path: Path
) -> None:
    with UnitOfWork(session_factory) as uow:
        seed_study(uow.session, 9, START - timedelta(days=1))
        uow.commit()
    with UnitOfWork(session_factory) as uow:
        built = build_digest_messages(uow.session, book.current, RESEARCH, "en", START)
        tables = prepare_export(uow.session, ExportRequest(KEY), START)
        uow.commit()
    path = write_export(tables, tmp_path / "answers.csv", FileFormat.CSV)[0]  # and codebook
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["state"] == "answered"]

    def exported(item: str) -> Counter[str]:
        return Counter(code for r in rows if r["item_id"] == item for code in r["value"].split(";"))

    digest = built.digest
    for item_id in ("org_type", "data_uses"):
        summary = digest.item(item_id)
        assert isinstance(summary, ChoiceSummary)
        counts = {c.choice_id: c.count for c in summary.counts if c.count}
        assert counts == dict(exported(item_id))
        assert summary.respondents == sum(1 for r in rows if r["item_id"] == item_id)
    scale = digest.item("data_importance")
    assert isinstance(scale, ScaleSummary)
    assert {str(v.value): v.count for v in scale.distribution if v.count} == dict(
        exported("data_importance")
    )
    assert digest.headline.started == len({r["respondent"] for r in rows})
