"""End to end on Telegram: the real `parley run` subprocess against the loopback `FakeTelegram`.

Each test starts a fake Bot API server in the test process and points `parley run` at it
(`PARLEY_TELEGRAM_API_URL`), with its own SQLite database. Simulated users press buttons
and type; assertions read the fake's records (messages in their current state, callback
answers, flood-limit violations) and the database. Every wait is bounded, and the
subprocess is always terminated (SIGTERM, then SIGKILL) in a `finally`.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.support import PERSONA, label
from tests.e2e.telegram_support import (
    WAIT,
    ParleyBot,
    answer_counts,
    answers,
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
            assert not tg.violations
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
            current(priya, "province")
            before = answers(sqlite_url)
            # The consent message keeps its keyboard: pressing it now is a stale press.
            query = priya.press("I do not agree", message_id=consent.message_id)
            record = tg.wait_until(
                lambda: next((c for c in tg.callbacks if c.id == query and c.answered), None),
                WAIT,
                "the stale press answered",
            )
            assert record.answer_text, "a stale press should get a notice toast"
            province = current(priya, "province")
            priya.press("Ontario", message_id=province.message_id)
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
