"""A corpus of small XLSForms, one per feature, each loaded and answered through the engine.

Together they use every type (select_one, select_multiple, integer, decimal, range, text,
date, note, acknowledge, begin_group/end_group, likert) and every column Parley reads
(label and hint translations, required, relevant, constraint + constraint_message,
appearance, parameters, the settings sheet, and Parley's own columns).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conversations.loading import LoadedQuestionnaire
from conversations.questionnaire import ItemType, NumberKind, Questionnaire, WithdrawMode
from conversations.run import AnswerState, RunStatus
from forms import load_any_file as load_questionnaire_file
from tests.forms.workbooks import SETTINGS, Rows, answer, write_form

EN, FR = "label::English (en)", "label::French (fr)"
PICK_ONE_OR_TWO = "count-selected(.) >= 1 and count-selected(.) <= 2"
A_OR_NOT_B = "selected(${ds}, 'a') or not(selected(${ds}, 'b'))"


@dataclass(frozen=True)
class Form:
    name: str
    survey: Rows
    choices: Rows | None
    replies: list[str]
    answers: dict[str, Any]
    check: Callable[[Questionnaire], object] = lambda q: None
    settings: Rows | None = SETTINGS
    language: str = "en"
    skipped: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())


def _choices_translated(q: Questionnaire) -> None:
    org = q.item("org_type")
    assert org.type is ItemType.SINGLE_CHOICE
    assert org.help is not None and org.help.get("fr") == "Choisissez-en un"
    assert [c.id for c in q.item("datasets").choices] == ["pr", "cit", "ref"]
    assert q.item("datasets").choices[2].label.get("fr") == "Réfugiés"
    assert q.languages == ("en", "fr")


def _yes_no(q: Questionnaire) -> None:
    assert q.item("has_site").type is ItemType.YES_NO
    assert str(q.item("url").relevant) == "has_site = true"
    assert str(q.item("why_not").relevant) == "not has_site = true"
    assert q.item("url").required is False


def _integer(q: Questionnaire) -> None:
    staff = q.item("staff")
    assert (staff.type, staff.number_kind) == (ItemType.NUMBER, NumberKind.INTEGER)
    assert (staff.minimum, staff.maximum, staff.constraint) == (0, 500, None)
    assert staff.constraint_message is not None
    assert staff.constraint_message.get("en") == "Between 0 and 500"


def _decimal(q: Questionnaire) -> None:
    fte = q.item("fte")
    assert fte.number_kind is NumberKind.DECIMAL
    assert str(fte.constraint) == ". > 0 and . <= total"
    assert (fte.minimum, fte.maximum) == (None, None)


def _range(q: Questionnaire) -> None:
    sat, budget = q.item("sat"), q.item("budget")
    assert (sat.type, sat.scale_min, sat.scale_max) == (ItemType.SCALE, 0, 10)
    assert (budget.type, budget.minimum, budget.maximum) == (ItemType.NUMBER, 0, 1000)


def _likert(q: Questionnaire) -> None:
    agree = q.item("agree")
    assert (agree.type, agree.scale_min, agree.scale_max) == (ItemType.SCALE, 1, 5)
    assert agree.min_label is not None and agree.min_label.get("en") == "Strongly disagree"
    assert agree.max_label is not None and agree.max_label.get("fr") == "Tout à fait d'accord"


def _text_date_note(q: Questionnaire) -> None:
    assert q.item("welcome").type is ItemType.NOTE
    assert (q.item("comment").max_length, q.item("comment").required) == (20, False)
    assert q.item("started").type is ItemType.DATE


def _acknowledge(q: Questionnaire) -> None:
    ok = q.item("ok")
    assert ok.type is ItemType.YES_NO and str(ok.constraint) == ". = true"


def _groups(q: Questionnaire) -> None:
    assert [s.id for s in q.sections] == ["part_1", "org", "portal", "part_4"]
    assert q.section("part_1").title.get("en") == "Corpus"
    org = q.section("org")
    assert org.intro is not None and org.intro.get("en") == "About your team"
    assert str(q.item("uses").relevant) == "size > 5"
    assert str(q.item("why").relevant) == "size > 5 and uses = true"


def _multi(q: Questionnaire) -> None:
    ds = q.item("ds")
    assert (ds.min_selections, ds.max_selections, ds.constraint) == (1, 2, None)
    assert ds.choice("other") is not None and ds.choice("other").other  # type: ignore[union-attr]
    assert ds.choice("none") is not None and ds.choice("none").exclusive  # type: ignore[union-attr]
    assert str(q.item("detail").relevant) == ("selected(ds, 'a') or not selected(ds, 'b')")


def _parley_columns(q: Questionnaire) -> None:
    assert q.item("quote").quotable and q.item("quote").required
    assert q.item("org").segment and q.item("org").required
    staff = q.item("staff")
    assert staff.allow_skip and staff.unit is not None and staff.unit.get("en") == "staff"
    ease = q.item("ease")
    assert ease.min_label is not None and ease.min_label.get("en") == "Hard"
    assert ease.max_label is not None and ease.max_label.get("en") == "Easy"


def _french_default(q: Questionnaire) -> None:
    assert (q.default_language, q.languages) == ("fr", ("fr", "en"))
    assert (q.id, q.version) == ("enquete", "2024051501")
    assert q.item("org").label.get("fr") == "Organisme?"
    assert q.item("org").label.get("en") == "Organisation?"
    assert q.consent.get("en") == "Agree?"


def _display_only(q: Questionnaire) -> None:
    assert [i.id for i in q.items] == ["org", "size"]


def _cascade(q: Questionnaire) -> None:
    relevant = [str(c.relevant) for c in q.item("city").choices]
    assert relevant == ["province = 'qc'", "province = 'qc'", "province = 'on'", "province = 'on'"]
    offices = [str(c.relevant) for c in q.item("office").choices]
    assert offices == ["selected(regions, 'north')", "selected(regions, 'south')"]
    assert all(c.relevant is None for c in q.item("province").choices)


def _defaults(q: Questionnaire) -> None:
    defaults = {item.id: item.default for item in q.items}
    assert defaults == {
        "org": "gov", "staff": 12, "member": True, "ds": ["a", "c"], "note": "None",
        "since": "2026-01-01", "sat": 3, "fte": 2.5,
    }  # fmt: skip


def _required_message(q: Questionnaire) -> None:
    message = q.item("why").required_message
    assert message is not None
    assert (message.get("en"), message.get("fr")) == ("Tell us why, please", "Dites-nous pourquoi")
    assert q.item("size").required_message is None


def _consent_settings(q: Questionnaire) -> None:
    assert (q.consent_version, q.on_withdraw) == ("3", WithdrawMode.KEEP_ANONYMOUS)


YN: Rows = [["list_name", "name", EN, FR], ["yn", "yes", "Yes", "Oui"], ["yn", "no", "No", "Non"]]

CORPUS = [
    Form(
        "choices_translated",
        [
            ["type", "name", EN, FR, "hint::English (en)", "hint::French (fr)", "required"],
            ["select_one org", "org_type", "Type?", "Type?", "Pick one", "Choisissez-en un", "yes"],
            ["select_multiple ds", "datasets", "Data?", "Données?", "", "", "yes"],
        ],
        [
            ["list_name", "name", EN, FR],
            ["org", "np", "Non-profit", "OBNL"],
            ["org", "gov", "Government", "Gouvernement"],
            ["ds", "pr", "PR", "RP"],
            ["ds", "cit", "Citizens", "Citoyens"],
            ["ds", "ref", "Refugees", "Réfugiés"],
        ],
        ["oui", "2", "1, 3"],
        {"org_type": "gov", "datasets": ["pr", "ref"]},
        _choices_translated,
        language="fr",
    ),
    Form(
        "yes_no_branching",
        [
            ["type", "name", EN, FR, "relevant", "required"],
            ["select_one yn", "has_site", "Website?", "Site web?", "", "yes"],
            ["text", "url", "Address?", "Adresse?", "${has_site} = 'yes'", ""],
            ["text", "why_not", "Why not?", "Pourquoi?", "${has_site} != 'yes'", "yes"],
        ],
        YN,
        ["I agree", "no", "Too costly"],
        {"has_site": False, "why_not": "Too costly"},
        _yes_no,
    ),
    Form(
        "integer_range",
        [
            ["type", "name", EN, "constraint", "constraint_message::English (en)", "required"],
            ["integer", "staff", "Staff?", ". >= 0 and . <= 500", "Between 0 and 500", "yes"],
        ],
        None,
        ["I agree", "900", "-3", "40"],
        {"staff": 40},
        _integer,
    ),
    Form(
        "decimal_constraint",
        [
            ["type", "name", EN, "constraint", "constraint_message", "required"],
            ["integer", "total", "Total?", "", "", "yes"],
            ["decimal", "fte", "FTE?", ". > 0 and . <= ${total}", "0 < FTE <= total", "yes"],
        ],
        None,
        ["I agree", "10", "0", "12", "2.5"],
        {"total": 10, "fte": 2.5},
        _decimal,
    ),
    Form(
        "range",
        [
            ["type", "name", EN, "parameters", "required"],
            ["range", "sat", "Satisfaction?", "start=0 end=10 step=1", "yes"],
            ["range", "budget", "Budget (k$)?", "start=0;end=1000", "yes"],
        ],
        None,
        ["I agree", "11", "7", "250"],
        {"sat": 7, "budget": 250},
        _range,
    ),
    Form(
        "likert",
        [
            ["type", "name", EN, FR, "appearance", "required"],
            [
                "select_one agree",
                "agree",
                "Data is useful",
                "Utiles",
                "likert",
                "1",
            ],
        ],
        [
            ["list_name", "name", EN, FR],
            ["agree", "1", "Strongly disagree", "Pas du tout d'accord"],
            ["agree", "2", "Disagree", "Pas d'accord"],
            ["agree", "3", "Neutral", "Neutre"],
            ["agree", "4", "Agree", "D'accord"],
            ["agree", "5", "Strongly agree", "Tout à fait d'accord"],
        ],
        ["I agree", "4"],
        {"agree": 4},
        _likert,
    ),
    Form(
        "text_date_note",
        [
            ["type", "name", EN, "max_length", "required"],
            ["note", "welcome", "Welcome!", "", ""],
            ["text", "comment", "Any comment?", "20", "no"],
            ["date", "started", "Since when?", "", "yes"],
        ],
        None,
        ["I agree", "this reply is far longer than twenty characters", "skip", "2026-11-26"],
        {"started": "2026-11-26"},
        _text_date_note,
        skipped=("comment",),
    ),
    Form(
        "acknowledge",
        [
            ["type", "name", EN, "required"],
            ["acknowledge", "ok", "I have read the notice", "yes"],
        ],
        None,
        ["I agree", "no", "yes"],
        {"ok": True},
        _acknowledge,
    ),
    Form(
        "groups",
        [
            ["type", "name", EN, "hint", "relevant", "required"],
            ["text", "hello", "Hello?", "", "", "yes"],
            ["begin_group", "org", "Organisation", "About your team", "", ""],
            ["integer", "size", "Size?", "", "", "yes"],
            ["end_group", "", "", "", "", ""],
            ["begin group", "portal", "Portal", "", "${size} > 5", ""],
            ["select_one yn", "uses", "Use it?", "", "", "yes"],
            ["text", "why", "Why?", "", "${uses} = 'yes'", "yes"],
            ["end group", "", "", "", "", ""],
            ["text", "bye", "Bye?", "", "", "yes"],
        ],
        YN,
        ["I agree", "hi", "3", "ciao"],
        {"hello": "hi", "size": 3, "bye": "ciao"},
        _groups,
    ),
    Form(
        "multi_rules",
        [
            ["type", "name", EN, "constraint", "relevant", "required"],
            [
                "select_multiple ds",
                "ds",
                "Which?",
                PICK_ONE_OR_TWO,
                "",
                "yes",
            ],
            [
                "text",
                "detail",
                "Why?",
                "",
                A_OR_NOT_B,
                "yes",
            ],
        ],
        [
            ["list_name", "name", EN, "other", "exclusive"],
            ["ds", "a", "A", "", ""],
            ["ds", "b", "B", "", ""],
            ["ds", "c", "C", "no", ""],
            ["ds", "other", "Other", "yes", ""],
            ["ds", "none", "None", "", "yes"],
        ],
        ["I agree", "1, 2, 3", "1, 2", "Because"],
        {"ds": ["a", "b"], "detail": "Because"},
        _multi,
    ),
    Form(
        "parley_columns",
        [
            [
                "type",
                "name",
                EN,
                "required",
                "quotable",
                "segment",
                "allow_skip",
                "unit::English (en)",
                "min_label::English (en)",
                "max_label::English (en)",
            ],
            ["text", "quote", "Tell us", "TRUE", "yes", "", "", "", "", ""],
            ["select_one yn", "org", "Member?", "true()", "", "yes", "", "", "", ""],
            ["integer", "staff", "Staff?", "yes", "", "", "yes", "staff", "", ""],
            ["range", "ease", "Ease?", "yes", "", "", "", "", "Hard", "Easy"],
        ],
        YN,
        ["I agree", "It works", "1", "skip", "3"],
        {"quote": "It works", "org": True, "ease": 3},
        _parley_columns,
        skipped=("staff",),
    ),
    Form(
        "french_default",
        [
            ["type", "name", "label", "label::English (en)", "required"],
            ["select_one org", "org", "Organisme?", "Organisation?", "yes"],
        ],
        [
            ["list_name", "name", "label", "label::English (en)"],
            ["org", "np", "OBNL", "Non-profit"],
            ["org", "gov", "Gouvernement", "Government"],
        ],
        ["oui", "2"],
        {"org": "gov"},
        _french_default,
        settings=[
            [
                "form_id",
                "version",
                "default_language",
                "consent",
                "consent::English (en)",
                "closing",
                "closing::English (en)",
            ],
            ["enquete", 2024051501, "French (fr)", "Accord?", "Agree?", "Merci", "Thanks"],
        ],
        language="fr",
    ),
    Form(
        "display_only",
        [
            ["type", "name", EN, "appearance", "required", "comments"],
            ["start", "start", "", "", "", ""],
            ["select_one yn", "org", "Member?", "minimal", "yes", "ask first"],
            ["integer", "size", "Size?", "thousands-sep", "yes", ""],
            ["end", "end", "", "", "", ""],
        ],
        YN,
        ["I agree", "1", "5"],
        {"org": True, "size": 5},
        _display_only,
        warnings=(
            "corpus.xlsx: survey row 1: comments: not an XLSForm column Parley reads; ignored",
            "corpus.xlsx: survey row 2: type: 'start' is collected by ODK itself; "
            "Parley ignores this row",
            "corpus.xlsx: survey row 5: type: 'end' is collected by ODK itself; "
            "Parley ignores this row",
        ),
    ),
]


CASCADE_CHOICES: Rows = [
    ["list_name", "name", EN, "province", "region"],
    ["provinces", "qc", "Quebec", "", ""],
    ["provinces", "on", "Ontario", "", ""],
    ["cities", "mtl", "Montreal", "qc", ""],
    ["cities", "qcc", "Quebec City", "qc", ""],
    ["cities", "tor", "Toronto", "on", ""],
    ["cities", "ott", "Ottawa", "on", ""],
    ["regions", "north", "North", "", ""],
    ["regions", "south", "South", "", ""],
    ["offices", "n1", "North office", "", "north"],
    ["offices", "s1", "South office", "", "south"],
]

DEFAULT_ANSWERS = {
    "org": "gov", "staff": 12, "member": True, "ds": ["a", "c"], "note": "ok",
    "since": "2026-01-01", "sat": 5, "fte": 4,
}  # fmt: skip
"""The defaults form's answers: defaults accepted, except `note` ("ok" is text) and two typed."""

CORPUS += [
    Form(
        "cascade",
        [
            ["type", "name", EN, "choice_filter", "required"],
            ["select_one provinces", "province", "Province?", "", "yes"],
            ["select_one cities", "city", "City?", "province = ${province}", "yes"],
            ["select_multiple regions", "regions", "Regions?", "", "yes"],
            ["select_one offices", "office", "Office?", "selected(${regions}, region)", "yes"],
        ],
        CASCADE_CHOICES,
        # "2" is the second city *shown* (Ottawa), "1" the only office left (South office)
        ["I agree", "Ontario", "2", "south", "1"],
        {"province": "on", "city": "ott", "regions": ["south"], "office": "s1"},
        _cascade,
    ),
    Form(
        "defaults",
        [
            ["type", "name", EN, "default", "required", "parameters"],
            ["select_one org", "org", "Type?", "gov", "yes", ""],
            ["integer", "staff", "Staff?", "12", "yes", ""],
            ["select_one yn", "member", "Member?", "yes", "yes", ""],
            ["select_multiple ds", "ds", "Data?", "a c", "yes", ""],
            ["text", "note", "Notes?", "None", "yes", ""],
            ["date", "since", "Since?", "2026-01-01", "yes", ""],
            ["range", "sat", "Satisfied?", "3", "yes", "start=1 end=5"],
            ["decimal", "fte", "FTE?", "2.5", "yes", ""],
        ],
        [
            *YN,
            ["org", "np", "Non-profit", "OBNL"],
            ["org", "gov", "Government", "Gouvernement"],
            ["ds", "a", "A", "A"],
            ["ds", "b", "B", "B"],
            ["ds", "c", "C", "C"],
        ],
        # ok, keep and next accept a default; "ok" on a text item is an answer like any
        ["I agree", "ok", "keep", "OK", "ok", "ok", "next", "5", "4"],
        DEFAULT_ANSWERS,
        _defaults,
    ),
    Form(
        "required_message",
        [
            [
                "type",
                "name",
                EN,
                "required",
                "required_message::English (en)",
                "required_message::French (fr)",
            ],
            ["text", "why", "Why?", "yes", "Tell us why, please", "Dites-nous pourquoi"],
            ["integer", "size", "Size?", "yes", "", ""],
        ],
        None,
        ["I agree", "skip", "next", "Because", "skip", "4"],
        {"why": "Because", "size": 4},
        _required_message,
    ),
    Form(
        "consent_settings",
        [["type", "name", EN, "required"], ["text", "why", "Why?", "yes"]],
        None,
        ["I agree", "Because"],
        {"why": "Because"},
        _consent_settings,
        settings=[
            [*SETTINGS[0], "consent_version", "on_withdraw"],
            [*SETTINGS[1], 3, "keep_anonymous"],
        ],
    ),
]


def load(form: Form, tmp_path: Path) -> LoadedQuestionnaire:
    path = write_form(tmp_path / "corpus.xlsx", form.survey, form.choices, form.settings)
    return load_questionnaire_file(path)


@pytest.mark.parametrize("form", CORPUS, ids=lambda f: f.name)
def test_each_form_loads_and_is_answered_through_the_engine(form: Form, tmp_path: Path) -> None:
    loaded = load(form, tmp_path)
    form.check(loaded.questionnaire)
    steps = answer(loaded.questionnaire, form.replies, form.language)
    run = steps[-1].run
    assert run.status is RunStatus.COMPLETED
    answered = {k: a.value for k, a in run.answers.items() if a.state is AnswerState.ANSWERED}
    assert answered == form.answers
    skipped = {k for k, a in run.answers.items() if a.state is AnswerState.SKIPPED}
    assert skipped == set(form.skipped)


@pytest.mark.parametrize("form", CORPUS, ids=lambda f: f.name)
def test_warnings_name_sheet_row_and_column(form: Form, tmp_path: Path) -> None:
    loaded = load(form, tmp_path)
    lines = [str(w).replace(str(tmp_path) + "/", "") for w in loaded.warnings]
    untranslated = [line for line in lines if "missing translation" not in line]
    assert untranslated == list(form.warnings)


def test_the_corpus_covers_every_supported_type_and_column() -> None:
    words = {str(row[0]).split(" ")[0] for form in CORPUS for row in form.survey[1:] if row[0]}
    assert {
        "select_one", "select_multiple", "integer", "decimal", "range", "text", "date",
        "note", "acknowledge", "begin_group", "end_group", "begin", "end", "start",
    } <= words  # fmt: skip
    headers = {str(h).split("::")[0] for form in CORPUS for h in form.survey[0]}
    assert {
        "type", "name", "label", "hint", "required", "relevant", "constraint",
        "constraint_message", "appearance", "parameters", "quotable", "segment",
        "allow_skip", "max_length", "unit", "min_label", "max_label", "default",
        "choice_filter", "required_message",
    } <= headers  # fmt: skip
    settings = {str(h).split("::")[0] for form in CORPUS for h in (form.settings or [[]])[0]}
    assert {"form_id", "version", "form_title", "consent", "closing", "default_language",
            "consent_version", "on_withdraw"} <= settings  # fmt: skip
