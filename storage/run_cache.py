"""Decoded run states kept between turns, valid only while the database agrees.

Every turn reads a run's state and writes it back. Decoding the stored JSON into a
`RunState` and encoding it again costs more than the engine's step, and between two
turns of one person nothing else usually touches the run. So the handler keeps the
state it last committed, keyed by run id and tagged with the run's `version_id`, with
its JSON text in pieces: a step changes one answer or two, and `encode_state` reuses
the text of the others.

The database stays the truth: the handler reads the run's current `version_id` in the
turn's transaction (it needs the row anyway) and uses the cached state only when the
versions match. Every save of a run moves its `version_id` on (the ORM's optimistic
lock, and `storage.turns.save_run_states`), so a state saved by another process or
another code path is never mistaken for the cached one. Entries are added only after
the transaction that wrote them committed, so a rolled-back save leaves no trace here.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from conversations.run import RunState

__all__ = ["CachedState", "EncodedState", "RunStateCache", "encode_state", "from_document"]


@dataclass(frozen=True)
class EncodedState:
    """A run state's JSON text, and the text of each of its answers."""

    text: str
    """`json.dumps(state.to_dict())`: what the database stores (SQLAlchemy's JSON type
    serialises with `json.dumps` too)."""
    members: dict[str, str]
    """Item id -> the `"item": {...}` member of the answers object, as in `text`."""


@dataclass(frozen=True)
class CachedState:
    """A run's state as committed at `version_id`, decoded and encoded."""

    run_id: int
    version_id: int
    created_at: datetime
    state: RunState
    encoded: EncodedState


class RunStateCache:
    """At most `capacity` run states, least recently used first out; safe across threads."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[int, CachedState] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, run_id: int, version_id: int, created_at: datetime) -> CachedState | None:
        """The cached state if it is the one stored at this version of this run."""
        with self._lock:
            entry = self._entries.get(run_id)
            if entry is None:
                return None
            if entry.version_id != version_id or entry.created_at != created_at:
                del self._entries[run_id]
                return None
            self._entries.move_to_end(run_id)
            return entry

    def put(self, entry: CachedState) -> None:
        """Keep a state that has been committed (never one whose transaction may roll back)."""
        with self._lock:
            self._entries[entry.run_id] = entry
            self._entries.move_to_end(entry.run_id)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def discard(self, run_id: int) -> None:
        with self._lock:
            self._entries.pop(run_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def from_document(
    run_id: int, version_id: int, created_at: datetime, document: dict[str, Any]
) -> CachedState:
    """A state as read from the database, ready to be stepped and encoded like a cached one.

    A run is read rather than found in the cache when another process handled the
    person's previous turn (several web processes behind a load balancer, #8): then every
    turn is a miss. Encoding the decoded answers again (`to_dict`, a timestamp each) was
    most of a miss's cost; their text is written from the document as read instead.
    """
    state = RunState.from_dict(document)
    stored = document.get("answers") or {}
    members = {item: f"{json.dumps(item)}: {json.dumps(stored[item])}" for item in state.answers}
    return CachedState(
        run_id, version_id, created_at, state, EncodedState(json.dumps(document), members)
    )


_NO_ANSWERS = '"answers": {}'
"""How the answers appear in the text of a state without any. Only the top-level key
can read so: inside a JSON string every quote is escaped."""


def encode_state(state: RunState, previous: CachedState | None = None) -> EncodedState:
    """The JSON text of `state.to_dict()`, reusing the text of answers `previous` holds.

    An answer a step did not touch is the very same `StoredAnswer` object as in the
    previous state, so its text is taken as it is instead of being built again.
    """
    known = previous.state.answers if previous is not None else {}
    written = previous.encoded.members if previous is not None else {}
    members: dict[str, str] = {}
    for item, answer in state.answers.items():
        member = written.get(item) if known.get(item) is answer else None
        if member is None:
            member = f"{json.dumps(item)}: {json.dumps(answer.to_dict())}"
        members[item] = member
    top = json.dumps(replace(state, answers={}).to_dict())
    if _NO_ANSWERS not in top:
        raise ValueError("a run state's dict has no answers object")  # to_dict changed
    answers = "{" + ", ".join(members.values()) + "}"
    return EncodedState(top.replace(_NO_ANSWERS, f'"answers": {answers}', 1), members)
