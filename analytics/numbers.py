"""Numbers as a reader of the digest expects them, in English or French.

Rounding happens here and only here (the `Digest` keeps exact values), so the text, the
charts' labels and their alt texts all show the same rounded figure. French groups
thousands with a narrow no-break space, writes decimals with a comma and puts a no-break
space before "%"; English uses "1,234.5" and "50%".
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

__all__ = ["Numbers"]

NARROW_NBSP = "\u202f"
NBSP = "\u00a0"


class Numbers:
    """Formatting for one language; unknown languages are formatted as English."""

    def __init__(self, language: str) -> None:
        self.french = language == "fr"

    def count(self, value: int) -> str:
        text = f"{value:,}"
        return text.replace(",", NARROW_NBSP) if self.french else text

    def decimal(self, value: float | None, places: int = 1) -> str:
        """At most `places` decimals, trailing zeros dropped: 3.0 → "3", 3.25 → "3.3"."""
        if value is None:
            return "–"
        text = f"{_half_up(value, places):,.{places}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        if text in ("-0", ""):
            text = "0"
        if self.french:
            text = text.replace(",", NARROW_NBSP).replace(".", ",")
        return text

    def percent(self, share: float | None) -> str:
        """A share in [0, 1] as a whole percent; "–" when there is no denominator."""
        if share is None:
            return "–"
        whole = f"{_percent(share):.0f}"
        return f"{whole}{NBSP}%" if self.french else f"{whole}%"

    def points(self, delta: float) -> str:
        """A change of share, in signed percentage points: +15 pts / +15 pts."""
        sign = "+" if delta >= 0 else "−"
        space = NBSP if self.french else " "
        return f"{sign}{_percent(abs(delta)):.0f}{space}pts"

    def signed(self, delta: float) -> str:
        sign = "+" if delta >= 0 else "−"
        return f"{sign}{self.decimal(abs(delta))}"


def _half_up(value: float, places: int) -> Decimal:
    """Round half away from zero (2.5 → 3), as people and spreadsheets do; via the
    shortest repr so that 0.145 (stored as 0.14499…) still rounds to 0.15.
    """
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _percent(share: float) -> Decimal:
    return (Decimal(repr(share)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
