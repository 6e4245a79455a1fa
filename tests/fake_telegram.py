"""A small fake Telegram Bot API server for the tests: aiohttp on 127.0.0.1.

It answers the methods the adapter calls, records every call, queues updates for getUpdates, and can be
told to fail the next call(s) of a method (429 with retry_after, 500, 403 "bot was blocked")."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 7000001
TOKEN = f"{BOT_ID}:TEST-fake-token-for-tests"


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


@dataclass
class FakeTelegram:
    calls: list[Call] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, deque[Failure]] = field(default_factory=dict)
    update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    poll_wait: float = 0.5  # getUpdates long-poll, capped so tests stay quick
    _new_update: asyncio.Event = field(default_factory=asyncio.Event)
    _sent: asyncio.Condition = field(default_factory=asyncio.Condition)
    url: str = ""
    _runner: web.AppRunner | None = None

    # -- test controls --------------------------------------------------------------------------

    def fail(self, method: str, status: int, description: str, retry_after: int | None = None,
             times: int = 1) -> None:
        queue = self.failures.setdefault(method, deque())
        queue.extend(Failure(status, description, retry_after) for _ in range(times))

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        update.setdefault("update_id", next(self.update_ids))
        self.updates.append(update)
        self._new_update.set()
        return update

    def text_update(self, chat_id: int, text: str, language_code: str | None = "ru",
                    update_id: int | None = None) -> dict[str, Any]:
        user = {"id": chat_id, "is_bot": False, "first_name": "Migrant"}
        if language_code:
            user["language_code"] = language_code
        update = {"message": {"message_id": next(self.message_ids), "date": int(time.time()),
                              "chat": {"id": chat_id, "type": "private"}, "from": user, "text": text}}
        if update_id is not None:
            update["update_id"] = update_id
        else:
            update["update_id"] = next(self.update_ids)
        return update

    def callback_update(self, chat_id: int, data: str, message_id: int = 1) -> dict[str, Any]:
        user = {"id": chat_id, "is_bot": False, "first_name": "Migrant"}
        return {"update_id": next(self.update_ids), "callback_query": {
            "id": f"cb{next(self.message_ids)}", "from": user, "chat_instance": "ci", "data": data,
            "message": {"message_id": message_id, "date": int(time.time()), "text": "…",
                        "chat": {"id": chat_id, "type": "private"}}}}

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
        queue = self.failures.get(method)
        if queue:
            failure = queue.popleft()
            body: dict[str, Any] = {"ok": False, "error_code": failure.status, "description": failure.description}
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return web.json_response(body, status=failure.status)
        result = await self.result(method, params)
        if method == "sendMessage":
            params["_ok"] = True
            async with self._sent:
                self._sent.notify_all()
        return web.json_response({"ok": True, "result": result})

    async def result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "Hotline", "username": "hotline_test_bot"}
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            deadline = time.monotonic() + min(float(params.get("timeout") or 0), self.poll_wait)
            while True:
                pending = [u for u in self.updates if u["update_id"] >= offset]
                if pending or time.monotonic() >= deadline:
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
