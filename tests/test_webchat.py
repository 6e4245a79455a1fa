"""The web chat over real HTTP on 127.0.0.1: the page, the API, bad input, /healthz."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build_app
from bot.flowspec import FlowSet
from bot.i18n import Catalogs
from bot.runtime import Runtime
from bot.service import ConversationService
from bot.settings import Settings


@pytest.fixture
async def client(service: ConversationService, db: AsyncEngine, flows: FlowSet, catalogs: Catalogs) -> AsyncIterator[
        tuple[aiohttp.ClientSession, str]]:
    settings = Settings(max_message_chars=500)
    runtime = Runtime(settings=settings, db=db, flows=flows, service=service, texts=catalogs)
    server = TestServer(build_app(runtime), host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield session, str(server.make_url(""))
    await server.close()


async def test_page_and_health(client: tuple[aiohttp.ClientSession, str]) -> None:
    http, base = client
    async with http.get(f"{base}/") as res:
        html = await res.text()
        assert res.status == 200 and "text/html" in res.headers["Content-Type"]
    for word in ("Тоҷикӣ", "Кыргызча", "Oʻzbekcha", "Русский", 'name="viewport"'):
        assert word in html
    async with http.get(f"{base}/healthz") as res:
        assert res.status == 200 and (await res.json())["status"] == "ok"


async def test_conversation_through_the_api(client: tuple[aiohttp.ClientSession, str]) -> None:
    http, base = client
    body = {"session": "browser-session-1", "text": "/start", "lang": "ky"}
    async with http.post(f"{base}/chat/api/send", json=body) as res:
        data = await res.json()
    assert res.status == 200 and data["status"] == "BOT"
    menu = data["replies"][-1]
    assert menu["node"] == "main.menu" and len(menu["buttons"]) >= 5
    async with http.post(f"{base}/chat/api/send", json={"session": "browser-session-1",
                                                         "payload": menu["buttons"][0]["payload"]}) as res:
        data = await res.json()
    assert data["replies"][-1]["node"] == "patent.menu"
    async with http.get(f"{base}/chat/api/messages", params={"session": "browser-session-1", "after": "0"}) as res:
        rows = (await res.json())["messages"]
    assert [r["sender"] for r in rows][:2] == ["migrant", "bot"]


@pytest.mark.parametrize(("body", "status", "error"), [
    ("not json", 400, "the body must be JSON"),
    ('["a list"]', 400, "the body must be a JSON object"),
    ('{"session": "x", "text": "hi"}', 400, "session must be 8-64"),
    ('{"session": "good-session", "text": 5}', 400, "text and payload must be strings"),
    ('{"session": "good-session", "text": "hi", "lang": "en"}', 400, "lang must be one of"),
    ('{"session": "good-session", "text": "' + "я" * 501 + '"}', 413, "longer than 500 characters"),
])
async def test_bad_input_gets_a_clear_error(client: tuple[aiohttp.ClientSession, str], body: str, status: int,
                                            error: str) -> None:
    http, base = client
    async with http.post(f"{base}/chat/api/send", data=body.encode(),
                         headers={"Content-Type": "application/json"}) as res:
        assert res.status == status
        assert error in (await res.json())["error"]


async def test_odd_text_is_answered(client: tuple[aiohttp.ClientSession, str]) -> None:
    http, base = client
    for text in ("\u0000\u202e🙂", "   ", "ﷺ" * 400):
        async with http.post(f"{base}/chat/api/send", json={"session": "odd-session", "text": text}) as res:
            assert res.status == 200
            assert (await res.json())["replies"]
