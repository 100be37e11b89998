"""What changed since the previous digest, computed from its stored (JSON) snapshot."""

from __future__ import annotations

import json
from datetime import timedelta

from analytics.digest import build_digest
from analytics.model import Digest, LeadingChange, Shift
from tests.analytics.tiny import NOW, Person, frames_of, questionnaire


def snapshot(people: list[Person], at=NOW - timedelta(days=1)) -> Digest:  # type: ignore[no-untyped-def]
    """A digest as the next one sees it: through to_dict, JSON and from_dict."""
    built = build_digest(frames_of(people), questionnaire(), None, at)
    return Digest.from_dict(json.loads(json.dumps(built.to_dict())))


def test_a_built_digest_survives_the_json_round_trip() -> None:
    people = [
        Person(answers={"colour": "red", "tools": ["r", "bi"], "ease": 4, "staff": 3}),
        Person("in_progress", {"since": "2024-01-01", "story": "Un récit"}, cursor="open_data"),
    ]
    digest = build_digest(frames_of(people), questionnaire(), snapshot(people), NOW)
    assert Digest.from_dict(json.loads(json.dumps(digest.to_dict()))) == digest


def test_leading_answers_and_shifts_over_the_threshold() -> None:
    before = [Person(answers={"colour": "red", "open_data": True, "ease": 5}) for _ in range(3)]
    before += [Person(answers={"colour": "blue", "open_data": False, "ease": 1})]
    after = before + [
        Person(answers={"colour": "blue", "open_data": False, "ease": 2}) for _ in range(3)
    ]
    digest = build_digest(frames_of(after), questionnaire(), snapshot(before), NOW)
    changes = digest.changes
    assert changes is not None
    assert changes.since == NOW - timedelta(days=1)
    assert changes.leading_changed == (
        LeadingChange("colour", "red", "blue"),
        LeadingChange("open_data", "yes", "no"),
    )
    # red 3/4 → 3/7, blue 1/4 → 4/7, yes 3/4 → 3/7, top-2 box 3/4 → 3/7; all ≥ 0.10
    expected = {
        ("colour", "red"): (0.75, 3 / 7),
        ("colour", "blue"): (0.25, 4 / 7),
        ("open_data", "yes"): (0.75, 3 / 7),
        ("ease", "top2_box"): (0.75, 3 / 7),
    }
    assert {(s.item_id, s.key): (s.before, s.after) for s in changes.shifts} == expected
    assert abs(changes.shifts[0].delta) >= abs(changes.shifts[-1].delta)


def test_small_moves_and_unchanged_leaders_are_not_reported() -> None:
    before = [Person(answers={"colour": "red"}) for _ in range(9)] + [
        Person(answers={"colour": "blue"})
    ]
    after = [*before, Person(answers={"colour": "blue"})]  # blue 0.10 → 0.18: below 0.10
    digest = build_digest(frames_of(after), questionnaire(), snapshot(before), NOW)
    assert digest.changes is not None
    assert digest.changes.leading_changed == ()
    assert digest.changes.shifts == ()


def test_threshold_is_a_parameter() -> None:
    before = [Person(answers={"colour": "red"}) for _ in range(9)] + [
        Person(answers={"colour": "blue"})
    ]
    after = [*before, Person(answers={"colour": "blue"})]
    digest = build_digest(frames_of(after), questionnaire(), snapshot(before), NOW, threshold=0.05)
    assert digest.changes is not None
    # equal moves: ordered by key
    assert digest.changes.shifts == (
        Shift("colour", "blue", 0.1, 2 / 11),
        Shift("colour", "red", 0.9, 9 / 11),
    )


def test_first_digest_has_no_changes() -> None:
    assert build_digest(frames_of([Person()]), questionnaire(), None, NOW).changes is None
