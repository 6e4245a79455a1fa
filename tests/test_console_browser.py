"""Browser tests: a mediator in the console and a migrant in the web chat, two tabs of a real (headless)
chromium against `hotline serve`. Escalate, see it appear live, take, reply, see the reply reach the
web chat, resolve, see the rating question; a migrant's HTML stays text; editors' pages stay closed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.console.users import add_user
from bot.i18n import Catalogs
from bot.storage.db import create_engine
from handoff import texts as t
from tests.browser import chromium, skip_without_chromium
from tests.serve_kit import ROOT, serve

XSS = "<script>alert(1)</script><b>x</b>"
XSS_IMG = '<img src=x onerror="alert(2)">'
WAIT = 10_000  # ms: the web chat polls every 3 s


@pytest.fixture(autouse=True)
def _chromium() -> None:
    skip_without_chromium()


def ru(message: str, **params: Any) -> str:
    return t.say(Catalogs(ROOT / "translations"), "ru", "Latn", message, **params)


async def test_escalate_take_reply_resolve_in_two_tabs(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'browser.sqlite3'}"
    async with serve(tmp_path, DATABASE_URL=db_url) as server, chromium() as browser:
        password = await server.admin_password()
        dialogs: list[str] = []
        mediator = await (await browser.new_context()).new_page()
        migrant = await (await browser.new_context(locale="en-US")).new_page()  # no guess: Uzbek first
        for page in (mediator, migrant):
            page.set_default_timeout(WAIT)
            page.on("dialog", lambda d: dialogs.append(d.message))

        # The mediator logs in and watches the queue.
        await mediator.goto(f"{server.base}/console")
        assert "/console/login" in mediator.url
        await mediator.fill('input[name="login"]', "admin")
        await mediator.fill('input[name="password"]', password)
        async with mediator.expect_response(lambda r: r.url.endswith("/console/events")):
            await mediator.click('button[type="submit"]')  # the queue page opens its event stream
        assert mediator.url.endswith("/console/queue")
        assert await mediator.locator("#items .empty").count() == 1
        await mediator.evaluate("window.notReloaded = true")

        # The migrant opens the web chat, switches it to Russian and asks for a person.
        await migrant.goto(f"{server.base}/")
        await migrant.locator(".msg.bot .buttons button").first.wait_for()  # the main menu after /start
        assert await migrant.locator("#lang").input_value() == "uz"
        menus = await migrant.locator(".msg.bot .buttons").count()
        await migrant.select_option("#lang", "ru")
        await migrant.locator(".msg.bot .buttons").nth(menus).wait_for()  # the menu again, in Russian
        assert await migrant.title() == "Горячая линия для мигрантов"
        await migrant.fill("#text", "оператор")
        await migrant.press("#text", "Enter")
        await migrant.locator(".msg.bot", has_text=ru(t.T_PLACE, place=1)).wait_for()

        # It appears in the console's queue without a reload.
        item = mediator.locator('#items a[href^="/console/c/"]')
        await item.wait_for()
        assert await mediator.evaluate("window.notReloaded") is True
        assert "ждёт" in await item.inner_text()  # the console speaks Russian unless told otherwise
        await item.click()
        await mediator.click("#take")
        await mediator.locator(".flash", has_text="Вы взяли это обращение.").wait_for()

        # The migrant writes HTML; the open conversation shows it live, as text.
        await migrant.fill("#text", XSS)
        await migrant.press("#text", "Enter")
        await migrant.fill("#text", XSS_IMG)
        await migrant.press("#text", "Enter")
        live = mediator.locator("#transcript li.in .text", has_text="onerror")
        await live.wait_for()
        texts = await mediator.locator("#transcript li.in .text").all_inner_texts()
        assert XSS in texts and XSS_IMG in texts
        assert await mediator.locator("#transcript b, #transcript img, #transcript script").count() == 0
        await mediator.reload()
        assert XSS in await mediator.locator("#transcript li.in .text").all_inner_texts()
        assert await mediator.locator("#transcript b, #transcript img, #transcript script").count() == 0
        assert await migrant.locator("#log b, #log img").count() == 0  # the migrant's own view, too

        # The reply reaches the web chat.
        reply = "Здравствуйте! Я консультант. Где вы работаете?"
        await mediator.fill("#reply-text", reply)
        await mediator.click("#send")
        await migrant.locator(".msg.mediator", has_text=reply).wait_for()
        await migrant.locator(".msg", has_text=ru(t.T_JOINED, name="Admin")).wait_for()
        assert await mediator.locator("#transcript li.out.mediator", has_text=reply).count() == 1

        # Resolve; the migrant is asked to rate the help.
        await mediator.select_option('select[name="resolution"]', "answered")
        await mediator.click("#resolve")
        await mediator.locator(".flash", has_text="Решено.").wait_for()
        await migrant.locator(".msg", has_text=ru(t.T_CLOSED)).wait_for()
        question = migrant.locator(".msg", has_text=ru(t.T_RATE))
        await question.wait_for()
        buttons = question.locator(".buttons button")
        assert await buttons.all_inner_texts() == ["1", "2", "3", "4", "5"]
        await buttons.nth(3).click()
        await migrant.locator(".msg.bot", has_text=ru(t.T_THANKS)).wait_for()
        db = create_engine(db_url)
        try:
            async with db.connect() as conn:
                rating = (await conn.execute(text("SELECT rating FROM conversation WHERE id = 1"))).scalar()
        finally:
            await db.dispose()
        assert rating == 4
        assert dialogs == []


async def test_a_mediator_cannot_open_the_editors_pages(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'roles.sqlite3'}"
    async with serve(tmp_path, DATABASE_URL=db_url) as server, chromium() as browser:
        await server.admin_password()
        db = create_engine(db_url)
        try:
            await add_user(db, "mila", name="Mila", roles=["mediator"], languages=["ru"], skills=["general"],
                           password="mila-password-123")
        finally:
            await db.dispose()
        page = await (await browser.new_context()).new_page()
        page.set_default_timeout(WAIT)
        await page.goto(f"{server.base}/console/login")
        await page.fill('input[name="login"]', "mila")
        await page.fill('input[name="password"]', "mila-password-123")
        await page.click('button[type="submit"]')
        await page.wait_for_url("**/console/queue")
        assert await page.locator("nav a", has_text="Шаблоны ответов").count() == 0
        response = await page.goto(f"{server.base}/console/canned")
        assert response is not None and response.status == 403
        assert await page.locator("#message").inner_text() == "Эта страница для роли: редактор."
