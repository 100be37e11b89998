"""The digest's sections other than the items: headline, funnel, changes, segments,
discussion groups and delivery health, each a `Section` of plain-text lines.

Suppressed segment cells read "fewer than k" exactly like any other cell, whatever the
reason they were suppressed, and no total is added here that the digest does not carry.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from analytics.model import Digest, SegmentCell, SegmentTable, Shift, UpcomingGroup
from analytics.wording import Line, Paragraph, Section, Strong, Words, cap

__all__ = [
    "MAX_DROP_OFF",
    "changes",
    "delivery",
    "funnel",
    "groups",
    "headline",
    "headline_sentence",
    "segments",
]

MAX_DROP_OFF = 5


def headline_sentence(digest: Digest, words: Words) -> str:
    """ "8 of 15 organisations completed · 2 in progress · 5 not started"."""
    h = digest.headline
    return words(
        "digest.headline",
        completed=words.count(h.organisations_completed),
        total=words.count(h.organisations_total),
        in_progress=words.count(h.in_progress),
        not_started=words.count(h.not_started),
    )


def headline(digest: Digest, words: Words) -> Section:
    h = digest.headline
    people = words(
        "digest.people",
        completed=words.count(h.completed),
        roster=words.count(h.roster),
        started=words.count(h.started),
        invited=words.count(h.invited),
        declined=words.count(h.declined),
    )
    new_key = "digest.new_responses_first" if digest.changes is None else "digest.new_responses"
    lines = [
        Line((Strong(headline_sentence(digest, words)),)),
        Line((people,)),
        Line((words(new_key, count=words.count(h.new_responses)),)),
    ]
    if h.median_minutes_to_complete is not None:
        minutes = words.numbers.decimal(h.median_minutes_to_complete, 0)
        lines.append(Line((words("digest.median_time", minutes=minutes),)))
    return Section(words("digest.section.headline"), (tuple(lines),))


def funnel(digest: Digest, words: Words) -> Section:
    """Stages with their share of the first stage, then the items where people stop."""
    first = digest.funnel[0].count if digest.funnel else 0
    stages = tuple(
        Line(
            (
                words(
                    "digest.funnel_stage_share" if i else "digest.funnel_stage",
                    stage=words.stage(stage),
                    count=words.count(stage.count),
                    share=words.share(stage.count / first if first else None),
                ),
            ),
            bullet=True,
        )
        for i, stage in enumerate(digest.funnel)
    )
    paragraphs: list[Paragraph] = [stages]
    stops = [d for d in digest.drop_off if d.stopped > 0][:MAX_DROP_OFF]
    if stops:
        lines = [Line((words("digest.drop_off"),))]
        lines += [
            Line(
                (
                    words(
                        "digest.drop_off_item",
                        item=words.item(d.item_id),
                        count=words.count(d.stopped),
                    ),
                ),
                bullet=True,
            )
            for d in stops
        ]
        paragraphs.append(tuple(lines))
    return Section(words("digest.section.funnel"), tuple(paragraphs))


def changes(digest: Digest, words: Words) -> list[Section]:
    """New completions, new leaders, shifts over the threshold; nothing for a first digest."""
    c = digest.changes
    if c is None:
        return []
    lines = [Line((words("digest.changes.completions", count=words.count(c.new_completions)),))]
    nothing = words("digest.changes.nothing")
    for change in c.leading_changed:
        before = words.choice(change.item_id, change.before) if change.before else nothing
        after = words.choice(change.item_id, change.after) if change.after else nothing
        text = words(
            "digest.changes.leading", item=words.item(change.item_id), after=after, before=before
        )
        lines.append(Line((text,), bullet=True))
    lines += [Line((_shift(shift, words),), bullet=True) for shift in c.shifts]
    if not c.shifts:
        threshold = words.numbers.points(c.threshold).lstrip("+")
        lines.append(Line((words("digest.changes.none", threshold=threshold),)))
    heading = words("digest.section.changes", since=c.since.strftime("%Y-%m-%d"))
    return [Section(heading, (tuple(lines),))]


def _shift(shift: Shift, words: Words) -> str:
    n = words.numbers
    if shift.key == "mean":
        key = words("digest.changes.mean")
        before, after, delta = (
            n.decimal(shift.before),
            n.decimal(shift.after),
            n.signed(shift.delta),
        )
    else:
        key = (
            words("digest.changes.top2")
            if shift.key == "top2_box"
            else words.choice(shift.item_id, shift.key)
        )
        before, after, delta = (
            n.percent(shift.before),
            n.percent(shift.after),
            n.points(shift.delta),
        )
    item = words.item(shift.item_id)
    return words(
        "digest.changes.shift", item=item, measure=key, before=before, after=after, delta=delta
    )


def segments(digest: Digest, words: Words) -> list[Section]:
    if not digest.segments:
        return []
    tables = tuple(_segment_table(table, words) for table in digest.segments)
    return [Section(words("digest.section.segments"), tables)]


def _segment_table(table: SegmentTable, words: Words) -> Paragraph:
    dimension = words(f"digest.dimension.{table.dimension}")
    title = words("digest.segment_title", item=words.item(table.item_id), dimension=dimension)
    lines = [Line((Strong(title),))]
    for row in table.rows:
        cells = [table.cell(row, group) for group in table.groups]
        label = words.choice(table.item_id, row)
        lines.append(Line((_segment_row(label, cells, words),), bullet=True))
    totals = _segment_row(words("digest.segment_totals"), table.group_totals, words)
    lines.append(Line((totals,)))
    return tuple(lines)


def _segment_row(
    label: str, cells: tuple[SegmentCell, ...] | list[SegmentCell], words: Words
) -> str:
    shown = " · ".join(
        words("digest.segment_cell", group=_group(cell.group, words), value=_cell(cell, words))
        for cell in cells
    )
    return words("digest.segment_row", row=label, cells=shown)


def _cell(cell: SegmentCell, words: Words) -> str:
    """ "5 (50%)", or "fewer than 3" for any suppressed cell, with no hint of why."""
    if cell.suppressed or cell.count is None:
        return words.count(None)
    if cell.row == "total":
        return words.count(cell.count)
    return f"{words.count(cell.count)} ({words.share(cell.share)})"


def _group(group: str, words: Words) -> str:
    return cap(group, 60) if group else words("digest.not_recorded")


def groups(digest: Digest, words: Words) -> tuple[Section, ...]:
    if not digest.groups:
        return ()
    paragraphs = tuple(_group_paragraph(group, words) for group in digest.groups)
    return (Section(words("digest.section.groups"), paragraphs),)


def _group_paragraph(group: UpcomingGroup, words: Words) -> Paragraph:
    try:
        local = group.start_at.astimezone(ZoneInfo(group.time_zone))
    except (ZoneInfoNotFoundError, ValueError):
        local = group.start_at
    when = words(
        "digest.group_when",
        date=f"{words(f'weekday.{local.weekday()}')} {local:%Y-%m-%d}",
        time=f"{local:%H:%M}",
        zone=group.time_zone,
    )
    rsvps = words(
        "digest.group_rsvps",
        yes=words.count(group.yes),
        maybe=words.count(group.maybe),
        no=words.count(group.no),
        waitlisted=words.count(group.waitlisted),
        no_reply=words.count(group.no_reply),
    )
    if group.capacity is not None:
        places = words("digest.group_capacity", places=words.count(group.capacity))
        rsvps = f"{rsvps} · {places}"
    title = Line((Strong(words("digest.group", title=cap(group.title), when=when)),))
    return (title, Line((rsvps,)))


def delivery(digest: Digest, words: Words) -> Section:
    d = digest.delivery
    text = words(
        "digest.delivery",
        sent=words.count(d.sent),
        pending=words.count(d.pending),
        failed=words.count(d.failed),
        retried=words.count(d.retried),
        retries=words.count(d.retries),
        rate_limited=words.count(d.rate_limited),
    )
    return Section(words("digest.section.delivery"), ((Line((text,)),),))
