"""`parley withdrawal show CODE`: look up a participant's withdrawal receipt (#7).

A participant who withdraws in chat is given a code (`W-7K3Q-9XPD`). Quoting it lets the
research team confirm when the withdrawal happened and what it erased or detached,
without the receipt saying who it was: it holds counts and modes only. The lookup is
recorded in the audit log as made by `cli:<os user>`. An unknown or malformed code is one
line naming the argument, exit 2.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

import typer

from bot.audit_cli import console
from bot.roles import cli_actor
from storage import audit
from storage.erasure import withdrawal_by_code
from storage.models import Withdrawal

__all__ = ["describe", "withdrawal_app"]

withdrawal_app = typer.Typer(
    no_args_is_help=True, help="Participants' withdrawals: look up a receipt code."
)

_CODE = re.compile(r"^W-?[0-9A-Z]{4}-?[0-9A-Z]{4}$")

Code = Annotated[str, typer.Argument(metavar="CODE", help="The receipt code, e.g. W-7K3Q-9XPD.")]


@withdrawal_app.command("show")
def show(code: Code) -> None:
    """When a withdrawal happened and what it erased, by its receipt code."""
    from bot.cli import _fail, _settings, _unit_of_work

    if not _CODE.match(code.strip().upper()):
        raise _fail([f"CODE: '{code}' is not a receipt code (W-XXXX-XXXX)"])
    with _unit_of_work(_settings()) as uow:
        receipt = withdrawal_by_code(uow.session, code)
        if receipt is None:
            raise _fail([f"CODE: no withdrawal has the receipt code {code.strip().upper()}"])
        lines = describe(receipt)
        details = {"code": receipt.code}
        audit.record(uow.session, cli_actor(), "withdrawal.show", details, "cli", datetime.now(UTC))
        uow.commit()
    out = console()
    for line in lines:
        out.print(line, markup=False, highlight=False)


def describe(receipt: Withdrawal) -> list[str]:
    """The receipt as lines: code, time, channel, then each questionnaire's mode and counts."""
    erased = receipt.erased
    lines = [
        f"Receipt {receipt.code}",
        f"Withdrawn at {receipt.withdrawn_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        f" via {receipt.channel}",
    ]
    questionnaires = erased.get("questionnaires", {})
    for key, mode in sorted(questionnaires.items()):
        lines.append(
            f"{key}: {'answers erased' if mode == 'delete' else 'answers kept anonymously'}"
        )
    if not questionnaires:
        lines.append("No answers were stored.")
    counts = erased.get("counts", {})
    lines.extend(f"  {what.replace('_', ' ')}: {n}" for what, n in sorted(counts.items()) if n)
    return lines
