"""The console over real HTTP on 127.0.0.1 (aiohttp TestServer), and a client that logs in, keeps its
cookie and sends the CSRF token the way the console's own forms do."""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine
from yarl import URL

from bot.app import build_app, handoff_for
from bot.console.i18n import COOKIE
from bot.console.views import Console
from bot.events import EventBus
from bot.flowspec import FlowSet
from bot.i18n import Catalogs
from bot.runtime import Runtime
from bot.service import ConversationService
from bot.settings import Settings
from handoff.service import HandoffService
from tests.handoff_kit import PASSWORD
from tests.webchat_kit import Sessions

CSRF = re.compile(r'name="_csrf" value="([^"]+)"')
# aiohttp_session (2.12) keeps the session under plain string keys of the request, which aiohttp 3.14
# warns about once per process (NotAppKeyWarning); the suite turns warnings into errors, so the first
# console request of a run would fail with a 500. Only that library's warning is ignored.
SESSION_LIBRARY_KEYS = pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning:aiohttp_session")


@dataclass
class Page:
    status: int
    text: str
    headers: Any

    @property
    def location(self) -> str:
        return str(self.headers.get("Location", ""))


@dataclass
class Client:
    """One browser: its own cookie jar (cookies from 127.0.0.1 need an `unsafe` jar)."""

    http: aiohttp.ClientSession
    base: str
    csrf: str = ""

    async def get(self, path: str, **params: str) -> Page:
        async with self.http.get(self.base + path, params=params, allow_redirects=False) as res:
            page = Page(res.status, await res.text(), res.headers)
        if found := CSRF.search(page.text):
            self.csrf = html.unescape(found.group(1))
        return page

    async def post(self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True,
                   headers: dict[str, str] | None = None) -> Page:
        form = dict(data or {})
        if csrf:
            if not self.csrf:
                await self.get("/console/login")
            form["_csrf"] = self.csrf
        async with self.http.post(self.base + path, data=form, allow_redirects=False, headers=headers) as res:
            return Page(res.status, await res.text(), res.headers)

    async def follow(self, page: Page) -> Page:
        assert page.status in (302, 303), (page.status, page.text[:300])
        return await self.get(page.location)

    async def login(self, login: str, password: str = PASSWORD) -> Page:
        await self.get("/console/login")
        return await self.post("/console/login", {"login": login, "password": password, "next": "/console/queue"})


@dataclass
class Desk:
    """The hotline's HTTP app with the console, as `hotline serve` builds it."""

    base: str
    db: AsyncEngine
    service: ConversationService
    handoff: HandoffService
    events: EventBus
    console: Console
    app: web.Application
    _sessions: list[aiohttp.ClientSession] = field(default_factory=list)
    web_sessions: Sessions = field(default_factory=Sessions)  # the migrants' names -> issued session ids

    async def client(self, lang: str = "en") -> Client:
        """A browser whose console is in `lang` (the switch's cookie; without it the console is Russian)."""
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        if lang:
            http.cookie_jar.update_cookies({COOKIE: lang}, URL(self.base))
        self._sessions.append(http)
        return Client(http, self.base)

    async def logged_in(self, login: str, lang: str = "en") -> Client:
        client = await self.client(lang)
        page = await client.login(login)
        assert page.status == 303 and page.location.startswith("/console/"), (page.status, page.text[:300])
        await client.get("/console/login")  # the token changes with the new session
        return client

    async def migrant(self, session: str, text: str = "", payload: str | None = None,
                      lang: str | None = "ru") -> dict[str, Any]:
        """A message in the web chat, through its HTTP API, from the migrant the test calls `session`."""
        http = await self.client()
        body: dict[str, Any] = {"session": await self.web_sessions.of(http.http, self.base, session), "text": text}
        if payload:
            body["payload"] = payload
        if lang:
            body["lang"] = lang
        async with http.http.post(f"{self.base}/chat/api/send", json=body) as res:
            assert res.status == 200, await res.text()
            data: dict[str, Any] = await res.json()
            return data

    async def close(self) -> None:
        for http in self._sessions:
            await http.close()


@contextlib.asynccontextmanager
async def serve_desk(service: ConversationService, db: AsyncEngine, flows: FlowSet, catalogs: Catalogs,
                     **settings: Any) -> AsyncIterator[Desk]:
    config = Settings(console_secret_key="console-tests-secret-key-0123456789", office_hours="always",
                      **settings)
    runtime = Runtime(settings=config, db=db, flows=flows, service=service, texts=catalogs)
    events = EventBus()
    handoff = handoff_for(runtime, events)
    console = Console(db, handoff, events)
    app = build_app(runtime, console)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    desk = Desk(str(server.make_url("")).rstrip("/"), db, service, handoff, events, console, app)
    try:
        yield desk
    finally:
        await desk.close()
        await server.close()
