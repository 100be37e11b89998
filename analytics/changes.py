"""What changed since the last digest, from that digest's stored snapshot.

The previous digest is a `Digest` rebuilt from `digests.summary` (`Digest.from_dict`), so
"since last time" compares with exactly what was shown, not with a recomputation:

- new completions: runs completed after the previous digest was built (the headline's
  `new_responses`);
- leading answers: choice and yes/no items whose leading answer (`ChoiceSummary.leading`,
  or "yes"/"no" — None on a tie) differs;
- shifts: a choice share, a yes share or a scale's top-2 box that moved by at least
  `threshold` (0.10 = ten points), largest move first.
An item that is new or gone (another questionnaire version) is not compared.
"""

from __future__ import annotations

from collections.abc import Iterator

from analytics.model import (
    Changes,
    ChoiceSummary,
    Digest,
    Headline,
    ItemSummary,
    LeadingChange,
    ScaleSummary,
    Shift,
    YesNoSummary,
)

__all__ = ["DEFAULT_THRESHOLD", "changes_since", "leading_answer", "shares"]

DEFAULT_THRESHOLD = 0.10


def changes_since(
    previous: Digest,
    headline: Headline,
    items: tuple[ItemSummary, ...],
    threshold: float = DEFAULT_THRESHOLD,
) -> Changes:
    before = {s.item_id: s for s in previous.items}
    pairs = [(before[s.item_id], s) for s in items if s.item_id in before]
    leading = tuple(
        LeadingChange(now.item_id, leading_answer(old), leading_answer(now))
        for old, now in pairs
        if _has_leader(now) and leading_answer(old) != leading_answer(now)
    )
    shifts = [shift for old, now in pairs for shift in _shifts(old, now, threshold)]
    shifts.sort(key=lambda s: (-abs(s.delta), s.item_id, s.key))
    return Changes(previous.built_at, headline.new_responses, leading, tuple(shifts), threshold)


def _has_leader(summary: ItemSummary) -> bool:
    return isinstance(summary, ChoiceSummary | YesNoSummary)


def leading_answer(summary: ItemSummary) -> str | None:
    """The answer most respondents gave: a choice id, "yes" or "no"; None on a tie or none."""
    if isinstance(summary, ChoiceSummary):
        return summary.leading
    if isinstance(summary, YesNoSummary) and summary.yes != summary.no:
        return "yes" if summary.yes > summary.no else "no"
    return None


def shares(summary: ItemSummary) -> dict[str, float]:
    """The shares of an item that shifts are measured on (None shares left out)."""
    found: dict[str, float | None] = {}
    if isinstance(summary, ChoiceSummary):
        found = {c.choice_id: c.share for c in summary.counts}
    elif isinstance(summary, YesNoSummary):
        found = {"yes": summary.yes_share}
    elif isinstance(summary, ScaleSummary):
        found = {"top2_box": summary.top2_box}
    return {key: share for key, share in found.items() if share is not None}


def _shifts(old: ItemSummary, now: ItemSummary, threshold: float) -> Iterator[Shift]:
    before, after = shares(old), shares(now)
    for key, share in after.items():
        if key in before and abs(share - before[key]) >= threshold - 1e-12:
            yield Shift(now.item_id, key, before[key], share)
