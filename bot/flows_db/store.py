"""Flow versions and drafts in the database.

A version is the exact text of every file of a flow set ({"patent.yaml": "...", "_settings.yaml": "..."}),
so `hotline flows export` writes back the very bytes that were imported. Versions are numbered 1, 2, 3 ...;
the newest one is published (served), the older ones are archived. Nothing is ever changed in place: a
publish, an import and a rollback each add a version. A draft is one editor's unpublished flow set.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.flowspec import FlowError, FlowSet, Problem, check
from bot.flowspec.loader import load_files
from bot.storage.models import audit_log_table as audit_t
from bot.storage.models import flow_draft_table as draft_t
from bot.storage.models import flow_version_table as version_t
from bot.storage.models import staff_user_table as staff_t
from bot.storage.models import utcnow

log = logging.getLogger(__name__)
PUBLISHED, ARCHIVED = "published", "archived"
EVENT = "flows.published"  # on the EventBus: {"type": EVENT, "version": n}

Files = dict[str, str]


def is_set_file(name: str) -> bool:
    """The files a flow set is made of: every *.yaml / *.yml of its directory (flows and _settings)."""
    return name.endswith((".yaml", ".yml")) and "/" not in name and not name.startswith(".")


def read_dir(directory: Path) -> tuple[Files, list[Problem]]:
    """The texts of a directory's flow-set files, exactly as they are (no newline translation)."""
    files: Files = {}
    problems: list[Problem] = []
    if not directory.is_dir():
        return files, [Problem(str(directory), None, None, "is not a directory of flow files")]
    for path in sorted(directory.iterdir()):
        if path.is_file() and is_set_file(path.name):
            try:
                files[path.name] = path.read_bytes().decode("utf-8")
            except UnicodeDecodeError:
                problems.append(Problem(path.name, None, None, "is not UTF-8 text"))
    return files, problems


def write_dir(directory: Path, files: Files) -> list[str]:
    """Write the files byte for byte; flow-set files of the directory that are not in `files` are
    removed (the directory then holds exactly this flow set). Returns the names removed."""
    directory.mkdir(parents=True, exist_ok=True)
    removed = []
    for path in sorted(directory.iterdir()):
        if path.is_file() and is_set_file(path.name) and path.name not in files:
            path.unlink()
            removed.append(path.name)
    for name, text in sorted(files.items()):
        (directory / name).write_bytes(text.encode("utf-8"))
    return removed


def validate(files: Files) -> tuple[FlowSet, list[Problem]]:
    """The same checks as `hotline flows check`, on file texts."""
    flowset, problems = load_files(files)
    return flowset, problems + check(flowset)


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if not p.warning]


def files_key(files: Files) -> str:
    """A fingerprint of a flow set's texts (the same texts, the same key)."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()


def changed_files(before: Files, after: Files) -> list[str]:
    return sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))


def merge(base: Files, mine: Files, latest: Files) -> tuple[Files, list[str]]:
    """My changes (base -> mine) applied to the latest version, file by file. Returns the merged files
    and the files that both I and someone else changed since `base` (there mine wins)."""
    merged = dict(latest)
    conflicts = []
    for name in changed_files(base, mine):
        if latest.get(name) != base.get(name) and latest.get(name) != mine.get(name):
            conflicts.append(name)
        if name in mine:
            merged[name] = mine[name]
        else:
            merged.pop(name, None)
    return merged, conflicts


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


class FlowStore:
    def __init__(self, db: AsyncEngine):
        self.db = db

    # -- versions ------------------------------------------------------------------------------

    async def latest_number(self) -> int:
        """The newest version's number (0: none yet). Cheap: every process asks every few seconds."""
        async with self.db.connect() as conn:
            return int((await conn.execute(select(func.max(version_t.c.number)))).scalar_one() or 0)

    async def get(self, number: int) -> Version | None:
        async with self.db.connect() as conn:
            row = (await conn.execute(select(version_t).where(version_t.c.number == number))).first()
        return _version(row) if row else None

    async def latest(self) -> Version | None:
        number = await self.latest_number()
        return await self.get(number) if number else None

    async def history(self, limit: int = 500) -> list[Version]:
        v = version_t.c
        columns = [c for c in version_t.c if c.name != "files"]
        async with self.db.connect() as conn:
            rows = (await conn.execute(select(*columns).order_by(v.number.desc()).limit(limit))).all()
        return [_version(r, with_files=False) for r in rows]

    async def publish(self, files: Files, *, kind: str, author: str, author_id: int | None = None, note: str = "",
                      based_on: int | None = None, audit: dict[str, Any] | None = None,
                      number: int | None = None) -> Version:
        """Add a version and make it the published one. Refused (FlowError) when it fails the checks.
        `number` insists on that number (the first import is number 1 in every process that tries)."""
        _, problems = await asyncio.to_thread(validate, files)
        if errors(problems):
            raise FlowError(errors(problems))
        for _attempt in range(10):
            try:
                async with self.db.begin() as conn:
                    return await self._insert(conn, files, kind=kind, author=author, author_id=author_id,
                                              note=note, based_on=based_on, audit=audit, number=number)
            except IntegrityError:
                if number is not None:
                    raise
                await asyncio.sleep(0.05)  # another process took the number: take the next one
        raise RuntimeError("could not number the new flow version")

    async def _insert(self, conn: AsyncConnection, files: Files, *, kind: str, author: str, author_id: int | None,
                      note: str, based_on: int | None, audit: dict[str, Any] | None, number: int | None) -> Version:
        v = version_t.c
        if number is None:
            number = int((await conn.execute(select(func.max(v.number)))).scalar_one() or 0) + 1
        now = utcnow()
        await conn.execute(insert(version_t).values(
            number=number, status=PUBLISHED, kind=kind, files=files, author_id=author_id, author=author[:128],
            note=note, based_on=based_on, created_at=now))
        await conn.execute(update(version_t).where(v.number < number, v.status == PUBLISHED).values(status=ARCHIVED))
        await conn.execute(insert(audit_t).values(at=now, staff_id=author_id, action=f"flows.{kind}", detail={
            "version": number, "note": note, "author": author, "based_on": based_on, **(audit or {})}))
        log.info("flow version %d published (%s by %s): %s", number, kind, author, note)
        return Version(number=number, status=PUBLISHED, kind=kind, author=author, author_id=author_id, note=note,
                       based_on=based_on, created_at=now, files=files)

    async def ensure_initial(self, directory: Path) -> Version | None:
        """On the first start, the flow files become version 1. Returns it, or None when versions exist.
        FlowError when the files fail the checks (nothing is served then)."""
        if await self.latest_number():
            return None
        files, problems = await asyncio.to_thread(read_dir, directory)
        if problems:
            raise FlowError(problems)
        try:
            return await self.publish(files, kind="initial", author="first start", number=1,
                                      note=f"the files of {directory.name}/ on the first start")
        except IntegrityError:
            return None  # another process imported them at the same moment

    async def serving(self) -> tuple[Version, FlowSet]:
        """The newest version that passes the checks, with its flow set (a version that fails them, e.g.
        after an upgrade made the checks stricter, is skipped with an error in the log)."""
        number = await self.latest_number()
        failures: list[Problem] = []
        while number > 0:
            version = await self.get(number)
            if version is not None and version.files is not None:
                flowset, problems = await asyncio.to_thread(validate, version.files)
                if not errors(problems):
                    return version, flowset
                log.error("flow version %d fails the checks and is not served:\n%s", number,
                          "\n".join(str(p) for p in errors(problems)))
                failures = failures or errors(problems)
            number -= 1
        raise FlowError(failures or [Problem("database", None, None, "holds no flow version")])

    # -- drafts --------------------------------------------------------------------------------

    async def draft(self, staff_id: int) -> Draft | None:
        async with self.db.connect() as conn:
            row = (await conn.execute(select(draft_t).where(draft_t.c.staff_id == staff_id))).first()
        return Draft(row.staff_id, row.base_version, dict(row.files), row.updated_at) if row else None

    async def save_draft(self, staff_id: int, base_version: int, files: Files) -> None:
        d = draft_t.c
        async with self.db.begin() as conn:
            done = await conn.execute(update(draft_t).where(d.staff_id == staff_id).values(
                base_version=base_version, files=files, updated_at=utcnow()))
            if done.rowcount == 0:
                await conn.execute(insert(draft_t).values(staff_id=staff_id, base_version=base_version, files=files,
                                                          updated_at=utcnow()))

    async def discard_draft(self, staff_id: int) -> None:
        async with self.db.begin() as conn:
            await conn.execute(delete(draft_t).where(draft_t.c.staff_id == staff_id))

    # -- audit ---------------------------------------------------------------------------------

    async def audit_log(self, limit: int = 500) -> list[Any]:
        a, s = audit_t.c, staff_t.c
        async with self.db.connect() as conn:
            return list((await conn.execute(
                select(a.id, a.at, a.action, a.detail, a.staff_id, s.login, s.name)
                .select_from(audit_t.outerjoin(staff_t, s.id == a.staff_id))
                .order_by(a.id.desc()).limit(limit))).all())
