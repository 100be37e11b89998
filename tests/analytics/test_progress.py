"""Headline, funnel, reach and drop-off; and the empty study."""

from __future__ import annotations

from datetime import timedelta

from analytics.digest import build_digest
from analytics.model import DropOff, FunnelStage, Headline, ItemReach
from tests.analytics.tiny import NOW, Person, frames_of, questionnaire


def people() -> list[Person]:
    return [
        Person(
            "completed", organisation="Org A", minutes=10, completed_at=NOW - timedelta(hours=1)
        ),
        Person("completed", organisation="Org A", minutes=30, completed_at=NOW - timedelta(days=3)),
        Person("completed", organisation="Org B", minutes=20, completed_at=NOW - timedelta(days=3)),
        Person(
            "in_progress", {"colour": "red", "tools": ["r"]}, organisation="Org C", cursor="ease"
        ),
        Person("paused", {"colour": "red"}, organisation="Org C", cursor="tools"),
        Person("in_progress", {"colour": "blue", "tools": "skipped"}, cursor="ease"),
        Person("consenting", organisation="Org D"),
        Person("declined", organisation="Org D"),
        Person("invited"),
        Person(invited=False, organisation="Org E"),
        Person("withdrawn", {"colour": "green"}, organisation="Org F"),
    ]


def test_headline_counts_people_and_organisations() -> None:
    digest = build_digest(frames_of(people()), questionnaire(), None, NOW)
    assert digest.headline == Headline(
        roster=10,  # the withdrawn person is left out everywhere
        invited=9,
        started=6,
        completed=3,
        in_progress=3,  # paused included
        not_started=4,
        declined=1,
        organisations_completed=2,  # Org A, Org B
        organisations_total=7,  # A, B, C, D, E + two people without one
        new_responses=3,
        median_minutes_to_complete=20.0,
    )


def test_new_responses_count_completions_after_the_previous_digest() -> None:
    first = build_digest(frames_of(people()), questionnaire(), None, NOW - timedelta(days=1))
    second = build_digest(frames_of(people()), questionnaire(), first, NOW)
    assert second.headline.new_responses == 1
    assert second.changes is not None and second.changes.new_completions == 1


def test_funnel_reach_and_drop_off() -> None:
    digest = build_digest(frames_of(people()), questionnaire(), None, NOW)
    assert digest.funnel == (
        FunnelStage("roster", 10),
        FunnelStage("invited", 9),
        FunnelStage("started", 6),
        FunnelStage("completed", 3),
    )
    assert digest.reached[:3] == (
        ItemReach("colour", 3),
        ItemReach("tools", 2),  # a skip reached it
        ItemReach("ease", 0),
    )
    assert digest.drop_off == (DropOff("ease", 2), DropOff("tools", 1))


def test_empty_study_gives_a_digest_of_zeros_and_nones() -> None:
    digest = build_digest(frames_of([]), questionnaire(), None, NOW)
    assert digest.is_empty
    assert digest.headline == Headline(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, None)
    assert all(s.respondents == 0 for s in digest.items)
    assert digest.drop_off == ()
    assert all(table.cells == () for table in digest.segments)


def test_roster_without_answers_is_empty_but_counts_people() -> None:
    digest = build_digest(
        frames_of([Person("invited"), Person(invited=False)]), questionnaire(), None, NOW
    )
    assert digest.is_empty
    assert (digest.headline.roster, digest.headline.invited, digest.headline.not_started) == (
        2,
        1,
        2,
    )
