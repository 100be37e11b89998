"""Participants' rights in chat: STOP, /mydata, /withdraw (#7), recognised and worded.

What the person typed or pressed is recognised here, once for every channel, and what
they are told is built here from the catalog. The shell (`bot.rights`) does the rest:
reading and erasing their data, cancelling what was scheduled for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from conversations.catalog import translate
from conversations.inputs import Begin, Command, CommandName, Input, Pick, Reply, parse_text
from conversations.messages import Ask, AskStyle, Option, Say
from conversations.questionnaire import WithdrawMode
from conversations.text import fold

__all__ = [
    "CODE_ALPHABET",
    "WITHDRAW_ITEM",
    "Right",
    "is_restart",
    "receipt_code",
    "recognise",
    "withdraw_question",
    "withdrawn",
]

WITHDRAW_ITEM = "rights.withdraw"
"""The item id of the withdrawal confirmation buttons."""

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford's base 32: no I, L, O or U, so a code read aloud or retyped stays unambiguous."""


class Right(StrEnum):
    STOP = "stop"
    MY_DATA = "my_data"
    WITHDRAW = "withdraw"
    CONFIRM_WITHDRAWAL = "confirm"
    CANCEL_WITHDRAWAL = "cancel"


_PHRASES: dict[str, Right] = {
    "mydata": Right.MY_DATA,
    "my data": Right.MY_DATA,
    "mes donnees": Right.MY_DATA,
    "mesdonnees": Right.MY_DATA,
    "withdraw": Right.WITHDRAW,
    "retirer": Right.WITHDRAW,
    "me retirer": Right.WITHDRAW,
}


def recognise(given: Input) -> Right | None:
    """The right `given` exercises, if any; everything else is the conversation's."""
    if isinstance(given, Pick) and given.item_id == WITHDRAW_ITEM:
        return Right(given.value) if given.value in ("confirm", "cancel") else None
    if isinstance(given, Command) and given.name is CommandName.STOP:
        return Right.STOP
    if not isinstance(given, Reply):
        return None
    parsed = parse_text(given.text)
    if isinstance(parsed, Command) and parsed.name is CommandName.STOP:
        return Right.STOP
    return _PHRASES.get(fold(given.text).lstrip("/").strip())


def is_restart(given: Input) -> bool:
    """/start, "start", "commencer", a Continue button: what lifts a STOP."""
    if isinstance(given, Reply):
        given = parse_text(given.text)
    return isinstance(given, Begin) or (
        isinstance(given, Command) and given.name is CommandName.RESUME
    )


def withdraw_question(modes: Iterable[WithdrawMode], language: str) -> Ask:
    """Are you sure? With what will happen to the answers, and buttons to confirm."""
    effects = " ".join(translate(f"rights.effect.{m.value}", language) for m in sorted(set(modes)))
    return Ask(
        item_id=WITHDRAW_ITEM,
        text=translate("rights.withdraw_question", language, effects=effects).strip(),
        style=AskStyle.CHOICE,
        hint=translate("rights.withdraw_hint", language),
        options=(
            Option(Right.CONFIRM_WITHDRAWAL.value, translate("rights.confirm", language)),
            Option(Right.CANCEL_WITHDRAWAL.value, translate("rights.cancel", language)),
        ),
    )


def withdrawn(modes: Iterable[WithdrawMode], code: str, language: str) -> Say:
    """The receipt: what was done, and the code to quote to the research team."""
    done = " ".join(translate(f"rights.done.{m.value}", language) for m in sorted(set(modes)))
    return Say(translate("rights.withdrawn", language, done=done, code=code).replace("  ", " "))


def receipt_code(draw: bytes) -> str:
    """`W-XXXX-XXXX` from 5 random bytes (40 bits): short to quote, hard to guess."""
    if len(draw) != 5:
        raise ValueError(f"a receipt code needs 5 random bytes, not {len(draw)}")
    number = int.from_bytes(draw, "big")
    symbols = "".join(CODE_ALPHABET[(number >> shift) & 31] for shift in range(35, -1, -5))
    return f"W-{symbols[:4]}-{symbols[4:]}"
