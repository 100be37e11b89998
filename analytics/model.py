"""The digest's numbers: one frozen `Digest`, built by `analytics.digest`, read by the renderer.

A `Digest` holds numbers only. It is what `analytics.render` and `analytics.charts` turn
into Slack blocks, Telegram HTML, console text and PNGs, and what is stored (as
`Digest.to_dict()`, in `digests.summary`) for every posted digest, so the next one can say
exactly what changed (`analytics.changes`). `Digest.from_dict(d.to_dict()) == d` always.

Texts: ids, never labels
------------------------
The digest carries **item ids and choice ids**, not labels. The renderer localizes them
with the questionnaire the digest names (`questionnaire_id`, `questionnaire_version`):
`questionnaire.item(item_id).label.get(language)` and
`item.choice(choice_id).label.get(language)`. So one digest renders in EN or FR, the
stored snapshot stays small, and a wording fix in the questionnaire does not make
"what changed" see a change. The only free texts are stakeholders' own words (`quotes`,
`terms`) and group titles: user text, to be escaped, never markup. Other keys:
- scale rows use the scale point as a string (`"1"` … `"5"`); yes/no rows `"yes"`/`"no"`;
- segment columns (`SegmentTable.groups`) are the stakeholder's organisation type,
  region or language as recorded in the roster; `""` means "not recorded";
- `FunnelStage.stage` is one of `roster`, `invited`, `started`, `completed`.

Numbers
-------
- Counts are `int`; shares are `float` in [0, 1] (multiply by 100 to show a percent), or
  `None` when the denominator is zero. Nothing is rounded here: round when rendering.
- A choice share is `count / respondents` of the item. For a **multi-choice** item the
  shares are shares of *respondents*, not of ticks, so they may sum to more than 1.
- `respondents` of an item = runs whose answer to it is `answered`; `skipped` = runs that
  skipped it ("prefer not to say"). Not-applicable answers are counted nowhere.
- Times are aware UTC `datetime`s (ISO strings in `to_dict`); dates in a `DateSummary`
  are ISO `YYYY-MM-DD` strings.

Who counts
----------
Withdrawn stakeholders (any run of the questionnaire `withdrawn`) are left out of every
number, roster included. Only runs of one wave are counted (`wave`, "main" by default).
- `roster`: stakeholders on the roster (not withdrawn); `invited`: those with a run;
  `started`: runs that consented (in progress, paused or completed); `completed`;
  `in_progress`: started, not completed (paused included); `not_started` = roster −
  started (never invited, invited but not opened, at consent, or declined);
  `declined` is the part of `not_started` that said no at consent.
- Organisations: distinct roster `organisation` values (a stakeholder without one is its
  own organisation); an organisation has completed when any of its people completed.

Small-cell suppression (`segments`)
-----------------------------------
A `SegmentCell` with `suppressed=True` has `count=None` and `share=None`: render it as
"fewer than k" (k is `Digest.k`), never as a number. `SegmentTable.group_totals` may be
suppressed the same way. Cells suppressed only to protect another (complementary
suppression) look the same: the reader must not know which is which. See
`analytics.segments` for the rule.

Shapes at a glance
------------------
```
Digest
  headline: Headline           counts above, new_responses, median_minutes_to_complete
  items: (ItemSummary, …)      in questionnaire order, one per question (notes skipped)
     ChoiceSummary  kind single_choice|multi_choice: counts (ChoiceCount), leading
     ScaleSummary   kind scale: distribution (ValueCount), mean, median, top2_box
     NumberSummary  kind number: n=respondents, median, q1, q3, iqr, minimum, maximum
     YesNoSummary   kind yes_no: yes, no, yes_share
     DateSummary    kind date: earliest, median, latest
     TextSummary    kind text: top_terms (TermCount), quotes (quotable items only, ≤3)
  funnel: (FunnelStage, …)     roster → invited → started → completed
  reached: (ItemReach, …)      per item, runs that got to it (answered or skipped)
  drop_off: (DropOff, …)       per item, open runs that stopped there (its question is
                               the one awaiting an answer); most first
  changes: Changes | None      None for the first digest
  segments: (SegmentTable, …)  per segment item × dimension
  groups: (UpcomingGroup, …)   discussion groups not yet started, soonest first
  delivery: DeliveryHealth     outbox: sent / pending / failed, retries, rate limits
```
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Union

__all__ = [
    "MODEL_VERSION",
    "SEGMENT_DIMENSIONS",
    "Changes",
    "ChoiceCount",
    "ChoiceSummary",
    "DateSummary",
    "DeliveryHealth",
    "Digest",
    "DropOff",
    "FunnelStage",
    "Headline",
    "ItemReach",
    "ItemSummary",
    "LeadingChange",
    "NumberSummary",
    "ScaleSummary",
    "SegmentCell",
    "SegmentTable",
    "Shift",
    "TermCount",
    "TextSummary",
    "UpcomingGroup",
    "ValueCount",
    "YesNoSummary",
]

MODEL_VERSION = 1
"""Version of `Digest.to_dict()`; a stored snapshot of another version is ignored."""

SEGMENT_DIMENSIONS = ("organisation_type", "region", "language")


@dataclass(frozen=True)
class Headline:
    """How the study is going, in one line: "8 of 15 organisations completed · …"."""

    roster: int
    invited: int
    started: int
    completed: int
    in_progress: int
    not_started: int
    declined: int
    organisations_completed: int
    organisations_total: int
    new_responses: int
    """Runs completed since the previous digest (all completions for the first one)."""
    median_minutes_to_complete: float | None
    """From run creation to completion, over completed runs; None when none completed."""


@dataclass(frozen=True)
class ChoiceCount:
    choice_id: str
    count: int
    share: float | None


@dataclass(frozen=True)
class ValueCount:
    value: int
    count: int
    share: float | None


@dataclass(frozen=True)
class TermCount:
    term: str
    count: int


@dataclass(frozen=True)
class ChoiceSummary:
    """A single- or multi-choice item; `counts` lists every choice, in questionnaire order."""

    item_id: str
    kind: str
    respondents: int
    skipped: int
    counts: tuple[ChoiceCount, ...]
    leading: str | None
    """The choice with the most respondents; None when nobody answered or on a tie."""


@dataclass(frozen=True)
class ScaleSummary:
    item_id: str
    respondents: int
    skipped: int
    scale_min: int
    scale_max: int
    distribution: tuple[ValueCount, ...]
    """Every point from scale_min to scale_max, zeros included."""
    mean: float | None
    median: float | None
    top2_box: float | None
    """Share of respondents on the two highest points."""
    kind: str = "scale"


@dataclass(frozen=True)
class NumberSummary:
    """n is `respondents`; quartiles are pandas' linear interpolation (Excel QUARTILE.INC)."""

    item_id: str
    respondents: int
    skipped: int
    median: float | None
    q1: float | None
    q3: float | None
    iqr: float | None
    minimum: float | None
    maximum: float | None
    kind: str = "number"


@dataclass(frozen=True)
class YesNoSummary:
    item_id: str
    respondents: int
    skipped: int
    yes: int
    no: int
    yes_share: float | None
    kind: str = "yes_no"


@dataclass(frozen=True)
class DateSummary:
    item_id: str
    respondents: int
    skipped: int
    earliest: str | None
    median: str | None
    latest: str | None
    kind: str = "date"


@dataclass(frozen=True)
class TextSummary:
    """Free text: how many wrote, the commonest words (EN/FR stop-words removed), quotes.

    `quotes` is empty unless the item is `quotable: true`; at most 3 short ones.
    """

    item_id: str
    respondents: int
    skipped: int
    top_terms: tuple[TermCount, ...]
    quotes: tuple[str, ...]
    kind: str = "text"


ItemSummary = Union[  # noqa: UP007 - a runtime alias, resolved by `_decode`
    ChoiceSummary, ScaleSummary, NumberSummary, YesNoSummary, DateSummary, TextSummary
]


@dataclass(frozen=True)
class FunnelStage:
    stage: str
    count: int


@dataclass(frozen=True)
class ItemReach:
    item_id: str
    reached: int


@dataclass(frozen=True)
class DropOff:
    item_id: str
    stopped: int


@dataclass(frozen=True)
class LeadingChange:
    """An item whose leading choice (or yes/no) differs from the previous digest's."""

    item_id: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class Shift:
    """A share that moved by at least the threshold since last time.

    `key` is a choice id, `"yes"` (yes/no items) or `"top2_box"` (scales); `before` and
    `after` are shares, so a delta of 0.12 is 12 points.
    """

    item_id: str
    key: str
    before: float
    after: float

    @property
    def delta(self) -> float:
        return self.after - self.before


@dataclass(frozen=True)
class Changes:
    since: datetime
    """When the previous digest was built."""
    new_completions: int
    leading_changed: tuple[LeadingChange, ...]
    shifts: tuple[Shift, ...]
    threshold: float


@dataclass(frozen=True)
class SegmentCell:
    row: str
    group: str
    count: int | None
    share: float | None
    """count / the group's respondents to the item."""
    suppressed: bool


@dataclass(frozen=True)
class SegmentTable:
    """One segment item broken down by one dimension; rows × groups cells, row-major."""

    item_id: str
    dimension: str
    rows: tuple[str, ...]
    groups: tuple[str, ...]
    cells: tuple[SegmentCell, ...]
    group_totals: tuple[SegmentCell, ...]
    """Respondents per group (`row` is `"total"`), suppressed like any cell."""

    def cell(self, row: str, group: str) -> SegmentCell:
        return self.cells[self.rows.index(row) * len(self.groups) + self.groups.index(group)]


@dataclass(frozen=True)
class UpcomingGroup:
    group_id: int
    title: str
    start_at: datetime
    time_zone: str
    capacity: int | None
    yes: int
    maybe: int
    no: int
    waitlisted: int
    no_reply: int


@dataclass(frozen=True)
class DeliveryHealth:
    """The outbox since the previous digest (ever, for the first).

    `retries` counts attempts after the first, over every message; `rate_limited` the
    messages whose last error was a platform rate limit (HTTP 429 / retry_after).
    """

    sent: int
    pending: int
    failed: int
    retried: int
    retries: int
    rate_limited: int


@dataclass(frozen=True)
class Digest:
    questionnaire_id: str
    questionnaire_version: str
    wave: str
    built_at: datetime
    k: int
    headline: Headline
    items: tuple[ItemSummary, ...]
    funnel: tuple[FunnelStage, ...]
    reached: tuple[ItemReach, ...]
    drop_off: tuple[DropOff, ...]
    changes: Changes | None
    segments: tuple[SegmentTable, ...]
    groups: tuple[UpcomingGroup, ...]
    delivery: DeliveryHealth

    version: ClassVar[int] = MODEL_VERSION

    @property
    def is_empty(self) -> bool:
        """No answers yet: render the short, friendly digest."""
        return self.headline.started == 0

    def item(self, item_id: str) -> ItemSummary | None:
        return next((s for s in self.items if s.item_id == item_id), None)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (str, int, float, None, lists, dicts)."""
        return {"model_version": MODEL_VERSION, **_encode(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Digest:
        """The inverse of `to_dict`; ValueError for another model version."""
        if data.get("model_version") != MODEL_VERSION:
            raise ValueError(f"unsupported digest model version {data.get('model_version')!r}")
        fields = {k: v for k, v in data.items() if k != "model_version"}
        return typing.cast(Digest, _decode(Digest, fields))


_SUMMARIES: dict[str, type] = {
    "single_choice": ChoiceSummary,
    "multi_choice": ChoiceSummary,
    "scale": ScaleSummary,
    "number": NumberSummary,
    "yes_no": YesNoSummary,
    "date": DateSummary,
    "text": TextSummary,
}


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _decode(hint: Any, data: Any) -> Any:
    """Rebuild a value of type `hint` from `_encode`'s output, led by the type hints."""
    if data is None:
        return None
    origin = typing.get_origin(hint)
    if hint is ItemSummary or origin in (Union, types.UnionType):
        return _decode_union(hint, data)
    if origin is tuple:
        return tuple(_decode(typing.get_args(hint)[0], v) for v in data)
    if hint is datetime:
        return datetime.fromisoformat(data)
    if hint is float:
        return float(data)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        names = [f.name for f in dataclasses.fields(hint)]
        return hint(**{n: _decode(hints[n], data[n]) for n in names if n in data})
    return data


def _decode_union(hint: Any, data: Any) -> Any:
    if hint is ItemSummary:
        return _decode(_SUMMARIES[data["kind"]], data)
    options = [a for a in typing.get_args(hint) if a is not type(None)]
    return _decode(options[0], data) if len(options) == 1 else data
