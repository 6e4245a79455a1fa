"""The transactional outbox: what is to be sent to a push channel, written in the transaction that
decided it, and the sender's claims, retries and delivery receipts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.models import outbox_table as outbox_t


@dataclass
class Outgoing:
    """One message to send: its text and options ({"label", "payload"}), the flow node it came from,
    and the message row it is the delivery of."""

    text: str
    buttons: list[dict[str, str]]
    node: str | None = None
    message_id: int | None = None
    erase: bool = False  # deleted once delivered (the goodbye after /forget), not kept as sent


@dataclass
class Claimed:
    id: int
    channel: str
    address: str
    payload: dict[str, Any]
    attempts: int
    status: str  # "sending": an earlier attempt was cut off after claiming it


# Built once and run for many rows at a time: building and cache-keying a statement per message costs
# more than running it.
_insert_rows = insert(outbox_t)
_mark_sent = (update(outbox_t).where(outbox_t.c.id == bindparam("row_id"))
              .values(status="sent", sent_at=bindparam("at"), error=None, external_id=bindparam("channel_id")))
_UNSENT = ("pending", "sending")


class Outbox:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def enqueue(self, channel: str, address: str, messages: Iterable[Outgoing], now: dt.datetime, *,
                      reply: bool) -> None:
        """The one place outbox rows are made. `reply`: an answer to the message just received, so
        inside WhatsApp's 24-hour window; a mediator's later message is not."""
        rows = [{"channel": channel, "address": address, "message_id": m.message_id, "status": "pending",
                 "payload": {"text": m.text, "buttons": m.buttons, "node": m.node, "reply": reply,
                             **({"erase": True} if m.erase else {})},
                 "attempts": 0, "next_attempt_at": now, "created_at": now, "sent_at": None, "error": None}
                for m in messages]
        if rows:
            await self.conn.execute(_insert_rows, rows)

    async def release_held(self, channel: str, address: str, now: dt.datetime) -> None:
        """The person wrote, so the window is open: what was held for it goes out now."""
        o = outbox_t.c
        await self.conn.execute(update(outbox_t).where(o.channel == channel, o.address == address, o.status == "held")
                                .values(status="pending", next_attempt_at=now))

    async def claim(self, channels: Sequence[str], now: dt.datetime, lease: dt.timedelta, limit: int) -> list[Claimed]:
        """The oldest unsent message of each chat that is due, marked 'sending' until `now + lease`
        (skipping rows another worker holds, on PostgreSQL)."""
        o = outbox_t.c
        unsent = and_(o.sent_at.is_(None), o.status.in_(_UNSENT))
        oldest = select(func.min(o.id)).where(unsent, o.channel.in_(list(channels))).group_by(o.channel, o.address)
        query = (select(o.id, o.channel, o.address, o.payload, o.attempts, o.status)
                 .where(unsent, o.next_attempt_at <= now, o.id.in_(oldest.scalar_subquery()))
                 .order_by(o.id).limit(limit))
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = (await self.conn.execute(query)).all()
        if rows:
            await self.conn.execute(update(outbox_t).where(o.id.in_([r.id for r in rows]))
                                    .values(status="sending", next_attempt_at=now + lease, attempts=o.attempts + 1))
        return [Claimed(r.id, r.channel, r.address, dict(r.payload), r.attempts, r.status) for r in rows]

    async def sent(self, batch: list[dict[str, Any]]) -> None:
        """Rows delivered: [{"row_id", "at", "channel_id"}, ...], in one statement."""
        await self.conn.execute(_mark_sent, batch)

    async def release(self, row_ids: list[int], now: dt.datetime) -> int:
        """Rows this process claimed and did not send (shutting down): due again at once."""
        o = outbox_t.c
        done = await self.conn.execute(update(outbox_t).where(o.id.in_(row_ids), o.status == "sending")
                                       .values(status="pending", next_attempt_at=now))
        return int(done.rowcount or 0)

    async def erase(self, row_ids: list[int]) -> None:
        await self.conn.execute(delete(outbox_t).where(outbox_t.c.id.in_(row_ids)))

    async def set(self, row_id: int, **values: Any) -> None:
        """A row's status after an attempt (pending with a time to retry, held, failed)."""
        await self.conn.execute(update(outbox_t).where(outbox_t.c.id == row_id).values(**values))

    async def fail_unsent(self, channel: str, address: str, error: str) -> None:
        o = outbox_t.c
        await self.conn.execute(update(outbox_t).where(o.channel == channel, o.address == address,
                                                       o.sent_at.is_(None), o.status.in_(_UNSENT))
                                .values(status="failed", error=error[:500]))

    async def receipt(self, channel: str, external_id: str, values: dict[str, Any],
                      unless: Sequence[str] = ()) -> None:
        """A delivery receipt for the row the channel knows as `external_id`; `unless`: statuses it
        must not overwrite (receipts may arrive out of order)."""
        o = outbox_t.c
        query = update(outbox_t).where(o.channel == channel, o.external_id == external_id)
        if unless:
            query = query.where(o.status.not_in(list(unless)))
        await self.conn.execute(query.values(**values))
