"""Console log-in hardening (issue 13, item 5): sessions kept on the server and revoked at logout (a copied
cookie stops working) and when the account is disabled; the throttle per account and per real client
address (behind a trusted proxy), kept in the database so that every worker shares it, with bounded
storage; an unknown name costs a password verification like a known one."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.console import auth
from bot.console.auth import LoginThrottle
from bot.console.users import disable_user
from bot.flowspec import FlowSet
from bot.i18n import Catalogs
from bot.service import ConversationService
from bot.storage.models import ConsoleSession, LoginFailure
from tests.conftest import Clock
from tests.console_kit import SESSION_LIBRARY_KEYS, Client, Desk, serve_desk
from tests.handoff_kit import add_staff

pytestmark = SESSION_LIBRARY_KEYS


@contextlib.asynccontextmanager
async def desks(service: ConversationService, db: AsyncEngine, flows: FlowSet, catalogs: Catalogs,
                count: int = 1, **settings: Any) -> AsyncIterator[list[Desk]]:
    """`count` workers on one database (each its own app and process memory)."""
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(serve_desk(service, db, flows, catalogs, **settings))
               for _ in range(count)]


async def rows(db: AsyncEngine, model: type) -> int:
    async with db.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(model))).scalar_one())


async def test_a_copied_cookie_stops_working_at_logout(service: ConversationService, db: AsyncEngine,
                                                       flows: FlowSet, catalogs: Catalogs) -> None:
    await add_staff(db, "ana")
    async with desks(service, db, flows, catalogs, count=2) as (a, b):
        ana = await a.logged_in("ana")
        cookie = {c.key: c.value for c in ana.http.cookie_jar}["hotline_console"]
        assert await rows(db, ConsoleSession) == 1
        async with aiohttp.ClientSession() as thief:  # the same cookie on another worker works ...
            async with thief.get(f"{b.base}/console/queue", headers={"Cookie": f"hotline_console={cookie}"},
                                 allow_redirects=False) as res:
                assert res.status == 200
            assert (await ana.post("/console/logout")).status == 303
            assert await rows(db, ConsoleSession) == 0
            for desk in (a, b):  # ... and after the logout, on no worker
                async with thief.get(f"{desk.base}/console/queue", headers={"Cookie": f"hotline_console={cookie}"},
                                     allow_redirects=False) as res:
                    assert res.status == 302 and "/console/login" in res.headers["Location"]


async def test_disabling_an_account_revokes_its_sessions(desk_db: tuple[Desk, AsyncEngine]) -> None:
    desk, db = desk_db
    await add_staff(db, "bob")
    bob = await desk.logged_in("bob")
    assert (await bob.get("/console/queue")).status == 200
    await disable_user(db, "bob")
    assert await rows(db, ConsoleSession) == 0
    assert (await bob.get("/console/queue")).status == 302


async def test_a_new_password_ends_the_other_sessions_and_keeps_this_one(desk_db: tuple[Desk, AsyncEngine]) -> None:
    from tests.handoff_kit import PASSWORD

    desk, db = desk_db
    await add_staff(db, "bob")
    here, elsewhere = await desk.logged_in("bob"), await desk.logged_in("bob")
    assert await rows(db, ConsoleSession) == 2
    page = await here.post("/console/account/password", {"current": PASSWORD, "new": "a-new-password-42",
                                                "repeat": "a-new-password-42"})
    assert page.status == 303
    assert (await here.get("/console/queue")).status == 200  # the browser that changed it goes on
    assert (await elsewhere.get("/console/queue")).status == 302  # the other one is logged out
    assert await rows(db, ConsoleSession) == 1


@pytest.fixture
async def desk_db(service: ConversationService, db: AsyncEngine, flows: FlowSet,
                  catalogs: Catalogs) -> AsyncIterator[tuple[Desk, AsyncEngine]]:
    async with serve_desk(service, db, flows, catalogs) as desk:
        yield desk, db


async def login_from(desk: Desk, address: str, login: str, password: str) -> int:
    """A log-in through the trusted proxy for a client at `address`; the status."""
    client: Client = await desk.client()
    headers = {"X-Forwarded-For": address}
    await client.http.get(f"{desk.base}/console/login", headers=headers)
    page = await client.get("/console/login")
    assert client.csrf, page.text[:200]
    return (await client.post("/console/login", {"login": login, "password": password, "next": "/console/queue"},
                              headers=headers)).status


async def test_the_throttle_counts_real_addresses_and_is_shared_by_workers(
        service: ConversationService, db: AsyncEngine, flows: FlowSet, catalogs: Catalogs) -> None:
    from tests.handoff_kit import PASSWORD

    for login in ("ana", "bob", "cat", "dan"):
        await add_staff(db, login)
    async with desks(service, db, flows, catalogs, count=2, trusted_proxies="127.0.0.1") as (a, b):
        attacker, colleague = "203.0.113.66", "198.51.100.7"
        for i in range(5):  # five wrong passwords from one address, on one worker, for different accounts
            assert await login_from(a, attacker, ("bob", "cat")[i % 2], f"wrong-{i}") == 401
        # The other worker knows: that address is throttled, even with a right password ...
        assert await login_from(b, attacker, "ana", PASSWORD) == 429
        # ... and a colleague behind the same proxy is not (the proxy's address is not the key).
        assert await login_from(b, colleague, "ana", PASSWORD) == 303
        # An account tried five times is throttled from everywhere.
        for i in range(5):
            assert await login_from(a, f"192.0.2.{i}", "dan", f"wrong-again-{i}") == 401
        assert await login_from(b, colleague, "dan", PASSWORD) == 429


async def test_old_failures_are_pruned(db: AsyncEngine, clock: Clock) -> None:
    throttle = LoginThrottle(db, attempts=5, window=900, clock=clock)
    for i in range(50):  # a name per try: rows, not a dict in memory that grows with every name
        await throttle.failed(f"login:name-{i}", "ip:203.0.113.1")
    assert await rows(db, LoginFailure) == 100
    assert await throttle.wait_seconds("login:x", "ip:203.0.113.1") > 0
    clock.advance(minutes=16)
    assert await throttle.wait_seconds("login:x", "ip:203.0.113.1") == 0
    await throttle.failed("login:late", "ip:198.51.100.1")
    assert await rows(db, LoginFailure) == 2  # the old ones went
    async with db.connect() as conn:
        keys = [r[0] for r in await conn.execute(select(LoginFailure.key))]
    assert all(len(k) == 64 and "late" not in k for k in keys)  # hashed: a typed password is not stored


class CountingHasher(PasswordHasher):
    calls = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        CountingHasher.calls += 1
        return super().verify(hash, password)


async def test_an_unknown_name_costs_a_verification_like_a_known_one(
        desk_db: tuple[Desk, AsyncEngine], monkeypatch: pytest.MonkeyPatch) -> None:
    desk, db = desk_db
    await add_staff(db, "ana")
    await add_staff(db, "gone", active=False)
    monkeypatch.setattr(auth, "HASHER", CountingHasher())
    client = await desk.client()
    for login in ("ana", "nobody-by-this-name", "gone"):
        before = CountingHasher.calls
        assert (await client.login(login, "a-wrong-password")).status == 401
        assert CountingHasher.calls == before + 1, login  # the same work, whether the name exists or not


