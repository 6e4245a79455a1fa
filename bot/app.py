"""The aiohttp application and `hotline serve`: /healthz, the web chat, and every channel whose
credentials are set (Telegram now; WhatsApp as it lands), with the outbox sender."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
import sys
from collections.abc import AsyncIterator

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot import probes, webguard
from bot.channels import webchat
from bot.console.auth import session_key
from bot.console.editor import MAX_UPLOAD, Editor
from bot.console.editor import setup as setup_editor
from bot.console.prices import PricesPage
from bot.console.prices import setup as setup_prices
from bot.console.reports import ReportsPage
from bot.console.reports import setup as setup_reports
from bot.console.users import ensure_first_admin
from bot.console.views import Console
from bot.console.views import setup as setup_console
from bot.events import EventBus
from bot.flowspec import FlowError
from bot.outbox import OutboxWorker, Sender
from bot.runtime import ConfigError, Runtime, build, check_settings, handoff_policy, purge, whatsapp_enabled
from bot.settings import DEFAULT_SQLITE, Settings, ValidationError, get_settings, problems
from handoff.service import HandoffService
from handoff.timers import Timers

log = logging.getLogger(__name__)
RUNTIME_KEY = web.AppKey("runtime", Runtime)
SEND_GRACE = 3.0  # seconds the sends in flight get at shutdown (SIGTERM, Ctrl-C); the whole stop takes < 10 s
HTTP_GRACE = 3.0  # seconds open requests get to finish
__all__ = ["ConfigError", "build_app", "check_settings", "handoff_for", "run_server", "whatsapp_enabled"]


async def healthz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME_KEY]
    return web.json_response({"status": "ok", "flows": len(runtime.flows.flows), "flow_version": runtime.flow_version})


def build_app(runtime: Runtime, console: Console | None = None) -> web.Application:
    # A little above the longest message we accept, so an oversized one gets our clear 413 message; with the
    # console, room for a translators' spreadsheet (the web chat still checks its messages' length itself).
    limit = max(64 * 1024, runtime.settings.max_message_chars * 8)
    app = web.Application(client_max_size=max(limit, MAX_UPLOAD + 64 * 1024) if console is not None else limit)
    app[RUNTIME_KEY] = runtime
    settings = runtime.settings
    webguard.setup(app, public_base_url=settings.public_base_url, trusted_proxies=settings.trusted_proxies)
    app.router.add_get("/healthz", healthz)
    key = session_key(settings.console_secret_key.get_secret_value() if settings.console_secret_key else None,
                      DEFAULT_SQLITE.parent / "console.key")
    probes.setup(app, runtime)  # /metrics, /readyz
    webchat.setup(app, runtime.service, settings.max_message_chars, key, session_rate=settings.webchat_session_rate,
                  address_rate=settings.webchat_address_rate, new_sessions_rate=settings.webchat_new_sessions_rate)
    if console is not None:
        setup_console(app, console, key)
        setup_reports(app, ReportsPage(console))
        if runtime.store is not None:
            editor = Editor(console, runtime.store, runtime.texts, reloader=runtime.reloader,
                            review_months=runtime.settings.review_period_months,
                            timezone=runtime.settings.office_timezone)
            setup_editor(app, editor)
            setup_prices(app, PricesPage(editor))
    return app


def handoff_for(runtime: Runtime, events: EventBus) -> HandoffService:
    """The mediators' side hooked into a conversation service made without it (the tests' kits; `build`
    gives the service its hooks when it makes it)."""
    handoff = HandoffService(runtime.db, runtime.texts, events, handoff_policy(runtime.settings),
                             clock=runtime.service.clock)
    runtime.service.on_handoff = handoff.on_handoff
    runtime.service.closed_note = handoff.closed_note
    runtime.service.publish = events.publish
    return handoff


@contextlib.asynccontextmanager
async def channels(runtime: Runtime, app: web.Application) -> AsyncIterator[list[str]]:
    """Start every channel whose credentials are set, and the outbox sender; stop them on exit."""
    settings = runtime.settings
    senders: dict[str, Sender] = {}
    tasks: list[asyncio.Task[None]] = []
    started: list[str] = []
    closers = []
    worker = OutboxWorker(runtime.db, senders)
    if settings.telegram_bot_token is not None:
        from bot.channels.telegram import TelegramChannel, TelegramSender, make_bot

        bot = make_bot(settings.telegram_bot_token.get_secret_value(), settings.telegram_api_base_url)
        secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else None
        telegram = TelegramChannel(bot, runtime.service, runtime.texts, worker.wake, webhook_secret=secret)
        senders["telegram"] = TelegramSender(bot)
        telegram.setup_routes(app)
        closers.append(telegram.close)
        try:
            await telegram.set_commands()
        except Exception as exc:  # the menu of commands is a comfort, not a reason to stay down
            log.warning("could not set the Telegram command menu: %s", exc)
        if settings.telegram_mode == "webhook":
            await telegram.register_webhook(settings.public_base_url)
        else:
            tasks.append(asyncio.create_task(telegram.poll(), name="telegram-polling"))
        started.append(f"Telegram ({settings.telegram_mode})")
    if whatsapp_enabled(settings):
        from bot.channels.whatsapp import WhatsAppChannel, WhatsAppSender, make_client

        token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
        client = make_client(settings.twilio_account_sid, token, settings.twilio_api_base_url)
        senders["whatsapp"] = WhatsAppSender(
            client, settings.twilio_whatsapp_from, runtime.db, settings.twilio_template_content_sid,
            settings.twilio_template_variables,  # a JSON object as Twilio expects it (bot.settings)
            status_callback=settings.public_base_url.rstrip("/") + "/whatsapp/status")
        WhatsAppChannel(runtime.service, runtime.db, token, settings.public_base_url, worker.wake).setup_routes(app)
        closers.append(client.http_client.close)
        started.append("WhatsApp")
    sending = asyncio.create_task(worker.run(), name="outbox") if senders else None
    try:
        yield started
    finally:
        for task in tasks:  # polling: an update being handled is rolled back and fetched again later
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if sending is not None:  # the round in progress may finish; what is still claimed goes back
            worker.stopping = True
            worker.wake()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(sending), SEND_GRACE)
            sending.cancel()
            await asyncio.gather(sending, return_exceptions=True)
            try:
                await worker.release()
            except Exception:  # the database is away: the leases run out instead
                log.exception("could not hand back the claimed outbox rows")
        for close in closers:
            await close()


async def serve(settings: Settings) -> None:
    runtime = await build(settings)
    events, handoff = runtime.events, runtime.handoff
    assert events is not None and handoff is not None
    await events.start()
    app = build_app(runtime, Console(runtime.db, handoff, events))
    scheduler = AsyncIOScheduler()
    scheduler.add_job(Timers(runtime.db, handoff).tick, "interval", seconds=10, max_instances=1, coalesce=True)
    if settings.retention_days > 0:  # every night, and once soon after start
        scheduler.add_job(purge, "interval", hours=24, args=(runtime.db, settings.retention_days), max_instances=1,
                          coalesce=True, next_run_time=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
    password = await ensure_first_admin(runtime.db)
    async with channels(runtime, app) as started:
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=HTTP_GRACE)
        await runner.setup()
        site = web.TCPSite(runner, settings.http_host, settings.http_port)
        await site.start()
        scheduler.start()
        reloading = asyncio.create_task(runtime.reloader.run(events), name="flows-reload") \
            if runtime.reloader else None
        base = f"http://{settings.http_host}:{settings.http_port}"
        extra = f"; {', '.join(started)}" if started else ""
        print(f"hotline: web chat at {base}/ ; mediator console at {base}/console{extra} (Ctrl-C to stop)",
              flush=True)
        if password:
            print(f"hotline: first console account created: login 'admin', password '{password}' (shown once; "
                  "add more with `hotline users add`)", flush=True)
        try:
            await _until_stopped()
            log.info("stopping: no new work is taken; what is in flight finishes or goes back to the queue")
        finally:
            scheduler.shutdown(wait=False)
            if reloading is not None:
                reloading.cancel()
                await asyncio.gather(reloading, return_exceptions=True)
            await runner.cleanup()
    await events.close()
    await runtime.close()


# Libraries whose INFO and DEBUG lines carry what must never reach the logs (aiosqlite and SQLAlchemy log
# statements with their parameters: phone numbers, texts; twilio every request's headers; aiogram each
# update) or are noise (a line per update or per tick): WARNING and above only, whatever LOG_LEVEL says.
PRIVATE_LOGGERS = ("aiosqlite", "asyncpg", "sqlalchemy", "alembic", "aiogram", "aiohttp.access", "aiohttp.client",
                   "apscheduler", "twilio", "urllib3", "redis", "multipart", "openpyxl")


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level)
    for name in PRIVATE_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))


async def _until_stopped() -> None:
    """Until SIGTERM (systemd, docker stop) or SIGINT (Ctrl-C)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


def run_server() -> int:
    try:
        settings = get_settings()
    except ValidationError as exc:
        print(f"configuration error:\n{problems(exc)}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    try:
        asyncio.run(serve(settings))
    except FlowError as exc:
        print(f"the flow files have errors; nothing was served:\n{exc}", file=sys.stderr)
        return 1
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0
