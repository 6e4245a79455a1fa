"""The conversation service every channel calls: one inbound message in, one transaction.

inbox dedupe -> load contact and conversation -> engine (status BOT) or relay (any other status)
-> save state, messages and, for push channels, the outbox -> commit.

This is the hot path of the hotline: one connection, a handful of statements per message, each built
once by bot/storage (see benchmarks/conversation.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from bot import metrics
from bot.core.engine import Engine
from bot.core.model import ConvState, HandoffRequest, Inbound, Profile, Reply, Turn
from bot.core.normalize import sanitize
from bot.storage import Closed, ConversationRef, Database, Outgoing, Tx, message_row, reading, transaction, utcnow
from bot.vocabulary import PUSH_CHANNELS, WINDOW_CHANNELS, Status, mask
from handoff.states import check_transition

log = logging.getLogger(__name__)
__all__ = ["ConversationService", "HandleResult", "mask"]


@dataclass
class HandleResult:
    replies: list[Reply]
    conversation_id: int | None
    status: str
    duplicate: bool = False
    handed_over: bool = False


HandoffHook = Callable[[Tx, int, "str | None", "str | None", str, str, dt.datetime], Awaitable[list[str]]]
RATING_WINDOW = dt.timedelta(hours=24)


@dataclass
class _Loaded:
    contact_id: int
    profile: Profile
    conversation_id: int
    status: str
    state: dict[str, Any]
    rateable: int | None = None  # a conversation closed moments ago whose rating is still to come


class ConversationService:
    def __init__(self, db: Database, engine: Engine, clock: Callable[[], dt.datetime] = utcnow, *,
                 on_handoff: HandoffHook | None = None,
                 publish: Callable[[dict[str, Any]], Awaitable[None]] | None = None):
        self.db = db
        self.engine = engine  # replaced as a whole when a new flow version is published
        self.clock = clock
        # From the handoff wiring: extra lines for the migrant when a conversation is handed over
        # (place in the queue, office hours), and live events for the consoles after each commit.
        self.on_handoff = on_handoff
        self.publish = publish
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, channel: str, user: str) -> asyncio.Lock:
        key = (channel, user)
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    async def handle(self, inbound: Inbound) -> HandleResult:
        metrics.received(inbound.channel)
        started = time.perf_counter()
        inbound = replace(inbound, text=sanitize(inbound.text or ""))
        # One contact's messages are handled one at a time, in order; contacts run concurrently.
        # Across processes the row lock on contact_channel (PostgreSQL) does the same.
        async with self._lock(inbound.channel, inbound.user):
            async with transaction(self.db) as tx:
                result = await self._handle(tx, inbound)
            if self.publish and result.conversation_id and (result.status != Status.BOT or result.handed_over):
                await self.publish({"type": "message", "conversation_id": result.conversation_id})
            metrics.handled(inbound.channel, time.perf_counter() - started)
            return result

    async def _handle(self, tx: Tx, inbound: Inbound) -> HandleResult:
        now = self.clock()
        if inbound.external_id and not await tx.inbox.first_time(inbound.channel, inbound.external_id, now):
            log.info("duplicate %s message %s from %s ignored", inbound.channel, inbound.external_id,
                     mask(inbound.user))
            return HandleResult([], None, "", duplicate=True)

        row = await self._load(tx, inbound, now)
        if inbound.channel in WINDOW_CHANNELS:
            # The person wrote: the window is open again, so what was held for it goes out now (first,
            # since it is older than the replies to this message).
            await tx.channels.wrote(inbound.channel, inbound.user, now)
            await tx.outbox.release_held(inbound.channel, inbound.user, now)
        if row.rateable and (rating := _rating(inbound)) is not None:
            return await self._rate(tx, inbound, row, rating, now)
        incoming = _message_row(row, inbound, "in", "migrant", inbound.text, now,
                                media=[asdict(m) for m in inbound.media] or None,
                                buttons=[{"payload": inbound.payload}] if inbound.payload else None)
        status = row.status
        state = ConvState.from_json(row.state)
        keyword = self.engine.keyword(inbound.text or "")
        if status == Status.WAITING and keyword in ("menu", "start"):
            # The migrant may withdraw a request nobody has taken yet and go back to the menu.
            check_transition(status, Status.BOT)
            await tx.conversations.move(ConversationRef(row.conversation_id, status, row.contact_id, inbound.channel),
                                        Status.BOT, "migrant returned to the bot", now, waiting_since=None)
            status = row.status = Status.BOT
        privacy = keyword == "forget" or state.wait == "forget"
        if status != Status.BOT and not privacy:
            # A person has (or will have) the conversation: the bot stays silent, the message waits
            # for the mediator in the transcript. Only /forget is answered whatever the state: the
            # privacy notice promises it "at any time".
            await tx.messages.add([incoming])
            await tx.conversations.touch(row.conversation_id, now)
            return HandleResult([], row.conversation_id, status)

        turn = self.engine.handle(row.profile, state, inbound, now)
        result = await self._apply(tx, inbound, row, incoming, turn, now)
        if status != Status.BOT and not turn.forget:
            result.status = status
        return result

    async def _load(self, tx: Tx, inbound: Inbound, now: dt.datetime) -> _Loaded:
        found = await tx.channels.find(inbound.channel, inbound.user)
        if found is None:
            contact_id = await tx.contacts.create(inbound.channel, inbound.user, now)
            conv_id = await tx.conversations.open(contact_id, inbound.channel, now)
            return _Loaded(contact_id, Profile(), conv_id, Status.BOT, {})
        if found.unreachable:  # they unblocked the bot and wrote: reachable again
            await tx.channels.reachable(inbound.channel, inbound.user)
        profile = Profile(lang=found.lang, script=found.script, vars=found.vars, notice_shown=found.notice_shown)
        if found.conversation_id is not None:
            return _Loaded(found.contact_id, profile, found.conversation_id, found.status or Status.BOT, found.state)
        last = await tx.conversations.last(found.contact_id)
        conv_id = await tx.conversations.open(found.contact_id, inbound.channel, now)
        return _Loaded(found.contact_id, profile, conv_id, Status.BOT, {}, _rateable(last, now))

    async def _rate(self, tx: Tx, inbound: Inbound, row: _Loaded, rating: int, now: dt.datetime) -> HandleResult:
        """The migrant's 1-5 rating of a conversation a mediator has just closed."""
        from handoff.texts import T_THANKS, say

        assert row.rateable is not None
        await tx.conversations.delete(row.conversation_id)  # not a new conversation
        await tx.conversations.rate(row.rateable, rating)
        row.conversation_id = row.rateable
        thanks = say(self.engine.texts, row.profile.lang, row.profile.script, T_THANKS)
        reply = Reply(text=thanks)
        await tx.messages.add([_message_row(row, inbound, "in", "migrant", inbound.text, now),
                               _message_row(row, inbound, "out", "bot", thanks, now)])
        await self._outbox(tx, inbound, [reply], [None], now)
        return HandleResult([reply], row.conversation_id, Status.RESOLVED)

    async def _apply(self, tx: Tx, inbound: Inbound, row: _Loaded, incoming: dict[str, Any], turn: Turn,
                     now: dt.datetime) -> HandleResult:
        if turn.forget:
            # The goodbye is still delivered: outbox rows carry the address, not the contact.
            await tx.contacts.forget(row.contact_id)
            await self._outbox(tx, inbound, turn.replies, [None] * len(turn.replies), now)
            log.info("contact %s forgotten at their request", row.contact_id)
            return HandleResult(turn.replies, None, Status.BOT)

        rows = [incoming] + [_message_row(row, inbound, "out", "bot", r.text, now, node=r.node, topic=r.topic,
                                          buttons=_buttons(r) or None) for r in turn.replies]
        status = Status.BOT
        if turn.handoff is not None:
            status = check_transition(Status.BOT, Status.WAITING)
            request, p = turn.handoff, turn.profile
            await tx.conversations.hand_over(row.conversation_id, queue=request.queue, priority=request.priority,
                                             lang=p.lang, now=now, reason=request.reason)
            rows.append(_message_row(row, inbound, "activity", "system", _handoff_note(request), now))
            if self.on_handoff is not None:
                extra = await self.on_handoff(tx, row.conversation_id, p.lang, p.script, request.queue,
                                              request.priority, now)
                turn.replies.extend(Reply(text=line) for line in extra)
                rows.extend(_message_row(row, inbound, "out", "bot", line, now) for line in extra)
        if inbound.channel in PUSH_CHANNELS and turn.replies:  # the outbox rows point at their messages
            ids = await tx.messages.add_returning_ids(rows)
            await self._outbox(tx, inbound, turn.replies, ids[1:1 + len(turn.replies)], now)
        else:
            await tx.messages.add(rows)
        if turn.unanswered is not None:  # for the editors: what people ask that the flows don't answer
            q = turn.unanswered
            await tx.unanswered.add(text=q.text, lang=q.lang, script=q.script, topic=q.topic, node=q.node,
                                    confidence=q.confidence, channel=inbound.channel, now=now)
        if turn.profile != row.profile:
            p = turn.profile
            await tx.contacts.save_profile(row.contact_id, lang=p.lang, script=p.script, vars=p.vars,
                                           notice_shown=p.notice_shown, now=now)
        await tx.conversations.save_turn(row.conversation_id, turn.state.to_json(), turn.topic, now)
        return HandleResult(turn.replies, row.conversation_id, status, handed_over=turn.handoff is not None)

    async def _outbox(self, tx: Tx, inbound: Inbound, replies: list[Reply], message_ids: Sequence[int | None],
                      now: dt.datetime) -> None:
        if inbound.channel in PUSH_CHANNELS and replies:
            await tx.outbox.enqueue(inbound.channel, inbound.user, [
                Outgoing(r.text, _buttons(r), r.node, mid) for r, mid in zip(replies, message_ids, strict=True)],
                now, reply=True)

    async def messages(self, channel: str, user: str, after_id: int = 0, limit: int = 200) -> list[dict[str, Any]]:
        """The contact's messages after `after_id` (oldest first): what a pull channel shows."""
        async with reading(self.db) as tx:
            rows = await tx.messages.shown_to(channel, user, after_id, limit)
        return [{"id": r.id, "direction": r.direction, "sender": r.sender, "text": r.text,
                 "buttons": r.buttons or [], "node": r.node, "at": r.created_at.isoformat()} for r in rows]


def _rateable(last: Closed | None, now: dt.datetime) -> int | None:
    """A conversation closed moments ago whose rating is still to come."""
    if (last is not None and last.state.get("rating_asked") and last.rating is None
            and last.resolved_at is not None and now - last.resolved_at < RATING_WINDOW):
        return last.id
    return None


def _message_row(row: _Loaded, inbound: Inbound, direction: str, sender: str, text: str, now: dt.datetime,
                 *, media: list[Any] | None = None, buttons: list[Any] | None = None, node: str | None = None,
                 topic: str | None = None) -> dict[str, Any]:
    return message_row(row.conversation_id, row.contact_id, inbound.channel, direction, sender, text, now,
                       media=media, buttons=buttons, node=node, topic=topic,
                       external_id=inbound.external_id if direction == "in" else None)


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
