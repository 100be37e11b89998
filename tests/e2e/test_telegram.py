"""End to end on Telegram: the real `parley run` subprocess against the loopback `FakeTelegram`.

Each test starts a fake Bot API server in the test process and points `parley run` at it
(`PARLEY_TELEGRAM_API_URL`), with its own SQLite database. Simulated users press buttons
and type; assertions read the fake's records (messages in their current state, callback
answers, flood-limit violations) and the database. Every wait is bounded, and the
subprocess is always terminated (SIGTERM, then SIGKILL) in a `finally`.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from tests.e2e.support import PERSONA, label
from tests.e2e.telegram_support import (
    WAIT,
    ParleyBot,
    answer_counts,
    answers,
    free_port,
    invite_links,
    is_ask,
    start_token,
    telegram_env,
)
from tests.fakes.telegram_api import FakeTelegram

CONSENT_EN = "Do you agree to take part?"
CONSENT_FR = "Acceptez-vous de participer?"
INVITATION_ONLY = "This study is by invitation only."


def current(user, item_id: str):  # type: ignore[no-untyped-def]
    """Wait for the unanswered question `item_id` and return its message."""
    return user.wait_for(is_ask(label(item_id)), WAIT)


def stored(database_url: str) -> dict[str, tuple[object, str]]:
    return {item: (value, state) for _, item, value, state in answers(database_url)}


def test_invitation_to_answers_with_buttons_text_and_back(tmp_path: Path, sqlite_url: str) -> None:
    with FakeTelegram() as tg:
        env = telegram_env(sqlite_url, tg)
        links = invite_links(env, tmp_path)
        assert len(links) == 15
        bot = ParleyBot(env, tmp_path)
        try:
            priya = tg.user(5001, first_name="Priya", language_code="en")
            priya.send_command("/start", start_token(links["Priya Nandakumar"]))
            consent = priya.wait_for(lambda m: CONSENT_EN in (m.text or ""), WAIT)
            assert consent.buttons and "I agree" in consent.buttons[0]
            priya.press("I agree")

            first = current(priya, "org_type")
            assert "Non-profit settlement agency" in [b for row in first.buttons for b in row]
            priya.press("Non-profit settlement agency", message_id=first.message_id)
            tg.wait_until(
                lambda: (
                    "✓ Non-profit settlement agency"
                    in (priya._fake.messages(priya.chat_id)[-1].text or "")
                    or any(
                        m.message_id == first.message_id and "✓" in (m.text or "")
                        for m in priya.messages()
                    )
                ),
                WAIT,
                "the first question edited",
            )
            edited = next(m for m in priya.messages() if m.message_id == first.message_id)
            assert edited.text is not None
            assert edited.text.endswith("✓ Non-profit settlement agency"), edited.text
            assert not edited.buttons

            province = current(priya, "province")
            priya.press("Ontario", message_id=province.message_id)
            role = current(priya, "respondent_role")
            priya.press("Research, policy or data analyst", message_id=role.message_id)
            current(priya, "total_staff")
            priya.send_text("40")
            current(priya, "data_staff")
            priya.send_text("6")
            current(priya, "data_fte")
            priya.send_text("2.5")
            budget = current(priya, "annual_budget")
            priya.press("Prefer not to say", message_id=budget.message_id)
            importance = current(priya, "data_importance")
            priya.press("5", message_id=importance.message_id)
            uses = current(priya, "data_uses")
            priya.press("Planning programs and services", message_id=uses.message_id)
            priya.press("Finding gaps in services", message_id=uses.message_id)
            tg.wait_until(lambda: _msg(priya, uses.message_id).edits >= 2, WAIT, "two toggles")
            toggled = _msg(priya, uses.message_id)
            labels = [b for row in toggled.buttons for b in row]
            assert "✓ Planning programs and services" in labels
            assert "✓ Finding gaps in services" in labels
            assert "✓ Policy and advocacy" not in labels
            priya.press("✅ Done", message_id=uses.message_id)
            capacity = current(priya, "data_capacity")
            priya.press("3", message_id=capacity.message_id)
            current(priya, "data_tools")
            priya.send_command("/back")
            again = priya.wait_for(
                lambda m: (
                    label("data_capacity") in (m.text or "")
                    and "Your current answer: 3" in (m.text or "")
                ),
                WAIT,
            )
            priya.press("4", message_id=again.message_id)
            for turn in PERSONA[10:17]:  # data_tools .. hardest_to_get, typed
                current(priya, turn.item)
                priya.send_text(turn.reply)
            third_party = current(priya, "third_party_data")
            priya.press("No", message_id=third_party.message_id)
            current(priya, "open_data_familiarity")

            assert tg.commands_for(language_code="fr")
            assert tg.commands_for()
            assert [c for c in tg.callbacks if not c.answered] == []
            assert not priya.unanswered_callbacks()
            # Parley paces under Telegram's limits with a margin; a scheduling stall of a
            # second or more on a loaded machine can still bunch two sends up once.
            assert len(tg.violations) <= 1, tg.violations
        finally:
            bot.stop()

    expected: dict[str, tuple[object, str]] = {
        "org_type": ("non_profit", "answered"),
        "province": ("on", "answered"),
        "respondent_role": ("analyst", "answered"),
        "total_staff": (40, "answered"),
        "data_staff": (6, "answered"),
        "data_fte": (2.5, "answered"),
        "annual_budget": (None, "skipped"),
        "data_importance": (5, "answered"),
        "data_uses": (["program_planning", "service_gaps"], "answered"),
        "data_capacity": (4, "answered"),
        **{turn.item: (turn.value, turn.state) for turn in PERSONA[10:17]},
        "third_party_data": (False, "answered"),
    }
    got = stored(sqlite_url)
    assert {k: got.get(k) for k in expected} == expected
    assert all(n == 1 for n in answer_counts(sqlite_url).values())


def _msg(user, message_id):  # type: ignore[no-untyped-def]
    return next(m for m in user.messages() if m.message_id == message_id)


def _consented(tg: FakeTelegram, env: dict[str, str], tmp_path: Path, user_id: int = 5002):  # type: ignore[no-untyped-def]
    links = invite_links(env, tmp_path)
    user = tg.user(user_id, first_name="Priya", language_code="en")
    user.send_command("/start", start_token(links["Priya Nandakumar"]))
    consent = user.wait_for(lambda m: CONSENT_EN in (m.text or ""), WAIT)
    user.press("I agree", message_id=consent.message_id)
    return user, consent


def test_stale_button_is_answered_with_a_notice_and_changes_nothing(
    tmp_path: Path, sqlite_url: str
) -> None:
    with FakeTelegram() as tg:
        env = telegram_env(sqlite_url, tg)
        bot = ParleyBot(env, tmp_path)
        try:
            priya, consent = _consented(tg, env, tmp_path)
            first = current(priya, "org_type")
            priya.press("Non-profit settlement agency", message_id=first.message_id)
            province = current(priya, "province")
            assert "✓" in _msg(priya, consent.message_id).text, "consent became a transcript line"
            assert not _msg(priya, consent.message_id).buttons
            before = answers(sqlite_url)
            # After /back, the province question still shows its buttons: pressing one is stale.
            priya.send_text("/back")
            current(priya, "org_type")
            query = priya.press("Ontario", message_id=province.message_id)
            record = tg.wait_until(
                lambda: next((c for c in tg.callbacks if c.id == query and c.answered), None),
                WAIT,
                "the stale press answered",
            )
            assert record.answer_text == "That question has already been answered."
            assert answers(sqlite_url) == before
            priya.send_text("next")
            asked = is_ask(label("province"))
            again = priya.wait_for(lambda m: m.message_id > province.message_id and asked(m), WAIT)
            priya.press("Ontario", message_id=again.message_id)
            current(priya, "respondent_role")
            after = answers(sqlite_url)
            assert after[: len(before)] == before
            assert [row[1] for row in after] == ["org_type", "province"]
            assert not priya.unanswered_callbacks()
        finally:
            bot.stop()


def test_uninvited_start_and_open_enrollment(tmp_path: Path, sqlite_url: str) -> None:
    with FakeTelegram() as tg:
        env = telegram_env(sqlite_url, tg)
        bot = ParleyBot(env, tmp_path)
        try:
            stranger = tg.user(6001, first_name="Sam", language_code="en")
            stranger.send_command("/start")
            stranger.wait_for(lambda m: INVITATION_ONLY in (m.text or ""), WAIT)
            assert not any(CONSENT_EN in (m.text or "") for m in stranger.messages())
        finally:
            bot.stop()
        bot = ParleyBot(dict(env, PARLEY_OPEN_ENROLLMENT="true"), tmp_path, number=2)
        try:
            claire = tg.user(6002, first_name="Claire", language_code="fr")
            claire.send_command("/start")
            consent = claire.wait_for(lambda m: CONSENT_FR in (m.text or ""), WAIT)
            assert "J’accepte" in [b for row in consent.buttons for b in row]
        finally:
            bot.stop()


def test_kill_9_mid_questionnaire_then_continue(tmp_path: Path, sqlite_url: str) -> None:
    with FakeTelegram() as tg:
        env = telegram_env(sqlite_url, tg)
        bot = ParleyBot(env, tmp_path)
        try:
            priya, _ = _consented(tg, env, tmp_path)
            first = current(priya, "org_type")
            priya.press("Non-profit settlement agency", message_id=first.message_id)
            province = current(priya, "province")  # org_type acknowledged
            bot.kill9()
        finally:
            bot.stop()
        assert [row[1] for row in answers(sqlite_url)] == ["org_type"]
        bot = ParleyBot(env, tmp_path, number=2)
        try:
            priya.press("Ontario", message_id=province.message_id)
            current(priya, "respondent_role")
            priya.send_text("3")
            current(priya, "total_staff")
            assert not priya.unanswered_callbacks()
        finally:
            bot.stop()
    got = stored(sqlite_url)
    assert got["org_type"] == ("non_profit", "answered")
    assert got["province"] == ("on", "answered")
    assert got["respondent_role"] == ("analyst", "answered")
    assert all(n == 1 for n in answer_counts(sqlite_url).values())


def _post_update(port: int, update: dict[str, object], secret: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/telegram/webhook",
        data=json.dumps(update).encode(),
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_webhook_mode_checks_the_secret_and_ignores_redelivery(
    tmp_path: Path, sqlite_url: str
) -> None:
    port = free_port()
    with FakeTelegram() as tg:
        env = telegram_env(
            sqlite_url,
            tg,
            PARLEY_OPEN_ENROLLMENT="true",
            PARLEY_TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/webhook",
            PARLEY_TELEGRAM_WEBHOOK_SECRET="s3cret",
            PARLEY_HTTP_PORT=str(port),
        )
        bot = ParleyBot(env, tmp_path)
        try:
            tg.wait_until(lambda: tg.webhook_url, WAIT, "the webhook set")
            wanda = tg.user(7001, first_name="Wanda", language_code="en")
            wanda.send_command("/start")
            consent = wanda.wait_for(lambda m: CONSENT_EN in (m.text or ""), WAIT)
            wanda.press("I agree", message_id=consent.message_id)
            current(wanda, "org_type")
            typed = {
                "update_id": 900001,
                "message": {
                    "message_id": 9001,
                    "date": 1764165600,
                    "chat": {"id": 7001, "type": "private", "first_name": "Wanda"},
                    "from": {"id": 7001, "is_bot": False, "first_name": "Wanda"},
                    "text": "3",
                },
            }
            assert _post_update(port, typed, "wrong") == 403
            assert answers(sqlite_url) == []
            assert _post_update(port, typed, "s3cret") == 200
            assert _post_update(port, typed, "s3cret") == 200
            current(wanda, "province")
            assert stored(sqlite_url) == {"org_type": ("municipality", "answered")}
            assert all(d.status == 200 for d in tg.webhook_deliveries)
        finally:
            bot.stop()


def test_a_429_storm_delays_messages_but_loses_and_doubles_none(
    tmp_path: Path, sqlite_url: str
) -> None:
    with FakeTelegram() as tg:
        env = telegram_env(sqlite_url, tg, PARLEY_OPEN_ENROLLMENT="true")
        bot = ParleyBot(env, tmp_path)
        try:
            sam = tg.user(7101, first_name="Sam", language_code="en")
            sam.send_command("/start")
            consent = sam.wait_for(lambda m: CONSENT_EN in (m.text or ""), WAIT)
            tg.fail_next(4, status=429, retry_after=1)
            sam.press("I agree", message_id=consent.message_id)
            first = current(sam, "org_type")
            sam.press("Municipality", message_id=first.message_id)
            current(sam, "province")
            texts = [m.text or "" for m in sam.messages()]
            intro = [t for t in texts if t.startswith("Section 1:")]
            asked = [t for t in texts if label("province") in t]
            assert len(intro) == 1 and len(asked) == 1, texts
            assert texts.index(intro[0]) < texts.index(asked[0])
            # the consent's rewrite may be one of the refused calls: retried, not lost
            sam.wait_for(lambda m: m.message_id == consent.message_id and "✓" in m.text, WAIT)
            assert len([r for r in tg.requests if r.status == 429]) == 4
            assert not sam.unanswered_callbacks()
        finally:
            bot.stop()
