"""Timers are rows with a due_at. Each process's APScheduler tick claims the due ones (FOR UPDATE SKIP
LOCKED on PostgreSQL), so any number of workers never fire one twice."""

from __future__ import annotations

import datetime as dt
import logging

from bot.storage import Database, Due, reading, transaction
from handoff.service import HandoffError, HandoffService
from handoff.states import Status

log = logging.getLogger(__name__)
LEASE = dt.timedelta(minutes=5)  # a claim older than this was cut off by a crash: fire it again


class Timers:
    def __init__(self, db: Database, handoff: HandoffService):
        self.db, self.handoff = db, handoff

    async def tick(self) -> int:
        """Fire every due timer once; returns how many fired."""
        now = self.handoff.clock()
        async with transaction(self.db) as tx:
            due = await tx.timers.claim_due(now, LEASE)
        for timer in due:
            try:
                await self.fire(timer, now)
            except Exception:
                log.exception("timer %s (%s) failed; it will be tried again", timer.id, timer.kind)
                continue
            async with transaction(self.db) as tx:
                await tx.timers.done(timer.id, now)
        return len(due)

    async def fire(self, timer: Due, now: dt.datetime) -> None:
        if timer.conversation_id is None:
            return
        async with reading(self.db) as tx:
            conv = await tx.conversations.for_timer(timer.conversation_id)
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
                await self.handoff.schedule_inactive(conv.id, quiet_since + self.handoff.policy.inactivity)
