"""The reports repository on a known dataset (tests/reports_kit.py), on SQLite and PostgreSQL: every
figure, the forgotten contact still counted without personal data, the topic groups cover the taxonomy."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.model import Inbound
from bot.flowspec.taxonomy import topics
from bot.service import ConversationService
from bot.storage import reading
from bot.storage.models import Conversation, Message, contact_table, forgotten_conversation_table, message_table
from bot.storage.reports import GROUPS, TOPIC_GROUPS, Durations, Filters, Reports
from tests.conftest import Clock
from tests.reports_kit import NOV, SECRET_TEXT, seed


def test_every_topic_of_the_taxonomy_has_a_group() -> None:
    assert set(TOPIC_GROUPS) == set(topics())
    assert set(TOPIC_GROUPS.values()) <= set(GROUPS)


async def test_every_figure_of_november(db: AsyncEngine) -> None:
    ids = await seed(db)
    async with reading(db) as tx:
        r = Reports(tx.conn, dt.timedelta(minutes=15))
        assert dict((await r.summary(NOV)).rows) == {
            "people": 4, "people_new": 3, "people_returning": 1, "conversations": 5, "handed_over": 3,
            "bot_only": 2, "with_mediator": 3, "resolved": 3, "rated": 3, "rating_average": 4.0}
        assert (await r.by_topic(NOV)).rows == [("family_children", 1), ("handoff_needed", 1),
                                                ("health_medical_exam", 1), ("none", 1), ("patent_payment", 1)]
        assert (await r.by_group(NOV)).rows == [("legal", 1), ("medical", 1), ("none", 1), ("social", 1),
                                                ("urgent", 1)]
        assert (await r.by_language(NOV)).rows == [("tg", 4), ("uz", 1)]
        assert (await r.by_channel(NOV)).rows == [("telegram", 2), ("whatsapp", 2), ("web", 1)]
        assert (await r.by_citizenship(NOV)).rows == [("tj", 3), ("none", 1), ("uz", 1)]  # the forgotten: none
        assert (await r.by_region(NOV)).rows == [("moscow_oblast", 2), ("kaluga", 1), ("moscow", 1), ("none", 1)]
        assert (await r.handoffs_by_reason(NOV)).rows == [("keyword", 1), ("not_understood", 1), ("urgent", 1)]
        assert (await r.resolutions(NOV)).rows == [("answered", 2), ("referred", 1)]
        assert (await r.ratings(NOV)).rows == [(3, 1), (4, 1), (5, 1)]
        assert await r.waits(NOV) == Durations(3, 300.0, 1800.0, 2)
        assert await r.resolution_times(NOV) == Durations(3, 1500.0, 3600.0, 0)
        assert (await r.per_mediator(NOV)).rows == [("Aziza", 2, 120.0, 2, 2, 4.5), ("Farrukh", 1, 1800.0, 1, 1, 3.0)]
        assert (await r.helpfulness(NOV)).rows == [("family.school", 0, 1), ("patent.apply", 2, 0)]
        assert dict((await r.typed(NOV)).rows) == {"typed_messages": 2, "not_understood": 1,
                                                   "understood_percent": 50.0}
        assert (await r.unanswered_by_topic(NOV)).rows == [("family_children", 1)]
        year = dataclasses.replace(NOV, start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        assert (await r.by_month(year)).rows == [("2026-10", 1), ("2026-11", 5)]

        # Tajik only: c1, c2 (twice) and the forgotten c4, whose language stays with the counts
        tg = dataclasses.replace(NOV, lang="tg")
        assert dict((await r.summary(tg)).rows)["conversations"] == 4
        assert dict((await r.summary(tg)).rows)["people"] == 3
        assert (await r.helpfulness(tg)).rows == [("patent.apply", 2, 0)]
        assert dict((await r.summary(dataclasses.replace(NOV, citizenship="tj", region="moscow"))).rows)[
            "conversations"] == 1  # conv2; the forgotten contact's region left with them
        assert dict((await r.summary(dataclasses.replace(NOV, channel="web"))).rows)["people"] == 1
        assert dict((await r.typed(dataclasses.replace(NOV, channel="web"))).rows)["understood_percent"] == 0.0

        # the forgotten contact: nothing personal left, one anonymous row with a negative person number
        assert (await tx.conn.execute(select(func.count()).where(contact_table.c.id == ids["c4"]))).scalar() == 0
        texts = (await tx.conn.execute(select(message_table.c.text))).scalars().all()
        assert SECRET_TEXT not in texts
        gone = (await tx.conn.execute(select(forgotten_conversation_table))).all()
        assert len(gone) == 1 and gone[0].person < 0 and gone[0].topic == "handoff_needed"
        assert gone[0].handoff_reason == "not_understood" and gone[0].lang == "tg"


async def test_an_empty_range_has_no_numbers(db: AsyncEngine) -> None:
    await seed(db, forget=False)
    empty = dataclasses.replace(NOV, start=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
                                end=dt.datetime(2025, 2, 1, tzinfo=dt.UTC))
    async with reading(db) as tx:
        r = Reports(tx.conn)
        assert dict((await r.summary(empty)).rows)["people"] == 0
        assert await r.waits(empty) == Durations(0, None, None, 0)
        assert (await r.per_mediator(empty)).rows == []
        assert dict((await r.typed(empty)).rows)["understood_percent"] is None


async def test_the_service_keeps_the_first_handover_and_forget_keeps_the_count(
        service: ConversationService, db: AsyncEngine, clock: Clock) -> None:
    """Through the real conversation service: the handover's time and reason are kept for reports, and
    a contact who says /forget still counts, without their messages."""
    await service.handle(Inbound(channel="web", user="200", text="/start", lang_hint="tg"))
    clock.advance(minutes=1)
    handed = clock.now
    await service.handle(Inbound(channel="web", user="200", text="оператор"))
    async with db.connect() as conn:
        row = (await conn.execute(select(Conversation.handed_over_at, Conversation.handoff_reason))).one()
    assert row.handed_over_at == handed and row.handoff_reason == "keyword"

    await service.handle(Inbound(channel="web", user="200", text="/forget"))
    await service.handle(Inbound(channel="web", user="200", text="1"))  # yes, delete
    async with db.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(Message))).scalar() == 0
    march = Filters(dt.datetime(2026, 3, 1, tzinfo=dt.UTC), dt.datetime(2026, 4, 1, tzinfo=dt.UTC))
    async with reading(db) as tx:
        r = Reports(tx.conn)
        summary = dict((await r.summary(march)).rows)
        assert summary["conversations"] == 1 and summary["people"] == 1 and summary["handed_over"] == 1
        assert (await r.handoffs_by_reason(march)).rows == [("keyword", 1)]
