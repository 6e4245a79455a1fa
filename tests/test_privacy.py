"""Privacy that holds (issue 13, item 6): /forget leaves nothing of the contact in any table (outbox,
unanswered questions, inbox ids, timers included) and nothing held for them goes out later; the
retention purge blanks old texts while the rows that reports count stay; at LOG_LEVEL=DEBUG (third-party
loggers included) no phone number, chat id or message text reaches the logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import configure_logging, handoff_for
from bot.cli import main as cli
from bot.core.model import Inbound
from bot.events import EventBus
from bot.flowspec import FlowSet
from bot.i18n import Catalogs
from bot.runtime import Runtime, purge
from bot.service import ConversationService
from bot.settings import Settings, get_settings
from bot.storage import Outgoing, transaction
from bot.storage.models import Base, Conversation, Message, Outbox
from tests.conftest import Clock
from tests.fake_telegram import telegram_stack
from tests.fake_twilio import whatsapp_stack
from tests.handoff_kit import add_staff

CHAT = 987654321
PHONE = "+79161234567"
PRIVATE = "Фарход Усмонов 4512 778899: сколько стоит билет на самолёт до Ташкента в декабре"  # a name, a number
REPLY = "Фарход, приходите во вторник"  # the mediator's answer


async def everything(db: AsyncEngine) -> str:
    """Every row of every table, as text."""
    out = []
    async with db.connect() as conn:
        for table in Base.metadata.sorted_tables:
            out.extend(f"{table.name}: {tuple(row)}" for row in await conn.execute(select(table)))
    return "\n".join(out)


async def test_forget_leaves_nothing_and_cancels_what_was_held(
        service: ConversationService, db: AsyncEngine, flows: FlowSet, catalogs: Catalogs, clock: Clock) -> None:
    handoff = handoff_for(Runtime(settings=Settings(), db=db, flows=flows, service=service, texts=catalogs),
                          EventBus())
    async with telegram_stack(service, flows, catalogs) as tg:
        say = lambda words: tg.exchange(tg.fake.text_update(CHAT, words, language_code="ru"))  # noqa: E731
        await say("/start")
        await say(PRIVATE)  # not understood: kept for the editors as an unanswered question
        await say("оператор")
        ana = await add_staff(db, "ana")
        async with db.connect() as conn:
            conv = (await conn.execute(select(Conversation.id))).scalar_one()
        await handoff.reply(conv, ana, REPLY)
        await tg.settle()
        async with transaction(db) as tx:  # a reply held for the contact (as WhatsApp holds one outside its window)
            await tx.outbox.enqueue("telegram", str(CHAT), [Outgoing("Held for Фарход", [])], clock(), reply=False)
        async with db.begin() as conn:
            await conn.execute(update(Outbox).where(Outbox.sent_at.is_(None)).values(status="held"))
        before = await everything(db)
        for trace in (str(CHAT), "Фарход", "4512 778899"):
            assert trace in before  # what the test looks for is there to be found
        assert "unanswered_question:" in before and "timer:" in before and "inbox_event:" in before

        await say("/forget")
        goodbye = await say("да")
        assert "удален" in goodbye[0]["text"].lower()  # the goodbye is delivered ...
        after = await everything(db)
        for trace in (str(CHAT), "Фарход", "4512 778899", "оператор"):
            assert trace not in after, trace  # ... and then nothing of theirs is left, the goodbye included
        assert "unanswered_question:" not in after and "timer:" not in after and "outbox:" not in after

        again = await say("/start")  # they write again: a stranger, and nothing held reaches them
        assert again and not [m for m in tg.fake.sent(CHAT) if "Held for" in m["text"]]


async def test_forget_on_whatsapp_removes_the_phone_number(
        service: ConversationService, db: AsyncEngine, flows: FlowSet, catalogs: Catalogs) -> None:
    async with whatsapp_stack(service, flows, catalogs) as wa:
        await wa.exchange(PHONE, "Здравствуйте")
        await wa.exchange(PHONE, PRIVATE)
        assert PHONE in await everything(db)
        await wa.exchange(PHONE, "/forget")
        assert "удален" in (await wa.exchange(PHONE, "да"))[0].lower()
    after = await everything(db)
    assert PHONE not in after and "4512 778899" not in after


async def test_retention_blanks_old_texts_and_keeps_the_counts(
        service: ConversationService, db: AsyncEngine, flows: FlowSet, catalogs: Catalogs, clock: Clock) -> None:
    async with telegram_stack(service, flows, catalogs) as tg:
        await tg.exchange(tg.fake.text_update(CHAT, "/start", language_code="ru"))
        await tg.exchange(tg.fake.text_update(CHAT, PRIVATE, language_code="ru"))
    clock.advance(days=40)
    await service.handle(Inbound(channel="web", user="recent-visitor", text="Свежий вопрос про патент",
                                 lang_hint="ru"))

    async def messages() -> int:
        async with db.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(Message))).scalar_one())

    count = await messages()
    counts = await purge(db, 30, now=clock())
    assert counts["message texts"] > 0 and counts["outbox rows"] > 0 and counts["unanswered questions"] == 1
    assert await messages() == count  # the reports' counts are unchanged
    after = await everything(db)
    assert "4512 778899" not in after and "Свежий вопрос про патент" in after  # old gone, recent kept
    assert (await purge(db, 30, now=clock()))["message texts"] == 0  # nothing more to do


def test_hotline_purge_from_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'purge.sqlite3'}")
    get_settings.cache_clear()
    try:
        assert cli(["purge"]) == 2  # RETENTION_DAYS is 0: nothing is removed by mistake
        assert cli(["purge", "--days", "30"]) == 0
        assert "removed what is older than 30 days: 0 message texts" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()


@pytest.fixture
def debug_logs() -> Iterator[list[str]]:
    """Every record of every logger at DEBUG, configured as `hotline serve` does with LOG_LEVEL=DEBUG."""
    root = logging.getLogger()
    saved = (root.level, {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict})
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    keep = Keep(logging.DEBUG)
    keep.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))  # tracebacks too
    root.addHandler(keep)
    configure_logging("DEBUG")
    try:
        yield lines
    finally:
        root.removeHandler(keep)
        root.setLevel(saved[0])
        for name, level in saved[1].items():
            logging.getLogger(name).setLevel(level)


async def test_no_phone_chat_id_or_text_in_the_logs_at_debug(
        debug_logs: list[str], service: ConversationService, db: AsyncEngine, flows: FlowSet,
        catalogs: Catalogs) -> None:
    async with telegram_stack(service, flows, catalogs) as tg:
        await tg.exchange(tg.fake.text_update(CHAT, "/start", language_code="ru"))
        await tg.exchange(tg.fake.text_update(CHAT, PRIVATE, language_code="ru"))
    async with whatsapp_stack(service, flows, catalogs) as wa:
        await wa.exchange(PHONE, PRIVATE)
    with pytest.raises(Exception) as failed:  # a failed statement: its message must not carry the values
        async with db.begin() as conn:
            await conn.execute(text("INSERT INTO no_such_table (phone, text) VALUES (:phone, :text)"),
                               {"phone": PHONE, "text": PRIVATE})
    logging.getLogger("bot").error("a failed statement: %s", failed.value)
    logs = "\n".join(debug_logs)
    assert "bot.service" in logs or "bot.channels" in logs or "DEBUG" in logs  # the capture works
    for secret in (PHONE, PHONE[1:], str(CHAT), PRIVATE, "4512 778899"):
        assert secret not in logs, secret
