"""A known dataset for the reports: two months, four contacts (one forgotten), topics, languages,
channels, handoffs with known waits, ratings, "did this help?" answers and a question not understood.

November 2026 (the month the tests report on), every figure by hand:
- people 4 (new 3: c2, c3, c4; returning 1: c1, first seen in October); conversations 5;
- handed over 3 (keyword, urgent, not_understood); bot only 2; with a mediator 3; resolved 3;
- waits to the first reply 120 s, 300 s, 1800 s: median 300, p90 1800, 2 within the 15-minute SLA;
- resolution times 1200, 1500, 3600 s: median 1500, p90 3600;
- ratings 3, 4, 5 (average 4.0); resolutions answered 2, referred 1;
- Tajik (tg) conversations 4 (c1, c2 twice, the forgotten c4), people 3.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage import transaction
from bot.storage.models import (
    contact_channel_table,
    contact_table,
    conversation_table,
    message_table,
    staff_user_table,
    unanswered_question_table,
)
from bot.storage.reports import Filters

NOV = Filters(dt.datetime(2026, 11, 1, tzinfo=dt.UTC), dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
SECRET_PHONE = "+79161234567"
SECRET_CHAT = "555000111"
SECRET_TEXT = "my passport was taken by Ivan"


def month_filters(first: dt.date) -> Filters:
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return Filters(dt.datetime.combine(first, dt.time(), dt.UTC), dt.datetime.combine(following, dt.time(), dt.UTC))


async def seed(db: AsyncEngine, *, forget: bool = True, month: dt.date = dt.date(2026, 11, 1)) -> dict[str, int]:
    """The dataset in `month` (and the month before); ids by name. Contact c4 is forgotten through the
    real /forget path."""
    previous = (month - dt.timedelta(days=1)).replace(day=1)

    def at(which: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
        first = month if which == 0 else previous
        return dt.datetime(first.year, first.month, day, hour, minute, tzinfo=dt.UTC)

    ids: dict[str, int] = {}
    async with db.begin() as conn:
        async def add(table: Any, **values: Any) -> int:
            return int((await conn.execute(insert(table).values(**values).returning(table.c.id))).scalar_one())

        ids["m1"] = await add(staff_user_table, login="aziza", name="Aziza", password_hash="x", roles=["mediator"])
        ids["m2"] = await add(staff_user_table, login="farrukh", name="Farrukh", password_hash="x",
                              roles=["mediator"])
        people = {"c1": ("tg", "tj", "moscow", at(-1, 5), "telegram", SECRET_CHAT),
                  "c2": ("tg", "tj", "moscow_oblast", at(0, 3), "whatsapp", SECRET_PHONE),
                  "c3": ("uz", "uz", "kaluga", at(0, 10), "web", "web-abc"),
                  "c4": ("tg", "tj", "moscow", at(0, 12, 8), "telegram", "777888999")}
        for name, (lang, citizenship, region, created, channel, address) in people.items():
            ids[name] = await add(contact_table, lang=lang, script="Latn", notice_shown=True, created_at=created,
                                  updated_at=created, vars={"citizenship": citizenship, "region": region,
                                                            "name": "Ivan"})
            await add(contact_channel_table, contact_id=ids[name], channel=channel, external_id=address)

        async def conversation(name: str, contact: str, channel: str, started: dt.datetime, topic: str | None,
                               **values: Any) -> None:
            values = {"status": "BOT", **values}
            ids[name] = await add(conversation_table, contact_id=ids[contact], channel=channel, state={},
                                  priority="normal", started_at=started, updated_at=started, topic=topic, **values)

        def handled(start: dt.datetime, wait: int, solve: int, reason: str, mediator: str, resolution: str,
                    rating: int) -> dict[str, Any]:
            return {"status": "RESOLVED", "queue": "general", "lang": "tg", "handed_over_at": start,
                    "handoff_reason": reason, "first_response_at": start + dt.timedelta(seconds=wait),
                    "resolved_at": start + dt.timedelta(seconds=solve), "resolution": resolution, "rating": rating,
                    "assignee_id": ids[mediator]}

        await conversation("conv1", "c1", "telegram", at(-1, 6), "patent_apply")
        await conversation("conv2", "c1", "telegram", at(0, 2), "patent_payment",
                           **handled(at(0, 2, 10, 5), 300, 1500, "keyword", "m1", "answered", 5))
        await conversation("conv3", "c2", "whatsapp", at(0, 4, 11), "health_medical_exam",
                           **handled(at(0, 4, 12), 1800, 3600, "urgent", "m2", "referred", 3))
        await conversation("conv4", "c3", "web", at(0, 11), "family_children")
        await conversation("conv5", "c4", "telegram", at(0, 12, 8, 30), "handoff_needed",
                           **handled(at(0, 12, 9), 120, 1200, "not_understood", "m1", "answered", 4))
        await conversation("conv6", "c2", "whatsapp", at(0, 20), None)

        async def message(conv: str, contact: str, when: dt.datetime, direction: str, text: str, *,
                          node: str | None = None, payload: str | None = None, sender: str = "migrant") -> None:
            await add(message_table, conversation_id=ids[conv], contact_id=ids[contact], direction=direction,
                      sender=sender if direction == "in" else "bot", text=text, node=node,
                      buttons=[{"payload": payload}] if payload else None, channel="telegram", created_at=when)

        # did this help? patent.apply: yes twice; family.school: no once (the least helpful first)
        await message("conv2", "c1", at(0, 2, 10, 1), "out", "Patent ...", node="patent.apply")
        await message("conv2", "c1", at(0, 2, 10, 2), "in", "Yes", payload="f:yes")
        await message("conv6", "c2", at(0, 20, 10, 1), "in", "/start")
        await message("conv6", "c2", at(0, 20, 10, 2), "in", "hello")
        await message("conv6", "c2", at(0, 20, 10, 3), "out", "Patent ...", node="patent.apply")
        await message("conv6", "c2", at(0, 20, 10, 4), "in", "Yes", payload="f:yes")
        await message("conv4", "c3", at(0, 11, 10, 1), "in", "where is the school")
        await message("conv4", "c3", at(0, 11, 10, 2), "out", "School ...", node="family.school")
        await message("conv4", "c3", at(0, 11, 10, 3), "in", "No", payload="f:no")
        await message("conv5", "c4", at(0, 12, 8, 31), "in", SECRET_TEXT)  # leaves with /forget
        await message("conv1", "c1", at(-1, 6, 10, 1), "in", "patent?")  # October: outside the range
        await add(unanswered_question_table, text="where is the school", lang="uz", script="Latn",
                  topic_guess="family_children", channel="web", status="open", created_at=at(0, 11, 10, 1))
    if forget:
        async with transaction(db) as tx:
            await tx.contacts.forget(ids["c4"])
    return ids
