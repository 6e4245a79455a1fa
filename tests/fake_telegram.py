"""A small fake Telegram Bot API server for the tests: aiohttp on 127.0.0.1.

It answers the methods the adapter calls, records every call, queues updates for getUpdates, and can be
told to fail the next call(s) of a method (429 with retry_after, 500, 403 "bot was blocked"), for one
chat or all, after letting a number of calls through.

`telegram_stack` wires the real adapter around it for the tests and the benchmark: a real aiogram Bot
talking to the fake, the TelegramChannel (polling and/or the webhook route on the shared aiohttp app)
and an OutboxWorker with a TelegramSender."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiogram import Bot
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from bot.app import build_app
from bot.channels.telegram import TelegramChannel, TelegramSender, make_bot
from bot.flowspec import FlowSet
from bot.i18n import Catalogs
from bot.outbox import Limits, OutboxWorker
from bot.runtime import Runtime
from bot.service import ConversationService
from bot.settings import Settings
from bot.storage.models import Outbox

BOT_ID = 7000001
TOKEN = f"{BOT_ID}:TEST-fake-token-for-tests"
SECRET = "webhook-secret-for-tests"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None
    chat_id: int | None = None  # only calls for this chat fail (None: any call)
    after: int = 0  # let this many matching calls through first


@dataclass
class FakeTelegram:
    calls: list[Call] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, deque[Failure]] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)  # method -> seconds before answering
    update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    poll_wait: float = 0.5  # getUpdates long-poll, capped so tests stay quick
    sent_count: int = 0  # sendMessage calls that succeeded (cheap to poll, for the benchmark)
    _new_update: asyncio.Event = field(default_factory=asyncio.Event)
    _sent: asyncio.Condition = field(default_factory=asyncio.Condition)
    url: str = ""
    _runner: web.AppRunner | None = None
    _closing: bool = False

    # -- test controls --------------------------------------------------------------------------

    def fail(self, method: str, status: int, description: str, retry_after: int | None = None,
             times: int = 1, chat_id: int | None = None, after: int = 0) -> None:
        """Fail the next `times` calls of `method` (for `chat_id` only, when given), after letting
        `after` of them through."""
        queue = self.failures.setdefault(method, deque())
        queue.extend(Failure(status, description, retry_after, chat_id, after if i == 0 else 0)
                     for i in range(times))

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        update.setdefault("update_id", next(self.update_ids))
        self.updates.append(update)
        self._new_update.set()
        return update

    def message_update(self, chat_id: int, language_code: str | None = "ru", update_id: int | None = None,
                       chat_type: str = "private", **fields: Any) -> dict[str, Any]:
        """An update with a message carrying `fields` (text=..., photo=[...], sticker={...}, ...)."""
        user: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": "Migrant"}
        if language_code:
            user["language_code"] = language_code
        message = {"message_id": next(self.message_ids), "date": int(time.time()),
                   "chat": {"id": chat_id, "type": chat_type}, "from": user, **fields}
        return {"update_id": next(self.update_ids) if update_id is None else update_id, "message": message}

    def text_update(self, chat_id: int, text: str, language_code: str | None = "ru",
                    update_id: int | None = None) -> dict[str, Any]:
        return self.message_update(chat_id, language_code, update_id, text=text)

    def media_update(self, chat_id: int, kind: str, language_code: str | None = "ru",
                     caption: str | None = None) -> dict[str, Any]:
        """A message with a photo, document, voice, video, location or sticker (file ids f"{kind}-{n}")."""
        n = next(self.message_ids)
        ids = {"file_id": f"{kind}-{n}", "file_unique_id": f"u-{kind}-{n}"}
        fields: dict[str, Any] = {
            "photo": {"photo": [{**ids, "file_id": f"{kind}-{n}-small", "width": 90, "height": 90},
                                {**ids, "width": 1280, "height": 960}]},
            "document": {"document": {**ids, "file_name": "patent.pdf", "mime_type": "application/pdf"}},
            "voice": {"voice": {**ids, "duration": 7, "mime_type": "audio/ogg"}},
            "video": {"video": {**ids, "width": 640, "height": 480, "duration": 12, "mime_type": "video/mp4"}},
            "location": {"location": {"latitude": 55.7558, "longitude": 37.6173}},
            "sticker": {"sticker": {**ids, "type": "regular", "width": 512, "height": 512, "is_animated": False,
                                    "is_video": False, "emoji": "👍"}},
        }[kind]
        if caption is not None:
            fields["caption"] = caption
        return self.message_update(chat_id, language_code, **fields)

    def callback_update(self, chat_id: int, data: str, message_id: int = 1,
                        language_code: str | None = None) -> dict[str, Any]:
        user: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": "Migrant"}
        if language_code:
            user["language_code"] = language_code
        return {"update_id": next(self.update_ids), "callback_query": {
            "id": f"cb{next(self.message_ids)}", "from": user, "chat_instance": "ci", "data": data,
            "message": {"message_id": message_id, "date": int(time.time()), "text": "…",
                        "chat": {"id": chat_id, "type": "private"}}}}

    def of(self, method: str) -> list[Call]:
        """Every call of `method` (failed ones too), in order."""
        return [c for c in self.calls if c.method == method]

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """sendMessage calls that succeeded, in order."""
        return [c.params for c in self.calls if c.method == "sendMessage" and c.params.get("_ok")
                and (chat_id is None or int(c.params["chat_id"]) == chat_id)]

    async def wait_sent(self, count: int, chat_id: int | None = None, within: float = 10) -> list[dict[str, Any]]:
        async with asyncio.timeout(within), self._sent:
            await self._sent.wait_for(lambda: len(self.sent(chat_id)) >= count)
        return self.sent(chat_id)

    # -- the server -----------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        self._closing = True  # a long poll in progress answers at once instead of holding up the shutdown
        self._new_update.set()
        if self._runner:
            await self._runner.cleanup()

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != TOKEN:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        params: dict[str, Any] = dict(await request.post()) if request.content_type != "application/json" \
            else await request.json()
        for key in ("reply_markup", "allowed_updates", "commands", "scope"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        call = Call(method, params, time.monotonic())
        self.calls.append(call)
        if self.delays.get(method):
            await asyncio.sleep(self.delays[method])
        failure = self._failure(method, params)
        if failure is not None:
            body: dict[str, Any] = {"ok": False, "error_code": failure.status, "description": failure.description}
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return web.json_response(body, status=failure.status)
        result = await self.result(method, params)
        if method == "sendMessage":
            params["_ok"] = True
            self.sent_count += 1
            async with self._sent:
                self._sent.notify_all()
        return web.json_response({"ok": True, "result": result})

    def _failure(self, method: str, params: dict[str, Any]) -> Failure | None:
        queue = self.failures.get(method)
        if not queue:
            return None
        for failure in queue:
            if failure.chat_id is None or str(failure.chat_id) == str(params.get("chat_id")):
                if failure.after:
                    failure.after -= 1
                    return None
                queue.remove(failure)
                return failure
        return None

    async def result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "Hotline", "username": "hotline_test_bot"}
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            deadline = time.monotonic() + min(float(params.get("timeout") or 0), self.poll_wait)
            while True:
                pending = [u for u in self.updates if u["update_id"] >= offset]
                if pending or time.monotonic() >= deadline or self._closing:
                    return pending[: int(params.get("limit") or 100)]
                self._new_update.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new_update.wait(), max(deadline - time.monotonic(), 0.01))
        if method == "sendMessage":
            chat = {"id": int(params["chat_id"]), "type": "private"}
            return {"message_id": next(self.message_ids), "date": int(time.time()), "chat": chat,
                    "text": params.get("text", "")}
        if method == "editMessageText" or method == "editMessageReplyMarkup":
            chat = {"id": int(params.get("chat_id") or 0), "type": "private"}
            return {"message_id": int(params.get("message_id") or 1), "date": int(time.time()), "chat": chat,
                    "text": params.get("text", "…")}
        return True  # answerCallbackQuery, setWebhook, deleteWebhook, setMyCommands, sendChatAction, ...


# -- the adapter wired around the fake --------------------------------------------------------------


class RunningClock:
    """`base()` plus the real time elapsed since it was made: the service's (test) clock, moving on."""

    def __init__(self, base: Callable[[], dt.datetime]):
        self.base, self.t0 = base, time.monotonic()

    def __call__(self) -> dt.datetime:
        return self.base() + dt.timedelta(seconds=time.monotonic() - self.t0)


@dataclass
class Stack:
    fake: FakeTelegram
    bot: Bot
    channel: TelegramChannel
    worker: OutboxWorker
    service: ConversationService
    http: aiohttp.ClientSession
    base: str  # the hotline's aiohttp app (web chat, /healthz, POST /telegram/webhook)

    async def post(self, update: Any, secret: str | None = SECRET, raw: bytes | None = None) -> tuple[int, Any]:
        """POST an update to the webhook route; (status, JSON body)."""
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        body = raw if raw is not None else json.dumps(update).encode()
        async with self.http.post(f"{self.base}/telegram/webhook", data=body, headers=headers) as res:
            return res.status, await res.json()

    async def unsent(self) -> int:
        async with self.service.db.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(Outbox).where(
                Outbox.sent_at.is_(None), Outbox.status.in_(("pending", "sending"))))).scalar_one())

    async def settle(self, within: float = 5) -> None:
        """Until every pushed update has been handled (polling moved past it) and the outbox is empty."""
        last = max((u["update_id"] for u in self.fake.updates), default=None)
        async with asyncio.timeout(within):
            while True:
                polled = last is None or any(int(c.params.get("offset") or 0) > last
                                             for c in self.fake.of("getUpdates"))
                if polled and not await self.unsent():
                    return
                await asyncio.sleep(0.01)

    async def exchange(self, update: dict[str, Any], via: str = "polling") -> list[dict[str, Any]]:
        """Deliver one update (getUpdates or the webhook) and return the messages it made the bot send
        to that chat, once everything has settled."""
        message = update.get("message") or update["callback_query"]["message"]
        chat_id = int(message["chat"]["id"])
        before = len(self.fake.sent(chat_id))
        if via == "polling":
            self.fake.push(update)
        else:
            status, body = await self.post(update)
            assert status == 200, body
        await self.settle()
        return self.fake.sent(chat_id)[before:]


def fast_limits() -> Limits:
    return Limits(per_chat_rate=1000, per_chat_burst=1000, global_rate=10000)


@contextlib.asynccontextmanager
async def telegram_stack(service: ConversationService, flows: FlowSet, texts: Catalogs, *,
                         limits: Limits | None = None, clock: Callable[[], dt.datetime] | None = None,
                         polling: bool = True, run_worker: bool = True,
                         fake: FakeTelegram | None = None) -> AsyncIterator[Stack]:
    """The fake Bot API, a real aiogram Bot talking to it, the TelegramChannel (polling when asked, and
    the webhook route on the hotline's aiohttp app served on 127.0.0.1) and an OutboxWorker."""
    fake = fake or FakeTelegram()
    await fake.start()
    bot = make_bot(TOKEN, fake.url)
    worker = OutboxWorker(service.db, {"telegram": TelegramSender(bot)}, limits or fast_limits(),
                          clock=clock or RunningClock(service.clock))
    channel = TelegramChannel(bot, service, texts, worker.wake, webhook_secret=SECRET)
    runtime = Runtime(settings=Settings(), db=service.db, flows=flows, service=service, texts=texts)
    app = build_app(runtime)
    channel.setup_routes(app)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    tasks: list[asyncio.Task[None]] = []
    if polling:
        tasks.append(asyncio.create_task(channel.poll(), name="telegram-polling"))
    if run_worker:
        tasks.append(asyncio.create_task(worker.run(idle=0.02), name="outbox"))
    try:
        async with aiohttp.ClientSession() as http:
            yield Stack(fake, bot, channel, worker, service, http, str(server.make_url("")).rstrip("/"))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await close_quickly(bot)
        await channel.close()
        await server.close()
        await fake.stop()


async def close_quickly(bot: Bot) -> None:
    """Close the bot's HTTP session without aiogram's 250 ms pause for TLS connections to wind down:
    the fake server speaks plain HTTP, and the pause would add a quarter second to every test."""
    session = getattr(bot.session, "_session", None)
    if session is not None:
        await session.close()
