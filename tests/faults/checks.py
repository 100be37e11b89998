"""What must hold after the faults, read from the database and the fakes' records.

Each check returns counts (printed by the test, so a run shows what it survived) and a
list of problems (asserted empty):

- `answers`: every answer a stakeholder got a reply for is stored once (one `answers`
  row with the value it typed, one `answer_history` entry), and every run stands at the
  item its stakeholder expects (or is completed);
- `deliveries`: every outbox message that shows in a chat (`say`, `ask`: edits are not
  new messages) arrived exactly once; one that arrived twice is allowed only where a send
  in that chat was cut off after the platform took it (the fake's `dropped` records) or
  where the sending dispatcher was killed (-9) while it was sending, and is counted;
  nothing is pending or failed;
- `reminders`: no invitee got the invitation or a reminder twice;
- `takeovers`: each killed holder's roles were held by another process within 30 s.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram
from tests.faults.chaos import TAKEOVER_LIMIT, ChaosLog
from tests.faults.stakeholders import INVITED, REMINDED, Chat, Outcome

__all__ = ["Verdict", "answers", "deliveries", "exits", "reminders", "takeovers"]

QUESTIONNAIRE_KEY = "faults-short"
TELEGRAM_NEW = frozenset({"sendMessage", "sendDocument", "sendPhoto", "sendMediaGroup"})
SLACK_NEW = frozenset({"chat.postMessage", "files.completeUploadExternal"})
NEW_MESSAGE_KINDS = frozenset({"say", "ask"})
EDITS = frozenset({"answered"})
"""Outbox kinds that edit a message already shown (the transcript line after an answer):
Slack paces chat.update at 40 a minute and puts them off, so some may still wait."""
CUT_MATCH = (0.5, 1.5)
"""A copy was cut off if the fake recorded a cut-off in its chat this close after it
(seconds before, after: Slack's times come from message ts, a different clock)."""
KILL_WINDOW = 3.0
"""Seconds before a dispatcher's kill -9 within which its sends may not have been marked."""


@dataclass
class Verdict:
    counts: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What was allowed but is worth reading (each duplicate and its cause)."""

    def add(self, other: Verdict) -> Verdict:
        self.counts.update(other.counts)
        self.problems.extend(other.problems)
        self.notes.extend(other.notes)
        return self


# --- answers and runs --------------------------------------------------------------------------


def answers(engine: sa.Engine, outcomes: Sequence[Outcome]) -> Verdict:
    verdict = Verdict()
    with engine.connect() as connection:
        for outcome in outcomes:
            _check_stakeholder(connection, outcome, verdict)
    return verdict


def _run_of(connection: sa.Connection, chat: Chat) -> tuple[int, str, dict[str, Any]] | None:
    row = connection.execute(
        sa.text(
            "SELECT r.id, r.status, r.state FROM runs r JOIN identities i"
            " ON i.stakeholder_id = r.stakeholder_id"
            " WHERE i.platform = :p AND i.external_id = :e AND r.questionnaire_key = :q"
            " AND r.wave = 'main'"
        ),
        {"p": chat.platform, "e": _sender(chat), "q": QUESTIONNAIRE_KEY},
    ).one_or_none()
    return None if row is None else (row[0], row[1], row[2])


def _sender(chat: Chat) -> str:
    user_id = getattr(chat, "user_id", chat.address)
    return str(user_id)


def _check_stakeholder(connection: sa.Connection, outcome: Outcome, verdict: Verdict) -> None:
    who = f"{outcome.chat.platform}:{_sender(outcome.chat)}"
    run = _run_of(connection, outcome.chat)
    if run is None:
        verdict.problems.append(f"{who}: no run")
        return
    run_id, status, state = run
    stored = connection.execute(
        sa.text("SELECT item_id, value FROM answers WHERE run_id = :r"), {"r": run_id}
    ).all()
    history = Counter(
        item
        for (item,) in connection.execute(
            sa.text("SELECT item_id FROM answer_history WHERE run_id = :r"), {"r": run_id}
        )
    )
    values = {item: value for item, value in stored}
    for item, expected in outcome.answered.items():
        verdict.counts["answers checked"] += 1
        if values.get(item, "<missing>") != expected:
            verdict.problems.append(
                f"{who}: {item} stored {values.get(item)!r}, typed {expected!r}"
            )
        elif history[item] != 1:
            verdict.problems.append(f"{who}: {item} recorded {history[item]} times")
        else:
            verdict.counts["answers stored exactly once"] += 1
    _check_position(who, outcome, status, state, verdict)


def _check_position(
    who: str, outcome: Outcome, status: str, state: dict[str, Any], verdict: Verdict
) -> None:
    if outcome.finished:
        right = status == "completed"
        where = status
    else:
        right = state.get("cursor") == outcome.expected_item
        where = f"{status} at {state.get('cursor')}"
    if right:
        verdict.counts["runs at the right item"] += 1
    else:
        wanted = "completed" if outcome.finished else outcome.expected_item
        verdict.problems.append(f"{who}: run is {where}, stakeholder expects {wanted}")


# --- deliveries --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """A new message the platform shows in a chat, and when (time.monotonic) it was sent."""

    chat: str
    text: str
    t: float


def telegram_sent(fake: FakeTelegram) -> list[Sent]:
    out: list[Sent] = []
    records = [r for r in fake.sent if r.method in TELEGRAM_NEW]
    texts: dict[tuple[int, int], str] = {}
    for chat_id in {r.chat_id for r in records}:
        for message in fake.messages(chat_id):
            texts[(chat_id, message.message_id)] = message.text or ""
    for record in records:
        for message_id in record.message_ids:
            out.append(
                Sent(str(record.chat_id), texts.get((record.chat_id, message_id), ""), record.t)
            )
    return out


def slack_sent(fake: FakeSlack, channels: Iterable[str], wall_to_monotonic: float) -> list[Sent]:
    """The bot's messages in `channels` (DM ids), timed by their ts."""
    out: list[Sent] = []
    for channel in channels:
        for message in fake.messages(channel):
            if message.bot_id is None:
                continue
            when = float(message.ts) - wall_to_monotonic
            out.append(Sent(message.channel, message.visible_text, when))
    return out


def _new_message(payload: dict[str, Any]) -> bool:
    """Whether the row shows as a new text message in the chat (not an edit of one, a
    toast or ephemeral notice, or a file)."""
    return payload.get("kind") in NEW_MESSAGE_KINDS and not payload.get("refresh")


def words(text: str) -> str:
    """Lowercase letters and digits only: what survives Telegram HTML and Slack mrkdwn."""
    return " ".join(re.findall(r"[0-9a-z]+", text.lower()))


def _key_of(text: str, keys: Iterable[str]) -> str | None:
    """The longest outbox text (first line, as `words`) that `text` shows."""
    shown = words(text)
    found = [k for k in keys if k and k in shown]
    return max(found, key=len) if found else None


def deliveries(
    engine: sa.Engine,
    sent: Sequence[Sent],
    chats: dict[str, Chat],
    cutoffs: dict[str, list[float]],
    dispatcher_kills: dict[str, list[float]],
) -> Verdict:
    """`chats`: outbox address → the chat on the fake (its `address` is the fake's id);
    `cutoffs`: chat → when sends were cut off after they took effect; `dispatcher_kills`: platform →
    times its dispatcher holder was killed."""
    verdict = Verdict()
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT id, channel, address, status, payload, attempts, not_before,"
                " claimed_by, claimed_until, last_error FROM outbox ORDER BY id"
            )
        ).all()
    expected: Counter[tuple[str, str]] = Counter()
    platform_of: dict[str, str] = {}
    for row_id, channel, address, status, payload, *details in rows:
        verdict.counts[f"outbox {status}"] += 1
        if status == "pending" and payload.get("kind") in EDITS:
            verdict.counts["transcript edits still paced (pending)"] += 1
        elif status not in ("sent", "cancelled"):
            attempts, not_before, claimed_by, claimed_until, error = details
            verdict.problems.append(
                f"outbox row {row_id} ({payload.get('kind')}) for {channel}:{address} is "
                f"{status} after {attempts} attempts: not before {not_before:%H:%M:%S}, "
                f"claimed by {claimed_by} until {claimed_until}, last error {error}"
            )
        text = words((payload.get("text") or "").split("\n")[0])
        chat = chats.get(address)
        if status != "sent" or not _new_message(payload) or not text or chat is None:
            verdict.counts["outbox rows not matched to messages (edits, notices, files)"] += 1
            continue
        expected[(chat.address, text)] += 1
        platform_of[chat.address] = channel
    keys_by_chat: dict[str, set[str]] = {}
    for chat_address, text in expected:
        keys_by_chat.setdefault(chat_address, set()).add(text)
    got: dict[tuple[str, str], list[float]] = {}
    for message in sent:
        key = _key_of(message.text, keys_by_chat.get(message.chat, ()))
        if key is not None:
            got.setdefault((message.chat, key), []).append(message.t)
    _compare(expected, got, platform_of, cutoffs, dispatcher_kills, verdict)
    return verdict


def _compare(
    expected: Counter[tuple[str, str]],
    got: dict[tuple[str, str], list[float]],
    platform_of: dict[str, str],
    cutoffs: dict[str, list[float]],
    dispatcher_kills: dict[str, list[float]],
    verdict: Verdict,
) -> None:
    for (chat, text), want in sorted(expected.items()):
        times = sorted(got.get((chat, text), []))
        verdict.counts["outbox messages checked"] += want
        if len(times) < want:
            verdict.problems.append(f"{chat}: {text!r} arrived {len(times)} times of {want}")
            continue
        verdict.counts["delivered exactly once"] += want - min(len(times) - want, want)
        if len(times) > want:
            kills = dispatcher_kills.get(platform_of[chat], [])
            _explain(chat, text, want, times, cutoffs.get(chat, []), kills, verdict)


def _explain(
    chat: str,
    text: str,
    want: int,
    times: list[float],
    cutoffs: list[float],
    kills: list[float],
    verdict: Verdict,
) -> None:
    """Count the extra copies of a message by cause; an extra copy without one is a problem."""
    extra = len(times) - want
    cut = sum(any(-CUT_MATCH[0] <= c - t <= CUT_MATCH[1] for c in cutoffs) for t in times)
    by_cut = min(cut, extra)
    killed = any(times[0] - KILL_WINDOW <= k <= times[-1] for k in kills)
    by_kill = extra - by_cut if killed else 0
    if by_cut:
        verdict.counts["extra copies: send cut off mid-request"] += by_cut
    if by_cut > want:
        verdict.counts["messages cut off more than once (3+ copies)"] += 1
    if by_kill:
        verdict.counts["extra copies: dispatcher killed (-9) mid-send"] += by_kill
    shown = ", ".join(f"{x:.1f}" for x in times)
    cut_at = [round(c, 1) for c in cutoffs]
    killed_at = [round(k, 1) for k in kills]
    detail = (
        f"{chat}: {text!r} arrived {len(times)} times of {want} (at {shown}; cut-offs in the"
        f" chat at {cut_at}; dispatcher kills at {killed_at})"
    )
    if extra > by_cut + by_kill:
        verdict.problems.append(detail)
    else:
        verdict.notes.append(detail)


# --- reminders and takeovers ----------------------------------------------------------------------


def reminders(engine: sa.Engine, invitees: Sequence[Outcome]) -> Verdict:
    """Each invitation and T-1h reminder fired once: one outbox message per invitee (its
    delivery, once or twice when cut off, is checked with the others by `deliveries`)."""
    verdict = Verdict()
    with engine.connect() as connection:
        sends = connection.execute(
            sa.text("SELECT kind, status, count(*) FROM scheduled_sends GROUP BY kind, status")
        ).all()
        rsvps = connection.execute(
            sa.text("SELECT response, count(*) FROM group_invitees GROUP BY response")
        ).all()
        fired = connection.execute(
            sa.text(
                "SELECT address, payload->>'text' FROM outbox WHERE payload->>'kind'"
                " IN ('say', 'ask') AND NOT coalesce((payload->>'refresh')::boolean, false)"
            )
        ).all()
    for kind, status, n in sends:
        verdict.counts[f"scheduled {kind} {status}"] += n
    for response, n in rsvps:
        verdict.counts[f"invitees answered {response}"] += n
    for outcome in invitees:
        user_id = _sender(outcome.chat)
        texts = [text or "" for address, text in fired if address == user_id]
        received = outcome.chat.texts()
        for what, piece in (("invitation", INVITED), ("T-1h reminder", REMINDED)):
            n = sum(piece in text for text in texts)
            verdict.counts[f"{what}s fired"] += n
            verdict.counts[f"{what}s received"] += sum(piece in text for text in received)
            if n > 1:
                verdict.problems.append(f"{outcome.chat.address}: {what} fired {n} times")
    return verdict


def exits(log: ChaosLog) -> Verdict:
    """A running process that ends by itself (on a database restart, say) is a finding: its
    role is gone until someone restarts it. One that gives up while starting, because
    PostgreSQL was restarting then, is not: refusing to start is what a supervisor expects."""
    verdict = Verdict()
    restarts = [(t, t + took) for t, took in log.db_restarts]
    for gone in log.exits:
        if gone.starting and any(
            gone.started - 1 <= end and begin <= gone.t for begin, end in restarts
        ):
            verdict.counts["processes refused to start while PostgreSQL restarted"] += 1
            continue
        verdict.counts["processes that exited by themselves"] += 1
        verdict.problems.append(f"{gone.process} exited by itself ({gone.code}): {gone.last_line}")
    return verdict


def takeovers(log: ChaosLog) -> Verdict:
    verdict = Verdict()
    for kill in log.kills:
        for role, seconds in kill.takeover.items():
            verdict.counts[f"takeovers of {role}"] += 1
            if seconds is None or seconds > TAKEOVER_LIMIT:
                verdict.problems.append(
                    f"{role}: no standby took over within {TAKEOVER_LIMIT:.0f}s of killing "
                    f"{kill.process} (took {seconds})"
                )
            else:
                verdict.counts[f"slowest takeover of {role} (s)"] = max(
                    verdict.counts[f"slowest takeover of {role} (s)"], round(seconds)
                )
    return verdict
