"""`hotline serve` stops cleanly (issue 13, item 3): on SIGTERM (systemd, docker stop) or SIGINT it takes
no new work, gives the sends in flight a moment, hands back what it had claimed (due at once, not after
the 120 s lease) and exits 0 within 10 s; and a worker starts and serves while Redis is down, joining the
others once Redis is up."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from redis import asyncio as aioredis
from sqlalchemy import select

from bot.storage.db import create_engine
from bot.storage.models import Outbox
from tests.fake_telegram import TOKEN, FakeTelegram
from tests.serve_kit import free_port, serve
from tests.webchat_kit import new_session


class HangingTelegram(FakeTelegram):
    """A Bot API whose sendMessage hangs until the test lets it go."""

    def __init__(self) -> None:
        super().__init__()
        self.let_go = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        if request.match_info["method"] == "sendMessage":
            await self.let_go.wait()
        return await super().handle(request)


async def outbox_rows(url: str) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(select(Outbox.status, Outbox.next_attempt_at))).all())
    finally:
        await engine.dispose()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_serve_stops_within_10_s_and_hands_back_what_it_claimed(sig: signal.Signals, tmp_path: Path) -> None:
    fake = HangingTelegram()
    await fake.start()
    url = f"sqlite+aiosqlite:///{tmp_path / 'stop.sqlite3'}"
    try:
        async with serve(tmp_path, DATABASE_URL=url, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=fake.url,
                         TELEGRAM_MODE="polling") as served:
            fake.push(fake.text_update(4242, "/start", language_code="ru"))
            deadline = time.monotonic() + 60
            while not [r for r in await outbox_rows(url) if r.status == "sending"]:  # claimed, the send hangs
                assert time.monotonic() < deadline, served.errors()
                await asyncio.sleep(0.2)
            started = time.monotonic()
            served.proc.send_signal(sig)
            code = await asyncio.to_thread(served.proc.wait, 15)
            took = time.monotonic() - started
            assert code == 0, served.errors()
            assert took < 10, took
        rows = await outbox_rows(url)
        assert rows and {r.status for r in rows} == {"pending"}  # nothing left 'sending' for 120 s
    finally:
        fake.let_go.set()
        await fake.stop()


async def test_a_worker_starts_while_redis_is_down_and_joins_when_it_is_up(tmp_path: Path) -> None:
    port = free_port()
    url = f"sqlite+aiosqlite:///{tmp_path / 'redis.sqlite3'}"
    server: asyncio.subprocess.Process | None = None
    try:
        async with serve(tmp_path, DATABASE_URL=url, REDIS_URL=f"redis://127.0.0.1:{port}/0") as served:
            async with aiohttp.ClientSession() as http:  # it serves: the web chat answers
                session = await new_session(http, served.base)
                async with http.post(f"{served.base}/chat/api/send",
                                     json={"session": session, "text": "/start", "lang": "ru"}) as res:
                    assert res.status == 200
            server = await asyncio.create_subprocess_exec(
                "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            client = aioredis.from_url(f"redis://127.0.0.1:{port}/0")
            try:
                deadline = time.monotonic() + 60  # the worker retries with a backoff of at most 30 s
                while True:
                    try:
                        channels = await client.pubsub_channels()
                    except Exception:
                        channels = []
                    if any(c.startswith(b"hotline:events") for c in channels):
                        break  # it subscribed: events cross processes again
                    assert time.monotonic() < deadline, served.errors()
                    await asyncio.sleep(0.5)
            finally:
                await client.aclose()
    finally:
        if server is not None:
            server.terminate()
            await asyncio.wait_for(server.wait(), 10)
