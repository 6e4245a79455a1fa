"""/metrics and /readyz over real HTTP: a Telegram conversation (real aiogram against the fake Bot API)
moves the update counters, the latency histogram, the sends by result (ok, 5xx) and the outbox depth;
a handover shows as a waiting conversation; /metrics is closed to other addresses without the token;
/readyz checks the database and Redis."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer, make_mocked_request

from bot.app import build_app
from bot.flowspec import FlowSet
from bot.i18n import Catalogs
from bot.probes import allowed
from bot.runtime import Runtime
from bot.service import ConversationService
from bot.settings import Settings
from tests.conftest import Clock
from tests.fake_telegram import Stack, telegram_stack

REDIS = "redis://127.0.0.1:6379/15"


@pytest.fixture
async def tg(service: ConversationService, flows: FlowSet, catalogs: Catalogs, clock: Clock) -> AsyncIterator[Stack]:
    async with telegram_stack(service, flows, catalogs, clock=clock, polling=False, run_worker=False) as stack:
        yield stack


async def scrape(http: aiohttp.ClientSession, base: str) -> dict[str, float]:
    async with http.get(f"{base}/metrics") as res:
        assert res.status == 200 and res.headers["Content-Type"].startswith("text/plain")
        text = await res.text()
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"^(\S+) (\S+)$", text, re.M)}


def value(samples: dict[str, float], name: str) -> float:
    return samples.get(name, 0.0)


async def test_a_conversation_moves_the_counters(tg: Stack, clock: Clock) -> None:
    before = await scrape(tg.http, tg.base)
    for text in ("/start", "1"):
        status, _ = await tg.post(tg.fake.text_update(4242, text, language_code="ru"))
        assert status == 200
    after = await scrape(tg.http, tg.base)
    received = 'hotline_updates_received_total{channel="telegram"}'
    handled = 'hotline_updates_handled_total{channel="telegram"}'
    observed = 'hotline_handling_seconds_count{channel="telegram"}'
    for name in (received, handled, observed):
        assert value(after, name) - value(before, name) == 2, name
    pending = value(after, 'hotline_outbox_depth{channel="telegram",status="pending"}')
    assert pending >= 2 and value(after, 'hotline_outbox_oldest_seconds{channel="telegram",status="pending"}') >= 0

    tg.fake.fail("sendMessage", 500, "Internal Server Error", times=1)
    for _ in range(5):  # the failed message is retried after its backoff, then the rest go
        await tg.worker.run_once()
        clock.advance(seconds=2)
    sent = await scrape(tg.http, tg.base)
    assert value(sent, 'hotline_sends_total{channel="telegram",result="5xx"}') - value(
        before, 'hotline_sends_total{channel="telegram",result="5xx"}') == 1
    assert value(sent, 'hotline_sends_total{channel="telegram",result="ok"}') - value(
        before, 'hotline_sends_total{channel="telegram",result="ok"}') >= 1
    assert "hotline_flow_version" in sent

    status, _ = await tg.post(tg.fake.text_update(4242, "/operator"))
    assert status == 200
    waiting = await scrape(tg.http, tg.base)
    assert waiting["hotline_waiting_conversations"] == 1 and waiting["hotline_oldest_wait_seconds"] >= 0


def _request(remote: str, authorization: str = "") -> Any:
    class Transport:
        def get_extra_info(self, name: str, default: Any = None) -> Any:
            return (remote, 40000) if name == "peername" else default

    headers = {"Authorization": authorization} if authorization else {}
    return make_mocked_request("GET", "/metrics", headers=headers, transport=Transport())


def test_metrics_are_for_this_machine_or_the_token() -> None:
    assert allowed(_request("127.0.0.1"), None) and allowed(_request("::1"), None)
    assert not allowed(_request("10.1.2.3"), None)
    assert not allowed(_request("10.1.2.3", "Bearer s3cret"), None)  # no token configured: nobody else
    assert not allowed(_request("10.1.2.3", "Bearer wrong"), "s3cret")
    assert not allowed(_request("10.1.2.3", "s3cret"), "s3cret")
    assert allowed(_request("10.1.2.3", "Bearer s3cret"), "s3cret")


@pytest.mark.parametrize(("redis_url", "status"), [("", 200), (REDIS, 200), ("redis://127.0.0.1:1/0", 503)])
async def test_readyz_checks_the_database_and_redis(service: ConversationService, flows: FlowSet,
                                                    catalogs: Catalogs, redis_url: str, status: int) -> None:
    config = Settings(redis_url=redis_url)
    runtime = Runtime(settings=config, db=service.db, flows=flows, service=service, texts=catalogs)
    server = TestServer(build_app(runtime), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{server.make_url('/readyz')}") as res:
            body = await res.json()
            assert res.status == status, body
        assert body["database"] == "ok"
        if redis_url:
            assert body["redis"] == ("ok" if status == 200 else "ConnectionError")
    finally:
        await server.close()
