"""A small fake Twilio REST server for the tests: aiohttp on 127.0.0.1.

It answers `POST /2010-04-01/Accounts/{sid}/Messages.json` like Twilio, records every request, and can be
told to fail the next ones (429, 500, or a Twilio error code such as 63016)."""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "fake-auth-token-for-tests"
FROM = "whatsapp:+14155238886"


@dataclass
class FakeTwilio:
    requests: list[dict[str, Any]] = field(default_factory=list)
    failures: deque[tuple[int, int | None, str]] = field(default_factory=deque)
    sids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    url: str = ""
    _runner: web.AppRunner | None = None
    _sent: asyncio.Condition = field(default_factory=asyncio.Condition)

    def fail(self, status: int, code: int | None = None, message: str = "failure", times: int = 1) -> None:
        self.failures.extend((status, code, message) for _ in range(times))

    def sent(self, to: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.requests if r.get("_sid") and (to is None or r["To"] == f"whatsapp:{to}")]

    async def wait_sent(self, count: int, to: str | None = None, within: float = 10) -> list[dict[str, Any]]:
        async with asyncio.timeout(within), self._sent:
            await self._sent.wait_for(lambda: len(self.sent(to)) >= count)
        return self.sent(to)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self.create)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        return self.url

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def create(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.requests.append(form)
        if request.match_info["sid"] != ACCOUNT_SID:
            return web.json_response({"code": 20404, "message": "not found", "status": 404}, status=404)
        if self.failures:
            status, code, message = self.failures.popleft()
            return web.json_response({"code": code, "message": message, "status": status,
                                      "more_info": "https://www.twilio.com/docs/errors"}, status=status)
        sid = f"SM{next(self.sids):032d}"
        form["_sid"] = sid
        async with self._sent:
            self._sent.notify_all()
        return web.json_response({"sid": sid, "status": "queued", "to": form.get("To"), "from": form.get("From"),
                                  "body": form.get("Body"), "account_sid": ACCOUNT_SID, "num_segments": "1"},
                                 status=201)


def sign(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    """X-Twilio-Signature as Twilio computes it (the twilio library's own algorithm)."""
    return str(RequestValidator(token).compute_signature(url, params))
