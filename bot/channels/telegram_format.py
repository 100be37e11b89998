"""Pure translation between Telegram's Bot API objects and Parley's neutral vocabulary.

`to_inbound(update)` and `render(message)` hold everything Telegram-specific about
meaning; `telegram.py` only moves bytes. Both directions are tested without a network.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.channels.base import InboundEvent
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
from conversations.messages import (
    Answered,
    Ask,
    AskStyle,
    Attachment,
    Gallery,
    Message,
    Notice,
    Option,
    Rich,
    Say,
)

__all__ = [
    "MAX_CALLBACK_BYTES",
    "MAX_TEXT",
    "PLATFORM",
    "Rendered",
    "callback_data",
    "parse_callback",
    "render",
    "split_text",
    "to_inbound",
]

PLATFORM = "telegram"
MAX_TEXT = 4096
MAX_CALLBACK_BYTES = 64
MAX_CAPTION = 1024
LONG_LABEL = 24
"""Labels longer than this get a row of their own, so they are not cut off on phones."""
SCALE_ROW = 6


@dataclass(frozen=True)
class Rendered:
    """What to send: HTML chunks (each ≤ 4,096 characters) and the keyboard of the last one."""

    chunks: tuple[str, ...]
    keyboard: InlineKeyboardMarkup | None = None
    edit: bool = False
    """Rewrite the message `target` in place rather than sending a new one."""
    document: Attachment | None = None
    """Send this file (`sendDocument`), the first chunk as its caption."""
    gallery: Gallery | None = None
    """Send these images (`sendPhoto` for one, else `sendMediaGroup`); `chunks` are their
    captions, one per image."""


# --- inbound ----------------------------------------------------------------------------


def to_inbound(update: Update) -> InboundEvent | None:
    """The neutral event for an update, or None for updates Parley deliberately ignores."""
    if update.callback_query is not None:
        return _from_callback(update)
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None  # edited messages, channel posts, service updates: not answers
    user = message.from_user
    group = message.chat.type != "private"
    text = message.text
    token = _start_token(text) if text else None
    event_input: Input
    if text is None:
        if group:
            return None
        event_input = Unreadable()
    elif text.split()[0].split("@")[0] == "/start":
        event_input = Begin()
    else:
        event_input = Reply(text)
    return InboundEvent(
        platform=PLATFORM,
        event_id=str(update.update_id),
        sender=str(user.id),
        address=str(message.chat.id),
        input=event_input,
        display_name=user.full_name,
        language=_language(user.language_code),
        invite_token=token,
        group=group,
    )


def _from_callback(update: Update) -> InboundEvent | None:
    query = update.callback_query
    assert query is not None
    event_input = parse_callback(query.data or "")
    chat = query.message.chat if query.message is not None else None
    if event_input is None or chat is None:
        return None
    return InboundEvent(
        platform=PLATFORM,
        event_id=str(update.update_id),
        sender=str(query.from_user.id),
        address=str(chat.id),
        input=event_input,
        display_name=query.from_user.full_name,
        language=_language(query.from_user.language_code),
        group=chat.type != "private",
    )


def _start_token(text: str) -> str | None:
    """`/start <token>` from a deep link `t.me/<bot>?start=<token>`."""
    parts = text.split()
    if len(parts) == 2 and parts[0].split("@")[0] == "/start":
        return parts[1]
    return None


def _language(code: str | None) -> str | None:
    return code.split("-")[0].lower() if code else None


def callback_data(kind: str, item_id: str, value: str = "") -> str:
    """Button data: `p|item|value` (pick), `t|…` (toggle), `s|item` (submit), `c|item|cmd`."""
    data = f"{kind}|{item_id}|{value}"
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return data


def parse_callback(data: str) -> Input | None:
    parts = data.split("|")
    if len(parts) != 3 or not parts[1]:
        return None
    kind, item_id, value = parts
    if kind == "p" and value:
        return Pick(item_id, value)
    if kind == "t" and value:
        return Toggle(item_id, value)
    if kind == "s":
        return Submit(item_id)
    if kind == "c" and value in (CommandName.SKIP, CommandName.BACK, CommandName.NEXT):
        return Command(CommandName(value), item_id=item_id)
    if kind == "c" and value == CommandName.RESUME:
        return Begin()  # a reminder's Continue button: like reopening the conversation
    return None


# --- outbound ---------------------------------------------------------------------------


def render(message: Message) -> Rendered | None:
    """Telegram HTML (user and questionnaire text escaped) for a message; None: nothing to send."""
    if isinstance(message, Ask):
        return _render_ask(message)
    if isinstance(message, Answered):
        text = f"{_escape(message.question)}\n✓ <b>{_escape(message.display)}</b>"
        return Rendered(split_text(text), None, edit=True)
    if isinstance(message, Notice):
        return None  # shown as the button's toast (answerCallbackQuery) instead
    if isinstance(message, Attachment):
        caption = _escape(message.caption)
        return Rendered(split_text(caption, MAX_CAPTION) if caption else (), document=message)
    if isinstance(message, Rich):  # laid out (and escaped) by its renderer already
        return Rendered((message.html,) if message.html else split_text(_escape(message.text)))
    if isinstance(message, Gallery):
        captions = tuple(_escape(_clip(image.alt, MAX_CAPTION)) for image in message.images)
        return Rendered(captions, gallery=message)
    if isinstance(message, Say):
        return Rendered(split_text(_escape(message.text)))
    raise TypeError(f"not a message: {message!r}")


def _render_ask(ask: Ask) -> Rendered:
    lines = [f"<i>{_escape(ask.progress)}</i>"] if ask.progress else []
    lines.append(f"<b>{_escape(ask.text)}</b>")
    if ask.current is not None or ask.style is AskStyle.FREE:
        lines.append(_escape(ask.hint))
    rows = _option_rows(ask) + _control_rows(ask)
    keyboard = InlineKeyboardMarkup(rows) if rows else None
    return Rendered(split_text("\n".join(lines)), keyboard, edit=ask.refresh)


def _option_rows(ask: Ask) -> list[list[InlineKeyboardButton]]:
    if ask.style is AskStyle.MULTI:
        rows = [[_button(_ticked(o, ask.selected), "t", ask.item_id, o.value)] for o in ask.options]
        return [*rows, [_button(f"✅ {ask.done_label}", "s", ask.item_id)]]
    buttons = [_button(o.label, "p", ask.item_id, o.value) for o in ask.options]
    if ask.style is AskStyle.SCALE:
        return [buttons[i : i + SCALE_ROW] for i in range(0, len(buttons), SCALE_ROW)]
    if ask.style in (AskStyle.YES_NO, AskStyle.CONSENT):
        return [buttons] if buttons else []
    if any(len(o.label) > LONG_LABEL for o in ask.options):
        return [[b] for b in buttons]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def _control_rows(ask: Ask) -> list[list[InlineKeyboardButton]]:
    buttons = [_button(c.label, "c", ask.item_id, c.value) for c in ask.controls]
    return [buttons] if buttons else []


def _ticked(option: Option, selected: tuple[str, ...]) -> str:
    return f"✓ {option.label}" if option.value in selected else option.label


def _button(label: str, kind: str, item_id: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=callback_data(kind, item_id, value))


def _clip(text: str, limit: int) -> str:
    """At most `limit` characters as Telegram counts them (UTF-16), before escaping: the
    limit applies to the text shown, not to the markup."""
    if len(text.encode("utf-16-le")) // 2 <= limit:
        return text
    while len(text.encode("utf-16-le")) // 2 > limit - 1:
        text = text[:-1]
    return text + "…"


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def split_text(text: str, limit: int = MAX_TEXT) -> tuple[str, ...]:
    """Split at paragraph, then line boundaries so no chunk exceeds `limit` characters.

    A line longer than the limit is cut, never inside an entity such as `&amp;`.
    """
    if len(text) <= limit:
        return (text,)
    chunks: list[str] = []
    current = ""
    for separator, piece in _pieces(text, limit):
        if current and len(current) + len(separator) + len(piece) > limit:
            chunks.append(current)
            current = piece
        else:
            current = f"{current}{separator}{piece}" if current else piece
    if current:
        chunks.append(current)
    return tuple(chunks)


def _pieces(text: str, limit: int) -> Iterator[tuple[str, str]]:
    """(separator, piece) pairs: whole paragraphs when they fit, else lines, else cuts."""
    for paragraph in text.split("\n\n"):
        if len(paragraph) <= limit:
            yield "\n\n", paragraph
            continue
        separator = "\n\n"
        for line in paragraph.split("\n"):
            while len(line) > limit:
                cut = _safe_cut(line, limit)
                yield separator, line[:cut]
                separator, line = "", line[cut:]
            yield separator, line
            separator = "\n"


def _safe_cut(line: str, limit: int) -> int:
    """`limit`, or earlier if an entity like `&amp;` would straddle it."""
    amp = line.rfind("&", max(0, limit - 10), limit)
    if amp > 0 and line.find(";", amp) >= limit:
        return amp
    return limit
