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
    "Gallery",
    "Image",
    "Message",
    "Notice",
    "Option",
    "Rich",
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


@dataclass(frozen=True)
class Rich:
    """Text already laid out for the platform it goes to (a digest, by `analytics.render`).

    Channels send it as given rather than escaping it: `html` is Telegram HTML (escaped by
    the renderer, at most 4,096 characters), `blocks` Slack Block Kit with `text` as its
    notification fallback, and `text` alone is what the console prints. Messages sharing
    a `thread` key belong together: on Slack the first starts a thread and the rest (and
    any `Gallery` with the same key) are posted as replies in it.
    """

    text: str
    html: str = ""
    blocks: tuple[Mapping[str, Any], ...] = ()
    thread: str = ""


@dataclass(frozen=True)
class Image:
    """A PNG with its title and the sentence a screen reader says (`alt`).

    Base64 text, so it waits in the outbox's JSON payload like any message.
    """

    filename: str
    png_base64: str
    title: str
    alt: str


@dataclass(frozen=True)
class Gallery:
    """Images posted together: a Telegram media group (one photo alone), one Slack upload."""

    images: tuple[Image, ...]
    thread: str = ""


Message = Say | Ask | Answered | Notice | Attachment | Rich | Gallery


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
    if isinstance(message, Rich):
        return {
            "kind": "rich",
            "text": message.text,
            "html": message.html,
            "blocks": [dict(block) for block in message.blocks],
            "thread": message.thread,
        }
    if isinstance(message, Gallery):
        return {
            "kind": "gallery",
            "images": [
                {"filename": i.filename, "png_base64": i.png_base64, "title": i.title, "alt": i.alt}
                for i in message.images
            ],
            "thread": message.thread,
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
    if kind == "rich":
        return Rich(data["text"], data["html"], tuple(data["blocks"]), data["thread"])
    if kind == "gallery":
        images = tuple(
            Image(i["filename"], i["png_base64"], i["title"], i["alt"]) for i in data["images"]
        )
        return Gallery(images, data["thread"])
    if kind == "say":
        return Say(data["text"])
    raise ValueError(f"unknown message kind {kind!r}")
