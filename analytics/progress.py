"""How far people got: the headline counts, the completion funnel, reach and drop-off.

Read from the `runs` and `stakeholders` frames (`analytics.frames`) plus the answer
states; the definitions of each count are in `analytics.model` ("Who counts").
Drop-off uses each open run's cursor, the item awaiting its answer: that is the
question the person stopped at, which is what a researcher fixing the questionnaire
wants to see (not the last one they answered).
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from analytics.model import DropOff, FunnelStage, Headline, ItemReach
from conversations.questionnaire import Questionnaire

__all__ = ["drop_off", "funnel", "headline", "reached"]

_STARTED = ("in_progress", "paused", "completed")
_OPEN = ("consenting", "in_progress", "paused")


def headline(stakeholders: pd.DataFrame, runs: pd.DataFrame, since: datetime | None) -> Headline:
    """The headline; `since` is the previous digest's time (None: count every completion)."""
    status = runs["status"].astype(str)
    roster = stakeholders["stakeholder_id"]
    invited = int(runs.loc[runs["stakeholder_id"].isin(roster), "stakeholder_id"].nunique())
    started = int(status.isin(_STARTED).sum())
    completed_runs = runs[status == "completed"]
    total, done = _organisations(stakeholders, completed_runs)
    return Headline(
        roster=len(roster),
        invited=invited,
        started=started,
        completed=len(completed_runs),
        in_progress=started - len(completed_runs),
        not_started=len(roster) - started,
        declined=int((status == "declined").sum()),
        organisations_completed=done,
        organisations_total=total,
        new_responses=_completed_since(completed_runs, since),
        median_minutes_to_complete=_median_minutes(completed_runs),
    )


def _organisations(stakeholders: pd.DataFrame, completed: pd.DataFrame) -> tuple[int, int]:
    """(organisations on the roster, those where someone completed); none named: one each."""
    named = stakeholders["organisation"].astype(object)
    named = named.where(named.notna() & (named.astype(str).str.strip() != ""), None)
    done = stakeholders["stakeholder_id"].isin(completed["stakeholder_id"])
    total = named.nunique() + int(named.isna().sum())
    finished = named[done].nunique() + int((named.isna() & done).sum())
    return int(total), int(finished)


def _completed_since(completed: pd.DataFrame, since: datetime | None) -> int:
    if since is None:
        return len(completed)
    return int((completed["completed_at"] > pd.Timestamp(since)).sum())


def _median_minutes(completed: pd.DataFrame) -> float | None:
    """From consent (or, without one, the run's creation) to completion."""
    if completed.empty:
        return None
    start = completed["started_at"].fillna(completed["created_at"])
    minutes = (completed["completed_at"] - start).dt.total_seconds() / 60
    minutes = minutes.dropna()
    return float(minutes.median()) if len(minutes) else None


def funnel(headline: Headline) -> tuple[FunnelStage, ...]:
    return (
        FunnelStage("roster", headline.roster),
        FunnelStage("invited", headline.invited),
        FunnelStage("started", headline.started),
        FunnelStage("completed", headline.completed),
    )


def reached(answers: pd.DataFrame, questionnaire: Questionnaire) -> tuple[ItemReach, ...]:
    """Per question, the runs that got to it: answered or skipped (not-applicable is not)."""
    counted = answers[answers["state"].isin(("answered", "skipped"))]
    counts = counted["item_id"].value_counts()  # categorical: counted on codes
    counts.index = counts.index.astype(str)
    return tuple(
        ItemReach(item.id, int(counts.get(item.id, 0)))
        for item in questionnaire.items
        if item.is_question
    )


def drop_off(runs: pd.DataFrame, questionnaire: Questionnaire) -> tuple[DropOff, ...]:
    """Open runs per item they stopped at, most first (ties in questionnaire order)."""
    open_runs = runs[runs["status"].astype(str).isin(_OPEN)]
    cursors = open_runs["cursor"].dropna().astype(str)
    counts = cursors[cursors.map(questionnaire.has_item)].value_counts()
    stops = [DropOff(item_id, int(n)) for item_id, n in counts.items()]
    return tuple(sorted(stops, key=lambda d: (-d.stopped, questionnaire.index_of(d.item_id))))
