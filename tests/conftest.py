"""Shared fixtures: real databases (SQLite always, PostgreSQL when reachable), the real flows,
the real catalogs, and a clock the tests move."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.engine import Engine
from bot.flowspec import FlowSet, load
from bot.i18n import Catalogs
from bot.service import ConversationService
from bot.storage.db import create_engine, upgrade
from bot.storage.models import Base

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "flows"
TRANSLATIONS = ROOT / "translations"
PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/hotline_test"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: dt.datetime = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)):
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += dt.timedelta(**kwargs)


def _pg_url() -> str | None:
    """TEST_DATABASE_URL, or the local server when one answers; 'off' disables PostgreSQL."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url == "off":
        return None
    if url:
        return url
    import socket

    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=0.5).close()
    except OSError:
        return None
    return PG_DEFAULT


async def _ensure_pg_database(url: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    conn = await asyncpg.connect(user=u.username, password=u.password, host=u.host, port=u.port or 5432,
                                 database="postgres")
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", u.database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{u.database}"')
    finally:
        await conn.close()


async def _drop_pg_database(url: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    conn = await asyncpg.connect(user=u.username, password=u.password, host=u.host, port=u.port or 5432,
                                 database="postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def flows() -> FlowSet:
    return load(FLOWS)


@pytest.fixture(scope="session")
def catalogs() -> Catalogs:
    return Catalogs(TRANSLATIONS)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once keeps the suite fast)."""
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_migrated() -> Iterator[str | None]:
    """A fresh database of this test run's own (several runs may share one server), dropped after."""
    base = _pg_url()
    if base is None:
        yield None
        return
    from sqlalchemy.engine import make_url

    url = make_url(base)
    url = url.set(database=f"{url.database}_{os.getpid()}").render_as_string(hide_password=False)
    asyncio.run(_drop_pg_database(url))
    asyncio.run(_ensure_pg_database(url))
    asyncio.run(upgrade(url))
    yield url
    asyncio.run(_drop_pg_database(url))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / f"{uuid.uuid4().hex}.sqlite3"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    url = request.getfixturevalue("pg_migrated")
    if url is None:
        pytest.skip("PostgreSQL is not running (set TEST_DATABASE_URL to run these)")
    yield url


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    yield engine
    await engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(db: AsyncEngine, flows: FlowSet, catalogs: Catalogs, clock: Clock) -> ConversationService:
    return ConversationService(db, Engine(flows, catalogs), clock=clock)
