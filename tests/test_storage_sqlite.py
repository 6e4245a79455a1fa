"""SQLite statements in one trip to aiosqlite's thread (bot/storage/sqlite.py), and message ids in order."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage import message_row, transaction
from bot.storage.db import create_engine
from bot.storage.sqlite import OneTripConnection

NOW = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)


def test_aiosqlite_still_has_what_the_one_trip_uses() -> None:
    assert callable(getattr(aiosqlite.Connection, "_execute", None))
    assert isinstance(getattr(aiosqlite.Connection, "_conn", None), property)


async def test_statements_read_and_write_as_before(tmp_path: Path) -> None:
    db = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.sqlite3'}")
    trips = 0
    try:
        async with db.begin() as conn:
            raw = await conn.get_raw_connection()
            assert isinstance(raw.dbapi_connection, OneTripConnection)
            driver = raw.driver_connection
            assert driver is not None
            execute = driver._execute

            async def counted(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
                nonlocal trips
                trips += 1
                return await execute(fn, *args, **kwargs)

            driver._execute = counted  # type: ignore[method-assign]
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
            done = await conn.execute(text("INSERT INTO t (name) VALUES (:name)"), [{"name": "a"}, {"name": "b"}])
            assert done.rowcount == 2
            one = await conn.execute(text("INSERT INTO t (name) VALUES ('c')"))
            assert one.lastrowid == 3 and one.rowcount == 1
            rows = await conn.execute(text("SELECT id, name FROM t ORDER BY id"))
            assert [tuple(r) for r in rows] == [(1, "a"), (2, "b"), (3, "c")]
            assert trips == 4  # one trip a statement (the adapter made four: cursor, execute, fetch, close)
            with pytest.raises(IntegrityError):
                await conn.execute(text("INSERT INTO t (name) VALUES ('a')"))
    finally:
        await db.dispose()


async def test_message_ids_come_back_in_the_order_of_the_rows(db: AsyncEngine) -> None:
    async with transaction(db) as tx:
        contact = await tx.contacts.create("telegram", "42", NOW)
        conversation = await tx.conversations.open(contact, "telegram", NOW)
        texts = [f"message {n}" for n in range(12)]
        rows = [message_row(conversation, contact, "telegram", "out", "bot", t, NOW) for t in texts]
        ids = await tx.messages.add_returning_ids(rows)
        stored = {r.id: r.text for r in await tx.messages.of_contact(contact)}
    assert [stored[i] for i in ids] == texts
