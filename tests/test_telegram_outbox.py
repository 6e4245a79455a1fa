"""Delivery to Telegram: the outbox worker and TelegramSender with the real aiogram Bot against the fake Bot
API, on SQLite and PostgreSQL. 429 retry_after, 5xx with backoff, timeouts, a crash and restart with
messages in the outbox, an expired lease, a blocked bot, per-chat order and rate, and long texts split
within 4,096 UTF-16 units (with the parts already delivered never sent again)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import re
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.telegram import LIMIT, TelegramSender, make_bot, split_text, utf16_len
from bot.core.model import Inbound
from bot.flowspec import FlowSet
from bot.i18n import Catalogs
from bot.outbox import Limits, OutboxWorker, RetryLater, Transient, Unreachable
from bot.service import ConversationService
from bot.storage.models import ContactChannel, Outbox
from tests.conftest import Clock
from tests.fake_telegram import TOKEN, FakeTelegram, Stack, close_quickly, fast_limits, telegram_stack

BLOCKED = "Forbidden: bot was blocked by the user"


@pytest.fixture
async def tg(service: ConversationService, flows: FlowSet, catalogs: Catalogs, clock: Clock) -> AsyncIterator[Stack]:
    """No polling and no worker running: each test drives `tg.worker.run_once()` on the test's clock."""
    async with telegram_stack(service, flows, catalogs, clock=clock, polling=False, run_worker=False) as stack:
        yield stack


@pytest.fixture
async def live(service: ConversationService, flows: FlowSet, catalogs: Catalogs) -> AsyncIterator[Stack]:
    """The worker running on a clock that moves with real time, with Telegram's own limits."""
    async with telegram_stack(service, flows, catalogs, limits=Limits(), polling=False) as stack:
        yield stack


async def queue(db: AsyncEngine, clock: Clock, chat: int, *texts: str,
                buttons: list[dict[str, str]] | None = None) -> None:
    """Outbox rows as the service writes them."""
    async with db.begin() as conn:
        await conn.execute(insert(Outbox), [
            {"channel": "telegram", "address": str(chat), "status": "pending", "attempts": 0,
             "payload": {"text": text, "buttons": buttons or [], "node": None}, "next_attempt_at": clock(),
             "created_at": clock()} for text in texts])


async def rows(db: AsyncEngine, chat: int | None = None) -> list[Any]:
    query = select(Outbox.id, Outbox.address, Outbox.status, Outbox.attempts, Outbox.next_attempt_at,
                   Outbox.sent_at, Outbox.error, Outbox.payload).order_by(Outbox.id)
    if chat is not None:
        query = query.where(Outbox.address == str(chat))
    async with db.connect() as conn:
        return list((await conn.execute(query)).all())


async def drain(worker: OutboxWorker, rounds: int = 20) -> int:
    """run_once until nothing is due; the number of rows claimed in all."""
    total = 0
    for _ in range(rounds):
        claimed = await worker.run_once()
        if not claimed:
            return total
        total += claimed
    raise AssertionError("the outbox did not drain")


def texts(fake: FakeTelegram, chat: int) -> list[str]:
    return [m["text"] for m in fake.sent(chat)]


async def say(service: ConversationService, chat: int, text: str, lang: str = "ru") -> None:
    await service.handle(Inbound(channel="telegram", user=str(chat), text=text, lang_hint=lang))


# -- long texts ------------------------------------------------------------------------------------


def long_answer(seed: int = 7, size: int = 10_000) -> str:
    """About `size` characters of paragraphs of different lengths, with Cyrillic, emoji and other
    characters outside the BMP (two UTF-16 units each)."""
    rng = random.Random(seed)
    words = ["патент", "оплата", "Тоҷикистон", "Oʻzbekiston", "мөөнөтү", "🙂", "𝒜𝒷𝒸", "👨‍👩‍👧", "12.03.2026", "—"]
    paragraphs: list[str] = []
    while sum(len(p) + 2 for p in paragraphs) < size:
        lines = [" ".join(rng.choice(words) for _ in range(rng.randint(5, 40))) for _ in range(rng.randint(1, 6))]
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_split_text_cuts_at_paragraphs_within_4096_utf16_units() -> None:
    text = long_answer()
    assert len(text) >= 10_000 and utf16_len(text) > len(text)  # astral characters count twice
    parts = split_text(text)
    assert len(parts) >= 3
    assert all(0 < utf16_len(p) <= LIMIT for p in parts)
    assert "\n\n".join(parts) == text  # every cut is at a paragraph break, and nothing else changed
    assert all(utf16_len(p) > LIMIT // 3 for p in parts[:-1])  # no needlessly short parts


def test_split_text_short_text_is_one_part() -> None:
    assert split_text("Салом 🙂") == ["Салом 🙂"]
    assert split_text("я" * LIMIT) == ["я" * LIMIT]
    assert split_text("🙂" * (LIMIT // 2)) == ["🙂" * (LIMIT // 2)]  # exactly 4,096 units


def test_split_text_falls_back_to_lines_spaces_and_hard_cuts() -> None:
    lines = "\n".join(f"строка {i}" + " слово" * 30 for i in range(60))  # no paragraph breaks
    parts = split_text(lines)
    assert "\n".join(parts) == lines and all(utf16_len(p) <= LIMIT for p in parts)
    words = " ".join(["Oʻzbekiston"] * 1500)  # no line breaks at all
    parts = split_text(words)
    assert " ".join(parts) == words and all(utf16_len(p) <= LIMIT for p in parts)
    astral = "𝒜🙂" * 3000  # no separators, every character two units: never cut inside a surrogate pair
    parts = split_text(astral)
    assert "".join(parts) == astral and all(utf16_len(p) <= LIMIT for p in parts)
    assert [utf16_len(p) for p in parts] == [4096, 4096, 3808]
    assert split_text("a" + "🙂" * 3, limit=2) == ["a", "🙂", "🙂", "🙂"]  # 🙂 alone fills a 2-unit part


def test_split_text_keeps_every_visible_character_whatever_the_text() -> None:
    rng = random.Random(11)
    alphabet = ["а", "b", " ", "\n", "\n\n", "🙂", "𝒜", "ӯ", "  ", "\t"]
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        limit = rng.randint(4, 60)
        parts = split_text(text, limit)
        assert all(utf16_len(p) <= limit for p in parts), (text, limit)
        assert squeeze("".join(parts)) == squeeze(text), (text, limit)
        if text.strip():
            assert all(p.strip() for p in parts), (text, limit)  # Telegram refuses an empty message
        assert all(p == p.rstrip() for p in parts[:-1]) and all(p == p.lstrip() for p in parts[1:])


async def test_a_10000_character_answer_goes_out_in_parts_with_buttons_on_the_last(
        tg: Stack, db: AsyncEngine, clock: Clock) -> None:
    text = long_answer(seed=3)
    menu = [{"label": "Главное меню", "payload": "x:menu"},
            {"label": "Поговорить с человеком", "payload": "x:mediator"}]
    await queue(db, clock, 9100, text, buttons=menu)
    await queue(db, clock, 9100, "после")
    assert await drain(tg.worker) == 2
    sent = tg.fake.sent(9100)
    parts, after = sent[:-1], sent[-1]
    assert len(parts) == len(split_text(text)) >= 3 and after["text"] == "после"
    assert all(utf16_len(p["text"]) <= LIMIT for p in parts)
    assert "\n\n".join(p["text"] for p in parts) == text
    assert [bool(p.get("reply_markup")) for p in parts] == [False] * (len(parts) - 1) + [True]
    keyboard = parts[-1]["reply_markup"]["inline_keyboard"]
    assert [b["callback_data"] for row in keyboard for b in row] == ["x:menu", "x:mediator"]
    assert [r.status for r in await rows(db)] == ["sent", "sent"]


async def test_a_failure_mid_message_does_not_resend_the_parts_delivered(tg: Stack, db: AsyncEngine,
                                                                         clock: Clock) -> None:
    text = long_answer(seed=6)
    expected = split_text(text)
    assert len(expected) == 3
    fake = tg.fake
    await queue(db, clock, 9200, text, buttons=[{"label": "Да", "payload": "f:yes"}])
    fake.fail("sendMessage", 500, "Internal Server Error", after=1)  # part 1 goes out, part 2 fails
    assert await tg.worker.run_once() == 1
    [row] = await rows(db)
    assert row.status == "pending" and row.payload["sent_parts"] == 1
    clock.advance(seconds=2)
    fake.fail("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3, after=1)  # part 2, then 429
    assert await tg.worker.run_once() == 1
    [row] = await rows(db)
    assert row.status == "pending" and row.payload["sent_parts"] == 2
    assert row.next_attempt_at == clock() + dt.timedelta(seconds=3)
    assert await tg.worker.run_once() == 0  # not before retry_after
    clock.advance(seconds=3)
    assert await drain(tg.worker) == 1
    assert texts(fake, 9200) == expected  # each part once, in order
    assert [bool(m.get("reply_markup")) for m in fake.sent(9200)] == [False, False, True]
    assert len(fake.of("sendMessage")) == 5  # 3 delivered + 2 refused
    assert [r.status for r in await rows(db)] == ["sent"]


async def test_a_round_marks_its_delivered_rows_together(tg: Stack, db: AsyncEngine, clock: Clock) -> None:
    """Rows delivered while a 'sent' transaction runs are marked in the next one, not one by one."""
    for chat in range(12001, 12031):
        await queue(db, clock, chat, f"привет {chat}")
    marks: list[int] = []

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.startswith("UPDATE outbox SET") and "sent_at" in statement:
            marks.append(len(parameters) if executemany else 1)

    event.listen(db.sync_engine, "before_cursor_execute", count)
    try:
        assert await tg.worker.run_once() == 30
    finally:
        event.remove(db.sync_engine, "before_cursor_execute", count)
    done = await rows(db)
    assert [r.status for r in done] == ["sent"] * 30 and all(r.sent_at == clock() for r in done)
    assert sum(marks) == 30 and len(marks) < 30
    assert len(tg.fake.sent()) == 30


# -- 429, 5xx, timeouts, refusals --------------------------------------------------------------------


async def test_429_waits_retry_after_and_delivers_once(live: Stack, service: ConversationService,
                                                       db: AsyncEngine) -> None:
    fake = live.fake
    fake.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    await say(service, 9300, "/start")
    live.worker.wake()
    await fake.wait_sent(2, 9300, within=5)
    first, again, menu = fake.of("sendMessage")
    assert first.params["text"] == again.params["text"] and not first.params.get("_ok")
    assert again.at - first.at >= 0.99  # retry_after is one second
    assert [m["text"] for m in fake.sent(9300)] == [again.params["text"], menu.params["text"]]
    notice, _ = await rows(db)
    assert notice.attempts == 2 and notice.status == "sent"


async def test_5xx_is_retried_with_backoff(tg: Stack, db: AsyncEngine, clock: Clock) -> None:
    fake = tg.fake
    await queue(db, clock, 9400, "привет")
    fake.fail("sendMessage", 500, "Internal Server Error", times=2)
    start = clock()
    assert await tg.worker.run_once() == 1
    [row] = await rows(db)
    assert row.status == "pending" and "Internal Server Error" in row.error
    assert dt.timedelta(seconds=1) <= row.next_attempt_at - start <= dt.timedelta(seconds=1.25)
    assert await tg.worker.run_once() == 0  # backing off
    clock.advance(seconds=1.3)
    assert await tg.worker.run_once() == 1
    [row] = await rows(db)
    assert dt.timedelta(seconds=2) <= row.next_attempt_at - clock() <= dt.timedelta(seconds=2.5)  # doubled
    clock.advance(seconds=2.6)
    assert await drain(tg.worker) == 1
    assert texts(fake, 9400) == ["привет"]
    [row] = await rows(db)
    assert row.status == "sent" and row.attempts == 3 and row.error is None


async def test_transient_failures_give_up_after_max_attempts(tg: Stack, db: AsyncEngine, clock: Clock,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    tg.worker.limits.max_attempts = 3
    await queue(db, clock, 9500, "раз", "два")
    tg.fake.fail("sendMessage", 502, "Bad Gateway", times=10, chat_id=9500)
    with caplog.at_level(logging.ERROR, logger="bot.outbox"):
        for _ in range(3):
            assert await tg.worker.run_once() == 1
            clock.advance(minutes=10)
    first, second = await rows(db)
    assert first.status == "failed" and first.attempts == 3
    assert "failed for good after 3 attempts" in caplog.text
    assert await drain(tg.worker) == 1  # the chat is not stuck: the next message is tried
    assert len(tg.fake.of("sendMessage")) == 4 and second.status == "pending"


async def test_a_refused_message_is_not_retried_and_does_not_block_the_chat(tg: Stack, db: AsyncEngine,
                                                                             clock: Clock) -> None:
    await queue(db, clock, 9600, "плохое", "хорошее")
    tg.fake.fail("sendMessage", 400, "Bad Request: can't parse entities")
    assert await drain(tg.worker) == 2
    bad, good = await rows(db)
    assert bad.status == "failed" and "can't parse entities" in bad.error and bad.attempts == 1
    assert good.status == "sent" and texts(tg.fake, 9600) == ["хорошее"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(("status", "description", "retry_after", "error"), [
    (429, "Too Many Requests: retry after 7", 7, RetryLater),
    (500, "Internal Server Error", None, Transient),
    (502, "Bad Gateway", None, Transient),
    (403, BLOCKED, None, Unreachable),
    (403, "Forbidden: user is deactivated", None, Unreachable),
])
async def test_sender_maps_telegram_errors(status: int, description: str, retry_after: int | None,
                                           error: type[Exception]) -> None:
    fake = FakeTelegram()
    await fake.start()
    bot = make_bot(TOKEN, fake.url)
    try:
        fake.fail("sendMessage", status, description, retry_after=retry_after)
        with pytest.raises(error) as raised:
            await TelegramSender(bot).send("42", {"text": "привет"})
        if isinstance(raised.value, RetryLater):
            assert raised.value.seconds == 7 and raised.value.progress == 0
    finally:
        await close_quickly(bot)
        await fake.stop()


async def test_sender_treats_timeouts_and_a_dead_server_as_transient() -> None:
    fake = FakeTelegram(delays={"sendMessage": 0.5})
    await fake.start()
    slow = make_bot(TOKEN, fake.url)
    slow.session.timeout = 0.1
    dead = make_bot(TOKEN, f"http://127.0.0.1:{_closed_port()}")
    try:
        with pytest.raises(Transient):
            await TelegramSender(slow).send("42", {"text": "привет"})
        with pytest.raises(Transient):
            await TelegramSender(dead).send("42", {"text": "привет"})
    finally:
        for bot in (slow, dead):
            await close_quickly(bot)
        await fake.stop()


# -- crash and restart -------------------------------------------------------------------------------


async def test_messages_decided_without_a_worker_go_out_after_restart_in_order(
        tg: Stack, db: AsyncEngine, clock: Clock) -> None:
    """The process handled updates (stored, answered into the outbox, acknowledged) and died before
    sending anything; the next process's worker delivers every message, each chat in order."""
    fake = tg.fake
    for chat, lang in ((9700, "uz"), (9701, "ky")):
        for text in ("/start", "1", "4"):
            status, _ = await tg.post(fake.text_update(chat, text, language_code=lang))
            assert status == 200
    assert fake.sent() == []
    decided = await rows(db)
    assert len(decided) == 8 and {r.status for r in decided} == {"pending"}

    bot = make_bot(TOKEN, fake.url)  # the restarted process
    try:
        worker = OutboxWorker(db, {"telegram": TelegramSender(bot)}, fast_limits(), clock=clock)
        assert await drain(worker) == 8
    finally:
        await close_quickly(bot)
    for chat in (9700, 9701):
        assert texts(fake, chat) == [r.payload["text"] for r in decided if r.address == str(chat)]
    assert {r.status for r in await rows(db)} == {"sent"}


class DiesAfterSending:
    """A sender whose process dies after Telegram accepted the message, before it is marked sent."""

    def __init__(self, inner: TelegramSender):
        self.inner, self.accepted = inner, asyncio.Event()

    async def send(self, address: str, payload: dict[str, Any]) -> None:
        await self.inner.send(address, payload)
        self.accepted.set()
        await asyncio.Event().wait()  # never returns: the task is cancelled here


async def test_an_expired_lease_is_sent_again_once_with_a_warning(tg: Stack, db: AsyncEngine, clock: Clock,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    fake = tg.fake
    await queue(db, clock, 9800, "первое", "второе", "третье")
    dying = DiesAfterSending(TelegramSender(tg.bot))
    crashed = OutboxWorker(db, {"telegram": dying}, fast_limits(), clock=clock)
    task = asyncio.create_task(crashed.run_once())
    await asyncio.wait_for(dying.accepted.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    first, *rest = await rows(db)
    assert first.status == "sending" and [r.status for r in rest] == ["pending", "pending"]

    restarted = OutboxWorker(db, {"telegram": TelegramSender(tg.bot)}, fast_limits(), clock=clock)
    assert await restarted.run_once() == 0  # the lease still runs: nothing, not even the later messages
    clock.advance(seconds=Limits().lease_seconds + 1)
    with caplog.at_level(logging.WARNING, logger="bot.outbox"):
        assert await drain(restarted) == 3
    warnings = [r for r in caplog.records if "cut off" in r.getMessage()]
    assert len(warnings) == 1 and f"outbox {first.id} " in warnings[0].getMessage()
    assert "9800" not in warnings[0].getMessage()  # chat ids are masked in logs
    assert texts(fake, 9800) == ["первое", "первое", "второе", "третье"]  # repeated at most once, in order
    assert await drain(restarted) == 0
    assert [r.status for r in await rows(db)] == ["sent"] * 3


# -- a blocked bot -----------------------------------------------------------------------------------


async def test_bot_blocked_by_the_user_marks_the_contact_unreachable(tg: Stack, service: ConversationService,
                                                                      db: AsyncEngine, clock: Clock,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    fake = tg.fake
    await say(service, 9900, "/start")
    await say(service, 9900, "1")
    await say(service, 9901, "/start")
    fake.fail("sendMessage", 403, BLOCKED, chat_id=9900, times=100)
    with caplog.at_level(logging.WARNING, logger="bot.outbox"):
        assert await drain(tg.worker) == 1 + 2  # one try for the blocked chat, both for the other
        for _ in range(3):
            clock.advance(hours=1)
            assert await tg.worker.run_once() == 0  # never tried again
    blocked = await rows(db, 9900)
    assert [r.status for r in blocked] == ["failed"] * 3
    assert all(r.error == f"unreachable: {BLOCKED}" for r in blocked)
    assert [r.status for r in await rows(db, 9901)] == ["sent", "sent"]
    assert len([c for c in fake.of("sendMessage") if str(c.params["chat_id"]) == "9900"]) == 1
    async with db.connect() as conn:
        marks = dict((await conn.execute(select(ContactChannel.external_id, ContactChannel.unreachable_at))).all())
    assert marks["9900"] is not None and marks["9901"] is None
    assert "is unreachable" in caplog.text and "9900" not in caplog.text

    # Unblocked, the migrant writes again: the answer goes out.
    fake.failures.clear()
    await say(service, 9900, "/menu")
    assert await drain(tg.worker) == 1
    assert len(fake.sent(9900)) == 1


# -- order and rate ----------------------------------------------------------------------------------


async def test_two_chats_interleave_and_each_keeps_its_order(tg: Stack, service: ConversationService,
                                                             db: AsyncEngine, clock: Clock) -> None:
    fake = tg.fake
    for text in ("/start", "1", "4", "/menu"):
        await say(service, 10001, text, "tg")
        await say(service, 10002, text, "uz")
    fake.fail("sendMessage", 500, "Internal Server Error", chat_id=10001, after=1)  # 10001's second message
    for _ in range(8):
        await tg.worker.run_once()
        clock.advance(seconds=3)
    assert await drain(tg.worker) == 0
    decided = await rows(db)
    for chat in (10001, 10002):
        assert texts(fake, chat) == [r.payload["text"] for r in decided if r.address == str(chat)]
    order = [int(m["chat_id"]) for m in fake.sent()]
    assert set(order[:2]) == {10001, 10002}  # the chats take turns, neither waits for the other
    assert order.count(10001) == order.count(10002) == 5


async def test_about_one_message_a_second_per_chat_after_a_burst_of_three(live: Stack, db: AsyncEngine,
                                                                          clock: Clock) -> None:
    fake = live.fake
    await queue(db, clock, 11001, *(f"сообщение {i}" for i in range(5)))
    await queue(db, clock, 11002, "другой чат 1", "другой чат 2")
    live.worker.wake()
    await fake.wait_sent(5, 11001, within=6)
    at = [c.at for c in fake.of("sendMessage") if str(c.params["chat_id"]) == "11001"]
    other = [c.at for c in fake.of("sendMessage") if str(c.params["chat_id"]) == "11002"]
    assert texts(fake, 11001) == [f"сообщение {i}" for i in range(5)]
    assert at[2] - at[0] < 0.5  # the burst
    assert 0.8 <= at[3] - at[0] <= 1.6 and 0.8 <= at[4] - at[3] <= 1.6  # then about one a second
    assert other[-1] - at[0] < 0.5  # another chat is not held back by this one's limit
