"""Relay both ways between a migrant and a mediator: the web chat over real HTTP (127.0.0.1), a
Telegram contact through the outbox, internal notes, closing with a rating, and back to the bot."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build_app, handoff_for
from bot.events import EventBus
from bot.flowspec import FlowSet
from bot.i18n import LANGS, Catalogs
from bot.runtime import Runtime
from bot.service import ConversationService
from bot.settings import Settings
from handoff import texts as t
from handoff.service import HandoffService
from tests.conftest import Clock
from tests.handoff_kit import add_staff, conversation, escalate, make_handoff, outbox, say, transcript
from tests.webchat_kit import Sessions

SATURDAY = dt.datetime(2026, 3, 21, 10, 0, tzinfo=dt.UTC)  # 13:00 in Moscow, the office is closed


@dataclass
class Web:
    http: aiohttp.ClientSession
    base: str
    handoff: HandoffService
    events: EventBus
    catalogs: Catalogs
    sessions: Sessions = field(default_factory=Sessions)  # the migrants' names -> issued session ids

    async def send(self, session: str, text: str = "", payload: str | None = None,
                   lang: str | None = "ru") -> dict[str, Any]:
        body: dict[str, Any] = {"session": await self.sessions.of(self.http, self.base, session), "text": text}
        if payload:
            body["payload"] = payload
        if lang:
            body["lang"] = lang
        async with self.http.post(f"{self.base}/chat/api/send", json=body) as res:
            assert res.status == 200, await res.text()
            data: dict[str, Any] = await res.json()
            return data

    async def messages(self, session: str, after: int = 0) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.base}/chat/api/messages",
                                 params={"session": await self.sessions.of(self.http, self.base, session),
                                         "after": str(after)}) as res:
            assert res.status == 200
            rows: list[dict[str, Any]] = (await res.json())["messages"]
            return rows

    def say(self, message: str, **params: Any) -> str:
        return t.say(self.catalogs, "ru", "Latn", message, **params)


@pytest.fixture
async def web(service: ConversationService, db: AsyncEngine, flows: FlowSet, catalogs: Catalogs) -> AsyncIterator[Web]:
    """The web chat as `hotline serve` wires it: the conversation service with the handoff hooked in."""
    settings = Settings(office_hours="Mon-Fri 09:00-18:00", office_timezone="Europe/Moscow")
    runtime = Runtime(settings=settings, db=db, flows=flows, service=service, texts=catalogs)
    events = EventBus()
    handoff = handoff_for(runtime, events)
    server = TestServer(build_app(runtime), host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        yield Web(http, str(server.make_url("")).rstrip("/"), handoff, events, catalogs)
    await server.close()


def drain(queue: asyncio.Queue[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


async def test_escalation_in_web_chat_waits_silently_for_a_mediator(web: Web, db: AsyncEngine, clock: Clock) -> None:
    clock.now = SATURDAY
    assert (await web.send("web-migrant-1", "/start"))["status"] == "BOT"
    async with web.events.subscribe() as events:
        data = await web.send("web-migrant-1", "оператор")
        assert data["status"] == "WAITING"
        texts = [r["text"] for r in data["replies"]]
        assert web.say(t.T_PLACE, place=1) in texts
        closed = [x for x in texts if "112" in x and "09:00" in x]
        assert closed, texts  # outside office hours: when answers resume
        assert "23 марта, 09:00" in closed[0]  # Monday morning, Moscow time, in Russian
        assert "09:00–18:00" in closed[0]
        assert [e["type"] for e in drain(events)] == ["message"]  # the consoles hear of it
        # While waiting the bot says nothing; every message is kept for the mediator.
        for text in ("Меня не пускают на работу", "1", "патент"):
            quiet = await web.send("web-migrant-1", text)
            assert quiet == {"status": "WAITING", "replies": []}
        assert len(drain(events)) == 3
    rows = await web.messages("web-migrant-1")
    assert [r["text"] for r in rows if r["sender"] == "migrant"][-3:] == ["Меня не пускают на работу", "1", "патент"]
    # A second migrant is number 2 in the same queue.
    await web.send("web-migrant-2", "/start")
    second = await web.send("web-migrant-2", "оператор")
    assert web.say(t.T_PLACE, place=2) in [r["text"] for r in second["replies"]]

    queue = await web.handoff.queue(await add_staff(db, "alice"))
    assert [(c["status"], c["queue"], c["lang"], c["channel"]) for c in queue] == [
        ("WAITING", "general", "ru", "web")] * 2
    first = await conversation(db, queue[0]["id"])
    assert first.waiting_since == SATURDAY and first.priority == "normal"


async def test_office_open_no_hours_line_and_holiday_closed(service: ConversationService, catalogs: Catalogs,
                                                            clock: Clock) -> None:
    make_handoff(service, catalogs, hours="Mon-Fri 09:00-18:00", holidays="2026-03-20")
    holiday = await escalate(service, "on-a-holiday")  # Friday 12:00 in Moscow, but a holiday
    assert any("24 марта" not in r.text and "23 марта, 09:00" in r.text for r in holiday.replies)
    make_handoff(service, catalogs, hours="Mon-Fri 09:00-18:00")
    opened = await escalate(service, "on-a-workday")
    assert not any("112" in r.text and "09:00" in r.text for r in opened.replies)
    assert opened.replies[-1].text == t.say(catalogs, "ru", "Latn", t.T_PLACE, place=2)


async def test_relay_both_ways_with_the_web_chat(web: Web, db: AsyncEngine, clock: Clock) -> None:
    alice = await add_staff(db, "alice", name="Alice Smith")
    await web.send("relay-migrant", "/start")
    await web.send("relay-migrant", "оператор")
    conv_id = (await web.handoff.queue(alice))[0]["id"]
    seen = max(r["id"] for r in await web.messages("relay-migrant"))

    clock.advance(minutes=3)
    await web.handoff.claim(conv_id, alice)
    told = await web.messages("relay-migrant", seen)
    assert [(r["sender"], r["text"]) for r in told] == [("system", web.say(t.T_JOINED, name="Alice"))]
    row = await conversation(db, conv_id)
    assert (row.status, row.assignee_id, row.first_response_at) == ("WITH_MEDIATOR", alice.id, clock())

    # Migrant -> mediator: stored, bot silent; "menu" is not lost either, and is answered with where the
    # migrant stands (a person has the conversation), never with the bot's menu.
    assert await web.send("relay-migrant", "Здравствуйте, у меня забрали паспорт") == {
        "status": "WITH_MEDIATOR", "replies": []}
    answered = await web.send("relay-migrant", "меню")
    assert answered["status"] == "WITH_MEDIATOR"
    assert [r["text"] for r in answered["replies"]] == [web.say(t.T_STATE_WITH_MEDIATOR)]
    data = await web.handoff.conversation(conv_id)
    assert [m.text for m in data["messages"] if m.direction == "in"][-2:] == [
        "Здравствуйте, у меня забрали паспорт", "меню"]

    # Mediator -> migrant, and the internal note that never reaches the migrant.
    seen = max(r["id"] for r in await web.messages("relay-migrant"))
    await web.handoff.reply(conv_id, alice, "  Добрый день! Где вы работаете?  ")
    await web.handoff.note(conv_id, alice, "SECRET: check the employer in the registry")
    told = await web.messages("relay-migrant", seen)
    assert [(r["direction"], r["sender"], r["text"]) for r in told] == [
        ("out", "mediator", "Добрый день! Где вы работаете?")]
    assert not any("SECRET" in r["text"] for r in await web.messages("relay-migrant"))
    notes = [m for m in (await web.handoff.conversation(conv_id))["messages"] if m.direction == "note"]
    assert [(n.text, n.staff_id) for n in notes] == [("SECRET: check the employer in the registry", alice.id)]

    # Closing: the closing text, then the rating question with five buttons.
    seen = max(r["id"] for r in await web.messages("relay-migrant"))
    await web.handoff.resolve(conv_id, alice, "answered")
    told = await web.messages("relay-migrant", seen)
    assert [r["text"] for r in told] == [web.say(t.T_CLOSED), web.say(t.T_RATE)]
    assert [b["payload"] for b in told[1]["buttons"]] == [f"r:{n}" for n in range(1, 6)]
    assert [b["label"] for b in told[1]["buttons"]] == ["1", "2", "3", "4", "5"]
    row = await conversation(db, conv_id)
    assert (row.status, row.resolution, row.resolved_at) == ("RESOLVED", "answered", clock())

    rated = await web.send("relay-migrant", payload="r:4")
    assert [r["text"] for r in rated["replies"]] == [web.say(t.T_THANKS)]
    assert (await conversation(db, conv_id)).rating == 4

    # The next message is a new conversation, with the bot.
    again = await web.send("relay-migrant", "меню")
    assert again["status"] == "BOT" and again["replies"], again
    new_id = max(c.conversation_id for c in await transcript(db, conv_id))
    assert new_id > conv_id
    assert (await conversation(db, new_id)).status == "BOT"
    assert (await conversation(db, conv_id)).rating == 4  # untouched


async def test_typed_rating_and_a_message_that_is_not_one(service: ConversationService, db: AsyncEngine,
                                                          catalogs: Catalogs) -> None:
    handoff = make_handoff(service, catalogs)
    alice = await add_staff(db, "alice")
    for user, text, rating in (("types-four", "4.", 4), ("types-words", "спасибо", None)):
        result = await escalate(service, user)
        await handoff.claim(result.conversation_id, alice)
        await handoff.resolve(result.conversation_id, alice, "referred")
        answer = await say(service, user, text)
        assert (await conversation(db, result.conversation_id)).rating == rating
        if rating:
            assert [r.text for r in answer.replies] == [t.say(catalogs, "ru", "Latn", t.T_THANKS)]
            assert answer.conversation_id == result.conversation_id
        else:  # not a rating: the bot answers it in a new conversation
            assert answer.status == "BOT" and answer.conversation_id != result.conversation_id


async def test_telegram_contact_gets_everything_through_the_outbox(service: ConversationService, db: AsyncEngine,
                                                                   catalogs: Catalogs, clock: Clock) -> None:
    handoff = make_handoff(service, catalogs)
    alice = await add_staff(db, "alice")
    result = await escalate(service, "424242", channel="telegram")
    conv_id = result.conversation_id
    before = len(await outbox(db))
    assert before >= len(result.replies)  # the bot's own lines went out through the outbox too

    assert (await say(service, "424242", "жду", channel="telegram")).replies == []
    assert len(await outbox(db)) == before  # silence while waiting

    await handoff.claim(conv_id, alice)
    await handoff.reply(conv_id, alice, "Здравствуйте, это Алиса")
    await handoff.note(conv_id, alice, "internal: do not send")
    await handoff.resolve(conv_id, alice, "answered")
    rows = (await outbox(db))[before:]
    sent = [(r.channel, r.address, r.status, r.payload["text"]) for r in rows]
    say_ru = lambda m, **p: t.say(catalogs, "ru", "Latn", m, **p)  # noqa: E731
    assert sent == [("telegram", "424242", "pending", say_ru(t.T_JOINED, name="Alice")),
                    ("telegram", "424242", "pending", "Здравствуйте, это Алиса"),
                    ("telegram", "424242", "pending", say_ru(t.T_CLOSED)),
                    ("telegram", "424242", "pending", say_ru(t.T_RATE))]
    assert [b["payload"] for b in rows[-1].payload["buttons"]] == [f"r:{n}" for n in range(1, 6)]
    # Each outbox row points at its message in the transcript; the note has none.
    by_id = {m.id: m for m in await transcript(db, conv_id)}
    assert [by_id[r.message_id].sender for r in rows] == ["system", "mediator", "system", "system"]
    assert not any("internal" in r.payload["text"] for r in await outbox(db))

    rated = await say(service, "424242", payload="r:5", channel="telegram")
    assert (await conversation(db, conv_id)).rating == 5
    last = (await outbox(db))[-1]
    assert last.payload["text"] == say_ru(t.T_THANKS) == rated.replies[0].text

    fresh = await say(service, "424242", "меню", channel="telegram")
    assert fresh.status == "BOT" and fresh.conversation_id != conv_id and fresh.replies
    assert (await outbox(db))[-1].payload["text"] == fresh.replies[-1].text


async def test_return_to_bot_and_the_bot_answers_again(service: ConversationService, db: AsyncEngine,
                                                       catalogs: Catalogs) -> None:
    handoff = make_handoff(service, catalogs)
    alice = await add_staff(db, "alice")
    conv_id = (await escalate(service, "back-to-bot")).conversation_id
    await handoff.claim(conv_id, alice)
    await handoff.return_to_bot(conv_id, alice)
    row = await conversation(db, conv_id)
    assert (row.status, row.assignee_id, row.waiting_since) == ("BOT", None, None)
    last = (await transcript(db, conv_id))[-2:]
    assert [(m.direction, m.text) for m in last] == [
        ("activity", "WITH_MEDIATOR -> BOT: returned by Alice"),
        ("out", t.say(catalogs, "ru", "Latn", t.T_BACK_TO_BOT))]
    answer = await say(service, "back-to-bot", "меню")
    assert answer.status == "BOT" and answer.conversation_id == conv_id and answer.replies
    assert answer.replies[-1].buttons  # the main menu


async def test_a_waiting_migrant_may_go_back_to_the_menu(service: ConversationService, db: AsyncEngine,
                                                         catalogs: Catalogs) -> None:
    make_handoff(service, catalogs)
    conv_id = (await escalate(service, "changes-mind")).conversation_id
    answer = await say(service, "changes-mind", "меню")
    assert answer.status == "BOT" and answer.replies
    row = await conversation(db, conv_id)
    assert (row.status, row.waiting_since) == ("BOT", None)
    assert "WAITING -> BOT: migrant returned to the bot" in [m.text for m in await transcript(db, conv_id)]


@pytest.mark.parametrize("lang", ["uz", "tg", "ky"])
async def test_escalation_in_each_language(service: ConversationService, db: AsyncEngine, catalogs: Catalogs,
                                           lang: str) -> None:
    handoff = make_handoff(service, catalogs)
    result = await escalate(service, f"speaks-{lang}", lang=lang)
    assert result.replies[-1].text == t.say(catalogs, lang, "Latn", t.T_PLACE, place=1)
    row = await conversation(db, result.conversation_id)
    assert (row.lang, row.queue) == (lang, "general")
    mediator = await add_staff(db, f"m-{lang}", languages=(lang,))
    assert [c["id"] for c in await handoff.queue(mediator)] == [result.conversation_id]


@pytest.mark.parametrize("lang", LANGS)
def test_what_the_migrant_is_told_is_translated(catalogs: Catalogs, lang: str) -> None:
    for message in (t.T_PLACE, t.T_OUTSIDE_HOURS, t.T_JOINED, t.T_CLOSED, t.T_RATE, t.T_THANKS, t.T_BACK_TO_BOT,
                    t.T_AUTO_CLOSED):
        assert catalogs.gettext(lang, message) != message, message
