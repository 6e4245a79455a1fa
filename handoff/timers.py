"""Timers are rows with a due_at. Each process's APScheduler tick claims the due ones (FOR UPDATE SKIP
LOCKED on PostgreSQL), so any number of workers never fire one twice."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.models import conversation_table as conversation_t
from bot.storage.models import timer_table as timer_t
from handoff.service import HandoffError, HandoffService
from handoff.states import Status

log = logging.getLogger(__name__)
LEASE = dt.timedelta(minutes=5)  # a claim older than this was cut off by a crash: fire it again


class Timers:
    def __init__(self, db: AsyncEngine, handoff: HandoffService):
        self.db, self.handoff = db, handoff

    async def tick(self) -> int:
        """Fire every due timer once; returns how many fired."""
        now = self.handoff.clock()
        t = timer_t.c
        query = (select(t.id, t.kind, t.conversation_id).where(
            t.done_at.is_(None), t.due_at <= now, (t.claimed_at.is_(None)) | (t.claimed_at < now - LEASE))
            .order_by(t.due_at).limit(100))
        async with self.db.begin() as conn:
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            due = (await conn.execute(query)).all()
            if due:
                await conn.execute(update(timer_t).where(t.id.in_([d.id for d in due])).values(claimed_at=now))
        for timer in due:
            try:
                await self.fire(timer, now)
            except Exception:
                log.exception("timer %s (%s) failed; it will be tried again", timer.id, timer.kind)
                continue
            async with self.db.begin() as conn:
                await conn.execute(update(timer_t).where(t.id == timer.id).values(done_at=now))
        return len(due)

    async def fire(self, timer: Any, now: dt.datetime) -> None:
        c = conversation_t.c
        async with self.db.connect() as conn:
            conv = (await conn.execute(select(c.id, c.status, c.lang, c.queue, c.waiting_since, c.updated_at)
                                       .where(c.id == timer.conversation_id))).first()
        if conv is None:
            return
        if timer.kind == "sla" and conv.status == Status.WAITING and conv.waiting_since is not None \
                and now - conv.waiting_since >= self.handoff.policy.sla:
            minutes = int((now - conv.waiting_since).total_seconds() // 60)
            log.warning("conversation %s (%s, %s) has waited %s minutes", conv.id, conv.lang, conv.queue, minutes)
            # Nobody on the team speaks its language: then everyone is alerted, as everyone sees it.
            spoken = {lang for s in await self.handoff.colleagues() if s.has("mediator") for lang in s.languages}
            await self.handoff.events.publish({"type": "sla", "conversation_id": conv.id, "lang": conv.lang,
                                               "queue": conv.queue, "minutes": minutes,
                                               "unmatched": conv.lang not in spoken})
        elif timer.kind == "inactive" and conv.status in (Status.WAITING, Status.WITH_MEDIATOR):
            quiet_since = conv.updated_at
            if now - quiet_since >= self.handoff.policy.inactivity:
                try:
                    await self.handoff.resolve(conv.id, None, "no_reply", note="no activity")
                except HandoffError as exc:
                    log.info("auto-resolve of %s skipped: %s", conv.id, exc)
            else:  # there was activity since: look again when the quiet period could be over
                async with self.db.begin() as conn:
                    await self.handoff.schedule(conn, "inactive", conv.id, quiet_since + self.handoff.policy.inactivity)
