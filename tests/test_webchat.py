"""The web chat over real HTTP on 127.0.0.1: the page and its assets, the API, sessions issued by the
server, the rate limits, bad input, /healthz."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build_app
from bot.flowspec import FlowSet
from bot.i18n import Catalogs
from bot.runtime import Runtime
from bot.service import ConversationService
from bot.settings import Settings
from bot.storage.models import ContactChannel
from tests.webchat_kit import new_session

Client = tuple[aiohttp.ClientSession, str]


async def serve(settings: Settings, service: ConversationService, db: AsyncEngine, flows: FlowSet,
                catalogs: Catalogs) -> tuple[TestServer, str]:
    runtime = Runtime(settings=settings, db=db, flows=flows, service=service, texts=catalogs)
    server = TestServer(build_app(runtime), host="127.0.0.1")
    await server.start_server()
    return server, str(server.make_url("")).rstrip("/")


@pytest.fixture
async def client(service: ConversationService, db: AsyncEngine, flows: FlowSet, catalogs: Catalogs) -> AsyncIterator[
        Client]:
    server, base = await serve(Settings(max_message_chars=500), service, db, flows, catalogs)
    async with aiohttp.ClientSession() as session:
        yield session, base
    await server.close()


async def test_page_and_health(client: Client) -> None:
    http, base = client
    async with http.get(f"{base}/") as res:
        html = await res.text()
        assert res.status == 200 and "text/html" in res.headers["Content-Type"]
    for word in ("Тоҷикӣ", "Кыргызча", "Oʻzbekcha", "Русский", 'name="viewport"'):
        assert word in html
    assert "<script>" not in html and "<style>" not in html  # everything from files, under the CSP
    for asset, kind in (("webchat.js", "text/javascript"), ("webchat.css", "text/css")):
        async with http.get(f"{base}/chat/static/{asset}") as res:
            assert res.status == 200 and res.content_type == kind
    async with http.get(f"{base}/chat/static/webchat.html") as res:
        assert res.status == 404
    async with http.get(f"{base}/healthz") as res:
        assert res.status == 200 and (await res.json())["status"] == "ok"


async def test_conversation_through_the_api(client: Client) -> None:
    http, base = client
    session = await new_session(http, base)
    body = {"session": session, "text": "/start", "lang": "ky"}
    async with http.post(f"{base}/chat/api/send", json=body) as res:
        data = await res.json()
    assert res.status == 200 and data["status"] == "BOT"
    menu = data["replies"][-1]
    assert menu["node"] == "main.menu" and len(menu["buttons"]) >= 5
    async with http.post(f"{base}/chat/api/send", json={"session": session,
                                                         "payload": menu["buttons"][0]["payload"]}) as res:
        data = await res.json()
    assert data["replies"][-1]["node"] == "patent.menu"
    async with http.get(f"{base}/chat/api/messages", params={"session": session, "after": "0"}) as res:
        rows = (await res.json())["messages"]
    assert [r["sender"] for r in rows][:2] == ["migrant", "bot"]


GOOD = "GOOD-SESSION"  # replaced by an issued session id in the cases below


@pytest.mark.parametrize(("body", "status", "error"), [
    ("not json", 400, "the body is not JSON"),
    ('["a list"]', 400, "the body must be a JSON object"),
    ('{"session": "GOOD-SESSION", "text": 5}', 400, "text and payload must be strings"),
    ('{"session": "GOOD-SESSION", "text": "hi", "lang": "en"}', 400, "lang must be one of"),
    ('{"session": "GOOD-SESSION", "text": "' + "я" * 501 + '"}', 413, "longer than 500 characters"),
    # nesting that used to reach a RecursionError (a 500), and a body past the limit
    ('{"session": "GOOD-SESSION", "x": ' + "[" * 3_000 + "]" * 3_000 + "}", 400, "the body is not JSON"),
    ('{"session": "GOOD-SESSION", "x": ' + "[" * 50 + "]" * 50 + "}", 400, "nests deeper than 32"),
    ('{"session": "GOOD-SESSION", "text": "' + " " * 20_000 + '"}', 413, "the body is larger than"),
])
async def test_bad_input_gets_a_clear_error(client: Client, body: str, status: int, error: str) -> None:
    http, base = client
    body = body.replace(GOOD, await new_session(http, base))
    async with http.post(f"{base}/chat/api/send", data=body.encode(),
                         headers={"Content-Type": "application/json"}) as res:
        assert res.status == status
        assert error in (await res.json())["error"]


async def test_a_session_the_server_did_not_issue_is_refused(client: Client, db: AsyncEngine) -> None:
    http, base = client
    issued = await new_session(http, base)
    forged = issued[:24] + ("A" if issued[24] != "A" else "B") + issued[25:]
    for session in ("aaaaaaaa", "browser-session-1", issued + "\n", forged, issued.lower(), 5, None):
        async with http.post(f"{base}/chat/api/send", json={"session": session, "text": "/start"}) as res:
            assert res.status == 403 and (await res.json())["renew"] is True
    async with http.get(f"{base}/chat/api/messages", params={"session": "aaaaaaaa"}) as res:
        assert res.status == 403
    async with db.connect() as conn:
        assert (await conn.execute(select(ContactChannel.external_id))).all() == []  # nobody was created
    async with http.post(f"{base}/chat/api/send", json={"session": issued, "text": "/start"}) as res:
        assert res.status == 200


async def test_a_30_digit_message_id_is_a_clear_400(client: Client) -> None:
    http, base = client
    session = await new_session(http, base)
    async with http.get(f"{base}/chat/api/messages", params={"session": session, "after": "9" * 30}) as res:
        assert res.status == 400 and "at most 18 digits" in (await res.json())["error"]


async def test_limits_per_session_per_address_and_on_new_sessions(
        service: ConversationService, db: AsyncEngine, flows: FlowSet, catalogs: Catalogs) -> None:
    settings = Settings(webchat_session_rate=3, webchat_address_rate=5, webchat_new_sessions_rate=3)
    server, base = await serve(settings, service, db, flows, catalogs)
    try:
        async with aiohttp.ClientSession() as http:
            one, two, three = [await new_session(http, base) for _ in range(3)]
            async with http.post(f"{base}/chat/api/session") as res:  # a fourth in the same minute
                assert res.status == 429 and int(res.headers["Retry-After"]) > 0
            statuses = []
            for session in (one, one, one, one):
                async with http.post(f"{base}/chat/api/send", json={"session": session, "text": "hi"}) as res:
                    statuses.append(res.status)
            assert statuses == [200, 200, 200, 429]  # the session's three
            async with http.post(f"{base}/chat/api/send", json={"session": two, "text": "hi"}) as res:
                assert res.status == 200  # another session from the same address: the address's fifth
            async with http.post(f"{base}/chat/api/send", json={"session": three, "text": "hi"}) as res:
                assert res.status == 429 and "too many" in (await res.json())["error"]
    finally:
        await server.close()


async def test_odd_text_is_answered_and_stored_clean(client: Client, db: AsyncEngine) -> None:
    http, base = client
    session = await new_session(http, base)
    for text in ("\u0000\u202e🙂", "   ", "ﷺ" * 400, "lone \ud800 surrogate\u0007"):
        body = json.dumps({"session": session, "text": text}).encode()  # \ud800 travels as an escape
        async with http.post(f"{base}/chat/api/send", data=body, headers={"Content-Type": "application/json"}) as res:
            assert res.status == 200
            assert (await res.json())["replies"]
    async with http.get(f"{base}/chat/api/messages", params={"session": session}) as res:
        texts = [m["text"] for m in (await res.json())["messages"] if m["direction"] == "in"]
    assert "lone \ufffd surrogate" in texts
