"""The conversation service every channel calls: one inbound message in, one transaction.

inbox dedupe -> load contact and conversation -> engine (status BOT) or relay (any other status)
-> save state, messages and, for push channels, the outbox -> commit.

This is the hot path of the hotline, so it speaks SQLAlchemy Core on one connection and keeps to a
handful of statements per message (see benchmarks/conversation.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.core.engine import Engine
from bot.core.model import ConvState, HandoffRequest, Inbound, Profile, Reply, Turn
from bot.core.normalize import sanitize
from bot.storage.models import contact_channel_table as channel_t
from bot.storage.models import contact_table as contact_t
from bot.storage.models import conversation_table as conversation_t
from bot.storage.models import inbox_event_table as inbox_t
from bot.storage.models import message_table as message_t
from bot.storage.models import outbox_table as outbox_t
from bot.storage.models import unanswered_question_table as unanswered_t
from bot.storage.models import utcnow
from handoff.states import Status, check_transition

log = logging.getLogger(__name__)
PUSH_CHANNELS = frozenset({"telegram", "whatsapp"})  # answered through the outbox, not in the request
WINDOW_CHANNELS = frozenset({"whatsapp"})  # free-form messages only within 24 h of the person's last one



# The statements of the hot path, built once: building and cache-keying a statement per message costs
# more than running it.
@cache
def _load_statement() -> Any:
    c, cc, cv = contact_t.c, channel_t.c, conversation_t.c
    return (select(c.id, c.lang, c.script, c.vars, c.notice_shown, cv.id.label("conv_id"), cv.status, cv.state,
                   cc.unreachable_at)
            .select_from(channel_t.join(contact_t, c.id == cc.contact_id)
                         .outerjoin(conversation_t, and_(cv.contact_id == c.id, cv.status != Status.RESOLVED)))
            .where(cc.channel == bindparam("channel"), cc.external_id == bindparam("user"))
            .order_by(cv.id.desc()).limit(1)
            .with_for_update(of=channel_t))


@cache
def _inbox_statement(dialect: str) -> Any:
    module: Any = postgresql if dialect == "postgresql" else sqlite
    return (module.insert(inbox_t).values(channel=bindparam("channel"), external_id=bindparam("external_id"),
                                          received_at=bindparam("now"))
            .on_conflict_do_nothing())  # rowcount 0 = seen before (no RETURNING: one trip less on SQLite)


@cache
def _conversation_update() -> Any:
    cv = conversation_t.c
    return (update(conversation_t).where(cv.id == bindparam("conv_id"))
            .values(state=bindparam("state"), updated_at=bindparam("now"),
                    topic=func.coalesce(bindparam("topic"), cv.topic)))


_insert_messages = insert(message_t)
_insert_messages_returning = insert(message_t).returning(message_t.c.id, sort_by_parameter_order=True)


@dataclass
class HandleResult:
    replies: list[Reply]
    conversation_id: int | None
    status: str
    duplicate: bool = False
    handed_over: bool = False


HandoffHook = Callable[[AsyncConnection, int, "str | None", "str | None", str, str, dt.datetime],
                       Awaitable[list[str]]]
RATING_WINDOW = dt.timedelta(hours=24)


@dataclass
class _Loaded:
    contact_id: int
    profile: Profile
    conversation_id: int
    status: str
    state: dict[str, Any]
    rateable: int | None = None  # a conversation closed moments ago whose rating is still to come


def mask(user: str) -> str:
    """A channel user id fit for logs: phone numbers and chat ids keep only their last 3 characters."""
    return ("*" * max(len(user) - 3, 0)) + user[-3:] if len(user) > 3 else "***"


class ConversationService:
    def __init__(self, db: AsyncEngine, engine: Engine, clock: Callable[[], dt.datetime] = utcnow):
        self.db = db
        self.engine = engine  # replaced as a whole when a new flow version is published
        self.clock = clock
        # Set by the handoff wiring: extra lines for the migrant when a conversation is handed over
        # (place in the queue, office hours), and live events for the consoles after each commit.
        self.on_handoff: HandoffHook | None = None
        self.publish: Callable[[dict[str, Any]], Awaitable[None]] | None = None
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
        # Across processes the row lock on contact_channel (PostgreSQL) does the same.
        async with self._lock(inbound.channel, inbound.user):
            async with self.db.begin() as conn:
                result = await self._handle(conn, inbound)
            if self.publish and result.conversation_id and (result.status != Status.BOT or result.handed_over):
                await self.publish({"type": "message", "conversation_id": result.conversation_id})
            return result

    async def _handle(self, conn: AsyncConnection, inbound: Inbound) -> HandleResult:
        now = self.clock()
        if inbound.external_id and (await conn.execute(_inbox_statement(conn.dialect.name), {
                "channel": inbound.channel, "external_id": inbound.external_id, "now": now})).rowcount == 0:
            log.info("duplicate %s message %s from %s ignored", inbound.channel, inbound.external_id,
                     mask(inbound.user))
            return HandleResult([], None, "", duplicate=True)

        row = await self._load(conn, inbound, now)
        if inbound.channel in WINDOW_CHANNELS:
            await self._window_opened(conn, inbound, now)
        if row.rateable and (rating := _rating(inbound)) is not None:
            return await self._rate(conn, inbound, row, rating, now)
        incoming = _message_row(row, inbound, "in", "migrant", inbound.text, now,
                                media=[asdict(m) for m in inbound.media] or None,
                                buttons=[{"payload": inbound.payload}] if inbound.payload else None)
        status = row.status
        state = ConvState.from_json(row.state)
        keyword = self.engine.keyword(inbound.text or "")
        if status == Status.WAITING and keyword in ("menu", "start"):
            # The migrant may withdraw a request nobody has taken yet and go back to the menu.
            await self._move(conn, row, inbound.channel, now, Status.BOT, "migrant returned to the bot")
            status = Status.BOT
        privacy = keyword == "forget" or state.wait == "forget"
        if status != Status.BOT and not privacy:
            # A person has (or will have) the conversation: the bot stays silent, the message waits
            # for the mediator in the transcript. Only /forget is answered whatever the state: the
            # privacy notice promises it "at any time".
            await conn.execute(_insert_messages, [incoming])
            await conn.execute(update(conversation_t).where(conversation_t.c.id == row.conversation_id)
                               .values(updated_at=now))
            return HandleResult([], row.conversation_id, status)

        turn = self.engine.handle(row.profile, state, inbound, now)
        result = await self._apply(conn, inbound, row, incoming, turn, now)
        if status != Status.BOT and not turn.forget:
            result.status = status
        return result

    async def _load(self, conn: AsyncConnection, inbound: Inbound, now: dt.datetime) -> _Loaded:
        c = contact_t.c
        found = (await conn.execute(_load_statement(), {"channel": inbound.channel, "user": inbound.user})).first()
        if found is not None:
            if found.unreachable_at is not None:  # they unblocked the bot and wrote: reachable again
                await conn.execute(update(channel_t).where(channel_t.c.channel == inbound.channel,
                                                           channel_t.c.external_id == inbound.user)
                                   .values(unreachable_at=None))
            profile = Profile(lang=found.lang, script=found.script, vars=dict(found.vars or {}),
                              notice_shown=found.notice_shown)
            if found.conv_id is not None:
                return _Loaded(found.id, profile, found.conv_id, found.status, dict(found.state or {}))
            cv = conversation_t.c
            last = (await conn.execute(select(cv.id, cv.resolved_at, cv.rating, cv.state)
                                       .where(cv.contact_id == found.id).order_by(cv.id.desc()).limit(1))).first()
            conv_id = await self._new_conversation(conn, found.id, inbound.channel, now)
            rateable = None
            if (last is not None and (last.state or {}).get("rating_asked") and last.rating is None
                    and last.resolved_at is not None and now - last.resolved_at < RATING_WINDOW):
                rateable = last.id
            return _Loaded(found.id, profile, conv_id, Status.BOT, {}, rateable)
        contact_id = (await conn.execute(insert(contact_t).values(
            script="Latn", vars={}, notice_shown=False, created_at=now, updated_at=now)
            .returning(c.id))).scalar_one()
        await conn.execute(insert(channel_t).values(
            contact_id=contact_id, channel=inbound.channel, external_id=inbound.user, last_inbound_at=now))
        conv_id = await self._new_conversation(conn, contact_id, inbound.channel, now)
        return _Loaded(contact_id, Profile(), conv_id, Status.BOT, {})

    async def _window_opened(self, conn: AsyncConnection, inbound: Inbound, now: dt.datetime) -> None:
        """The person wrote: the window is open again, so what was held for it goes out now (first,
        since it is older than the replies to this message)."""
        cc, o = channel_t.c, outbox_t.c
        await conn.execute(update(channel_t).where(cc.channel == inbound.channel, cc.external_id == inbound.user)
                           .values(last_inbound_at=now))
        await conn.execute(update(outbox_t).where(o.channel == inbound.channel, o.address == inbound.user,
                                                  o.status == "held").values(status="pending", next_attempt_at=now))

    async def _rate(self, conn: AsyncConnection, inbound: Inbound, row: _Loaded, rating: int,
                    now: dt.datetime) -> HandleResult:
        """The migrant's 1-5 rating of a conversation a mediator has just closed."""
        from handoff.texts import T_THANKS, say

        cv = conversation_t.c
        await conn.execute(delete(conversation_t).where(cv.id == row.conversation_id))  # not a new conversation
        await conn.execute(update(conversation_t).where(cv.id == row.rateable).values(rating=rating))
        row.conversation_id = row.rateable or row.conversation_id
        thanks = say(self.engine.texts, row.profile.lang, row.profile.script, T_THANKS)
        reply = Reply(text=thanks)
        rows = [_message_row(row, inbound, "in", "migrant", inbound.text, now),
                _message_row(row, inbound, "out", "bot", thanks, now)]
        await conn.execute(_insert_messages, rows)
        await self._outbox(conn, inbound, [reply], [None], now)
        return HandleResult([reply], row.conversation_id, Status.RESOLVED)

    async def _new_conversation(self, conn: AsyncConnection, contact_id: int, channel: str,
                                now: dt.datetime) -> int:
        return int((await conn.execute(insert(conversation_t).values(
            contact_id=contact_id, channel=channel, status=Status.BOT, state={}, priority="normal",
            started_at=now, updated_at=now).returning(conversation_t.c.id))).scalar_one())

    async def _apply(self, conn: AsyncConnection, inbound: Inbound, row: _Loaded, incoming: dict[str, Any],
                     turn: Turn, now: dt.datetime) -> HandleResult:
        if turn.forget:
            # Delete the contact with its channels, conversations and messages; the goodbye is still
            # delivered because outbox rows carry the address, not the contact.
            for table, column in ((message_t, message_t.c.contact_id), (conversation_t, conversation_t.c.contact_id),
                                  (channel_t, channel_t.c.contact_id), (contact_t, contact_t.c.id)):
                await conn.execute(delete(table).where(column == row.contact_id))
            await self._outbox(conn, inbound, turn.replies, [None] * len(turn.replies), now)
            log.info("contact %s forgotten at their request", row.contact_id)
            return HandleResult(turn.replies, None, Status.BOT)

        rows = [incoming] + [_message_row(row, inbound, "out", "bot", r.text, now, node=r.node, topic=r.topic,
                                          buttons=_buttons(r) or None) for r in turn.replies]
        status = Status.BOT
        if turn.handoff is not None:
            status = check_transition(Status.BOT, Status.WAITING)
            request, p = turn.handoff, turn.profile
            await conn.execute(update(conversation_t).where(conversation_t.c.id == row.conversation_id).values(
                status=status, queue=request.queue, priority=request.priority, waiting_since=now, lang=p.lang))
            rows.append(_message_row(row, inbound, "activity", "system", _handoff_note(request), now))
            if self.on_handoff is not None:
                extra = await self.on_handoff(conn, row.conversation_id, p.lang, p.script, request.queue,
                                              request.priority, now)
                turn.replies.extend(Reply(text=line) for line in extra)
                rows.extend(_message_row(row, inbound, "out", "bot", line, now) for line in extra)
        push = inbound.channel in PUSH_CHANNELS and turn.replies
        if push:  # the outbox rows point at their messages
            ids = list((await conn.execute(_insert_messages_returning, rows)).scalars())
            await self._outbox(conn, inbound, turn.replies, ids[1:1 + len(turn.replies)], now)
        else:
            await conn.execute(_insert_messages, rows)
        if turn.unanswered is not None:  # for the editors: what people ask that the flows don't answer
            q = turn.unanswered
            await conn.execute(insert(unanswered_t).values(
                text=q.text[:2000], lang=q.lang, script=q.script, topic_guess=q.topic, node_guess=q.node,
                confidence=q.confidence, channel=inbound.channel, status="open", handled_by=None, created_at=now))
        if turn.profile != row.profile:
            p = turn.profile
            await conn.execute(update(contact_t).where(contact_t.c.id == row.contact_id).values(
                lang=p.lang, script=p.script, vars=p.vars, notice_shown=p.notice_shown, updated_at=now))
        await conn.execute(_conversation_update(), {"conv_id": row.conversation_id, "state": turn.state.to_json(),
                                                    "now": now, "topic": turn.topic})
        return HandleResult(turn.replies, row.conversation_id, status, handed_over=turn.handoff is not None)

    async def _outbox(self, conn: AsyncConnection, inbound: Inbound, replies: list[Reply],
                      message_ids: list[int | None], now: dt.datetime) -> None:
        if inbound.channel not in PUSH_CHANNELS or not replies:
            return
        await conn.execute(insert(outbox_t), [
            {"channel": inbound.channel, "address": inbound.user, "message_id": mid, "status": "pending",
             # "reply": an answer to the message just received, so inside WhatsApp's 24-hour window
             "payload": {"text": r.text, "buttons": _buttons(r), "node": r.node, "reply": True},
             "attempts": 0, "next_attempt_at": now, "created_at": now, "sent_at": None, "error": None}
            for r, mid in zip(replies, message_ids, strict=True)])

    async def _move(self, conn: AsyncConnection, row: _Loaded, channel: str, now: dt.datetime, target: Status,
                    why: str) -> None:
        """A state transition, refused when the table forbids it, with its activity message."""
        check_transition(row.status, target)
        await conn.execute(update(conversation_t).where(conversation_t.c.id == row.conversation_id).values(
            status=target, updated_at=now, waiting_since=None))
        await conn.execute(insert(message_t), [_message_row(row, None, "activity", "system",
                                                            f"{row.status} -> {target}: {why}", now, channel=channel)])
        row.status = target

    async def messages(self, channel: str, user: str, after_id: int = 0, limit: int = 200) -> list[dict[str, Any]]:
        """The contact's messages after `after_id` (oldest first): what a pull channel shows."""
        m, cc = message_t.c, channel_t.c
        async with self.db.connect() as conn:
            rows = (await conn.execute(
                select(m.id, m.direction, m.sender, m.text, m.buttons, m.node, m.created_at)
                .select_from(message_t.join(channel_t, cc.contact_id == m.contact_id))
                .where(cc.channel == channel, cc.external_id == user, m.id > after_id,
                       m.direction.in_(("in", "out")))  # never activity lines, never internal notes
                .order_by(m.id).limit(limit))).all()
        return [{"id": r.id, "direction": r.direction, "sender": r.sender, "text": r.text,
                 "buttons": r.buttons or [], "node": r.node, "at": r.created_at.isoformat()} for r in rows]


def _message_row(row: _Loaded, inbound: Inbound | None, direction: str, sender: str, text: str, now: dt.datetime,
                 *, media: list[Any] | None = None, buttons: list[Any] | None = None, node: str | None = None,
                 topic: str | None = None, channel: str | None = None) -> dict[str, Any]:
    # Every row carries every column, so that a list of them is one multi-row INSERT.
    return {"conversation_id": row.conversation_id, "contact_id": row.contact_id, "direction": direction,
            "sender": sender, "text": text, "buttons": buttons, "media": media, "node": node, "topic": topic,
            "channel": channel or (inbound.channel if inbound else ""),
            "external_id": inbound.external_id if inbound and direction == "in" else None, "created_at": now}


def _buttons(reply: Reply) -> list[dict[str, str]]:
    # Plain dicts: dataclasses.asdict deep-copies and was a visible share of the time per message.
    return [{"label": b.label, "payload": b.payload} for b in reply.buttons]


def _rating(inbound: Inbound) -> int | None:
    """r:N from a rating button, or a bare 1-5 typed after the rating question."""
    raw = (inbound.payload or "").removeprefix("r:") if (inbound.payload or "").startswith("r:") else inbound.text
    raw = (raw or "").strip().rstrip(".")
    return int(raw) if raw in ("1", "2", "3", "4", "5") else None


def _handoff_note(request: HandoffRequest) -> str:
    where = f" at {request.context}" if request.context else ""
    return (f"BOT -> WAITING: {request.reason}{where}; queue {request.queue}, priority {request.priority}"
            f"{'; ' + request.summary if request.summary else ''}")
