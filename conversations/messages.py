"""What the engine asks the shell to say. Already localized; channels only lay it out."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Answered", "Ask", "AskStyle", "Message", "Notice", "Option", "Say"]


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


Message = Say | Ask | Answered | Notice
