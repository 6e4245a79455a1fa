"""Telegram updates per second through the webhook route, replies included, next to a bare aiogram echo bot.

    python benchmarks/telegram.py                             # the hotline on SQLite (what `make run` uses)
    python benchmarks/telegram.py --db sqlite --db postgresql # both (PostgreSQL on 127.0.0.1:5432)
    python benchmarks/telegram.py --chats 500 --rounds 3 --concurrency 20
    BENCH_PROFILE=/tmp/hotline.prof python benchmarks/telegram.py --rounds 1   # the hotline's process profiled

How it is measured. Each bot runs in its own process (started with this file's hidden --serve option)
and serves `POST /telegram/webhook` on 127.0.0.1; this process runs a fake Bot API server for each bot
(tests/fake_telegram.py) and posts the updates, at most --concurrency at a time. A run's clock goes from
the first POST until that bot's fake server has received every reply (sendMessage), so a reply still
waiting in the outbox counts against the hotline. The bots are measured in turns, --rounds times, with
new chats every run; the best run counts (the figures are noisy on a busy machine: the load average is
printed). "CPU an update" is the bot process's user + system time over the run (Linux /proc), less
sensitive to other work on the machine than the rate.

- hotline: the real service with `hotline serve`'s wiring (the shared aiohttp app from build_app,
  TelegramChannel's webhook route with its secret check, the inbox, the conversation service over the
  real flows and catalogs, the outbox with TelegramSender). The webhook answers 200 only once the update
  and its replies are committed; the replies then leave through the outbox.
- echo: aiogram's Dispatcher with one handler that echoes the text with bot.send_message, served with
  aiogram's SimpleRequestHandler with its defaults (it answers 200 at once and handles the update in the
  background; nothing is stored). One reply per update.

Two workloads, every chat's updates in turn (no chat has two updates in flight):
- first contact: "/start" from a new contact (the privacy notice and the main menu: two replies), then
  "1" (the patent menu): the hotline sends 1.5 replies an update, the echo 1;
- returning: after an untimed "/start", "1" (the patent menu) then "8" (back to the main menu): one
  reply an update for both bots, like for like.

The fake Bot API is not Telegram: the outbox's global limit (30 messages/s, Telegram's) would be all this
measures, so the hotline's OutboxWorker runs with a global rate of 100,000/s. The per-chat limit (1/s
after a burst of 3) stays as in production; no chat here needs more than its burst.
Target: the hotline handles at least half as many updates a second as the echo bot.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from pg import fresh_database  # noqa: E402

PG_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/hotline_bench_telegram")
SECRET = "benchmark-webhook-secret"
LANGS = ("ru", "uz", "tg", "ky")
GLOBAL_RATE = 100_000.0
WARMUP_CHATS = 20
QUIET = 1.0  # seconds without a reply after which the replies to a probe are all in
START_WITHIN = 600  # seconds a bot may take to start, or replies to arrive, on a busy machine


# -- the two bots, each in its own process ---------------------------------------------------------


async def serve_hotline(api: str, db_url: str) -> None:
    import logging

    from bot.app import build_app
    from bot.channels.telegram import TelegramChannel, TelegramSender, make_bot
    from bot.outbox import Limits, OutboxWorker
    from bot.runtime import build
    from bot.settings import Settings
    from tests.fake_telegram import TOKEN

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)  # as `hotline serve` does
    runtime = await build(Settings(database_url=db_url))  # `hotline serve`'s wiring
    app = build_app(runtime)
    bot = make_bot(TOKEN, api)
    worker = OutboxWorker(runtime.db, {"telegram": TelegramSender(bot)}, Limits(global_rate=GLOBAL_RATE))
    channel = TelegramChannel(bot, runtime.service, runtime.texts, worker.wake, webhook_secret=SECRET)
    channel.setup_routes(app)
    sender = asyncio.create_task(worker.run())
    profile = os.environ.get("BENCH_PROFILE")  # a file: cProfile of this process once it serves (not start-up)
    if profile:
        import cProfile

        with cProfile.Profile() as profiler:
            await _serve(app)
        profiler.dump_stats(profile)
    else:
        await _serve(app)
    sender.cancel()
    await asyncio.gather(sender, return_exceptions=True)
    await channel.close()
    await runtime.close()


async def serve_echo(api: str) -> None:
    import logging

    from aiogram import Bot, Dispatcher, Router
    from aiogram.types import Message
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
    from aiohttp import web

    from bot.channels.telegram import make_bot
    from tests.fake_telegram import TOKEN

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    bot = make_bot(TOKEN, api)
    router = Router()

    @router.message()
    async def echo(message: Message, bot: Bot) -> None:
        await bot.send_message(message.chat.id, message.text or "…")

    dp = Dispatcher()
    dp.include_router(router)
    app = web.Application()
    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=SECRET).register(app, path="/telegram/webhook")
    setup_application(app, dp, bot=bot)
    await _serve(app)


async def _serve(app: Any) -> None:
    """Serve on a free port of 127.0.0.1, say which, and run until stdin closes."""
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"ready {port}", flush=True)
    await asyncio.to_thread(sys.stdin.read)  # the parent closes our stdin to stop us
    await runner.cleanup()


# -- the load ----------------------------------------------------------------------------------------


# (untimed set-up, timed updates) of each chat. Each timed update goes out for every chat before the next,
# so no chat has two updates in flight.
WORKLOADS = {
    "first contact": ((), ("/start", "1")),  # a new contact: notice + main menu, then the patent menu
    "returning": (("/start",), ("1", "8")),  # after the first contact: patent menu, back to the main menu
}


def updates_for(fake: Any, chats: range, texts: tuple[str, ...]) -> list[dict[str, Any]]:
    return [fake.text_update(chat, text, language_code=LANGS[chat % 4]) for text in texts for chat in chats]


async def post_all(url: str, updates: list[dict[str, Any]], concurrency: int) -> None:
    import aiohttp

    pending = iter(updates)
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def client() -> None:
            for update in pending:
                async with http.post(url, data=json.dumps(update), headers=headers) as res:
                    if res.status != 200:
                        raise RuntimeError(f"webhook answered {res.status}: {await res.text()}")
                    await res.read()

        await asyncio.gather(*(client() for _ in range(concurrency)))


async def until_sent(fake: Any, count: int, within: float) -> None:
    deadline = time.monotonic() + within
    while fake.sent_count < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {fake.sent_count} of {count} replies arrived within {within:.0f} s")
        await asyncio.sleep(0.002)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class BotProcess:
    """One bot in its own process, serving the webhook on 127.0.0.1, with its own fake Bot API here."""

    def __init__(self, name: str, kind: str, db_url: str | None, log_dir: Path):
        self.name, self.kind, self.db_url = name, kind, db_url
        self.log = log_dir / f"{name.replace(', ', '-')}.log"
        self.per_chat = 0
        self.url = ""

    async def start(self) -> None:
        from tests.fake_telegram import FakeTelegram

        self.fake = FakeTelegram()
        await self.fake.start()
        args = [sys.executable, __file__, "--serve", self.kind, "--api", self.fake.url]
        if self.db_url:
            args += ["--database-url", self.db_url]
        with self.log.open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(*args, cwd=ROOT, stdin=asyncio.subprocess.PIPE,
                                                             stdout=asyncio.subprocess.PIPE, stderr=log)
        assert self.proc.stdout is not None
        line = (await asyncio.wait_for(self.proc.stdout.readline(), START_WITHIN)).decode()
        if not line.startswith("ready "):
            raise RuntimeError(f"{self.name} did not start:\n{self.log.read_text()[-3000:]}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}/telegram/webhook"

    async def post(self, updates: list[dict[str, Any]], concurrency: int, replies: int | None = None) -> float:
        """Post the updates and wait for `replies` replies (learn how many if None: the first reply, then
        QUIET seconds without another); returns the seconds until the webhooks were acknowledged."""
        started = time.perf_counter()
        before = self.fake.sent_count
        await post_all(self.url, updates, concurrency)
        acknowledged = time.perf_counter() - started
        if replies is None:
            await until_sent(self.fake, before + 1, within=START_WITHIN)  # a busy machine may take a while
            count = -1
            while count != self.fake.sent_count:
                count = self.fake.sent_count
                await asyncio.sleep(QUIET)
        else:
            await until_sent(self.fake, before + replies, within=START_WITHIN)
        return acknowledged

    async def prepare(self, chats: dict[str, list[range]], concurrency: int) -> None:
        """Learn how many replies each workload's updates get from one chat (waiting for them, however
        slow the machine), warm up (connections, caches) with WARMUP_CHATS more, which must get exactly
        as many each; then the untimed set-up of every chat that will be measured."""
        self.replies: dict[str, tuple[int, int]] = {}
        for n, (name, (setup, timed)) in enumerate(WORKLOADS.items()):
            first = 1000 * (n + 1)
            counts = []
            for texts in (setup, timed):
                if not texts:
                    counts.append(0)
                    continue
                before = self.fake.sent_count
                await self.post(updates_for(self.fake, range(first, first + 1), texts), concurrency)
                counts.append(self.fake.sent_count - before)
            warm = range(first + 1, first + 1 + WARMUP_CHATS)
            for texts, per_chat in zip((setup, timed), counts, strict=True):
                if texts:
                    before = self.fake.sent_count
                    await self.post(updates_for(self.fake, warm, texts), concurrency, per_chat * WARMUP_CHATS)
                    await asyncio.sleep(QUIET)
                    if self.fake.sent_count - before != per_chat * WARMUP_CHATS:
                        raise RuntimeError(f"{self.name}: {self.fake.sent_count - before} replies to {WARMUP_CHATS} "
                                           f"chats, {per_chat} each expected")
            self.replies[name] = (counts[0], counts[1])
            for run in chats[name]:
                if setup:
                    await self.post(updates_for(self.fake, run, setup), concurrency, counts[0] * len(run))

    async def measure(self, workload: str, chats: range, concurrency: int) -> dict[str, float]:
        updates = updates_for(self.fake, chats, WORKLOADS[workload][1])
        replies = self.replies[workload][1] * len(chats)
        expected = self.fake.sent_count + replies
        cpu = cpu_seconds(self.proc.pid)
        started = time.perf_counter()
        acknowledged = await self.post(updates, concurrency, replies)
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(self.proc.pid) - cpu
        await asyncio.sleep(0.2)
        if self.fake.sent_count != expected:
            raise RuntimeError(f"{self.name}: {self.fake.sent_count - expected} replies more than expected")
        return {"updates": len(updates), "replies": replies, "seconds": elapsed, "acknowledged": acknowledged,
                "per_second": len(updates) / elapsed, "cpu_ms": 1000 * cpu / len(updates)}

    async def stop(self) -> None:
        proc = getattr(self, "proc", None)
        if proc is not None:
            if proc.stdin is not None:
                proc.stdin.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 10)
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        if hasattr(self, "fake"):
            await self.fake.stop()


Results = dict[str, dict[str, list[dict[str, float]]]]  # workload -> bot -> runs


async def bench(bots: list[BotProcess], chats: int, concurrency: int, rounds: int) -> Results:
    """Start every bot and prepare it, then measure them in turns, `rounds` times (the machine's other
    work then weighs on each about alike); new chats every run."""
    runs = {name: [range(100_000 * (n + 1) + r * chats, 100_000 * (n + 1) + (r + 1) * chats) for r in range(rounds)]
            for n, name in enumerate(WORKLOADS)}
    results: Results = {name: {bot.name: [] for bot in bots} for name in WORKLOADS}
    try:
        await asyncio.gather(*(bot.start() for bot in bots))
        for bot in bots:
            await bot.prepare(runs, concurrency)
        for r in range(rounds):
            for name in WORKLOADS:
                for bot in bots:
                    results[name][bot.name].append(await bot.measure(name, runs[name][r], concurrency))
    finally:
        for bot in bots:
            await bot.stop()
    return results


def prepare_pg() -> bool:
    return fresh_database(PG_URL)


def show(name: str, runs: list[dict[str, float]], echo: dict[str, float] | None = None) -> dict[str, float]:
    best = max(runs, key=lambda r: r["per_second"])
    each = ", ".join(f"{r['per_second']:,.0f}" for r in runs)
    ratio = (f"  ratio {best['per_second'] / echo['per_second']:.2f} (by CPU: {echo['cpu_ms'] / best['cpu_ms']:.2f})"
             if echo and best["cpu_ms"] else "")
    print(f"    {name:<19} {best['updates']:>5,.0f} updates -> {best['replies']:>5,.0f} replies in "
          f"{best['seconds']:5.2f} s = {best['per_second']:6,.0f} updates/s (runs: {each}); "
          f"{best['cpu_ms']:4.1f} ms CPU an update{ratio}")
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], action="append")
    parser.add_argument("--chats", type=int, default=200, help="chats a run; each sends 2 updates (default 200)")
    parser.add_argument("--concurrency", type=int, default=20, help="webhook requests in flight (default 20)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each bot, in turns; the best counts")
    parser.add_argument("--serve", choices=["hotline", "echo"], help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "hotline":
        asyncio.run(serve_hotline(args.api, args.database_url))
        return 0
    if args.serve == "echo":
        asyncio.run(serve_echo(args.api))
        return 0
    if not (1 <= args.chats <= 2500 and 1 <= args.concurrency <= 100 and 1 <= args.rounds <= 5):
        parser.error("--chats must be 1-2500, --concurrency 1-100 and --rounds 1-5")

    print(f"Telegram webhook, end to end with replies: {args.chats:,} chats x 2 updates a run, {args.concurrency} in "
          f"flight, best of {args.rounds} runs; fake Bot API on 127.0.0.1; {os.cpu_count()} cores, {dt.date.today()}")
    print(f"  The hotline's outbox runs with a global rate of {GLOBAL_RATE:,.0f} messages/s instead of Telegram's "
          "30/s:\n  the fake server is not Telegram. Per chat it keeps 1/s after a burst of 3, as in production.")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load > 0.5:
        print(f"  Note: load average {load:.1f} before starting; other work on the machine makes the figures noisy.")
    with tempfile.TemporaryDirectory(prefix="hotline-bench-tg-") as tmp:
        logs = Path(tmp)
        bots = [BotProcess("echo (aiogram)", "echo", None, logs)]
        for db in args.db or ["sqlite"]:
            if db == "postgresql" and not prepare_pg():
                print(f"  hotline on {db}: skipped (no PostgreSQL at {PG_URL})")
                continue
            url = PG_URL if db == "postgresql" else f"sqlite+aiosqlite:///{logs / 'bench.sqlite3'}"
            bots.append(BotProcess(f"hotline, {db}", "hotline", url, logs))
        results = asyncio.run(bench(bots, args.chats, args.concurrency, args.rounds))
    ratios = []
    for workload, (setup, timed) in WORKLOADS.items():
        before = f"after an untimed {' '.join(setup)}: " if setup else ""
        print(f"  {workload}: {before}{' then '.join(timed)}")
        echo = show(bots[0].name, results[workload][bots[0].name])
        for bot in bots[1:]:
            best = show(bot.name, results[workload][bot.name], echo)
            ratios.append(best["per_second"] / echo["per_second"])
    print(f"  hotline/echo: {min(ratios):.2f} to {max(ratios):.2f} (target: at least 0.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
