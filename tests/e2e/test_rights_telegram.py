"""End to end on Telegram (#7): the real `parley run` against the loopback `FakeTelegram`.

A participant agrees, answers, asks for their data (a JSON document arrives), withdraws
with the confirmation button and gets a receipt code; the database then holds none of
their answers, and a STOP-then-start afterwards works. Every wait is bounded; the
subprocess is always stopped.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import sqlalchemy as sa

from tests.e2e.support import label
from tests.e2e.telegram_support import WAIT, ParleyBot, is_ask, telegram_env
from tests.fakes.telegram_api import FakeTelegram

STORY = "Our intake forms live in a filing cabinet named Bertrand"


def test_my_data_then_withdraw_on_telegram(tmp_path: Path, sqlite_url: str) -> None:
    with FakeTelegram() as tg:
        env = telegram_env(sqlite_url, tg, PARLEY_OPEN_ENROLLMENT="true")
        with ParleyBot(env, tmp_path) as bot:
            user = tg.user(6001, first_name="Odalys", language_code="en")
            user.send_command("/start")
            user.wait_for(lambda m: "I agree" in str(m.buttons), WAIT)
            user.press("I agree")
            first = user.wait_for(is_ask(label("org_type")), WAIT)
            user.press("Non-profit settlement agency", message_id=first.message_id)
            user.wait_for(is_ask(label("province")), WAIT)

            user.send_text("/mydata")
            document = user.wait_for(lambda m: m.kind == "document", WAIT)
            assert document.file is not None and document.file.mime_type == "application/json"
            data = json.loads(document.file.data)
            assert data["profile"]["name"] == "Odalys"
            answered = [a["item_id"] for a in data["runs"][0]["answers"]]
            assert answered == ["org_type"]
            assert [c["decision"] for c in data["consents"]] == ["agreed"]

            user.send_text("withdraw")
            user.wait_for(lambda m: "Yes, withdraw" in str(m.buttons), WAIT)
            user.press("Yes, withdraw")
            receipt = user.wait_for(lambda m: "receipt code" in (m.text or ""), WAIT)
            assert re.search(r"W-[0-9A-Z]{4}-[0-9A-Z]{4}", receipt.text or ""), receipt.text

            user.send_text("start")
            user.wait_for(lambda m: "again" in (m.text or "") and m.date >= receipt.date, WAIT)
            assert bot.alive(), bot.log()
    engine = sa.create_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            answers = connection.execute(sa.text("SELECT count(*) FROM answers")).scalar_one()
            names = connection.execute(sa.text("SELECT name FROM stakeholders")).scalars().all()
    finally:
        engine.dispose()
    assert answers == 0
    assert "Odalys" not in names
