"""Playwright driving Debian's chromium (never a downloaded browser), headless."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def skip_without_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium; `make test` does it when root)")
    pytest.importorskip("playwright.async_api", reason="the playwright package is missing (pip install -e .[dev])")


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """A headless browser; every context, page and the driver are closed on the way out."""
    from playwright.async_api import async_playwright

    driver = await async_playwright().start()
    try:
        browser = await driver.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield browser
        finally:
            for context in browser.contexts:
                await context.close()
            await browser.close()
    finally:
        await driver.stop()


async def english_console(browser: Any, base: str, **options: Any) -> Any:
    """A browser context whose console is in English (the switch's cookie), for tests written in it."""
    from bot.console.i18n import COOKIE

    context = await browser.new_context(**options)
    await context.add_cookies([{"name": COOKIE, "value": "en", "url": f"{base}/console"}])
    return context
