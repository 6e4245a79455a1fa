"""What the operators' /metrics and /readyz read from the database at scrape time (never on the hot path):
the outbox's unsent rows by channel and status with their age, waiting conversations, timers due."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.models import conversation_table as conversation_t
from bot.storage.models import outbox_table as outbox_t
from bot.storage.models import timer_table as timer_t
from bot.vocabulary import Status


@dataclass
class Snapshot:
    # (channel, status) -> (rows, age of the oldest in seconds); unsent rows only (sent_at IS NULL, which
    # the outbox's pending index covers): pending, sending, held, failed (the dead letters)
    outbox: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)
    waiting: int = 0
    oldest_wait: float = 0.0  # seconds the longest-waiting conversation has waited
    timers_due: int = 0


async def snapshot(db: AsyncEngine, now: dt.datetime) -> Snapshot:
    o, c, t = outbox_t.c, conversation_t.c, timer_t.c
    async with db.connect() as conn:
        rows = (await conn.execute(select(o.channel, o.status, func.count(), func.min(o.created_at))
                                   .where(o.sent_at.is_(None)).group_by(o.channel, o.status))).all()
        waiting, oldest = (await conn.execute(select(func.count(), func.min(c.waiting_since))
                                              .where(c.status == Status.WAITING))).one()
        due = (await conn.execute(select(func.count()).where(t.done_at.is_(None), t.due_at <= now))).scalar_one()
    # min() of a naive UTC column comes back naive on SQLite (no type on an aggregate): made aware here
    def age(at: dt.datetime | None) -> float:
        return max((now - at.replace(tzinfo=dt.UTC)).total_seconds(), 0.0) if at is not None else 0.0

    return Snapshot({(ch, st): (int(n), age(first)) for ch, st, n, first in rows}, int(waiting), age(oldest),
                    int(due))


async def ping(db: AsyncEngine) -> None:
    """Raises when the database does not answer."""
    async with db.connect() as conn:
        await conn.execute(text("SELECT 1"))
