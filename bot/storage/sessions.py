"""Console log-ins kept on the server (a row per session, found by the hash of the cookie's token) and
failed log-in attempts (per hashed key), so that every worker revokes and throttles alike."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.models import console_session_table as session_t
from bot.storage.models import login_failure_table as failure_t


class ConsoleSessions:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def add(self, token_hash: str, staff_id: int, now: dt.datetime, expires_at: dt.datetime) -> None:
        await self.conn.execute(delete(session_t).where(session_t.c.expires_at < now))  # the expired ones go
        await self.conn.execute(insert(session_t).values(id=token_hash, staff_id=staff_id, created_at=now,
                                                         expires_at=expires_at))

    async def staff_of(self, token_hash: str, now: dt.datetime) -> int | None:
        """Whose session this is, while it is neither revoked nor expired."""
        s = session_t.c
        found = (await self.conn.execute(select(s.staff_id).where(s.id == token_hash, s.expires_at > now))).first()
        return int(found.staff_id) if found else None

    async def revoke(self, token_hash: str) -> None:
        await self.conn.execute(delete(session_t).where(session_t.c.id == token_hash))

    async def revoke_staff(self, staff_id: int) -> int:
        """Every session of the account (disabled, or its password changed); how many."""
        done = await self.conn.execute(delete(session_t).where(session_t.c.staff_id == staff_id))
        return int(done.rowcount or 0)


class LoginFailures:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def recent(self, keys: Sequence[str], since: dt.datetime) -> dict[str, tuple[int, dt.datetime]]:
        """Per key with failures after `since`: (how many, the oldest of them)."""
        f = failure_t.c
        rows = await self.conn.execute(select(f.key, func.count(), func.min(f.at))
                                       .where(f.key.in_(list(keys)), f.at > since).group_by(f.key))
        return {r[0]: (int(r[1]), r[2]) for r in rows}

    async def add(self, keys: Sequence[str], now: dt.datetime, prune_before: dt.datetime) -> None:
        await self.conn.execute(delete(failure_t).where(failure_t.c.at < prune_before))  # memory stays bounded
        await self.conn.execute(insert(failure_t), [{"key": key, "at": now} for key in keys])

    async def clear(self, keys: Sequence[str]) -> None:
        await self.conn.execute(delete(failure_t).where(failure_t.c.key.in_(list(keys))))
