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
from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.core.texts import Texts
from bot.events import EventBus
from bot.service import PUSH_CHANNELS
from bot.storage.models import contact_channel_table as channel_t
from bot.storage.models import contact_table as contact_t
from bot.storage.models import conversation_table as conversation_t
from bot.storage.models import message_table as message_t
from bot.storage.models import outbox_table as outbox_t
from bot.storage.models import staff_user_table as staff_t
from bot.storage.models import timer_table as timer_t
from bot.storage.models import utcnow
from handoff import texts as t
from handoff.hours import OfficeHours
from handoff.states import IllegalTransition, Status, check_transition

log = logging.getLogger(__name__)
RESOLUTIONS = ("answered", "referred", "no_reply", "duplicate", "spam", "other")
QUEUES = ("legal", "medical", "general")
BABEL = {"ru": "ru", "uz": "uz", "tg": "tg", "ky": "ky"}


class HandoffError(Exception):
    """A mediator action that can't be done; the message is shown to the mediator."""


@dataclass
class Staff:
    id: int
    login: str
    name: str
    roles: list[str]
    languages: list[str]
    skills: list[str]

    def has(self, role: str) -> bool:
        return role in self.roles or "admin" in self.roles


@dataclass
class HandoffPolicy:
    hours: OfficeHours
    sla: dt.timedelta
    inactivity: dt.timedelta


class HandoffService:
    def __init__(self, db: AsyncEngine, texts: Texts, events: EventBus, policy: HandoffPolicy,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.db, self.texts, self.events, self.policy, self.clock = db, texts, events, policy, clock

    # -- when the bot hands over (called by the conversation service, inside its transaction) --------

    async def on_handoff(self, conn: AsyncConnection, conversation_id: int, lang: str | None, script: str | None,
                         queue: str, priority: str, now: dt.datetime) -> list[str]:
        """Timers, and what the migrant is told besides the flow's own text: place and office hours."""
        await self.schedule(conn, "sla", conversation_id, now + self.policy.sla)
        await self.schedule(conn, "inactive", conversation_id, now + self.policy.inactivity)
        c = conversation_t.c
        me = (await conn.execute(select(c.waiting_since).where(c.id == conversation_id))).scalar_one()
        # Mediators take urgent conversations first, then the longest waiting.
        before = and_(c.priority == priority, c.waiting_since <= me)
        if priority != "urgent":
            before = or_(c.priority == "urgent", before)
        ahead = (await conn.execute(select(func.count()).select_from(conversation_t).where(
            c.status == Status.WAITING, c.queue == queue, c.id != conversation_id, before))).scalar_one()
        lines = [t.say(self.texts, lang, script, t.T_PLACE, place=int(ahead) + 1)]
        if not self.policy.hours.is_open(now):
            lines.append(self.outside_hours(lang, script, now))
        return lines

    def outside_hours(self, lang: str | None, script: str | None, now: dt.datetime) -> str:
        hours = self.policy.hours
        first, last = hours.span()
        language = lang or t.DEFAULT_LANG
        span = self.texts.gettext(language, t.WEEKDAYS[first])
        if last != first:
            span += "–" + self.texts.gettext(language, t.WEEKDAYS[last])
        span += f" {hours.start:%H:%M}–{hours.end:%H:%M}"
        when = format_datetime(hours.next_open(now), "d MMMM, HH:mm", tzinfo=hours.tz,
                               locale=BABEL.get(lang or "ru", "ru"))
        return t.say(self.texts, lang, script, t.T_OUTSIDE_HOURS, hours=span, when=when)

    async def schedule(self, conn: AsyncConnection, kind: str, conversation_id: int, due: dt.datetime) -> None:
        await conn.execute(insert(timer_t).values(kind=kind, conversation_id=conversation_id, due_at=due,
                                                  payload={}, claimed_at=None, done_at=None))

    # -- reading -------------------------------------------------------------------------------------

    async def staff(self, staff_id: int) -> Staff | None:
        async with self.db.connect() as conn:
            row = (await conn.execute(select(staff_t).where(staff_t.c.id == staff_id, staff_t.c.active))).first()
        return _staff(row) if row else None

    async def colleagues(self) -> list[Staff]:
        async with self.db.connect() as conn:
            rows = (await conn.execute(select(staff_t).where(staff_t.c.active).order_by(staff_t.c.name))).all()
        return [_staff(r) for r in rows]

    async def queue(self, me: Staff, *, lang: str = "", skill: str = "", channel: str = "", urgent: bool = False,
                    status: str = Status.WAITING, assignee: int | None = None, search: str = "",
                    limit: int = 200) -> list[dict[str, Any]]:
        """Conversations for a list view, most urgent and longest waiting first, each marked whether it
        reached this mediator only because nobody on the team has its language or skill."""
        c, k = conversation_t.c, contact_t.c
        query = (select(c.id, c.status, c.queue, c.priority, c.lang, c.channel, c.waiting_since, c.updated_at,
                        c.assignee_id, c.topic, c.resolution, c.started_at, k.vars, k.lang.label("contact_lang"))
                 .select_from(conversation_t.join(contact_t, k.id == c.contact_id)))
        query = query.where(c.status == status if status else c.status != Status.BOT)
        for column, value in ((c.lang, lang), (c.queue, skill), (c.channel, channel)):
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
        team = await self.colleagues()
        mediators = [s for s in team if s.has("mediator")]
        now = self.clock()
        out: list[dict[str, Any]] = []
        async with self.db.connect() as conn:
            rows = (await conn.execute(query)).all()
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
                "updated_at": r.updated_at,
            })
        return out

    async def conversation(self, conversation_id: int) -> dict[str, Any]:
        c, k, m = conversation_t.c, contact_t.c, message_t.c
        async with self.db.connect() as conn:
            row = (await conn.execute(
                select(conversation_t, k.lang.label("contact_lang"), k.script, k.vars)
                .select_from(conversation_t.join(contact_t, k.id == c.contact_id))
                .where(c.id == conversation_id))).first()
            if row is None:
                raise HandoffError("no such conversation")
            window = (await conn.execute(select(channel_t.c.last_inbound_at).where(
                channel_t.c.contact_id == row.contact_id, channel_t.c.channel == row.channel))).scalar()
            messages = (await conn.execute(select(message_t).where(m.contact_id == row.contact_id)
                                           .order_by(m.id))).all()
        return {"conversation": row, "messages": messages, "last_inbound_at": window}

    async def messages_after(self, conversation_id: int, after: int) -> list[Any]:
        c, m = conversation_t.c, message_t.c
        async with self.db.connect() as conn:
            contact_id = (await conn.execute(select(c.contact_id).where(c.id == conversation_id))).scalar()
            return list((await conn.execute(select(message_t).where(m.contact_id == contact_id, m.id > after)
                                            .order_by(m.id))).all())

    # -- acting ----------------------------------------------------------------------------------------

    async def claim(self, conversation_id: int, me: Staff) -> None:
        """Take a waiting conversation. Atomic: of two mediators pressing at once, one gets it and the
        other a clear message."""
        now = self.clock()
        c = conversation_t.c
        async with self.db.begin() as conn:
            taken = await conn.execute(update(conversation_t).where(
                c.id == conversation_id, c.status == Status.WAITING).values(
                status=Status.WITH_MEDIATOR, assignee_id=me.id, waiting_since=None, updated_at=now,
                first_response_at=func.coalesce(c.first_response_at, now)))
            if taken.rowcount != 1:
                row = (await conn.execute(select(c.status, c.assignee_id).where(c.id == conversation_id))).first()
                if row is None:
                    raise HandoffError("no such conversation")
                if row.status == Status.WITH_MEDIATOR and row.assignee_id:
                    other = (await conn.execute(select(staff_t.c.name, staff_t.c.login)
                                                .where(staff_t.c.id == row.assignee_id))).first()
                    who = "you" if row.assignee_id == me.id else (other.name or other.login if other else "someone")
                    raise HandoffError(f"already taken by {who}")
                raise HandoffError(f"this conversation is not waiting (it is {row.status})")
            conv = await self._load(conn, conversation_id)
            await self._activity(conn, conv, now, f"WAITING -> WITH_MEDIATOR: taken by {me.name or me.login}", me)
            await self._tell(conn, conv, now, t.T_JOINED, name=(me.name or me.login).split()[0])
        await self._publish(conversation_id, "claimed")

    async def reply(self, conversation_id: int, me: Staff, text: str) -> None:
        text = text.strip()
        if not text:
            raise HandoffError("the reply is empty")
        now = self.clock()
        async with self.db.begin() as conn:
            conv = await self._load(conn, conversation_id)
            if conv.status == Status.WAITING:  # answering a waiting conversation takes it
                await conn.execute(update(conversation_t).where(conversation_t.c.id == conversation_id).values(
                    status=Status.WITH_MEDIATOR, assignee_id=me.id, waiting_since=None,
                    first_response_at=func.coalesce(conversation_t.c.first_response_at, now)))
                await self._activity(conn, conv, now, f"WAITING -> WITH_MEDIATOR: answered by {me.name or me.login}",
                                     me)
                await self._tell(conn, conv, now, t.T_JOINED, name=(me.name or me.login).split()[0])
            elif conv.status != Status.WITH_MEDIATOR:
                raise HandoffError(f"the conversation is {conv.status}; nothing can be sent")
            elif conv.assignee_id not in (None, me.id) and not me.has("admin"):
                raise HandoffError("another mediator has this conversation; ask them to transfer it")
            await self._deliver(conn, conv, now, text, sender="mediator", staff_id=me.id)
            await conn.execute(update(conversation_t).where(conversation_t.c.id == conversation_id)
                               .values(updated_at=now))
            await self.schedule(conn, "inactive", conversation_id, now + self.policy.inactivity)
        await self._publish(conversation_id, "message")

    async def note(self, conversation_id: int, me: Staff, text: str) -> None:
        if not text.strip():
            raise HandoffError("the note is empty")
        async with self.db.begin() as conn:
            conv = await self._load(conn, conversation_id)
            await conn.execute(insert(message_t).values(
                conversation_id=conv.id, contact_id=conv.contact_id, direction="note", sender="mediator",
                staff_id=me.id, text=text.strip(), channel=conv.channel, created_at=self.clock()))
        await self._publish(conversation_id, "message")

    async def transfer(self, conversation_id: int, me: Staff, *, queue: str = "", to_staff: int | None = None) -> None:
        now = self.clock()
        async with self.db.begin() as conn:
            conv = await self._load(conn, conversation_id)
            if to_staff is not None:
                other = (await conn.execute(select(staff_t).where(staff_t.c.id == to_staff, staff_t.c.active))).first()
                if other is None:
                    raise HandoffError("no such colleague")
                if not {"mediator", "admin"} & set(other.roles or []):
                    raise HandoffError(f"{other.name or other.login} is not a mediator")
                self._move(conv.status, Status.WITH_MEDIATOR, allow_same=True)
                await conn.execute(update(conversation_t).where(conversation_t.c.id == conv.id).values(
                    status=Status.WITH_MEDIATOR, assignee_id=other.id, waiting_since=None, updated_at=now))
                await self._activity(conn, conv, now, f"{conv.status} -> WITH_MEDIATOR: transferred by "
                                                      f"{me.name or me.login} to {other.name or other.login}", me)
            elif queue in QUEUES:
                self._move(conv.status, Status.WAITING, allow_same=True)
                await conn.execute(update(conversation_t).where(conversation_t.c.id == conv.id).values(
                    status=Status.WAITING, queue=queue, assignee_id=None, waiting_since=now, updated_at=now))
                await self._activity(conn, conv, now, f"{conv.status} -> WAITING: transferred by "
                                                      f"{me.name or me.login} to the {queue} queue", me)
                await self.schedule(conn, "sla", conv.id, now + self.policy.sla)
            else:
                raise HandoffError("choose a queue or a colleague")
        await self._publish(conversation_id, "transferred")

    async def return_to_bot(self, conversation_id: int, me: Staff) -> None:
        now = self.clock()
        async with self.db.begin() as conn:
            conv = await self._load(conn, conversation_id)
            self._move(conv.status, Status.BOT)
            await conn.execute(update(conversation_t).where(conversation_t.c.id == conv.id).values(
                status=Status.BOT, assignee_id=None, waiting_since=None, updated_at=now, state={}))
            await self._activity(conn, conv, now, f"{conv.status} -> BOT: returned by {me.name or me.login}", me)
            await self._tell(conn, conv, now, t.T_BACK_TO_BOT)
        await self._publish(conversation_id, "returned")

    async def resolve(self, conversation_id: int, me: Staff | None, resolution: str, *, note: str = "") -> None:
        if resolution not in RESOLUTIONS:
            raise HandoffError(f"choose a resolution: {', '.join(RESOLUTIONS)}")
        now = self.clock()
        async with self.db.begin() as conn:
            conv = await self._load(conn, conversation_id)
            self._move(conv.status, Status.RESOLVED)
            # The bot's state of a closed conversation is spent; it now says whether a rating was asked for.
            await conn.execute(update(conversation_t).where(conversation_t.c.id == conv.id).values(
                status=Status.RESOLVED, resolution=resolution, resolved_at=now, updated_at=now, waiting_since=None,
                state={"rating_asked": me is not None}))
            who = f"by {me.name or me.login}" if me else "automatically"
            await self._activity(conn, conv, now, f"{conv.status} -> RESOLVED: {resolution} {who}"
                                 + (f" ({note})" if note else ""), me)
            if me is None:
                await self._tell(conn, conv, now, t.T_AUTO_CLOSED)
            else:
                await self._tell(conn, conv, now, t.T_CLOSED)
                await self._tell(conn, conv, now, t.T_RATE, buttons=[
                    {"label": str(n), "payload": f"r:{n}"} for n in range(1, 6)])
        await self._publish(conversation_id, "resolved")

    # -- helpers ---------------------------------------------------------------------------------------

    def _move(self, current: str, target: Status, allow_same: bool = False) -> None:
        if allow_same and current == target:
            return
        try:
            check_transition(current, target)
        except IllegalTransition as exc:
            raise HandoffError(str(exc)) from exc

    async def _load(self, conn: AsyncConnection, conversation_id: int) -> Any:
        c, k = conversation_t.c, contact_t.c
        query = (select(c.id, c.status, c.contact_id, c.channel, c.assignee_id, k.lang, k.script)
                 .select_from(conversation_t.join(contact_t, k.id == c.contact_id)).where(c.id == conversation_id))
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(of=conversation_t)
        row = (await conn.execute(query)).first()
        if row is None:
            raise HandoffError("no such conversation")
        return row

    async def _activity(self, conn: AsyncConnection, conv: Any, now: dt.datetime, text: str,
                        me: Staff | None) -> None:
        await conn.execute(insert(message_t).values(
            conversation_id=conv.id, contact_id=conv.contact_id, direction="activity", sender="system",
            staff_id=me.id if me else None, text=text, channel=conv.channel, created_at=now))

    async def _tell(self, conn: AsyncConnection, conv: Any, now: dt.datetime, message: str,
                    buttons: list[dict[str, str]] | None = None, **params: Any) -> None:
        await self._deliver(conn, conv, now, t.say(self.texts, conv.lang, conv.script, message, **params),
                            sender="system", buttons=buttons)

    async def _deliver(self, conn: AsyncConnection, conv: Any, now: dt.datetime, text: str, *, sender: str,
                       staff_id: int | None = None, buttons: list[dict[str, str]] | None = None) -> None:
        message_id = (await conn.execute(insert(message_t).values(
            conversation_id=conv.id, contact_id=conv.contact_id, direction="out", sender=sender, staff_id=staff_id,
            text=text, buttons=buttons or None, channel=conv.channel, created_at=now)
            .returning(message_t.c.id))).scalar_one()
        if conv.channel in PUSH_CHANNELS:
            address = (await conn.execute(select(channel_t.c.external_id).where(and_(
                channel_t.c.contact_id == conv.contact_id, channel_t.c.channel == conv.channel)))).scalar()
            if address:
                await conn.execute(insert(outbox_t).values(
                    channel=conv.channel, address=address, message_id=message_id, status="pending",
                    payload={"text": text, "buttons": buttons or [], "node": None, "reply": False},
                    attempts=0, next_attempt_at=now, created_at=now))

    async def _publish(self, conversation_id: int, kind: str) -> None:
        await self.events.publish({"type": kind, "conversation_id": conversation_id})


def _staff(row: Any) -> Staff:
    return Staff(id=row.id, login=row.login, name=row.name or "", roles=list(row.roles or []),
                 languages=list(row.languages or []), skills=list(row.skills or []))


def _speaks(staff: Staff, lang: str | None) -> bool:
    return not lang or lang in staff.languages


def _knows(staff: Staff, queue: str | None) -> bool:
    return not queue or queue in staff.skills


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
