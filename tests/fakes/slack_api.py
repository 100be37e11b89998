"""A loopback fake of Slack, for tests that drive the real slack-bolt / slack_sdk over HTTP.

`FakeSlack` runs an aiohttp server on 127.0.0.1 (in its own thread and event loop) that is
at once:

- the Web API (`api_url`, for `WebClient(base_url=...)`): auth.test, chat.postMessage,
  chat.update, chat.postEphemeral, chat.delete, conversations.open, users.info,
  users.lookupByEmail, views.publish/open/push/update, files.getUploadURLExternal, the upload
  URL it hands out, files.completeUploadExternal and apps.connections.open. Tokens are
  checked, Block Kit limits enforced (`slack_blocks`), rate limits answered with 429 and
  `Retry-After`, and faults can be injected;
- Slack's side of the Events API and interactivity: simulated users (`fake.user(...)`) say
  things, click buttons, pick options, run slash commands, open the App Home and submit
  modals. Each action becomes an `Inbound` that the fake delivers either over HTTP to
  `request_url`, signed exactly like Slack (v0 HMAC-SHA256 of `v0:{ts}:{body}`), or as a
  Socket Mode envelope over the WebSocket that `apps.connections.open` points at, whichever
  the app uses. Every attempt is recorded with its status and ack latency; unacknowledged
  events are retried with `X-Slack-Retry-Num` / `retry_attempt` like Slack does::

    with FakeSlack() as slack:
        alice = slack.user("U123", name="alice", locale="fr-CA")
        client = WebClient(token=slack.bot_token, base_url=slack.api_url)
        slack.request_url = "http://127.0.0.1:3000/slack/events"   # or Socket Mode
        alice.say("hello").wait()                                  # acked by the app?
        message = alice.wait_for(lambda m: "Q1" in m.visible_text)
        alice.click("Yes")

Where the fake differs from Slack on purpose:

- Deliveries are made one at a time, in order (Slack makes them concurrently), so a test
  reads like a transcript. Retries are scheduled with `retry_backoff` (Slack: immediately,
  1 minute, 5 minutes) and other deliveries go ahead meanwhile.
- While the app has neither a Socket Mode connection nor a request URL, inbound traffic
  waits (Slack would count failed attempts). Set `request_url` once the app listens.
- Only bot tokens and one app token exist; there is one workspace.

Error names are Slack's (`invalid_auth`, `not_authed`, `channel_not_found`,
`not_in_channel`, `invalid_blocks`, `users_not_found`, `ratelimited`, ...). Messages marked
"approximate" are plausible where we have not seen Slack's exact words.

Sections: errors; records; rate limits; state; Web API; HTTP server; delivery; surfaces
and user actions; handles; `FakeSlack`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import hmac
import itertools
import json
import math
import mimetypes
import secrets
import socket
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

import aiohttp
from aiohttp import web

from tests.fakes.slack_blocks import (
    MAX_MESSAGE_BLOCKS,
    STATEFUL_ELEMENTS,
    all_options,
    elements,
    fill_ids,
    option_label,
    plain_text,
    validate_blocks,
    validate_view,
)

__all__ = [
    "ACK_DEADLINE",
    "DEFAULT_APP_TOKEN",
    "DEFAULT_BOT_TOKEN",
    "DEFAULT_SIGNING_SECRET",
    "ApiCall",
    "Delivery",
    "Dropped",
    "Ephemeral",
    "FakeChannel",
    "FakeSlack",
    "FakeUser",
    "Inbound",
    "RateLimits",
    "RawResponse",
    "ResponseUrlPost",
    "SlackError",
    "SlackMessage",
    "SocketConnection",
    "UploadedFile",
    "Violation",
    "sign",
]

T = TypeVar("T")

DEFAULT_BOT_TOKEN = "xoxb-1000000001-2000000002-ParleyFakeBotToken0001"
DEFAULT_APP_TOKEN = "xapp-1-A0PARLEY01-3000000003-0123456789abcdef0123456789abcdef"
DEFAULT_SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DEFAULT_VERIFICATION_TOKEN = "ParleyFakeVerificationTok"
ACK_DEADLINE = 3.0  # Slack's: ack within 3 s or it counts as a timeout
MAX_MESSAGE_TEXT = 40_000
SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"

# Methods that produce or change what users see: the default target of fault injection.
SEND_METHODS = frozenset(
    {
        *("chat.postMessage", "chat.update", "chat.postEphemeral", "chat.delete"),
        *("views.publish", "views.open", "views.push", "views.update"),
        "files.completeUploadExternal",
    }
)
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})

# Per-method limits (calls per minute, workspace-wide) from Slack's tier table.
DEFAULT_METHOD_LIMITS: Mapping[str, float] = {
    "conversations.open": 50,  # Tier 3
    "users.lookupByEmail": 50,  # Tier 3
    "chat.update": 50,  # Tier 3
    "chat.delete": 50,  # Tier 3
    "users.info": 100,  # Tier 4
    "chat.postEphemeral": 100,  # Tier 4
    "views.publish": 100,  # Tier 4
    "views.open": 100,  # Tier 4
    "views.push": 100,  # Tier 4
    "views.update": 100,  # Tier 4
    "files.getUploadURLExternal": 100,  # Tier 4
    "files.completeUploadExternal": 100,  # Tier 4
}


# --------------------------------------------------------------------------- errors


class SlackError(Exception):
    """A Web API error reply: `{"ok": false, "error": ...}`, HTTP 200 unless said otherwise."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = dict(headers or {})
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, **self.extra}


def _invalid_arguments(messages: Iterable[str]) -> SlackError:
    shown = [f"[ERROR] {m}" for m in messages]
    return SlackError("invalid_arguments", response_metadata={"messages": shown})


def _invalid_blocks(errors: list[str]) -> SlackError:
    shown = [f"[ERROR] {e}" for e in errors]
    return SlackError("invalid_blocks", errors=errors, response_metadata={"messages": shown})


def _ratelimited(retry_after: int) -> SlackError:
    return SlackError("ratelimited", status=429, headers={"Retry-After": str(retry_after)})


def _server_error(status: int) -> SlackError:
    error = {503: "service_unavailable", 500: "internal_error"}.get(status, "fatal_error")
    return SlackError(error, status=status)


def sign(secret: str, body: str | bytes, timestamp: int | str) -> str:
    """`v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`, as SignatureVerifier computes it."""
    text = body.decode() if isinstance(body, bytes) else body
    base = f"v0:{timestamp}:{text}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class ApiCall:
    """One Web API request: params as received (form strings or JSON values)."""

    t: float
    method: str
    params: dict[str, Any]
    token: str | None
    status: int
    error: str | None  # None when ok

    @property
    def ok(self) -> bool:
        return self.error is None

    def json(self, name: str) -> Any:
        """A param decoded from JSON if it came form-encoded (e.g. `blocks`, `view`)."""
        value = self.params.get(name)
        return json.loads(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class Dropped:
    """A Web API call cut off by fault injection; `after_processing`: it took effect."""

    t: float
    method: str
    channel: str | None
    after_processing: bool


@dataclass(frozen=True)
class Violation:
    """Something Slack would object to. `kind`: ratelimited, invalid_blocks, text_truncated,
    unknown_method, bad_token, ack_timeout, slow_ack, late_ack, bad_trigger, upload."""

    t: float
    kind: str
    method: str | None
    detail: str
    enforced: bool = True


@dataclass(frozen=True)
class SlackMessage:
    """A message in a channel, in its current state (after edits). `visible_text` is what a
    reader sees: the blocks' words when there are blocks, else `text`."""

    channel: str
    ts: str
    user: str
    text: str
    blocks: tuple[dict[str, Any], ...] = ()
    team: str = ""
    bot_id: str | None = None
    app_id: str | None = None
    thread_ts: str | None = None
    files: tuple[dict[str, Any], ...] = ()
    edits: int = 0
    edited_ts: str | None = None
    deleted: bool = False

    @property
    def visible_text(self) -> str:
        return plain_text(list(self.blocks)) if self.blocks else self.text

    @property
    def buttons(self) -> list[str]:
        """Labels of the message's buttons, in reading order."""
        found = elements(list(self.blocks))
        return [option_label(e) for _, e in found if e.get("type") == "button"]

    def options(self, action_id: str | None = None) -> list[str]:
        """Option labels of selects, checkboxes and radio buttons (of `action_id` if given)."""
        labels: list[str] = []
        for _, element in elements(list(self.blocks)):
            if action_id is None or element.get("action_id") == action_id:
                labels.extend(option_label(o) for o in all_options(element))
        return labels

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "message", "text": self.text, "user": self.user}
        out.update(ts=self.ts, team=self.team, blocks=copy.deepcopy(list(self.blocks)))
        if self.bot_id:
            out.update(bot_id=self.bot_id, app_id=self.app_id)
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.files:
            out.update(files=copy.deepcopy(list(self.files)), upload=False)
        if self.edited_ts:
            out["edited"] = {"user": self.user, "ts": self.edited_ts}
        return out


@dataclass(frozen=True)
class Ephemeral:
    """A message only `user` sees: chat.postEphemeral, a response_url reply or a command ack."""

    t: float
    channel: str
    user: str
    text: str
    blocks: tuple[dict[str, Any], ...]
    source: str  # "chat.postEphemeral", "response_url", "command_ack"
    ts: str

    @property
    def visible_text(self) -> str:
        return plain_text(list(self.blocks)) if self.blocks else self.text


@dataclass(frozen=True)
class UploadedFile:
    id: str
    filename: str
    length: int
    title: str | None = None
    alt_txt: str | None = None
    data: bytes | None = None  # None until the bytes are POSTed to the upload URL
    channel: str | None = None
    initial_comment: str | None = None
    thread_ts: str | None = None
    completed: bool = False

    @property
    def mimetype(self) -> str:
        return mimetypes.guess_type(self.filename)[0] or "application/octet-stream"


@dataclass(frozen=True)
class Delivery:
    """One attempt to deliver an `Inbound`. `status` is the HTTP status (200 for a Socket
    Mode ack); `elapsed` the seconds until the answer (the ack latency); `error` Slack's
    retry reason (http_timeout, http_error, connection_failed; `timeout` in Socket Mode)."""

    t: float
    inbound_id: str
    kind: str
    transport: str  # "http" or "socket"
    attempt: int  # 0 first, then X-Slack-Retry-Num
    status: int | None
    elapsed: float
    error: str | None
    response: Any  # the app's answer: parsed JSON, {"text": ...}, or None when empty

    @property
    def acked(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class ResponseUrlPost:
    t: float
    url: str
    body: dict[str, Any]
    user: str
    channel: str | None
    status: int


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class SocketConnection:
    id: int
    opened_at: float
    closed_at: float | None = None

    @property
    def open(self) -> bool:
        return self.closed_at is None


class Inbound:
    """Something Slack sends the app: an Events API callback (`events_api`), an interactive
    payload (`interactive`) or a slash command (`slash_commands`).

    `status` goes from "pending" to "acked" or "failed" (retries exhausted); `response` is
    the app's ack body. `wait()` blocks (bounded) until then.
    """

    def __init__(self, fake: FakeSlack, kind: str, payload: dict[str, Any], inbound_id: str):
        self._fake = fake
        self.id = inbound_id
        self.kind = kind
        self.payload = payload
        self.event_id: str | None = payload.get("event_id") if kind == "events_api" else None
        self.status = "pending"
        self.response: Any = None
        if kind == "events_api":
            self.body = json.dumps(payload)
            self.content_type = "application/json"
        elif kind == "interactive":
            self.body = urllib.parse.urlencode({"payload": json.dumps(payload)})
            self.content_type = "application/x-www-form-urlencoded"
        else:
            self.body = urllib.parse.urlencode(payload)
            self.content_type = "application/x-www-form-urlencoded"

    def __repr__(self) -> str:
        return f"<Inbound {self.id} {self.kind} {self.status}>"

    @property
    def acked(self) -> bool:
        return self.status == "acked"

    def attempts(self) -> list[Delivery]:
        return [d for d in self._fake.deliveries if d.inbound_id == self.id]

    def wait(self, timeout: float = 5.0) -> Delivery:
        """The final attempt once acked or given up on; TimeoutError if still pending."""
        self._fake.wait_until(lambda: self.status != "pending", timeout, f"{self!r} to settle")
        return self.attempts()[-1]


# --------------------------------------------------------------------------- rate limits


@dataclass(frozen=True)
class RateLimits:
    """chat.postMessage: about one message per second per channel, short bursts allowed
    (`post_message_burst`); other methods: calls per minute by Slack's tiers, as token
    buckets holding a minute's worth. Methods not listed are not limited."""

    post_message_per_second: float = 1.0
    post_message_burst: float = 5.0
    per_minute: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_METHOD_LIMITS))


class _Bucket:
    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate, self.capacity, self.tokens, self.stamp = rate, capacity, capacity, now

    def shortfall(self, now: float) -> float:
        """Seconds until one token is available (0 if it is now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return max(0.0, (1 - self.tokens) / self.rate)

    def take(self) -> None:
        self.tokens = max(0.0, self.tokens - 1)


class _Limiter:
    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self.buckets: dict[tuple[str, str], _Bucket] = {}

    def admit(self, method: str, scope: str, now: float, enforce: bool) -> int | None:
        """Take a token for (method, scope); on shortage return Retry-After seconds."""
        bucket = self._bucket(method, scope, now)
        if bucket is None:
            return None
        wait = bucket.shortfall(now)
        if wait == 0 or not enforce:
            bucket.take()
        return None if wait == 0 else max(1, math.ceil(wait))

    def _bucket(self, method: str, scope: str, now: float) -> _Bucket | None:
        key = (method, scope)
        if key not in self.buckets:
            limits = self.limits
            if method == "chat.postMessage":
                rate, burst = limits.post_message_per_second, limits.post_message_burst
            elif method in limits.per_minute:
                rate, burst = limits.per_minute[method] / 60, limits.per_minute[method]
            else:
                return None
            self.buckets[key] = _Bucket(rate, max(1.0, burst), now)
        return self.buckets[key]


# --------------------------------------------------------------------------- state


@dataclass
class _Person:
    id: str
    name: str
    real_name: str
    email: str | None
    locale: str
    tz: str
    tz_offset: int
    is_bot: bool
    deleted: bool


@dataclass
class _Channel:
    id: str
    kind: str  # "im", "channel", "group"
    name: str
    user: str | None = None  # the other party of an im
    members: set[str] = field(default_factory=set)
    bot_member: bool = True
    opened: bool = False  # conversations.open called (for already_open)
    messages: dict[str, SlackMessage] = field(default_factory=dict)


@dataclass
class _View:
    id: str
    user: str
    surface: str  # "home" or "modal"
    json: dict[str, Any]


@dataclass
class _Trigger:
    user: str
    issued: float
    used: bool = False


@dataclass
class _ResponseUrl:
    user: str
    channel: str | None
    message_ts: str | None
    uses: int = 0


@dataclass
class _Fault:
    remaining: int
    method: str | None  # None: SEND_METHODS; "*": any method
    error: SlackError | None
    kind: str = "fail"  # "fail", "drop" (before the call) or "drop_after" (after it)

    def matches(self, method: str) -> bool:
        if self.method is None:
            return method in SEND_METHODS
        return self.method in ("*", method)


@dataclass
class _Job:
    inbound: Inbound
    attempt: int
    due: float
    seq: int
    reason: str = ""


class _State:
    """Everything the fake knows, behind one re-entrant lock and its condition."""

    def __init__(self) -> None:
        self.cond = threading.Condition(threading.RLock())
        self.stopping = False
        self.people: dict[str, _Person] = {}
        self.channels: dict[str, _Channel] = {}
        self.dms: dict[str, str] = {}  # user id -> im channel id
        self.ephemerals: list[Ephemeral] = []
        self.views: dict[str, _View] = {}
        self.homes: dict[str, str] = {}  # user -> home view id
        self.modals: dict[str, list[str]] = {}  # user -> stack of modal view ids
        self.triggers: dict[str, _Trigger] = {}
        self.response_urls: dict[str, _ResponseUrl] = {}
        self.files: dict[str, UploadedFile] = {}
        self.tickets: set[str] = set()
        self.client_state: dict[tuple[str, str], dict[str, dict[str, dict[str, Any]]]] = {}
        self.faults: list[_Fault] = []
        self.calls: list[ApiCall] = []
        self.violations: list[Violation] = []
        self.dropped: list[Dropped] = []
        self.deliveries: list[Delivery] = []
        self.inbound: list[Inbound] = []
        self.responses: list[ResponseUrlPost] = []
        self.sockets: list[SocketConnection] = []
        self.queue: list[_Job] = []
        self.counter = itertools.count(1)
        self.last_us = 0

    def next_ts(self) -> str:
        """A Slack message ts ("1764165600.000100"), strictly increasing."""
        self.last_us = max(int(time.time() * 1_000_000), self.last_us + 100)
        return f"{self.last_us // 1_000_000}.{self.last_us % 1_000_000:06d}"

    def take_fault(self, method: str) -> _Fault | None:
        for fault in self.faults:
            if fault.remaining > 0 and fault.matches(method):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.faults.remove(fault)
                return fault
        return None

    def wait_until(self, check: Callable[[], T | None], timeout: float, what: str) -> T:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                result = check()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
                self.cond.wait(remaining)


# --------------------------------------------------------------------------- Web API


class _Params:
    """A method's parameters, whether they came as form strings, a query or JSON values."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    def __contains__(self, name: str) -> bool:
        return self.raw.get(name) is not None

    def text(self, name: str) -> str | None:
        value = self.raw.get(name)
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value) if isinstance(value, (dict, list)) else str(value)

    def flag(self, name: str) -> bool:
        return self.raw.get(name) in (True, 1, "1", "true", "True")

    def json(self, name: str, error: str = "invalid_arguments") -> Any:
        value = self.raw.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise SlackError(error) from None


class _WebApi:
    """Slack Web API methods. Each runs under the state lock and returns the reply body."""

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        self.state = fake._state
        self.limiter = _Limiter(fake.rate_limits)
        self.methods: dict[str, Callable[[_Params, str], dict[str, Any]]] = {
            "api.test": lambda p, token: {"args": dict(p.raw)},
            "auth.test": self.auth_test,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.delete": self.chat_delete,
            "conversations.open": self.conversations_open,
            "users.info": self.users_info,
            "users.lookupByEmail": self.users_lookup_by_email,
            "views.publish": self.views_publish,
            "views.open": self.views_open,
            "views.push": self.views_push,
            "views.update": self.views_update,
            "files.getUploadURLExternal": self.files_get_upload_url,
            "files.completeUploadExternal": self.files_complete_upload,
            "apps.connections.open": self.apps_connections_open,
        }

    def call(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """The call's (status, body, headers); status 0 means: close without answering."""
        state = self.state
        fault: _Fault | None = None
        with state.cond:
            try:
                self._authorize(method, token)
                fault = state.take_fault(method)
                if fault is not None and fault.kind == "drop":
                    return self._drop(method, params, token, after_processing=False)
                if fault is not None and fault.error is not None:
                    raise fault.error
                handler = self.methods.get(method)
                if handler is None:
                    self.fake._violate("unknown_method", method, f"no such method {method!r}")
                    raise SlackError("unknown_method", req_method=method)
                if method != "chat.postMessage":  # limited per channel, inside the method
                    self._admit(method, "workspace")
                status, body, headers = 200, {"ok": True, **handler(_Params(params), method)}, {}
                error = None
            except SlackError as exc:
                status, body, headers, error = exc.status, exc.body(), exc.headers, exc.error
            if fault is not None and fault.kind == "drop_after" and error is None:
                return self._drop(method, params, token, after_processing=True)
            state.calls.append(ApiCall(time.monotonic(), method, params, token, status, error))
            state.cond.notify_all()
            return status, body, headers

    def _drop(
        self, method: str, params: dict[str, Any], token: str | None, *, after_processing: bool
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Record a call whose connection is cut (after it took effect, or before)."""
        now = time.monotonic()
        channel = params.get("channel")
        self.state.dropped.append(Dropped(now, method, channel, after_processing))
        self.state.calls.append(ApiCall(now, method, params, token, 0, "dropped"))
        self.state.cond.notify_all()
        return 0, {}, {}

    # -- checks

    def _authorize(self, method: str, token: str | None) -> None:
        fake = self.fake
        if not token:
            raise SlackError("not_authed")
        wanted = fake.app_token if method in APP_TOKEN_METHODS else fake.bot_token
        if token == wanted:
            return
        if token in (fake.app_token, fake.bot_token):
            raise SlackError("not_allowed_token_type")
        fake._violate("bad_token", method, f"token {token[:10]}... is not the fake's")
        raise SlackError("invalid_auth")

    def _admit(self, method: str, scope: str) -> None:
        fake = self.fake
        retry_after = self.limiter.admit(method, scope, fake.clock(), fake.enforce_rate_limits)
        if retry_after is not None:
            detail = f"{method} over its limit for {scope}; Retry-After {retry_after}"
            fake._violate("ratelimited", method, detail, enforced=fake.enforce_rate_limits)
            if fake.enforce_rate_limits:
                raise _ratelimited(retry_after)

    def _person(self, user_id: str | None, error: str = "user_not_found") -> _Person:
        person = self.state.people.get(user_id or "")
        if person is None:
            raise SlackError(error)
        return person

    def _channel(self, ref: str | None, *, for_post: bool = False) -> _Channel:
        """A channel by id, by `#name`, or (for posts) a user id meaning the app's DM."""
        state = self.state
        ref = ref or ""
        if ref.startswith("#"):
            found = next((c for c in state.channels.values() if c.name == ref[1:]), None)
        elif for_post and ref in state.people and ref in state.dms:
            found = state.channels[state.dms[ref]]
        else:
            found = state.channels.get(ref)
        if found is None:
            raise SlackError("channel_not_found")
        if not found.bot_member:
            raise SlackError("not_in_channel")
        return found

    def _content(
        self, p: _Params, method: str, *, old: SlackMessage | None = None
    ) -> tuple[str, tuple[dict[str, Any], ...]]:
        """(text, blocks) of a post or update, validated like Slack."""
        blocks: tuple[dict[str, Any], ...] = old.blocks if old is not None else ()
        if "blocks" in p:
            raw = p.json("blocks", "invalid_blocks_format")
            if not isinstance(raw, list) or not all(isinstance(b, dict) for b in raw):
                raise SlackError("invalid_blocks_format")
            if raw:
                errors = validate_blocks(raw, limit=MAX_MESSAGE_BLOCKS)
                if errors:
                    self.fake._violate("invalid_blocks", method, "; ".join(errors))
                    raise _invalid_blocks(errors)
            raw = copy.deepcopy(raw)
            fill_ids(raw)
            blocks = tuple(raw)
        text = p.text("text")
        if text is None:
            text = old.text if old is not None else ""
        if not text and not blocks and "attachments" not in p:
            raise SlackError("no_text")
        if len(text) > MAX_MESSAGE_TEXT:
            if self.fake.long_text == "error":
                raise SlackError("msg_too_long")
            detail = f"text of {len(text)} characters truncated to {MAX_MESSAGE_TEXT}"
            self.fake._violate("text_truncated", method, detail)
            text = text[:MAX_MESSAGE_TEXT]
        return text, blocks

    # -- auth, chat

    def auth_test(self, p: _Params, method: str) -> dict[str, Any]:
        fake = self.fake
        return {
            "url": f"https://{fake.team_domain}.slack.com/",
            "team": fake.team_name,
            "user": fake.bot_name,
            "team_id": fake.team_id,
            "user_id": fake.bot_user_id,
            "bot_id": fake.bot_id,
            "is_enterprise_install": False,
        }

    def chat_post_message(self, p: _Params, method: str) -> dict[str, Any]:
        channel = self._channel(p.text("channel"), for_post=True)
        self._admit(method, channel.id)
        text, blocks = self._content(p, method)
        message = self.fake._store_message(
            channel, self.fake.bot_user_id, text, blocks, thread_ts=p.text("thread_ts")
        )
        return {"channel": channel.id, "ts": message.ts, "message": message.json()}

    def _own_message(self, p: _Params, denied: str) -> tuple[_Channel, SlackMessage]:
        channel = self._channel(p.text("channel"))
        message = channel.messages.get(p.text("ts") or "")
        if message is None or message.deleted:
            raise SlackError("message_not_found")
        if message.user != self.fake.bot_user_id:
            raise SlackError(denied)
        return channel, message

    def chat_update(self, p: _Params, method: str) -> dict[str, Any]:
        channel, old = self._own_message(p, "cant_update_message")
        text, blocks = self._content(p, method, old=old)
        new = replace(
            old, text=text, blocks=blocks, edits=old.edits + 1, edited_ts=self.state.next_ts()
        )
        channel.messages[old.ts] = new
        return {"channel": channel.id, "ts": old.ts, "text": text, "message": new.json()}

    def chat_delete(self, p: _Params, method: str) -> dict[str, Any]:
        channel, old = self._own_message(p, "cant_delete_message")
        channel.messages[old.ts] = replace(old, deleted=True)
        return {"channel": channel.id, "ts": old.ts}

    def chat_post_ephemeral(self, p: _Params, method: str) -> dict[str, Any]:
        channel = self._channel(p.text("channel"), for_post=True)
        person = self._person(p.text("user"))
        if person.id != channel.user and person.id not in channel.members:
            raise SlackError("user_not_in_channel")
        text, blocks = self._content(p, method)
        ts = self.fake._add_ephemeral(channel.id, person.id, text, blocks, "chat.postEphemeral")
        return {"message_ts": ts}

    # -- conversations, users

    def conversations_open(self, p: _Params, method: str) -> dict[str, Any]:
        users = [u for u in (p.text("users") or "").split(",") if u]
        if not users:
            raise SlackError("users_list_not_supplied")
        if len(users) > 1:
            raise SlackError("not_supported")  # the fake has no group DMs (approximate)
        person = self._person(users[0])
        channel = self.state.channels[self.fake._dm(person.id)]
        already = channel.opened
        channel.opened = True
        out: dict[str, Any] = {"channel": {"id": channel.id}}
        if p.flag("return_im"):
            out["channel"].update(is_im=True, user=person.id, is_open=True, created=0)
        if already:
            out.update(no_op=True, already_open=True)
        return out

    def users_info(self, p: _Params, method: str) -> dict[str, Any]:
        person = self._person(p.text("user"))
        return {"user": self.fake._user_json(person, include_locale=p.flag("include_locale"))}

    def users_lookup_by_email(self, p: _Params, method: str) -> dict[str, Any]:
        email = (p.text("email") or "").lower()
        for person in self.state.people.values():
            if person.email and person.email.lower() == email:
                return {"user": self.fake._user_json(person, include_locale=False)}
        raise SlackError("users_not_found")

    # -- views

    def _view_input(self, p: _Params, kind: str) -> dict[str, Any]:
        view = p.json("view")
        errors = validate_view(view, kind=kind)
        if errors:
            self.fake._violate("invalid_blocks", f"view ({kind})", "; ".join(errors))
            raise _invalid_arguments(errors)
        return dict(view)

    def _trigger(self, p: _Params) -> _Trigger:
        trigger = self.state.triggers.get(p.text("trigger_id") or "")
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        problem = None
        if trigger.used:
            problem = "trigger_exchanged"
        elif time.monotonic() - trigger.issued > self.fake.trigger_ttl:
            problem = "expired_trigger_id"
        if problem:
            self.fake._violate("bad_trigger", "views", f"{problem}: {p.text('trigger_id')}")
            raise SlackError(problem)
        trigger.used = True
        return trigger

    def views_publish(self, p: _Params, method: str) -> dict[str, Any]:
        person = self._person(p.text("user_id"))
        raw = self._view_input(p, "home")
        home_id = self.state.homes.get(person.id)
        if home_id and "hash" in p and p.text("hash") != self.state.views[home_id].json["hash"]:
            raise SlackError("hash_conflict")
        view = self.fake._put_view(person.id, "home", raw, view_id=home_id)
        self.state.homes[person.id] = view.id
        return {"view": copy.deepcopy(view.json)}

    def views_open(self, p: _Params, method: str) -> dict[str, Any]:
        trigger = self._trigger(p)
        raw = self._view_input(p, "modal")
        view = self.fake._put_view(trigger.user, "modal", raw)
        self.state.modals[trigger.user] = [view.id]
        return {"view": copy.deepcopy(view.json)}

    def views_push(self, p: _Params, method: str) -> dict[str, Any]:
        trigger = self._trigger(p)
        stack = self.state.modals.get(trigger.user) or []
        if not stack:
            raise SlackError("not_found")  # approximate: nothing to push onto
        if len(stack) >= 3:
            raise SlackError("push_limit_reached")
        raw = self._view_input(p, "modal")
        view = self.fake._put_view(trigger.user, "modal", raw, root=stack[0], previous=stack[-1])
        stack.append(view.id)
        return {"view": copy.deepcopy(view.json)}

    def views_update(self, p: _Params, method: str) -> dict[str, Any]:
        view_id, external_id = p.text("view_id"), p.text("external_id")
        found = next(
            (
                v
                for v in self.state.views.values()
                if v.id == view_id or (external_id and v.json.get("external_id") == external_id)
            ),
            None,
        )
        if found is None:
            raise SlackError("not_found")
        if "hash" in p and p.text("hash") != found.json["hash"]:
            raise SlackError("hash_conflict")
        raw = self._view_input(p, found.surface)
        json_ = found.json
        view = self.fake._put_view(
            found.user,
            found.surface,
            raw,
            view_id=found.id,
            root=json_["root_view_id"],
            previous=json_["previous_view_id"],
        )
        return {"view": copy.deepcopy(view.json)}

    # -- files

    def files_get_upload_url(self, p: _Params, method: str) -> dict[str, Any]:
        filename, length = p.text("filename"), p.text("length")
        if not filename or not length or not length.isdigit():
            raise _invalid_arguments(["missing required field: filename or length"])
        file_id = f"F{next(self.state.counter):09d}"
        self.state.files[file_id] = UploadedFile(
            id=file_id, filename=filename, length=int(length), alt_txt=p.text("alt_txt")
        )
        url = f"{self.fake.root_url}/upload/v1/{file_id}?k={secrets.token_hex(8)}"
        return {"upload_url": url, "file_id": file_id}

    def files_complete_upload(self, p: _Params, method: str) -> dict[str, Any]:
        items = p.json("files")
        if not isinstance(items, list) or not items:
            raise _invalid_arguments(["missing required field: files"])
        target = p.text("channel_id") or (p.text("channels") or "").split(",")[0] or None
        channel = self._channel(target) if target else None
        done: list[UploadedFile] = []
        for item in items:
            uploaded = self.state.files.get(item.get("id", "") if isinstance(item, dict) else "")
            if uploaded is None:
                raise SlackError("file_not_found")
            if uploaded.data is None:
                self.fake._violate("upload", method, f"{uploaded.id} completed before upload")
                raise SlackError("file_not_found")  # approximate: Slack has no bytes for it
            done.append(
                replace(
                    uploaded,
                    title=item.get("title") or uploaded.filename,
                    channel=channel.id if channel else None,
                    initial_comment=p.text("initial_comment"),
                    thread_ts=p.text("thread_ts"),
                    completed=True,
                )
            )
        for uploaded in done:
            self.state.files[uploaded.id] = uploaded
        files = [self.fake._file_json(f) for f in done]
        if channel is not None:
            self.fake._store_message(
                channel,
                self.fake.bot_user_id,
                p.text("initial_comment") or "",
                (),
                thread_ts=p.text("thread_ts"),
                files=tuple(files),
            )
        return {"files": files}

    # -- Socket Mode

    def apps_connections_open(self, p: _Params, method: str) -> dict[str, Any]:
        ticket = secrets.token_hex(16)
        self.state.tickets.add(ticket)
        port = self.fake.port
        return {"url": f"ws://127.0.0.1:{port}/link/?ticket={ticket}&app_id={self.fake.app_id}"}


# --------------------------------------------------------------------------- HTTP server


async def _read_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.method != "POST" or not request.can_read_body:
        return params
    if request.content_type == "application/json":
        try:
            data = await request.json()
        except ValueError:
            raise SlackError("invalid_json") from None
        if isinstance(data, dict):
            params.update(data)
    else:
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


class _Server:
    """The aiohttp application: Web API, upload URLs, response URLs and the WebSocket."""

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        self.sockets: dict[int, web.WebSocketResponse] = {}
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.app.router.add_route("*", "/api/{method}", self.api)
        self.app.router.add_post("/upload/v1/{file_id}", self.upload)
        self.app.router.add_get("/files/{file_id}", self.download)
        self.app.router.add_post("/respond/{key}", self.respond)
        self.app.router.add_get("/link/", self.link)

    async def api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            params = await _read_params(request)
        except SlackError as exc:
            return web.json_response(exc.body(), status=exc.status)
        header = request.headers.get("Authorization", "")
        token = params.pop("token", None)
        if header.startswith("Bearer "):
            token = header[len("Bearer ") :]
        status, body, headers = self.fake._api.call(method, params, token)
        if status == 0:  # an injected drop: the client sees the connection close
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)  # never written: the transport is gone
        return web.json_response(body, status=status, headers=headers)

    async def upload(self, request: web.Request) -> web.Response:
        data = await request.read()
        return self.fake._receive_upload(request.match_info["file_id"], data)

    async def download(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        if header != f"Bearer {self.fake.bot_token}":
            return web.Response(status=403)
        with self.fake._state.cond:
            found = self.fake._state.files.get(request.match_info["file_id"])
        if found is None or found.data is None:
            return web.Response(status=404)
        return web.Response(body=found.data, content_type=found.mimetype)

    async def respond(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        status, text = self.fake._respond(request.match_info["key"], str(request.url), body)
        return web.Response(status=status, text=text)

    async def link(self, request: web.Request) -> web.StreamResponse:
        state = self.fake._state
        ticket = request.query.get("ticket", "")
        with state.cond:
            valid = ticket in state.tickets
            state.tickets.discard(ticket)
        if not valid:
            return web.Response(status=401, text="invalid ticket")  # approximate
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn_id = self.fake._socket_opened()
        self.sockets[conn_id] = ws
        try:
            await ws.send_str(json.dumps(self.fake._hello()))
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    self.fake._sender.on_socket_message(message.data)
        finally:
            self.sockets.pop(conn_id, None)
            self.fake._socket_closed(conn_id)
        return ws

    def newest_socket(self) -> web.WebSocketResponse | None:
        open_ = [ws for ws in self.sockets.values() if not ws.closed]
        return open_[-1] if open_ else None


# --------------------------------------------------------------------------- delivery


class _Sender:
    """Delivers inbound traffic one at a time, over the socket if the app has one open,
    else over HTTP; schedules Slack's retries for unacknowledged events."""

    def __init__(self, fake: FakeSlack, server: _Server) -> None:
        self.fake = fake
        self.state = fake._state
        self.server = server
        self.wake = asyncio.Event()
        self.acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.session: aiohttp.ClientSession | None = None
        self.seq = itertools.count()

    def enqueue(self, inbound: Inbound, attempt: int = 0, reason: str = "") -> None:
        with self.state.cond:
            job = _Job(inbound, attempt, time.monotonic(), next(self.seq), reason)
            self.state.queue.append(job)
            self.state.cond.notify_all()

    async def run(self) -> None:
        self.session = aiohttp.ClientSession()
        try:
            while True:
                job, transport, url, wait = self._next()
                if job is None:
                    self.wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.wake.wait(), timeout=wait)
                    continue
                await self._attempt(job, transport, url)
        finally:
            await self.session.close()

    def _next(self) -> tuple[_Job | None, str, str | None, float]:
        with self.state.cond:
            now = time.monotonic()
            queue = self.state.queue
            if not queue:
                return None, "", None, 1.0
            job = min(queue, key=lambda j: (j.due, j.seq))
            if job.due > now:
                return None, "", None, min(1.0, job.due - now)
            if self.server.newest_socket() is not None:
                queue.remove(job)
                return job, "socket", None, 0.0
            url = self.fake._url_for(job.inbound.kind)
            if url is None:
                return None, "", None, 1.0
            queue.remove(job)
            return job, "http", url, 0.0

    async def _attempt(self, job: _Job, transport: str, url: str | None) -> None:
        started = time.monotonic()
        if transport == "socket":
            status, error, response, no_retry = await self._via_socket(job)
        else:
            assert url is not None
            status, error, response, no_retry = await self._via_http(job, url)
        elapsed = time.monotonic() - started
        inbound = job.inbound
        delivery = Delivery(
            t=started,
            inbound_id=inbound.id,
            kind=inbound.kind,
            transport=transport,
            attempt=job.attempt,
            status=status,
            elapsed=elapsed,
            error=error,
            response=response,
        )
        fake = self.fake
        with self.state.cond:
            self.state.deliveries.append(delivery)
            if error is None:
                if elapsed > ACK_DEADLINE:
                    detail = f"{inbound.id} acked in {elapsed:.2f}s"
                    fake._violate("slow_ack", inbound.kind, detail)
                inbound.status, inbound.response = "acked", response
                fake._after_ack(inbound, response)
            else:
                if error in ("http_timeout", "timeout"):
                    detail = f"{inbound.id} not acked within {fake.ack_timeout}s"
                    fake._violate("ack_timeout", inbound.kind, detail)
                if self._retries(job, no_retry):
                    backoff = fake.retry_backoff[min(job.attempt, len(fake.retry_backoff) - 1)]
                    due = time.monotonic() + backoff
                    retry = _Job(inbound, job.attempt + 1, due, next(self.seq), error)
                    self.state.queue.append(retry)
                else:
                    inbound.status = "failed"
            self.state.cond.notify_all()

    def _retries(self, job: _Job, no_retry: bool) -> bool:
        """Slack retries Events API deliveries only, up to max_retries, unless told not to."""
        kind_retried = job.inbound.kind == "events_api"
        return kind_retried and job.attempt < self.fake.max_retries and not no_retry

    def _signed_headers(self, body: str) -> dict[str, str]:
        timestamp = int(time.time())
        return {
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": sign(self.fake.signing_secret, body, timestamp),
        }

    async def _via_http(self, job: _Job, url: str) -> tuple[int | None, str | None, Any, bool]:
        inbound = job.inbound
        headers = {
            "Content-Type": inbound.content_type,
            "User-Agent": SLACK_USER_AGENT,
            **self._signed_headers(inbound.body),
        }
        if job.attempt > 0:
            headers["X-Slack-Retry-Num"] = str(job.attempt)
            headers["X-Slack-Retry-Reason"] = job.reason or "http_timeout"
        assert self.session is not None
        try:
            async with self.session.post(
                url,
                data=inbound.body.encode(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.fake.ack_timeout),
                allow_redirects=False,
            ) as resp:
                text = await resp.text()
                no_retry = resp.headers.get("X-Slack-No-Retry") == "1"
                if resp.status != 200:
                    return resp.status, "http_error", text, no_retry
                return 200, None, _parse_answer(text, resp.content_type), no_retry
        except TimeoutError:
            return None, "http_timeout", None, False
        except aiohttp.ClientError:
            return None, "connection_failed", None, False

    async def _via_socket(self, job: _Job) -> tuple[int | None, str | None, Any, bool]:
        inbound = job.inbound
        ws = self.server.newest_socket()
        if ws is None:
            return None, "connection_failed", None, False
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": inbound.kind,
            "payload": inbound.payload,
            "accepts_response_payload": inbound.kind != "events_api",
        }
        if inbound.kind == "events_api":
            envelope.update(retry_attempt=job.attempt, retry_reason=job.reason)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.acks[envelope_id] = future
        try:
            await ws.send_str(json.dumps(envelope))
            ack = await asyncio.wait_for(future, timeout=self.fake.ack_timeout)
        except TimeoutError:
            return None, "timeout", None, False
        except (ConnectionError, RuntimeError):
            return None, "connection_failed", None, False
        finally:
            self.acks.pop(envelope_id, None)
        return 200, None, ack.get("payload"), False

    def on_socket_message(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            return
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        future = self.acks.get(envelope_id or "")
        if future is not None and not future.done():
            future.set_result(message)
        elif envelope_id:
            self.fake._violate("late_ack", "socket", f"ack for unknown envelope {envelope_id}")

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> RawResponse:
        assert self.session is not None
        timeout = aiohttp.ClientTimeout(total=self.fake.ack_timeout + 2)
        async with self.session.post(url, data=body, headers=dict(headers), timeout=timeout) as r:
            return RawResponse(r.status, dict(r.headers), await r.text())


def _parse_answer(text: str, content_type: str) -> Any:
    if not text:
        return None
    if content_type == "application/json" or text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return {"text": text}


# --------------------------------------------------------------------------- surfaces

_STATE_FIELDS = {
    "static_select": "selected_option",
    "external_select": "selected_option",
    "radio_buttons": "selected_option",
    "multi_static_select": "selected_options",
    "multi_external_select": "selected_options",
    "checkboxes": "selected_options",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
}
Surface = Literal["message", "home", "modal"]


@dataclass
class _Surface:
    """Where a user acts: a bot message in a channel, the Home tab or the top modal."""

    key: str
    blocks: list[dict[str, Any]]
    container: dict[str, Any]
    message: SlackMessage | None = None
    view: _View | None = None


def _initial_state(element: dict[str, Any]) -> dict[str, Any]:
    kind = element["type"]
    name = _STATE_FIELDS.get(kind, "value")
    initial = element.get("initial_" + name.removeprefix("selected_"))
    if initial is None and name == "selected_options":
        initial = []
    return {"type": kind, name: copy.deepcopy(initial)}


def _find_option(element: dict[str, Any], label: str) -> dict[str, Any] | None:
    options = all_options(element)
    found = next((o for o in options if option_label(o) == label), None)
    return found or next((o for o in options if o.get("value") == label), None)


# --------------------------------------------------------------------------- handles


class FakeChannel:
    """A channel (public, private or a user's DM with the app) and what was posted in it."""

    def __init__(self, fake: FakeSlack, channel_id: str) -> None:
        self._fake = fake
        self.channel_id = channel_id

    def messages(self, *, include_users: bool = False) -> list[SlackMessage]:
        """Bot messages in the channel, oldest first, in their current state (deleted ones
        left out); with `include_users`, users' messages too."""
        return self._fake.messages(self.channel_id, include_users=include_users)

    def last_message(self) -> SlackMessage | None:
        messages = self.messages()
        return messages[-1] if messages else None

    def wait_for(
        self, predicate: Callable[[SlackMessage], bool], timeout: float = 2.0
    ) -> SlackMessage:
        """The first bot message here matching `predicate`, waiting up to `timeout`."""
        return self._fake.wait_for_message(self.channel_id, predicate, timeout)

    def wait_for_text(self, needle: str, timeout: float = 2.0) -> SlackMessage:
        return self.wait_for(lambda m: needle in m.visible_text or needle in m.text, timeout)


class FakeUser(FakeChannel):
    """A workspace member (`id` "U…"); the handle's channel is their DM with the app."""

    def __init__(self, fake: FakeSlack, person: _Person, dm_id: str) -> None:
        super().__init__(fake, dm_id)
        self.id = person.id
        self.name = person.name

    def dm(self) -> str:
        """The id of the user's DM with the app (the one conversations.open returns)."""
        return self.channel_id

    def json(self) -> dict[str, Any]:
        return self._fake._actor(self.id)

    def say(
        self, text: str, *, channel: str | None = None, thread_ts: str | None = None
    ) -> Inbound:
        """Post `text` (in the DM unless `channel`): a `message` event."""
        return self._fake._say(self.id, channel or self.channel_id, text, thread_ts)

    def click(
        self,
        label: str,
        *,
        value: str | None = None,
        ts: str | None = None,
        surface: Surface = "message",
    ) -> Inbound:
        """Click the button labelled (or with action_id) `label` on the newest bot message
        in the DM that has one (or the message `ts`, the Home tab, the top modal)."""
        return self._fake._click(self.id, label, value, ts, surface)

    def select(
        self,
        option: str,
        *,
        action_id: str | None = None,
        ts: str | None = None,
        surface: Surface = "message",
    ) -> Inbound:
        """Pick `option` (label or value) in a static select, radio buttons or overflow."""
        return self._fake._select(self.id, option, action_id, ts, surface)

    def check(
        self,
        labels: Sequence[str],
        *,
        action_id: str | None = None,
        ts: str | None = None,
        surface: Surface = "message",
    ) -> Inbound:
        """Set the ticked boxes of checkboxes (or a multi-select) to exactly `labels`."""
        return self._fake._check(self.id, labels, action_id, ts, surface)

    def command(self, command: str, text: str = "", *, channel: str | None = None) -> Inbound:
        """Run a slash command (in the DM unless `channel`)."""
        return self._fake._command(self.id, channel or self.channel_id, command, text)

    def open_home(self, tab: str = "home") -> Inbound:
        """Open the app's Home (or "messages") tab: an `app_home_opened` event."""
        return self._fake._open_home(self.id, tab)

    def submit_view(
        self, values: Mapping[str, Any] | None = None, *, view_id: str | None = None
    ) -> Inbound:
        """Submit the top modal. `values` maps an input's action_id, block_id or label to
        text, an option label, or a list of labels for checkboxes and multi-selects."""
        return self._fake._submit_view(self.id, dict(values or {}), view_id)

    def close_view(self) -> Inbound | None:
        """Close the top modal: `view_closed` if it asked to be told (notify_on_close)."""
        return self._fake._close_view(self.id)

    def ephemerals(self) -> list[Ephemeral]:
        with self._fake._state.cond:
            return [e for e in self._fake._state.ephemerals if e.user == self.id]

    def home(self) -> dict[str, Any] | None:
        """The published Home tab view, or None."""
        return self._fake._home(self.id)

    def modal(self) -> dict[str, Any] | None:
        """The modal on top of the user's stack, or None."""
        return self._fake._modal(self.id)

    def wait_for_ephemeral(
        self, predicate: Callable[[Ephemeral], bool], timeout: float = 2.0
    ) -> Ephemeral:
        def check() -> Ephemeral | None:
            return next((e for e in self.ephemerals() if predicate(e)), None)

        return self._fake.wait_until(check, timeout, f"an ephemeral for {self.id}")


# --------------------------------------------------------------------------- the fake


class FakeSlack:
    """A loopback Slack. Use as a context manager, or `start()` and `stop()`.

    Args:
        bot_token, app_token, signing_secret, verification_token: the app's credentials.
        team_id, team_domain, team_name, bot_user_id, bot_id, bot_name, app_id: identity.
        request_url: where HTTP deliveries go (settable later, e.g. once the app listens);
            `interactivity_url` and `commands_url` override it for those payloads.
        ack_timeout: seconds the app has to ack before the attempt counts as failed (Slack:
            3). Acks slower than 3 s are recorded as `slow_ack` violations regardless.
        max_retries, retry_backoff: Events API retries after a failed attempt, and the
            delays before retry 1, 2, 3 (Slack: immediately, 1 min, 5 min).
        rate_limits, enforce_rate_limits: limits answered with 429 + Retry-After; when not
            enforced, calls still succeed and `violations` records them.
        trigger_ttl: seconds a trigger_id stays valid for views.open/push (Slack: 3).
        long_text: "truncate" (Slack's behaviour beyond 40,000 characters, recorded as a
            violation) or "error" (answer msg_too_long).
        clock: time source for rate limits.
    """

    def __init__(
        self,
        *,
        bot_token: str = DEFAULT_BOT_TOKEN,
        app_token: str = DEFAULT_APP_TOKEN,
        signing_secret: str = DEFAULT_SIGNING_SECRET,
        verification_token: str = DEFAULT_VERIFICATION_TOKEN,
        team_id: str = "T0PARLEY01",
        team_domain: str = "parley-test",
        team_name: str = "Parley Test",
        bot_user_id: str = "U0PARLEYBOT",
        bot_id: str = "B0PARLEY01",
        bot_name: str = "parley",
        app_id: str = "A0PARLEY01",
        request_url: str | None = None,
        interactivity_url: str | None = None,
        commands_url: str | None = None,
        ack_timeout: float = ACK_DEADLINE,
        max_retries: int = 3,
        retry_backoff: Sequence[float] = (0.05, 0.2, 0.5),
        rate_limits: RateLimits | None = None,
        enforce_rate_limits: bool = True,
        trigger_ttl: float = 3.0,
        long_text: Literal["truncate", "error"] = "truncate",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.signing_secret = signing_secret
        self.verification_token = verification_token
        self.team_id, self.team_domain, self.team_name = team_id, team_domain, team_name
        self.bot_user_id, self.bot_id, self.bot_name = bot_user_id, bot_id, bot_name
        self.app_id = app_id
        self._urls = {"events_api": request_url, "interactive": interactivity_url}
        self._urls["slash_commands"] = commands_url
        self.ack_timeout = ack_timeout
        self.max_retries = max_retries
        self.retry_backoff = tuple(retry_backoff) or (0.0,)
        self.rate_limits = rate_limits or RateLimits()
        self.enforce_rate_limits = enforce_rate_limits
        self.trigger_ttl = trigger_ttl
        self.long_text = long_text
        self.clock = clock
        self._state = _State()
        self._api = _WebApi(self)
        self._users: dict[str, FakeUser] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._server = _Server(self)
        self._sender = _Sender(self, self._server)
        self._people_add(bot_user_id, bot_name, bot_name, None, "en-US", is_bot=True)

    # -- lifecycle

    def start(self) -> FakeSlack:
        if self._thread is not None:
            return self
        self._state.stopping = False
        self._server = _Server(self)
        self._sender = _Sender(self, self._server)
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._serve, args=(ready, failure), name="fake-slack", daemon=True
        )
        self._thread.start()
        if not ready.wait(10) or failure:
            raise RuntimeError(f"FakeSlack did not start: {failure}")
        return self

    def _serve(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        runner = web.AppRunner(self._server.app, access_log=None, shutdown_timeout=1.0)
        try:
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.SockSite(runner, sock).start())
            self._sender.wake = asyncio.Event()
            sender = loop.create_task(self._sender.run())
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            return
        ready.set()
        loop.run_forever()
        sender.cancel()
        loop.run_until_complete(asyncio.gather(sender, return_exceptions=True))
        for ws in list(self._server.sockets.values()):
            loop.run_until_complete(ws.close())
        loop.run_until_complete(runner.cleanup())
        leftovers = asyncio.all_tasks(loop)
        for task in leftovers:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
        loop.close()

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        with self._state.cond:
            self._state.stopping = True
            self._state.cond.notify_all()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None
        self._loop = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeSlack is not started")
        return self._port

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """For `WebClient(base_url=...)`: ends with "/" since slack_sdk uses urljoin."""
        return f"{self.root_url}/api/"

    @property
    def request_url(self) -> str | None:
        return self._urls["events_api"]

    @request_url.setter
    def request_url(self, url: str | None) -> None:
        self._set_url("events_api", url)

    @property
    def interactivity_url(self) -> str | None:
        return self._urls["interactive"]

    @interactivity_url.setter
    def interactivity_url(self, url: str | None) -> None:
        self._set_url("interactive", url)

    @property
    def commands_url(self) -> str | None:
        return self._urls["slash_commands"]

    @commands_url.setter
    def commands_url(self, url: str | None) -> None:
        self._set_url("slash_commands", url)

    def _set_url(self, kind: str, url: str | None) -> None:
        with self._state.cond:
            self._urls[kind] = url
        self._wake()

    def _url_for(self, kind: str) -> str | None:
        return self._urls.get(kind) or self._urls["events_api"]

    def _wake(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._sender.wake.set)

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        if self._loop is None:
            raise RuntimeError("FakeSlack is not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # -- people and channels

    def _people_add(
        self,
        user_id: str,
        name: str,
        real_name: str,
        email: str | None,
        locale: str,
        *,
        tz: str = "America/Toronto",
        tz_offset: int = -18000,
        is_bot: bool = False,
        deleted: bool = False,
    ) -> _Person:
        person = _Person(user_id, name, real_name, email, locale, tz, tz_offset, is_bot, deleted)
        self._state.people[user_id] = person
        return person

    def user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        real_name: str | None = None,
        email: str | None = None,
        locale: str = "en-US",
        tz: str = "America/Toronto",
        tz_offset: int = -18000,
        is_bot: bool = False,
        deleted: bool = False,
    ) -> FakeUser:
        """A workspace member with a DM open with the app; same id, same handle."""
        with self._state.cond:
            if user_id in self._users:
                return self._users[user_id]
            name = name or user_id.lower()
            person = self._people_add(
                user_id,
                name,
                real_name or name,
                email,
                locale,
                tz=tz,
                tz_offset=tz_offset,
                is_bot=is_bot,
                deleted=deleted,
            )
            self._users[user_id] = FakeUser(self, person, self._dm(user_id))
            return self._users[user_id]

    def _dm(self, user_id: str) -> str:
        state = self._state
        if user_id not in state.dms:
            channel_id = f"D{next(state.counter):09d}"
            state.channels[channel_id] = _Channel(channel_id, "im", user_id, user=user_id)
            state.dms[user_id] = channel_id
        return state.dms[user_id]

    def channel(
        self,
        channel_id: str,
        name: str,
        *,
        members: Iterable[FakeUser | str] = (),
        bot_member: bool = True,
        private: bool = False,
    ) -> FakeChannel:
        """A public (C…) or private (G…) channel; without `bot_member`, posts get
        not_in_channel."""
        ids = {m.id if isinstance(m, FakeUser) else m for m in members}
        with self._state.cond:
            kind = "group" if private else "channel"
            self._state.channels[channel_id] = _Channel(
                channel_id, kind, name, members=ids, bot_member=bot_member
            )
        return FakeChannel(self, channel_id)

    def _user_json(self, person: _Person, *, include_locale: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": person.id,
            "team_id": self.team_id,
            "name": person.name,
            "deleted": person.deleted,
            "real_name": person.real_name,
            "tz": person.tz,
            "tz_label": person.tz,
            "tz_offset": person.tz_offset,
            "is_admin": False,
            "is_owner": False,
            "is_bot": person.is_bot,
            "is_app_user": False,
            "updated": 1700000000,
            "profile": {
                "real_name": person.real_name,
                "display_name": person.name,
                "real_name_normalized": person.real_name,
                "display_name_normalized": person.name,
                "team": self.team_id,
                **({"email": person.email} if person.email else {}),
            },
        }
        if include_locale:
            out["locale"] = person.locale
        return out

    def _actor(self, user_id: str) -> dict[str, Any]:
        person = self._state.people[user_id]
        return {
            "id": user_id,
            "username": person.name,
            "name": person.name,
            "team_id": self.team_id,
        }

    # -- stored content

    def _store_message(
        self,
        channel: _Channel,
        user: str,
        text: str,
        blocks: tuple[dict[str, Any], ...],
        *,
        thread_ts: str | None = None,
        files: tuple[dict[str, Any], ...] = (),
    ) -> SlackMessage:
        is_bot = user == self.bot_user_id
        message = SlackMessage(
            channel=channel.id,
            ts=self._state.next_ts(),
            user=user,
            text=text,
            blocks=blocks,
            team=self.team_id,
            bot_id=self.bot_id if is_bot else None,
            app_id=self.app_id if is_bot else None,
            thread_ts=thread_ts,
            files=files,
        )
        channel.messages[message.ts] = message
        self._state.cond.notify_all()
        return message

    def _add_ephemeral(
        self,
        channel: str,
        user: str,
        text: str,
        blocks: Sequence[dict[str, Any]],
        source: str,
    ) -> str:
        with self._state.cond:
            ts = self._state.next_ts()
            ephemeral = Ephemeral(time.monotonic(), channel, user, text, tuple(blocks), source, ts)
            self._state.ephemerals.append(ephemeral)
            self._state.cond.notify_all()
            return ts

    def _put_view(
        self,
        user: str,
        surface: str,
        raw: dict[str, Any],
        *,
        view_id: str | None = None,
        root: str | None = None,
        previous: str | None = None,
    ) -> _View:
        state = self._state
        view_id = view_id or f"V{next(state.counter):09d}"
        blocks = copy.deepcopy(raw.get("blocks") or [])
        fill_ids(blocks)
        view = _View(
            view_id,
            user,
            surface,
            {
                "id": view_id,
                "team_id": self.team_id,
                "type": raw.get("type"),
                "blocks": blocks,
                "private_metadata": raw.get("private_metadata", ""),
                "callback_id": raw.get("callback_id", ""),
                "state": {"values": {}},
                "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
                "title": raw.get("title"),
                "clear_on_close": bool(raw.get("clear_on_close")),
                "notify_on_close": bool(raw.get("notify_on_close")),
                "close": raw.get("close"),
                "submit": raw.get("submit"),
                "previous_view_id": previous,
                "root_view_id": root or view_id,
                "app_id": self.app_id,
                "external_id": raw.get("external_id", ""),
                "app_installed_team_id": self.team_id,
                "bot_id": self.bot_id,
            },
        )
        state.views[view_id] = view
        state.client_state.pop((f"view:{view_id}", user), None)
        state.cond.notify_all()
        return view

    def _file_json(self, uploaded: UploadedFile) -> dict[str, Any]:
        return {
            "id": uploaded.id,
            "created": int(time.time()),
            "timestamp": int(time.time()),
            "name": uploaded.filename,
            "title": uploaded.title or uploaded.filename,
            "mimetype": uploaded.mimetype,
            "filetype": uploaded.filename.rsplit(".", 1)[-1] if "." in uploaded.filename else "",
            "user": self.bot_user_id,
            "size": len(uploaded.data or b""),
            "url_private": f"{self.root_url}/files/{uploaded.id}",
            "permalink": f"https://{self.team_domain}.slack.com/files/{uploaded.id}",
            "alt_txt": uploaded.alt_txt,
            "is_external": False,
        }

    def _receive_upload(self, file_id: str, data: bytes) -> web.Response:
        with self._state.cond:
            uploaded = self._state.files.get(file_id)
            if uploaded is None:
                return web.Response(status=404, text="file_not_found")  # approximate
            if len(data) != uploaded.length:
                detail = f"{file_id}: {len(data)} bytes sent, {uploaded.length} announced"
                self._violate("upload", "upload", detail)
            self._state.files[file_id] = replace(uploaded, data=data)
            self._state.cond.notify_all()
        return web.Response(text=f"OK - {len(data)}")

    def _respond(self, key: str, url: str, body: dict[str, Any]) -> tuple[int, str]:
        """A POST to a response_url: replace, delete, or add (ephemeral by default)."""
        state = self._state
        with state.cond:
            target = state.response_urls.get(key)
            if target is None or target.uses >= 5:
                state.responses.append(ResponseUrlPost(time.monotonic(), url, body, "", None, 404))
                return 404, "used_url" if target else "invalid_url"  # approximate
            target.uses += 1
            state.responses.append(
                ResponseUrlPost(time.monotonic(), url, body, target.user, target.channel, 200)
            )
            channel = state.channels.get(target.channel or "")
            old = channel.messages.get(target.message_ts or "") if channel else None
            blocks = _prepared(body.get("blocks"))
            text = body.get("text") or ""
            if channel is not None and old is not None and body.get("delete_original"):
                channel.messages[old.ts] = replace(old, deleted=True)
            elif channel is not None and old is not None and body.get("replace_original"):
                channel.messages[old.ts] = replace(
                    old, text=text, blocks=blocks, edits=old.edits + 1, edited_ts=state.next_ts()
                )
            elif channel is not None and body.get("response_type") == "in_channel":
                self._store_message(channel, self.bot_user_id, text, blocks)
            else:
                channel_id = target.channel or self._dm(target.user)
                self._add_ephemeral(channel_id, target.user, text, blocks, "response_url")
            state.cond.notify_all()
            return 200, "ok"

    def _violate(self, kind: str, method: str | None, detail: str, enforced: bool = True) -> None:
        with self._state.cond:
            self._state.violations.append(
                Violation(time.monotonic(), kind, method, detail, enforced)
            )
            self._state.cond.notify_all()

    # -- sockets

    def _hello(self) -> dict[str, Any]:
        with self._state.cond:
            count = sum(1 for s in self._state.sockets if s.open)
        return {
            "type": "hello",
            "num_connections": count,
            "debug_info": {
                "host": "applink-fake-1",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.app_id},
        }

    def _socket_opened(self) -> int:
        with self._state.cond:
            conn = SocketConnection(len(self._state.sockets) + 1, time.monotonic())
            self._state.sockets.append(conn)
            self._state.cond.notify_all()
        self._wake()
        return conn.id

    def _socket_closed(self, conn_id: int) -> None:
        with self._state.cond:
            sockets = self._state.sockets
            sockets[conn_id - 1] = replace(sockets[conn_id - 1], closed_at=time.monotonic())
            self._state.cond.notify_all()

    def disconnect_sockets(self, reason: str = "refresh_requested") -> None:
        """Send Slack's `disconnect` message on every open socket (clients reconnect)."""
        message = json.dumps({"type": "disconnect", "reason": reason, "debug_info": {}})

        async def send() -> None:
            for ws in list(self._server.sockets.values()):
                if not ws.closed:
                    await ws.send_str(message)

        self._run(send(), 5)

    def close_sockets(self) -> None:
        """Drop every open WebSocket without warning."""

        async def close() -> None:
            for ws in list(self._server.sockets.values()):
                await ws.close()

        self._run(close(), 5)

    # -- inbound traffic

    def _enqueue(
        self, kind: str, payload: dict[str, Any], inbound_id: str | None = None
    ) -> Inbound:
        with self._state.cond:
            inbound_id = inbound_id or f"in{next(self._state.counter)}"
            inbound = Inbound(self, kind, payload, inbound_id)
            self._state.inbound.append(inbound)
        self._sender.enqueue(inbound)
        self._wake()
        return inbound

    def _event_id(self) -> str:
        return f"Ev{next(self._state.counter):05d}{secrets.token_hex(3).upper()}"

    def event_envelope(
        self, event: Mapping[str, Any], event_id: str | None = None
    ) -> dict[str, Any]:
        """The `event_callback` body Slack wraps around `event`."""
        return {
            "token": self.verification_token,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.app_id,
            "event": dict(event),
            "type": "event_callback",
            "event_id": event_id or self._event_id(),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{secrets.token_hex(12)}",
        }

    def send_event(self, event: Mapping[str, Any], *, event_id: str | None = None) -> Inbound:
        """Deliver any Events API `event` (wrapped in an event_callback)."""
        envelope = self.event_envelope(event, event_id)
        return self._enqueue("events_api", envelope, envelope["event_id"])

    def send_interactive(self, payload: Mapping[str, Any]) -> Inbound:
        """Deliver any interactivity payload (sent as `payload=<json>`)."""
        return self._enqueue("interactive", dict(payload))

    def send_command_payload(self, form: Mapping[str, str]) -> Inbound:
        """Deliver a slash command form as given."""
        return self._enqueue("slash_commands", dict(form))

    def redeliver(self, event_id: str, *, retry_num: int | None = None) -> Inbound:
        """Deliver an event again with the same event_id: plainly (a duplicate), or as
        Slack's retry number `retry_num` (with X-Slack-Retry-Num / retry_attempt)."""
        with self._state.cond:
            first = next((i for i in self._state.inbound if i.event_id == event_id), None)
            if first is None:
                raise LookupError(f"no event {event_id!r} was sent")
            inbound_id = f"{event_id}/{next(self._state.counter)}"
            inbound = Inbound(self, first.kind, copy.deepcopy(first.payload), inbound_id)
            self._state.inbound.append(inbound)
        self._sender.enqueue(inbound, retry_num or 0, "http_timeout" if retry_num else "")
        self._wake()
        return inbound

    def _new_trigger(self, user: str) -> str:
        n = next(self._state.counter)
        trigger_id = f"{int(time.time())}{n:04d}.{self.team_id[1:]}.{secrets.token_hex(16)}"
        self._state.triggers[trigger_id] = _Trigger(user, time.monotonic())
        return trigger_id

    def _new_response_url(self, user: str, channel: str | None, message_ts: str | None) -> str:
        key = f"{next(self._state.counter)}-{secrets.token_hex(12)}"
        self._state.response_urls[key] = _ResponseUrl(user, channel, message_ts)
        return f"{self.root_url}/respond/{key}"

    def _channel_name(self, channel: _Channel) -> str:
        return "directmessage" if channel.kind == "im" else channel.name

    def _say(self, user: str, channel_id: str, text: str, thread_ts: str | None) -> Inbound:
        with self._state.cond:
            channel = self._state.channels.get(channel_id)
            if channel is None:
                raise LookupError(f"no channel {channel_id!r}")
            message = self._store_message(channel, user, text, (), thread_ts=thread_ts)
            event: dict[str, Any] = {
                "type": "message",
                "channel": channel.id,
                "user": user,
                "text": text,
                "ts": message.ts,
                "event_ts": message.ts,
                "channel_type": channel.kind,
                "client_msg_id": str(uuid.uuid4()),
                "team": self.team_id,
                "blocks": [
                    {
                        "type": "rich_text",
                        "block_id": secrets.token_hex(2),
                        "elements": [
                            {
                                "type": "rich_text_section",
                                "elements": [{"type": "text", "text": text}],
                            }
                        ],
                    }
                ],
            }
            if thread_ts:
                event["thread_ts"] = thread_ts
            return self.send_event(event)

    def _command(self, user: str, channel_id: str, command: str, text: str) -> Inbound:
        with self._state.cond:
            channel = self._state.channels.get(channel_id)
            if channel is None:
                raise LookupError(f"no channel {channel_id!r}")
            person = self._state.people[user]
            form = {
                "token": self.verification_token,
                "team_id": self.team_id,
                "team_domain": self.team_domain,
                "channel_id": channel.id,
                "channel_name": self._channel_name(channel),
                "user_id": user,
                "user_name": person.name,
                "command": command if command.startswith("/") else f"/{command}",
                "text": text,
                "api_app_id": self.app_id,
                "is_enterprise_install": "false",
                "response_url": self._new_response_url(user, channel.id, None),
                "trigger_id": self._new_trigger(user),
            }
            return self.send_command_payload(form)

    def _open_home(self, user: str, tab: str) -> Inbound:
        with self._state.cond:
            event: dict[str, Any] = {
                "type": "app_home_opened",
                "user": user,
                "channel": self._dm(user),
                "tab": tab,
                "event_ts": self._state.next_ts(),
            }
            home_id = self._state.homes.get(user)
            if tab == "home" and home_id:
                event["view"] = copy.deepcopy(self._state.views[home_id].json)
            return self.send_event(event)

    # -- surfaces and interactions

    def _surfaces(self, user: str, surface: Surface, ts: str | None) -> list[_Surface]:
        state = self._state
        if surface == "home":
            home_id = state.homes.get(user)
            views = [state.views[home_id]] if home_id else []
        elif surface == "modal":
            stack = state.modals.get(user) or []
            views = [state.views[stack[-1]]] if stack else []
        else:
            channel = state.channels[self._dm(user)]
            found = [
                m
                for m in reversed(channel.messages.values())
                if m.user == self.bot_user_id and not m.deleted and (ts is None or m.ts == ts)
            ]
            return [
                _Surface(
                    f"msg:{m.channel}:{m.ts}",
                    list(m.blocks),
                    {
                        "type": "message",
                        "message_ts": m.ts,
                        "channel_id": m.channel,
                        "is_ephemeral": False,
                    },
                    message=m,
                )
                for m in found
            ]
        return [
            _Surface(f"view:{v.id}", v.json["blocks"], {"type": "view", "view_id": v.id}, view=v)
            for v in views
        ]

    def _find(
        self,
        user: str,
        surface: Surface,
        ts: str | None,
        match: Callable[[dict[str, Any]], bool],
        what: str,
    ) -> tuple[_Surface, dict[str, Any], dict[str, Any]]:
        surfaces = self._surfaces(user, surface, ts)
        for place in surfaces:
            for block, element in elements(place.blocks):
                if match(element):
                    return place, block, element
        seen = [
            f"{e.get('type')}:{option_label(e) or e.get('action_id')}"
            for place in surfaces[:3]
            for _, e in elements(place.blocks)
        ]
        raise LookupError(f"no {what} on the {surface} for {user}; elements seen: {seen}")

    def _state_values(self, place: _Surface, user: str) -> dict[str, Any]:
        chosen = self._state.client_state.get((place.key, user), {})
        values: dict[str, dict[str, Any]] = {}
        for block, element in elements(place.blocks):
            if element.get("type") not in STATEFUL_ELEMENTS:
                continue
            current = chosen.get(block["block_id"], {}).get(element["action_id"])
            values.setdefault(block["block_id"], {})[element["action_id"]] = copy.deepcopy(
                current or _initial_state(element)
            )
        return {"values": values}

    def _remember(
        self,
        place: _Surface,
        user: str,
        block: dict[str, Any],
        element: dict[str, Any],
        chosen: dict[str, Any],
    ) -> None:
        """Keep what the user picked, for `state.values` in later payloads from the surface."""
        per_user = self._state.client_state.setdefault((place.key, user), {})
        per_block = per_user.setdefault(block["block_id"], {})
        per_block[element["action_id"]] = {"type": element["type"], **copy.deepcopy(chosen)}

    def _act(
        self,
        user: str,
        place: _Surface,
        block: dict[str, Any],
        element: dict[str, Any],
        extra: dict[str, Any],
    ) -> Inbound:
        action = {
            "type": element["type"],
            "block_id": block["block_id"],
            "action_id": element["action_id"],
            **extra,
            "action_ts": f"{time.time():.6f}",
        }
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._actor(user),
            "api_app_id": self.app_id,
            "token": self.verification_token,
            "container": place.container,
            "trigger_id": self._new_trigger(user),
            "team": {"id": self.team_id, "domain": self.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "state": self._state_values(place, user),
            "actions": [action],
        }
        if place.message is not None:
            channel = self._state.channels[place.message.channel]
            payload["channel"] = {"id": channel.id, "name": self._channel_name(channel)}
            payload["message"] = place.message.json()
            payload["response_url"] = self._new_response_url(user, channel.id, place.message.ts)
        if place.view is not None:
            view = copy.deepcopy(place.view.json)
            view["state"] = payload["state"]
            payload["view"] = view
        return self.send_interactive(payload)

    def _click(
        self, user: str, label: str, value: str | None, ts: str | None, surface: Surface
    ) -> Inbound:
        def match(e: dict[str, Any]) -> bool:
            named = label in (option_label(e), e.get("action_id"))
            return e.get("type") == "button" and named and value in (None, e.get("value"))

        with self._state.cond:
            place, block, element = self._find(user, surface, ts, match, f"button {label!r}")
            extra: dict[str, Any] = {"text": copy.deepcopy(element.get("text"))}
            for key in ("value", "style", "url"):
                if key in element:
                    extra[key] = element[key]
            return self._act(user, place, block, element, extra)

    def _select(
        self, user: str, option: str, action_id: str | None, ts: str | None, surface: Surface
    ) -> Inbound:
        kinds = ("static_select", "radio_buttons", "overflow", "external_select")

        def match(e: dict[str, Any]) -> bool:
            if e.get("type") not in kinds or action_id not in (None, e.get("action_id")):
                return False
            return _find_option(e, option) is not None

        with self._state.cond:
            place, block, element = self._find(user, surface, ts, match, f"option {option!r}")
            chosen = copy.deepcopy(_find_option(element, option))
            extra = {"selected_option": chosen}
            if element["type"] != "overflow":
                self._remember(place, user, block, element, extra)
            if "placeholder" in element:
                extra["placeholder"] = element["placeholder"]
            return self._act(user, place, block, element, extra)

    def _check(
        self,
        user: str,
        labels: Sequence[str],
        action_id: str | None,
        ts: str | None,
        surface: Surface,
    ) -> Inbound:
        kinds = ("checkboxes", "multi_static_select")

        def match(e: dict[str, Any]) -> bool:
            if e.get("type") not in kinds or action_id not in (None, e.get("action_id")):
                return False
            return all(_find_option(e, label) is not None for label in labels)

        with self._state.cond:
            place, block, element = self._find(user, surface, ts, match, f"boxes {labels!r}")
            chosen = [copy.deepcopy(_find_option(element, label)) for label in labels]
            extra: dict[str, Any] = {"selected_options": chosen}
            self._remember(place, user, block, element, extra)
            return self._act(user, place, block, element, extra)

    def _submit_view(self, user: str, values: dict[str, Any], view_id: str | None) -> Inbound:
        with self._state.cond:
            stack = self._state.modals.get(user) or []
            target = view_id or (stack[-1] if stack else None)
            if target is None or target not in stack:
                raise LookupError(f"{user} has no open modal {view_id or ''}".strip())
            view = self._state.views[target]
            place = _Surface(f"view:{target}", view.json["blocks"], {}, view=view)
            state = self._state_values(place, user)
            unused = set(values)
            for block, element in elements(view.json["blocks"]):
                if block.get("type") != "input" or element.get("type") not in STATEFUL_ELEMENTS:
                    continue
                label = option_label({"text": block.get("label")})
                keys = [element["action_id"], block["block_id"], label]
                key = next((k for k in keys if k in values), None)
                slot = state["values"][block["block_id"]][element["action_id"]]
                if key is not None:
                    unused.discard(key)
                    slot.update(_submitted(element, values[key]))
                if not block.get("optional") and _empty(slot):
                    raise ValueError(f"Slack would not submit: {label!r} is required")
            if unused:
                raise LookupError(f"no input for {sorted(unused)} in view {target}")
            submitted = copy.deepcopy(view.json)
            submitted["state"] = state
            payload = {
                "type": "view_submission",
                "team": {"id": self.team_id, "domain": self.team_domain},
                "user": self._actor(user),
                "api_app_id": self.app_id,
                "token": self.verification_token,
                "trigger_id": self._new_trigger(user),
                "view": submitted,
                "response_urls": [],
                "is_enterprise_install": False,
                "enterprise": None,
            }
            return self.send_interactive(payload)

    def _close_view(self, user: str) -> Inbound | None:
        with self._state.cond:
            stack = self._state.modals.get(user) or []
            if not stack:
                raise LookupError(f"{user} has no open modal")
            view = self._state.views[stack.pop()]
            self._state.cond.notify_all()
            if not view.json.get("notify_on_close"):
                return None
            payload = {
                "type": "view_closed",
                "team": {"id": self.team_id, "domain": self.team_domain},
                "user": self._actor(user),
                "api_app_id": self.app_id,
                "token": self.verification_token,
                "view": copy.deepcopy(view.json),
                "is_cleared": False,
                "is_enterprise_install": False,
            }
            return self.send_interactive(payload)

    def _after_ack(self, inbound: Inbound, response: Any) -> None:
        """What Slack does with an ack body: show a command's reply, act on view responses."""
        if inbound.kind == "slash_commands" and isinstance(response, dict):
            text, blocks = response.get("text") or "", _prepared(response.get("blocks"))
            if not (text or blocks):
                return
            user, channel_id = inbound.payload["user_id"], inbound.payload["channel_id"]
            if response.get("response_type") == "in_channel":
                channel = self._state.channels[channel_id]
                self._store_message(channel, self.bot_user_id, text, blocks)
            else:
                self._add_ephemeral(channel_id, user, text, blocks, "command_ack")
        elif inbound.payload.get("type") == "view_submission":
            self._after_submission(inbound, response)

    def _after_submission(self, inbound: Inbound, response: Any) -> None:
        user = inbound.payload["user"]["id"]
        view_id = inbound.payload["view"]["id"]
        stack = self._state.modals.get(user) or []
        action = response.get("response_action") if isinstance(response, dict) else None
        if action == "errors" or view_id not in stack:
            return
        if action == "clear":
            stack.clear()
        elif action == "update":
            old = self._state.views[view_id].json
            root, previous = old["root_view_id"], old["previous_view_id"]
            new = response["view"]
            self._put_view(user, "modal", new, view_id=view_id, root=root, previous=previous)
        elif action == "push":
            new = response["view"]
            pushed = self._put_view(user, "modal", new, root=stack[0], previous=stack[-1])
            stack.append(pushed.id)
        else:
            stack.remove(view_id)
        self._state.cond.notify_all()

    def _home(self, user: str) -> dict[str, Any] | None:
        with self._state.cond:
            home_id = self._state.homes.get(user)
            return copy.deepcopy(self._state.views[home_id].json) if home_id else None

    def _modal(self, user: str) -> dict[str, Any] | None:
        with self._state.cond:
            stack = self._state.modals.get(user) or []
            return copy.deepcopy(self._state.views[stack[-1]].json) if stack else None

    # -- raw requests, signing

    def sign(self, body: str | bytes, timestamp: int | None = None) -> dict[str, str]:
        """Slack's signature headers for `body` (now, or at `timestamp` for stale ones)."""
        timestamp = int(time.time()) if timestamp is None else timestamp
        return {
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": sign(self.signing_secret, body, timestamp),
        }

    def post_raw(
        self,
        body: str | bytes,
        headers: Mapping[str, str],
        *,
        url: str | None = None,
        timeout: float = 10.0,
    ) -> RawResponse:
        """POST `body` with exactly `headers` to `url` (default: request_url). Not recorded
        as a delivery: for forged signatures, stale timestamps and other abuse."""
        target = url or self.request_url
        if target is None:
            raise RuntimeError("no url and no request_url")
        data = body.encode() if isinstance(body, str) else body
        return self._run(self._sender.post(target, data, headers), timeout)

    def url_verification(self, challenge: str | None = None) -> RawResponse:
        """Send Slack's signed `url_verification` challenge to request_url."""
        challenge = challenge or secrets.token_urlsafe(24)
        body = json.dumps(
            {"token": self.verification_token, "challenge": challenge, "type": "url_verification"}
        )
        headers = {"Content-Type": "application/json", **self.sign(body)}
        return self.post_raw(body, headers)

    # -- fault injection

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        *,
        retry_after: int = 1,
        method: str | None = None,
        error: str | None = None,
    ) -> None:
        """Answer the next `n` matching Web API calls with an error instead of doing them.

        `method=None` matches SEND_METHODS, `"*"` any method. 429 answers carry
        `Retry-After: retry_after` and `ratelimited`; 5xx answer internal_error /
        service_unavailable / fatal_error; status 200 with `error` is an `ok: false` reply
        such as `channel_not_found`.
        """
        if status == 429:
            failure = _ratelimited(retry_after)
        elif status == 200:
            failure = SlackError(error or "fatal_error")
        else:
            failure = _server_error(status)
            if error:
                failure.error = error
        with self._state.cond:
            self._state.faults.append(_Fault(n, method, failure))

    def drop_next(self, n: int = 1, *, method: str | None = None) -> None:
        """Read the next `n` matching Web API calls, then close the connection unanswered."""
        with self._state.cond:
            self._state.faults.append(_Fault(n, method, None, "drop"))

    def drop_after_processing(self, n: int = 1, *, method: str | None = None) -> None:
        """Do the next `n` matching calls, then close without answering (the "cut off
        mid-request" case: the message was posted, the app never hears so)."""
        with self._state.cond:
            self._state.faults.append(_Fault(n, method, None, "drop_after"))

    def clear_faults(self) -> None:
        with self._state.cond:
            self._state.faults.clear()

    # -- records

    def _copy(self, items: Iterable[T]) -> list[T]:
        with self._state.cond:
            return list(items)

    @property
    def calls(self) -> list[ApiCall]:
        return self._copy(self._state.calls)

    def calls_for(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    @property
    def violations(self) -> list[Violation]:
        return self._copy(self._state.violations)

    @property
    def dropped(self) -> list[Dropped]:
        """Calls whose connection was cut by `drop_next` / `drop_after_processing`."""
        return self._copy(self._state.dropped)

    @property
    def deliveries(self) -> list[Delivery]:
        return self._copy(self._state.deliveries)

    @property
    def inbound(self) -> list[Inbound]:
        return self._copy(self._state.inbound)

    @property
    def ephemerals(self) -> list[Ephemeral]:
        return self._copy(self._state.ephemerals)

    @property
    def files(self) -> list[UploadedFile]:
        return self._copy(self._state.files.values())

    @property
    def responses(self) -> list[ResponseUrlPost]:
        return self._copy(self._state.responses)

    @property
    def socket_connections(self) -> list[SocketConnection]:
        return self._copy(self._state.sockets)

    def messages(self, channel_id: str, *, include_users: bool = False) -> list[SlackMessage]:
        with self._state.cond:
            channel = self._state.channels.get(channel_id)
            if channel is None:
                raise LookupError(f"no channel {channel_id!r}")
            return [
                m
                for m in channel.messages.values()
                if not m.deleted and (include_users or m.user == self.bot_user_id)
            ]

    def wait_for_message(
        self, channel_id: str, predicate: Callable[[SlackMessage], bool], timeout: float = 2.0
    ) -> SlackMessage:
        def check() -> SlackMessage | None:
            return next((m for m in self.messages(channel_id) if predicate(m)), None)

        try:
            return self.wait_until(check, timeout, f"a matching message in {channel_id}")
        except TimeoutError as exc:
            seen = [m.visible_text[:80] for m in self.messages(channel_id)]
            raise TimeoutError(f"{exc}; the bot posted: {seen!r}") from None

    def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] = lambda c: True,
        timeout: float = 2.0,
    ) -> ApiCall:
        """The first recorded call to `method` matching `predicate`, waiting up to `timeout`."""

        def check() -> ApiCall | None:
            return next((c for c in self._state.calls if c.method == method and predicate(c)), None)

        return self.wait_until(check, timeout, f"a {method} call")

    def wait_for_socket(self, timeout: float = 5.0) -> SocketConnection:
        """The newest open Socket Mode connection, waiting up to `timeout` for one."""

        def check() -> SocketConnection | None:
            return next((s for s in reversed(self._state.sockets) if s.open), None)

        return self.wait_until(check, timeout, "a Socket Mode connection")

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until every inbound item has been acked or given up on."""
        self.wait_until(
            lambda: all(i.status != "pending" for i in self._state.inbound), timeout, "idle"
        )

    def wait_until(
        self, check: Callable[[], T | None], timeout: float = 2.0, what: str = "a condition"
    ) -> T:
        """Wait (bounded) until `check()` is truthy; re-checked on every state change."""
        return self._state.wait_until(check, timeout, what)


def _submitted(element: dict[str, Any], value: Any) -> dict[str, Any]:
    """The `state.values` entry for what the user entered in `element`."""
    name = _STATE_FIELDS.get(element["type"], "value")
    if name == "selected_option":
        option = _find_option(element, str(value))
        if option is None:
            raise LookupError(f"no option {value!r} in {element.get('action_id')}")
        return {name: copy.deepcopy(option)}
    if name == "selected_options":
        labels = [value] if isinstance(value, str) else list(value)
        options = [_find_option(element, str(label)) for label in labels]
        if any(o is None for o in options):
            raise LookupError(f"no options {labels!r} in {element.get('action_id')}")
        return {name: copy.deepcopy(options)}
    return {name: value}


def _prepared(blocks: Any) -> tuple[dict[str, Any], ...]:
    """Blocks from an app's answer, with the ids Slack fills in."""
    copied = [b for b in copy.deepcopy(blocks) if isinstance(b, dict)] if blocks else []
    fill_ids(copied)
    return tuple(copied)


def _empty(slot: dict[str, Any]) -> bool:
    return all(v in (None, "", []) for k, v in slot.items() if k != "type")
