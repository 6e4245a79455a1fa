"""Flow versions (the exact texts of a flow set's files, numbered; the newest is served) and editors'
drafts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.models import flow_draft_table as draft_t
from bot.storage.models import flow_version_table as version_t

PUBLISHED, ARCHIVED = "published", "archived"
Files = dict[str, str]


@dataclass
class Version:
    number: int
    status: str
    kind: str
    author: str
    author_id: int | None
    note: str
    based_on: int | None
    created_at: dt.datetime
    files: Files | None = None  # None when listed without the texts


@dataclass
class Draft:
    staff_id: int
    base_version: int
    files: Files
    updated_at: dt.datetime


def _version(row: Any, with_files: bool = True) -> Version:
    return Version(number=row.number, status=row.status, kind=row.kind, author=row.author, author_id=row.author_id,
                   note=row.note, based_on=row.based_on, created_at=row.created_at,
                   files=dict(row.files) if with_files else None)


class FlowVersions:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def latest_number(self) -> int:
        """The newest version's number (0: none yet)."""
        return int((await self.conn.execute(select(func.max(version_t.c.number)))).scalar_one() or 0)

    async def get(self, number: int) -> Version | None:
        row = (await self.conn.execute(select(version_t).where(version_t.c.number == number))).first()
        return _version(row) if row else None

    async def history(self, limit: int) -> list[Version]:
        columns = [c for c in version_t.c if c.name != "files"]
        rows = (await self.conn.execute(select(*columns).order_by(version_t.c.number.desc()).limit(limit))).all()
        return [_version(r, with_files=False) for r in rows]

    async def add_published(self, version: Version) -> None:
        """Add the version as the published one, archiving the one before (DuplicateKey when another
        process took its number)."""
        v = version_t.c
        await self.conn.execute(insert(version_t).values(
            number=version.number, status=PUBLISHED, kind=version.kind, files=version.files,
            author_id=version.author_id, author=version.author[:128], note=version.note, based_on=version.based_on,
            created_at=version.created_at))
        await self.conn.execute(update(version_t).where(v.number < version.number, v.status == PUBLISHED)
                                .values(status=ARCHIVED))

    async def draft(self, staff_id: int) -> Draft | None:
        row = (await self.conn.execute(select(draft_t).where(draft_t.c.staff_id == staff_id))).first()
        return Draft(row.staff_id, row.base_version, dict(row.files), row.updated_at) if row else None

    async def save_draft(self, staff_id: int, base_version: int, files: Files, now: dt.datetime) -> None:
        d = draft_t.c
        done = await self.conn.execute(update(draft_t).where(d.staff_id == staff_id).values(
            base_version=base_version, files=files, updated_at=now))
        if done.rowcount == 0:
            await self.conn.execute(insert(draft_t).values(staff_id=staff_id, base_version=base_version, files=files,
                                                           updated_at=now))

    async def discard_draft(self, staff_id: int) -> None:
        await self.conn.execute(delete(draft_t).where(draft_t.c.staff_id == staff_id))
