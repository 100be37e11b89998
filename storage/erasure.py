"""A confirmed withdrawal (#7): stop everything, then erase or detach, then a receipt.

Per questionnaire (`modes`, run id → mode):

- `delete`: the run's answers, answer history, state and the messages about it are
  deleted, and so is the run; their words are taken out of stored digest quotes;
- `keep_anonymous`: the run moves to a new stakeholder with no name, organisation or
  identities, and the messages that carried its questions and answers to the person are
  deleted (they name the person's account).

Either way their pending sends are cancelled (`storage.stopping`), every message to their
accounts and every remembered message id in their chats is deleted, their RSVPs, poll
votes and invitations are removed, and their profile keeps only what lets Parley honour
the withdrawal: their accounts' ids (so nothing is sent to them again), their language
(to answer them) and the flags. The receipt (`withdrawals`) holds counts, modes and
times, nothing that leads back to the person.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, and_, delete, or_, select, update
from sqlalchemy.orm import Session

from storage.models import (
    Answer,
    AnswerChange,
    Consent,
    Digest,
    GroupInvitee,
    Identity,
    Invite,
    MessageRef,
    OutboxRow,
    PollInvitee,
    PollVote,
    Run,
    Stakeholder,
    Withdrawal,
)
from storage.stopping import addresses_of, stop, to_person

__all__ = ["ANONYMOUS", "DELETE", "KEEP_ANONYMOUS", "Erased", "withdraw", "withdrawal_by_code"]

DELETE = "delete"
KEEP_ANONYMOUS = "keep_anonymous"
ANONYMOUS = "anonymous"
"""The name of the stakeholder that detached answers are kept under."""
_SCRUBBED = "withdrawn"


@dataclass
class Erased:
    """What a withdrawal did, in numbers: the body of its receipt."""

    questionnaires: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, what: str, count: int) -> None:
        self.counts[what] = self.counts.get(what, 0) + count

    def to_dict(self) -> dict[str, Any]:
        return {"questionnaires": dict(self.questionnaires), "counts": dict(self.counts)}


def withdraw(
    session: Session,
    stakeholder_id: int,
    modes: Mapping[int, str],
    *,
    code: str,
    channel: str,
    now: datetime,
) -> Withdrawal:
    """Withdraw one person; `modes` maps each of their run ids to `delete`/`keep_anonymous`."""
    erased = Erased()
    cancelled = stop(session, stakeholder_id, now)
    erased.add("messages_cancelled", cancelled.messages)
    erased.add("scheduled_cancelled", cancelled.sends)
    runs = list(session.scalars(select(Run).where(Run.stakeholder_id == stakeholder_id)))
    texts = _their_texts(session, [r.id for r in runs if modes.get(r.id, DELETE) == DELETE])
    anonymous: Stakeholder | None = None
    for run in runs:
        mode = modes.get(run.id, DELETE)
        erased.questionnaires[run.questionnaire_key] = mode
        if mode == KEEP_ANONYMOUS:
            anonymous = anonymous or _anonymous(session, stakeholder_id, now)
            _detach(session, run, anonymous.id, erased)
        else:
            _delete_run(session, run, erased)
    _consents(session, stakeholder_id, erased, anonymous)
    _their_rows(session, stakeholder_id, erased)
    erased.add("digest_quotes", _scrub_digests(session, texts))
    _scrub_profile(session, stakeholder_id, now)
    receipt = Withdrawal(code=code, withdrawn_at=now, channel=channel, erased=erased.to_dict())
    session.add(receipt)
    session.flush()
    return receipt


def withdrawal_by_code(session: Session, code: str) -> Withdrawal | None:
    """A receipt by its code, typed with any case and with or without dashes."""
    wanted = code.strip().upper().replace("-", "")
    statement = select(Withdrawal).where(Withdrawal.code == _dashed(wanted))
    return session.scalars(statement).first()


def _dashed(symbols: str) -> str:
    body = symbols[1:] if symbols.startswith("W") else symbols
    return f"W-{body[:4]}-{body[4:]}"


def _their_texts(session: Session, run_ids: list[int]) -> list[str]:
    """Every text of the runs to be deleted (raw, shown, specified), to find in digests."""
    if not run_ids:
        return []
    texts: list[str] = []
    for table in (Answer, AnswerChange):
        statement = select(table.raw, table.display, table.other_text).where(
            table.run_id.in_(run_ids)
        )
        for values in session.execute(statement):
            texts.extend(str(v) for v in values if v)
    return texts


def _delete_run(session: Session, run: Run, erased: Erased) -> None:
    erased.add("answers", _delete(session, delete(Answer).where(Answer.run_id == run.id)))
    history = delete(AnswerChange).where(AnswerChange.run_id == run.id)
    erased.add("answer_history", _delete(session, history))
    erased.add("messages", _delete(session, delete(OutboxRow).where(OutboxRow.run_id == run.id)))
    session.delete(run)
    session.flush()
    erased.add("runs", 1)


def _detach(session: Session, run: Run, anonymous_id: int, erased: Erased) -> None:
    erased.add("messages", _delete(session, delete(OutboxRow).where(OutboxRow.run_id == run.id)))
    run.stakeholder_id = anonymous_id
    session.flush()
    erased.add("runs_detached", 1)


def _anonymous(session: Session, stakeholder_id: int, now: datetime) -> Stakeholder:
    """A stakeholder for detached answers: their language only (to read the answers by)."""
    person = session.get_one(Stakeholder, stakeholder_id)
    anonymous = Stakeholder(
        name=ANONYMOUS, language=person.language, time_zone="UTC", created_at=now
    )
    session.add(anonymous)
    session.flush()
    return anonymous


def _consents(
    session: Session, stakeholder_id: int, erased: Erased, anonymous: Stakeholder | None
) -> None:
    """Agreements behind kept answers go with them; the others are deleted."""
    mine = Consent.stakeholder_id == stakeholder_id
    kept = [k for k, mode in erased.questionnaires.items() if mode == KEEP_ANONYMOUS]
    if anonymous is not None and kept:
        moved = session.execute(
            update(Consent)
            .where(mine, Consent.questionnaire_key.in_(kept))
            .values(stakeholder_id=anonymous.id)
            .execution_options(synchronize_session=False)
        )
        erased.add("consents_detached", _rows(moved))
    erased.add("consents", _delete(session, delete(Consent).where(mine)))


def _their_rows(session: Session, stakeholder_id: int, erased: Erased) -> None:
    """Messages to their accounts, message ids in their chats, RSVPs, votes, invitations."""
    addresses = addresses_of(session, stakeholder_id)
    erased.add(
        "messages", _delete(session, delete(OutboxRow).where(to_person(session, stakeholder_id)))
    )
    if addresses:
        chats = or_(*(and_(MessageRef.channel == p, MessageRef.address == a) for p, a in addresses))
        erased.add("message_refs", _delete(session, delete(MessageRef).where(chats)))
    for what, table in (
        ("rsvps", GroupInvitee),
        ("poll_votes", PollVote),
        ("poll_invitations", PollInvitee),
        ("invitations", Invite),
    ):
        erased.add(
            what, _delete(session, delete(table).where(table.stakeholder_id == stakeholder_id))
        )


def _scrub_profile(session: Session, stakeholder_id: int, now: datetime) -> None:
    session.execute(
        update(Stakeholder)
        .where(Stakeholder.id == stakeholder_id)
        .values(
            name=_SCRUBBED,
            organisation=None,
            organisation_type=None,
            region=None,
            email=None,
            time_zone="UTC",
            withdrawn_at=now,
        )
        .execution_options(synchronize_session="fetch")
    )
    session.execute(
        update(Identity)
        .where(Identity.stakeholder_id == stakeholder_id)
        .values(display_name=None)
        .execution_options(synchronize_session="fetch")
    )


def _scrub_digests(session: Session, texts: list[str]) -> int:
    """Take quotes of their words out of stored digest summaries; how many went."""
    words = {t.strip().rstrip("…").strip() for t in texts if len(t.strip()) >= 3}
    if not words:
        return 0
    removed = 0
    for digest in session.scalars(select(Digest).where(Digest.summary.is_not(None))):
        summary, count = _without_quotes(digest.summary or {}, words)
        if count:
            digest.summary = summary
            removed += count
    session.flush()
    return removed


def _without_quotes(summary: dict[str, Any], words: set[str]) -> tuple[dict[str, Any], int]:
    removed = 0
    items = []
    for item in summary.get("items", []):
        quotes = item.get("quotes") if isinstance(item, dict) else None
        if quotes:
            kept = [q for q in quotes if not _quotes_any(str(q), words)]
            removed += len(quotes) - len(kept)
            item = {**item, "quotes": kept}
        items.append(item)
    return ({**summary, "items": items}, removed) if removed else (summary, 0)


def _quotes_any(quote: str, words: set[str]) -> bool:
    core = quote.strip().strip('“”"').rstrip("…").strip()
    return bool(core) and any(core in w or (len(w) >= 12 and w in quote) for w in words)


def _delete(session: Session, statement: Any) -> int:
    return _rows(session.execute(statement.execution_options(synchronize_session=False)))


def _rows(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)
