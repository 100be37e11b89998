"""What can happen to a run: the engine's whole input vocabulary.

Channels translate platform updates into these; `parse_text` turns typed words
(`back`, `retour`, `language fr`, …) into commands so that every channel shares
one definition of what a typed command is.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from conversations.text import fold

__all__ = [
    "Begin",
    "Command",
    "CommandName",
    "Input",
    "Pick",
    "Reply",
    "Submit",
    "Toggle",
    "Unreadable",
    "parse_text",
]


class CommandName(StrEnum):
    BACK = "back"
    NEXT = "next"
    SKIP = "skip"
    PAUSE = "pause"
    RESUME = "resume"
    HELP = "help"
    LANGUAGE = "language"
    PROGRESS = "progress"
    STOP = "stop"


@dataclass(frozen=True)
class Reply:
    """Free text the person typed."""

    text: str


@dataclass(frozen=True)
class Pick:
    """A button pressed on the question `item_id` (a choice id, `yes`/`no`, a scale value).

    `item_id` lets the engine recognise a stale button from an earlier question.
    """

    item_id: str
    value: str


@dataclass(frozen=True)
class Toggle:
    """A multi-choice checkbox ticked or unticked, before `Submit`."""

    item_id: str
    choice_id: str


@dataclass(frozen=True)
class Submit:
    """The Done/Submit button of a multi-choice question.

    `choices` is the whole selection when the platform sends it with the button (Slack
    checkboxes); otherwise the ticks toggled so far (Telegram) are submitted.
    """

    item_id: str
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Command:
    """A command, typed or pressed. A button carries `item_id`, so a stale one is ignored."""

    name: CommandName
    argument: str = ""
    item_id: str | None = None


@dataclass(frozen=True)
class Begin:
    """The person (re)opened the conversation: `/start`, a Continue button, the console starting."""


@dataclass(frozen=True)
class Unreadable:
    """Something the bot cannot read as an answer: a sticker, a photo, a voice note."""


Input = Reply | Pick | Toggle | Submit | Command | Begin | Unreadable

_WORDS: dict[str, CommandName] = {
    "back": CommandName.BACK,
    "retour": CommandName.BACK,
    "previous": CommandName.BACK,
    "precedent": CommandName.BACK,
    "next": CommandName.NEXT,
    "keep": CommandName.NEXT,
    "suivant": CommandName.NEXT,
    "garder": CommandName.NEXT,
    "skip": CommandName.SKIP,
    "passer": CommandName.SKIP,
    "pause": CommandName.PAUSE,
    "resume": CommandName.RESUME,
    "continue": CommandName.RESUME,
    "reprendre": CommandName.RESUME,
    "continuer": CommandName.RESUME,
    "help": CommandName.HELP,
    "aide": CommandName.HELP,
    "?": CommandName.HELP,
    "language": CommandName.LANGUAGE,
    "langue": CommandName.LANGUAGE,
    "progress": CommandName.PROGRESS,
    "progression": CommandName.PROGRESS,
    "stop": CommandName.STOP,
    "arreter": CommandName.STOP,
    "unsubscribe": CommandName.STOP,
    "start": CommandName.RESUME,
    "commencer": CommandName.RESUME,
}


def parse_text(text: str) -> Input:
    """A typed command (optionally with a leading `/`), or the text as a `Reply`.

    Only the whole message counts as a command ("back" yes, "go back to page 2" no),
    so free-text answers that merely contain a command word are never swallowed.
    """
    words = fold(text).lstrip("/").split()
    if not words or len(words) > 2:
        return Reply(text)
    name = _WORDS.get(words[0])
    if name is None:
        return Reply(text)
    if len(words) == 2 and name is not CommandName.LANGUAGE:
        return Reply(text)
    return Command(name, words[1] if len(words) == 2 else "")
