"""Contacts (the person: language, script, saved variables) and their channels (an address on Telegram,
WhatsApp, the web chat), with WhatsApp's reply window: the time of the person's last message."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.models import contact_channel_table as channel_t
from bot.storage.models import contact_table as contact_t
from bot.storage.models import conversation_table as conversation_t
from bot.storage.models import inbox_event_table as inbox_t
from bot.storage.models import message_table as message_t
from bot.storage.models import outbox_table as outbox_t
from bot.storage.models import timer_table as timer_t
from bot.storage.models import unanswered_question_table as question_t
from bot.storage.reports import forget_for_reports
from bot.vocabulary import Status


@dataclass
class Found:
    """A known contact reached on a channel, with their open conversation (if any)."""

    contact_id: int
    lang: str | None
    script: str
    vars: dict[str, Any]
    notice_shown: bool
    conversation_id: int | None
    status: str | None
    state: dict[str, Any]
    unreachable: bool


@dataclass
class Window:
    last_inbound_at: dt.datetime | None  # the person's last message: free-form replies within the window
    window_notice_at: dt.datetime | None  # the template sent outside the window, once per silence


# The hot path's statements, built once: building and cache-keying a statement per message costs more
# than running it.
@cache
def _find_statement() -> Any:
    c, cc, cv = contact_t.c, channel_t.c, conversation_t.c
    return (select(c.id, c.lang, c.script, c.vars, c.notice_shown, cv.id.label("conv_id"), cv.status, cv.state,
                   cc.unreachable_at)
            .select_from(channel_t.join(contact_t, c.id == cc.contact_id)
                         .outerjoin(conversation_t, and_(cv.contact_id == c.id, cv.status != Status.RESOLVED)))
            .where(cc.channel == bindparam("channel"), cc.external_id == bindparam("user"))
            .order_by(cv.id.desc()).limit(1)
            .with_for_update(of=channel_t))


@cache
def _channel_update(column: str) -> Any:
    cc = channel_t.c
    return (update(channel_t).where(cc.channel == bindparam("on_channel"), cc.external_id == bindparam("user"))
            .values({column: bindparam("value")}))


class Contacts:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def create(self, channel: str, user: str, now: dt.datetime) -> int:
        """A new contact reached at (channel, user); its id."""
        contact_id = int((await self.conn.execute(insert(contact_t).values(
            script="Latn", vars={}, notice_shown=False, created_at=now, updated_at=now)
            .returning(contact_t.c.id))).scalar_one())
        await self.conn.execute(insert(channel_t).values(
            contact_id=contact_id, channel=channel, external_id=user, last_inbound_at=now))
        return contact_id

    async def save_profile(self, contact_id: int, *, lang: str | None, script: str, vars: dict[str, Any],
                           notice_shown: bool, now: dt.datetime) -> None:
        await self.conn.execute(update(contact_t).where(contact_t.c.id == contact_id).values(
            lang=lang, script=script, vars=vars, notice_shown=notice_shown, updated_at=now))

    async def forget(self, contact_id: int) -> None:
        """Every row that holds the contact's data: the contact, its channels, conversations (and their
        timers), messages, the channels' message ids in the inbox, the unanswered questions they asked,
        and every outbox row to their addresses (sent, pending or held: nothing more reaches them). A
        goodbye queued after this, in the same transaction, is still delivered (Outgoing.erase). Their
        conversations stay counted in reports, without personal data (bot/storage/reports.py)."""
        await forget_for_reports(self.conn, contact_id)
        addresses = (await self.conn.execute(select(channel_t.c.channel, channel_t.c.external_id)
                                             .where(channel_t.c.contact_id == contact_id))).all()
        for channel, address in addresses:
            o = outbox_t.c
            await self.conn.execute(delete(outbox_t).where(o.channel == channel, o.address == address))
        m, i = message_t.c, inbox_t.c
        seen = select(m.external_id).where(m.contact_id == contact_id, m.channel == i.channel,
                                           m.external_id == i.external_id)
        await self.conn.execute(delete(inbox_t).where(seen.exists()))
        conversations = select(conversation_t.c.id).where(conversation_t.c.contact_id == contact_id)
        await self.conn.execute(delete(timer_t).where(timer_t.c.conversation_id.in_(conversations)))
        for table, column in ((question_t, question_t.c.contact_id), (message_t, message_t.c.contact_id),
                              (conversation_t, conversation_t.c.contact_id), (channel_t, channel_t.c.contact_id),
                              (contact_t, contact_t.c.id)):
            await self.conn.execute(delete(table).where(column == contact_id))


class ContactChannels:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def find(self, channel: str, user: str) -> Found | None:
        """The contact at (channel, user) and their newest open conversation, the channel row locked
        (PostgreSQL) so that one contact's messages are handled one at a time across processes."""
        row = (await self.conn.execute(_find_statement(), {"channel": channel, "user": user})).first()
        if row is None:
            return None
        return Found(row.id, row.lang, row.script, dict(row.vars or {}), row.notice_shown, row.conv_id, row.status,
                     dict(row.state or {}), row.unreachable_at is not None)

    async def reachable(self, channel: str, user: str) -> None:
        """They unblocked the bot and wrote: reachable again."""
        await self.conn.execute(_channel_update("unreachable_at"), {"on_channel": channel, "user": user, "value": None})

    async def unreachable(self, channel: str, user: str, now: dt.datetime) -> None:
        await self.conn.execute(_channel_update("unreachable_at"), {"on_channel": channel, "user": user, "value": now})

    async def wrote(self, channel: str, user: str, now: dt.datetime) -> None:
        """The person wrote: the reply window opens again."""
        await self.conn.execute(_channel_update("last_inbound_at"), {"on_channel": channel, "user": user, "value": now})

    async def window(self, channel: str, user: str) -> Window | None:
        cc = channel_t.c
        row = (await self.conn.execute(select(cc.last_inbound_at, cc.window_notice_at).where(
            cc.channel == channel, cc.external_id == user))).first()
        return Window(row.last_inbound_at, row.window_notice_at) if row else None

    async def window_notice_sent(self, channel: str, user: str, now: dt.datetime) -> None:
        await self.conn.execute(_channel_update("window_notice_at"),
                                {"on_channel": channel, "user": user, "value": now})

    async def last_inbound(self, contact_id: int, channel: str) -> dt.datetime | None:
        cc = channel_t.c
        return (await self.conn.execute(select(cc.last_inbound_at).where(
            cc.contact_id == contact_id, cc.channel == channel))).scalar()

    async def address(self, contact_id: int, channel: str) -> str | None:
        """The contact's id on a channel (a chat id, a phone number)."""
        cc = channel_t.c
        return (await self.conn.execute(select(cc.external_id).where(
            cc.contact_id == contact_id, cc.channel == channel))).scalar()
