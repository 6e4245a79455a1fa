"""Flow versions (the exact texts of a flow set's files, numbered) and editors' drafts.

Which version is served: every version takes effect at a moment, at once (when it was published) or at
its `effective_at` (scheduled). At a time `now` the served version is the one that took effect last among
those whose moment has come and that were not cancelled (ties by number). So a scheduled version switches
by itself at its time; an immediate publish or a rollback made before then is served until that time and
does not remove the scheduled one (only cancelling it does)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.models import flow_draft_table as draft_t
from bot.storage.models import flow_version_table as version_t

PUBLISHED, ARCHIVED, SCHEDULED, CANCELLED = "published", "archived", "scheduled", "cancelled"
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
    effective_at: dt.datetime | None = None  # None: at once

    @property
    def takes_effect(self) -> dt.datetime:
        return self.effective_at or self.created_at


@dataclass
class Draft:
    staff_id: int
    base_version: int
    files: Files
    updated_at: dt.datetime


def _version(row: Any, with_files: bool = True) -> Version:
    return Version(number=row.number, status=row.status, kind=row.kind, author=row.author, author_id=row.author_id,
                   note=row.note, based_on=row.based_on, created_at=row.created_at,
                   files=dict(row.files) if with_files else None, effective_at=row.effective_at)


def _in_force(now: dt.datetime) -> ColumnElement[bool]:
    v = version_t.c
    return (v.status != CANCELLED) & or_(v.effective_at.is_(None), v.effective_at <= now)


# the order in which versions took effect, the last first
_LAST_FIRST = (func.coalesce(version_t.c.effective_at, version_t.c.created_at).desc(), version_t.c.number.desc())


class FlowVersions:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def latest_number(self) -> int:
        """The highest version number (0: none yet), scheduled ones included."""
        return int((await self.conn.execute(select(func.max(version_t.c.number)))).scalar_one() or 0)

    async def serving_number(self, now: dt.datetime) -> int:
        """The number of the version served at `now` (0: none); see the module's rule."""
        found = (await self.conn.execute(select(version_t.c.number).where(_in_force(now)).order_by(*_LAST_FIRST)
                                         .limit(1))).scalar()
        return int(found or 0)

    async def in_force(self, now: dt.datetime, limit: int = 50) -> list[int]:
        """The numbers of the versions that have taken effect by `now`, the served one first."""
        rows = await self.conn.execute(select(version_t.c.number).where(_in_force(now)).order_by(*_LAST_FIRST)
                                       .limit(limit))
        return [int(n) for n in rows.scalars()]

    async def scheduled(self, now: dt.datetime) -> list[Version]:
        """Versions due to take effect after `now`, the soonest first (with their texts)."""
        v = version_t.c
        rows = (await self.conn.execute(select(version_t).where(v.status == SCHEDULED, v.effective_at > now)
                                        .order_by(v.effective_at, v.number))).all()
        return [_version(r) for r in rows]

    async def cancel(self, number: int, now: dt.datetime) -> bool:
        """Cancel a scheduled version whose time has not come; False when there is none such."""
        v = version_t.c
        done = await self.conn.execute(update(version_t).where(v.number == number, v.status == SCHEDULED,
                                                               v.effective_at > now).values(status=CANCELLED))
        return bool(done.rowcount)

    async def get(self, number: int) -> Version | None:
        row = (await self.conn.execute(select(version_t).where(version_t.c.number == number))).first()
        return _version(row) if row else None

    async def history(self, limit: int) -> list[Version]:
        columns = [c for c in version_t.c if c.name != "files"]
        rows = (await self.conn.execute(select(*columns).order_by(version_t.c.number.desc()).limit(limit))).all()
        return [_version(r, with_files=False) for r in rows]

    async def add_published(self, version: Version) -> None:
        """Add the version: published at once, archiving the one before, or scheduled for its
        `effective_at` (DuplicateKey when another process took its number)."""
        v = version_t.c
        scheduled = version.effective_at is not None
        await self.conn.execute(insert(version_t).values(
            number=version.number, status=SCHEDULED if scheduled else PUBLISHED, kind=version.kind,
            files=version.files, author_id=version.author_id, author=version.author[:128], note=version.note,
            based_on=version.based_on, created_at=version.created_at, effective_at=version.effective_at))
        if not scheduled:
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
