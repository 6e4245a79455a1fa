"""Live updates across processes: two `hotline serve` on one PostgreSQL database and one Redis; a migrant
writes to process A and a console logged in on process B hears of it at once."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import _pg_url
from tests.console_kit import CSRF
from tests.serve_kit import hotline, serve
from tests.webchat_kit import new_session

REDIS = "redis://127.0.0.1:6379/15"
PASSWORD = "boss-password-123"


def _reachable(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


async def _admin(url: str, sql: str) -> None:
    import asyncpg

    u = make_url(url)
    conn = await asyncpg.connect(user=u.username, password=u.password, host=u.host, port=u.port or 5432,
                                 database="postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def database() -> Iterator[str]:
    """A scratch PostgreSQL database of this run's own, dropped after."""
    base = _pg_url()
    if base is None:
        pytest.skip("PostgreSQL is not running (set TEST_DATABASE_URL to run this)")
    if not _reachable(6379):
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    url = make_url(base).set(database=f"hotline_redis_{os.getpid()}")
    name = url.database
    asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(_admin(base, f'CREATE DATABASE "{name}"'))
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def next_event(stream: aiohttp.ClientResponse, within: float = 10) -> dict[str, Any]:
    async with asyncio.timeout(within):
        while True:
            line = (await stream.content.readline()).decode()
            if line.startswith("data: "):
                event: dict[str, Any] = json.loads(line[6:])
                return event


async def test_a_message_at_one_process_reaches_a_console_of_another(database: str, tmp_path: Path,
                                                                      http: aiohttp.ClientSession) -> None:
    # The account first (this also migrates the database), so neither process makes a first admin.
    added = await asyncio.to_thread(hotline, ["users", "add", "boss", "--roles", "admin,mediator", "--languages",
                                              "ru", "--password-stdin"], tmp_path, PASSWORD + "\n",
                                    DATABASE_URL=database)
    assert added.returncode == 0, added.stderr
    settings = {"DATABASE_URL": database, "REDIS_URL": REDIS}
    async with serve(tmp_path / "a", "a", **settings) as a, serve(tmp_path / "b", "b", **settings) as b:
        assert "first console account" not in a.output() + b.output()
        async with http.get(f"{b.base}/console/login") as res:
            token = CSRF.search(await res.text())
        assert token
        async with http.post(f"{b.base}/console/login", allow_redirects=False, data={
                "_csrf": token.group(1), "login": "boss", "password": PASSWORD, "next": "/console/queue"}) as res:
            assert (res.status, res.headers["Location"]) == (303, "/console/queue")

        async with http.get(f"{b.base}/console/events") as stream:
            assert stream.status == 200
            assert await stream.content.readline() == b": connected\n"

            session = await new_session(http, a.base)

            async def migrant(text: str) -> dict[str, Any]:
                async with http.post(f"{a.base}/chat/api/send",
                                     json={"session": session, "text": text, "lang": "ru"}) as res:
                    assert res.status == 200
                    data: dict[str, Any] = await res.json()
                    return data

            await migrant("/start")
            assert (await migrant("оператор"))["status"] == "WAITING"
            event = await next_event(stream)
            assert event["type"] == "message", event
            conv = event["conversation_id"]
            await migrant("Мне нужна помощь с патентом")
            assert await next_event(stream) == {"type": "message", "conversation_id": conv}

            # And back: the mediator on B answers, the migrant reads it from A.
            async with http.get(f"{b.base}/console/c/{conv}") as res:
                page = await res.text()
                assert "Мне нужна помощь с патентом" in page
            found = CSRF.search(page)
            assert found
            async with http.post(f"{b.base}/console/c/{conv}/reply", allow_redirects=False,
                                 data={"_csrf": found.group(1), "text": "Здравствуйте, слушаю вас"}) as res:
                assert res.status == 303
            assert await next_event(stream) == {"type": "message", "conversation_id": conv}
        async with http.get(f"{a.base}/chat/api/messages", params={"session": session, "after": "0"}) as res:
            messages = (await res.json())["messages"]
        assert ("mediator", "Здравствуйте, слушаю вас") in [(m["sender"], m["text"]) for m in messages]


async def test_event_bus_through_redis_in_process() -> None:
    """Two buses (two processes' worth) on one Redis: each hears the other's events once, and closing
    them leaves nothing open."""
    if not _reachable(6379):
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    from bot.events import EventBus

    one, two = EventBus(REDIS), EventBus(REDIS)
    await one.start()
    await two.start()
    try:
        async with one.subscribe() as heard_by_one, two.subscribe() as heard_by_two:
            await asyncio.sleep(0.2)  # the listeners are subscribed
            marker = f"bus-{os.getpid()}-{id(one)}"
            await one.publish({"type": "message", "conversation_id": 1, "marker": marker})
            for queue in (heard_by_one, heard_by_two):
                async with asyncio.timeout(5):
                    while (event := await queue.get()).get("marker") != marker:
                        pass  # another test run's events on the same Redis
                assert event == {"type": "message", "conversation_id": 1, "marker": marker}
            await asyncio.sleep(0.2)
            assert all(e.get("marker") != marker for q in (heard_by_one, heard_by_two)
                       for e in [q.get_nowait() for _ in range(q.qsize())])  # once, not twice
    finally:
        await one.close()
        await two.close()
