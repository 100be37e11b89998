"""What an operation returns: frozen results that render as the researcher's lines.

Kept apart from the operations so `bot.auditing` and the commands can read a result
without the rules that made it; `lines(zone)` shows times in the researcher's zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.groups.times import in_zone
from bot.groups.validation import RESPONSES
from storage.groups import SlotTally
from storage.models import DiscussionGroup


@dataclass(frozen=True)
class GroupResult:
    """A group as created, rescheduled or cancelled: what the researcher is told."""

    action: str
    group_id: int
    title: str
    start_at: datetime
    minutes: int
    location: str
    capacity: int | None
    invited: int
    notified: int = 0
    cancelled: bool = False

    @classmethod
    def of(
        cls, action: str, group: DiscussionGroup, invited: int, notified: int = 0
    ) -> GroupResult:
        return cls(
            action,
            group.id,
            group.title,
            group.start_at,
            group.duration_minutes,
            group.location,
            group.capacity,
            invited,
            notified,
            group.status == "cancelled",
        )

    def lines(self, zone: ZoneInfo) -> list[str]:
        limit = f"capacity {self.capacity}" if self.capacity else "no capacity limit"
        head = (
            f"group {self.group_id} {self.action}: “{self.title}” {in_zone(self.start_at, zone)}, "
            f"{self.minutes} min, at {self.location}, {limit}, {self.invited} invited"
        )
        if self.action == "created":
            return [head, f"invitations queued for {self.invited}; reminders at T-24h and T-1h"]
        return [head, f"{self.notified} invitee(s) who had not declined were told"]

    def summary(self, zone: ZoneInfo) -> str:
        return "; ".join(self.lines(zone))


@dataclass(frozen=True)
class GroupsListing:
    groups: tuple[tuple[DiscussionGroup, dict[str, int]], ...]

    def lines(self, zone: ZoneInfo) -> list[str]:
        found = [_listing_line(group, counts, zone) for group, counts in self.groups]
        return found or ["no discussion groups scheduled"]


def _listing_line(group: DiscussionGroup, counts: dict[str, int], zone: ZoneInfo) -> str:
    shown = ", ".join(f"{counts.get(r, 0)} {r}" for r in (*RESPONSES, "waitlisted"))
    limit = f"capacity {group.capacity}" if group.capacity else "no limit"
    return (
        f"{group.id}\t{group.title}\t{in_zone(group.start_at, zone)}\t{group.duration_minutes} min"
        f"\t{group.status}\t{shown}, {counts.get('none', 0)} no answer\t{limit}"
    )


@dataclass(frozen=True)
class RsvpReport:
    group: GroupResult
    answers: tuple[tuple[int, str, str], ...]
    """(stakeholder id, name, response) in stakeholder order."""
    waitlist: tuple[int, ...]

    def lines(self, zone: ZoneInfo) -> list[str]:
        lines = [self.group.lines(zone)[0]]
        for sid, name, response in self.answers:
            place = f" #{self.waitlist.index(sid) + 1}" if sid in self.waitlist else ""
            lines.append(f"{sid}\t{name}\t{response}{place}")
        return lines


@dataclass(frozen=True)
class RsvpResult:
    group_id: int
    stakeholder_id: int
    response: str
    previous: str
    position: int | None = None
    """Place on the waitlist (1 = next), when the answer was a Yes to a full session."""
    promoted: int | None = None
    """The stakeholder who moved from the waitlist to Yes because of this answer."""

    def lines(self, zone: ZoneInfo) -> list[str]:
        line = f"group {self.group_id}: stakeholder {self.stakeholder_id} {self.response}"
        if self.position is not None:
            line += f" (waitlist #{self.position})"
        if self.promoted is not None:
            line += f"; stakeholder {self.promoted} moved up from the waitlist"
        return [line]


@dataclass(frozen=True)
class PollResult:
    poll_id: int
    title: str
    starts: tuple[datetime, ...]
    invited: int

    def lines(self, zone: ZoneInfo) -> list[str]:
        head = f"poll {self.poll_id}: “{self.title}”, {self.invited} invited, slots:"
        return [head, *(f"  {n}. {in_zone(s, zone)}" for n, s in enumerate(self.starts, 1))]


@dataclass(frozen=True)
class PollRanking:
    poll_id: int
    title: str
    status: str
    ranking: tuple[SlotTally, ...]
    answered: int
    invited: int
    group_id: int | None = field(default=None)

    def lines(self, zone: ZoneInfo) -> list[str]:
        head = f"poll {self.poll_id}: “{self.title}” ({self.status}), {self.answered} of "
        head += f"{self.invited} answered"
        if self.group_id is not None:
            head += f", became group {self.group_id}"
        rows = [
            f"  {place}. slot {t.number} {in_zone(t.start_at, zone)}: {t.votes} vote(s) "
            f"({t.yes} yes, {t.maybe} if need be)"
            for place, t in enumerate(self.ranking, start=1)
        ]
        return [head, *rows]


def rank(tallies: Sequence[SlotTally]) -> list[SlotTally]:
    """Most votes first; ties broken by more Yes (not just if-need-be), then the earliest."""
    return sorted(tallies, key=lambda t: (-t.votes, -t.yes, t.start_at, t.number))
