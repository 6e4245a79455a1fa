"""The conversation service every channel calls: one inbound message in, one transaction.

inbox dedupe -> load contact and conversation -> engine (status BOT) or relay (any other status)
-> save state, messages and, for push channels, the outbox -> commit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.engine import Engine
from bot.core.model import ConvState, HandoffRequest, Inbound, Profile, Reply, Turn
from bot.core.normalize import sanitize
from bot.storage.models import Contact, ContactChannel, Conversation, InboxEvent, Message, Outbox, utcnow
from handoff.states import Status, check_transition

log = logging.getLogger(__name__)
PUSH_CHANNELS = frozenset({"telegram", "whatsapp"})  # answered through the outbox, not in the request


@dataclass
class HandleResult:
    replies: list[Reply]
    conversation_id: int | None
    status: str
    duplicate: bool = False


def mask(user: str) -> str:
    """A channel user id fit for logs: phone numbers and chat ids keep only their last 3 characters."""
    return ("*" * max(len(user) - 3, 0)) + user[-3:] if len(user) > 3 else "***"


class ConversationService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], engine: Engine,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.sessions = sessions
        self.engine = engine  # replaced as a whole when a new flow version is published
        self.clock = clock
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, channel: str, user: str) -> asyncio.Lock:
        key = (channel, user)
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    async def handle(self, inbound: Inbound) -> HandleResult:
        inbound = replace(inbound, text=sanitize(inbound.text or ""))
        # One contact's messages are handled one at a time, in order; contacts run concurrently.
        async with self._lock(inbound.channel, inbound.user), self.sessions() as session, session.begin():
            return await self._handle(session, inbound)

    async def _handle(self, session: AsyncSession, inbound: Inbound) -> HandleResult:
        now = self.clock()
        if inbound.external_id and not await _insert_ignore(
                session, InboxEvent, channel=inbound.channel, external_id=inbound.external_id, received_at=now):
            log.info("duplicate %s message %s from %s ignored", inbound.channel, inbound.external_id,
                     mask(inbound.user))
            return HandleResult([], None, "", duplicate=True)

        contact_id, profile = await self._contact(session, inbound, now)
        conv = await self._conversation(session, contact_id, inbound.channel, now)
        await session.execute(insert(Message).values(
            conversation_id=conv.id, contact_id=contact_id, direction="in", sender="migrant",
            text=inbound.text, media=[asdict(m) for m in inbound.media] or None, channel=inbound.channel,
            external_id=inbound.external_id, created_at=now,
            buttons=[{"payload": inbound.payload}] if inbound.payload else None))

        status = conv.status
        if status == Status.WAITING and self.engine.keyword(inbound.text or "") in ("menu", "start"):
            # The migrant may withdraw a request nobody has taken yet and go back to the menu.
            await self._activity(session, conv, contact_id, inbound.channel, now, "migrant returned to the bot",
                                 Status.BOT)
            status = Status.BOT
        if status != Status.BOT:
            # A person has (or will have) the conversation: the bot stays silent, the message waits
            # for the mediator in the transcript.
            await session.execute(update(Conversation).where(Conversation.id == conv.id).values(updated_at=now))
            return HandleResult([], conv.id, status)

        turn = self.engine.handle(profile, ConvState.from_json(conv.state), inbound, now)
        return await self._apply(session, inbound, contact_id, conv.id, turn, now)

    async def _contact(self, session: AsyncSession, inbound: Inbound, now: dt.datetime) -> tuple[int, Profile]:
        row = (await session.execute(
            select(Contact.id, Contact.lang, Contact.script, Contact.vars, Contact.notice_shown)
            .join(ContactChannel, ContactChannel.contact_id == Contact.id)
            .where(ContactChannel.channel == inbound.channel, ContactChannel.external_id == inbound.user)
            .with_for_update(of=ContactChannel))).first()
        if row is not None:
            await session.execute(update(ContactChannel).where(
                ContactChannel.channel == inbound.channel, ContactChannel.external_id == inbound.user)
                .values(last_inbound_at=now))
            return row.id, Profile(lang=row.lang, script=row.script, vars=dict(row.vars or {}),
                                   notice_shown=row.notice_shown)
        contact_id = (await session.execute(insert(Contact).values(
            script="Latn", vars={}, notice_shown=False, created_at=now, updated_at=now)
            .returning(Contact.id))).scalar_one()
        await session.execute(insert(ContactChannel).values(
            contact_id=contact_id, channel=inbound.channel, external_id=inbound.user, last_inbound_at=now))
        return contact_id, Profile()

    async def _conversation(self, session: AsyncSession, contact_id: int, channel: str, now: dt.datetime) -> Any:
        conv = (await session.execute(
            select(Conversation.id, Conversation.status, Conversation.state)
            .where(Conversation.contact_id == contact_id, Conversation.status != Status.RESOLVED)
            .order_by(Conversation.id.desc()).limit(1))).first()
        if conv is not None:
            return conv
        new_id = (await session.execute(insert(Conversation).values(
            contact_id=contact_id, channel=channel, status=Status.BOT, state={}, started_at=now, updated_at=now)
            .returning(Conversation.id))).scalar_one()
        return _Row(id=new_id, status=Status.BOT, state={})

    async def _apply(self, session: AsyncSession, inbound: Inbound, contact_id: int, conv_id: int, turn: Turn,
                     now: dt.datetime) -> HandleResult:
        if turn.forget:
            # Delete the contact, its channels, conversations and messages (cascade); the goodbye is
            # still delivered because outbox rows carry the address, not the contact.
            await session.execute(delete(Message).where(Message.contact_id == contact_id))
            await session.execute(delete(Conversation).where(Conversation.contact_id == contact_id))
            await session.execute(delete(ContactChannel).where(ContactChannel.contact_id == contact_id))
            await session.execute(delete(Contact).where(Contact.id == contact_id))
            await self._outbox(session, inbound, turn.replies, [None] * len(turn.replies), now)
            log.info("contact %s forgotten at their request", contact_id)
            return HandleResult(turn.replies, None, Status.BOT)

        p = turn.profile
        await session.execute(update(Contact).where(Contact.id == contact_id).values(
            lang=p.lang, script=p.script, vars=p.vars, notice_shown=p.notice_shown, updated_at=now))
        values: dict[str, Any] = {"state": turn.state.to_json(), "updated_at": now}
        if turn.topic:
            values["topic"] = turn.topic
        message_ids: list[int | None] = []
        if turn.replies:
            message_ids = list((await session.execute(insert(Message).returning(Message.id), [
                {"conversation_id": conv_id, "contact_id": contact_id, "direction": "out", "sender": "bot",
                 "text": r.text, "buttons": [asdict(b) for b in r.buttons] or None, "media": None,
                 "node": r.node, "topic": r.topic, "channel": inbound.channel, "external_id": None,
                 "created_at": now} for r in turn.replies])).scalars())
        status = Status.BOT
        if turn.handoff is not None:
            status = check_transition(Status.BOT, Status.WAITING)
            values.update(status=status, queue=turn.handoff.queue, priority=turn.handoff.priority,
                          waiting_since=now)
            await session.execute(insert(Message).values(
                conversation_id=conv_id, contact_id=contact_id, direction="activity", sender="system",
                text=_handoff_note(turn.handoff), channel=inbound.channel, created_at=now))
        await session.execute(update(Conversation).where(Conversation.id == conv_id).values(**values))
        await self._outbox(session, inbound, turn.replies, message_ids, now)
        return HandleResult(turn.replies, conv_id, status)

    async def _outbox(self, session: AsyncSession, inbound: Inbound, replies: list[Reply],
                      message_ids: list[int | None], now: dt.datetime) -> None:
        if inbound.channel not in PUSH_CHANNELS or not replies:
            return
        await session.execute(insert(Outbox), [
            {"channel": inbound.channel, "address": inbound.user, "message_id": mid, "status": "pending",
             "payload": {"text": r.text, "buttons": [asdict(b) for b in r.buttons], "node": r.node},
             "attempts": 0, "next_attempt_at": now, "created_at": now}
            for r, mid in zip(replies, message_ids, strict=True)])

    async def _activity(self, session: AsyncSession, conv: Any, contact_id: int, channel: str, now: dt.datetime,
                        text: str, target: Status) -> None:
        check_transition(conv.status, target)
        await session.execute(update(Conversation).where(Conversation.id == conv.id).values(
            status=target, updated_at=now, waiting_since=None))
        await session.execute(insert(Message).values(
            conversation_id=conv.id, contact_id=contact_id, direction="activity", sender="system",
            text=f"{conv.status} -> {target}: {text}", channel=channel, created_at=now))

    async def messages(self, channel: str, user: str, after_id: int = 0, limit: int = 200) -> list[dict[str, Any]]:
        """The contact's messages after `after_id` (oldest first): what a pull channel shows."""
        async with self.sessions() as session:
            rows = (await session.execute(
                select(Message.id, Message.direction, Message.sender, Message.text, Message.buttons,
                       Message.node, Message.created_at)
                .join(ContactChannel, ContactChannel.contact_id == Message.contact_id)
                .where(ContactChannel.channel == channel, ContactChannel.external_id == user,
                       Message.id > after_id, Message.direction != "activity")
                .order_by(Message.id).limit(limit))).all()
        return [{"id": r.id, "direction": r.direction, "sender": r.sender, "text": r.text,
                 "buttons": r.buttons or [], "node": r.node, "at": r.created_at.isoformat()} for r in rows]


@dataclass
class _Row:
    id: int
    status: str
    state: dict[str, Any]


def _handoff_note(request: HandoffRequest) -> str:
    return (f"BOT -> WAITING: {request.reason}; queue {request.queue}, priority {request.priority}"
            f"{'; ' + request.summary if request.summary else ''}")


async def _insert_ignore(session: AsyncSession, model: Any, **values: Any) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True when the row was new."""
    dialect = session.bind.dialect.name
    stmt: Any = (postgresql.insert(model) if dialect == "postgresql" else sqlite.insert(model))
    result = await session.execute(stmt.values(**values).on_conflict_do_nothing().returning(model.id))
    return result.first() is not None
