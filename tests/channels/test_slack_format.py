"""Slack translation, both directions: payloads in, Block Kit out, within Slack's limits."""

from __future__ import annotations

from typing import Any

import pytest

from bot.channels.slack_format import (
    CONTINUE_ACTION,
    escape,
    home_view,
    render,
    to_inbound_action,
    to_inbound_command,
    to_inbound_message,
)
from conversations.inputs import Begin, Command, CommandName, Pick, Reply, Submit, Unreadable
from conversations.messages import Answered, Ask, AskStyle, Notice, Option, Say


def dm(**fields: Any) -> dict[str, Any]:
    return {"type": "message", "channel_type": "im", "channel": "D1", "user": "U1", **fields}


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (dm(text="Ontario"), Reply("Ontario")),
        (dm(text=""), Unreadable()),
        (dm(files=[{"id": "F1"}]), Unreadable()),
    ],
)
def test_direct_messages(event: dict[str, Any], expected: object) -> None:
    inbound = to_inbound_message(event, "Ev1")
    assert inbound is not None
    assert (inbound.event_id, inbound.sender, inbound.address) == ("Ev1", "U1", "U1")
    assert inbound.input == expected


@pytest.mark.parametrize(
    "event",
    [
        dm(text="hi", bot_id="B1"),
        dm(text="hi", subtype="message_changed"),
        {**dm(text="hi"), "channel_type": "channel"},
        {"type": "message", "channel_type": "im", "text": "no user"},
    ],
)
def test_bots_edits_and_channels_are_ignored(event: dict[str, Any]) -> None:
    assert to_inbound_message(event, "Ev2") is None


def action(kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": "U1"},
        "trigger_id": "t1",
        "actions": [{"type": kind, "action_ts": "1764165600.1", **fields}],
    }


def test_button_select_control_and_continue() -> None:
    button = to_inbound_action(action("button", action_id="p|q|a", value="p|q|a"))
    assert button is not None and button.input == Pick("q", "a")
    assert button.event_id == "action:U1:p|q|a:1764165600.1"
    select = to_inbound_action(
        action("static_select", action_id="select|q", selected_option={"value": "p|q|b"})
    )
    assert select is not None and select.input == Pick("q", "b")
    control = to_inbound_action(action("button", action_id="c|q|skip", value="c|q|skip"))
    assert control is not None and control.input == Command(CommandName.SKIP, item_id="q")
    home = to_inbound_action(action("button", action_id=CONTINUE_ACTION, value="continue"))
    assert home is not None and home.input == Begin()


def test_submit_reads_the_checkboxes_state_and_ticks_alone_do_nothing() -> None:
    body = action("button", action_id="s|q|", value="s|q|")
    body["state"] = {
        "values": {
            "ticks|q": {
                "tick|q": {
                    "type": "checkboxes",
                    "selected_options": [{"value": "t|q|a"}, {"value": "t|q|c"}],
                }
            }
        }
    }
    submitted = to_inbound_action(body)
    assert submitted is not None and submitted.input == Submit("q", ("a", "c"))
    assert to_inbound_action(action("checkboxes", action_id="tick|q")) is None
    assert to_inbound_action(action("button", action_id="zzz", value="garbage")) is None


def test_slash_command_is_a_command_answered_privately() -> None:
    inbound = to_inbound_command(
        {"user_id": "U9", "channel_id": "C5", "text": "status", "trigger_id": "tr1"}
    )
    assert inbound.command and inbound.address == "C5/U9"
    assert inbound.input == Reply("/status")
    assert inbound.event_id == "command:tr1"


def ask(style: AskStyle, count: int, **extra: Any) -> Ask:
    options = tuple(Option(f"o{i}", f"Option <{i}>") for i in range(count))
    return Ask(
        item_id="q", text="Which <b>one</b> & why?", style=style, hint="Reply 1-3",
        progress="Question 1 of 3", options=options, **extra,
    )  # fmt: skip


def test_few_choices_are_buttons_with_escaped_text() -> None:
    message = render(ask(AskStyle.CHOICE, 3, controls=(Option("back", "Back"),)))
    section, actions, controls = message.blocks
    assert section["text"]["text"] == "_Question 1 of 3_\n*Which &lt;b&gt;one&lt;/b&gt; &amp; why?*"
    assert [e["value"] for e in actions["elements"]] == ["p|q|o0", "p|q|o1", "p|q|o2"]
    assert actions["elements"][0]["text"]["text"] == "Option <0>", "plain_text: no escaping"
    assert controls["elements"][0]["action_id"] == "c|q|back"


def test_many_choices_become_a_static_select_within_limits() -> None:
    message = render(ask(AskStyle.CHOICE, 120))
    select = message.blocks[-1]["elements"][0]
    assert select["type"] == "static_select"
    assert len(select["options"]) == 100


def test_multi_choice_is_checkboxes_and_submit_with_initial_ticks() -> None:
    message = render(ask(AskStyle.MULTI, 3, selected=("o1",), done_label="Done"))
    ticks, submit = message.blocks[-2:]
    element = ticks["elements"][0]
    assert element["type"] == "checkboxes" and element["action_id"] == "tick|q"
    assert element["initial_options"] == [element["options"][1]]
    assert submit["elements"][0]["value"] == "s|q|"
    many = render(ask(AskStyle.MULTI, 12)).blocks[-2]["elements"][0]
    assert many["type"] == "multi_static_select"


def test_long_button_labels_are_clipped_to_75() -> None:
    long = Ask(item_id="q", text="Q", style=AskStyle.CHOICE, hint="h",
               options=(Option("a", "x" * 200), Option("b", "y")))  # fmt: skip
    button = render(long).blocks[-1]["elements"][0]
    assert len(button["text"]["text"]) == 75 and button["text"]["text"].endswith("…")


def test_answered_edit_notice_and_long_say() -> None:
    answered = render(Answered("q", "Province?", "<@U123>"))
    assert answered.edit and "&lt;@U123&gt;" in answered.text
    notice = render(Notice("stale"))
    assert notice.ephemeral
    said = render(Say("para\n" * 40_000))
    parts = (said, *said.extra)
    assert all(len(p.blocks) <= 50 for p in parts)
    assert all(len(b["text"]["text"]) <= 3000 for p in parts for b in p.blocks)
    assert sum(len(p.blocks) for p in parts) >= 67


def test_escape_and_home_view() -> None:
    assert escape("<!channel> & <https://x|y>") == "&lt;!channel&gt; &amp; &lt;https://x|y&gt;"
    view = home_view("Study", "3 of 10 answered", True, "Continue")
    assert view["type"] == "home"
    assert view["blocks"][-1]["elements"][0]["action_id"] == CONTINUE_ACTION
    assert len(home_view("Study", "done", False, "Continue")["blocks"]) == 2
