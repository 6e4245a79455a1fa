"""Security headers on every answer (issue 13, item 7), from one place (bot/webguard.py): the web chat's
page and files, the APIs, errors, the console; HSTS and `Secure` cookies when the public address is
https; the real client address behind a trusted proxy only. And the pages still work under the CSP in a
real browser: the web chat greets (its script ran) and no CSP violation is reported."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.flowspec import FlowSet
from bot.i18n import Catalogs
from bot.service import ConversationService
from bot.webguard import client_address, trusted_networks
from tests.browser import chromium, skip_without_chromium
from tests.console_kit import SESSION_LIBRARY_KEYS, Desk, serve_desk
from tests.handoff_kit import add_staff

pytestmark = SESSION_LIBRARY_KEYS
PATHS = ["/", "/chat/static/webchat.js", "/chat/static/webchat.css", "/healthz", "/no/such/page",
         "/chat/api/messages?session=x", "/console/login", "/console/queue", "/console/static/console.css"]


@pytest.fixture(params=["http", "https"])
async def desk(request: pytest.FixtureRequest, service: ConversationService, db: AsyncEngine, flows: FlowSet,
               catalogs: Catalogs) -> AsyncIterator[Desk]:
    async with serve_desk(service, db, flows, catalogs,
                          public_base_url=f"{request.param}://hotline.example.org") as desk:
        yield desk


async def test_every_answer_carries_the_headers(desk: Desk) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{desk.base}/healthz") as res:
            hsts = res.headers.get("Strict-Transport-Security")
        https = hsts is not None
        for path in PATHS:
            async with http.get(desk.base + path, allow_redirects=False) as res:
                h = res.headers
                assert "frame-ancestors 'none'" in h["Content-Security-Policy"], path
                assert "default-src 'self'" in h["Content-Security-Policy"], path
                assert h["X-Content-Type-Options"] == "nosniff", path
                assert h["Referrer-Policy"] == "same-origin", path
                assert ("Strict-Transport-Security" in h) is https, path
        async with http.get(f"{desk.base}/") as res:
            assert "script-src 'self'" in res.headers["Content-Security-Policy"]  # no inline script runs


async def test_hsts_and_secure_cookies_only_with_https(desk: Desk, db: AsyncEngine) -> None:
    await add_staff(db, "ana")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{desk.base}/healthz") as res:
            https = "Strict-Transport-Security" in res.headers
        async with http.get(f"{desk.base}/console/login") as res:
            cookie = res.headers["Set-Cookie"]
    assert "hotline_console=" in cookie and "httponly" in cookie.lower()
    assert ("secure" in cookie.lower().replace("httponly", "")) is https


@pytest.mark.parametrize(("remote", "forwarded", "trusted", "seen"), [
    ("127.0.0.1", "203.0.113.7", "127.0.0.1", "203.0.113.7"),  # nginx on the same machine
    ("10.0.0.2", "198.51.100.1, 203.0.113.7", "10.0.0.0/8", "203.0.113.7"),  # the last hop before the proxy
    ("10.0.0.2", "203.0.113.7, 10.0.0.9", "10.0.0.0/8", "203.0.113.7"),  # two proxies of ours
    ("203.0.113.9", "1.2.3.4", "127.0.0.1", "203.0.113.9"),  # a client claiming an address: not believed
    ("127.0.0.1", "1.2.3.4", "", "127.0.0.1"),  # no trusted proxies configured
    ("127.0.0.1", "not-an-ip", "127.0.0.1", "127.0.0.1"),
    ("127.0.0.1", "", "127.0.0.1", "127.0.0.1"),
])
def test_the_real_client_address_behind_a_trusted_proxy(remote: str, forwarded: str, trusted: str,
                                                        seen: str) -> None:
    assert client_address(remote, forwarded, trusted_networks(trusted)) == seen


async def test_the_web_chat_and_the_login_page_work_under_the_csp(
        service: ConversationService, db: AsyncEngine, flows: FlowSet, catalogs: Catalogs) -> None:
    skip_without_chromium()
    async with serve_desk(service, db, flows, catalogs) as desk, chromium() as browser:
        context = await browser.new_context(locale="ru-RU")
        # A visitor whose browser kept a session id it chose itself (before the server issued them).
        await context.add_init_script("localStorage.setItem('hotline.session', 'aaaaaaaa')")
        page = await context.new_page()
        page.set_default_timeout(10_000)
        reports: list[str] = []
        page.on("console", lambda m: reports.append(m.text))
        await page.goto(f"{desk.base}/")
        await page.locator(".msg.bot .buttons button").first.wait_for()  # greeted: the script ran
        session = await page.evaluate("localStorage.getItem('hotline.session')")
        assert session != "aaaaaaaa" and len(session) == 46  # renewed by the server
        await page.fill("#text", "меню")
        await page.press("#text", "Enter")
        await page.locator(".msg.me", has_text="меню").wait_for()
        await page.goto(f"{desk.base}/console/login")
        await page.locator('input[name="login"]').wait_for()
        assert not [r for r in reports if "Content Security Policy" in r], reports
