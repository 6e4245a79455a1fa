"""Retention (RETENTION_DAYS): what people wrote and were sent is kept only so long. Older message texts
(and their media references and buttons) are blanked while the rows stay, so that the coordinators'
counts (consultations by topic, language, channel, month) are unchanged; delivered outbox rows (texts and
addresses), unanswered questions and inbox ids older than that are deleted."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, or_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.models import inbox_event_table as inbox_t
from bot.storage.models import message_table as message_t
from bot.storage.models import outbox_table as outbox_t
from bot.storage.models import unanswered_question_table as question_t


class Retention:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def purge(self, before: dt.datetime) -> dict[str, int]:
        """Everything older than `before`, as the module says; how many rows of each kind were touched."""
        m, o = message_t.c, outbox_t.c
        counts = {}
        done = await self.conn.execute(
            update(message_t).where(m.created_at < before, or_(m.text != "", m.media.is_not(None),
                                                               m.buttons.is_not(None)))
            .values(text="", media=None, buttons=None))
        counts["message texts"] = int(done.rowcount or 0)
        done = await self.conn.execute(delete(outbox_t).where(o.created_at < before,
                                                              o.status.not_in(("pending", "sending"))))
        counts["outbox rows"] = int(done.rowcount or 0)
        done = await self.conn.execute(delete(question_t).where(question_t.c.created_at < before))
        counts["unanswered questions"] = int(done.rowcount or 0)
        done = await self.conn.execute(delete(inbox_t).where(inbox_t.c.received_at < before))
        counts["inbox ids"] = int(done.rowcount or 0)
        return counts
