"""The engine, turn by turn, with the run state serialised and reloaded between every turn."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conversations.engine import Step, start, step
from conversations.errors import InvalidInput
from conversations.inputs import (
    Begin,
    Command,
    CommandName,
    Input,
    Pick,
    Reply,
    Submit,
    Toggle,
    Unreadable,
)
from conversations.loading import load_questionnaire
from conversations.messages import Answered, Ask, Notice, Say
from conversations.questionnaire import Questionnaire
from conversations.run import AnswerState, RunState, RunStatus

MINI = Path(__file__).parent / "data" / "mini.yaml"
T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)

# The shortest path through mini.yaml: agency, 40 staff, 4 on data, portal yes, 4, pr, …
HAPPY = ["I agree", "1", "40", "4", "yes", "4", "1", "12.5", "2026-01-15", "More data"]


@pytest.fixture(scope="module")
def mini() -> Questionnaire:
    return load_questionnaire(MINI)


def reloaded(run: RunState) -> RunState:
    """What the next turn sees: the state after a JSON round trip (as the database stores it)."""
    return RunState.from_dict(json.loads(json.dumps(run.to_dict())))


def play(q: Questionnaire, inputs: Sequence[Input | str], language: str = "en") -> list[Step]:
    steps = [start(q, language, T0)]
    for turn, event in enumerate(inputs, start=1):
        given = Reply(event) if isinstance(event, str) else event
        steps.append(step(q, reloaded(steps[-1].run), given, T0 + timedelta(minutes=turn)))
    return steps


def texts(s: Step) -> list[str]:
    out = []
    for m in s.messages:
        if isinstance(m, (Say, Notice, Ask)):
            out.append(m.text)
        elif isinstance(m, Answered):
            out.append(f"✓ {m.display}")
    return out


def last_ask(s: Step) -> Ask:
    asks = [m for m in s.messages if isinstance(m, Ask)]
    assert asks, f"no question in {s.messages}"
    return asks[-1]


def values(run: RunState) -> dict[str, object]:
    return {k: a.value for k, a in run.answers.items() if a.state is AnswerState.ANSWERED}


def test_happy_path_records_every_answer_and_completes(mini: Questionnaire) -> None:
    steps = play(mini, HAPPY)
    final = steps[-1].run
    assert final.status is RunStatus.COMPLETED
    assert final.completed_at == T0 + timedelta(minutes=len(HAPPY))
    assert values(final) == {
        "org_type": "agency",
        "staff": 40,
        "data_staff": 4,
        "uses_portal": True,
        "portal_rating": 4,
        "datasets": ["pr"],
        "budget": 12.5,
        "since": "2026-01-15",
        "wish": "More data",
    }
    assert "Thank you, all done." in texts(steps[-1])


def test_consent_comes_first_and_starts_with_section_intro(mini: Questionnaire) -> None:
    first, agreed = play(mini, ["I agree"])
    assert first.run.status is RunStatus.CONSENTING
    assert last_ask(first).item_id == "consent"
    assert agreed.run.status is RunStatus.IN_PROGRESS
    assert agreed.run.consent_version == "1"
    assert texts(agreed)[:2] == ["✓ I agree", "Section 1: Your organisation\nAbout you."]
    assert last_ask(agreed).progress == "Question 1 of 9 · Section 1: Your organisation"


@pytest.mark.parametrize(
    ("inputs", "status", "said"),
    [
        (["no"], RunStatus.DECLINED, "Nothing you have said has been recorded"),
        ([Pick("consent", "decline")], RunStatus.DECLINED, "Nothing you have said"),
        (["non"], RunStatus.DECLINED, "Nothing you have said"),
        (["banana"], RunStatus.CONSENTING, "Do you agree to take part?"),
        (["no", "hello"], RunStatus.DECLINED, "You declined to take part"),
        (["no", "start"], RunStatus.CONSENTING, "Do you agree to take part?"),
        ([Pick("consent", "agree")], RunStatus.IN_PROGRESS, "What kind of organisation?"),
    ],
)
def test_consent_answers(
    mini: Questionnaire, inputs: list[Input | str], status: RunStatus, said: str
) -> None:
    steps = play(mini, inputs)
    assert steps[-1].run.status is status
    assert any(said in t for t in texts(steps[-1]))
    assert steps[-1].run.answers == {}


@pytest.mark.parametrize(
    ("reply", "value"),
    [
        ("1", "agency"),
        ("Settlement agency", "agency"),
        ("settlement", "agency"),
        ("municipalité", "city"),
        ("CITY", "city"),
    ],
)
def test_single_choice_replies(mini: Questionnaire, reply: str, value: str) -> None:
    final = play(mini, ["I agree", reply])[-1].run
    assert final.answers["org_type"].value == value
    assert final.cursor == "staff"


@pytest.mark.parametrize(
    ("replies", "cursor", "said"),
    [
        (["1", "lots"], "staff", "number"),
        (["1", "0"], "staff", "1"),
        (["1", "40", "41"], "data_staff", "That is more than your total staff."),
        (["1", "40", "40"], "uses_portal", "Do you use the open data portal?"),
        (["1", "40", "4", "maybe"], "uses_portal", "yes"),
        (["1", "40", "4", "no", "1, 2, 3"], "datasets", "2"),
        (["1", "40", "4", "no", "1, 4"], "datasets", "None"),
        (["1", "40", "4", "no", "1", "skip"], "since", "Since when?"),
    ],
)
def test_bad_replies_reprompt_and_change_nothing(
    mini: Questionnaire, replies: list[str], cursor: str, said: str
) -> None:
    steps = play(mini, ["I agree", *replies])
    assert steps[-1].run.cursor == cursor
    assert any(said in t for t in texts(steps[-1])), texts(steps[-1])


def test_branch_skips_irrelevant_item(mini: Questionnaire) -> None:
    steps = play(mini, ["I agree", "1", "40", "4", "no"])
    assert steps[-1].run.cursor == "datasets"
    assert "portal_rating" not in steps[-1].run.answers


def test_note_is_said_then_the_next_question_asked(mini: Questionnaire) -> None:
    steps = play(mini, ["I agree", "1", "40", "4"])
    said = texts(steps[-1])
    assert said[-3:] == ["Section 2: Data", "Now, about data.", "Do you use the open data portal?"]


def test_back_shows_current_answer_and_change_reevaluates_branches(mini: Questionnaire) -> None:
    steps = play(mini, ["I agree", "1", "40", "4", "yes", "5", "back", "back"])
    at = steps[-1]
    assert at.run.cursor == "uses_portal"
    assert last_ask(at).current == "Yes"
    changed = play(mini, ["I agree", "1", "40", "4", "yes", "5", "back", "back", "no"])[-1]
    assert changed.run.answers["portal_rating"].state is AnswerState.NOT_APPLICABLE
    assert changed.run.cursor == "datasets"
    assert ("portal_rating", changed.run.answers["portal_rating"]) in changed.recorded
    again = play(mini, ["I agree", "1", "40", "4", "yes", "5", "back", "back", "no", "back", "yes"])
    final = again[-1].run
    assert final.answers["portal_rating"].state is AnswerState.ANSWERED
    assert final.cursor == "datasets", "a restored answer is not asked again"


def test_back_then_next_keeps_the_answer(mini: Questionnaire) -> None:
    steps = play(mini, ["I agree", "1", "40", "back", "next"])
    assert steps[-1].run.cursor == "data_staff"
    assert steps[-1].run.answers["staff"].value == 40


def test_back_on_first_question(mini: Questionnaire) -> None:
    steps = play(mini, ["I agree", "back"])
    assert steps[-1].run.cursor == "org_type"
    assert "first question" in texts(steps[-1])[0]


def test_other_asks_please_specify(mini: Questionnaire) -> None:
    steps = play(mini, ["I agree", "3", "A library"])
    answer = steps[-1].run.answers["org_type"]
    assert (answer.value, answer.other_text) == ("other", "A library")
    assert steps[-1].run.cursor == "staff"
    assert "Please specify:" in texts(steps[-2])


def test_skip_is_refused_on_required_and_recorded_on_optional(mini: Questionnaire) -> None:
    refused = play(mini, ["I agree", "skip"])[-1]
    assert refused.run.cursor == "org_type"
    assert "needs an answer" in texts(refused)[0]
    prefix = ["I agree", "1", "40", "4", "no", "1"]
    skipped = play(mini, [*prefix, "skip"])[-1]
    assert skipped.run.answers["budget"].state is AnswerState.SKIPPED
    assert skipped.run.answers["budget"].display == "Prefer not to say"


def test_multi_choice_toggles_survive_reload_and_submit(mini: Questionnaire) -> None:
    prefix = ["I agree", "1", "40", "4", "no"]
    steps = play(mini, [*prefix, Toggle("datasets", "pr"), Toggle("datasets", "tfw")])
    assert last_ask(steps[-1]).selected == ("pr", "tfw")
    assert last_ask(steps[-1]).refresh
    steps = play(
        mini, [*prefix, Toggle("datasets", "pr"), Toggle("datasets", "none"), Submit("datasets")]
    )
    assert steps[-1].run.answers["datasets"].value == ["none"]


def test_stale_button_changes_nothing(mini: Questionnaire) -> None:
    steps = play(mini, ["I agree", "1", Pick("org_type", "city")])
    assert isinstance(steps[-1].messages[0], Notice)
    assert steps[-1].run.answers == steps[-2].run.answers
    assert steps[-1].run.cursor == "staff"


def test_pause_and_resume(mini: Questionnaire) -> None:
    steps = play(mini, ["I agree", "1", "pause", "hello"])
    assert steps[-2].run.status is RunStatus.PAUSED
    assert steps[-1].run.status is RunStatus.IN_PROGRESS
    assert last_ask(steps[-1]).item_id == "staff"
    assert "staff" not in steps[-1].run.answers, "the wake-up text is not taken as an answer"


def test_begin_resumes_where_they_were(mini: Questionnaire) -> None:
    steps = play(mini, ["I agree", "1", "40", Begin()])
    assert texts(steps[-1])[0].startswith("Welcome back")
    assert last_ask(steps[-1]).item_id == "data_staff"


def test_language_switch_reasks_in_french(mini: Questionnaire) -> None:
    steps = play(mini, ["I agree", "language fr"])
    assert steps[-1].run.language == "fr"
    assert texts(steps[-1]) == ["Je continue en français.", "Quel type d’organisation?"]
    assert play(mini, ["I agree", "language de"])[-1].run.language == "en"


def test_french_run_answers_in_french(mini: Questionnaire) -> None:
    steps = play(mini, ["J’accepte", "municipalité", "1 200", "12", "oui"], language="fr")
    assert values(steps[-1].run) == {
        "org_type": "city",
        "staff": 1200,
        "data_staff": 12,
        "uses_portal": True,
    }
    assert last_ask(steps[-1]).progress.startswith("Question 5 de 9")


def test_progress_and_help(mini: Questionnaire) -> None:
    steps = play(mini, ["I agree", "1", "progress", "help"])
    assert texts(steps[-2]) == ["1 of 9 questions answered."]
    assert texts(steps[-1])[0].startswith("You can also type") is False
    assert "back (previous question)" in texts(steps[-1])[0]


def test_stop_then_start(mini: Questionnaire) -> None:
    steps = play(mini, ["I agree", "1", "stop", "40", "start"])
    assert steps[-3].run.status is RunStatus.WITHDRAWN
    assert "Type start to continue" in texts(steps[-2])[0]
    assert steps[-1].run.status is RunStatus.IN_PROGRESS
    assert steps[-1].run.cursor == "staff"


def test_completed_run_says_so(mini: Questionnaire) -> None:
    steps = play(mini, [*HAPPY, "hello"])
    assert texts(steps[-1]) == ["You have already completed this questionnaire. Thank you!"]


def test_step_refuses_a_run_of_another_version(mini: Questionnaire) -> None:
    run = start(mini, "en", T0).run
    other = RunState.from_dict({**run.to_dict(), "questionnaire_version": "2"})
    with pytest.raises(InvalidInput):
        step(mini, other, Reply("yes"), T0)


def test_stale_control_button_changes_nothing(mini: Questionnaire) -> None:
    prefix = ["I agree", "1", "40", "4", "no", "1"]
    stale = play(mini, [*prefix, Command(CommandName.SKIP, item_id="org_type")])[-1]
    assert isinstance(stale.messages[0], Notice)
    assert stale.run.cursor == "budget"
    pressed = play(mini, [*prefix, Command(CommandName.SKIP, item_id="budget")])[-1]
    assert pressed.run.answers["budget"].state is AnswerState.SKIPPED


def test_unreadable_input_asks_for_text(mini: Questionnaire) -> None:
    steps = play(mini, ["I agree", Unreadable()])
    assert texts(steps[-1]) == [
        "I can only read text messages and button presses here. Please type your answer."
    ]
    assert steps[-1].run.answers == {}


def test_unknown_slash_command_is_never_an_answer(mini: Questionnaire) -> None:
    prefix = ["I agree", "1", "40", "4", "no", "1", "skip", "skip"]
    steps = play(mini, [*prefix, "/mydata"])
    assert steps[-2].run.cursor == "wish"
    assert steps[-1].run.cursor == "wish"
    assert "wish" not in steps[-1].run.answers
    assert texts(steps[-1])[0].startswith("I don’t know that command.")


def test_submit_with_the_whole_selection(mini: Questionnaire) -> None:
    prefix = ["I agree", "1", "40", "4", "no"]
    steps = play(mini, [*prefix, Submit("datasets", ("tfw", "pr", "bogus"))])
    assert steps[-1].run.answers["datasets"].value == ["pr", "tfw"]
    too_many = play(mini, [*prefix, Submit("datasets", ("pr", "refugees", "tfw"))])[-1]
    assert too_many.run.cursor == "datasets"
