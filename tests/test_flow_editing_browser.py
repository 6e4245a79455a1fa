"""The editor in a real (headless) chromium against two `hotline serve` processes on one database: an
editor changes the Tajik text of an answer, sees the error when a placeholder is removed, corrects it, tries
it in the preview, publishes; the web chat of the first process and the second process serve the new text
within seconds; rolling back restores it. A mediator cannot open the editor."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy.engine import make_url

from bot.console.users import add_user
from bot.storage.db import create_engine, upgrade
from tests.browser import chromium, english_console, skip_without_chromium
from tests.conftest import _drop_pg_database, _ensure_pg_database, _pg_url
from tests.serve_kit import serve
from tests.webchat_kit import new_session

WAIT = 15_000  # ms
PASSWORD = "editor-password-123"
MARK = "НАВ-ТАҲРИР"  # no digits: a number in one language only fails the numbers check


@pytest.fixture(autouse=True)
def _chromium() -> None:
    skip_without_chromium()


@contextlib.asynccontextmanager
async def scratch_database(tmp_path: Path) -> AsyncIterator[str]:
    """A PostgreSQL database of this test's own when a server answers (dropped after), else one SQLite
    file; both processes use it."""
    base = _pg_url()
    if base is None:
        yield f"sqlite+aiosqlite:///{tmp_path / 'editing.sqlite3'}"
        return
    url = make_url(base).set(database=f"hotline_flow_editing_{os.getpid()}").render_as_string(hide_password=False)
    await _drop_pg_database(url)
    await _ensure_pg_database(url)
    try:
        yield url
    finally:
        await _drop_pg_database(url)


async def staff(url: str) -> None:
    await upgrade(url)
    db = create_engine(url)
    try:
        await add_user(db, "ed", name="Ed", roles=["editor"], languages=["tg"], skills=["general"], password=PASSWORD)
        await add_user(db, "mila", name="Mila", roles=["mediator"], languages=["ru"], skills=["general"],
                       password=PASSWORD)
    finally:
        await db.dispose()


async def log_in(page: Any, base: str, login: str, path: str = "/console/queue") -> None:
    await page.goto(f"{base}{path}")  # to the log-in form, then back here
    await page.fill('input[name="login"]', login)
    await page.fill('input[name="password"]', PASSWORD)
    await page.click('button[type="submit"]')


async def flow_version(base: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(f"{base}/healthz") as res:
        return int((await res.json())["flow_version"])


async def wait_for_version(base: str, number: int, within: float = 20) -> float:
    started = time.monotonic()
    while await flow_version(base) != number:
        assert time.monotonic() - started < within, f"{base} still serves version {await flow_version(base)}"
        await asyncio.sleep(0.2)
    return time.monotonic() - started


ISSUED = (dt.date.today() - dt.timedelta(days=10)).strftime("%d.%m.%Y")
# main menu > patent > when to pay next (calculation) > Uzbekistan > issued 10 days ago > 1 month paid
TO_NEXT_PAYMENT = ("1", "4", "1", ISSUED, "1")


async def api_answer(base: str) -> str:
    """The text of the next-payment answer, asked through the web chat's API in Tajik (a new session)."""
    async with aiohttp.ClientSession() as http:
        session = await new_session(http, base)
        replies: list[dict[str, Any]] = []
        for text in ("/start", *TO_NEXT_PAYMENT):
            async with http.post(f"{base}/chat/api/send", json={"session": session, "text": text, "lang": "tg"}) as res:
                replies = (await res.json())["replies"]
    found = [r["text"] for r in replies if r["node"] == "patent.next_pay_ok"]
    assert found, replies
    return str(found[0])


async def web_chat_answer(page: Any, steps: tuple[str, ...] = TO_NEXT_PAYMENT) -> str:
    """The same question typed in the web chat page; the text of the answer bubble."""
    before = await page.locator(".msg.bot").count()
    for text in steps:
        count = await page.locator(".msg.bot").count()
        await page.fill("#text", text)
        await page.press("#text", "Enter")
        await page.locator(".msg.bot").nth(count).wait_for()  # a locator: the page's CSP forbids eval
    texts = (await page.locator(".msg.bot").all_inner_texts())[before:]
    answer = [t for t in texts if "рӯзи охирини пардохтшуда" in t]
    assert answer, texts
    return answer[-1]


async def test_edit_preview_publish_reaches_both_processes_and_rollback(tmp_path: Path) -> None:
    async with scratch_database(tmp_path) as url:
        await staff(url)
        async with serve(tmp_path, "a", DATABASE_URL=url) as a, serve(tmp_path, "b", DATABASE_URL=url) as b, \
                chromium() as browser:
            assert await flow_version(a.base) == await flow_version(b.base) == 1
            original = await api_answer(b.base)
            assert MARK not in original and "{" not in original

            # A mediator is turned away.
            mila = await (await english_console(browser, a.base)).new_page()
            mila.set_default_timeout(WAIT)
            await log_in(mila, a.base, "mila")
            await mila.wait_for_url("**/console/queue")
            assert await mila.locator("nav a", has_text="Answers").count() == 0
            response = await mila.goto(f"{a.base}/console/flows/f/patent")
            assert response is not None and response.status == 403
            assert "for the role: editor" in await mila.content()

            # A migrant has the web chat of process A open, in Tajik, at the main menu.
            migrant = await (await browser.new_context(locale="tg-TJ")).new_page()
            migrant.set_default_timeout(WAIT)
            await migrant.goto(f"{a.base}/")
            await migrant.locator(".msg.bot .buttons button").first.wait_for()
            assert await migrant.locator("#lang").input_value() == "tg"

            # The editor deletes a placeholder from the Tajik text: the error shows next to that field.
            ed = await (await english_console(browser, a.base)).new_page()
            ed.set_default_timeout(WAIT)
            ed.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
            await log_in(ed, a.base, "ed", "/console/flows")
            await ed.wait_for_url("**/console/flows")
            await ed.click('#flows a:has-text("Патент")')
            node = ed.locator("#n-next_pay_ok")
            tajik = node.locator('textarea[name="text.tg"]')
            text = await tajik.input_value()
            assert "{pay_by}" in text
            await tajik.fill(text.replace("{pay_by}", ""))
            await node.locator('button[value="save"]').click()
            problem = ed.locator('#n-next_pay_ok label:has(textarea[name="text.tg"]) .problem.error')
            await problem.wait_for()
            assert await problem.inner_text() == "placeholders differ from ru: lacks {pay_by}"
            assert await ed.locator('#n-next_pay_ok label:has(textarea[name="text.ru"]) .problem').count() == 0
            await ed.goto(f"{a.base}/console/flows")
            assert await ed.locator("#publish-button").is_disabled()

            # Corrected, with new wording: no problem left.
            await ed.goto(f"{a.base}/console/flows/f/patent#n-next_pay_ok")
            await tajik.fill(f"{MARK}\n{text}")
            await node.locator('button[value="save"]').click()
            await ed.locator(".flash", has_text="No problems").wait_for()
            assert await ed.locator("#n-next_pay_ok .problem.error").count() == 0

            # The preview runs the draft in Tajik; migrants still get the old text.
            await ed.click('.bar a:has-text("Preview")')
            await ed.select_option('select[name="lang"]', "tg")
            await ed.click('button[value="restart"]')
            await ed.locator("#chat .msg.bot").first.wait_for()
            for typed in TO_NEXT_PAYMENT:
                await ed.fill('#end input[name="text"]', typed)
                await ed.press('#end input[name="text"]', "Enter")
                await ed.wait_for_load_state()
            answer = ed.locator("#chat .msg.bot", has_text=MARK)
            await answer.wait_for()
            assert "patent.next_pay_ok" in await answer.inner_text()
            assert MARK not in await api_answer(a.base)

            # Publish with a note.
            await ed.click('.bar a:has-text("All flows")')
            assert not await ed.locator("#publish-button").is_disabled()
            await ed.fill('input[name="note"]', "Tajik: clearer next-payment answer")
            await ed.click("#publish-button")
            await ed.locator(".flash", has_text="Published as version 2").wait_for()
            row = ed.locator('#history tr[data-version="2"]')
            assert "Tajik: clearer next-payment answer" in await row.inner_text()
            assert "ed" in await row.inner_text()

            # Process A serves it at once, in the web chat opened before; process B within seconds.
            assert await flow_version(a.base) == 2
            assert (await web_chat_answer(migrant)).startswith(MARK)
            waited = await wait_for_version(b.base, 2)
            assert waited < 15
            assert (await api_answer(b.base)).startswith(MARK)

            # The history's diff shows the change; rollback publishes version 1 again as version 3.
            await ed.click('#history tr[data-version="2"] a:has-text("changes")')
            assert await ed.locator(".diff .add", has_text=MARK).count() == 1
            await ed.click('.links a:has-text("History")')
            await ed.click('#history tr[data-version="1"] button:has-text("Roll back")')
            await ed.locator(".flash", has_text="Version 1 is live again, as version 3").wait_for()
            assert await flow_version(a.base) == 3
            # (the same migrant again: back to the menu; the citizenship is remembered, so not asked again)
            assert MARK not in await web_chat_answer(migrant, ("/menu", "1", "4", ISSUED, "1"))
            await wait_for_version(b.base, 3)
            assert await api_answer(b.base) == original
