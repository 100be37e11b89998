"""`parley role grant|revoke|list`: who may run researcher commands, and who manages that.

The operator of the CLI is trusted (as for `parley export`): a change is recorded as made
by `cli:<os user>`, in the audit log, in the transaction that makes it. Bad input (an
identity that is not `slack:<id>` or `telegram:<id>`, an unknown role) is one line naming
the argument, exit 2, nothing changed. A grant takes effect at the next command, without
restarting `parley run`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from bot.audit_cli import console
from bot.roles import (
    RoleChange,
    RoleError,
    change_role,
    cli_actor,
    parse_identity,
    parse_researchers,
    parse_role,
)
from bot.timing import TimingError, parse_zone
from storage import roles as stored

__all__ = ["role_app"]

role_app = typer.Typer(
    no_args_is_help=True, help="Roles: researcher (runs researcher commands), admin (manages them)."
)

Identity = Annotated[str, typer.Argument(metavar="IDENTITY", help="slack:U0123 or telegram:123.")]
Role = Annotated[str, typer.Argument(metavar="ROLE", help="researcher or admin.")]


def _change(identity: str, role: str, *, grant: bool) -> tuple[bool, RoleChange]:
    from bot.cli import _fail, _settings, _unit_of_work

    try:
        change = RoleChange(
            parse_identity(identity), parse_role(role), cli_actor(), "cli", datetime.now(UTC)
        )
    except RoleError as error:
        raise _fail([str(error)]) from None
    with _unit_of_work(_settings()) as uow:
        changed = change_role(uow.session, change, grant=grant)
        uow.commit()
    return changed, change


@role_app.command("grant")
def grant(identity: Identity, role: Role) -> None:
    """Give IDENTITY a role (researcher or admin); it applies from its next command."""
    changed, change = _change(identity, role, grant=True)
    said = "granted" if changed else "already held"
    typer.echo(f"{change.who}: {change.role} {said}")


@role_app.command("revoke")
def revoke(identity: Identity, role: Role) -> None:
    """Take a role away from IDENTITY; its next researcher command is refused."""
    from bot.cli import _settings

    changed, change = _change(identity, role, grant=False)
    typer.echo(f"{change.who}: {change.role} {'revoked' if changed else 'was not held'}")
    try:
        seeded = parse_researchers(_settings().researchers)
    except RoleError:
        seeded = frozenset()
    if change.role == "researcher" and change.identity in seeded:
        typer.echo(
            f"warning: {change.who} is in PARLEY_RESEARCHERS: the next start grants it again; "
            "remove it there too",
            err=True,
        )


@role_app.command("list")
def list_(
    zone: Annotated[str | None, typer.Option(help="Show times in this zone.")] = None,
) -> None:
    """Every grant: identity, role, where it came from, by whom and when."""
    from bot.cli import _fail, _settings, _unit_of_work

    settings = _settings()
    try:
        shown_in = parse_zone(zone or settings.researcher_time_zone)
    except TimingError as error:
        raise _fail([f"--zone: {error}"]) from None
    table = Table("identity", "role", "source", "granted by", f"granted at ({shown_in.key})")
    with _unit_of_work(settings) as uow:
        for row in stored.grants(uow.session):
            at = f"{row.granted_at.astimezone(shown_in):%Y-%m-%d %H:%M}"
            who = f"{row.platform}:{row.external_id}"
            cells = (who, row.role, row.source, row.granted_by, at)
            table.add_row(*(Text(cell) for cell in cells))
    if not table.row_count:
        typer.echo("no roles granted (PARLEY_RESEARCHERS is seeded when parley run starts)")
        return
    console().print(table)
