"""The composition root: build everything from Settings, run it, stop it cleanly.

Nothing is created at import time. Tests call `build()` with their own settings, streams
and clock and get the same wiring production runs.

A process plays one role (#8, `PARLEY_ROLE` / `parley run --role`): `all` (the default,
and the only one on SQLite), or, with several processes on PostgreSQL, `web` (receive
and handle events; any number), `dispatcher` (send; elected per platform) or
`scheduler` (run jobs; elected). Elections use advisory locks (`bot.leader`); outbox
rows and scheduled sends written in one process wake the dispatcher and the scheduler
in another (`bot.notices`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from sqlalchemy import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.channels.base import Channel, EventSink, InboundEvent, Receipt
from bot.channels.console import ConsoleChannel, ResearchConsole
from bot.channels.slack import SlackChannel
from bot.channels.telegram import TelegramChannel
from bot.digest_posting import DigestPoster, DigestRequests
from bot.digests import CONSOLE_ADDRESS, Digests, parse_plan
from bot.dispatcher import Dispatcher, dispatcher_role
from bot.handling import Access, Handled, Handler
from bot.home import home_status
from bot.http import HttpServer, telegram_webhook
from bot.leader import Leadership
from bot.notices import OUTBOX, SCHEDULES, listen
from bot.outages import OUTAGE_DELAYS, unreachable
from bot.processing import EventProcessor
from bot.questionnaires import QuestionnaireBook
from bot.readiness import Readiness
from bot.researcher import parse_command
from bot.researcher_commands import Desk, scheduling_command
from bot.roles import RoleError, parse_researchers, researcher_check
from bot.scheduling import Scheduler, Scheduling, parse_quiet_hours
from bot.settings import Settings
from bot.slack_modals import GroupModal
from bot.timing import TimingError, parse_zone
from conversations.inputs import Reply
from storage.db import make_engine, make_session_factory
from storage.migrate import ensure_schema
from storage.unit_of_work import UnitOfWork

__all__ = [
    "ROLES",
    "App",
    "ConfigurationError",
    "ConsoleOptions",
    "Election",
    "build",
    "telegram_bot",
    "utc_now",
]

ROLES = ("all", "web", "dispatcher", "scheduler")
"""What one `parley run` process does (see the module docstring)."""

log = logging.getLogger(__name__)


class ConfigurationError(Exception):
    """A setting is missing or contradicts another: said in one line at start-up."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ConsoleOptions:
    user: str
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    language: str | None = None


@dataclass(frozen=True)
class Election:
    """A role this process campaigns for: what to do when elected and when deposed."""

    leadership: Leadership
    elected: Callable[[], Any]
    deposed: Callable[[], Any]


@dataclass
class App:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    book: QuestionnaireBook
    handler: Handler
    processor: EventProcessor
    dispatcher: Dispatcher
    channels: dict[str, Channel]
    http: HttpServer | None = None
    scheduler: Scheduler | None = None
    leadership: Leadership | None = None
    """Who runs the scheduler when several processes share PostgreSQL (`bot.leader`)."""
    digest_requests: DigestRequests | None = None
    """Builds and posts the digests researchers ask for in chat, after the commit."""
    role: str = "all"
    elections: list[Election] = field(default_factory=list)
    """The dispatchers' elections (one per platform), when several processes may run."""
    readiness: Readiness | None = None
    """`GET /readyz` (`bot.readiness`): ready once started, not ready from the stop on."""

    @property
    def receives(self) -> bool:
        return self.role in ("all", "web")

    @property
    def sends(self) -> bool:
        return self.role in ("all", "dispatcher")

    def about(self) -> dict[str, Any]:
        """What `GET /healthz` says of this process: its role and the roles it holds now."""
        held = [e.leadership for e in self.elections]
        if self.leadership is not None:
            held.append(self.leadership)
        return {"role": self.role, "leads": sorted(h.scope for h in held if h.leading)}

    async def run(self) -> None:
        """Run until every receiving channel has stopped (console end-of-input) or a signal."""
        if self.http is not None:
            if self.readiness is not None:
                self.http.set_readiness(self.readiness, about=self.about)
            await self.http.start()
        if self.digest_requests is not None and self.receives:
            self.digest_requests.wake()  # any request a stop or crash left unposted
        workers: list[asyncio.Future[Any]] = [*await self._campaign(), *await self._elect()]
        if self.receives:
            workers.append(asyncio.create_task(self.processor.run(), name="processor"))
        if self.sends:
            workers.append(asyncio.create_task(self.dispatcher.run(), name="dispatcher"))
            if _is_postgres(self.settings.database_url):
                listening = listen(self.settings.database_url, OUTBOX, self.dispatcher.wake)
                workers.append(asyncio.create_task(listening, name="outbox-notices"))
        receivers = [
            asyncio.create_task(channel.start(self._sink_for(channel)), name=name)
            for name, channel in self.channels.items()
            if self.receives or self.sends  # a sender's channels connect, not receive
        ]
        if receivers:
            workers.append(asyncio.gather(*receivers))
        if self.readiness is not None:
            self.readiness.ready()
        stop = asyncio.Event()
        _on_signals(stop.set)
        stopper = asyncio.create_task(stop.wait(), name="signals")
        try:
            done, _ = await asyncio.wait([stopper, *workers], return_when=asyncio.FIRST_COMPLETED)
        finally:
            await self._shutdown([*receivers, stopper, *workers])
        failures = [t.exception() for t in done if t is not stopper and not t.cancelled()]
        for failure in failures:
            if failure is not None:
                raise failure

    async def _campaign(self) -> list[asyncio.Future[Any]]:
        """Start the scheduler here if this process leads; keep campaigning if it does not.

        The first attempt is awaited, so a leader reconciles before channels start.
        """
        scheduler, leadership = self.scheduler, self.leadership
        if scheduler is None:
            return []
        if leadership is None:
            await scheduler.start()  # inside the running loop, as AsyncIOScheduler needs
            return []
        await leadership.attempt(scheduler.start, scheduler.step_down)
        campaign = leadership.campaign(scheduler.start, scheduler.step_down)
        tasks: list[asyncio.Future[Any]] = [asyncio.create_task(campaign, name="leadership")]
        if _is_postgres(self.settings.database_url):  # rows made by other processes
            tasks.append(asyncio.create_task(_follow_schedules(self), name="schedule-notices"))
        return tasks

    async def _elect(self) -> list[asyncio.Future[Any]]:
        """The dispatchers' campaigns, one per platform; the first attempts are awaited
        so a sole process sends from its first moment."""
        tasks: list[asyncio.Future[Any]] = []
        for election in self.elections:
            leadership = election.leadership
            await leadership.attempt(election.elected, election.deposed)
            campaign = leadership.campaign(election.elected, election.deposed)
            tasks.append(asyncio.create_task(campaign, name=leadership.scope))
        return tasks

    def _sink_for(self, channel: Channel) -> EventSink:
        if isinstance(channel, ConsoleChannel):
            return self.submit_and_wait
        return self.submit

    async def submit(self, event: InboundEvent) -> Receipt:
        """Handle; the receipt carries the notices a channel shows (button toasts)."""
        return await self.processor.submit(event)

    async def submit_and_wait(self, event: InboundEvent) -> Receipt:
        """Handle, then wait until the replies went out: the console reads in turns."""
        handled = await self.processor.submit(event)
        await self.dispatcher.settled(handled.outbox_ids)
        return handled

    async def _shutdown(self, tasks: list[asyncio.Future[Any]]) -> None:
        if self.readiness is not None:
            self.readiness.not_ready("stopping")  # a load balancer drains this process
        for channel in self.channels.values():
            await channel.stop()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.digest_requests is not None:
            await self.digest_requests.stop()
        if self.http is not None:
            await self.http.stop()
        for channel in self.channels.values():
            closer = getattr(channel, "close", None)
            if closer is not None:
                with contextlib.suppress(Exception):
                    await closer()
        if self.scheduler is not None:
            self.scheduler.shutdown()
        if self.leadership is not None:
            self.leadership.release()
        for election in self.elections:
            election.leadership.release()
        self.processor.close()
        self.dispatcher.close()
        if self.readiness is not None:
            self.readiness.close()
        self.engine.dispose()


def build(
    settings: Settings,
    *,
    console: ConsoleOptions | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> App:
    problem = settings.research_channel_problem() or _role_problem(settings, console)
    if problem is not None:
        raise ConfigurationError(problem)
    role = settings.role.strip().lower()
    try:  # seeded as stored roles when the Handler is built (`bot.roles`)
        researchers = parse_researchers(settings.researchers)
    except RoleError as error:
        raise ConfigurationError(str(error)) from None
    book = QuestionnaireBook.from_file(settings.questionnaire)  # a bad file touches no database
    engine = make_engine(settings.database_url)
    try:
        _when_reachable(lambda: ensure_schema(engine))
    except BaseException:
        engine.dispose()
        raise
    session_factory = make_session_factory(engine)
    with UnitOfWork(session_factory) as uow:
        book.store_current(uow.session)
        uow.commit()
    channels: dict[str, Channel] = {}
    if console is not None:
        channels["console"] = ConsoleChannel(
            console.user,
            console.stdin,
            console.stdout,
            language=console.language,
            interactive=console.stdin.isatty(),
        )
    http = (
        HttpServer(settings.http_host, settings.http_port)
        if role != "all" or _needs_http(settings)
        else None
    )
    receiving = http if role in ("all", "web") else None  # webhooks only where received
    if settings.telegram_token is not None:
        channels["telegram"] = _telegram(settings, receiving)
    if settings.slack_bot_token is not None:
        channels["slack"] = _slack(settings, receiving, session_factory, book)
    for channel in channels.values():
        if hasattr(channel, "receiving"):
            channel.receiving = role in ("all", "web")
    if "console" not in channels:  # digests without a research channel are printed
        channels["console"] = ResearchConsole(sys.stdout)
    research = settings.research_address or CONSOLE_ADDRESS
    access = Access(
        open_enrollment=settings.open_enrollment,
        research_address=settings.research_address,
        researchers=researchers,
        desk=Desk(settings.researcher_time_zone, settings.questionnaire.parent, research),
    )
    handler = Handler(session_factory, book, clock, access=access)
    elected = [name for name in channels if name in PLATFORMS] if _is_postgres(settings) else []
    dispatcher = Dispatcher(session_factory, channels, clock, elected=elected)
    scheduler = (
        _scheduler(settings, session_factory, book, clock, dispatcher)
        if settings.scheduler and role in ("all", "scheduler")
        else None
    )
    requests = DigestRequests(DigestPoster(session_factory, book, clock), dispatcher.wake)
    processor = EventProcessor(handler, on_committed=_after_commit(dispatcher, scheduler, requests))
    return App(
        settings,
        engine,
        session_factory,
        book,
        handler,
        processor,
        dispatcher,
        channels,
        http,
        scheduler,
        Leadership(settings.database_url) if scheduler is not None else None,
        requests,
        role,
        _dispatcher_elections(settings, dispatcher, elected)
        if role in ("all", "dispatcher")
        else [],
        readiness=Readiness(session_factory, clock) if http is not None else None,
    )


PLATFORMS = ("telegram", "slack")
"""Channels with a platform account, whose sending is elected (console is per process)."""


def _is_postgres(settings_or_url: Settings | str) -> bool:
    url = settings_or_url if isinstance(settings_or_url, str) else settings_or_url.database_url
    return make_url(url).get_backend_name() == "postgresql"


def _role_problem(settings: Settings, console: ConsoleOptions | None) -> str | None:
    """What is wrong with `role` given the rest, in one line; None if nothing is."""
    role = settings.role.strip().lower()
    if role not in ROLES:
        return f"PARLEY_ROLE '{settings.role}': use one of {', '.join(ROLES)}"
    if role == "all":
        return None
    if not _is_postgres(settings):
        return (
            f"--role {role} needs PostgreSQL (PARLEY_DATABASE_URL): on SQLite one process "
            "runs everything (--role all)"
        )
    if console is not None:
        return f"--role {role}: the console runs only with --role all (use --no-console)"
    if role == "web" and settings.telegram_token and not settings.telegram_webhook_url:
        return (
            "--role web with Telegram needs PARLEY_TELEGRAM_WEBHOOK_URL: only one process may "
            "poll getUpdates, while any number of web processes can receive webhooks"
        )
    return None


def _dispatcher_elections(
    settings: Settings, dispatcher: Dispatcher, platforms: list[str]
) -> list[Election]:
    """One election per platform account: its limits are per bot, so one sender each."""
    elections = []
    for name in platforms:

        async def elected(name: str = name) -> None:
            await dispatcher.take(name)

        async def deposed(name: str = name) -> None:
            await dispatcher.give_up(name)

        leadership = Leadership(settings.database_url, scope=dispatcher_role(name))
        elections.append(Election(leadership, elected, deposed))
    return elections


def _when_reachable(step: Callable[[], None], limit: float = 60.0) -> None:
    """Run a start-up step, waiting (up to `limit` seconds) while the database is
    unreachable: a process started during a PostgreSQL restart, or before the server
    came up, starts once it answers instead of exiting (`bot.outages`)."""
    waited = 0.0
    for delay in OUTAGE_DELAYS:
        try:
            step()
            return
        except DBAPIError as error:
            if not unreachable(error) or waited + delay > limit:
                raise
            log.warning("database unreachable at start (%s); again in %.2fs", error.orig, delay)
        time.sleep(delay)
        waited += delay
    step()


def _scheduler(
    settings: Settings,
    session_factory: sessionmaker[Session],
    book: QuestionnaireBook,
    clock: Callable[[], datetime],
    dispatcher: Dispatcher,
) -> Scheduler:
    try:
        quiet = parse_quiet_hours(settings.quiet_hours, settings.quiet_weekends)
    except ValueError as error:
        raise ConfigurationError(str(error)) from None
    grace = timedelta(hours=settings.schedule_grace_hours)
    try:
        zone = parse_zone(settings.researcher_time_zone)
        plan = parse_plan(settings.digest_schedule, zone)
    except TimingError as error:
        raise ConfigurationError(str(error)) from None
    address = settings.research_address or CONSOLE_ADDRESS
    digests = Digests(session_factory, book, clock, plan, address, grace) if plan else None
    scheduling = Scheduling(
        session_factory, book, clock, grace=grace, quiet=quiet, default_zone=zone, digests=digests
    )
    return Scheduler(scheduling, settings.database_url, on_enqueued=dispatcher.wake)


def _after_commit(
    dispatcher: Dispatcher, scheduler: Scheduler | None, requests: DigestRequests | None = None
) -> Callable[[Sequence[Handled]], None]:
    """Send what was committed; a researcher's scheduling command also gets its jobs now
    (rather than at the next sweep), from the rows it committed, and a digest asked for
    is built and posted (`bot.digest_posting`)."""
    tasks: set[asyncio.Task[None]] = set()

    def committed(results: Sequence[Handled]) -> None:
        dispatcher.wake()
        if requests is not None and any(_asks_digest(r) for r in results):
            requests.wake()
        if scheduler is not None and any(_schedules(r) for r in results):
            task = asyncio.get_running_loop().create_task(_add_jobs(scheduler))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    return committed


async def _follow_schedules(app: App) -> None:
    """Add jobs for scheduled sends other processes commit (a web process's researcher
    command, the CLI), woken by their notices: at once rather than at the next sweep.
    Notices arriving while jobs are being added make one more round, not one each."""
    scheduler = app.scheduler
    assert scheduler is not None
    notices = asyncio.Event()
    listener = asyncio.create_task(listen(app.settings.database_url, SCHEDULES, notices.set))
    try:
        while True:
            await notices.wait()
            notices.clear()
            await _add_jobs(scheduler)
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)


def _asks_digest(result: Handled) -> bool:
    """`/digest` or `/parley digest` (a refused one finds no request to post: harmless)."""
    event = result.event
    text = event.input.text if isinstance(event.input, Reply) else ""
    command = parse_command(text) if (event.group or event.command) else None
    return command is not None and command[0] == "digest" and not result.duplicate


def _schedules(result: Handled) -> bool:
    event = result.event
    text = event.input.text if isinstance(event.input, Reply) else ""
    return (event.group or event.command) and not result.duplicate and scheduling_command(text)


async def _add_jobs(scheduler: Scheduler) -> None:
    """Jobs for pending rows that have none (made by a command in this process). Only
    while this process runs the scheduler: otherwise the leader's next sweep adds them."""
    if not scheduler.aps.running:
        return
    try:
        scheduler.reconcile(await asyncio.to_thread(scheduler.scheduling.overdue))
    except Exception:  # the next sweep (15 minutes) or start-up adds them
        log.exception("adding jobs after a researcher command failed")


def _needs_http(settings: Settings) -> bool:
    telegram_webhook = bool(settings.telegram_token and settings.telegram_webhook_url)
    slack_http = bool(settings.slack_bot_token and not settings.slack_app_token)
    return telegram_webhook or slack_http


def _slack(
    settings: Settings,
    http: HttpServer | None,
    session_factory: sessionmaker[Session],
    book: QuestionnaireBook,
) -> SlackChannel:
    assert settings.slack_bot_token is not None
    app_token, secret = settings.slack_app_token, settings.slack_signing_secret
    if secret is None and app_token is None:
        raise ConfigurationError(
            "PARLEY_SLACK_SIGNING_SECRET is required in HTTP mode (or set PARLEY_SLACK_APP_TOKEN "
            "for Socket Mode)"
        )

    async def home(user: str) -> tuple[str, str, bool, str]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, home_status, session_factory, book, "slack", user)

    channel = SlackChannel(
        bot_token=settings.slack_bot_token.get_secret_value(),
        signing_secret=secret.get_secret_value() if secret and not app_token else None,
        api_url=settings.slack_api_url,
        app_token=app_token.get_secret_value() if app_token else None,
        home=home,
        modals=GroupModal(
            researcher_check(session_factory, "slack"), settings.researcher_time_zone
        ),
    )
    if http is not None and app_token is None:
        http.add_post("/slack/events", channel.http_handler)
    return channel


TELEGRAM_CONNECTIONS = 8
"""Concurrent Bot API requests (the HTTP pool, and the sends the channel lets through at
once): 30 sends/s at round trips up to about 250 ms. More costs CPU: httpx checks every
pooled connection on each request."""


def telegram_bot(settings: Settings) -> Bot:
    """A python-telegram-bot `Bot` for the configured Bot API server (real, self-hosted, fake).

    A bare `Bot` keeps one HTTP connection, so the dispatcher's concurrent sends to
    different chats would queue behind each other: at a 100 ms round trip that caps
    sending at 10 messages/s, a third of Telegram's 30/s. The pool lets them overlap.
    """
    assert settings.telegram_token is not None
    root = settings.telegram_api_url.rstrip("/")
    return Bot(
        settings.telegram_token.get_secret_value(),
        base_url=f"{root}/bot",
        base_file_url=f"{root}/file/bot",
        request=HTTPXRequest(connection_pool_size=TELEGRAM_CONNECTIONS),
    )


def _telegram(settings: Settings, http: HttpServer | None) -> TelegramChannel:
    secret = settings.telegram_webhook_secret
    channel = TelegramChannel(
        telegram_bot(settings),
        concurrent_sends=TELEGRAM_CONNECTIONS,
        webhook_url=settings.telegram_webhook_url,
        webhook_secret=secret.get_secret_value() if secret else None,
    )
    if http is not None:
        http.add_post(
            "/telegram/webhook", telegram_webhook(channel.webhook_secret, channel.process_json)
        )
    return channel


def _on_signals(callback: Callable[[], None]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, callback)
