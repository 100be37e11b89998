"""Build the `Digest`: pure over frames (`build_digest`), or read from the database.

`build_digest` is a function of its arguments only (the frames, the questionnaire, the
previous digest, the time): tests hand it tiny frames and compare exact numbers. The
database path, `digest_from_database`, loads the frames and the group and outbox
figures in one read transaction and calls it. Storing the result (`Digest.to_dict()` in
`digests.summary`) and posting it are the caller's business (`bot/`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from analytics import activity, progress
from analytics.changes import DEFAULT_THRESHOLD, changes_since
from analytics.frames import Frames, load_frames, reading
from analytics.model import DeliveryHealth, Digest, UpcomingGroup
from analytics.segments import segment_tables
from analytics.summaries import summarize_items
from conversations.questionnaire import Questionnaire

__all__ = ["DEFAULT_K", "NO_DELIVERY", "build_digest", "digest_from_database"]

DEFAULT_K = 3
NO_DELIVERY = DeliveryHealth(0, 0, 0, 0, 0, 0)


def build_digest(
    frames: Frames,
    questionnaire: Questionnaire,
    previous: Digest | None,
    now: datetime,
    k: int = DEFAULT_K,
    *,
    wave: str = "main",
    groups: tuple[UpcomingGroup, ...] = (),
    delivery: DeliveryHealth = NO_DELIVERY,
    threshold: float = DEFAULT_THRESHOLD,
) -> Digest:
    """The digest of `frames` at `now`; `previous` (or None) is the last posted one."""
    if k < 1:
        raise ValueError(f"k: the smallest cell shown must be at least 1, not {k}")
    since = previous.built_at if previous is not None else None
    headline = progress.headline(frames.stakeholders, frames.runs, since)
    items = summarize_items(frames.answers, questionnaire)
    return Digest(
        questionnaire_id=questionnaire.id,
        questionnaire_version=questionnaire.version,
        wave=wave,
        built_at=now,
        k=k,
        headline=headline,
        items=items,
        funnel=progress.funnel(headline),
        reached=progress.reached(frames.answers, questionnaire),
        drop_off=progress.drop_off(frames.runs, questionnaire),
        changes=changes_since(previous, headline, items, threshold) if previous else None,
        segments=segment_tables(frames.answers, frames.stakeholders, questionnaire, k),
        groups=groups,
        delivery=delivery,
    )


def digest_from_database(
    source: Connection | Session | Engine,
    questionnaire: Questionnaire,
    previous: Digest | None,
    now: datetime,
    k: int = DEFAULT_K,
    *,
    wave: str = "main",
    threshold: float = DEFAULT_THRESHOLD,
) -> Digest:
    """Load what the digest reads (one transaction) and build it."""
    since = previous.built_at if previous is not None else None
    with reading(source) as connection:
        frames = load_frames(connection, questionnaire.id, wave, lean=True)
        groups = activity.upcoming_groups(connection, now)
        delivery = activity.delivery_health(connection, since)
    return build_digest(
        frames,
        questionnaire,
        previous,
        now,
        k,
        wave=wave,
        groups=groups,
        delivery=delivery,
        threshold=threshold,
    )
