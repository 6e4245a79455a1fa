"""The conversation service on real databases (SQLite, and PostgreSQL when it runs): one transaction per
message, dedupe, silence outside BOT, the outbox for push channels, /forget, contact variables."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.model import Inbound, Media
from bot.service import ConversationService, mask
from bot.storage.models import Contact, ContactChannel, Conversation, InboxEvent, Message, Outbox
from tests.conftest import Clock


async def _count(db: AsyncEngine, model: type) -> int:
    async with db.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(model))).scalar_one())


def msg(text: str = "", user: str = "100", channel: str = "web", **kw: object) -> Inbound:
    return Inbound(channel=channel, user=user, text=text, **kw)  # type: ignore[arg-type]


async def test_first_contact_picks_language_and_everything_is_stored(service: ConversationService,
                                                                    db: AsyncEngine) -> None:
    result = await service.handle(msg("/start"))
    assert [r.node for r in result.replies] == ["language.pick"]
    result = await service.handle(msg("5"))  # Русский
    assert result.replies[-1].node == "main.menu"
    assert "/forget" in result.replies[0].text  # the privacy notice, in Russian
    assert "хранит" in result.replies[0].text.lower() or "храним" in result.replies[0].text.lower()
    assert await _count(db, Contact) == 1
    assert await _count(db, Message) == 2 + 1 + 2  # 2 in, picker, notice + menu
    async with db.connect() as conn:
        lang = (await conn.execute(select(Contact.lang))).scalar_one()
    assert lang == "ru"


async def test_duplicate_external_id_gets_no_second_reply(service: ConversationService, db: AsyncEngine) -> None:
    first = await service.handle(msg("/start", external_id="upd-1"))
    again = await service.handle(msg("/start", external_id="upd-1"))
    assert first.replies and not first.duplicate
    assert again.duplicate and again.replies == []
    assert await _count(db, InboxEvent) == 1
    assert await _count(db, Message) == 2  # one in, one out


async def test_push_channel_replies_go_to_the_outbox(service: ConversationService, db: AsyncEngine) -> None:
    await service.handle(msg("/start", channel="telegram", user="555", lang_hint="uz"))
    async with db.connect() as conn:
        rows = (await conn.execute(select(Outbox.address, Outbox.payload, Outbox.status))).all()
    assert [r.address for r in rows] == ["555", "555"]
    assert rows[1].payload["node"] == "main.menu" and rows[1].status == "pending"
    assert rows[1].payload["buttons"][0]["payload"] == "o:main.menu:1"
    assert await _count(db, Outbox) == 2
    await service.handle(msg("/start", channel="web", user="556", lang_hint="uz"))
    assert await _count(db, Outbox) == 2  # the web chat is answered in the request


async def test_handoff_makes_the_bot_silent_and_relays(service: ConversationService, db: AsyncEngine) -> None:
    await service.handle(msg("/start", lang_hint="tg"))
    result = await service.handle(msg("оператор"))
    assert result.status == "WAITING"
    assert result.replies[-1].node == "main.mediator"
    quiet = await service.handle(msg("мени полиция ушлади"))
    assert quiet.replies == [] and quiet.status == "WAITING"
    async with db.connect() as conn:
        conv = (await conn.execute(select(Conversation.status, Conversation.queue, Conversation.waiting_since))).one()
        activity = (await conn.execute(select(Message.text).where(Message.direction == "activity"))).scalars().all()
        last_in = (await conn.execute(select(Message.text).where(Message.direction == "in")
                                      .order_by(Message.id.desc()).limit(1))).scalar_one()
    assert conv.status == "WAITING" and conv.queue == "general" and conv.waiting_since is not None
    assert activity == ["BOT -> WAITING: keyword at main.menu; queue general, priority normal; "
                        "Мигрант просит консультанта"]
    assert last_in == "мени полиция ушлади"  # kept for the mediator


async def test_waiting_migrant_can_go_back_to_the_menu(service: ConversationService) -> None:
    await service.handle(msg("/start", lang_hint="ky"))
    await service.handle(msg("/operator"))
    result = await service.handle(msg("меню"))
    assert result.status == "BOT" and result.replies[-1].node == "main.menu"


async def test_contact_variables_outlive_the_conversation(service: ConversationService, clock: Clock,
                                                        db: AsyncEngine) -> None:
    await service.handle(msg("/start", lang_hint="ru"))
    for line in ("6", "3", "1"):  # my details: Kyrgyzstan, Moscow
        await service.handle(msg(line))
    async with db.connect() as conn:
        variables = (await conn.execute(select(Contact.vars))).scalar_one()
    assert variables == {"citizenship": "kg", "region": "moscow"}
    clock.advance(days=3)
    result = await service.handle(msg("привет"))
    assert "Welcome back" not in result.replies[0].text and result.replies[-1].node == "main.menu"


async def test_forget_deletes_messages_and_profile(service: ConversationService, db: AsyncEngine) -> None:
    await service.handle(msg("/start", channel="telegram", user="42", lang_hint="ru"))
    await service.handle(msg("/forget", channel="telegram", user="42"))
    result = await service.handle(msg("да", channel="telegram", user="42"))
    assert "удален" in result.replies[0].text.lower()
    for model in (Contact, ContactChannel, Conversation, Message):
        assert await _count(db, model) == 0, model.__name__
    async with db.connect() as conn:
        last = (await conn.execute(select(Outbox.payload).order_by(Outbox.id.desc()).limit(1))).scalar_one()
    assert "удален" in last["text"].lower()  # the confirmation is still delivered
    again = await service.handle(msg("/start", channel="telegram", user="42"))
    assert again.replies[0].node == "language.pick"  # a stranger again


async def test_media_is_stored_as_reference(service: ConversationService, db: AsyncEngine) -> None:
    await service.handle(msg("/start", lang_hint="ru"))
    result = await service.handle(msg(media=(Media("photo", "file-abc", "image/jpeg"),)))
    assert "консультант" in result.replies[0].text.lower()
    async with db.connect() as conn:
        media = (await conn.execute(select(Message.media).where(Message.media.is_not(None)))).scalar_one()
    assert media == [{"kind": "photo", "ref": "file-abc", "mime": "image/jpeg"}]


async def test_many_contacts_at_once_keep_their_own_state(service: ConversationService, db: AsyncEngine) -> None:
    async def talk(i: int) -> str | None:
        user = f"u{i}"
        await service.handle(msg("/start", user=user, lang_hint=("ru", "uz", "tg", "ky")[i % 4]))
        result = await service.handle(msg("1", user=user))
        return result.replies[-1].node

    nodes = await asyncio.gather(*(talk(i) for i in range(40)))
    assert set(nodes) == {"patent.menu"}
    assert await _count(db, Contact) == 40


async def test_one_contact_messages_are_handled_in_order(service: ConversationService) -> None:
    await service.handle(msg("/start", lang_hint="ru"))
    results = await asyncio.gather(*(service.handle(msg(t)) for t in ("1", "меню", "2")))
    assert [r.replies[-1].node for r in results] == ["patent.menu", "main.menu", "registration.menu"]


async def test_web_messages_history(service: ConversationService) -> None:
    await service.handle(msg("/start", user="hist", lang_hint="ru"))
    rows = await service.messages("web", "hist")
    assert [r["sender"] for r in rows] == ["migrant", "bot", "bot"]
    assert await service.messages("web", "hist", after_id=rows[-1]["id"]) == []


def test_mask_hides_phone_numbers() -> None:
    assert mask("+998901234567") == "**********567"
    assert mask("12") == "***"


async def test_forget_works_while_waiting_for_a_person(service: ConversationService, db: AsyncEngine) -> None:
    await service.handle(msg("/start", lang_hint="ru"))
    await service.handle(msg("/operator"))
    asked = await service.handle(msg("/forget"))
    assert asked.replies and asked.status == "WAITING"
    done = await service.handle(msg("да"))
    assert "удален" in done.replies[0].text.lower()
    assert await _count(db, Contact) == 0


async def test_handoff_note_says_why_and_where(service: ConversationService, db: AsyncEngine) -> None:
    await service.handle(msg("/start", lang_hint="ru"))
    for line in ("3", "3", "нет", "Поговорить с человеком"):  # health -> an answer -> did not help -> a person
        result = await service.handle(msg(line))
    assert result.status == "WAITING"
    async with db.connect() as conn:
        note = (await conn.execute(select(Message.text).where(Message.direction == "activity"))).scalar_one()
    assert note.startswith("BOT -> WAITING: feedback at health.")


async def test_unanswered_questions_are_kept_for_editors(service: ConversationService, db: AsyncEngine) -> None:
    from bot.storage.models import UnansweredQuestion

    await service.handle(msg("/start", lang_hint="ru"))
    await service.handle(msg("сколько стоит билет на самолёт до Ташкента в декабре"))
    async with db.connect() as conn:
        rows = (await conn.execute(select(UnansweredQuestion.text, UnansweredQuestion.lang,
                                          UnansweredQuestion.status, UnansweredQuestion.channel))).all()
    assert [(r.text, r.lang, r.status, r.channel) for r in rows] == [
        ("сколько стоит билет на самолёт до Ташкента в декабре", "ru", "open", "web")]
