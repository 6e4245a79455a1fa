"""The aiohttp application and `hotline serve`: /healthz, the web chat, and every channel whose
credentials are set (Telegram now; WhatsApp as it lands), with the outbox sender."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator

from aiohttp import web

from bot.channels import webchat
from bot.flowspec import FlowError
from bot.outbox import OutboxWorker, Sender
from bot.runtime import Runtime, create_runtime
from bot.settings import Settings, get_settings

log = logging.getLogger(__name__)
RUNTIME_KEY = web.AppKey("runtime", Runtime)


class ConfigError(Exception):
    pass


async def healthz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME_KEY]
    return web.json_response({"status": "ok", "flows": len(runtime.flows.flows)})


def build_app(runtime: Runtime) -> web.Application:
    # A little above the longest message we accept, so an oversized one gets our clear 413 message.
    app = web.Application(client_max_size=max(64 * 1024, runtime.settings.max_message_chars * 8))
    app[RUNTIME_KEY] = runtime
    app.router.add_get("/healthz", healthz)
    webchat.setup(app, runtime.service, runtime.settings.max_message_chars)
    return app


def check_settings(settings: Settings) -> None:
    if settings.telegram_bot_token is None:
        return
    if settings.telegram_mode not in ("polling", "webhook"):
        raise ConfigError(f"TELEGRAM_MODE must be polling or webhook, not {settings.telegram_mode!r}")
    if settings.telegram_mode == "webhook":
        if not settings.public_base_url.startswith(("https://", "http://")):
            raise ConfigError("TELEGRAM_MODE=webhook needs PUBLIC_BASE_URL, the https address Telegram reaches")
        if settings.telegram_webhook_secret is None:
            raise ConfigError("TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_SECRET (a random string)")


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
    if senders:
        tasks.append(asyncio.create_task(worker.run(), name="outbox"))
    try:
        yield started
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for close in closers:
            await close()


async def serve(settings: Settings) -> None:
    check_settings(settings)
    runtime = await create_runtime(settings)
    app = build_app(runtime)
    async with channels(runtime, app) as started:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, settings.http_host, settings.http_port)
        await site.start()
        extra = f"; {', '.join(started)}" if started else ""
        print(f"hotline: web chat at http://{settings.http_host}:{settings.http_port}/{extra} (Ctrl-C to stop)",
              flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()
    await runtime.close()


def run_server() -> int:
    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)  # one line per update is noise
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
