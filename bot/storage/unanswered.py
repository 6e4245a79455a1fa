"""The questions the bot could not answer, kept for the editors."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.models import unanswered_question_table as question_t

OPEN = "open"
_insert = insert(question_t)


class Unanswered:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def add(self, *, text: str, lang: str | None, script: str | None, topic: str | None, node: str | None,
                  confidence: float, channel: str, now: dt.datetime, contact_id: int | None = None) -> None:
        await self.conn.execute(_insert, [{
            "text": text[:2000], "lang": lang, "script": script, "topic_guess": topic, "node_guess": node,
            "confidence": confidence, "channel": channel, "status": OPEN, "handled_by": None, "created_at": now,
            "contact_id": contact_id}])

    async def open(self, limit: int = 5000) -> list[Any]:
        q = question_t.c
        return list((await self.conn.execute(select(question_t).where(q.status == OPEN)
                                             .order_by(q.created_at.desc()).limit(limit))).all())

    async def close(self, ids: list[int], status: str, staff_id: int) -> int:
        """Mark questions handled ("added" or "dismissed"); only those still open. How many."""
        q = question_t.c
        done = await self.conn.execute(update(question_t).where(q.id.in_(ids), q.status == OPEN)
                                       .values(status=status, handled_by=staff_id))
        return int(done.rowcount or 0)
