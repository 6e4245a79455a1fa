"""How long each report takes on a year of data: 100,000 conversations and 1,000,000 messages.

    python benchmarks/reports.py                       # SQLite, and PostgreSQL when it runs on 127.0.0.1:5432
    python benchmarks/reports.py --db sqlite --conversations 20000 --messages 200000

Seeds the data in bounded batches (a transaction per batch) into a freshly migrated database, then times
each statement of the reports page for the whole year and for one month, the per-conversation export,
and the whole page (every statement in turn, as /console/reports runs them). Target: the page in under
2 s on both databases.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from pg import fresh_database  # noqa: E402

PG_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/hotline_bench_reports")
BATCH = 10_000
YEAR = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
LANGS = ("ru", "uz", "tg", "ky")
CITIZENSHIPS = ("uz", "tj", "kg", "eaeu", "other")
REGIONS = ("moscow", "moscow_oblast", "spb", "kaluga", "tver", "novosibirsk")
CHANNELS = ("telegram", "whatsapp", "web")
NODES = ("patent.apply", "patent.payment", "registration.deadline", "health.exam", "family.school")
REASONS = ("keyword", "urgent", "not_understood", "feedback", "media")


async def _insert(db: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    from sqlalchemy import insert

    for start in range(0, len(rows), BATCH):
        async with db.begin() as conn:
            await conn.execute(insert(table), rows[start:start + BATCH])


async def seed(db: Any, conversations: int, messages: int, rng: random.Random) -> None:
    from bot.flowspec.taxonomy import topics
    from bot.storage.models import (
        contact_table,
        conversation_table,
        message_table,
        staff_user_table,
        unanswered_question_table,
    )

    topic_ids = list(topics())
    contacts = max(conversations * 2 // 5, 1)
    await _insert(db, staff_user_table, [{"login": f"m{i}", "name": f"Mediator {i}", "password_hash": "x",
                                          "roles": ["mediator"], "languages": ["ru"], "skills": ["general"],
                                          "active": True, "must_change_password": False, "created_at": YEAR}
                                         for i in range(1, 21)])
    await _insert(db, contact_table, [{
        "id": i, "lang": rng.choice(LANGS), "script": "Latn", "notice_shown": True,
        "vars": {"citizenship": rng.choice(CITIZENSHIPS), "region": rng.choice(REGIONS)},
        "created_at": YEAR + dt.timedelta(minutes=rng.randrange(365 * 24 * 60)), "updated_at": YEAR}
        for i in range(1, contacts + 1)])
    rows, per = [], messages // conversations
    for i in range(1, conversations + 1):
        started = YEAR + dt.timedelta(minutes=rng.randrange(365 * 24 * 60))
        row: dict[str, Any] = {
            "id": i, "contact_id": rng.randrange(1, contacts + 1), "channel": rng.choice(CHANNELS), "status": "BOT",
            "state": {}, "priority": "normal", "lang": None, "topic": rng.choice([*topic_ids, None]),
            "started_at": started, "updated_at": started, "queue": None, "assignee_id": None,
            "waiting_since": None, "handed_over_at": None, "handoff_reason": None, "first_response_at": None,
            "resolved_at": None, "resolution": None, "rating": None}
        if rng.random() < 0.3:
            handed = started + dt.timedelta(minutes=2)
            row.update(status="RESOLVED", queue="general", lang=rng.choice(LANGS), handed_over_at=handed,
                       handoff_reason=rng.choice(REASONS), assignee_id=rng.randrange(1, 21),
                       first_response_at=handed + dt.timedelta(seconds=rng.randrange(30, 3600)),
                       resolved_at=handed + dt.timedelta(seconds=rng.randrange(3600, 86400)),
                       resolution=rng.choice(("answered", "referred", "no_reply")),
                       rating=rng.choice((None, 1, 2, 3, 4, 5)))
        rows.append(row)
    await _insert(db, conversation_table, rows)
    batch: list[dict[str, Any]] = []
    for conv in rows:
        at = conv["started_at"]
        for k in range(per):
            at += dt.timedelta(seconds=20)
            kind = k % 5
            direction = ("in", "out", "in", "out", "in")[kind]
            payload = None
            if kind == 4:
                payload = [{"payload": rng.choice(("f:yes", "f:yes", "f:no"))}]
            elif kind == 2 and rng.random() < 0.5:
                payload = [{"payload": "o:main.menu:1"}]
            batch.append({"conversation_id": conv["id"], "contact_id": conv["contact_id"], "direction": direction,
                          "sender": "migrant" if direction == "in" else "bot", "staff_id": None,
                          "text": "a typed question" if direction == "in" else "an answer",
                          "buttons": payload, "media": None, "node": rng.choice(NODES) if direction == "out" else None,
                          "topic": None, "channel": conv["channel"], "external_id": None, "created_at": at})
        if len(batch) >= BATCH:
            await _insert(db, message_table, batch)
            batch = []
    await _insert(db, message_table, batch)
    await _insert(db, unanswered_question_table, [{
        "text": "?", "lang": rng.choice(LANGS), "script": "Latn", "topic_guess": rng.choice(topic_ids),
        "node_guess": None, "confidence": 0.1, "channel": rng.choice(CHANNELS), "status": "open",
        "created_at": YEAR + dt.timedelta(minutes=rng.randrange(365 * 24 * 60))}
        for _ in range(conversations // 10)])
    if db.dialect.name == "postgresql":
        async with db.connect() as conn:
            await conn.exec_driver_sql("ANALYZE")
            await conn.commit()


async def measure(db: Any) -> list[tuple[str, float, float]]:
    from bot.console.reports import collect
    from bot.storage import reading
    from bot.storage.reports import Filters

    year = Filters(YEAR, YEAR.replace(year=2027))
    month = Filters(dt.datetime(2026, 11, 1, tzinfo=dt.UTC), dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    # overview: every conversation figure (people, topics, groups, languages, channels, citizenship,
    # regions, handoffs, waits, resolutions, ratings, per mediator) in one statement
    names = ("overview", "helpfulness", "typed", "unanswered_by_topic", "conversations")
    results = []
    async with reading(db) as tx:
        reports = tx.reports(dt.timedelta(minutes=15))
        for name in names:
            times = []
            for filters in (year, month):
                started = time.perf_counter()
                await getattr(reports, name)(filters)
                times.append(time.perf_counter() - started)
            results.append((name, times[0], times[1]))
    for label in ("whole page",):
        times = []
        for filters in (year, month):
            started = time.perf_counter()
            await collect(db, filters, dt.timedelta(minutes=15))
            times.append(time.perf_counter() - started)
        results.append((label, times[0], times[1]))
    return results


async def run(url: str, conversations: int, messages: int) -> None:
    from bot.storage.db import create_engine, upgrade

    await upgrade(url)
    db = create_engine(url)
    try:
        started = time.perf_counter()
        await seed(db, conversations, messages, random.Random(16))
        print(f"  seeded {conversations:,} conversations, {messages:,} messages in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        print(f"  {'report':<22} {'year, s':>9} {'month, s':>9}")
        for name, year, month in await measure(db):
            print(f"  {name:<22} {year:>9.3f} {month:>9.3f}", flush=True)
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            print("SQLite:", flush=True)
            asyncio.run(run(f"sqlite+aiosqlite:///{Path(tmp) / 'reports.sqlite3'}", args.conversations,
                            args.messages))
    if args.db in ("postgresql", "both"):
        if not fresh_database(PG_URL):
            print("PostgreSQL: not running, skipped")
            return
        print("PostgreSQL:", flush=True)
        asyncio.run(run(PG_URL, args.conversations, args.messages))


if __name__ == "__main__":
    main()
