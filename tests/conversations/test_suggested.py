"""Defaults, required messages and cascades, turn by turn through the engine (#7).

`data/suggested.yaml` has a province → city cascade (choices with `relevant`), a default
on each type and `required_message`s. The run state is reloaded from JSON every turn.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conversations.engine import Step, start, step
from conversations.inputs import Command, CommandName, Input, Pick, Reply, Submit, Toggle
from conversations.loading import load_questionnaire
from conversations.messages import Ask, Option, Say
from conversations.questionnaire import Questionnaire
from conversations.run import AnswerState, RunState, RunStatus

SUGGESTED = Path(__file__).parent / "data" / "suggested.yaml"
T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
TO_STAFF = ["I agree", "ok", "ok"]
"""Province and city by their defaults (Quebec, Montreal): the staff question is next."""


@pytest.fixture(scope="module")
def q() -> Questionnaire:
    return load_questionnaire(SUGGESTED)


def play(q: Questionnaire, inputs: Sequence[Input | str], language: str = "en") -> list[Step]:
    steps = [start(q, language, T0)]
    for turn, event in enumerate(inputs, start=1):
        run = RunState.from_dict(json.loads(json.dumps(steps[-1].run.to_dict())))
        given = Reply(event) if isinstance(event, str) else event
        steps.append(step(q, run, given, T0 + timedelta(minutes=turn)))
    return steps


def asked(s: Step) -> Ask:
    asks = [m for m in s.messages if isinstance(m, Ask)]
    assert asks, f"no question in {s.messages}"
    return asks[-1]


def said(s: Step) -> list[str]:
    return [m.text for m in s.messages if isinstance(m, Say)]


def values(run: RunState) -> dict[str, object]:
    return {k: a.value for k, a in run.answers.items() if a.state is AnswerState.ANSWERED}


# --- defaults -----------------------------------------------------------------------------

ALL_DEFAULTS = {
    "province": "qc",
    "city": "mtl",
    "staff": 12,
    "tools": ["sheet", "db"],
    "ok_public": False,
    "motto": "Data for all",
}


@pytest.mark.parametrize(
    "accepting",
    [
        ["ok", "ok", "ok", "ok", "ok", "keep"],
        ["keep", "next", "keep", Submit("tools"), "OK", "next"],
        [
            Command(CommandName.NEXT, item_id="province"),  # the Keep button
            Command(CommandName.NEXT, item_id="city"),
            Command(CommandName.NEXT, item_id="staff"),
            Command(CommandName.NEXT, item_id="tools"),
            Command(CommandName.NEXT, item_id="ok_public"),
            Command(CommandName.NEXT, item_id="motto"),
        ],
        ["", " ", "d'accord", "okay", "ok", ""],
    ],
    ids=["ok", "keep-next-done", "keep-button", "empty-and-french"],
)
def test_every_default_is_accepted_by_keep_ok_or_the_button(
    q: Questionnaire, accepting: list[Input | str]
) -> None:
    steps = play(q, ["I agree", *accepting, "Because"])
    assert steps[-1].run.status is RunStatus.COMPLETED
    assert values(steps[-1].run) == {**ALL_DEFAULTS, "why": "Because"}


def test_ok_on_a_text_item_with_a_default_is_the_answer(q: Questionnaire) -> None:
    steps = play(q, [*TO_STAFF, "ok", "ok", "ok", "ok"])
    assert values(steps[-1].run)["motto"] == "ok"


@pytest.mark.parametrize(
    ("replies", "item", "options", "keep", "hint"),
    [
        (
            ["I agree"], "province", ["★ Quebec", "Ontario"], "Keep: Quebec",
            "Suggested answer: Quebec. Type keep (or press Keep) to accept it, or answer as "
            "usual. Reply with a number from 1 to 2 or the name of an option.",
        ),
        (
            TO_STAFF, "staff", [], "Keep: 12 people",
            "Suggested answer: 12 people. Type keep (or press Keep) to accept it, or answer as "
            "usual. Reply with a whole number up to 500 (people).",
        ),
        (
            [*TO_STAFF, "ok", "ok"], "ok_public", ["Yes", "★ No"], "Keep: No",
            "Suggested answer: No. Type keep (or press Keep) to accept it, or answer as usual. "
            "Reply yes or no.",
        ),
    ],
)  # fmt: skip
def test_the_default_is_starred_and_offered_by_a_keep_button(
    q: Questionnaire, replies: list[str], item: str, options: list[str], keep: str, hint: str
) -> None:
    ask = asked(play(q, replies)[-1])
    assert ask.item_id == item
    assert [o.label for o in ask.options] == options
    assert ask.controls[0] == Option("next", keep)
    assert ask.hint == hint


def test_in_french_the_default_is_shown_in_french(q: Questionnaire) -> None:
    ask = asked(play(q, ["J'accepte"], language="fr")[-1])
    assert [o.label for o in ask.options] == ["★ Québec", "Ontario"]
    assert ask.controls[0] == Option("next", "Garder : Québec")
    steps = play(q, ["J'accepte", "ok", "ok", "garder"], language="fr")
    assert steps[-1].run.answers["staff"].display == "12 personnes"


def test_a_multi_choice_default_starts_as_the_ticks(q: Questionnaire) -> None:
    steps = play(q, [*TO_STAFF, "ok", Toggle("tools", "bi"), Submit("tools")])
    assert asked(steps[-3]).selected == ("sheet", "db")
    assert asked(steps[-2]).selected == ("sheet", "db", "bi")
    assert values(steps[-1].run)["tools"] == ["sheet", "db", "bi"]


def test_an_answer_of_ones_own_replaces_the_default(q: Questionnaire) -> None:
    steps = play(q, ["I agree", "2", "1", "40"])
    assert values(steps[-1].run) == {"province": "ont", "city": "tor", "staff": 40}


def test_going_back_shows_the_answer_not_the_default(q: Questionnaire) -> None:
    ask = asked(play(q, ["I agree", "2", "back"])[-1])
    assert (ask.item_id, ask.current) == ("province", "Ontario")
    assert [o.label for o in ask.options] == ["Quebec", "Ontario"]
    assert all(c.value != "next" for c in ask.controls)


def test_a_rejected_reply_leaves_the_default_on_offer(q: Questionnaire) -> None:
    steps = play(q, [*TO_STAFF, "900", "keep"])
    assert "900 is outside the accepted range" in said(steps[-2])[0]
    assert values(steps[-1].run)["staff"] == 12


# --- cascades -----------------------------------------------------------------------------


def test_a_cascade_offers_and_numbers_only_the_matching_choices(q: Questionnaire) -> None:
    steps = play(q, ["I agree", "Ontario", "Montreal", "2"])
    ask = asked(steps[2])
    assert ask.item_id == "city"
    assert [o.value for o in ask.options] == ["tor", "ott"]
    assert all(c.value != "next" for c in ask.controls), "Montreal, the default, is hidden"
    assert said(steps[3]) == [
        "I didn’t recognise that choice. Reply with a number from 1 to 2 or the name of an option."
    ]
    assert values(steps[-1].run)["city"] == "ott"


@pytest.mark.parametrize("then", ["language fr", "pause", "help"])
def test_the_cascade_holds_when_the_question_is_asked_again(q: Questionnaire, then: str) -> None:
    steps = play(q, ["I agree", "Ontario", then, "continue"])
    asks = [m for s in steps[2:] for m in s.messages if isinstance(m, Ask)]
    assert asks and all([o.value for o in ask.options] == ["tor", "ott"] for ask in asks)


def test_a_hidden_choice_cannot_be_picked_with_a_button(q: Questionnaire) -> None:
    steps = play(q, ["I agree", "Ontario", Pick("city", "mtl"), Pick("city", "tor")])
    assert "city" not in steps[-2].run.answers
    assert values(steps[-1].run)["city"] == "tor"


def test_changing_the_parent_asks_the_cascaded_item_again(q: Questionnaire) -> None:
    steps = play(q, ["I agree", "Quebec", "Montreal", "back", "back", "Ontario"])
    ask = asked(steps[-1])
    assert (ask.item_id, ask.current) == ("city", None)
    assert [o.label for o in ask.options] == ["Toronto", "Ottawa"]
    kept = play(q, ["I agree", "Quebec", "Montreal", "back", "back", "Ontario", "next"])
    assert (kept[-1].run.cursor, said(kept[-1])) == ("city", ["Which city, please?"])
    done = play(q, ["I agree", "Quebec", "Montreal", "back", "back", "Ontario", "Toronto"])
    assert values(done[-1].run)["city"] == "tor"
    assert asked(done[-1]).item_id == "staff"


# --- required messages --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "language", "message"),
    [
        ("skip", "en", "Please tell us why."),
        ("next", "en", "Please tell us why."),
        ("   ", "en", "Please tell us why."),
        ("passer", "fr", "Dites-nous pourquoi, s'il vous plaît."),
        (Command(CommandName.SKIP, item_id="why"), "en", "Please tell us why."),
    ],
)
def test_a_required_item_left_unanswered_gets_its_own_message(
    q: Questionnaire, attempt: Input | str, language: str, message: str
) -> None:
    accept = "J'accepte" if language == "fr" else "I agree"
    steps = play(q, [accept, "ok", "ok", "ok", "ok", "ok", "ok", attempt], language)
    assert steps[-2].run.cursor == "why"
    assert said(steps[-1]) == [message]
    assert steps[-1].run.answers.keys() == steps[-2].run.answers.keys()


def test_done_with_nothing_ticked_says_the_required_message(q: Questionnaire) -> None:
    untick = [Toggle("tools", "sheet"), Toggle("tools", "db")]
    steps = play(q, [*TO_STAFF, "ok", *untick, Submit("tools")])
    assert asked(steps[-2]).selected == ()
    assert said(steps[-1]) == ["Pick at least one tool."]
    assert "tools" not in steps[-1].run.answers


def test_without_a_required_message_the_generic_one_is_said(q: Questionnaire) -> None:
    steps = play(q, [*TO_STAFF, "skip"])
    assert said(steps[-1]) == ["This question needs an answer."]


def test_skip_on_a_required_item_with_a_default_says_its_message(q: Questionnaire) -> None:
    steps = play(q, ["I agree", "ok", "skip"])
    assert said(steps[-1]) == ["Which city, please?"]
