"""Flow versions and drafts in the database.

A version is the exact text of every file of a flow set ({"patent.yaml": "...", "_settings.yaml": "..."}),
so `hotline flows export` writes back the very bytes that were imported. Versions are numbered 1, 2, 3 ...
Nothing is ever changed in place: a publish, an import and a rollback each add a version. A version takes
effect at once or at a given time (scheduled); the one served is the one that took effect last
(bot.storage.flows explains the rule), so a scheduled version switches by itself, in every process, at
its next look after its time. A draft is one editor's unpublished flow set.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.flowspec import FlowError, FlowSet, Problem, check
from bot.flowspec.loader import load_files
from bot.storage import Database, Draft, DuplicateKey, Files, Record, Tx, Version, reading, transaction, utcnow
from bot.storage.flows import ARCHIVED, CANCELLED, PUBLISHED, SCHEDULED

log = logging.getLogger(__name__)
__all__ = ["ARCHIVED", "CANCELLED", "EVENT", "PUBLISHED", "SCHEDULED", "Draft", "Files", "FlowStore", "Version"]
EVENT = "flows.published"  # on the EventBus: {"type": EVENT, "version": n}


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


class FlowStore:
    def __init__(self, db: Database, *, clock: Callable[[], dt.datetime] = utcnow):
        self.db = db
        self.clock = clock  # when scheduled versions take effect is measured by it (tests move it)

    # -- versions ------------------------------------------------------------------------------

    async def latest_number(self) -> int:
        """The highest version number (0: none yet), scheduled versions included."""
        async with reading(self.db) as tx:
            return await tx.flows.latest_number()

    async def serving_number(self) -> int:
        """The number of the version to serve now (0: none yet). Cheap: every process asks every few
        seconds."""
        async with reading(self.db) as tx:
            return await tx.flows.serving_number(self.clock())

    async def get(self, number: int) -> Version | None:
        async with reading(self.db) as tx:
            return await tx.flows.get(number)

    async def latest(self) -> Version | None:
        """The version to serve now (the one that took effect last)."""
        number = await self.serving_number()
        return await self.get(number) if number else None

    async def scheduled(self) -> list[Version]:
        """The versions waiting for their time, the soonest first."""
        async with reading(self.db) as tx:
            return await tx.flows.scheduled(self.clock())

    async def cancel(self, number: int, staff_id: int | None, author: str) -> bool:
        """Cancel a scheduled version before its time (False: no such version waiting)."""
        async with transaction(self.db) as tx:
            now = self.clock()
            if not await tx.flows.cancel(number, now):
                return False
            await tx.audit.add("flows.cancel", {"version": number, "author": author}, utcnow(), staff_id=staff_id)
        log.info("scheduled flow version %d cancelled by %s", number, author)
        return True

    async def history(self, limit: int = 500) -> list[Version]:
        async with reading(self.db) as tx:
            return await tx.flows.history(limit)
    async def publish(self, files: Files, *, kind: str, author: str, author_id: int | None = None, note: str = "",
                      based_on: int | None = None, audit: dict[str, Any] | None = None,
                      number: int | None = None, effective_at: dt.datetime | None = None) -> Version:
        """Add a version, in effect at once or from `effective_at` (aware). Refused (FlowError) when it
        fails the checks. `number` insists on that number (the first import is number 1 in every process
        that tries)."""
        _, problems = await asyncio.to_thread(validate, files)
        if errors(problems):
            raise FlowError(errors(problems))
        for _attempt in range(10):
            try:
                async with transaction(self.db) as tx:
                    return await self._insert(tx, files, kind=kind, author=author, author_id=author_id,
                                              note=note, based_on=based_on, audit=audit, number=number,
                                              effective_at=effective_at)
            except DuplicateKey:
                if number is not None:
                    raise
                await asyncio.sleep(0.05)  # another process took the number: take the next one
        raise RuntimeError("could not number the new flow version")

    async def _insert(self, tx: Tx, files: Files, *, kind: str, author: str, author_id: int | None, note: str,
                      based_on: int | None, audit: dict[str, Any] | None, number: int | None,
                      effective_at: dt.datetime | None = None) -> Version:
        if number is None:
            number = await tx.flows.latest_number() + 1
        version = Version(number=number, status=SCHEDULED if effective_at else PUBLISHED, kind=kind, author=author,
                          author_id=author_id, note=note, based_on=based_on, created_at=self.clock(), files=files,
                          effective_at=effective_at)
        await tx.flows.add_published(version)
        when = {"effective_at": effective_at.isoformat()} if effective_at else {}
        await tx.audit.add(f"flows.{kind}", {"version": number, "note": note, "author": author, "based_on": based_on,
                                             **when, **(audit or {})}, version.created_at, staff_id=author_id)
        when_said = f"scheduled for {effective_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC" if effective_at \
            else "published"
        log.info("flow version %d %s (%s by %s): %s", number, when_said, kind, author, note)
        return version

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
        except DuplicateKey:
            return None  # another process imported them at the same moment

    async def serving(self) -> tuple[Version, FlowSet]:
        """The version in effect now that passes the checks, with its flow set (one that fails them, e.g.
        after an upgrade made the checks stricter, is skipped with an error in the log, for the one that
        took effect before it)."""
        async with reading(self.db) as tx:
            numbers = await tx.flows.in_force(self.clock())
        failures: list[Problem] = []
        for number in numbers:
            version = await self.get(number)
            if version is not None and version.files is not None:
                flowset, problems = await asyncio.to_thread(validate, version.files)
                if not errors(problems):
                    return version, flowset
                log.error("flow version %d fails the checks and is not served:\n%s", number,
                          "\n".join(str(p) for p in errors(problems)))
                failures = failures or errors(problems)
        raise FlowError(failures or [Problem("database", None, None, "holds no flow version")])

    # -- drafts --------------------------------------------------------------------------------

    async def draft(self, staff_id: int) -> Draft | None:
        async with reading(self.db) as tx:
            return await tx.flows.draft(staff_id)

    async def save_draft(self, staff_id: int, base_version: int, files: Files) -> None:
        async with transaction(self.db) as tx:
            await tx.flows.save_draft(staff_id, base_version, files, utcnow())

    async def discard_draft(self, staff_id: int) -> None:
        async with transaction(self.db) as tx:
            await tx.flows.discard_draft(staff_id)

    # -- audit ---------------------------------------------------------------------------------

    async def audit_log(self, limit: int = 500) -> list[Record]:
        async with reading(self.db) as tx:
            return await tx.audit.recent(limit)
