"""The discussion-group modal: what Slack would show under each field, from a table of cases.

Pure: fields in, a draft or `{block_id: message}` out. The draft's `/group create` line is
read back with the chat grammar, so the modal and the typed command cannot drift apart.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.chat_args import words
from bot.slack_modals import (
    GroupDraft,
    ModalFields,
    command_text,
    group_modal,
    read_fields,
    validate,
    wants_modal,
)
from tests.fakes.slack_blocks import validate_view

NOW = datetime(2026, 10, 1, 15, 0, tzinfo=UTC)
TORONTO = ZoneInfo("America/Toronto")
GOOD = ModalFields(
    title="Data futures",
    date="2027-02-03",
    time="14:00",
    duration="60",
    zone="America/Toronto",
    where="https://meet.example/x",
    invitees=("U0RZP2058", "U0CLB9164"),
)


def test_a_complete_form_is_a_draft() -> None:
    assert validate(GOOD, NOW) == GroupDraft(
        title="Data futures",
        start=datetime(2027, 2, 3, 14, 0, tzinfo=TORONTO),
        minutes=60,
        zone="America/Toronto",
        where="https://meet.example/x",
        capacity=None,
        to="<@U0RZP2058>,<@U0CLB9164>",
    )


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"title": None}, {"title": "Give the session a title."}),
        ({"title": "   "}, {"title": "Give the session a title."}),
        ({"where": " "}, {"where": "Give a place or a video link."}),
        ({"duration": None}, {"duration": "Pick a duration."}),
        ({"date": None}, {"date": "Pick a date."}),
        ({"time": None}, {"time": "Pick a start time."}),
        ({"zone": None}, {"zone": "Pick a time zone."}),
        ({"zone": "Mars/Base"}, {"zone": "Pick a time zone."}),
        ({"date": "2026-09-30"}, {"date": "2026-09-30 14:00 America/Toronto is in the past."}),
        (
            {"date": "2026-11-01", "time": "01:30"},
            {
                "time": "01:30 happens twice on 2026-11-01 in America/Toronto "
                "(the clocks fall back): pick another time."
            },
        ),
        (
            {"date": "2027-03-14", "time": "02:30"},
            {
                "time": "02:30 does not exist on 2027-03-14 in America/Toronto "
                "(the clocks spring forward): pick another time."
            },
        ),
        (
            {"capacity": "0"},
            {"capacity": "A whole number of places, at least 1 (or leave it empty)."},
        ),
        (
            {"capacity": "2.5"},
            {"capacity": "A whole number of places, at least 1 (or leave it empty)."},
        ),
        (
            {"capacity": "lots"},
            {"capacity": "A whole number of places, at least 1 (or leave it empty)."},
        ),
        ({"invitees": ()}, {"invitees": "Pick people to invite, or type a cohort below."}),
        ({"cohort": "region:ns"}, {"cohort": "Pick people or type a cohort, not both."}),
        (
            {"title": "", "invitees": (), "date": None},
            {
                "title": "Give the session a title.",
                "invitees": "Pick people to invite, or type a cohort below.",
                "date": "Pick a date.",
            },
        ),
    ],
)
def test_what_is_wrong_is_said_under_its_field(
    changes: dict[str, object], errors: dict[str, str]
) -> None:
    assert validate(replace(GOOD, **changes), NOW) == errors  # type: ignore[arg-type]


def test_french_errors() -> None:
    assert validate(replace(GOOD, title=" "), NOW, "fr") == {
        "title": "Donnez un titre à la séance."
    }


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, {"capacity": None, "to": "<@U0RZP2058>,<@U0CLB9164>"}),
        ({"capacity": " 12 "}, {"capacity": 12}),
        ({"invitees": (), "cohort": "  org_type:university "}, {"to": "org_type:university"}),
        ({"zone": "America/St_Johns", "time": "09:30"}, {"zone": "America/St_Johns"}),
        ({"title": "  Data   futures "}, {"title": "Data futures"}),
    ],
)
def test_drafts(changes: dict[str, object], expected: dict[str, object]) -> None:
    draft = validate(replace(GOOD, **changes), NOW)  # type: ignore[arg-type]
    assert isinstance(draft, GroupDraft)
    assert {key: getattr(draft, key) for key in expected} == expected


def test_the_command_line_reads_back_as_typed_words() -> None:
    draft = validate(
        replace(GOOD, title='Say "hi" \\ “now”', where="Room 4, 2nd floor", capacity="8"), NOW
    )
    assert isinstance(draft, GroupDraft)
    assert words(command_text(draft)) == [
        "/group",
        "create",
        'Say "hi" \\ "now"',  # curly quotes come back straight
        "2027-02-03",
        "14:00",
        "--duration",
        "60",
        "--zone",
        "America/Toronto",
        "--where",
        "Room 4, 2nd floor",
        "--to",
        "<@U0RZP2058>,<@U0CLB9164>",
        "--capacity",
        "8",
    ]


def test_the_modal_is_valid_block_kit_and_reads_back() -> None:
    view = group_modal("America/Toronto", "C0RESEARCH")
    assert validate_view(view, kind="modal") == []
    blocks = {block["block_id"]: block for block in view["blocks"]}
    assert list(blocks) == [
        *("title", "date", "time", "duration", "zone", "where", "capacity"),
        *("invitees", "cohort"),
    ]
    assert [b["block_id"] for b in view["blocks"] if b["optional"]] == [
        "capacity",
        "invitees",
        "cohort",
    ]
    zones = [o["value"] for o in blocks["zone"]["element"]["options"]]
    assert zones[0] == "America/Vancouver" and zones[-1] == "America/St_Johns"
    state = {
        "title": {"value": {"type": "plain_text_input", "value": "Data futures"}},
        "date": {"value": {"type": "datepicker", "selected_date": "2027-02-03"}},
        "time": {"value": {"type": "timepicker", "selected_time": "14:00"}},
        "duration": {"value": {"selected_option": blocks["duration"]["element"]["initial_option"]}},
        "zone": {"value": {"selected_option": blocks["zone"]["element"]["initial_option"]}},
        "where": {"value": {"value": "https://meet.example/x"}},
        "capacity": {"value": {"value": None}},
        "invitees": {"value": {"selected_users": ["U0RZP2058", "U0CLB9164"]}},
        "cohort": {"value": {"value": None}},
    }
    assert read_fields(state) == GOOD


def test_a_zone_outside_canada_is_offered_too() -> None:
    view = group_modal("Europe/Paris", "C1")
    zone = next(b for b in view["blocks"] if b["block_id"] == "zone")
    assert zone["element"]["initial_option"]["value"] == "Europe/Paris"


@pytest.mark.parametrize(
    ("text", "opens"),
    [("group new", True), ("group  create", True), ("Group New", True), ("group create x", False),
     ("group list", False), ("followup add", False), ("", False)],
)  # fmt: skip
def test_which_commands_open_the_modal(text: str, opens: bool) -> None:
    assert wants_modal(text) is opens
