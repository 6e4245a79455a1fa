"""Browser test of the reports page against `hotline serve` (real chromium, phone-sized): a coordinator
picks last month and Tajik, sees the seeded numbers in the tables and the charts, downloads the CSV and
the XLSX (opened here), prints the one-page summary (a PDF of exactly one A4 page); a mediator gets 403."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from bot.console.users import add_user
from bot.storage.db import create_engine
from tests.browser import chromium, english_console, skip_without_chromium
from tests.reports_kit import seed
from tests.serve_kit import serve

WAIT = 10_000
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def _chromium() -> None:
    skip_without_chromium()


async def _log_in(browser: Any, base: str, login: str, password: str) -> Any:
    page = await (await english_console(browser, base, viewport=PHONE, accept_downloads=True)).new_page()
    page.set_default_timeout(WAIT)
    await page.goto(f"{base}/console/login")
    await page.fill('input[name="login"]', login)
    await page.fill('input[name="password"]', password)
    await page.click('button[type="submit"]')
    await page.wait_for_url(lambda url: not url.endswith("/console/login"))
    return page


async def test_a_coordinator_reads_last_month_in_tajik(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'reports.sqlite3'}"
    last_month = (dt.datetime.now(dt.UTC).date().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    async with serve(tmp_path, DATABASE_URL=db_url) as server, chromium() as browser:
        await server.admin_password()
        db = create_engine(db_url)
        try:
            await seed(db, month=last_month)
            for login, role in (("cora", "coordinator"), ("mila", "mediator")):
                await add_user(db, login, name=login.title(), roles=[role], languages=["tg"], skills=["general"],
                               password=f"{login}-password-123")
        finally:
            await db.dispose()

        page = await _log_in(browser, server.base, "cora", "cora-password-123")
        assert page.url.endswith("/console/reports")  # where a coordinator starts
        await page.click("nav a:has-text('Reports')")
        await page.select_option('select[name="range"]', "last_month")
        await page.select_option('select[name="lang"]', "tg")
        await page.click(".report-filters button")
        await page.wait_for_url("**lang=tg**")
        first = last_month.isoformat()
        assert await page.locator('input[name="from"]').input_value() == first  # the range shown is the one used
        summary = page.locator("#fig-summary tbody tr")
        rows = [re.split(r"\s*\t\s*", text.strip()) for text in await summary.all_inner_texts()]
        assert rows[:4] == [["People reached", "3"], ["new", "2"], ["returning", "1"], ["Conversations", "4"]]
        assert await page.locator("#fig-language tbody tr").all_inner_texts() == ["tg\t4"]
        bars = page.locator("#fig-channel svg.bars rect")
        assert await bars.count() == 2  # telegram 2 (one forgotten), whatsapp 2
        box = await page.locator("#fig-channel svg.bars").bounding_box()
        assert box is not None and 0 < box["width"] <= PHONE["width"]
        assert await page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")  # no sideways scroll

        async with page.expect_download() as waiting:
            await page.click("text=Download CSV")
        path = tmp_path / "report.csv"
        await (await waiting.value).save_as(path)
        table = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
        assert ["People reached", "3"] in table and ["tg", "4"] in table

        async with page.expect_download() as waiting:
            await page.click("text=Download XLSX")
        path = tmp_path / "report.xlsx"
        await (await waiting.value).save_as(path)
        book = load_workbook(path)
        assert [list(r) for r in book["summary"].iter_rows(min_row=4, max_row=7, values_only=True)] == [
            ["People reached", 3], ["new", 2], ["returning", 1], ["Conversations", 4]]

        await page.click("text=Printable summary")
        await page.wait_for_url("**/console/reports/summary**")
        await page.emulate_media(media="print")
        assert not await page.locator(".noprint").is_visible()
        pdf = await page.pdf(format="A4", prefer_css_page_size=True)
        assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1  # one A4 page

        mediator = await _log_in(browser, server.base, "mila", "mila-password-123")
        assert await mediator.locator("nav a", has_text="Reports").count() == 0
        response = await mediator.goto(f"{server.base}/console/reports")
        assert response is not None and response.status == 403
