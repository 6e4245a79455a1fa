"""SLA and inactivity timers, driven by a clock the test moves: what fires, what doesn't, and that a
timer fires once however many ticks (and processes) run."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.events import EventBus
from bot.i18n import Catalogs
from bot.service import ConversationService
from bot.storage import transaction
from bot.storage.db import create_engine
from handoff import texts as t
from handoff.service import HandoffService
from handoff.timers import Timers
from tests.conftest import Clock
from tests.handoff_kit import add_staff, conversation, escalate, make_handoff, say, timers, transcript, waiting

SLA = dt.timedelta(minutes=15)
QUIET = dt.timedelta(hours=24)


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
def handoff(service: ConversationService, catalogs: Catalogs, bus: EventBus) -> HandoffService:
    return make_handoff(service, catalogs, events=bus, sla=SLA, inactivity=QUIET)


@pytest.fixture
async def heard(bus: EventBus) -> AsyncIterator[list[dict[str, Any]]]:
    """Every event published while the test runs."""
    events: list[dict[str, Any]] = []
    async with bus.subscribe() as queue:
        async def collect() -> None:
            while True:
                events.append(await queue.get())
        task = asyncio.create_task(collect())
        yield events
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


def sla_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "sla"]


async def test_sla_warns_about_a_waiting_conversation_only(db: AsyncEngine, service: ConversationService,
                                                           handoff: HandoffService, clock: Clock,
                                                           heard: list[dict[str, Any]]) -> None:
    ana = await add_staff(db, "ana")
    waits = (await escalate(service, "waits-long")).conversation_id
    taken = (await escalate(service, "gets-taken", lang="tg")).conversation_id
    assert [(x.kind, x.due_at) for x in await timers(db, waits)] == [
        ("sla", clock() + SLA), ("inactive", clock() + QUIET)]
    ticker = Timers(db, handoff)

    clock.advance(minutes=14, seconds=59)
    assert await ticker.tick() == 0  # not due yet
    await handoff.claim(taken, ana)
    clock.advance(seconds=61)  # 16 minutes after the handoff
    assert await ticker.tick() == 2  # both SLA timers are due; only the waiting one warns
    await settle()
    assert sla_events(heard) == [{"type": "sla", "conversation_id": waits, "lang": "ru", "queue": "general",
                                  "minutes": 16, "unmatched": False}]
    assert await ticker.tick() == 0  # fired once
    clock.advance(minutes=30)
    assert await ticker.tick() == 0
    await settle()
    assert len(sla_events(heard)) == 1
    assert all(x.done_at is not None for x in await timers(db) if x.kind == "sla")


async def test_sla_restarts_when_transferred_to_a_queue(db: AsyncEngine, handoff: HandoffService,
                                                        clock: Clock, heard: list[dict[str, Any]]) -> None:
    ana = await add_staff(db, "ana", skills=("general", "legal"))
    conv = await waiting(db, since=clock())
    await handoff.claim(conv, ana)
    clock.advance(minutes=20)
    await handoff.transfer(conv, ana, queue="legal")
    ticker = Timers(db, handoff)
    assert await ticker.tick() == 0  # the new wait started just now
    clock.advance(minutes=16)
    assert await ticker.tick() == 1
    await settle()
    assert [(e["conversation_id"], e["queue"], e["minutes"]) for e in sla_events(heard)] == [(conv, "legal", 16)]


async def test_inactivity_resolves_a_quiet_conversation(db: AsyncEngine, service: ConversationService,
                                                        handoff: HandoffService, clock: Clock, catalogs: Catalogs,
                                                        heard: list[dict[str, Any]]) -> None:
    ana = await add_staff(db, "ana")
    conv = (await escalate(service, "goes-quiet")).conversation_id
    await handoff.claim(conv, ana)
    await handoff.reply(conv, ana, "Что случилось?")
    ticker = Timers(db, handoff)
    clock.advance(hours=23, minutes=59)
    await ticker.tick()
    assert (await conversation(db, conv)).status == "WITH_MEDIATOR"
    clock.advance(minutes=2)
    await ticker.tick()
    row = await conversation(db, conv)
    assert (row.status, row.resolution, row.resolved_at) == ("RESOLVED", "no_reply", clock())
    messages = await transcript(db, conv)
    assert [m.text for m in messages if m.direction == "activity"][-1] == \
        "WITH_MEDIATOR -> RESOLVED: no_reply automatically (no activity)"
    last = messages[-1]
    assert (last.direction, last.sender, last.text) == ("out", "system", t.say(catalogs, "ru", "Latn",
                                                                                  t.T_AUTO_CLOSED))
    assert not last.buttons  # nobody helped, so nobody asks for a rating
    await settle()
    assert {"type": "resolved", "conversation_id": conv} in heard
    clock.advance(hours=48)
    assert await ticker.tick() == 0
    assert len([m for m in await transcript(db, conv) if m.direction == "activity"]) == len(
        [m for m in messages if m.direction == "activity"])  # resolved once


async def test_inactivity_reschedules_after_activity(db: AsyncEngine, service: ConversationService,
                                                     handoff: HandoffService, clock: Clock) -> None:
    start = clock()
    conv = (await escalate(service, "still-talking")).conversation_id
    clock.advance(hours=10)
    await say(service, "still-talking", "Я ещё здесь, жду")  # the migrant writes while waiting
    ticker = Timers(db, handoff)
    clock.now = start + QUIET
    await ticker.tick()
    assert (await conversation(db, conv)).status == "WAITING"
    pending = [x for x in await timers(db, conv) if x.kind == "inactive" and x.done_at is None]
    assert [x.due_at for x in pending] == [start + dt.timedelta(hours=10) + QUIET]
    clock.now = start + dt.timedelta(hours=10) + QUIET - dt.timedelta(seconds=1)
    assert await ticker.tick() == 0
    clock.advance(seconds=1)
    assert await ticker.tick() == 1
    row = await conversation(db, conv)
    assert (row.status, row.resolution) == ("RESOLVED", "no_reply")


async def test_timers_of_finished_conversations_do_nothing(db: AsyncEngine, service: ConversationService,
                                                           handoff: HandoffService, clock: Clock,
                                                           heard: list[dict[str, Any]]) -> None:
    ana = await add_staff(db, "ana")
    returned = (await escalate(service, "back-to-bot")).conversation_id
    closed = (await escalate(service, "closed-early")).conversation_id
    await handoff.return_to_bot(returned, ana)
    await handoff.resolve(closed, ana, "answered")
    await settle()
    heard.clear()
    clock.advance(hours=25)
    assert await Timers(db, handoff).tick() == 4
    await settle()
    assert heard == []
    assert (await conversation(db, returned)).status == "BOT"
    assert (await conversation(db, closed)).resolution == "answered"


async def test_a_failing_timer_is_retried_after_its_lease(db: AsyncEngine, service: ConversationService,
                                                          handoff: HandoffService, clock: Clock,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    conv = (await escalate(service, "flaky")).conversation_id
    ticker = Timers(db, handoff)
    real = ticker.fire
    calls: list[int] = []

    async def flaky(timer: Any, now: dt.datetime) -> None:
        calls.append(timer.id)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        await real(timer, now)

    monkeypatch.setattr(ticker, "fire", flaky)
    clock.advance(minutes=16)
    assert await ticker.tick() == 1
    assert [x.done_at for x in await timers(db, conv) if x.kind == "sla"] == [None]
    assert await ticker.tick() == 0  # claimed: not again at once
    clock.advance(minutes=6)  # the lease ran out
    assert await ticker.tick() == 1
    assert calls[0] == calls[1]
    assert [x.done_at for x in await timers(db, conv) if x.kind == "sla"] == [clock()]


async def test_concurrent_ticks_fire_each_timer_once(db: AsyncEngine, db_url: str, service: ConversationService,
                                                     handoff: HandoffService, clock: Clock,
                                                     heard: list[dict[str, Any]]) -> None:
    """Two workers (each with its own engine, as two processes would have) tick at the same moment."""
    convs = [await waiting(db, since=clock(), lang="ru") for _ in range(30)]
    async with transaction(db) as tx:
        for conv in convs:
            await tx.timers.schedule("sla", conv, clock() + SLA)
    other = create_engine(db_url)
    try:
        handoff2 = HandoffService(other, handoff.texts, handoff.events, handoff.policy, clock=clock)
        workers = [Timers(db, handoff), Timers(other, handoff2)]
        clock.advance(minutes=16)
        counts = await asyncio.gather(*(w.tick() for w in workers for _ in range(2)))
        assert sum(counts) == 30, counts
        assert await asyncio.gather(*(w.tick() for w in workers)) == [0, 0]
        await settle()
        warned = [e["conversation_id"] for e in sla_events(heard)]
        assert sorted(warned) == convs  # each exactly once
        assert all(x.done_at == clock() for x in await timers(db))
    finally:
        await other.dispose()


async def test_no_rating_is_taken_after_an_automatic_close(db: AsyncEngine, service: ConversationService,
                                                           handoff: HandoffService, clock: Clock,
                                                           catalogs: Catalogs) -> None:
    conv = (await escalate(service, "auto-closed")).conversation_id
    clock.advance(hours=25)
    await Timers(db, handoff).tick()
    assert (await conversation(db, conv)).status == "RESOLVED"
    answer = await say(service, "auto-closed", "2")  # e.g. the second topic of the menu
    assert (await conversation(db, conv)).rating is None
    assert t.say(catalogs, "ru", "Latn", t.T_THANKS) not in [r.text for r in answer.replies]
