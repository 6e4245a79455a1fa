"""Messages per second and peak memory through the conversation service, with 1,000 simulated contacts.

    python benchmarks/conversation.py              # SQLite, and PostgreSQL when it runs on 127.0.0.1:5432
    python benchmarks/conversation.py --db sqlite  # one database

Each contact holds a ten-message conversation (menus, a calculator, answers, feedback) through the same
ConversationService every channel calls: one transaction per message, real flows and catalogs. Each
database runs in a fresh process so that its peak RSS is its own. Targets: >= 1,000 messages/s, < 150 MB.

Absolute rates differ fourfold between machines (SQLite's commit is the disk's fsync), so each database is
also measured against its durable floor, in the same run: the same rows per message (inbox, the contact's
load with its row lock, the incoming message and as many replies as the service wrote, the conversation's
state; the contact, its channel and conversation on a first message), one transaction per message with the
same durability (SQLite: WAL, synchronous=NORMAL; PostgreSQL: a commit per message), written by plain
sqlite3 / asyncpg with no framework and no conversation logic. The service's rate as a share of the
floor's is the figure to compare across machines (target >= 0.5).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from pg import fresh_database  # noqa: E402

PG_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/hotline_bench")
# A conversation: patent menu -> payment-date calculator -> answer -> feedback -> registration menu -> ...
SCRIPT = ["/start", "1", "4", "1", "10.11.2026", "2", "1", "2", "1", "меню"]
LANGS = ("ru", "uz", "tg", "ky")


async def bench(url: str, contacts: int, concurrency: int) -> dict[str, float]:
    from bot.core.model import Inbound
    from bot.runtime import build
    from bot.settings import Settings

    # `hotline serve`'s wiring (the mediators' side included), on this database and the real flows
    hotline = await build(Settings(database_url=url, flows_dir=ROOT / "flows", translations_dir=ROOT / "translations"))
    service = hotline.service
    gate = asyncio.Semaphore(concurrency)
    replies = 0

    async def contact(i: int) -> None:
        nonlocal replies
        async with gate:
            for n, text in enumerate(SCRIPT):
                result = await service.handle(Inbound(channel="bench", user=f"c{i}", text=text,
                                                      external_id=f"{i}-{n}", lang_hint=LANGS[i % 4]))
                replies += len(result.replies)

    started = time.perf_counter()
    await asyncio.gather(*(contact(i) for i in range(contacts)))
    elapsed = time.perf_counter() - started
    await hotline.close()
    messages = contacts * len(SCRIPT)
    return {"messages": messages, "replies": replies, "seconds": elapsed, "per_second": messages / elapsed,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


# -- the durable floor: the same writes without the service ----------------------------------------------

FLOOR_LOAD = ("SELECT c.id, c.lang, c.script, c.vars, c.notice_shown, v.id, v.status, v.state, cc.unreachable_at "
              "FROM contact_channel cc JOIN contact c ON c.id = cc.contact_id LEFT OUTER JOIN conversation v "
              "ON v.contact_id = c.id AND v.status != 'RESOLVED' WHERE cc.channel = {0} AND cc.external_id = {1} "
              "ORDER BY v.id DESC LIMIT 1")
FLOOR_MESSAGE = ("INSERT INTO message (conversation_id, contact_id, direction, sender, text, channel, external_id, "
                 "created_at) VALUES ({0}, {1}, {2}, {3}, {4}, 'bench', {5}, {6})")
STATE = json.dumps({"node": "patent.menu", "wait": "menu", "vars": {}, "misses": 0})


def _out_rows(ratio: float, i: int) -> int:
    """Replies written for message i, spread so that they total the service's (ratio a message)."""
    return int((i + 1) * ratio) - int(i * ratio)


def floor_sqlite(path: str, contacts: int, ratio: float) -> float:
    """Messages a second, written with the stdlib sqlite3 module on one connection, as the service's
    engine sets it up (WAL, synchronous=NORMAL, foreign keys)."""
    import sqlite3

    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        db.execute(f"PRAGMA {pragma}")
    load = FLOOR_LOAD.format("?", "?")
    message = FLOOR_MESSAGE.format(*"???????")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(" ")
    started = time.perf_counter()
    n = 0
    for i in range(contacts):
        user = f"f{i}"
        for step, text in enumerate(SCRIPT):
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO inbox_event (channel, external_id, received_at) VALUES ('bench', ?, ?) "
                       "ON CONFLICT DO NOTHING", (f"{i}-{step}", now))
            row = db.execute(load, ("bench", user)).fetchone()
            if row is None:
                contact = db.execute("INSERT INTO contact (script, vars, notice_shown, created_at, updated_at) "
                                     "VALUES ('Latn', '{}', 0, ?, ?) RETURNING id", (now, now)).fetchone()[0]
                db.execute("INSERT INTO contact_channel (contact_id, channel, external_id, last_inbound_at) "
                           "VALUES (?, 'bench', ?, ?)", (contact, user, now))
                conv = db.execute("INSERT INTO conversation (contact_id, channel, status, state, priority, "
                                  "started_at, updated_at) VALUES (?, 'bench', 'BOT', '{}', 'normal', ?, ?) "
                                  "RETURNING id", (contact, now, now)).fetchone()[0]
            else:
                contact, conv = row[0], row[5]
            rows = [(conv, contact, "in", "migrant", text, f"{i}-{step}", now)]
            rows += [(conv, contact, "out", "bot", "a reply of a few lines " * 8, None, now)] * _out_rows(ratio, n)
            db.executemany(message, rows)
            db.execute("UPDATE conversation SET state = ?, updated_at = ? WHERE id = ?", (STATE, now, conv))
            db.execute("COMMIT")
            n += 1
    elapsed = time.perf_counter() - started
    db.close()
    return n / elapsed


async def floor_postgresql(url: str, contacts: int, concurrency: int, ratio: float) -> float:
    """Messages a second, written with asyncpg (a pool as large as the service's, as many contacts at a
    time), one transaction per message."""
    import asyncpg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    pool = await asyncpg.create_pool(user=u.username, password=u.password, host=u.host, port=u.port or 5432,
                                     database=u.database, min_size=10, max_size=20)
    load = FLOOR_LOAD.format("$1", "$2") + " FOR UPDATE OF cc"
    message = FLOOR_MESSAGE.format(*(f"${k}" for k in range(1, 8)))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    gate = asyncio.Semaphore(concurrency)
    counter = iter(range(contacts * len(SCRIPT)))

    async def contact(i: int) -> None:
        user = f"f{i}"
        async with gate:
            for step, text in enumerate(SCRIPT):
                async with pool.acquire() as db, db.transaction():
                    await db.execute("INSERT INTO inbox_event (channel, external_id, received_at) "
                                     "VALUES ('bench', $1, $2) ON CONFLICT DO NOTHING", f"{i}-{step}", now)
                    row = await db.fetchrow(load, "bench", user)
                    if row is None:
                        contact_id = await db.fetchval(
                            "INSERT INTO contact (script, vars, notice_shown, created_at, updated_at) "
                            "VALUES ('Latn', '{}', false, $1, $1) RETURNING id", now)
                        await db.execute("INSERT INTO contact_channel (contact_id, channel, external_id, "
                                         "last_inbound_at) VALUES ($1, 'bench', $2, $3)", contact_id, user, now)
                        conv = await db.fetchval(
                            "INSERT INTO conversation (contact_id, channel, status, state, priority, started_at, "
                            "updated_at) VALUES ($1, 'bench', 'BOT', '{}', 'normal', $2, $2) RETURNING id",
                            contact_id, now)
                    else:
                        contact_id, conv = row[0], row[5]
                    rows = [(conv, contact_id, "in", "migrant", text, f"{i}-{step}", now)]
                    rows += [(conv, contact_id, "out", "bot", "a reply of a few lines " * 8, None, now)] * \
                        _out_rows(ratio, next(counter))
                    await db.executemany(message, rows)
                    await db.execute("UPDATE conversation SET state = $1, updated_at = $2 WHERE id = $3",
                                     STATE, now, conv)

    started = time.perf_counter()
    await asyncio.gather(*(contact(i) for i in range(contacts)))
    elapsed = time.perf_counter() - started
    await pool.close()
    return contacts * len(SCRIPT) / elapsed


def prepare_pg() -> bool:
    return fresh_database(PG_URL)


def child(db: str, contacts: int, concurrency: int) -> None:
    if db == "sqlite":
        tmp = tempfile.mkdtemp(prefix="hotline-bench-")
        url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
    else:
        url = PG_URL
    result = asyncio.run(bench(url, contacts, concurrency))
    ratio = result["replies"] / result["messages"]
    # the floor writes into the same database, beside the service's rows (its own contacts)
    if db == "sqlite":
        result["floor_per_second"] = floor_sqlite(f"{tmp}/bench.sqlite3", contacts, ratio)
    else:
        result["floor_per_second"] = asyncio.run(floor_postgresql(url, contacts, concurrency, ratio))
    print(json.dumps(result))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], action="append")
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.db[0], args.contacts, args.concurrency)
        return 0
    dbs = args.db or ["sqlite", "postgresql"]
    print(f"conversation service: {args.contacts} contacts x {len(SCRIPT)} messages, "
          f"{args.concurrency} at a time, {os.cpu_count()} cores, {dt.date.today()}")
    for db in dbs:
        if db == "postgresql" and not prepare_pg():
            print(f"{db:>10}: skipped (no PostgreSQL at {PG_URL})")
            continue
        out = subprocess.run([sys.executable, __file__, "--child", "--db", db, "--contacts", str(args.contacts),
                              "--concurrency", str(args.concurrency)], capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(f"{db:>10}: failed\n{out.stderr}")
            return 1
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{db:>10}: {r['messages']:,} messages in {r['seconds']:.1f} s = {r['per_second']:,.0f} messages/s "
              f"({r['replies']:,} replies), peak RSS {r['peak_rss_mb']:.0f} MB")
        print(f"{'':>10}  durable floor (the same rows, plain {'sqlite3' if db == 'sqlite' else 'asyncpg'}, "
              f"a transaction a message): {r['floor_per_second']:,.0f} messages/s; "
              f"the service is {r['per_second'] / r['floor_per_second']:.2f} of it (target >= 0.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
