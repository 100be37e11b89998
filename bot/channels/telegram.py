"""The Telegram channel: python-telegram-bot's `Bot` for the API, our own update loop.

Why not PTB's `Updater`/`Application`: the Updater confirms a batch of updates (the next
`getUpdates` offset) as soon as it has fetched them, before our transaction commits, so
a crash would lose them. Here an update's offset is confirmed only after the handling
transaction that recorded it has committed: a crash re-delivers, and the inbound-event
table makes the re-delivery a no-op. PTB's `AIORateLimiter` does not fit either: it has
no per-chat limit and pauses every request on a 429, while our dispatcher paces per
chat and reschedules only the message that was refused (see `bot/pacing.py`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Awaitable, Callable
from functools import partial

from telegram import Bot, BotCommand, InputFile, InputMediaPhoto, Message, Update
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.channels.base import DeliveryError, EventSink
from bot.channels.telegram_format import PLATFORM, Rendered, render, to_inbound
from bot.pacing import PacingRules, RateLimit
from conversations.catalog import translate
from conversations.messages import Gallery
from conversations.messages import Message as Outgoing

__all__ = ["TelegramChannel", "telegram_pacing"]

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]
COMMANDS = ("back", "skip", "pause", "help", "language", "progress", "stop")
_NOT_MODIFIED = "message is not modified"


def telegram_pacing() -> PacingRules:
    """Telegram's limits (30/s per bot, ~1/s per chat with bursts, 20/min per group), kept
    with a margin: our clock and Telegram's see the same sends a few milliseconds apart, so
    pacing exactly at the limit would trip it now and then. The limits are on messages
    sent; edits (a question turned into its answer, a ticked box) get a budget of their
    own at the same rate instead of taking turns with new questions."""
    return PacingRules(
        overall=RateLimit(29.0, burst=10.0),
        direct=RateLimit(0.95, burst=2.0),
        group=RateLimit.per_minute(19.0, burst=2.0),
        is_group=lambda address: address.startswith("-"),
        edits=RateLimit(25.0, burst=10.0),
        edits_count_as_messages=False,
    )


class TelegramChannel:
    name = PLATFORM

    @staticmethod
    def counted_messages(message: Outgoing) -> int:
        """How many messages Telegram counts a send as (for pacing): a media group is one
        per photo, against the group's 20 a minute too."""
        if isinstance(message, Gallery):
            return max(1, len(message.images))
        return 1

    def __init__(
        self,
        bot: Bot,
        *,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        poll_timeout: int = 10,
        concurrent_sends: int = 8,
    ) -> None:
        self.bot = bot
        self._sending = asyncio.Semaphore(concurrent_sends)
        """Requests on the wire at once, at most the bot's HTTP pool: httpx's pool does
        work for every connection and every queued request on each request, so a
        dispatcher handing it a hundred sends at once spent three times the CPU per
        update (measured with kept-alive connections, as the Bot API keeps them)."""
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.poll_timeout = poll_timeout
        self.pacing = telegram_pacing()
        self.receiving = True
        """False in a process that only sends (`parley run --role dispatcher`): `start`
        then neither polls nor sets the webhook, which the web processes serve."""
        self._sink: EventSink | None = None
        self._stopped = asyncio.Event()
        self._ready = asyncio.Event()

    @property
    def username(self) -> str:
        return self.bot.username

    async def start(self, sink: EventSink) -> None:
        self._sink = sink
        self._ready.set()
        await self._retrying(self.bot.initialize)
        if not self.receiving:
            await self._stopped.wait()
            return
        await self._register_commands()
        if self.webhook_url:
            await self._retrying(self._set_webhook)
            await self._stopped.wait()
        else:
            await self._retrying(self.bot.delete_webhook)
            await self._poll(sink)

    async def stop(self) -> None:
        self._stopped.set()

    # --- receiving ----------------------------------------------------------------------

    async def _poll(self, sink: EventSink) -> None:
        offset: int | None = None
        while not self._stopped.is_set():
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES
                )
            except InvalidToken:
                raise
            except TelegramError as exc:
                log.warning("getUpdates failed, retrying: %s", exc)
                await self._pause(2.0)
                continue
            if not updates:
                continue
            await asyncio.gather(*(self.process(update, sink) for update in updates))
            offset = updates[-1].update_id + 1  # confirmed only after every commit above

    async def process(self, update: Update, sink: EventSink | None = None) -> None:
        """Handle one update to commit, then answer its button press (if any)."""
        if sink is None:
            await self._ready.wait()  # a webhook can deliver before start() has run
            sink = self._sink
        assert sink is not None
        event = to_inbound(update)
        notices: tuple[str, ...] = ()
        if event is not None:
            receipt = await sink(event)
            notices = receipt.notices
        if update.callback_query is not None:
            with contextlib.suppress(TelegramError):
                await self.bot.answer_callback_query(
                    update.callback_query.id, text=" ".join(notices) or None
                )

    async def process_json(self, data: object) -> None:
        """A webhook delivery (already authenticated by the HTTP layer)."""
        update = Update.de_json(data, self.bot)  # type: ignore[arg-type]
        if update is not None:
            await self.process(update)

    # --- sending ------------------------------------------------------------------------

    async def send(self, address: str, message: Outgoing, target: str | None = None) -> str | None:
        rendered = render(message)
        if rendered is None:
            return None
        try:
            async with self._sending:
                return await self._deliver(int(address), rendered, target)
        except RetryAfter as exc:
            raise DeliveryError(str(exc), retry_after=_seconds(exc.retry_after)) from exc
        except Forbidden as exc:
            raise DeliveryError(str(exc), permanent=True) from exc
        except BadRequest as exc:
            if _NOT_MODIFIED in str(exc).lower():
                return target
            raise DeliveryError(str(exc), permanent=True) from exc
        except (TimedOut, NetworkError) as exc:
            raise DeliveryError(str(exc)) from exc

    async def _deliver(self, chat_id: int, rendered: Rendered, target: str | None) -> str | None:
        if rendered.edit:
            if target is None:
                return None if not rendered.keyboard else await self._send_new(chat_id, rendered)
            edited = await self.bot.edit_message_text(
                rendered.chunks[0][:4096],
                chat_id=chat_id,
                message_id=int(target),
                parse_mode="HTML",
                reply_markup=rendered.keyboard,
            )
            return str(edited.message_id) if isinstance(edited, Message) else target
        if rendered.document is not None:
            return await self._send_document(chat_id, rendered)
        if rendered.gallery is not None:
            return await self._send_images(chat_id, rendered)
        return await self._send_new(chat_id, rendered)

    async def _send_images(self, chat_id: int, rendered: Rendered) -> str:
        """One photo (`sendPhoto`) or a media group of 2-10 (`sendMediaGroup`), each with
        its alt text as an HTML caption (escaped by `render`)."""
        assert rendered.gallery is not None
        images = rendered.gallery.images
        if len(images) == 1:
            photo = InputFile(base64.b64decode(images[0].png_base64), filename=images[0].filename)
            sent = await self.bot.send_photo(
                chat_id, photo, caption=rendered.chunks[0] or None, parse_mode="HTML"
            )
            return str(sent.message_id)
        media = [
            InputMediaPhoto(
                base64.b64decode(image.png_base64),
                caption=caption or None,
                parse_mode="HTML",
                filename=image.filename,
            )
            for image, caption in zip(images, rendered.chunks, strict=True)
        ]
        group = await self.bot.send_media_group(chat_id, media)
        return str(group[0].message_id)

    async def _send_document(self, chat_id: int, rendered: Rendered) -> str:
        """A file as a document (multipart upload), its caption the first chunk of text."""
        document = rendered.document
        assert document is not None
        upload = InputFile(document.content.encode(), filename=document.filename)
        sent = await self.bot.send_document(
            chat_id,
            upload,
            caption=rendered.chunks[0] if rendered.chunks else None,
            parse_mode="HTML",
        )
        return str(sent.message_id)

    async def _send_new(self, chat_id: int, rendered: Rendered) -> str:
        last: Message | None = None
        for index, chunk in enumerate(rendered.chunks):
            keyboard = rendered.keyboard if index == len(rendered.chunks) - 1 else None
            last = await self.bot.send_message(
                chat_id, chunk, parse_mode="HTML", reply_markup=keyboard
            )
        assert last is not None
        return str(last.message_id)

    # --- setup --------------------------------------------------------------------------

    async def _register_commands(self) -> None:
        for language in ("en", "fr"):
            commands = [
                BotCommand(name, translate(f"command.{name}", language)) for name in COMMANDS
            ]
            code = None if language == "en" else language
            await self._retrying(partial(self.bot.set_my_commands, commands, language_code=code))

    async def _set_webhook(self) -> bool:
        return await self.bot.set_webhook(
            str(self.webhook_url),
            secret_token=self.webhook_secret,
            allowed_updates=ALLOWED_UPDATES,
        )

    async def _retrying(self, call: Callable[[], Awaitable[object]], attempts: int = 5) -> object:
        for attempt in range(1, attempts + 1):
            try:
                return await call()
            except InvalidToken:
                raise
            except RetryAfter as exc:
                await self._pause(_seconds(exc.retry_after))
            except (TimedOut, NetworkError) as exc:
                if attempt == attempts:
                    raise
                log.warning("Telegram call failed (attempt %d): %s", attempt, exc)
                await self._pause(min(2.0**attempt, 30.0))
        return None

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), seconds)


def _seconds(retry_after: object) -> float:
    total = getattr(retry_after, "total_seconds", None)
    return float(total()) if callable(total) else float(retry_after)  # type: ignore[arg-type]
