"""The Slack channel: slack-bolt for receiving (signatures, acks), the async Web client for sending.

Every listener acknowledges first and handles after: Slack wants its HTTP 200 within three
seconds, whatever the database is doing. Bolt's request verification (v0 HMAC, five-minute
window) and self-event filtering run as its own middleware; Parley adds one more: Slack's
retries (`X-Slack-Retry-Num`) and redelivered `event_id`s reach the handler, whose
inbound-events table makes them no-ops, so nothing is recorded or said twice.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.base import DeliveryError, EventSink, InboundEvent
from bot.channels.slack_chat import ChatCalls
from bot.channels.slack_format import (
    PLATFORM,
    SlackMessage,
    home_view,
    render,
    to_inbound_action,
    to_inbound_command,
    to_inbound_message,
)
from bot.pacing import PacingRules, RateLimit
from bot.slack_modals import GROUP_MODAL, GroupModal
from conversations.messages import Gallery, Message, Rich

__all__ = ["HomeSource", "SlackChannel", "slack_pacing"]

log = logging.getLogger(__name__)

HomeSource = Callable[[str], Awaitable[tuple[str, str, bool, str]]]
"""user id → (title, progress line, can continue, button label) for the App Home tab."""

_THREADS_KEPT = 256
"""Thread keys remembered (`Rich.thread` → the ts of the message that started it)."""

_PERMANENT = frozenset(
    {"invalid_auth", "account_inactive", "token_revoked", "channel_not_found", "not_in_channel",
     "user_not_found", "cannot_dm_bot", "invalid_blocks", "msg_too_long", "no_text",
     "is_archived", "user_disabled", "missing_scope", "not_authed"}
)  # fmt: skip


def slack_pacing() -> PacingRules:
    """chat.postMessage: about 1 message/s per conversation (bursts tolerated). Slack states
    no fixed workspace-wide figure for it; 50/s keeps a fan-out from being a flood.
    chat.update is Tier 3 (50+ per minute for the workspace): transcript rewrites are
    paced below it, and put off rather than waited for when its budget is spent."""
    return PacingRules(
        overall=RateLimit(50.0, burst=50.0),
        direct=RateLimit(0.95, burst=2.0),
        group=RateLimit(0.95, burst=2.0),
        edits=RateLimit.per_minute(40, burst=10.0),
    )


class SlackChannel:
    name = PLATFORM

    def __init__(
        self,
        *,
        bot_token: str,
        signing_secret: str | None,
        api_url: str,
        app_token: str | None = None,
        home: HomeSource | None = None,
        modals: GroupModal | None = None,
    ) -> None:
        self.client = AsyncWebClient(token=bot_token, base_url=api_url)
        self.client.retry_handlers.append(AsyncConnectionErrorRetryHandler(max_retry_count=2))
        self.chat = ChatCalls(self.client)
        """chat.postMessage and chat.update, made for every answer, without slack_sdk's
        per-call overhead (`bot.channels.slack_chat`)."""
        self.app = AsyncApp(
            client=self.client,
            signing_secret=signing_secret or "",
            request_verification_enabled=signing_secret is not None,  # off only in Socket Mode
            raise_error_for_unhandled_request=False,
        )
        self.app_token = app_token
        self.home = home
        self.modals = modals
        """The discussion-group modal (`/parley group new`), for researchers."""
        self.pacing = slack_pacing()
        self.receiving = True
        """False in a process that only sends (`parley run --role dispatcher`): no Socket
        Mode connection then (HTTP mode receives only where `/slack/events` is served)."""
        self._sink: EventSink | None = None
        self._dm: dict[str, str] = {}
        self._profiles: dict[str, tuple[str | None, str | None, str | None]] = {}
        self._threads: OrderedDict[str, str] = OrderedDict()
        """Where each thread started (a digest's first post): its later parts and charts
        are replies there. A cache: after a restart mid-digest they post to the channel."""
        self._stopped = asyncio.Event()
        self._ready = asyncio.Event()
        self._socket: AsyncSocketModeHandler | None = None
        self._register()

    # --- receiving ----------------------------------------------------------------------

    def _register(self) -> None:
        self.app.event("message")(self._on_message)
        self.app.event("app_home_opened")(self._on_home)
        self.app.action(re.compile(".*"))(self._on_action)  # every button, select and tick
        self.app.command("/parley")(self._on_command)
        self.app.view(GROUP_MODAL)(self._on_view)

    async def start(self, sink: EventSink) -> None:
        self._sink = sink
        self._ready.set()
        # One HTTP session for every Web API call: without it slack_sdk opens (and tears
        # down) a connection per call, about half of the client's cost under load.
        self.client.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        await self.client.auth_test()
        if self.app_token and self.receiving:
            self._socket = AsyncSocketModeHandler(self.app, self.app_token)
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
        await self._stopped.wait()

    async def stop(self) -> None:
        self._stopped.set()
        if self._socket is not None:
            with contextlib.suppress(Exception):
                await self._socket.close_async()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        """After the dispatcher has stopped: release the shared HTTP session."""
        if self.client.session is not None:
            await self.client.session.close()

    async def http_handler(self, request: web.Request) -> web.Response:
        """POST /slack/events: events, interactivity and slash commands (HTTP mode)."""
        try:
            bolt_request = await to_bolt_request(request)
        except ValueError:  # a body that is not JSON or a form: nothing Slack would send
            return web.Response(status=400, text="invalid request body")
        response = await self.app.async_dispatch(bolt_request)
        if response.status == 404:  # an event type or action we do not handle: ack, ignore
            log.info("ignored an unhandled Slack request")
            return web.Response(status=200)
        return await to_aiohttp_response(response)

    async def _on_message(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        inbound = to_inbound_message(event, str(body.get("event_id", "")))
        if inbound is not None:
            await self._submit(inbound)

    async def _on_action(self, ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        await ack()
        inbound = to_inbound_action(body)
        if inbound is not None:
            await self._submit(inbound)

    async def _on_command(self, ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        await ack()
        if self.modals is not None and await self.modals.open(self.client, body):
            return
        await self._submit(to_inbound_command(body))

    async def _on_view(self, ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        """A submitted modal: its errors shown under the fields, or the modal closes and
        the command it stands for is handled like a typed one."""
        outcome = self.modals.submitted(body) if self.modals is not None else {}
        if isinstance(outcome, dict):
            if outcome:
                await ack(response_action="errors", errors=outcome)
            else:
                await ack()
            return
        await ack()
        await self._submit(outcome)

    async def _on_home(self, event: dict[str, Any]) -> None:
        user = event.get("user")
        if self.home is None or not user or event.get("tab") not in (None, "home"):
            return
        title, progress, can_continue, label = await self.home(str(user))
        with contextlib.suppress(SlackApiError):
            await self.client.views_publish(
                user_id=str(user), view=home_view(title, progress, can_continue, label)
            )

    async def _submit(self, event: InboundEvent) -> None:
        await self._ready.wait()  # HTTP can deliver before start() has run
        assert self._sink is not None
        try:
            await self._sink(await self._with_profile(event))
        except Exception:  # already acknowledged: log, never let Slack see a 500
            log.exception("handling slack event %s failed", event.event_id)

    # --- sending ------------------------------------------------------------------------

    async def send(self, address: str, message: Message, target: str | None = None) -> str | None:
        try:
            if isinstance(message, Rich):
                return await self._post_rich(address, message)
            if isinstance(message, Gallery):
                return await self._upload_images(address, message)
            return await self._deliver(address, render(message), target)
        except SlackApiError as exc:
            raise _delivery_error(exc) from exc
        except (TimeoutError, OSError) as exc:
            raise DeliveryError(repr(exc)) from exc

    async def _deliver(
        self, address: str, rendered: SlackMessage, target: str | None
    ) -> str | None:
        if "/" in address:  # a command's reply: only its author sees it
            channel, user = address.split("/", 1)
            await self.client.chat_postEphemeral(
                channel=channel, user=user, text=rendered.text, blocks=list(rendered.blocks) or None
            )
            return None
        if rendered.ephemeral:
            channel = await self._dm_channel(address)
            await self.client.chat_postEphemeral(channel=channel, user=address, text=rendered.text)
            return None
        if rendered.file is not None:
            return await self._upload(address, rendered)
        if rendered.edit and target is not None:
            target_channel, ts = target.split("|", 1)
            await self.chat.update(target_channel, ts, rendered.text, list(rendered.blocks))
            return target
        if rendered.edit and not any(b["type"] == "actions" for b in rendered.blocks):
            return None  # nothing to rewrite and nothing new to show
        posted: str | None = None
        for part in (rendered, *rendered.extra):
            # Posting to the user id lands in the app's DM with them, without the
            # rate-limited conversations.open; the reply names the DM channel.
            channel = self._dm.get(address, address)
            reply = await self.chat.post_message(channel, part.text, list(part.blocks))
            self._dm[address] = str(reply["channel"])
            posted = f"{reply['channel']}|{reply['ts']}"
        return posted

    async def _post_rich(self, address: str, rich: Rich) -> str:
        """Blocks laid out by the renderer, posted as given; a thread's first post starts it."""
        thread_ts = self._threads.get(rich.thread) if rich.thread else None
        reply = await self.client.chat_postMessage(
            channel=address, text=rich.text, blocks=[dict(b) for b in rich.blocks] or None,
            thread_ts=thread_ts,
        )  # fmt: skip
        if rich.thread and thread_ts is None:
            self._remember_thread(rich.thread, str(reply["ts"]))
        return f"{reply['channel']}|{reply['ts']}"

    def _remember_thread(self, key: str, ts: str) -> None:
        self._threads[key] = ts
        while len(self._threads) > _THREADS_KEPT:
            self._threads.popitem(last=False)

    async def _upload_images(self, address: str, gallery: Gallery) -> str | None:
        """PNGs into the channel (files upload v2: one getUploadURLExternal and upload per
        image, one completeUploadExternal), in the thread when it is known, with alt texts."""
        uploads = [
            {
                "content": base64.b64decode(image.png_base64),
                "filename": image.filename,
                "title": image.title,
                "alt_txt": image.alt,
            }
            for image in gallery.images
        ]
        reply = await self.client.files_upload_v2(
            file_uploads=uploads,
            channel=address,
            thread_ts=self._threads.get(gallery.thread) if gallery.thread else None,
        )
        files = reply.get("files") or []
        return ",".join(str(f.get("id")) for f in files if f.get("id")) or None

    async def _upload(self, user: str, rendered: SlackMessage) -> str | None:
        """A file into the DM (getUploadURLExternal, upload, completeUploadExternal)."""
        document = rendered.file
        assert document is not None
        reply = await self.client.files_upload_v2(
            channel=await self._dm_channel(user),
            content=document.content.encode(),
            filename=document.filename,
            title=document.filename,
            initial_comment=rendered.text or None,
        )
        uploaded = reply.get("file") or {}
        return str(uploaded.get("id")) if uploaded.get("id") else None

    async def _dm_channel(self, user: str) -> str:
        channel = self._dm.get(user)
        if channel is None:
            opened = await self.client.conversations_open(users=user)
            channel = self._dm[user] = str(opened["channel"]["id"])
        return channel

    async def _with_profile(self, event: InboundEvent) -> InboundEvent:
        """Name and language from the Slack profile (cached), for open enrollment."""
        if event.command:
            return event
        if event.sender not in self._profiles:
            self._profiles[event.sender] = await self._profile(event.sender)
        name, language, zone = self._profiles[event.sender]
        return replace(event, display_name=name, language=language, time_zone=zone)

    async def _profile(self, user: str) -> tuple[str | None, str | None, str | None]:
        """Name, language and time zone (an IANA name: Slack keeps one per person)."""
        try:
            info = await self.client.users_info(user=user, include_locale=True)
        except SlackApiError:
            return None, None, None
        person = info.get("user") or {}
        locale = str(person.get("locale") or "")
        name = person.get("real_name") or person.get("name")
        return name, locale.split("-")[0] or None, person.get("tz") or None


def _delivery_error(exc: SlackApiError) -> DeliveryError:
    response = exc.response
    status = getattr(response, "status_code", 200)
    error = str(response.get("error", "")) if response is not None else ""
    if status == 429 or error == "ratelimited":
        retry_after = float(response.headers.get("Retry-After", 1)) if response else 1.0
        return DeliveryError(
            f"slack: ratelimited (retry after {retry_after:g}s)", retry_after=retry_after
        )
    return DeliveryError(f"slack: {error or status}", permanent=error in _PERMANENT)
