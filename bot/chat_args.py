"""Reading a researcher's chat command into words and `--options`, the way the CLI reads them.

Chat commands share the CLI's grammar (`--zone America/Halifax`, `--to region:NS`) so a
researcher learns one set of words. Only double quotes group words: phones turn them into
curly quotes, which count too, and an apostrophe (`O'Brien`) stays an ordinary letter.
"""

from __future__ import annotations

import shlex
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

__all__ = ["Arguments", "CommandError", "read_arguments", "words"]

_QUOTES = str.maketrans({"“": '"', "”": '"', "«": '"', "»": '"', "„": '"'})


class CommandError(ValueError):
    """A command that cannot be read; the message names what is wrong and is shown as is."""


@dataclass(frozen=True)
class Arguments:
    """Positional words in order, and `--name value` options by name (without dashes)."""

    positional: tuple[str, ...]
    options: dict[str, str] = field(default_factory=dict)
    repeated: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Options that may be given more than once (`--slot A --slot B`), in order."""

    def option(self, name: str) -> str | None:
        return self.options.get(name)


def words(text: str) -> list[str]:
    """Split on spaces; `"two words"` (straight or curly quotes) stays one word."""
    lexer = shlex.shlex(text.translate(_QUOTES), posix=True)
    lexer.quotes = '"'
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError:
        raise CommandError('a quotation mark is not closed (use "two words")') from None


def read_arguments(
    tokens: Sequence[str],
    allowed: Collection[str],
    flags: Collection[str] = (),
    repeatable: Collection[str] = (),
) -> Arguments:
    """Separate `--name value` (names in `allowed` or `repeatable`) and `--flag` (value
    "yes") from positional words."""
    allowed = {*allowed, *repeatable}
    positional: list[str] = []
    options: dict[str, str] = {}
    repeated: dict[str, tuple[str, ...]] = {}
    position = 0
    while position < len(tokens):
        token = tokens[position]
        if not token.startswith("--") or len(token) == 2:
            positional.append(token)
            position += 1
            continue
        name, equals, value = token[2:].partition("=")
        if name not in allowed and name not in flags:
            known = ", ".join(f"--{a}" for a in sorted({*allowed, *flags})) or "none"
            raise CommandError(f"--{name}: unknown option (options here: {known})")
        if name in flags:
            if equals:
                raise CommandError(f"--{name}: takes no value")
            value = "yes"
        elif not equals:
            if position + 1 >= len(tokens):
                raise CommandError(f"--{name}: needs a value")
            position += 1
            value = tokens[position]
        if name in repeatable:
            repeated[name] = (*repeated.get(name, ()), value)
        elif name in options:
            raise CommandError(f"--{name}: given twice")
        else:
            options[name] = value
        position += 1
    return Arguments(tuple(positional), options, repeated)
