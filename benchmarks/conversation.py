"""Messages per second and peak memory through the conversation service, with 1,000 simulated contacts.

    python benchmarks/conversation.py              # SQLite, and PostgreSQL when it runs on 127.0.0.1:5432
    python benchmarks/conversation.py --db sqlite  # one database

Each contact holds a ten-message conversation (menus, a calculator, answers, feedback) through the same
ConversationService every channel calls: one transaction per message, real flows and catalogs. Each
database runs in a fresh process so that its peak RSS is its own. Targets: >= 1,000 messages/s, < 150 MB.
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
    from bot.core.engine import Engine
    from bot.core.model import Inbound
    from bot.flowspec import load
    from bot.i18n import Catalogs
    from bot.service import ConversationService
    from bot.storage.db import create_engine, upgrade

    await upgrade(url)
    engine = create_engine(url)
    service = ConversationService(engine, Engine(load(ROOT / "flows"), Catalogs(ROOT / "translations")))
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
    await engine.dispose()
    messages = contacts * len(SCRIPT)
    return {"messages": messages, "replies": replies, "seconds": elapsed, "per_second": messages / elapsed,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def prepare_pg() -> bool:
    return fresh_database(PG_URL)


def child(db: str, contacts: int, concurrency: int) -> None:
    if db == "sqlite":
        tmp = tempfile.mkdtemp(prefix="hotline-bench-")
        url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
    else:
        url = PG_URL
    print(json.dumps(asyncio.run(bench(url, contacts, concurrency))))


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
    return 0


if __name__ == "__main__":
    sys.exit(main())
