"""What the engine asks the shell to say. Already localized; channels only lay it out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "Answered",
    "Ask",
    "AskStyle",
    "Attachment",
    "Message",
    "Notice",
    "Option",
    "Say",
    "message_from_dict",
    "message_to_dict",
]


class AskStyle(StrEnum):
    CHOICE = "choice"
    MULTI = "multi"
    SCALE = "scale"
    YES_NO = "yes_no"
    CONSENT = "consent"
    FREE = "free"
    """Free text, numbers and dates: the answer is a typed message."""


@dataclass(frozen=True)
class Option:
    """A button: `value` is what a `Pick`/`Toggle` carries back, `label` what people see."""

    value: str
    label: str


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class Ask:
    """A question waiting for an answer.

    `refresh` means "the same question again with a changed selection": a channel that
    can edit messages updates the question in place instead of posting a new one.
    `controls` are command buttons (skip, back) whose `value` is a command name.
    """

    item_id: str
    text: str
    style: AskStyle
    hint: str
    progress: str = ""
    options: tuple[Option, ...] = ()
    selected: tuple[str, ...] = ()
    current: str | None = None
    controls: tuple[Option, ...] = ()
    done_label: str = ""
    refresh: bool = False


@dataclass(frozen=True)
class Answered:
    """`item_id` now has an answer: channels may rewrite the question to show it, buttons gone."""

    item_id: str
    question: str
    display: str


@dataclass(frozen=True)
class Notice:
    """A short aside, e.g. for a stale button press; may be shown as a toast."""

    text: str


@dataclass(frozen=True)
class Attachment:
    """A small text file sent as a document (a calendar `.ics`), with a caption.

    `content` is text so the outbox keeps it as JSON; channels encode it as UTF-8.
    """

    filename: str
    media_type: str
    content: str
    caption: str = ""


Message = Say | Ask | Answered | Notice | Attachment


def message_to_dict(message: Message) -> dict[str, object]:
    """A JSON-safe form for the outbox: the message waits there until it is delivered."""
    if isinstance(message, Ask):
        return {
            "kind": "ask",
            "item_id": message.item_id,
            "text": message.text,
            "style": message.style.value,
            "hint": message.hint,
            "progress": message.progress,
            "options": [[o.value, o.label] for o in message.options],
            "selected": list(message.selected),
            "current": message.current,
            "controls": [[o.value, o.label] for o in message.controls],
            "done_label": message.done_label,
            "refresh": message.refresh,
        }
    if isinstance(message, Answered):
        return {
            "kind": "answered",
            "item_id": message.item_id,
            "question": message.question,
            "display": message.display,
        }
    if isinstance(message, Attachment):
        return {
            "kind": "attachment",
            "filename": message.filename,
            "media_type": message.media_type,
            "content": message.content,
            "caption": message.caption,
        }
    return {"kind": "notice" if isinstance(message, Notice) else "say", "text": message.text}


def message_from_dict(data: Mapping[str, Any]) -> Message:
    kind = data["kind"]
    if kind == "ask":
        return Ask(
            item_id=data["item_id"],
            text=data["text"],
            style=AskStyle(data["style"]),
            hint=data["hint"],
            progress=data["progress"],
            options=tuple(Option(v, label) for v, label in data["options"]),
            selected=tuple(data["selected"]),
            current=data["current"],
            controls=tuple(Option(v, label) for v, label in data["controls"]),
            done_label=data["done_label"],
            refresh=data["refresh"],
        )
    if kind == "answered":
        return Answered(data["item_id"], data["question"], data["display"])
    if kind == "notice":
        return Notice(data["text"])
    if kind == "attachment":
        return Attachment(data["filename"], data["media_type"], data["content"], data["caption"])
    if kind == "say":
        return Say(data["text"])
    raise ValueError(f"unknown message kind {kind!r}")
