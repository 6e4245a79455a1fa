"""Helpers for the handoff and console tests: a wired HandoffService, staff accounts, escalated
conversations, and rows straight in the tables when a test needs exact queue, language or times."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.console.auth import hash_password
from bot.core.model import Inbound
from bot.events import EventBus
from bot.i18n import Catalogs
from bot.service import ConversationService
from bot.storage.models import contact_channel_table as channel_t
from bot.storage.models import contact_table as contact_t
from bot.storage.models import conversation_table as conversation_t
from bot.storage.models import message_table as message_t
from bot.storage.models import outbox_table as outbox_t
from bot.storage.models import staff_user_table as staff_t
from bot.storage.models import timer_table as timer_t
from bot.storage.models import utcnow
from handoff.hours import OfficeHours
from handoff.service import HandoffPolicy, HandoffService, Staff

PASSWORD = "correct-horse-battery"
# The mediator keyword in each language (a whole message); "/operator" works everywhere.
ESCALATE = {"ru": "оператор", "uz": "/operator", "tg": "одам", "ky": "оператор"}


def make_handoff(service: ConversationService, catalogs: Catalogs, *, events: EventBus | None = None,
                 hours: str = "always", holidays: str = "", sla: dt.timedelta = dt.timedelta(minutes=15),
                 inactivity: dt.timedelta = dt.timedelta(hours=24)) -> HandoffService:
    """A HandoffService on the conversation service's database and clock, hooked in as `hotline serve`
    hooks it (handoff_for): the extra lines on handoff, and live events after each message."""
    bus = events or EventBus()
    policy = HandoffPolicy(hours=OfficeHours.parse(hours, "Europe/Moscow", holidays), sla=sla, inactivity=inactivity)
    handoff = HandoffService(service.db, catalogs, bus, policy, clock=service.clock)
    service.on_handoff = handoff.on_handoff
    service.closed_note = handoff.closed_note
    service.publish = bus.publish
    return handoff


@functools.cache
def password_hash() -> str:
    """PASSWORD hashed once: argon2 takes ~0.1 s by design, too slow to pay for every account of every test."""
    return hash_password(PASSWORD)


async def add_staff(db: AsyncEngine, login: str, *, roles: tuple[str, ...] = ("mediator",),
                    languages: tuple[str, ...] = ("ru",), skills: tuple[str, ...] = ("general",),
                    name: str = "", active: bool = True) -> Staff:
    """An account with the password PASSWORD (as `hotline users add` makes it, minus the hashing cost)."""
    name = name or login.capitalize()
    async with db.begin() as conn:
        staff_id = (await conn.execute(insert(staff_t).values(
            login=login, name=name, password_hash=password_hash(), roles=list(roles), languages=list(languages),
            skills=list(skills), active=active, must_change_password=False, created_at=utcnow())
            .returning(staff_t.c.id))).scalar_one()
    return Staff(id=staff_id, login=login, name=name, roles=list(roles), languages=list(languages),
                 skills=list(skills))


async def say(service: ConversationService, user: str, text: str = "", *, channel: str = "web",
              payload: str | None = None, lang: str | None = None, external_id: str | None = None) -> Any:
    return await service.handle(Inbound(channel=channel, user=user, text=text, payload=payload, lang_hint=lang,
                                        external_id=external_id))


async def escalate(service: ConversationService, user: str, *, lang: str = "ru", channel: str = "web",
                   text: str | None = None) -> Any:
    """/start in `lang`, then the mediator keyword (or `text`): the result of the escalating message."""
    await say(service, user, "/start", channel=channel, lang=lang)
    result = await say(service, user, text or ESCALATE[lang], channel=channel, lang=lang)
    assert result.status == "WAITING", [r.text for r in result.replies]
    return result


async def waiting(db: AsyncEngine, *, lang: str | None = "ru", queue: str = "general", priority: str = "normal",
                  channel: str = "web", since: dt.datetime, user: str | None = None, status: str = "WAITING",
                  vars: dict[str, Any] | None = None) -> int:
    """A contact with one conversation in `status`, written straight into the tables."""
    async with db.begin() as conn:
        contact = (await conn.execute(insert(contact_t).values(
            lang=lang, script="Latn", vars=vars or {}, notice_shown=True, created_at=since, updated_at=since)
            .returning(contact_t.c.id))).scalar_one()
        await conn.execute(insert(channel_t).values(contact_id=contact, channel=channel,
                                                    external_id=user or f"user-{contact:06d}",
                                                    last_inbound_at=since))
        return int((await conn.execute(insert(conversation_t).values(
            contact_id=contact, channel=channel, status=status, state={}, queue=queue, priority=priority, lang=lang,
            started_at=since, updated_at=since, waiting_since=since if status == "WAITING" else None)
            .returning(conversation_t.c.id))).scalar_one())


async def conversation(db: AsyncEngine, conversation_id: int) -> Any:
    async with db.connect() as conn:
        return (await conn.execute(select(conversation_t).where(conversation_t.c.id == conversation_id))).one()


async def transcript(db: AsyncEngine, conversation_id: int) -> list[Any]:
    """Every message of the conversation's contact, oldest first."""
    async with db.connect() as conn:
        contact = (await conn.execute(select(conversation_t.c.contact_id)
                                      .where(conversation_t.c.id == conversation_id))).scalar_one()
        return list((await conn.execute(select(message_t).where(message_t.c.contact_id == contact)
                                        .order_by(message_t.c.id))).all())


async def outbox(db: AsyncEngine) -> list[Any]:
    async with db.connect() as conn:
        return list((await conn.execute(select(outbox_t).order_by(outbox_t.c.id))).all())


async def timers(db: AsyncEngine, conversation_id: int | None = None) -> list[Any]:
    query = select(timer_t).order_by(timer_t.c.id)
    if conversation_id is not None:
        query = query.where(timer_t.c.conversation_id == conversation_id)
    async with db.connect() as conn:
        return list((await conn.execute(query)).all())
