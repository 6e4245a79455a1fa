"""What mediators do with a conversation, and what the migrant is told about it.

Every move goes through the transition table (handoff.states) and writes an activity message, so the
transcript is complete. Messages to the migrant go out like the bot's: a message row, and an outbox row
for push channels (Telegram, WhatsApp); the web chat reads them from the message table.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from babel.dates import format_datetime

from bot import payloads
from bot.core.hygiene import clean_text
from bot.core.texts import Texts
from bot.core.translit import uz_latin_to_cyrillic
from bot.events import EventBus
from bot.storage import (
    ConversationRef,
    Database,
    Outgoing,
    Record,
    Staff,
    Tx,
    message_row,
    reading,
    transaction,
    utcnow,
)
from bot.vocabulary import BABEL_LOCALES, DEFAULT_LANG, PUSH_CHANNELS, QUEUES, RESOLUTIONS, Status
from handoff import texts as t
from handoff.hours import OfficeHours
from handoff.states import IllegalTransition, check_transition

log = logging.getLogger(__name__)
__all__ = ["QUEUES", "RESOLUTIONS", "HandoffError", "HandoffPolicy", "HandoffService", "NotYours", "Staff"]


def L_(message: str) -> str:
    """Marks a message shown to staff: the console's catalog translates it (`make translations`)."""
    return message


class HandoffError(Exception):
    """A mediator action that can't be done; the message (English, translated by the console with its
    parameters) is shown to the mediator."""

    def __init__(self, message: str, **params: Any):
        super().__init__(message % params if params else message)
        self.message, self.params = message, params


class NotYours(HandoffError):
    """Someone else has the conversation: only its mediator acts on it (an admin takes it over first)."""


@dataclass
class HandoffPolicy:
    hours: OfficeHours
    sla: dt.timedelta
    inactivity: dt.timedelta


class HandoffService:
    def __init__(self, db: Database, texts: Texts, events: EventBus, policy: HandoffPolicy,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.db, self.texts, self.events, self.policy, self.clock = db, texts, events, policy, clock

    # -- when the bot hands over (called by the conversation service, inside its transaction) --------

    async def on_handoff(self, tx: Tx, conversation_id: int, lang: str | None, script: str | None,
                         queue: str, priority: str, now: dt.datetime) -> list[str]:
        """Timers, and what the migrant is told besides the flow's own text: place and office hours."""
        await tx.timers.schedule("sla", conversation_id, now + self.policy.sla)
        await tx.timers.schedule("inactive", conversation_id, now + self.policy.inactivity)
        ahead = await tx.conversations.ahead_in_queue(conversation_id, queue, priority)
        lines = [t.say(self.texts, lang, script, t.T_PLACE, place=ahead + 1)]
        if not self.policy.hours.is_open(now):
            lines.append(self.outside_hours(lang, script, now))
        return lines

    def outside_hours(self, lang: str | None, script: str | None, now: dt.datetime) -> str:
        hours = self.policy.hours
        first, last = hours.span()
        language = lang or DEFAULT_LANG
        span = self.texts.gettext(language, t.WEEKDAYS[first])
        if last != first:
            span += "–" + self.texts.gettext(language, t.WEEKDAYS[last])
        span += f" {hours.start:%H:%M}–{hours.end:%H:%M}"
        when = format_datetime(hours.next_open(now), "d MMMM, HH:mm", tzinfo=hours.tz,
                               locale=BABEL_LOCALES.get(language, DEFAULT_LANG))
        return t.say(self.texts, lang, script, t.T_OUTSIDE_HOURS, hours=span, when=when)

    def closed_note(self, lang: str | None, script: str | None, now: dt.datetime) -> str:
        """Outside office hours, when a person will answer; "" while the office is open."""
        return "" if self.policy.hours.is_open(now) else self.outside_hours(lang, script, now)

    # -- reading -------------------------------------------------------------------------------------

    async def staff(self, staff_id: int) -> Staff | None:
        async with reading(self.db) as tx:
            return await tx.staff.get(staff_id)

    async def colleagues(self) -> list[Staff]:
        async with reading(self.db) as tx:
            return await tx.staff.active()

    async def queue(self, me: Staff, *, lang: str = "", skill: str = "", channel: str = "", urgent: bool = False,
                    status: str = Status.WAITING, assignee: int | None = None, search: str = "",
                    limit: int = 200) -> list[dict[str, Any]]:
        """Conversations for a list view, most urgent and longest waiting first, each marked whether it
        reached this mediator only because nobody on the team has its language or skill."""
        team = await self.colleagues()
        mediators = [s for s in team if s.has("mediator")]
        now = self.clock()
        out: list[dict[str, Any]] = []
        async with reading(self.db) as tx:
            rows = await tx.conversations.listing(status=status, lang=lang, queue=skill, channel=channel,
                                                  urgent=urgent, assignee=assignee, search=search, limit=limit)
        names = {s.id: s.name or s.login for s in team}
        for r in rows:
            # Those with both the language and the skill; when nobody has both, whoever speaks the
            # language; when nobody speaks it, everyone (marked), so that no conversation is seen by no one.
            matched = any(_speaks(s, r.lang) and _knows(s, r.queue) for s in mediators)
            if matched:
                mine = _speaks(me, r.lang) and _knows(me, r.queue)
            else:
                mine = _speaks(me, r.lang) or not any(_speaks(s, r.lang) for s in mediators)
            if status == Status.WAITING and not mine and not me.has("admin"):
                continue
            waited = (now - r.waiting_since) if r.waiting_since else None
            out.append({
                "id": r.id, "status": r.status, "queue": r.queue, "priority": r.priority,
                "lang": r.lang or r.contact_lang, "channel": r.channel, "topic": r.topic,
                "waiting_minutes": int(waited.total_seconds() // 60) if waited else None,
                "over_sla": bool(waited and r.status == Status.WAITING and waited > self.policy.sla),
                "unmatched": not matched,
                "assignee": names.get(r.assignee_id, "") if r.assignee_id else "",
                "citizenship": (r.vars or {}).get("citizenship"), "resolution": r.resolution,
                "updated_at": r.updated_at, "region": (r.vars or {}).get("region"), "script": r.script,
                "waiting_since": r.waiting_since, "handoff_text": r.handoff_text, "handoff_node": r.handoff_node,
                "unread": int(r.unread or 0), "last_text": r.last_text or "", "assignee_id": r.assignee_id,
            })
        return out

    async def conversation(self, conversation_id: int) -> dict[str, Any]:
        async with reading(self.db) as tx:
            row = await tx.conversations.detail(conversation_id)
            if row is None:
                raise HandoffError(L_("no such conversation"))
            window = await tx.channels.last_inbound(row.contact_id, row.channel)
            messages = await tx.messages.of_contact(row.contact_id)
        return {"conversation": row, "messages": messages, "last_inbound_at": window}

    async def messages_after(self, conversation_id: int, after: int) -> list[Record]:
        async with reading(self.db) as tx:
            contact_id = await tx.conversations.contact_of(conversation_id)
            return await tx.messages.of_contact(contact_id, after) if contact_id is not None else []

    # -- acting ----------------------------------------------------------------------------------------

    async def claim(self, conversation_id: int, me: Staff) -> None:
        """Take a waiting conversation. Atomic: of two mediators pressing at once, one gets it and the
        other a clear message."""
        now = self.clock()
        async with transaction(self.db) as tx:
            conv = await self._load(tx, conversation_id)
            taken = await tx.conversations.move(conv, Status.WITH_MEDIATOR, f"taken by {me.name or me.login}", now,
                                                staff_id=me.id, only_from=Status.WAITING, first_response=True,
                                                assignee_id=me.id, waiting_since=None)
            if not taken:
                status, assignee = await tx.conversations.status(conversation_id) or (conv.status, None)
                if status == Status.WITH_MEDIATOR and assignee:
                    if assignee == me.id:
                        raise HandoffError(L_("already taken by you"))
                    other = await tx.staff.display_name(assignee)
                    raise HandoffError(L_("already taken by %(name)s"), name=other or "?")
                raise HandoffError(L_("this conversation is not waiting (it is %(status)s)"), status=status)
            await self._tell(tx, conv, now, t.T_JOINED, name=(me.name or me.login).split()[0])
        await self._publish(conversation_id, "claimed")

    async def reply(self, conversation_id: int, me: Staff, text: str) -> None:
        text = clean_text(text).strip()  # as every text that comes in: see bot/core/hygiene.py
        if not text:
            raise HandoffError(L_("the reply is empty"))
        now = self.clock()
        async with transaction(self.db) as tx:
            conv = await self._load(tx, conversation_id)
            if conv.status == Status.WAITING:  # answering a waiting conversation takes it
                await tx.conversations.move(conv, Status.WITH_MEDIATOR, f"answered by {me.name or me.login}", now,
                                            staff_id=me.id, first_response=True, assignee_id=me.id,
                                            waiting_since=None)
                await self._tell(tx, conv, now, t.T_JOINED, name=(me.name or me.login).split()[0])
            elif conv.status != Status.WITH_MEDIATOR:
                raise HandoffError(L_("the conversation is %(status)s; nothing can be sent"), status=conv.status)
            else:
                await self._own(tx, conv, me)
            if conv.lang == "uz" and conv.script == "Cyrl":  # mediators type Latin; the migrant reads Cyrillic
                text = uz_latin_to_cyrillic(text)
            await self._deliver(tx, conv, now, text, sender="mediator", staff_id=me.id)
            await tx.conversations.touch(conversation_id, now)
            await tx.timers.schedule("inactive", conversation_id, now + self.policy.inactivity)
        await self._publish(conversation_id, "message")

    async def note(self, conversation_id: int, me: Staff, text: str) -> None:
        text = clean_text(text)
        if not text.strip():
            raise HandoffError(L_("the note is empty"))
        async with transaction(self.db) as tx:
            conv = await self._load(tx, conversation_id)
            await tx.messages.add_one(message_row(conv.id, conv.contact_id, conv.channel, "note", "mediator",
                                                  text.strip(), self.clock(), staff_id=me.id))
        await self._publish(conversation_id, "message")

    async def transfer(self, conversation_id: int, me: Staff, *, queue: str = "", to_staff: int | None = None) -> None:
        now = self.clock()
        async with transaction(self.db) as tx:
            conv = await self._load(tx, conversation_id)
            await self._own(tx, conv, me)
            if to_staff is not None:
                other = await tx.staff.get(to_staff)
                if other is None:
                    raise HandoffError(L_("no such colleague"))
                if not {"mediator", "admin"} & set(other.roles):
                    raise HandoffError(L_("%(name)s is not a mediator"), name=other.name or other.login)
                self._move(conv.status, Status.WITH_MEDIATOR, allow_same=True)
                await tx.conversations.move(conv, Status.WITH_MEDIATOR, f"transferred by {me.name or me.login} to "
                                            f"{other.name or other.login}", now, staff_id=me.id,
                                            assignee_id=other.id, waiting_since=None)
                await self._tell(tx, conv, now, t.T_TRANSFERRED, name=(other.name or other.login).split()[0])
            elif queue in QUEUES:
                self._move(conv.status, Status.WAITING, allow_same=True)
                await tx.conversations.move(conv, Status.WAITING, f"transferred by {me.name or me.login} to the "
                                            f"{queue} queue", now, staff_id=me.id, queue=queue, assignee_id=None,
                                            waiting_since=now)
                await tx.timers.schedule("sla", conv.id, now + self.policy.sla)
                await self._tell(tx, conv, now, t.T_REQUEUED)
            else:
                raise HandoffError(L_("choose a queue or a colleague"))
        await self._publish(conversation_id, "transferred")

    async def return_to_bot(self, conversation_id: int, me: Staff) -> None:
        now = self.clock()
        async with transaction(self.db) as tx:
            conv = await self._load(tx, conversation_id)
            await self._own(tx, conv, me)
            self._move(conv.status, Status.BOT)
            await tx.conversations.move(conv, Status.BOT, f"returned by {me.name or me.login}", now, staff_id=me.id,
                                        assignee_id=None, waiting_since=None, state={})
            await self._tell(tx, conv, now, t.T_BACK_TO_BOT)
        await self._publish(conversation_id, "returned")

    async def resolve(self, conversation_id: int, me: Staff | None, resolution: str, *, note: str = "") -> None:
        if resolution not in RESOLUTIONS:
            raise HandoffError(L_("choose a resolution: %(choices)s"), choices=", ".join(RESOLUTIONS))
        now = self.clock()
        async with transaction(self.db) as tx:
            conv = await self._load(tx, conversation_id)
            if me is not None:
                await self._own(tx, conv, me)
            self._move(conv.status, Status.RESOLVED)
            who = f"by {me.name or me.login}" if me else "automatically"
            # The bot's state of a closed conversation is spent; it now says whether a rating was asked for.
            await tx.conversations.move(conv, Status.RESOLVED, f"{resolution} {who}" + (f" ({note})" if note else ""),
                                        now, staff_id=me.id if me else None, resolution=resolution, resolved_at=now,
                                        waiting_since=None, state={"rating_asked": me is not None})
            if me is None:
                await self._tell(tx, conv, now, t.T_AUTO_CLOSED)
            else:
                await self._tell(tx, conv, now, t.T_CLOSED)
                await self._tell(tx, conv, now, t.T_RATE, buttons=[
                    {"label": str(n), "payload": payloads.rating(n)} for n in range(1, 6)])
        await self._publish(conversation_id, "resolved")

    async def take_over(self, conversation_id: int, me: Staff) -> None:
        """An admin takes a colleague's conversation (after confirming in the console); logged."""
        if not me.has("admin"):
            raise NotYours(L_("only an admin may take over a colleague's conversation"))
        now = self.clock()
        async with transaction(self.db) as tx:
            conv = await self._load(tx, conversation_id)
            if conv.status != Status.WITH_MEDIATOR or conv.assignee_id in (None, me.id):
                raise HandoffError(L_("there is nothing to take over"))
            before = await tx.staff.display_name(conv.assignee_id) or "?"
            await tx.conversations.move(conv, Status.WITH_MEDIATOR, f"taken over by {me.name or me.login} from "
                                        f"{before}", now, staff_id=me.id, assignee_id=me.id)
            await tx.audit.add("conversation.take_over", {"conversation": conv.id, "from": conv.assignee_id},
                               now, staff_id=me.id)
            await self._tell(tx, conv, now, t.T_TRANSFERRED, name=(me.name or me.login).split()[0])
        await self._publish(conversation_id, "transferred")

    async def schedule_inactive(self, conversation_id: int, due: dt.datetime) -> None:
        """Look again at a quiet conversation at `due`."""
        async with transaction(self.db) as tx:
            await tx.timers.schedule("inactive", conversation_id, due)

    # -- helpers ---------------------------------------------------------------------------------------

    async def _own(self, tx: Tx, conv: ConversationRef, me: Staff) -> None:
        """Only the mediator who has a conversation acts on it; a waiting one is anyone's to act on."""
        if conv.status == Status.WITH_MEDIATOR and conv.assignee_id not in (None, me.id):
            other = await tx.staff.display_name(conv.assignee_id)
            raise NotYours(L_("%(name)s has this conversation: only they can do this"), name=other or "?")

    def _move(self, current: str, target: Status, allow_same: bool = False) -> None:
        if allow_same and current == target:
            return
        try:
            check_transition(current, target)
        except IllegalTransition as exc:
            raise HandoffError(L_("a conversation cannot go from %(current)s to %(target)s"), current=current,
                               target=str(target)) from exc

    async def _load(self, tx: Tx, conversation_id: int) -> ConversationRef:
        conv = await tx.conversations.lock(conversation_id)
        if conv is None:
            raise HandoffError(L_("no such conversation"))
        return conv

    async def _tell(self, tx: Tx, conv: ConversationRef, now: dt.datetime, message: str,
                    buttons: list[dict[str, str]] | None = None, **params: Any) -> None:
        await self._deliver(tx, conv, now, t.say(self.texts, conv.lang, conv.script, message, **params),
                            sender="system", buttons=buttons)

    async def _deliver(self, tx: Tx, conv: ConversationRef, now: dt.datetime, text: str, *, sender: str,
                       staff_id: int | None = None, buttons: list[dict[str, str]] | None = None) -> None:
        message_id = await tx.messages.add_one(message_row(conv.id, conv.contact_id, conv.channel, "out", sender, text,
                                                           now, staff_id=staff_id, buttons=buttons or None))
        if conv.channel in PUSH_CHANNELS:
            address = await tx.channels.address(conv.contact_id, conv.channel)
            if address:
                await tx.outbox.enqueue(conv.channel, address, [Outgoing(text, buttons or [], None, message_id)],
                                        now, reply=False)

    async def _publish(self, conversation_id: int, kind: str) -> None:
        await self.events.publish({"type": kind, "conversation_id": conversation_id})


def _speaks(staff: Staff, lang: str | None) -> bool:
    return not lang or lang in staff.languages


def _knows(staff: Staff, queue: str | None) -> bool:
    return not queue or queue in staff.skills
