"""In a real (headless) chromium against `hotline serve`: an editor changes an answer and publishes it to
take effect two seconds ahead (Moscow time, the office's); the history lists it as scheduled; the web
chat the migrant has open serves the old text until then and the new one after, with no one touching
anything at that moment."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.browser import chromium, english_console, skip_without_chromium
from tests.serve_kit import serve
from tests.test_flow_editing_browser import (
    ISSUED,
    WAIT,
    flow_version,
    log_in,
    scratch_database,
    staff,
    web_chat_answer,
)

MARK = "ЯНВ-ТАҲРИР"  # no digits: a number in one language only fails the numbers check
AHEAD = 2  # seconds


@pytest.fixture(autouse=True)
def _chromium() -> None:
    skip_without_chromium()


async def test_an_editor_schedules_a_version_and_the_open_web_chat_serves_it_after_its_time(tmp_path: Path) -> None:
    async with scratch_database(tmp_path) as url:
        await staff(url)
        async with serve(tmp_path, "a", DATABASE_URL=url, OFFICE_TIMEZONE="Europe/Moscow") as a, \
                chromium() as browser:
            migrant = await (await browser.new_context(locale="tg-TJ")).new_page()
            migrant.set_default_timeout(WAIT)
            await migrant.goto(f"{a.base}/")
            await migrant.locator(".msg.bot .buttons button").first.wait_for()
            assert MARK not in await web_chat_answer(migrant)

            ed = await (await english_console(browser, a.base)).new_page()
            ed.set_default_timeout(WAIT)
            await log_in(ed, a.base, "ed", "/console/flows/f/patent")
            await ed.wait_for_url("**/console/flows/f/patent")
            node = ed.locator("#n-next_pay_ok")
            tajik = node.locator('textarea[name="text.tg"]')
            await tajik.fill(f"{MARK}\n{await tajik.input_value()}")
            await node.locator('button[value="save"]').click()
            await ed.locator(".flash", has_text="No problems").wait_for()
            await ed.goto(f"{a.base}/console/flows")
            await ed.fill('input[name="note"]', "2027 wording from 1 January")
            at = (dt.datetime.now(ZoneInfo("Europe/Moscow")) + dt.timedelta(seconds=AHEAD)).replace(microsecond=0)
            await ed.fill("#publish-at", at.strftime("%Y-%m-%dT%H:%M:%S"))
            await ed.click("#publish-button")
            await ed.locator(".flash", has_text="Scheduled as version 2").wait_for()
            assert f"{at:%Y-%m-%d %H:%M}" in await ed.locator(".flash").inner_text()
            row = ed.locator('#history tr[data-version="2"]')
            assert f"takes effect {at:%Y-%m-%d %H:%M} (Europe/Moscow)" in await row.inner_text()
            if time.time() < at.timestamp() - 0.5:  # the page was made before the time (a slow machine may not)
                assert await ed.locator('#scheduled li[data-version="2"]').count() == 1
                assert await flow_version(a.base) == 1

            # Nobody does anything more: the process's own look switches after the time.
            for _ in range(600):  # within the look's 2 s, plus building the new engine (slow on a busy machine)
                if await flow_version(a.base) == 2:
                    break
                await asyncio.sleep(0.2)
            assert await flow_version(a.base) == 2
            assert time.time() >= at.timestamp()
            assert (await web_chat_answer(migrant, ("/menu", "1", "4", ISSUED, "1"))).startswith(MARK)

            await ed.goto(f"{a.base}/console/flows/history")
            assert await ed.locator("#scheduled p", has_text="Nothing is scheduled.").count() == 1
            assert "live" in await ed.locator('#history tr[data-version="2"]').inner_text()
