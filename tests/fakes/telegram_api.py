"""A loopback fake of the Telegram Bot API, for tests that drive the real python-telegram-bot.

`FakeTelegram` is a small HTTP server on 127.0.0.1 that speaks the Bot API the way
python-telegram-bot v22 uses it: form or multipart bodies whose non-string values are
JSON-encoded (JSON bodies are accepted too, as Telegram does), `{"ok": ...}` envelopes, and
Telegram's HTTP codes and error descriptions. Simulated users and groups produce updates,
which the bot receives by long-polling `getUpdates` or which the fake POSTs to a webhook.
Telegram's flood limits are enforced with token buckets, and faults (5xx, 429, dropped
connections) can be injected::

    with FakeTelegram() as tg:
        alice = tg.user(1001, first_name="Alice")
        bot = telegram.Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url)
        alice.send_command("/start")
        ...  # run the bot
        alice.wait_for(lambda m: "Q1" in m.text)
        alice.press("Yes")

Error descriptions are Telegram's own where known (tdlib's HTML parser messages, the
"message is not modified" family, 409 conflicts, 429 flood control). Lines marked
"approximate" are plausible wording for errors whose exact text we have not verified.
Where the fake is deliberately stricter than Telegram, the docstring says so.

Sections: errors; Telegram HTML; request bodies; flood control; records; state;
Bot API methods; HTTP server; webhook delivery; user and group handles; `FakeTelegram`.
"""

from __future__ import annotations

import copy
import http.client
import itertools
import json
import math
import re
import secrets
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

__all__ = [
    "DEFAULT_TOKEN",
    "ApiError",
    "BotMessage",
    "CallbackRecord",
    "Dropped",
    "FakeGroup",
    "FakeTelegram",
    "FakeUser",
    "RateLimits",
    "RecordedRequest",
    "SentRecord",
    "UploadedFile",
    "Violation",
    "WebhookDelivery",
    "parse_html",
]

T = TypeVar("T")

DEFAULT_TOKEN = "123456789:AAParleyFakeTokenForLoopbackTests01"
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_BODY_BYTES = 52 * 1024 * 1024  # the 50 MB upload limit plus form overhead

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)

# Methods that send or edit messages: the default target of fault injection.
SEND_METHODS = frozenset(
    {
        "sendMessage",
        "sendDocument",
        "sendPhoto",
        "sendMediaGroup",
        "editMessageText",
        "editMessageReplyMarkup",
    }
)


# --------------------------------------------------------------------------- errors


class ApiError(Exception):
    """A Bot API error reply: HTTP status, description and optional response parameters."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            out["parameters"] = self.parameters
        return out


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def _http_error(status: int, description: str | None = None) -> ApiError:
    if description is None:
        try:
            description = HTTPStatus(status).phrase
        except ValueError:
            description = "Unknown Error"
    return ApiError(status, description)


# --------------------------------------------------------------------------- Telegram HTML

_ALLOWED_TAGS = frozenset(
    {
        *("a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span"),
        *("tg-spoiler", "tg-emoji", "code", "pre", "blockquote"),
    }
)
_SIMPLE_ENTITIES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "pre": "pre",
}
_CHAR_REF = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,7})|(lt|gt|amp|quot));")
_NAMED_REFS = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(text: str, *, strict_ampersand: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram's HTML parse mode into (plain text, entities), as Telegram does.

    Raises `ApiError` (400 "Bad Request: can't parse entities: ...") with tdlib's messages:
    unsupported or unclosed tags, unmatched end tags, `span` without `class="tg-spoiler"`.
    Only the named references `&lt; &gt; &amp; &quot;` and numeric ones are decoded.

    Stricter than Telegram: with `strict_ampersand` (the default) an `&` that does not start
    a reference is an error ('Unescaped "&" at byte offset N'); Telegram keeps it as text,
    but its docs require escaping, and an unescaped `&amp` in user text would silently change.
    """
    return _HtmlParser(text, strict_ampersand).run()


@dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str]
    offset: int  # UTF-16 offset in the output where the tag's content starts


class _HtmlParser:
    def __init__(self, text: str, strict_ampersand: bool) -> None:
        self.text = text
        self.strict = strict_ampersand
        self.pos = 0
        self.out: list[str] = []
        self.utf16 = 0
        self.open: list[_OpenTag] = []
        self.entities: list[dict[str, Any]] = []

    def run(self) -> tuple[str, list[dict[str, Any]]]:
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "&":
                self._char_ref()
            elif ch == "<":
                self._tag()
            else:
                self._emit(ch)
                self.pos += 1
        if self.open:
            name = self.open[-1].name
            raise self._error(f'Can\'t find end tag corresponding to start tag "{name}"')
        for entity in self.entities:
            if entity["type"] == "code":
                entity.pop("language", None)
        return "".join(self.out), sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))

    def _error(self, detail: str) -> ApiError:
        return bad_request(f"can't parse entities: {detail}")

    def _byte(self, pos: int) -> int:
        return len(self.text[:pos].encode())

    def _emit(self, chunk: str) -> None:
        self.out.append(chunk)
        self.utf16 += _utf16_len(chunk)

    def _char_ref(self) -> None:
        decoded, end = _decode_ref(self.text, self.pos)
        if decoded is None:
            if self.strict:
                raise self._error(f'Unescaped "&" at byte offset {self._byte(self.pos)}')
            decoded, end = "&", self.pos + 1
        self._emit(decoded)
        self.pos = end

    def _tag(self) -> None:
        if self.text.startswith("</", self.pos):
            self._end_tag(self.pos)
        else:
            self._start_tag(self.pos)

    def _name_end(self, i: int) -> int:
        while i < len(self.text) and not self.text[i].isspace() and self.text[i] != ">":
            i += 1
        return i

    def _start_tag(self, start: int) -> None:
        end = self._name_end(start + 1)
        if end >= len(self.text):
            raise self._error(f"Unclosed start tag at byte offset {self._byte(start)}")
        name = self.text[start + 1 : end].lower()
        if name not in _ALLOWED_TAGS:
            raise self._error(f'Unsupported start tag "{name}" at byte offset {self._byte(start)}')
        attrs, self.pos = self._attributes(name, start, end)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            at = self._byte(start)
            raise self._error(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
        self.open.append(_OpenTag(name, attrs, self.utf16))

    def _attributes(self, tag: str, start: int, i: int) -> tuple[dict[str, str], int]:
        text, n = self.text, len(self.text)
        attrs: dict[str, str] = {}
        unclosed = self._error(f"Unclosed start tag at byte offset {self._byte(start)}")
        while True:
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise unclosed
            if text[i] == ">":
                return attrs, i + 1
            j = i
            while j < n and not text[j].isspace() and text[j] not in "=>/\"'":
                j += 1
            if j == i:
                at = self._byte(start)
                raise self._error(f'Empty attribute name in the tag "{tag}" at byte offset {at}')
            name = text[i:j].lower()
            while j < n and text[j].isspace():
                j += 1
            if j >= n:
                raise unclosed
            if text[j] != "=":
                attrs[name], i = "", j
                continue
            attrs[name], i = self._attribute_value(j + 1, unclosed)

    def _attribute_value(self, i: int, unclosed: ApiError) -> tuple[str, int]:
        text, n = self.text, len(self.text)
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise unclosed
        if text[i] in "\"'":
            close = text.find(text[i], i + 1)
            if close < 0:
                raise unclosed
            return _decode_refs(text[i + 1 : close]), close + 1
        j = i
        while j < n and (text[j].isalnum() or text[j] in ".-"):
            j += 1
        if j >= n:
            raise unclosed
        if not text[j].isspace() and text[j] != ">":
            raise self._error(f"Unexpected end of name token at byte offset {self._byte(j)}")
        return text[i:j].lower(), j

    def _end_tag(self, start: int) -> None:
        end = self._name_end(start + 2)
        name = self.text[start + 2 : end].lower()
        while end < len(self.text) and self.text[end].isspace():
            end += 1
        if not self.open:
            raise self._error(f"Unexpected end tag at byte offset {self._byte(start)}")
        if end >= len(self.text) or self.text[end] != ">":
            raise self._error(f"Unclosed end tag at byte offset {self._byte(start)}")
        top = self.open[-1]
        if name and name != top.name:
            raise self._error(
                f"Unmatched end tag at byte offset {self._byte(start)}, "
                f'expected "</{top.name}>", found "</{name}>"'
            )
        self.open.pop()
        self.pos = end + 1
        self._close(top)

    def _close(self, tag: _OpenTag) -> None:
        length = self.utf16 - tag.offset
        entity = self._entity(tag)
        if length <= 0 or entity is None:
            return
        entity.update(offset=tag.offset, length=length)
        last = self.entities[-1] if self.entities else None
        same_span = last is not None and (last["offset"], last["length"]) == (tag.offset, length)
        if tag.name == "pre" and same_span and last is not None and last["type"] == "code":
            if "language" in last:
                entity["language"] = last["language"]
            self.entities[-1] = entity
            return
        self.entities.append(entity)

    def _entity(self, tag: _OpenTag) -> dict[str, Any] | None:
        if tag.name in _SIMPLE_ENTITIES:
            return {"type": _SIMPLE_ENTITIES[tag.name]}
        if tag.name == "code":
            language = tag.attrs.get("class", "").removeprefix("language-")
            has_language = tag.attrs.get("class", "").startswith("language-")
            return {"type": "code", "language": language} if has_language else {"type": "code"}
        if tag.name == "a":
            href = tag.attrs.get("href", "")
            return {"type": "text_link", "url": href} if href else None
        if tag.name == "blockquote":
            expandable = "expandable" in tag.attrs
            return {"type": "expandable_blockquote" if expandable else "blockquote"}
        emoji_id = tag.attrs.get("emoji-id", "")  # tg-emoji
        if not emoji_id.isdigit():
            raise self._error("Invalid custom emoji identifier specified")
        return {"type": "custom_emoji", "custom_emoji_id": emoji_id}


def _decode_ref(text: str, pos: int) -> tuple[str | None, int]:
    match = _CHAR_REF.match(text, pos)
    if match is None:
        return None, pos
    decimal, hexadecimal, named = match.groups()
    if named:
        return _NAMED_REFS[named], match.end()
    code = int(decimal) if decimal else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None, pos
    return chr(code), match.end()


def _decode_refs(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        decoded, end = _decode_ref(text, i) if text[i] == "&" else (None, i)
        out.append(decoded if decoded is not None else text[i])
        i = end if decoded is not None else i + 1
    return "".join(out)


def _trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Strip surrounding whitespace as Telegram does, shifting and clipping entities."""
    body = text.strip()
    shift = _utf16_len(text[: len(text) - len(text.lstrip())])
    size = _utf16_len(body)
    out = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, size)
        if end > start:
            out.append({**entity, "offset": start, "length": end - start})
    return body, out


# --------------------------------------------------------------------------- request bodies


@dataclass(frozen=True)
class _Part:
    """A file part of a multipart body."""

    name: str
    filename: str
    content_type: str | None
    data: bytes


def parse_body(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, _Part]]:
    """Decode a request body into (fields, files), whichever encoding the client used."""
    kind, _, rest = content_type.partition(";")
    kind = kind.strip().lower()
    if not body:
        return {}, {}
    if kind == "application/json":
        try:
            fields = json.loads(body)
        except ValueError:
            raise bad_request("can't parse JSON request body") from None  # approximate
        if not isinstance(fields, dict):
            raise bad_request("can't parse JSON request body")  # approximate
        return fields, {}
    if kind == "multipart/form-data":
        match = re.search(r'boundary="?([^";]+)"?', rest)
        if match is None:
            raise bad_request("multipart boundary is missing")  # approximate
        return _parse_multipart(body, match.group(1).encode())
    pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    return dict(pairs), {}


def _parse_multipart(body: bytes, boundary: bytes) -> tuple[dict[str, Any], dict[str, _Part]]:
    fields: dict[str, Any] = {}
    files: dict[str, _Part] = {}
    for chunk in body.split(b"--" + boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name = _header_param(disposition, "name") or ""
        filename = _header_param(disposition, "filename")
        data = data.removesuffix(b"\r\n")
        if filename is None:
            fields[name] = data.decode("utf-8")
        else:
            files[name] = _Part(name, filename, headers.get("content-type"), data)
    return fields, files


def _header_param(header: str, name: str) -> str | None:
    match = re.search(rf'(?:^|;)\s*{name}=(?:"((?:[^"\\]|\\.)*)"|([^;]*))', header)
    if match is None:
        return None
    return match.group(1) if match.group(1) is not None else match.group(2).strip()


class _Params:
    """Typed access to request fields, which are JSON-encoded strings or (JSON body) values."""

    def __init__(self, raw: Mapping[str, Any], files: Mapping[str, _Part]) -> None:
        self.raw = raw
        self.files = files

    def text(self, name: str) -> str | None:
        value = self.raw.get(name)
        return None if value is None else str(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f'field "{name}" must be of type Integer') from None  # approximate

    def flag(self, name: str) -> bool:
        value = self.raw.get(name)
        return value is True or str(value).lower() in ("true", "1")

    def json(self, name: str) -> Any:
        value = self.raw.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {name} JSON object") from None


# --------------------------------------------------------------------------- flood control


@dataclass(frozen=True)
class RateLimits:
    """Telegram's flood limits (Bot FAQ; PTB `FloodLimit`), as token buckets.

    Telegram allows short bursts in a private chat; `private_chat_burst` sets how many.
    `count_edits` also charges message edits to the chat buckets (Telegram limits edits too,
    but does not document how).
    """

    overall_per_second: float = 30.0
    overall_burst: float = 30.0
    private_chat_per_second: float = 1.0
    private_chat_burst: float = 3.0
    group_per_minute: float = 20.0
    group_burst: float = 20.0
    count_edits: bool = False


class _Bucket:
    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate, self.capacity, self.tokens, self.stamp = rate, capacity, capacity, now

    def shortfall(self, count: int, now: float) -> float:
        """Seconds until `count` tokens are available (0 if they are now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return max(0.0, (min(count, self.capacity) - self.tokens) / self.rate)

    def take(self, count: int) -> None:
        self.tokens = max(0.0, self.tokens - count)


class _FloodControl:
    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self.overall: _Bucket | None = None
        self.chats: dict[int, _Bucket] = {}

    def admit(
        self, chat_id: int, is_group: bool, count: int, now: float, enforce: bool
    ) -> tuple[str, int] | None:
        """Take `count` messages' worth of tokens; on shortage return (scope, retry_after)."""
        buckets = [("overall", self._overall(now)), self._chat(chat_id, is_group, now)]
        waits = [(bucket.shortfall(count, now), scope) for scope, bucket in buckets]
        wait, scope = max(waits)
        if wait == 0 or not enforce:
            for _, bucket in buckets:
                bucket.take(count)
        return None if wait == 0 else (scope, max(1, math.ceil(wait)))

    def _overall(self, now: float) -> _Bucket:
        if self.overall is None:
            limits = self.limits
            self.overall = _Bucket(limits.overall_per_second, limits.overall_burst, now)
        return self.overall

    def _chat(self, chat_id: int, is_group: bool, now: float) -> tuple[str, _Bucket]:
        limits = self.limits
        if chat_id not in self.chats:
            if is_group:
                bucket = _Bucket(limits.group_per_minute / 60, limits.group_burst, now)
            else:
                bucket = _Bucket(limits.private_chat_per_second, limits.private_chat_burst, now)
            self.chats[chat_id] = bucket
        return ("group" if is_group else "chat"), self.chats[chat_id]


# --------------------------------------------------------------------------- records


@dataclass
class RecordedRequest:
    """One request as received: `params` are the raw fields (JSON-encoded strings for forms).

    `status` is the HTTP status answered, or None while pending or when the connection was
    dropped.
    """

    method: str
    params: dict[str, Any]
    files: dict[str, str]  # multipart field name -> filename
    t: float
    status: int | None = None

    def json(self, name: str) -> Any:
        """A field decoded from JSON (e.g. `reply_markup`), or the value itself."""
        value = self.params.get(name)
        return json.loads(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class SentRecord:
    """A send that Telegram accepted: what counted against the flood limits."""

    t: float
    method: str
    chat_id: int
    message_ids: tuple[int, ...]


@dataclass(frozen=True)
class Violation:
    """A send beyond the flood limits; `enforced` if it was answered with 429."""

    t: float
    method: str
    chat_id: int
    scope: str  # "overall", "chat" (private) or "group"
    retry_after: int
    enforced: bool


@dataclass(frozen=True)
class Dropped:
    t: float
    method: str
    after_processing: bool
    chat_id: str | None = None
    """The request's `chat_id` as sent (a number or @username), if it had one."""


@dataclass(frozen=True)
class WebhookDelivery:
    t: float
    update_id: int
    status: int | None  # HTTP status from the receiver, None if the request failed
    error: str | None


@dataclass(frozen=True)
class UploadedFile:
    file_id: str
    file_unique_id: str
    file_path: str
    file_name: str | None
    mime_type: str | None
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class BotMessage:
    """A message the bot sent, in its current state (after edits).

    `text` is what the user sees (text or caption, markup removed, trimmed); `raw_text` is
    exactly what the bot sent. `kind` is "text", "document" or "photo".
    """

    chat_id: int
    message_id: int
    date: int
    kind: str
    text: str | None
    raw_text: str | None
    parse_mode: str | None
    entities: tuple[dict[str, Any], ...] = ()
    reply_markup: dict[str, Any] | None = None
    file: UploadedFile | None = None
    media_group_id: str | None = None
    edit_date: int | None = None
    edits: int = 0

    @property
    def buttons(self) -> list[list[str]]:
        """Labels of the inline keyboard, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[button.get("text", "") for button in row] for row in rows]

    def button(self, label: str) -> dict[str, Any] | None:
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return next((b for row in rows for b in row if b.get("text") == label), None)


@dataclass(frozen=True)
class CallbackRecord:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    created_at: float
    answered: bool = False
    answer_text: str | None = None
    show_alert: bool = False
    answered_at: float | None = None


# --------------------------------------------------------------------------- state


@dataclass
class _Chat:
    id: int
    type: str  # private, group, supergroup
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    bot_messages: dict[int, BotMessage] = field(default_factory=dict)
    user_messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_message_id: int = 1
    blocked: bool = False

    @property
    def is_group(self) -> bool:
        return self.type != "private"

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": self.type}
        for key in ("title", "first_name", "last_name", "username"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    def take_message_id(self) -> int:
        self.next_message_id += 1
        return self.next_message_id - 1


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    failures: int = 0  # consecutive failed attempts for the update at the head of the queue
    next_attempt: float = 0.0
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class _Fault:
    kind: str  # "fail", "drop" or "drop_after"
    remaining: int
    method: str | None  # None: any send method; "*": any method
    error: ApiError | None = None

    def matches(self, method: str) -> bool:
        if self.method is None:
            return method in SEND_METHODS
        return self.method == "*" or self.method.lower() == method.lower()


class _State:
    """Everything the fake knows, behind one re-entrant lock and its condition."""

    def __init__(self, first_update_id: int) -> None:
        self.cond = threading.Condition(threading.RLock())
        self.stopping = False
        self.chats: dict[int, _Chat] = {}
        self.updates: list[dict[str, Any]] = []
        self.update_ids = itertools.count(first_update_id)
        self.allowed_updates: frozenset[str] | None = None
        self.poll_generation = 0
        self.webhook: _Webhook | None = None
        self.callbacks: dict[str, CallbackRecord] = {}
        self.files: dict[str, UploadedFile] = {}
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.faults: list[_Fault] = []
        self.requests: list[RecordedRequest] = []
        self.sent: list[SentRecord] = []
        self.violations: list[Violation] = []
        self.dropped: list[Dropped] = []
        self.deliveries: list[WebhookDelivery] = []
        self.counter = itertools.count(1)

    def add_update(self, kind: str, payload: dict[str, Any]) -> int | None:
        with self.cond:
            if self.allowed_updates is not None and kind not in self.allowed_updates:
                return None
            update_id = next(self.update_ids)
            self.updates.append({"update_id": update_id, kind: payload})
            self.cond.notify_all()
            return update_id

    def chat(self, chat_id: int | str) -> _Chat:
        if isinstance(chat_id, str):
            name = chat_id.removeprefix("@")
            found = next((c for c in self.chats.values() if c.username == name), None)
            if found is None:
                raise bad_request("chat not found")
            return found
        if chat_id not in self.chats:
            raise bad_request("chat not found")
        return self.chats[chat_id]

    def take_fault(self, method: str) -> _Fault | None:
        for fault in self.faults:
            if fault.remaining > 0 and fault.matches(method):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.faults.remove(fault)
                return fault
        return None

    def new_file(self, kind: str, name: str | None, mime: str | None, data: bytes) -> UploadedFile:
        n = next(self.counter)
        suffix = f".{name.rsplit('.', 1)[1]}" if name and "." in name else ""
        uploaded = UploadedFile(
            file_id=f"fake-{kind}-{n}-{secrets.token_hex(6)}",
            file_unique_id=f"u{n}",
            file_path=f"{kind}s/file_{n}{suffix}",
            file_name=name,
            mime_type=mime,
            data=data,
        )
        self.files[uploaded.file_id] = uploaded
        return uploaded

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


# --------------------------------------------------------------------------- Bot API methods

_INLINE_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


def _check_markup(markup: Any) -> dict[str, Any] | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup  # reply keyboards, ReplyKeyboardRemove, ForceReply: accepted as given
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        # approximate
        raise bad_request("can't parse reply keyboard markup JSON object: rows must be Arrays")
    for button in (b for row in rows for b in row):
        _check_button(button)
    return markup


def _check_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request("can't parse inline keyboard button: Text must be a String")  # approx.
    if not any(action in button for action in _INLINE_ACTIONS):
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        size = len(data.encode()) if isinstance(data, str) else 0
        if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button and not re.match(r"(https?|tg)://\S+$", str(button["url"])):
        raise bad_request("BUTTON_URL_INVALID")


def _photo_size(data: bytes) -> tuple[int, int]:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return 320, 240


class _BotApi:
    """The Bot API methods. Each runs under the state lock and returns a result or raises."""

    METHODS = (
        *("getMe", "getUpdates", "sendMessage", "editMessageText", "editMessageReplyMarkup"),
        *("answerCallbackQuery", "sendDocument", "sendPhoto", "sendMediaGroup", "deleteMessage"),
        *("sendChatAction", "getFile", "setMyCommands", "getMyCommands", "deleteMyCommands"),
        *("setWebhook", "deleteWebhook", "getWebhookInfo"),
    )

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.state = fake._state
        self.handlers = {
            name.lower(): (name, getattr(self, "m_" + re.sub(r"([A-Z])", r"_\1", name).lower()))
            for name in self.METHODS
        }

    # -- shared helpers

    def _target(self, p: _Params) -> _Chat:
        raw = p.raw.get("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        text = str(raw)
        chat = self.state.chat(text if text.startswith("@") else self._chat_id(text))
        if chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    @staticmethod
    def _chat_id(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise bad_request("chat not found") from None

    def _render(self, raw: str | None, parse_mode: str | None, *, caption: bool = False) -> Any:
        """Return (plain text, entities) for a text or caption, validated as Telegram does."""
        if raw is None or not raw.strip():
            if caption:
                return None, []
            raise bad_request("message text is empty")
        mode = (parse_mode or "").lower()
        if mode == "html":
            text, entities = parse_html(raw, strict_ampersand=self.fake.strict_html)
        elif mode in ("", "markdown", "markdownv2"):  # Markdown is not validated by this fake
            text, entities = raw, []
        else:
            raise bad_request("unsupported parse_mode")
        text, entities = _trim(text, entities)
        if not text and not caption:
            raise bad_request("text must be non-empty")
        limit = MAX_CAPTION_LENGTH if caption else MAX_TEXT_LENGTH
        if _utf16_len(text) > limit:
            raise bad_request("message caption is too long" if caption else "message is too long")
        return text, entities

    def _admit(self, method: str, chat: _Chat, count: int = 1) -> None:
        fake = self.fake
        now = fake.clock()
        verdict = fake._flood.admit(chat.id, chat.is_group, count, now, fake.enforce_rate_limits)
        if verdict is None:
            return
        scope, retry_after = verdict
        violation = Violation(now, method, chat.id, scope, retry_after, fake.enforce_rate_limits)
        self.state.violations.append(violation)
        if fake.enforce_rate_limits:
            raise too_many_requests(retry_after)

    def _store(self, method: str, chat: _Chat, messages: list[BotMessage]) -> None:
        for message in messages:
            chat.bot_messages[message.message_id] = message
        ids = tuple(m.message_id for m in messages)
        self.state.sent.append(SentRecord(self.fake.clock(), method, chat.id, ids))
        self.state.cond.notify_all()

    def _new_message(self, chat: _Chat, kind: str, p: _Params, **fields: Any) -> BotMessage:
        return BotMessage(
            chat_id=chat.id,
            message_id=chat.take_message_id(),
            date=int(time.time()),
            kind=kind,
            parse_mode=p.text("parse_mode"),
            **fields,
        )

    def message_json(self, message: BotMessage) -> dict[str, Any]:
        chat = self.state.chats[message.chat_id]
        out: dict[str, Any] = {
            "message_id": message.message_id,
            "from": self.fake.bot_user(),
            "chat": chat.json(),
            "date": message.date,
        }
        if message.edit_date is not None:
            out["edit_date"] = message.edit_date
        text_key = "text" if message.kind == "text" else "caption"
        if message.text is not None:
            out[text_key] = message.text
        if message.entities:
            out["entities" if message.kind == "text" else "caption_entities"] = list(
                message.entities
            )
        if message.file is not None:
            out[message.kind] = self._file_json(message.kind, message.file)
        if message.media_group_id is not None:
            out["media_group_id"] = message.media_group_id
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            out["reply_markup"] = copy.deepcopy(message.reply_markup)
        return out

    @staticmethod
    def _file_json(kind: str, uploaded: UploadedFile) -> Any:
        base = {
            "file_id": uploaded.file_id,
            "file_unique_id": uploaded.file_unique_id,
            "file_size": uploaded.size,
        }
        if kind == "photo":
            width, height = _photo_size(uploaded.data)
            return [{**base, "width": width, "height": height}]
        extra = {"file_name": uploaded.file_name, "mime_type": uploaded.mime_type}
        return {**base, **{k: v for k, v in extra.items() if v is not None}}

    def _input_file(self, p: _Params, name: str, kind: str) -> UploadedFile:
        part = p.files.get(name)
        if part is not None:
            if not part.data:
                raise bad_request("file must be non-empty")
            return self.state.new_file(kind, part.filename, part.content_type, part.data)
        value = p.text(name)
        if not value:
            raise bad_request(f"there is no {kind} in the request")
        if value in self.state.files:
            return self.state.files[value]
        if value.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        raise bad_request("wrong file identifier/HTTP URL specified")

    # -- methods

    def m_get_me(self, p: _Params) -> Any:
        return {
            **self.fake.bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def m_get_updates(self, p: _Params) -> Any:
        state = self.state
        if state.webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK)
        state.poll_generation += 1
        generation = state.poll_generation
        state.cond.notify_all()  # an earlier long poll is now terminated
        allowed = p.json("allowed_updates")
        if allowed is not None:
            state.allowed_updates = frozenset(allowed) if allowed else None
        self._confirm(p.integer("offset", 0) or 0)
        limit = min(max(p.integer("limit", 100) or 100, 1), 100)
        deadline = time.monotonic() + max(p.integer("timeout", 0) or 0, 0)
        while True:
            if generation != state.poll_generation:
                raise ApiError(409, CONFLICT_POLL)
            if state.webhook is not None:
                raise ApiError(409, CONFLICT_WEBHOOK)
            remaining = deadline - time.monotonic()
            if state.updates or remaining <= 0 or state.stopping:
                return copy.deepcopy(state.updates[:limit])
            state.cond.wait(remaining)

    def _confirm(self, offset: int) -> None:
        updates = self.state.updates
        if offset < 0:
            del updates[: max(len(updates) + offset, 0)]
        elif offset > 0:
            updates[:] = [u for u in updates if u["update_id"] >= offset]

    def m_send_message(self, p: _Params) -> Any:
        chat = self._target(p)
        text, entities = self._render(p.text("text"), p.text("parse_mode"))
        markup = _check_markup(p.json("reply_markup"))
        self._admit("sendMessage", chat)
        message = self._new_message(
            chat,
            "text",
            p,
            text=text,
            raw_text=p.text("text"),
            entities=tuple(entities),
            reply_markup=markup,
        )
        self._store("sendMessage", chat, [message])
        return self.message_json(message)

    def _message_to_edit(self, p: _Params) -> tuple[_Chat, BotMessage]:
        if p.raw.get("inline_message_id"):
            raise bad_request("message to edit not found")  # inline messages are not simulated
        chat = self._target(p)
        message = chat.bot_messages.get(p.integer("message_id") or 0)
        if message is None:
            raise bad_request("message to edit not found")
        return chat, message

    def _apply_edit(self, method: str, chat: _Chat, old: BotMessage, new: BotMessage) -> Any:
        if (old.text, old.entities, old.reply_markup) == (new.text, new.entities, new.reply_markup):
            raise bad_request(NOT_MODIFIED)
        if self.fake.rate_limits.count_edits:
            self._admit(method, chat)
        edited = replace(new, edit_date=int(time.time()), edits=old.edits + 1)
        chat.bot_messages[old.message_id] = edited
        self.state.cond.notify_all()
        return self.message_json(edited)

    def m_edit_message_text(self, p: _Params) -> Any:
        chat, old = self._message_to_edit(p)
        if old.kind != "text":
            raise bad_request("there is no text in the message to edit")
        text, entities = self._render(p.text("text"), p.text("parse_mode"))
        markup = _check_markup(p.json("reply_markup"))  # omitted: the keyboard is removed
        new = replace(
            old,
            text=text,
            raw_text=p.text("text"),
            parse_mode=p.text("parse_mode"),
            entities=tuple(entities),
            reply_markup=markup,
        )
        return self._apply_edit("editMessageText", chat, old, new)

    def m_edit_message_reply_markup(self, p: _Params) -> Any:
        chat, old = self._message_to_edit(p)
        markup = _check_markup(p.json("reply_markup"))
        return self._apply_edit(
            "editMessageReplyMarkup", chat, old, replace(old, reply_markup=markup)
        )

    def m_answer_callback_query(self, p: _Params) -> Any:
        query_id = p.text("callback_query_id") or ""
        record = self.state.callbacks.get(query_id)
        ttl = self.fake.callback_query_ttl
        expired = (
            record is not None and ttl is not None and self.fake.clock() - record.created_at > ttl
        )
        if record is None or record.answered or expired:
            raise bad_request(QUERY_INVALID)
        self.state.callbacks[query_id] = replace(
            record,
            answered=True,
            answer_text=p.text("text"),
            show_alert=p.flag("show_alert"),
            answered_at=self.fake.clock(),
        )
        self.state.cond.notify_all()
        return True

    def _send_file(self, method: str, kind: str, p: _Params) -> Any:
        chat = self._target(p)
        uploaded = self._input_file(p, kind, kind)
        caption, entities = self._render(p.text("caption"), p.text("parse_mode"), caption=True)
        markup = _check_markup(p.json("reply_markup"))
        self._admit(method, chat)
        message = self._new_message(
            chat,
            kind,
            p,
            text=caption,
            raw_text=p.text("caption"),
            entities=tuple(entities),
            reply_markup=markup,
            file=uploaded,
        )
        self._store(method, chat, [message])
        return self.message_json(message)

    def m_send_document(self, p: _Params) -> Any:
        return self._send_file("sendDocument", "document", p)

    def m_send_photo(self, p: _Params) -> Any:
        return self._send_file("sendPhoto", "photo", p)

    def m_send_media_group(self, p: _Params) -> Any:
        chat = self._target(p)
        media = p.json("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise bad_request("media group must contain 2-10 items")  # approximate
        items = [self._media_item(p, item) for item in media]
        self._admit("sendMediaGroup", chat, count=len(items))
        group_id = str(next(self.state.counter) + 10**12)
        messages = []
        for kind, uploaded, raw_caption, mode, (caption, entities) in items:
            fields = {"text": caption, "raw_text": raw_caption, "entities": tuple(entities)}
            message = self._new_message(
                chat, kind, p, file=uploaded, media_group_id=group_id, **fields
            )
            messages.append(replace(message, parse_mode=mode))
        self._store("sendMediaGroup", chat, messages)
        return [self.message_json(m) for m in messages]

    def _media_item(self, p: _Params, item: Any) -> tuple[Any, ...]:
        if not isinstance(item, dict) or item.get("type") not in ("photo", "document"):
            raise bad_request("unsupported media type in the media group")  # approximate
        kind, ref = item["type"], str(item.get("media", ""))
        if ref.startswith("attach://"):
            name = ref.removeprefix("attach://")
            if name not in p.files:
                raise bad_request("wrong file identifier/HTTP URL specified")
            uploaded = self._input_file(_Params({}, {name: p.files[name]}), name, kind)
        else:
            uploaded = self._input_file(_Params({kind: ref}, {}), kind, kind)
        mode = item.get("parse_mode")
        rendered = self._render(item.get("caption"), mode, caption=True)
        return kind, uploaded, item.get("caption"), mode, rendered

    def m_delete_message(self, p: _Params) -> Any:
        chat = self._target(p)
        if chat.bot_messages.pop(p.integer("message_id") or 0, None) is None:
            raise bad_request("message to delete not found")
        self.state.cond.notify_all()
        return True

    def m_send_chat_action(self, p: _Params) -> Any:
        self._target(p)
        return True

    def m_get_file(self, p: _Params) -> Any:
        uploaded = self.state.files.get(p.text("file_id") or "")
        if uploaded is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": uploaded.file_id,
            "file_unique_id": uploaded.file_unique_id,
            "file_size": uploaded.size,
            "file_path": uploaded.file_path,
        }

    @staticmethod
    def _commands_key(p: _Params) -> tuple[str, str]:
        scope = p.json("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), p.text("language_code") or ""

    def m_set_my_commands(self, p: _Params) -> Any:
        commands = p.json("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("commands must be an Array of at most 100 items")  # approximate
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("command description is empty")  # approximate
        key = self._commands_key(p)
        self.state.commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def m_get_my_commands(self, p: _Params) -> Any:
        return copy.deepcopy(self.state.commands.get(self._commands_key(p), []))

    def m_delete_my_commands(self, p: _Params) -> Any:
        self.state.commands.pop(self._commands_key(p), None)
        return True

    def m_set_webhook(self, p: _Params) -> Any:
        url = p.text("url") or ""
        if not url:
            return self.m_delete_webhook(p)
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.text("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")  # approximate
        if p.flag("drop_pending_updates"):
            self.state.updates.clear()
        allowed = p.json("allowed_updates")
        if allowed is not None:
            self.state.allowed_updates = frozenset(allowed) if allowed else None
        max_connections = p.integer("max_connections", 40) or 40
        self.state.webhook = _Webhook(url, secret, max_connections)
        self.state.cond.notify_all()
        return True

    def m_delete_webhook(self, p: _Params) -> Any:
        if p.flag("drop_pending_updates"):
            self.state.updates.clear()
        self.state.webhook = None
        self.state.cond.notify_all()
        return True

    def m_get_webhook_info(self, p: _Params) -> Any:
        hook = self.state.webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.state.updates),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        if self.state.allowed_updates is not None:
            info["allowed_updates"] = sorted(self.state.allowed_updates)
        return info


# --------------------------------------------------------------------------- HTTP server

_API_PATH = re.compile(r"/bot([^/]+)/([A-Za-z]+)/?")
_FILE_PATH = re.compile(r"/file/bot([^/]+)/(.+)")


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    content_type: str = "application/json"


_DROP = object()  # answer nothing: close the connection


def _json_reply(status: int, payload: dict[str, Any]) -> _Reply:
    return _Reply(status, json.dumps(payload, ensure_ascii=False).encode())


class _Dispatcher:
    """Routes an HTTP request to a Bot API method, with recording and fault injection."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.state = fake._state
        self.api = _BotApi(fake)

    def handle(self, path: str, query: str, content_type: str, body: bytes) -> _Reply | object:
        file_match = _FILE_PATH.fullmatch(path)
        if file_match:
            return self._download(*file_match.groups())
        match = _API_PATH.fullmatch(path)
        if match is None:
            return _json_reply(404, ApiError(404, "Not Found").body())
        try:
            params, files = parse_body(content_type, body)
        except ApiError as exc:
            return _json_reply(exc.code, exc.body())
        params = {**dict(urllib.parse.parse_qsl(query, keep_blank_values=True)), **params}
        return self.call(match.group(1), match.group(2), params, files)

    def call(
        self, token: str, name: str, params: dict[str, Any], files: dict[str, _Part]
    ) -> _Reply | object:
        canonical, handler = self.api.handlers.get(name.lower(), (name, None))
        record = RecordedRequest(canonical, params, {k: f.filename for k, f in files.items()}, 0.0)
        with self.state.cond:
            record.t = self.fake.clock()
            self.state.requests.append(record)
            self.state.cond.notify_all()
            fault = self.state.take_fault(canonical) if token == self.fake.token else None
        if token != self.fake.token:
            return self._finish(record, ApiError(401, "Unauthorized"))
        if handler is None:
            return self._finish(record, ApiError(404, "Not Found"))
        if fault is not None and fault.kind == "drop":
            return self._drop(record, after_processing=False)
        if fault is not None and fault.error is not None:
            return self._finish(record, fault.error)
        try:
            with self.state.cond:
                result = handler(_Params(params, files))
        except ApiError as exc:
            return self._finish(record, exc)
        if fault is not None:  # drop_after: the request took effect, the answer is lost
            return self._drop(record, after_processing=True)
        return self._finish(record, result)

    def _finish(self, record: RecordedRequest, result: Any) -> _Reply:
        if isinstance(result, ApiError):
            record.status = result.code
            return _json_reply(result.code, result.body())
        record.status = 200
        return _json_reply(200, {"ok": True, "result": result})

    def _drop(self, record: RecordedRequest, *, after_processing: bool) -> object:
        with self.state.cond:
            chat = record.params.get("chat_id")
            chat_id = None if chat is None else str(chat)
            dropped = Dropped(self.fake.clock(), record.method, after_processing, chat_id)
            self.state.dropped.append(dropped)
        return _DROP

    def _download(self, token: str, file_path: str) -> _Reply:
        if token != self.fake.token:
            return _json_reply(401, ApiError(401, "Unauthorized").body())
        with self.state.cond:
            found = next((f for f in self.state.files.values() if f.file_path == file_path), None)
        if found is None:
            return _json_reply(404, ApiError(404, "Not Found").body())
        return _Reply(200, found.data, found.mime_type or "application/octet-stream")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: a dropped reply is a clean close
    timeout = 30
    disable_nagle_algorithm = True
    """The body follows the headers in a second write: with keep-alive and Nagle on, it
    would wait for the client's delayed ACK, up to 40 ms per request."""

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        body = self._read_body()
        if body is None:
            return self._write(_json_reply(413, ApiError(413, "Request Entity Too Large").body()))
        content_type = self.headers.get("Content-Type", "")
        path = urllib.parse.unquote(url.path)  # PTB quotes file URLs (":" in the token)
        outcome = self.server.dispatcher.handle(path, url.query, content_type, body)
        if outcome is _DROP:
            self.close_connection = True
            return None
        assert isinstance(outcome, _Reply)
        return self._write(outcome)

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return None if length > MAX_BODY_BYTES else self.rfile.read(length)

    def _write(self, reply: _Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    """A bot sends concurrently (one connection per request): a backlog of 5 would drop
    SYNs and stall each dropped request for a full TCP retransmission (1 s)."""

    def __init__(self, dispatcher: _Dispatcher) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.dispatcher = dispatcher

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return  # the client went away (a cancelled long poll, a test's timeout)
        super().handle_error(request, client_address)


# --------------------------------------------------------------------------- webhook delivery


class _WebhookPusher:
    """POSTs pending updates to the webhook, one at a time, retrying with bounded backoff."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.state = fake._state
        self.thread = threading.Thread(target=self._run, name="fake-telegram-webhook", daemon=True)

    def _next(self) -> tuple[_Webhook, dict[str, Any]] | None:
        state = self.state
        with state.cond:
            while not state.stopping:
                hook = state.webhook
                if hook is not None and state.updates:
                    wait = hook.next_attempt - time.monotonic()
                    if wait <= 0:
                        return hook, copy.deepcopy(state.updates[0])
                    state.cond.wait(wait)
                else:
                    state.cond.wait(1.0)
            return None

    def _run(self) -> None:
        while (job := self._next()) is not None:
            hook, update = job
            status, error = self._post(hook, update)
            self._settle(hook, update["update_id"], status, error)

    def _post(self, hook: _Webhook, update: dict[str, Any]) -> tuple[int | None, str | None]:
        url = urllib.parse.urlsplit(hook.url)
        factory = (
            http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        )
        connection = factory(
            url.hostname or "127.0.0.1", url.port, timeout=self.fake.webhook_timeout
        )
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        try:
            path = url.path or "/"
            connection.request(
                "POST", path + (f"?{url.query}" if url.query else ""), json.dumps(update), headers
            )
            response = connection.getresponse()
            response.read()
        except TimeoutError:
            return None, "Read timeout expired"
        except OSError as exc:
            refused = isinstance(exc, ConnectionRefusedError)
            return None, "Connection refused" if refused else f"Connection failed: {exc}"
        finally:
            connection.close()
        if 200 <= response.status < 300:
            return response.status, None
        return (
            response.status,
            f"Wrong response from the webhook: {response.status} {response.reason}",
        )

    def _settle(
        self, hook: _Webhook, update_id: int, status: int | None, error: str | None
    ) -> None:
        fake, state = self.fake, self.state
        with state.cond:
            state.deliveries.append(WebhookDelivery(fake.clock(), update_id, status, error))
            head = state.updates[0]["update_id"] if state.updates else None
            if error is None or hook.failures + 1 >= fake.webhook_max_attempts:
                if head == update_id:
                    state.updates.pop(0)
                hook.failures, hook.next_attempt = 0, 0.0
            else:
                hook.failures += 1
                delay = fake.webhook_retry_delay * 2 ** (hook.failures - 1)
                hook.next_attempt = time.monotonic() + min(delay, fake.webhook_max_retry_delay)
            if error is not None:
                hook.last_error_date, hook.last_error_message = int(time.time()), error
            state.cond.notify_all()


# --------------------------------------------------------------------------- handles

_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?")


class _ChatView:
    """What the bot sent to one chat: shared by user and group handles."""

    def __init__(self, fake: FakeTelegram, chat_id: int) -> None:
        self._fake = fake
        self.chat_id = chat_id

    def messages(self) -> list[BotMessage]:
        """The bot's messages in this chat, in send order, in their current state."""
        return self._fake.messages(self.chat_id)

    def last_message(self) -> BotMessage | None:
        messages = self.messages()
        return messages[-1] if messages else None

    def wait_for(self, predicate: Callable[[BotMessage], bool], timeout: float = 2.0) -> BotMessage:
        """The first bot message in this chat matching `predicate`, waiting up to `timeout`."""
        return self._fake.wait_for_message(self.chat_id, predicate, timeout)


class FakeGroup(_ChatView):
    """A group chat the bot is a member of. Users post with `user.send_text_in(group, text)`."""

    def __init__(self, fake: FakeTelegram, chat_id: int, title: str) -> None:
        super().__init__(fake, chat_id)
        self.title = title


class FakeUser(_ChatView):
    """A Telegram user with a private chat with the bot (chat id == user id)."""

    def __init__(self, fake: FakeTelegram, user: dict[str, Any]) -> None:
        super().__init__(fake, user["id"])
        self.id = user["id"]
        self.json = user

    def send_text(self, text: str) -> int:
        """Send `text` to the bot; returns the new message's id. Commands get an entity."""
        return self._fake._user_message(self, self.chat_id, {"text": text})

    def send_command(self, command: str, payload: str | None = None) -> int:
        command = command if command.startswith("/") else f"/{command}"
        return self.send_text(f"{command} {payload}" if payload else command)

    def send_text_in(self, group: FakeGroup, text: str) -> int:
        return self._fake._user_message(self, group.chat_id, {"text": text})

    def send_sticker(self, emoji: str = "👍") -> int:
        n = next(self._fake._state.counter)
        sticker = {
            "file_id": f"fake-sticker-{n}",
            "file_unique_id": f"s{n}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._fake._user_message(self, self.chat_id, {"sticker": sticker})

    def send_photo(self, caption: str | None = None, data: bytes = b"\x89PNG\r\n\x1a\n") -> int:
        uploaded = self._fake._state.new_file("photo", "photo.jpg", "image/jpeg", data)
        photo = _BotApi._file_json("photo", uploaded)
        extra = {"caption": caption} if caption is not None else {}
        return self._fake._user_message(self, self.chat_id, {"photo": photo, **extra})

    def edit_text(self, message_id: int, new_text: str) -> None:
        """Edit one of this user's earlier messages: an `edited_message` update."""
        self._fake._edit_user_message(self.chat_id, message_id, new_text)

    def press(
        self, label: str, *, message_id: int | None = None, chat: FakeGroup | None = None
    ) -> str:
        """Press the inline button `label` on the latest bot message with an inline keyboard
        (or on `message_id`); returns the callback query id."""
        chat_id = chat.chat_id if chat is not None else self.chat_id
        return self._fake._press(self, chat_id, label, message_id)

    def callbacks(self) -> list[CallbackRecord]:
        with self._fake._state.cond:
            return [c for c in self._fake._state.callbacks.values() if c.user_id == self.id]

    def unanswered_callbacks(self) -> list[CallbackRecord]:
        return [c for c in self.callbacks() if not c.answered]

    def block(self, blocked: bool = True) -> None:
        """Block the bot: sends to this user fail with 403 "bot was blocked by the user"."""
        with self._fake._state.cond:
            self._fake._state.chats[self.chat_id].blocked = blocked


# --------------------------------------------------------------------------- the fake


class FakeTelegram:
    """A loopback Bot API server. Use as a context manager, or `start()` and `stop()`.

    Args:
        token: the one bot token accepted; others get 401 Unauthorized.
        bot_username, bot_first_name: the bot's `getMe` identity (bot id = token prefix).
        enforce_rate_limits: answer sends beyond `rate_limits` with 429 + retry_after. When
            False, sends are accepted but still recorded in `violations` (enforced=False).
        rate_limits: the flood limits, by default Telegram's.
        strict_html: reject an unescaped `&` in HTML (see `parse_html`).
        webhook_retry_delay, webhook_max_retry_delay: backoff after a failed webhook delivery.
        webhook_max_attempts: failed deliveries of one update before it is dropped.
        webhook_timeout: seconds to wait for the webhook receiver.
        callback_query_ttl: seconds after which answering a callback query fails (None: never).
        clock: time source for rate limits and record timestamps.
        first_update_id: the first `update_id` handed out.
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "parley_test_bot",
        bot_first_name: str = "Parley",
        enforce_rate_limits: bool = True,
        rate_limits: RateLimits | None = None,
        strict_html: bool = True,
        webhook_retry_delay: float = 0.05,
        webhook_max_retry_delay: float = 1.0,
        webhook_max_attempts: int = 10,
        webhook_timeout: float = 2.0,
        callback_query_ttl: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        first_update_id: int = 1,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.enforce_rate_limits = enforce_rate_limits
        self.rate_limits = rate_limits or RateLimits()
        self.strict_html = strict_html
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_max_retry_delay = webhook_max_retry_delay
        self.webhook_max_attempts = webhook_max_attempts
        self.webhook_timeout = webhook_timeout
        self.callback_query_ttl = callback_query_ttl
        self.clock = clock
        self._state = _State(first_update_id)
        self._flood = _FloodControl(self.rate_limits)
        self._dispatcher = _Dispatcher(self)
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []
        self._users: dict[int, FakeUser] = {}

    # -- lifecycle

    def start(self) -> FakeTelegram:
        if self._server is not None:
            return self
        self._state.stopping = False
        self._server = _Server(self._dispatcher)
        serve = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-telegram-http",
            daemon=True,
        )
        self._threads = [serve, _WebhookPusher(self).thread]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        with self._state.cond:
            self._state.stopping = True
            self._state.cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeTelegram is not started")
        return int(self._server.server_address[1])

    @property
    def api_root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """For `Bot(base_url=...)` / `ApplicationBuilder().base_url(...)`."""
        return f"{self.api_root}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.api_root}/file/bot"

    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # -- people and chats

    def user(
        self,
        user_id: int,
        first_name: str = "Alice",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> FakeUser:
        """A user who has started the bot (so the bot may message them); same id, same handle."""
        with self._state.cond:
            if user_id in self._users:
                return self._users[user_id]
            user = {"id": user_id, "is_bot": False, "first_name": first_name}
            extra = {"last_name": last_name, "username": username, "language_code": language_code}
            user.update({k: v for k, v in extra.items() if v is not None})
            chat = _Chat(
                user_id, "private", first_name=first_name, last_name=last_name, username=username
            )
            self._state.chats[user_id] = chat
            self._users[user_id] = FakeUser(self, user)
            return self._users[user_id]

    def group(
        self, chat_id: int = -100123, title: str = "Research group", *, username: str | None = None
    ) -> FakeGroup:
        """A group with the bot in it; ids starting with -100 are supergroups."""
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        with self._state.cond:
            self._state.chats.setdefault(
                chat_id, _Chat(chat_id, kind, title=title, username=username)
            )
        return FakeGroup(self, chat_id, title)

    def messages(self, chat_id: int) -> list[BotMessage]:
        with self._state.cond:
            return list(self._state.chat(chat_id).bot_messages.values())

    def wait_for_message(
        self, chat_id: int, predicate: Callable[[BotMessage], bool], timeout: float = 2.0
    ) -> BotMessage:
        def check() -> BotMessage | None:
            return next((m for m in self.messages(chat_id) if predicate(m)), None)

        try:
            return self._state.wait_until(check, timeout, f"a matching message in chat {chat_id}")
        except TimeoutError as exc:
            seen = [m.text for m in self.messages(chat_id)]
            raise TimeoutError(f"{exc}; the bot sent: {seen!r}") from None

    # -- simulated user actions

    def _user_message(self, user: FakeUser, chat_id: int, content: dict[str, Any]) -> int:
        with self._state.cond:
            chat = self._state.chat(chat_id)
            message = {
                "message_id": chat.take_message_id(),
                "from": dict(user.json),
                "chat": chat.json(),
                "date": int(time.time()),
                **content,
            }
            command = _COMMAND.match(content.get("text", ""))
            if command:
                message["entities"] = [
                    {"type": "bot_command", "offset": 0, "length": command.end()}
                ]
            chat.user_messages[message["message_id"]] = message
            self._state.add_update("message", copy.deepcopy(message))
            return int(message["message_id"])

    def _edit_user_message(self, chat_id: int, message_id: int, new_text: str) -> None:
        with self._state.cond:
            message = self._state.chat(chat_id).user_messages.get(message_id)
            if message is None or "text" not in message:
                raise LookupError(f"no text message {message_id} from the user in chat {chat_id}")
            message.update(text=new_text, edit_date=int(time.time()))
            self._state.add_update("edited_message", copy.deepcopy(message))

    def _press(self, user: FakeUser, chat_id: int, label: str, message_id: int | None) -> str:
        with self._state.cond:
            chat = self._state.chat(chat_id)
            message = self._keyboard_message(chat, message_id)
            button = message.button(label)
            if button is None or "callback_data" not in button:
                raise LookupError(
                    f"no callback button {label!r} on message {message.message_id}; "
                    f"buttons: {message.buttons!r}"
                )
            query_id = f"{self.bot_id}{next(self._state.counter):08d}{secrets.token_hex(3)}"
            self._state.callbacks[query_id] = CallbackRecord(
                query_id,
                user.id,
                chat_id,
                message.message_id,
                button["callback_data"],
                self.clock(),
            )
            self._state.add_update(
                "callback_query",
                {
                    "id": query_id,
                    "from": dict(user.json),
                    "message": self._dispatcher.api.message_json(message),
                    "chat_instance": str(abs(chat_id) * 7919 + self.bot_id),
                    "data": button["callback_data"],
                },
            )
            return query_id

    @staticmethod
    def _keyboard_message(chat: _Chat, message_id: int | None) -> BotMessage:
        if message_id is not None:
            if message_id not in chat.bot_messages:
                raise LookupError(f"the bot has no message {message_id} in chat {chat.id}")
            return chat.bot_messages[message_id]
        for message in reversed(chat.bot_messages.values()):
            if message.buttons:
                return message
        raise LookupError(f"no bot message with an inline keyboard in chat {chat.id}")

    # -- fault injection

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        *,
        retry_after: int | None = None,
        method: str | None = None,
        description: str | None = None,
    ) -> None:
        """Answer the next `n` matching requests with an error instead of processing them.

        `method=None` matches the send methods (`SEND_METHODS`), `"*"` any method. A 429
        carries `parameters.retry_after` (default 1); 400 descriptions get "Bad Request: ".
        """
        if status == 429:
            error = too_many_requests(retry_after or 1)
        elif status == 400:
            error = bad_request(description or "injected failure")
        else:
            error = _http_error(status, description)
        self._add_fault(_Fault("fail", n, method, error))

    def drop_next(self, n: int = 1, *, method: str | None = None) -> None:
        """Read the next `n` matching requests, then close the connection without answering."""
        self._add_fault(_Fault("drop", n, method))

    def drop_after_processing(self, n: int = 1, *, method: str | None = None) -> None:
        """Process the next `n` matching requests, then close without answering (the
        "cut off mid-request" case: the message was sent, the bot never hears so)."""
        self._add_fault(_Fault("drop_after", n, method))

    def clear_faults(self) -> None:
        with self._state.cond:
            self._state.faults.clear()

    def _add_fault(self, fault: _Fault) -> None:
        with self._state.cond:
            self._state.faults.append(fault)

    # -- records

    def _copy(self, items: Iterable[Any]) -> list[Any]:
        with self._state.cond:
            return list(items)

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._copy(self._state.requests)

    def requests_for(self, method: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method.lower() == method.lower()]

    @property
    def sent(self) -> list[SentRecord]:
        return self._copy(self._state.sent)

    @property
    def violations(self) -> list[Violation]:
        return self._copy(self._state.violations)

    @property
    def dropped(self) -> list[Dropped]:
        return self._copy(self._state.dropped)

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        return self._copy(self._state.deliveries)

    @property
    def callbacks(self) -> list[CallbackRecord]:
        return self._copy(self._state.callbacks.values())

    @property
    def files(self) -> list[UploadedFile]:
        return self._copy(self._state.files.values())

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed (getUpdates offset) or delivered (webhook)."""
        with self._state.cond:
            return copy.deepcopy(self._state.updates)

    @property
    def webhook_url(self) -> str | None:
        with self._state.cond:
            return self._state.webhook.url if self._state.webhook else None

    @property
    def commands(self) -> dict[tuple[str, str], list[dict[str, str]]]:
        """setMyCommands results by (scope as sorted JSON, language_code)."""
        with self._state.cond:
            return copy.deepcopy(self._state.commands)

    def commands_for(
        self, language_code: str = "", scope: dict[str, Any] | None = None
    ) -> list[tuple[str, str]]:
        key = (json.dumps(scope or {"type": "default"}, sort_keys=True), language_code)
        return [(c["command"], c["description"]) for c in self.commands.get(key, [])]

    def wait_for_request(
        self,
        method: str,
        predicate: Callable[[RecordedRequest], bool] = lambda r: True,
        timeout: float = 2.0,
    ) -> RecordedRequest:
        """The first recorded request to `method` matching `predicate`, waiting up to `timeout`."""

        def check() -> RecordedRequest | None:
            found = (r for r in self._state.requests if r.method.lower() == method.lower())
            return next((r for r in found if predicate(r)), None)

        return self._state.wait_until(check, timeout, f"a {method} request")

    def wait_until(
        self, check: Callable[[], Any], timeout: float = 2.0, what: str = "a condition"
    ) -> Any:
        """Wait (bounded) until `check()` is truthy; re-checked on every state change."""
        return self._state.wait_until(check, timeout, what)
