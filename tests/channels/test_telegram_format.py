"""Telegram translation, both directions, with real python-telegram-bot objects and no network."""

from __future__ import annotations

from typing import Any

import pytest
from telegram import Update

from bot.channels.telegram_format import (
    MAX_TEXT,
    callback_data,
    parse_callback,
    render,
    split_text,
    to_inbound,
)
from conversations.inputs import (
    Begin,
    Command,
    CommandName,
    Pick,
    Reply,
    Submit,
    Toggle,
    Unreadable,
)
from conversations.messages import Answered, Ask, AskStyle, Notice, Option, Say

USER = {
    "id": 42,
    "is_bot": False,
    "first_name": "Amina",
    "last_name": "K",
    "language_code": "fr-CA",
}
PRIVATE = {"id": 42, "type": "private", "first_name": "Amina"}
GROUP = {"id": -100123, "type": "supergroup", "title": "Research team"}


def update(**fields: Any) -> Update:
    data = {"update_id": 1000, **fields}
    result = Update.de_json(data, None)
    assert result is not None
    return result


def message(
    text: str | None = None, chat: dict[str, Any] = PRIVATE, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "message_id": 7,
        "date": 1764165600,
        "chat": chat,
        "from": USER,
        **extra,
    }
    if text is not None:
        body["text"] = text
    return body


@pytest.mark.parametrize(
    ("body", "expected_input", "token"),
    [
        (message("Ontario"), Reply("Ontario"), None),
        (message("/back"), Reply("/back"), None),
        (message("/start"), Begin(), None),
        (message("/start abc_DEF-123"), Begin(), "abc_DEF-123"),
        (
            message(
                None,
                sticker={
                    "file_id": "s",
                    "file_unique_id": "u",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                    "type": "regular",
                },
            ),
            Unreadable(),
            None,
        ),
    ],
)
def test_private_messages(body: dict[str, Any], expected_input: object, token: str | None) -> None:
    event = to_inbound(update(message=body))
    assert event is not None
    assert (event.platform, event.event_id, event.sender, event.address) == (
        "telegram",
        "1000",
        "42",
        "42",
    )
    assert event.input == expected_input
    assert event.invite_token == token
    assert event.language == "fr"
    assert event.display_name == "Amina K"
    assert not event.group


def test_group_text_is_a_group_event_and_group_stickers_are_ignored() -> None:
    event = to_inbound(update(message=message("/status", chat=GROUP)))
    assert event is not None and event.group and event.address == "-100123"
    assert to_inbound(update(message=message(None, chat=GROUP, photo=[]))) is None


def test_edited_messages_and_bots_are_ignored() -> None:
    assert to_inbound(update(edited_message={**message("x"), "edit_date": 1764165700})) is None
    bot_user = {**USER, "is_bot": True}
    assert to_inbound(update(message={**message("hi"), "from": bot_user})) is None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("p|org_type|agency", Pick("org_type", "agency")),
        ("t|datasets|pr", Toggle("datasets", "pr")),
        ("s|datasets|", Submit("datasets")),
        ("c|budget|skip", Command(CommandName.SKIP, item_id="budget")),
        ("c|budget|back", Command(CommandName.BACK, item_id="budget")),
        ("c|budget|next", Command(CommandName.NEXT, item_id="budget")),  # Keep: the default
        ("c|budget|stop", None),
        ("x|y|z", None),
        ("garbage", None),
        ("p||agency", None),
    ],
)
def test_callback_data_round_trip(data: str, expected: object) -> None:
    assert parse_callback(data) == expected


def test_callback_query_event() -> None:
    query = {
        "id": "cb1",
        "from": USER,
        "chat_instance": "ci",
        "data": "p|consent|agree",
        "message": message("Do you agree?"),
    }
    event = to_inbound(update(callback_query=query))
    assert event is not None
    assert event.input == Pick("consent", "agree")
    assert event.address == "42"


def test_callback_data_is_limited_to_64_bytes() -> None:
    assert len(callback_data("p", "a" * 32, "b" * 29).encode()) == 64
    with pytest.raises(ValueError, match="64 bytes"):
        callback_data("p", "a" * 32, "b" * 30)


def ask(style: AskStyle, options: tuple[Option, ...], **extra: Any) -> Ask:
    return Ask(
        item_id="q",
        text="Pick <one> & go",
        style=style,
        hint="Reply 1-3.",
        progress="Question 1 of 3",
        options=options,
        **extra,
    )


def test_choices_escape_text_and_layout_short_labels_two_per_row() -> None:
    options = (Option("a", "A"), Option("b", "B"), Option("c", "C"))
    rendered = render(ask(AskStyle.CHOICE, options, controls=(Option("back", "Back"),)))
    assert rendered is not None
    assert rendered.chunks == ("<i>Question 1 of 3</i>\n<b>Pick &lt;one&gt; &amp; go</b>",)
    assert rendered.keyboard is not None
    rows = [[(b.text, b.callback_data) for b in row] for row in rendered.keyboard.inline_keyboard]
    assert rows == [
        [("A", "p|q|a"), ("B", "p|q|b")],
        [("C", "p|q|c")],
        [("Back", "c|q|back")],
    ]


def test_long_labels_get_a_row_each() -> None:
    options = (Option("a", "A rather long label for a button"), Option("b", "B"))
    rendered = render(ask(AskStyle.CHOICE, options))
    assert rendered is not None and rendered.keyboard is not None
    assert [len(row) for row in rendered.keyboard.inline_keyboard] == [1, 1]


def test_multi_choice_shows_ticks_and_done_and_edits_in_place() -> None:
    options = (Option("a", "A"), Option("b", "B"))
    rendered = render(
        ask(AskStyle.MULTI, options, selected=("b",), done_label="Done", refresh=True)
    )
    assert rendered is not None and rendered.keyboard is not None and rendered.edit
    labels = [[b.text for b in row] for row in rendered.keyboard.inline_keyboard]
    assert labels == [["A"], ["✓ B"], ["✅ Done"]]


def test_scale_rows_and_free_text_hint() -> None:
    scale = tuple(Option(str(v), str(v)) for v in range(11))
    rendered = render(ask(AskStyle.SCALE, scale))
    assert rendered is not None and rendered.keyboard is not None
    assert [len(row) for row in rendered.keyboard.inline_keyboard] == [6, 5]
    free = render(ask(AskStyle.FREE, ()))
    assert free is not None and free.keyboard is None
    assert free.chunks[0].endswith("\nReply 1-3.")


def test_answered_rewrites_the_question_and_notice_is_a_toast() -> None:
    rendered = render(Answered("q", "Province?", "<Ontario>"))
    assert rendered is not None and rendered.edit and rendered.keyboard is None
    assert rendered.chunks == ("Province?\n✓ <b>&lt;Ontario&gt;</b>",)
    assert render(Notice("stale")) is None
    said = render(Say("a < b"))
    assert said is not None and said.chunks == ("a &lt; b",)


def test_split_text_respects_the_limit_and_paragraphs() -> None:
    paragraph = "word " * 300
    text = "\n\n".join([paragraph.strip()] * 10)
    chunks = split_text(text)
    assert all(len(c) <= MAX_TEXT for c in chunks)
    assert "\n\n".join(chunks) == text
    long_line = "&amp;" * 2000
    cut = split_text(long_line)
    assert all(len(c) <= MAX_TEXT for c in cut)
    assert all(c.startswith("&amp;") and c.endswith(";") for c in cut)
    assert "".join(cut) == long_line
