"""The pure parts of participants' rights, as tables: what is recognised, receipt codes,
when consent must be renewed, what a step decided, and the questionnaire's settings."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conversations.asking import CONSENT_ITEM
from conversations.consent import Verdict, decision_of, renewal, renewal_due
from conversations.errors import QuestionnaireError
from conversations.inputs import Begin, Command, CommandName, Input, Pick, Reply
from conversations.loading import parse_questionnaire
from conversations.messages import Ask, Say
from conversations.questionnaire import WithdrawMode
from conversations.rights import (
    CODE_ALPHABET,
    WITHDRAW_ITEM,
    Right,
    is_restart,
    receipt_code,
    recognise,
    withdraw_question,
    withdrawn,
)
from conversations.run import Awaiting, RunState, RunStatus
from tests.rights.support import NOW, STUDY, study


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (Reply("stop"), Right.STOP),
        (Reply("STOP"), Right.STOP),
        (Reply("/stop"), Right.STOP),
        (Reply("Arrêter"), Right.STOP),
        (Reply("unsubscribe"), Right.STOP),
        (Command(CommandName.STOP), Right.STOP),
        (Reply("/mydata"), Right.MY_DATA),
        (Reply("my data"), Right.MY_DATA),
        (Reply("My Data"), Right.MY_DATA),
        (Reply("mes données"), Right.MY_DATA),
        (Reply("/withdraw"), Right.WITHDRAW),
        (Reply("withdraw"), Right.WITHDRAW),
        (Reply("retirer"), Right.WITHDRAW),
        (Pick(WITHDRAW_ITEM, "confirm"), Right.CONFIRM_WITHDRAWAL),
        (Pick(WITHDRAW_ITEM, "cancel"), Right.CANCEL_WITHDRAWAL),
        (Pick(WITHDRAW_ITEM, "maybe"), None),
        (Pick("colour", "confirm"), None),
        (Reply("I would like to stop smoking"), None),
        (Reply("my data needs are large"), None),
        (Reply("start"), None),
        (Begin(), None),
        (Command(CommandName.BACK), None),
    ],
)
def test_what_is_recognised(given: Input, expected: Right | None) -> None:
    assert recognise(given) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (Begin(), True),
        (Reply("start"), True),
        (Reply("/start"), True),
        (Reply("Commencer"), True),
        (Reply("continue"), True),
        (Command(CommandName.RESUME), True),
        (Reply("stop"), False),
        (Reply("starting soon"), False),
        (Pick("colour", "red"), False),
    ],
)
def test_what_lifts_a_stop(given: Input, expected: bool) -> None:
    assert is_restart(given) is expected


@pytest.mark.parametrize(
    ("draw", "code"),
    [
        (bytes(5), "W-0000-0000"),
        (b"\xff" * 5, "W-ZZZZ-ZZZZ"),
        (b"\x00\x00\x00\x00\x01", "W-0000-0001"),
        (b"\x80\x00\x00\x00\x00", "W-G000-0000"),
    ],
)
def test_receipt_codes(draw: bytes, code: str) -> None:
    assert receipt_code(draw) == code


def test_receipt_codes_use_unambiguous_symbols_and_need_five_bytes() -> None:
    assert not set("ILOU") & set(CODE_ALPHABET)
    assert len(set(CODE_ALPHABET)) == 32
    with pytest.raises(ValueError, match="5 random bytes"):
        receipt_code(b"1234")


@pytest.mark.parametrize(
    ("language", "modes", "words"),
    [
        ("en", [WithdrawMode.DELETE], "erased"),
        ("en", [WithdrawMode.KEEP_ANONYMOUS], "without your name"),
        ("fr", [WithdrawMode.DELETE], "effacées"),
        ("fr", [WithdrawMode.KEEP_ANONYMOUS], "sans votre nom"),
    ],
)
def test_the_question_and_the_receipt_say_what_happens(
    language: str, modes: list[WithdrawMode], words: str
) -> None:
    question = withdraw_question(modes, language)
    assert isinstance(question, Ask) and question.item_id == WITHDRAW_ITEM
    assert words in question.text
    assert [o.value for o in question.options] == ["confirm", "cancel"]
    receipt = withdrawn(modes, "W-7K3Q-9XPD", language)
    assert isinstance(receipt, Say) and "W-7K3Q-9XPD" in receipt.text


# -- consent versions --------------------------------------------------------------------

V1 = study(consent=1).current
V2 = study(version="2", consent=2).current
BASE = RunState("rights-study", "1", "en")


@pytest.mark.parametrize(
    ("status", "agreed", "shown", "due"),
    [
        (RunStatus.IN_PROGRESS, "1", "1", True),  # agreed to 1, now 2
        (RunStatus.PAUSED, "1", "1", True),
        (RunStatus.WITHDRAWN, "1", "1", True),
        (RunStatus.IN_PROGRESS, "2", "1", False),  # renewed already
        (RunStatus.COMPLETED, "1", "1", False),  # nothing more to ask
        (RunStatus.CONSENTING, None, "1", True),  # would see the old text
        (RunStatus.CONSENTING, None, "2", False),
        (RunStatus.DECLINED, None, "2", False),
    ],
)
def test_when_consent_must_be_renewed(
    status: RunStatus, agreed: str | None, shown: str, due: bool
) -> None:
    run = replace(BASE, status=status, consent_version=agreed)
    assert renewal_due(V2, shown, run) is due


def test_another_questionnaire_never_needs_renewal() -> None:
    other = replace(
        BASE, questionnaire_id="other", status=RunStatus.IN_PROGRESS, consent_version="1"
    )
    assert not renewal_due(V2, "1", other)


def test_renewing_carries_the_run_on_where_it_was_under_the_new_version() -> None:
    run = replace(
        BASE,
        status=RunStatus.IN_PROGRESS,
        awaiting=Awaiting.ANSWER,
        cursor="story",
        consent_version="1",
    )
    step = renewal(V1, run, "agree", "2", NOW)
    assert step.run.consent_version == "2"
    assert step.run.cursor == "story" and step.run.status is RunStatus.IN_PROGRESS
    assert any(isinstance(m, Ask) and m.item_id == "story" for m in step.messages)
    assert decision_of(run, step.run, "2") is not None


def test_renewing_before_ever_agreeing_starts_the_questions() -> None:
    run = replace(BASE, status=RunStatus.CONSENTING, awaiting=Awaiting.CONSENT)
    step = renewal(V1, run, "agree", "2", NOW)
    assert step.run.status is RunStatus.IN_PROGRESS and step.run.consent_version == "2"
    assert any(isinstance(m, Ask) and m.item_id == "colour" for m in step.messages)


def test_declining_the_renewal_ends_the_run_politely() -> None:
    run = replace(BASE, status=RunStatus.IN_PROGRESS, cursor="story", consent_version="1")
    step = renewal(V1, run, "decline", "2", NOW)
    assert step.run.status is RunStatus.DECLINED
    decision = decision_of(run, step.run, "2")
    assert decision is not None and (decision.verdict, decision.version) == (Verdict.DECLINED, "2")


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (
            replace(BASE, status=RunStatus.CONSENTING),
            replace(BASE, status=RunStatus.IN_PROGRESS, consent_version="1"),
            (Verdict.AGREED, "1"),
        ),
        (
            replace(BASE, status=RunStatus.CONSENTING),
            replace(BASE, status=RunStatus.DECLINED),
            (Verdict.DECLINED, "3"),
        ),
        (
            replace(BASE, status=RunStatus.IN_PROGRESS, consent_version="1"),
            replace(BASE, status=RunStatus.IN_PROGRESS, consent_version="1", turn=5),
            None,
        ),
        (
            replace(BASE, status=RunStatus.DECLINED),
            replace(BASE, status=RunStatus.DECLINED, turn=2),
            None,
        ),
    ],
)
def test_what_a_step_decided(
    before: RunState, after: RunState, expected: tuple[Verdict, str] | None
) -> None:
    decision = decision_of(before, after, "3")
    assert (None if decision is None else (decision.verdict, decision.version)) == expected


def test_the_engine_records_the_consent_version_it_showed() -> None:
    from conversations import engine

    started = engine.start(V2, "en", NOW)
    agreed = engine.step(V2, started.run, Pick(CONSENT_ITEM, "agree"), NOW)
    decision = decision_of(started.run, agreed.run, V2.consent_version)
    assert decision is not None and decision.version == "2"


# -- the questionnaire's settings --------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("delete", WithdrawMode.DELETE), ("keep_anonymous", WithdrawMode.KEEP_ANONYMOUS)],
)
def test_on_withdraw_is_read(mode: str, expected: WithdrawMode) -> None:
    assert study(mode=mode).current.on_withdraw is expected


def test_without_on_withdraw_answers_are_erased() -> None:
    text = STUDY.format(version="1", consent=1, mode="delete").replace("on_withdraw: delete\n", "")
    assert parse_questionnaire(text, "q.yaml").questionnaire.on_withdraw is WithdrawMode.DELETE


@pytest.mark.parametrize(
    ("replace_with", "message"),
    [
        (
            "on_withdraw: forget",
            "q.yaml:5: on_withdraw: must be delete or keep_anonymous, not 'forget'",
        ),
        ("on_withdraw: delete\nconsent_extra: 1", "consent_extra"),
    ],
)
def test_a_bad_on_withdraw_is_one_line_naming_the_field(replace_with: str, message: str) -> None:
    text = STUDY.format(version="1", consent=1, mode="delete").replace(
        "on_withdraw: delete", replace_with
    )
    with pytest.raises(QuestionnaireError) as raised:
        parse_questionnaire(text, "q.yaml")
    assert any(message in str(error) for error in raised.value.errors), raised.value.errors


@pytest.mark.parametrize("version", ["two", "0", "1.5", "-1", "true"])
def test_a_consent_version_is_a_whole_number(version: str) -> None:
    text = STUDY.format(version="1", consent=version, mode="delete")
    with pytest.raises(QuestionnaireError) as raised:
        parse_questionnaire(text, "q.yaml")
    assert any("consent.version: must be a whole number" in str(e) for e in raised.value.errors)


@pytest.mark.parametrize(("given", "stored"), [("1", "1"), ("'2'", "2"), ("07", "7")])
def test_consent_versions_are_read_as_whole_numbers(given: str, stored: str) -> None:
    text = STUDY.format(version="1", consent=given, mode="delete")
    assert parse_questionnaire(text, "q.yaml").questionnaire.consent_version == stored
