"""Discussion groups and find-a-time polls: validate, store rows, say what happened (#5).

One function per operation, each taking the caller's `Session`, an injected `now` and
plain arguments, so the CLI, Telegram and Slack commands share them. Nothing commits: an
error raises `GroupError` (one line naming the field) before anything is written, and
the caller's unit of work rolls back. Results render in the researcher's zone
(`lines(zone)`); what invitees see is in their own zone and language.

Rows first (see `bot.scheduling`): an invitation and each T-24h / T-1h reminder is a
`ScheduledSend` (`group_invite`, `group_reminder`, `poll_invite`) that the scheduler wakes;
`process_send` does what a due one says, once.

One job a module, imported from here by everyone else:
- `validation`: the fields of a request, read and checked (`GroupError`);
- `times`: how a session's time is shown, to invitees and to the researcher;
- `results`: what each operation returns and how the researcher reads it;
- `operations`: create, list, RSVP, reschedule, cancel, release places;
- `polls`: find-a-time polls, from candidate starts to a confirmed group;
- `messages`: what invitees see (invitations, poll asks, .ics) and posting it;
- `sends`: due invitations and reminders, when the scheduler wakes them (quiet hours);
- `presses`: RSVP and poll buttons pressed in chat.
"""

from __future__ import annotations

from bot.groups.operations import (
    REMINDER_HOURS,
    cancel_group,
    create_group,
    list_groups,
    release_places,
    reschedule_group,
    rsvp,
    rsvps,
)
from bot.groups.polls import confirm_poll, create_poll, poll_results
from bot.groups.presses import is_group_press, press
from bot.groups.results import (
    GroupResult,
    GroupsListing,
    PollRanking,
    PollResult,
    RsvpReport,
    RsvpResult,
    rank,
)
from bot.groups.sends import SEND_KINDS, process_send
from bot.groups.validation import (
    MAX_SLOTS,
    MAX_TITLE,
    MAX_WHERE,
    MIN_SLOTS,
    GroupError,
    parse_duration,
)

__all__ = [
    "MAX_SLOTS",
    "MAX_TITLE",
    "MAX_WHERE",
    "MIN_SLOTS",
    "REMINDER_HOURS",
    "SEND_KINDS",
    "GroupError",
    "GroupResult",
    "GroupsListing",
    "PollRanking",
    "PollResult",
    "RsvpReport",
    "RsvpResult",
    "cancel_group",
    "confirm_poll",
    "create_group",
    "create_poll",
    "is_group_press",
    "list_groups",
    "parse_duration",
    "poll_results",
    "press",
    "process_send",
    "rank",
    "release_places",
    "reschedule_group",
    "rsvp",
    "rsvps",
]
