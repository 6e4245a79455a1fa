"""Routing: who sees which waiting conversation, in which order, with which filters; and the atomic
claim when many mediators press "take" at once."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import Catalogs
from bot.service import ConversationService
from handoff import texts as t
from handoff.service import HandoffError, HandoffService
from tests.conftest import Clock
from tests.handoff_kit import add_staff, conversation, escalate, make_handoff, say, transcript, waiting


@pytest.fixture
def handoff(service: ConversationService, catalogs: Catalogs) -> HandoffService:
    return make_handoff(service, catalogs)


def ids(items: list[dict[str, object]]) -> list[object]:
    return [c["id"] for c in items]


async def test_each_mediator_sees_their_languages_and_skills(db: AsyncEngine, clock: Clock,
                                                             handoff: HandoffService) -> None:
    t0 = clock() - dt.timedelta(hours=1)
    ana = await add_staff(db, "ana", languages=("ru", "uz"), skills=("general", "legal"))
    tim = await add_staff(db, "tim", languages=("tg",), skills=("medical", "general"))
    await add_staff(db, "kyra", languages=("ky",), skills=("general",), active=False)  # disabled: not on the team
    await add_staff(db, "ed", roles=("editor",), languages=("ky",), skills=("general",))  # not a mediator
    boss = await add_staff(db, "boss", roles=("admin",), languages=("ru",), skills=("general",))
    ru = await waiting(db, lang="ru", queue="general", since=t0)
    uz_legal = await waiting(db, lang="uz", queue="legal", since=t0 + dt.timedelta(minutes=1))
    tg_medical = await waiting(db, lang="tg", queue="medical", since=t0 - dt.timedelta(minutes=5))
    ky = await waiting(db, lang="ky", queue="general", since=t0 + dt.timedelta(minutes=2))
    ru_urgent = await waiting(db, lang="ru", queue="legal", priority="urgent", since=t0 + dt.timedelta(minutes=30))
    tg_urgent = await waiting(db, lang="tg", queue="general", priority="urgent", since=t0 + dt.timedelta(minutes=20))
    unknown_lang = await waiting(db, lang=None, queue="general", since=t0 + dt.timedelta(minutes=3))
    await waiting(db, lang="ru", queue="general", since=t0, status="BOT")  # not waiting: never in the queue

    # Urgent first (the longest waiting of them first), then the longest waiting.
    assert ids(await handoff.queue(ana)) == [ru_urgent, ru, uz_legal, ky, unknown_lang]
    assert ids(await handoff.queue(tim)) == [tg_urgent, tg_medical, ky, unknown_lang]
    assert ids(await handoff.queue(boss)) == [tg_urgent, ru_urgent, tg_medical, ru, uz_legal, ky, unknown_lang]

    marks = {c["id"]: c["unmatched"] for c in await handoff.queue(boss)}
    assert marks == {tg_urgent: False, ru_urgent: False, tg_medical: False, ru: False, uz_legal: False, ky: True,
                     unknown_lang: False}
    item = next(c for c in await handoff.queue(ana) if c["id"] == ru)
    assert item["waiting_minutes"] == 60 and item["over_sla"] and item["lang"] == "ru"
    assert item["status"] == "WAITING" and item["assignee"] == "" and item["channel"] == "web"


async def test_language_spoken_but_skill_missing_goes_to_the_speakers_marked(db: AsyncEngine, clock: Clock,
                                                                            handoff: HandoffService) -> None:
    """A Russian medical question when the Russian speaker has no medical skill and the medical mediator
    has no Russian: it must not vanish from every queue."""
    ana = await add_staff(db, "ana", languages=("ru",), skills=("general",))
    tim = await add_staff(db, "tim", languages=("tg",), skills=("medical",))
    conv = await waiting(db, lang="ru", queue="medical", since=clock())
    seen = [c for c in await handoff.queue(ana) if c["id"] == conv]
    assert seen and seen[0]["unmatched"], "nobody sees a Russian medical conversation"
    assert ids(await handoff.queue(tim)) == []  # the medical mediator can't read Russian


async def test_one_matched_mediator_keeps_it_to_themselves(db: AsyncEngine, clock: Clock,
                                                           handoff: HandoffService) -> None:
    ana = await add_staff(db, "ana", languages=("ru",), skills=("general",))
    vera = await add_staff(db, "vera", languages=("ru",), skills=("medical",))
    conv = await waiting(db, lang="ru", queue="medical", since=clock())
    assert ids(await handoff.queue(vera)) == [conv]
    assert (await handoff.queue(vera))[0]["unmatched"] is False
    assert ids(await handoff.queue(ana)) == []


async def test_filters(db: AsyncEngine, clock: Clock, handoff: HandoffService) -> None:
    boss = await add_staff(db, "boss", roles=("admin",), languages=("ru", "uz", "tg", "ky"),
                           skills=("general", "legal", "medical"))
    since = clock() - dt.timedelta(minutes=10)
    web_ru = await waiting(db, lang="ru", queue="general", channel="web", since=since)
    tg_uz = await waiting(db, lang="uz", queue="legal", channel="telegram", since=since + dt.timedelta(minutes=1))
    wa_ru_urgent = await waiting(db, lang="ru", queue="medical", channel="whatsapp", priority="urgent",
                                 since=since + dt.timedelta(minutes=2))
    assert ids(await handoff.queue(boss, lang="ru")) == [wa_ru_urgent, web_ru]
    assert ids(await handoff.queue(boss, lang="uz")) == [tg_uz]
    assert ids(await handoff.queue(boss, skill="legal")) == [tg_uz]
    assert ids(await handoff.queue(boss, channel="telegram")) == [tg_uz]
    assert ids(await handoff.queue(boss, channel="whatsapp", lang="ru", skill="medical")) == [wa_ru_urgent]
    assert ids(await handoff.queue(boss, urgent=True)) == [wa_ru_urgent]
    assert ids(await handoff.queue(boss, urgent=True, lang="uz")) == []
    assert ids(await handoff.queue(boss, lang="ky")) == []


async def test_mine_and_all_with_search(db: AsyncEngine, clock: Clock, service: ConversationService,
                                        handoff: HandoffService) -> None:
    ana = await add_staff(db, "ana")
    bob = await add_staff(db, "bob")
    first = (await escalate(service, "search-1")).conversation_id
    second = (await escalate(service, "search-2")).conversation_id
    await say(service, "search-1", "скидка 100% на патент_2026?")
    await say(service, "search-2", "скидка 1000 на патент 2026")
    await handoff.claim(first, ana)
    await handoff.claim(second, bob)
    assert ids(await handoff.queue(ana, status="WITH_MEDIATOR", assignee=ana.id)) == [first]
    assert (await handoff.queue(ana, status="WITH_MEDIATOR", assignee=bob.id))[0]["assignee"] == "Bob"
    assert sorted(ids(await handoff.queue(ana, status="", search="скидка"))) == [first, second]
    assert ids(await handoff.queue(ana, status="", search="100%")) == [first]  # % and _ are literal
    assert ids(await handoff.queue(ana, status="", search="патент_")) == [first]
    assert ids(await handoff.queue(ana, status="", search="скидка 1000")) == [second]
    if db.dialect.name == "postgresql":  # SQLite's LIKE folds the case of ASCII letters only
        assert ids(await handoff.queue(ana, status="", search="СКИДКА 1000")) == [second]


async def test_an_urgent_escalation_goes_to_the_front(db: AsyncEngine, service: ConversationService,
                                                      handoff: HandoffService, clock: Clock,
                                                      catalogs: Catalogs) -> None:
    ana = await add_staff(db, "ana", languages=("ru",), skills=("general", "legal"))
    calm = (await escalate(service, "calm-one")).conversation_id
    clock.advance(minutes=5)
    urgent = await escalate(service, "detained-one", text="меня задержала полиция")
    row = await conversation(db, urgent.conversation_id)
    assert (row.priority, row.queue) == ("urgent", "legal")
    assert urgent.replies[-1].text == t.say(catalogs, "ru", "Latn", t.T_PLACE, place=1)
    assert ids(await handoff.queue(ana)) == [urgent.conversation_id, calm]


@pytest.mark.parametrize("mediators", [2, 10])
async def test_claim_is_atomic(db: AsyncEngine, clock: Clock, handoff: HandoffService, mediators: int) -> None:
    """Everybody presses "take" at the same moment, each on a connection of their own (PostgreSQL: a
    pool of 10 + 10; SQLite: one writer at a time)."""
    team = [await add_staff(db, f"m{n}", name=f"Mediator {n}") for n in range(mediators)]
    conv = await waiting(db, since=clock())
    results = await asyncio.gather(*(handoff.claim(conv, me) for me in team), return_exceptions=True)
    winners = [me for me, r in zip(team, results, strict=True) if r is None]
    assert len(winners) == 1, results
    losers = [r for r in results if r is not None]
    assert all(isinstance(r, HandoffError) for r in losers), losers
    assert {str(r) for r in losers} == {f"already taken by {winners[0].name}"}
    row = await conversation(db, conv)
    assert (row.status, row.assignee_id) == ("WITH_MEDIATOR", winners[0].id)
    messages = await transcript(db, conv)
    assert [m.text for m in messages if m.direction == "activity"] == [
        f"WAITING -> WITH_MEDIATOR: taken by {winners[0].name}"]
    assert len([m for m in messages if m.direction == "out"]) == 1  # the migrant hears "has joined" once


async def test_claim_against_reply_and_return(db: AsyncEngine, clock: Clock, handoff: HandoffService) -> None:
    """A mediator answering a waiting conversation takes it; one who presses "take" at the same moment
    is told who has it, and a third who returns it to the bot meanwhile gets a consistent result."""
    ana, bob = await add_staff(db, "ana"), await add_staff(db, "bob")
    for _ in range(5):
        conv = await waiting(db, since=clock())
        results = await asyncio.gather(handoff.reply(conv, ana, "Здравствуйте"), handoff.claim(conv, bob),
                                       return_exceptions=True)
        row = await conversation(db, conv)
        assert row.status == "WITH_MEDIATOR"
        owner = ana if row.assignee_id == ana.id else bob
        if owner is ana:
            assert isinstance(results[1], HandoffError) and str(results[1]) == "already taken by Ana"
        else:  # bob took it first; ana's reply is refused, not sent behind his back
            assert isinstance(results[0], HandoffError), results
            assert str(results[0]) == "Bob has this conversation: only they can do this"
