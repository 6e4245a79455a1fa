"""Timers: rows with a due_at, claimed by whichever process's tick gets them first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.models import timer_table as timer_t


@dataclass
class Due:
    id: int
    kind: str
    conversation_id: int | None


class Timers:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def schedule(self, kind: str, conversation_id: int, due: dt.datetime) -> None:
        await self.conn.execute(insert(timer_t).values(kind=kind, conversation_id=conversation_id, due_at=due,
                                                       payload={}, claimed_at=None, done_at=None))

    async def claim_due(self, now: dt.datetime, lease: dt.timedelta, limit: int = 100) -> list[Due]:
        """Due timers not claimed (or claimed longer than `lease` ago: cut off by a crash), marked claimed;
        rows another process holds are skipped (PostgreSQL), so no timer fires twice."""
        t = timer_t.c
        query = (select(t.id, t.kind, t.conversation_id).where(
            t.done_at.is_(None), t.due_at <= now, (t.claimed_at.is_(None)) | (t.claimed_at < now - lease))
            .order_by(t.due_at).limit(limit))
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        due = (await self.conn.execute(query)).all()
        if due:
            await self.conn.execute(update(timer_t).where(t.id.in_([d.id for d in due])).values(claimed_at=now))
        return [Due(d.id, d.kind, d.conversation_id) for d in due]

    async def done(self, timer_id: int, now: dt.datetime) -> None:
        await self.conn.execute(update(timer_t).where(timer_t.c.id == timer_id).values(done_at=now))
