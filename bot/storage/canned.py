"""Canned replies: texts mediators insert with one click, per language."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.models import canned_reply_table as canned_t


class CannedReplies:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def of_lang(self, lang: str) -> list[Any]:
        c = canned_t.c
        return list((await self.conn.execute(select(canned_t).where(c.lang == lang).order_by(c.title))).all())

    async def all(self) -> list[Any]:
        c = canned_t.c
        return list((await self.conn.execute(select(canned_t).order_by(c.lang, c.title))).all())

    async def delete(self, reply_id: int) -> None:
        await self.conn.execute(delete(canned_t).where(canned_t.c.id == reply_id))

    async def save(self, reply_id: int | None, *, lang: str, title: str, text: str, staff_id: int,
                   now: dt.datetime) -> None:
        """Change a reply (`reply_id`) or add one (None)."""
        values = {"lang": lang, "title": title, "text": text, "updated_by": staff_id, "updated_at": now}
        if reply_id is not None:
            await self.conn.execute(update(canned_t).where(canned_t.c.id == reply_id).values(**values))
        else:
            await self.conn.execute(insert(canned_t).values(**values))
