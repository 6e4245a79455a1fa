"""The inbox: every channel message id seen, so that a message a channel delivers twice is handled once."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.models import inbox_event_table as inbox_t


@cache
def _insert(dialect: str) -> Any:
    module: Any = postgresql if dialect == "postgresql" else sqlite
    return (module.insert(inbox_t).values(channel=bindparam("channel"), external_id=bindparam("external_id"),
                                          received_at=bindparam("now"))
            .on_conflict_do_nothing())  # rowcount 0 = seen before (no RETURNING: one trip less on SQLite)


class Inbox:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def first_time(self, channel: str, external_id: str, now: dt.datetime) -> bool:
        """Record the message id; False when it was recorded before (a duplicate)."""
        done = await self.conn.execute(_insert(self.conn.dialect.name),
                                       {"channel": channel, "external_id": external_id, "now": now})
        return bool(done.rowcount)
