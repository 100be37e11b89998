"""Pure translation between Slack payloads and Parley's neutral vocabulary, and Block Kit out.

Addresses: a stakeholder's DM is addressed by their user id (`U123`): the channel opens
the DM (`conversations.open`) when sending. A researcher's command reply is addressed
`C123/U456` (channel/user) and sent as an ephemeral message, visible to them only.
Platform message ids are `D123|1764165600.000100` (DM channel and `ts`), enough for
`chat.update` to rewrite a question once it is answered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.channels.base import InboundEvent
from bot.channels.telegram_format import callback_data, parse_callback
from conversations.inputs import Begin, Input, Reply, Submit, Unreadable
from conversations.messages import (
    Answered,
    Ask,
    AskStyle,
    Attachment,
    Message,
    Notice,
    Option,
    Say,
)

__all__ = [
    "CONTINUE_ACTION",
    "PLATFORM",
    "SlackMessage",
    "escape",
    "home_view",
    "render",
    "to_inbound_action",
    "to_inbound_command",
    "to_inbound_message",
]

PLATFORM = "slack"
MAX_SECTION = 3000
MAX_BLOCKS = 50
MAX_BUTTON_TEXT = 75
MAX_BUTTONS = 5
"""More choices than this become a select menu: a row of 6+ buttons wraps badly."""
MAX_OPTIONS = 100
MAX_CHECKBOXES = 10
CONTINUE_ACTION = "home|continue"
_IGNORED_SUBTYPES = frozenset(
    {"message_changed", "message_deleted", "bot_message", "channel_join", "channel_leave"}
)


@dataclass(frozen=True)
class SlackMessage:
    """One Web API call's worth: fallback text, blocks, and how to deliver it."""

    text: str
    blocks: tuple[dict[str, Any], ...] = ()
    edit: bool = False
    ephemeral: bool = False
    extra: tuple[SlackMessage, ...] = field(default=())
    """Further messages when one would exceed Slack's block or text limits."""
    file: Attachment | None = None
    """Upload this file (files_upload_v2) with `text` as its comment, instead of posting."""


def escape(text: str) -> str:
    """mrkdwn escaping: user text can never become a mention, a link or markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- inbound ----------------------------------------------------------------------------


def to_inbound_message(event: Mapping[str, Any], event_id: str) -> InboundEvent | None:
    """A DM from a person; None for bots (ours included), edits, joins and channel chatter."""
    if event.get("type") != "message" or event.get("channel_type") != "im":
        return None
    if event.get("bot_id") or event.get("subtype") in _IGNORED_SUBTYPES or not event.get("user"):
        return None
    text = event.get("text")
    given: Input = Reply(text) if isinstance(text, str) and text.strip() else Unreadable()
    return InboundEvent(
        platform=PLATFORM,
        event_id=event_id,
        sender=str(event["user"]),
        address=str(event["user"]),
        input=given,
    )


def to_inbound_action(body: Mapping[str, Any]) -> InboundEvent | None:
    """A button, select or Submit press (block_actions); None when it is not one of ours."""
    actions = body.get("actions") or []
    user = (body.get("user") or {}).get("id")
    if not actions or not user:
        return None
    action = actions[0]
    given = _action_input(action, body.get("state") or {})
    if given is None:
        return None
    stamp = action.get("action_ts") or body.get("trigger_id") or ""
    return InboundEvent(
        platform=PLATFORM,
        event_id=f"action:{user}:{action.get('action_id', '')}:{stamp}",
        sender=str(user),
        address=str(user),
        input=given,
    )


def _action_input(action: Mapping[str, Any], state: Mapping[str, Any]) -> Input | None:
    if action.get("action_id") == CONTINUE_ACTION:
        return Begin()
    kind = action.get("type")
    if kind == "static_select":
        return parse_callback(str((action.get("selected_option") or {}).get("value", "")))
    if kind == "button":
        parsed = parse_callback(str(action.get("value", "")))
        if isinstance(parsed, Submit):
            return Submit(parsed.item_id, _ticked(parsed.item_id, state))
        return parsed
    return None  # checkbox ticks themselves change nothing until Submit


def _ticked(item_id: str, state: Mapping[str, Any]) -> tuple[str, ...]:
    """The checkboxes' current selection, read from the message state sent with Submit."""
    values = state.get("values") or {}
    for block in values.values():
        element = block.get(f"tick|{item_id}")
        if element is not None:
            options = element.get("selected_options") or []
            return tuple(str(o["value"]).split("|")[-1] for o in options)
    return ()


def to_inbound_command(body: Mapping[str, Any]) -> InboundEvent:
    """`/parley status`: a researcher command, answered to its author only."""
    user = str(body.get("user_id", ""))
    channel = str(body.get("channel_id", ""))
    text = str(body.get("text", "")).strip()
    return InboundEvent(
        platform=PLATFORM,
        event_id=f"command:{body.get('trigger_id', '')}",
        sender=user,
        address=f"{channel}/{user}",
        input=Reply(f"/{text}" if text else "/help"),
        group=True,
        command=True,
    )


# --- outbound ---------------------------------------------------------------------------


def render(message: Message) -> SlackMessage:
    if isinstance(message, Ask):
        return _render_ask(message)
    if isinstance(message, Answered):
        text = f"{escape(message.question)}\n✓ *{escape(message.display)}*"
        return SlackMessage(text=text, blocks=_sections(text), edit=True)
    if isinstance(message, Notice):
        return SlackMessage(text=escape(message.text), ephemeral=True)
    if isinstance(message, Attachment):
        return SlackMessage(text=_clip(escape(message.caption), MAX_SECTION), file=message)
    if isinstance(message, Say):
        return _split(escape(message.text))
    raise TypeError(f"not a message: {message!r}")


def _render_ask(ask: Ask) -> SlackMessage:
    heading = f"_{escape(ask.progress)}_\n" if ask.progress else ""
    text = f"{heading}*{escape(ask.text)}*"
    blocks = [*_sections(text)]
    if ask.current is not None or ask.style is AskStyle.FREE or len(ask.options) > MAX_BUTTONS:
        blocks.append(_context(escape(ask.hint)))
    blocks.extend(_inputs(ask))
    if ask.controls:
        blocks.append(_actions(ask.item_id, "controls", [_control(ask, c) for c in ask.controls]))
    return SlackMessage(
        text=f"{ask.progress} {ask.text}".strip(), blocks=tuple(blocks), edit=ask.refresh
    )


def _inputs(ask: Ask) -> list[dict[str, Any]]:
    if ask.style is AskStyle.MULTI:
        return _multi(ask)
    if not ask.options:
        return []
    if len(ask.options) > MAX_BUTTONS and ask.style is not AskStyle.SCALE:
        return [_actions(ask.item_id, "choose", [_select(ask)])]
    buttons = [_button(o.label, callback_data("p", ask.item_id, o.value)) for o in ask.options]
    return [_actions(ask.item_id, "choose", buttons[:25])]


def _multi(ask: Ask) -> list[dict[str, Any]]:
    options = [_option(o.label, callback_data("t", ask.item_id, o.value)) for o in ask.options]
    initial = [o for o, src in zip(options, ask.options, strict=True) if src.value in ask.selected]
    element: dict[str, Any] = {
        "type": "checkboxes" if len(options) <= MAX_CHECKBOXES else "multi_static_select",
        "action_id": f"tick|{ask.item_id}",
        "options": options[:MAX_OPTIONS],
    }
    if element["type"] == "multi_static_select":
        element["placeholder"] = _plain(ask.hint[:150] or "…")
    if initial:
        element["initial_options"] = initial
    submit = _button(ask.done_label or "Done", callback_data("s", ask.item_id), primary=True)
    return [_actions(ask.item_id, "ticks", [element]), _actions(ask.item_id, "submit", [submit])]


def _select(ask: Ask) -> dict[str, Any]:
    options = [_option(o.label, callback_data("p", ask.item_id, o.value)) for o in ask.options]
    return {
        "type": "static_select",
        "action_id": f"select|{ask.item_id}",
        "placeholder": _plain(ask.hint[:150] or "…"),
        "options": options[:MAX_OPTIONS],
    }


def _control(ask: Ask, control: Option) -> dict[str, Any]:
    return _button(control.label, callback_data("c", ask.item_id, control.value))


def _button(label: str, data: str, *, primary: bool = False) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": _plain(_clip(label, MAX_BUTTON_TEXT)),
        "action_id": data,
        "value": data,
    }
    if primary:
        button["style"] = "primary"
    return button


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": _plain(_clip(label, MAX_BUTTON_TEXT)), "value": value}


def _actions(item_id: str, purpose: str, elements: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "actions", "block_id": f"{purpose}|{item_id}", "elements": list(elements)}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(text, MAX_SECTION)}]}


def _sections(text: str) -> tuple[dict[str, Any], ...]:
    return tuple(
        {"type": "section", "text": {"type": "mrkdwn", "text": chunk}}
        for chunk in _chunks(text, MAX_SECTION)
    )


def _split(text: str) -> SlackMessage:
    """Long text: sections of ≤ 3,000 characters, messages of ≤ 50 blocks."""
    sections = _sections(text)
    parts = [sections[i : i + MAX_BLOCKS] for i in range(0, len(sections), MAX_BLOCKS)]
    messages = [SlackMessage(text=_clip(text, 3000), blocks=part) for part in parts]
    return SlackMessage(messages[0].text, messages[0].blocks, extra=tuple(messages[1:]))


def _chunks(text: str, limit: int) -> list[str]:
    chunks: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > 0 else limit
        amp = text.rfind("&", max(0, cut - 6), cut)
        if amp > 0 and text.find(";", amp) >= cut:
            cut = amp
        chunks.append(text[:cut])
        text = text[cut:].lstrip("\n")
    return [*chunks, text] if text else chunks or [""]


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def home_view(title: str, progress: str, can_continue: bool, label: str) -> dict[str, Any]:
    """The App Home tab: where they are, and a Continue button while there is more to do."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(_clip(title, 150))},
        {"type": "section", "text": {"type": "mrkdwn", "text": escape(progress)}},
    ]
    if can_continue:
        button = {"type": "button", "text": _plain(label), "action_id": CONTINUE_ACTION,
                  "value": "continue", "style": "primary"}  # fmt: skip
        blocks.append({"type": "actions", "block_id": "home", "elements": [button]})
    return {"type": "home", "blocks": blocks}
