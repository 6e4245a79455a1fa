"""Conversations (status, queue, the bot's state) and their messages, activity lines included.

A status change and its activity line are written together by `Conversations.move`, so a transcript is
always complete; whether a move is allowed is the handoff's transition table (handoff.states)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.models import contact_channel_table as channel_t
from bot.storage.models import contact_table as contact_t
from bot.storage.models import conversation_table as conversation_t
from bot.storage.models import message_table as message_t
from bot.vocabulary import Status

Record = Any  # a row read for a view: attributes named as the columns
HANDOFF_LINE = "BOT -> WAITING: "  # how the activity line of a handoff starts (bot.service writes it)


@dataclass
class ConversationRef:
    """A conversation about to change, with what its messages need (channel, contact, language)."""

    id: int
    status: str
    contact_id: int
    channel: str
    assignee_id: int | None = None
    lang: str | None = None
    script: str | None = None


@dataclass
class Closed:
    """A contact's newest conversation when none is open: was it closed moments ago, rating pending?"""

    id: int
    resolved_at: dt.datetime | None
    rating: int | None
    state: dict[str, Any]


def message_row(conversation_id: int, contact_id: int, channel: str, direction: str, sender: str, text: str,
                now: dt.datetime, *, media: list[Any] | None = None, buttons: list[Any] | None = None,
                node: str | None = None, topic: str | None = None, external_id: str | None = None,
                staff_id: int | None = None) -> dict[str, Any]:
    """The one shape of a message row: every column, so that a list of them is one multi-row INSERT."""
    return {"conversation_id": conversation_id, "contact_id": contact_id, "direction": direction, "sender": sender,
            "staff_id": staff_id, "text": text, "buttons": buttons, "media": media, "node": node, "topic": topic,
            "channel": channel, "external_id": external_id, "created_at": now}


@cache
def _save_turn() -> Any:
    cv = conversation_t.c
    return (update(conversation_t).where(cv.id == bindparam("conv_id"))
            .values(state=bindparam("state"), updated_at=bindparam("now"),
                    topic=func.coalesce(bindparam("topic"), cv.topic)))


@cache
def _touch() -> Any:
    cv = conversation_t.c
    return update(conversation_t).where(cv.id == bindparam("conv_id")).values(updated_at=bindparam("now"))


_insert_messages = insert(message_t)
_insert_messages_returning = insert(message_t).returning(message_t.c.id, sort_by_parameter_order=True)
# SQLite: SQLAlchemy keeps the order above by inserting row by row (no sentinel it trusts there); one
# multi-row INSERT gives its rows increasing rowids in the order of its VALUES, so the sorted ids are in order
_insert_messages_returning_any_order = insert(message_t).returning(message_t.c.id)


class Conversations:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def open(self, contact_id: int, channel: str, now: dt.datetime) -> int:
        """A new conversation with the bot; its id."""
        return int((await self.conn.execute(insert(conversation_t).values(
            contact_id=contact_id, channel=channel, status=Status.BOT, state={}, priority="normal",
            started_at=now, updated_at=now).returning(conversation_t.c.id))).scalar_one())

    async def last(self, contact_id: int) -> Closed | None:
        cv = conversation_t.c
        row = (await self.conn.execute(select(cv.id, cv.resolved_at, cv.rating, cv.state)
                                       .where(cv.contact_id == contact_id).order_by(cv.id.desc()).limit(1))).first()
        return Closed(row.id, row.resolved_at, row.rating, dict(row.state or {})) if row else None

    async def delete(self, conversation_id: int) -> None:
        await self.conn.execute(delete(conversation_t).where(conversation_t.c.id == conversation_id))

    async def rate(self, conversation_id: int, rating: int) -> None:
        await self.conn.execute(update(conversation_t).where(conversation_t.c.id == conversation_id)
                                .values(rating=rating))

    async def save_turn(self, conversation_id: int, state: dict[str, Any], topic: str | None,
                        now: dt.datetime) -> None:
        """The bot's state after a message (and its topic, when the message had one)."""
        await self.conn.execute(_save_turn(), {"conv_id": conversation_id, "state": state, "now": now, "topic": topic})

    async def touch(self, conversation_id: int, now: dt.datetime) -> None:
        await self.conn.execute(_touch(), {"conv_id": conversation_id, "now": now})

    async def hand_over(self, conversation_id: int, *, queue: str, priority: str, lang: str | None,
                        now: dt.datetime, reason: str | None = None) -> None:
        """BOT -> WAITING in a queue (the caller writes the activity line with the turn's messages). The
        first handover's time and reason stay for reports."""
        cv = conversation_t.c
        await self.conn.execute(update(conversation_t).where(cv.id == conversation_id).values(
            status=Status.WAITING, queue=queue, priority=priority, waiting_since=now, lang=lang,
            handed_over_at=func.coalesce(cv.handed_over_at, now),
            handoff_reason=func.coalesce(cv.handoff_reason, reason)))

    async def move(self, conv: ConversationRef, to: str, why: str, now: dt.datetime, *, staff_id: int | None = None,
                   only_from: str | None = None, first_response: bool = False, **values: Any) -> bool:
        """Change the status (with `values`) and write the activity line "FROM -> TO: why". With
        `only_from`, only a conversation still in that status moves (False: it did not, nothing written)."""
        cv = conversation_t.c
        query = update(conversation_t).where(cv.id == conv.id)
        if only_from is not None:
            query = query.where(cv.status == only_from)
        if first_response:
            values["first_response_at"] = func.coalesce(cv.first_response_at, now)
        done = await self.conn.execute(query.values(status=to, updated_at=now, **values))
        if only_from is not None and done.rowcount != 1:
            return False
        await self.conn.execute(insert(message_t).values(message_row(
            conv.id, conv.contact_id, conv.channel, "activity", "system", f"{only_from or conv.status} -> {to}: {why}",
            now, staff_id=staff_id)))
        conv.status = to
        return True

    async def update(self, conversation_id: int, **values: Any) -> None:
        await self.conn.execute(update(conversation_t).where(conversation_t.c.id == conversation_id).values(**values))

    async def ahead_in_queue(self, conversation_id: int, queue: str, priority: str) -> int:
        """How many waiting conversations of the queue a mediator takes before this one: urgent ones
        first, then the longest waiting."""
        c = conversation_t.c
        me = (await self.conn.execute(select(c.waiting_since).where(c.id == conversation_id))).scalar_one()
        before = and_(c.priority == priority, c.waiting_since <= me)
        if priority != "urgent":
            before = or_(c.priority == "urgent", before)
        return int((await self.conn.execute(select(func.count()).select_from(conversation_t).where(
            c.status == Status.WAITING, c.queue == queue, c.id != conversation_id, before))).scalar_one())

    async def place_in_queue(self, conversation_id: int) -> int | None:
        """1 for the next to be taken of its queue; None when it is not waiting."""
        c = conversation_t.c
        row = (await self.conn.execute(select(c.status, c.queue, c.priority).where(c.id == conversation_id))).first()
        if row is None or row.status != Status.WAITING or row.queue is None:
            return None
        return await self.ahead_in_queue(conversation_id, row.queue, row.priority) + 1

    async def lock(self, conversation_id: int) -> ConversationRef | None:
        """The conversation with its contact's language, locked (PostgreSQL) for a mediator's action."""
        c, k = conversation_t.c, contact_t.c
        query = (select(c.id, c.status, c.contact_id, c.channel, c.assignee_id, k.lang, k.script)
                 .select_from(conversation_t.join(contact_t, k.id == c.contact_id)).where(c.id == conversation_id))
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update(of=conversation_t)
        row = (await self.conn.execute(query)).first()
        return ConversationRef(row.id, row.status, row.contact_id, row.channel, row.assignee_id, row.lang,
                               row.script) if row else None

    async def status(self, conversation_id: int) -> tuple[str, int | None] | None:
        """(status, assignee) of a conversation."""
        c = conversation_t.c
        row = (await self.conn.execute(select(c.status, c.assignee_id).where(c.id == conversation_id))).first()
        return (row.status, row.assignee_id) if row else None

    async def for_timer(self, conversation_id: int) -> Record | None:
        c = conversation_t.c
        return (await self.conn.execute(select(c.id, c.status, c.lang, c.queue, c.waiting_since, c.updated_at)
                                        .where(c.id == conversation_id))).first()

    async def listing(self, *, status: str, lang: str = "", queue: str = "", channel: str = "", urgent: bool = False,
                      assignee: int | None = None, search: str = "", limit: int = 200) -> list[Record]:
        """Conversations for the console's lists, most urgent and longest waiting first (every status
        but BOT when `status` is empty)."""
        c, k, m = conversation_t.c, contact_t.c, message_t.c
        handoff = _handoff_line(c.id)
        # the migrant's messages since a mediator last wrote (or since the handoff): unread
        s = message_t.alias("seen").c
        seen = (select(func.max(s.id)).where(s.conversation_id == c.id, or_(
            and_(s.direction == "out", s.sender == "mediator"),
            and_(s.direction == "activity", s.text.like(f"{HANDOFF_LINE}%")))).correlate(conversation_t)
            .scalar_subquery())
        unread = (select(func.count()).select_from(message_t)
                  .where(m.conversation_id == c.id, m.direction == "in", m.id > func.coalesce(seen, 0))
                  .scalar_subquery())
        last_in = (select(m.text).where(m.conversation_id == c.id, m.direction == "in")
                   .order_by(m.id.desc()).limit(1).scalar_subquery())
        query = (select(c.id, c.status, c.queue, c.priority, c.lang, c.channel, c.waiting_since, c.updated_at,
                        c.assignee_id, c.topic, c.resolution, c.started_at, k.vars, k.lang.label("contact_lang"),
                        k.script, handoff.with_only_columns(m.text).scalar_subquery().label("handoff_text"),
                        handoff.with_only_columns(m.node).scalar_subquery().label("handoff_node"),
                        unread.label("unread"), last_in.label("last_text"))
                 .select_from(conversation_t.join(contact_t, k.id == c.contact_id)))
        query = query.where(c.status == status if status else c.status != Status.BOT)
        for column, value in ((c.lang, lang), (c.queue, queue), (c.channel, channel)):
            if value:
                query = query.where(column == value)
        if urgent:
            query = query.where(c.priority == "urgent")
        if assignee is not None:
            query = query.where(c.assignee_id == assignee)
        if search:
            hits = select(message_t.c.conversation_id).where(message_t.c.text.ilike(f"%{_like(search)}%",
                                                                                    escape="\\"))
            query = query.where(c.id.in_(hits.scalar_subquery()))
        query = query.order_by((c.priority == "urgent").desc(), c.waiting_since.asc().nulls_last(),
                               c.updated_at.desc()).limit(limit)
        return list((await self.conn.execute(query)).all())

    async def detail(self, conversation_id: int) -> Record | None:
        """Every column of the conversation, with its contact's language, script and variables."""
        c, k = conversation_t.c, contact_t.c
        return (await self.conn.execute(
            select(conversation_t, k.lang.label("contact_lang"), k.script, k.vars, k.created_at.label("first_seen"))
            .select_from(conversation_t.join(contact_t, k.id == c.contact_id))
            .where(c.id == conversation_id))).first()

    async def contact_of(self, conversation_id: int) -> int | None:
        c = conversation_t.c
        return (await self.conn.execute(
            select(c.contact_id).where(c.id == conversation_id))).scalar()


class Messages:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def add(self, rows: list[dict[str, Any]]) -> None:
        """Rows made by message_row, in one statement."""
        await self.conn.execute(_insert_messages, rows)

    async def add_returning_ids(self, rows: list[dict[str, Any]]) -> list[int]:
        """Rows made by message_row, in one statement; their ids in the order of the rows."""
        if self.conn.dialect.name == "sqlite":
            return sorted((await self.conn.execute(_insert_messages_returning_any_order, rows)).scalars())
        return list((await self.conn.execute(_insert_messages_returning, rows)).scalars())

    async def add_one(self, row: dict[str, Any]) -> int:
        return int((await self.conn.execute(insert(message_t).values(row).returning(message_t.c.id))).scalar_one())

    async def of_contact(self, contact_id: int, after: int = 0) -> list[Record]:
        """Every message of the contact's conversations after the id `after`, oldest first."""
        m = message_t.c
        query = select(message_t).where(m.contact_id == contact_id)
        if after:
            query = query.where(m.id > after)
        return list((await self.conn.execute(query.order_by(m.id))).all())

    async def shown_to(self, channel: str, user: str, after: int, limit: int) -> list[Record]:
        """What a pull channel shows the person: their messages and the answers (never activity lines,
        never internal notes) after `after`, oldest first."""
        m, cc = message_t.c, channel_t.c
        return list((await self.conn.execute(
            select(m.id, m.direction, m.sender, m.text, m.buttons, m.node, m.created_at)
            .select_from(message_t.join(channel_t, cc.contact_id == m.contact_id))
            .where(cc.channel == channel, cc.external_id == user, m.id > after, m.direction.in_(("in", "out")))
            .order_by(m.id).limit(limit))).all())


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _handoff_line(conversation_id: Any) -> Any:
    """The conversation's newest handoff activity line (its text says why; its node, which node)."""
    m = message_t.c
    return (select(m.text).where(m.conversation_id == conversation_id, m.direction == "activity",
                                 m.text.like(f"{HANDOFF_LINE}%")).order_by(m.id.desc()).limit(1))
