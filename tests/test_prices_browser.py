"""In a real (headless) chromium against `hotline serve`: an editor adds a region's coefficient (and the
year's deflator when the table has none yet) on the console's price page, publishes the draft, and the
web chat the migrant has open computes that region's price from it. A figure that contradicts the formula
is refused with the reason, and nothing is saved."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from bot.flowspec.loader import load_dir
from tests.browser import chromium, english_console, skip_without_chromium
from tests.serve_kit import serve
from tests.test_flow_editing_browser import WAIT, log_in, scratch_database, staff, wait_for_version

FLOWS = Path(__file__).resolve().parent.parent / "flows"
COEFFICIENT = 2.5
NEW_DEFLATOR = 3.0  # only when the table has no deflator for this year yet
QUESTION = "сколько стоит патент в Калуге"


@pytest.fixture(autouse=True)
def _chromium() -> None:
    skip_without_chromium()


def expected_amount(year: int) -> str:
    known = load_dir(FLOWS)[0].prices.deflator(year)
    deflator = known.value if known else NEW_DEFLATOR
    return f"{round(1200 * deflator * COEFFICIENT, -2):,.0f}".replace(",", " ")


async def ask_price(page: Any) -> str:
    """The price question typed in the web chat (as an Uzbek citizen); the answer's bubble."""
    before = await page.locator(".msg.bot").count()
    for text in (QUESTION, "1"):
        count = await page.locator(".msg.bot").count()
        await page.fill("#text", text)
        await page.press("#text", "Enter")
        await page.locator(".msg.bot").nth(count).wait_for()  # (a string to evaluate: the page's CSP refuses)
    texts = (await page.locator(".msg.bot").all_inner_texts())[before:]
    answer = [t for t in texts if "Калуж" in t]
    assert answer, texts
    return str(answer[-1])


async def test_a_coefficient_added_in_the_console_changes_the_computed_price(tmp_path: Path) -> None:
    year = dt.date.today().year
    amount = expected_amount(year)
    async with scratch_database(tmp_path) as url:
        await staff(url)
        async with serve(tmp_path, "a", DATABASE_URL=url) as a, chromium() as browser:
            migrant = await (await browser.new_context(locale="ru-RU")).new_page()
            migrant.set_default_timeout(WAIT)
            await migrant.goto(f"{a.base}/")
            await migrant.locator(".msg.bot .buttons button").first.wait_for()
            before = await ask_price(migrant)
            assert amount not in before

            ed = await (await english_console(browser, a.base)).new_page()
            ed.set_default_timeout(WAIT)
            await log_in(ed, a.base, "ed", "/console/flows")
            await ed.wait_for_url("**/console/flows")
            await ed.click("#prices-link")
            await ed.wait_for_url("**/console/flows/prices")

            # A published amount that the formula contradicts is refused, and nothing is saved.
            form = ed.locator("#price-form")
            await form.locator('select[name="region"]').select_option("kaluga")
            await form.locator('input[name="coefficient"]').fill(str(COEFFICIENT))
            await form.locator('input[name="amount"]').fill("99999")
            await form.locator('input[name="source"]').fill("Закон Калужской области (тест)")
            await form.locator('button[type="submit"]').click()
            await ed.locator(".flash", has_text="Not saved").wait_for()
            assert "does not agree with the formula" in await ed.locator(".flash").inner_text()
            assert await ed.locator('#prices tr[data-region="kaluga"]').count() == 0

            if await ed.locator("#no-deflator").count():
                deflator = ed.locator("#deflator-form")
                await deflator.locator('input[name="value"]').fill(str(NEW_DEFLATOR).replace(".", ","))
                await deflator.locator('input[name="source"]').fill("Приказ Минэкономразвития (тест)")
                await deflator.locator('button[type="submit"]').click()
                await ed.locator(".flash", has_text="Saved deflator").wait_for()

            form = ed.locator("#price-form")
            await form.locator('select[name="region"]').select_option("kaluga")
            await form.locator('input[name="year"]').fill(str(year))
            await form.locator('input[name="coefficient"]').fill(str(COEFFICIENT).replace(".", ","))
            await form.locator('input[name="source"]').fill("Закон Калужской области (тест)")
            await form.locator('input[name="date"]').fill(f"{year}-01-01")
            await form.locator('button[type="submit"]').click()
            await ed.locator(".flash", has_text=f"Saved kaluga {year}").wait_for()
            row = ed.locator(f'#prices tr[data-region="kaluga"][data-year="{year}"]')
            assert "Калужская" in await row.inner_text()

            await ed.goto(f"{a.base}/console/flows")
            await ed.fill('input[name="note"]', "Kaluga coefficient")
            await ed.click("#publish-button")
            await ed.locator(".flash", has_text="Published as version 2").wait_for()
            await wait_for_version(a.base, 2)

            after = await ask_price(migrant)
            assert amount in after, after
