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

from bot import metrics, payloads
from bot.core.engine import Engine
from bot.core.hygiene import cap, clean_text
from bot.core.model import ConvState, HandoffRequest, Inbound, Media, Profile, Reply, Turn, Wait
from bot.storage import Closed, ConversationRef, Database, Outgoing, Tx, message_row, reading, transaction, utcnow
from bot.vocabulary import PUSH_CHANNELS, WINDOW_CHANNELS, Status, mask
from handoff.states import check_transition
from handoff.texts import T_LEFT_QUEUE, T_PLACE, T_STATE_WAITING, T_STATE_WITH_MEDIATOR, say

log = logging.getLogger(__name__)
__all__ = ["ConversationService", "HandleResult", "clean_inbound", "mask"]
MORE_TEXT = "more_text"  # the kind of media that keeps, for the mediator, what went past MAX_MESSAGE_CHARS


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
                 publish: Callable[[dict[str, Any]], Awaitable[None]] | None = None, max_chars: int = 4000):
        self.db = db
        self.max_chars = max_chars  # MAX_MESSAGE_CHARS: what the bot reads of a message
        self.engine = engine  # replaced as a whole when a new flow version is published
        self.clock = clock
        # From the handoff wiring: extra lines for the migrant when a conversation is handed over
        # (place in the queue, office hours), and live events for the consoles after each commit.
        self.on_handoff = on_handoff
        self.publish = publish
        # From the handoff wiring too: outside office hours, when a person will answer ("" while open).
        self.closed_note: Callable[[str | None, str | None, dt.datetime], str] | None = None
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
        inbound, rest = clean_inbound(inbound, self.max_chars)
        # One contact's messages are handled one at a time, in order; contacts run concurrently.
        # Across processes the row lock on contact_channel (PostgreSQL) does the same.
        async with self._lock(inbound.channel, inbound.user):
            async with transaction(self.db) as tx:
                result = await self._handle(tx, inbound, rest)
            if self.publish and result.conversation_id and (result.status != Status.BOT or result.handed_over):
                await self.publish({"type": "message", "conversation_id": result.conversation_id})
            metrics.handled(inbound.channel, time.perf_counter() - started)
            return result

    async def _handle(self, tx: Tx, inbound: Inbound, rest: str = "") -> HandleResult:
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
                                media=[asdict(m) for m in inbound.media] + _more_text(rest) or None,
                                buttons=[{"payload": inbound.payload}] if inbound.payload else None)
        status = row.status
        state = ConvState.from_json(row.state)
        keyword = self.engine.keyword(inbound.text or "")
        if (status == Status.WAITING and keyword == "help") or (
                status == Status.WITH_MEDIATOR and keyword in ("help", "menu", "start")):
            # Never silence for "menu" or "help" while a person has (or will have) the conversation: the
            # migrant is told where they are and what they can do; the mediator sees the message.
            return await self._say_state(tx, inbound, row, incoming, status, now)
        left_queue = False
        if status == Status.WAITING and keyword in ("menu", "start"):
            # The migrant may withdraw a request nobody has taken yet and go back to the menu.
            check_transition(status, Status.BOT)
            await tx.conversations.move(ConversationRef(row.conversation_id, status, row.contact_id, inbound.channel),
                                        Status.BOT, "migrant returned to the bot", now, waiting_since=None)
            status = row.status = Status.BOT
            left_queue = True
        privacy = keyword == "forget" or state.wait == Wait.FORGET
        if status != Status.BOT and not privacy:
            # A person has (or will have) the conversation: the bot stays silent, the message waits
            # for the mediator in the transcript. Only /forget is answered whatever the state: the
            # privacy notice promises it "at any time".
            await tx.messages.add([incoming])
            await tx.conversations.touch(row.conversation_id, now)
            return HandleResult([], row.conversation_id, status)

        turn = self.engine.handle(row.profile, state, inbound, now)
        if left_queue:  # said before the menu, so the migrant knows nobody will answer now
            turn.replies.insert(0, Reply(text=say(self.engine.texts, turn.profile.lang, turn.profile.script,
                                                  T_LEFT_QUEUE)))
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
        from handoff.texts import T_THANKS

        assert row.rateable is not None
        await tx.conversations.delete(row.conversation_id)  # not a new conversation
        await tx.conversations.rate(row.rateable, rating)
        row.conversation_id = row.rateable
        thanks = say(self.engine.texts, row.profile.lang, row.profile.script, T_THANKS)
        reply = Reply(text=thanks)
        pressed = [{"payload": inbound.payload}] if inbound.payload else None  # the console shows the number
        await tx.messages.add([_message_row(row, inbound, "in", "migrant", inbound.text, now, buttons=pressed),
                               _message_row(row, inbound, "out", "bot", thanks, now)])
        await self._outbox(tx, inbound, [reply], [None], now)
        return HandleResult([reply], row.conversation_id, Status.RESOLVED)

    async def _apply(self, tx: Tx, inbound: Inbound, row: _Loaded, incoming: dict[str, Any], turn: Turn,
                     now: dt.datetime) -> HandleResult:
        if turn.forget:
            # Everything of theirs goes, outbox included; the goodbye is still delivered, then erased.
            await tx.contacts.forget(row.contact_id)
            await self._outbox(tx, inbound, turn.replies, [None] * len(turn.replies), now, erase=True)
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
            # the handoff node on its line: the console names the reason (urgent.detained: detention)
            rows.append(_message_row(row, inbound, "activity", "system", _handoff_note(request), now,
                                     node=request.node))
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
                                    confidence=q.confidence, channel=inbound.channel, now=now,
                                    contact_id=row.contact_id)
        if turn.profile != row.profile:
            p = turn.profile
            await tx.contacts.save_profile(row.contact_id, lang=p.lang, script=p.script, vars=p.vars,
                                           notice_shown=p.notice_shown, now=now)
        await tx.conversations.save_turn(row.conversation_id, turn.state.to_json(), turn.topic, now)
        return HandleResult(turn.replies, row.conversation_id, status, handed_over=turn.handoff is not None)

    async def _say_state(self, tx: Tx, inbound: Inbound, row: _Loaded, incoming: dict[str, Any], status: str,
                         now: dt.datetime) -> HandleResult:
        p = row.profile
        lines = [say(self.engine.texts, p.lang, p.script,
                     T_STATE_WAITING if status == Status.WAITING else T_STATE_WITH_MEDIATOR)]
        if status == Status.WAITING and (place := await tx.conversations.place_in_queue(row.conversation_id)):
            lines.insert(0, say(self.engine.texts, p.lang, p.script, T_PLACE, place=place))
        if self.closed_note is not None and (note := self.closed_note(p.lang, p.script, now)):
            lines.append(note)
        replies = [Reply(text="\n\n".join(lines))]
        rows = [incoming, _message_row(row, inbound, "out", "bot", replies[0].text, now)]
        if inbound.channel in PUSH_CHANNELS:
            ids = await tx.messages.add_returning_ids(rows)
            await self._outbox(tx, inbound, replies, ids[1:], now)
        else:
            await tx.messages.add(rows)
        await tx.conversations.touch(row.conversation_id, now)
        return HandleResult(replies, row.conversation_id, status)

    async def _outbox(self, tx: Tx, inbound: Inbound, replies: list[Reply], message_ids: Sequence[int | None],
                      now: dt.datetime, *, erase: bool = False) -> None:
        if inbound.channel in PUSH_CHANNELS and replies:
            await tx.outbox.enqueue(inbound.channel, inbound.user, [
                Outgoing(r.text, _buttons(r), r.node, mid, erase)
                for r, mid in zip(replies, message_ids, strict=True)], now, reply=True)

    async def messages(self, channel: str, user: str, after_id: int = 0, limit: int = 200) -> list[dict[str, Any]]:
        """The contact's messages after `after_id` (oldest first): what a pull channel shows."""
        async with reading(self.db) as tx:
            rows = await tx.messages.shown_to(channel, user, after_id, limit)
        return [{"id": r.id, "direction": r.direction, "sender": r.sender, "text": r.text,
                 "buttons": r.buttons or [], "node": r.node, "at": r.created_at.isoformat()} for r in rows]


def clean_inbound(inbound: Inbound, max_chars: int) -> tuple[Inbound, str]:
    """Every text of an inbound message as it may be stored (bot.core.hygiene), whatever the channel, and
    what went past `max_chars`: the bot reads the first part; the rest is stored with the message as a
    `more_text` media entry, which the console shows the mediator in the transcript (the body size limits
    bound it)."""
    text, rest = cap(clean_text(inbound.text or ""), max_chars)
    media = tuple(Media(clean_text(m.kind), clean_text(m.ref), clean_text(m.mime)) for m in inbound.media)
    return replace(inbound, user=clean_text(inbound.user), text=text, media=media,
                   payload=clean_text(inbound.payload) if inbound.payload is not None else None,
                   external_id=clean_text(inbound.external_id) if inbound.external_id is not None else None,
                   lang_hint=clean_text(inbound.lang_hint) if inbound.lang_hint is not None else None), rest


def _more_text(rest: str) -> list[dict[str, str]]:
    return [{"kind": MORE_TEXT, "ref": rest, "mime": "text/plain"}] if rest else []


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
    pressed = payloads.decode(inbound.payload) if inbound.payload else None
    raw = pressed.value if pressed is not None and pressed.kind is payloads.Kind.RATING else inbound.text
    raw = (raw or "").strip().rstrip(".")
    return int(raw) if raw in ("1", "2", "3", "4", "5") else None


def _handoff_note(request: HandoffRequest) -> str:
    where = f" at {request.context}" if request.context else ""
    return (f"BOT -> WAITING: {request.reason}{where}; queue {request.queue}, priority {request.priority}"
            f"{'; ' + request.summary if request.summary else ''}")
