"""Publishing a flow set, the one way: an editor's draft, a rollback to an older version, or the files of
a directory (`hotline flows import`). Each is checked, added as a new version (nothing is changed in
place), and announced: this process switches at once, the others on the event (Redis) or at their next
look. A draft or an import can instead be scheduled to take effect at a later time (`at`): checked the
same way now, and switched to by every process at its first look after that time; until then it can be
cancelled. The rules live here, without HTTP, so that the console's handlers and the CLI stay thin."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.events import EventBus
from bot.flows_db.reload import FlowReloader
from bot.flows_db.store import EVENT, Files, FlowStore, Version, changed_files, errors, merge, validate
from bot.flowspec import FlowError

log = logging.getLogger(__name__)


class Refused(Exception):
    """Not published; the message says why, in words for the person who asked."""


class Unchanged(Refused):
    """Nothing to publish: the files are the published version's."""


def local_time(text: str, zone: str) -> dt.datetime:
    """'2027-01-01 00:00' (or an HTML form's '2027-01-01T00:00') as a time in the office's time zone
    (Europe/Moscow unless set); a time written with its own offset keeps it. Refused when it is no time."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
        return value if value.tzinfo is not None else value.replace(tzinfo=ZoneInfo(zone))
    except (ValueError, ZoneInfoNotFoundError) as exc:
        raise Refused(f"Not scheduled: {text.strip()!r} is not a date and time like 2027-01-01 00:00.") from exc


async def _count_errors(files: Files) -> int:
    _, problems = await asyncio.to_thread(validate, files)
    return len(errors(problems))


class FlowPublisher:
    def __init__(self, store: FlowStore, *, events: EventBus | None = None, reloader: FlowReloader | None = None,
                 count_errors: Callable[[Files], Awaitable[int]] = _count_errors):
        self.store, self.events, self.reloader = store, events, reloader
        self.count_errors = count_errors  # the editor passes its cached checks

    def _check_time(self, at: dt.datetime | None) -> None:
        if at is None:
            return
        if at.tzinfo is None:
            raise ValueError("a scheduled time must carry its time zone")
        if at <= self.store.clock():
            raise Refused(f"Not scheduled: {at:%Y-%m-%d %H:%M} ({at.tzname()}) has passed. Choose a time to come, "
                          "or publish at once.")

    async def publish_draft(self, staff_id: int, author: str, note: str, *, overwrite: bool = False,
                            at: dt.datetime | None = None) -> Version:
        """The editor's draft, merged into the version in effect (their changes on top of others' since the
        draft began), as a new version, in effect at once or from `at`; the draft is then gone."""
        self._check_time(at)
        draft = await self.store.draft(staff_id)
        if draft is None:
            raise Refused("You have no draft: change something first.")
        if not note:
            raise Refused("Not published: write a short note saying what changed and why.")
        base, latest = await self.store.get(draft.base_version), await self.store.latest()
        if latest is None or latest.files is None:
            raise Refused("No flow version in the database yet.")
        files, conflicts = merge(base.files if base and base.files is not None else latest.files, draft.files,
                                 latest.files)
        if conflicts and not overwrite:
            raise Refused(f"Not published: {', '.join(conflicts)} changed in version {latest.number} since your "
                          "draft began. Look at your changes, then tick 'publish my version of these files' or "
                          "discard your draft.")
        if files == latest.files:
            raise Refused("Your draft is the same as the published version: nothing to publish.")
        count = await self.count_errors(files)
        if count:
            raise Refused(f"Not published: {count} error(s) remain. They are shown next to the fields they "
                          "concern.")
        version = await self._publish(files, kind="publish", author=author, author_id=staff_id, note=note,
                                      based_on=latest.number, audit={"files": changed_files(latest.files, files)},
                                      refused="Not published", effective_at=at)
        await self.store.discard_draft(staff_id)
        return version

    async def rollback(self, number: int, staff_id: int | None, author: str, note: str = "") -> Version:
        """Version `number` live again, as a new version. LookupError when there is no such version."""
        old, latest = await self.store.get(number), await self.store.latest()
        if old is None or old.files is None or latest is None or latest.files is None:
            raise LookupError(f"No version {number}.")
        if old.files == latest.files:
            raise Refused(f"Version {number} is what is published already.")
        return await self._publish(
            dict(old.files), kind="rollback", author=author, author_id=staff_id, based_on=latest.number,
            note=f"rollback to version {number}" + (f": {note}" if note else ""),
            audit={"restored": number, "files": changed_files(latest.files, old.files)},
            refused=f"Not rolled back: version {number} fails today's checks")

    async def import_files(self, files: Files, author: str, note: str, audit: dict[str, Any], *,
                           at: dt.datetime | None = None) -> Version:
        """A directory's files as a new version, in effect at once or from `at` (Refused when they are
        what is published already, or fail the checks, or `at` has passed)."""
        self._check_time(at)
        latest = await self.store.latest()
        if latest is not None and latest.files == files:
            raise Unchanged(f"version {latest.number} is already these files; nothing to import")
        return await self._publish(files, kind="import", author=author, note=note,
                                   based_on=latest.number if latest else None, audit=audit, refused="",
                                   effective_at=at)

    async def cancel(self, number: int, staff_id: int | None, author: str) -> None:
        """A scheduled version that will not take effect (Refused when it is not waiting for its time)."""
        if not await self.store.cancel(number, staff_id, author):
            raise Refused(f"Version {number} is not waiting for its time: nothing to cancel.")
        await self.announce(number)

    async def _publish(self, files: Files, *, refused: str, **version: Any) -> Version:
        try:
            published = await self.store.publish(files, **version)
        except FlowError as exc:
            raise Refused(f"{refused}: {exc}" if refused else str(exc)) from exc
        # a scheduled version: nothing switches now (the processes' looks switch at its time), so this
        # request does not wait for an engine to be built should the time come while it is answered
        await self.announce(published.number, look=published.effective_at is None)
        return published

    async def announce(self, number: int, *, look: bool = True) -> None:
        """This process switches at once; the others on the event (Redis) or their next look."""
        if self.reloader is not None and look:
            await self.reloader.safe_check()
        if self.events is not None:
            try:
                await self.events.publish({"type": EVENT, "version": number})
            except Exception:  # they still switch at their next look
                log.exception("could not announce flow version %d", number)
