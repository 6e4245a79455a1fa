"""The console as mediators use it, in a real (headless) chromium against `hotline serve`, at a laptop's
and a phone's size: Russian by default; an urgent Tajik conversation arrives at the top, red, with its
reason and first words, and raises a notification; the waiting time counts without a reload; the
transcript shows the buttons the migrant pressed (citizenship, rating) as they saw them; a colleague
cannot act on a conversation that is not theirs (not even by POST), an admin can after confirming; an
editor lands on the editor; keys work. Every page is screenshotted into var/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.console.users import add_user
from bot.i18n import Catalogs
from bot.storage.db import create_engine
from handoff import texts as t
from tests.browser import chromium, skip_without_chromium
from tests.handoff_kit import PASSWORD
from tests.serve_kit import ROOT, serve

WAIT = 15_000  # ms: the web chat polls every 3 s
SHOTS = ROOT / "var" / "screenshots"
SIZES = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
# Notifications are recorded instead of shown (headless chromium has no permission prompt to answer).
RECORD_NOTIFICATIONS = """
window.__notified = [];
window.Notification = class {
  constructor(title, options) { window.__notified.push({ title, body: (options || {}).body || "" }); }
  static get permission() { return "granted"; }
  static requestPermission() { return Promise.resolve("granted"); }
};
"""


@pytest.fixture(autouse=True)
def _chromium() -> None:
    skip_without_chromium()


def tg(message: str, **params: Any) -> str:
    return t.say(Catalogs(ROOT / "translations"), "tg", "Cyrl", message, **params)


async def shoot(page: Any, name: str) -> None:
    """The page at both sizes, whole, into var/screenshots/ (kept as the test's artefacts)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for size, viewport in SIZES.items():
        await page.set_viewport_size(viewport)
        await page.screenshot(path=str(SHOTS / f"{name}-{size}.png"), full_page=True)
    await page.set_viewport_size(SIZES["laptop"])


async def log_in(page: Any, base: str, login: str, password: str = PASSWORD) -> None:
    await page.goto(f"{base}/console")
    await page.fill('input[name="login"]', login)
    await page.fill('input[name="password"]', password)
    await page.click('button[type="submit"]')


async def test_triage_ownership_and_the_transcript_in_russian(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'triage.sqlite3'}"
    async with serve(tmp_path, DATABASE_URL=db_url) as server, chromium() as browser:
        admin_password = await server.admin_password()
        db = create_engine(db_url)
        try:
            for login, roles, languages in (("bob", ["mediator"], ["ru", "tg"]), ("mila", ["mediator"], ["tg"]),
                                            ("ed", ["editor"], ["ru"])):
                await add_user(db, login, name=login.capitalize(), roles=roles, languages=languages,
                               skills=["general", "legal", "medical"], password=PASSWORD)
        finally:
            await db.dispose()

        async def page_of(locale: str = "ru-RU") -> Any:
            context = await browser.new_context(locale=locale, viewport=SIZES["laptop"])
            await context.add_init_script(RECORD_NOTIFICATIONS)
            page = await context.new_page()
            page.set_default_timeout(WAIT)
            return page

        # Bob watches the queue; the console speaks Russian without being asked.
        bob = await page_of()
        await bob.clock.install()
        await bob.goto(f"{server.base}/console")
        assert await bob.locator("html").get_attribute("lang") == "ru"
        await shoot(bob, "login")
        async with bob.expect_response(lambda r: r.url.endswith("/console/events")):
            await log_in(bob, server.base, "bob")
        assert bob.url.endswith("/console/queue")
        assert await bob.locator("h1").inner_text() == "Очередь (0)"
        await bob.evaluate("window.notReloaded = true")

        # A Tajik migrant gives their citizenship with a button, then writes that the police hold them.
        migrant = await page_of("tg-TJ")
        await migrant.goto(f"{server.base}/")
        await migrant.locator(".msg.bot .buttons button", has_text="Маълумоти ман").click()
        await migrant.locator(".msg.bot .buttons button", has_text="Тоҷикистон").click()
        await migrant.get_by_role("button", name="Маскав", exact=True).click()
        await migrant.locator(".msg.bot .buttons button", has_text="Менюи асосӣ").wait_for()
        await migrant.fill("#text", "маро полис боздошт кард")
        await migrant.press("#text", "Enter")
        await migrant.locator(".msg.bot", has_text=tg(t.T_PLACE, place=1)).wait_for()

        # It arrives at the top of Bob's queue without a reload: red, with its reason and first words,
        # and a notification; the tab title counts the waiting.
        row = bob.locator("#items .item").first
        await row.locator(".reason", has_text="задержание").wait_for()
        assert await bob.evaluate("window.notReloaded") is True
        assert "urgent" in (await row.get_attribute("class") or "")
        assert await row.evaluate("el => getComputedStyle(el.querySelector('a')).borderLeftColor") == \
            "rgb(208, 52, 44)"
        text = await row.inner_text()
        for shown in ("СРОЧНО", "«маро полис боздошт кард»", "Тоҷикӣ", "веб-чат", "Таджикистан", "Москва", "ждёт"):
            assert shown in text, (shown, text)
        await bob.wait_for_function("window.__notified.length > 0")
        notified = await bob.evaluate("window.__notified")
        assert notified[0]["title"].startswith("Срочное обращение №") and notified[0]["body"] == "задержание"
        assert await bob.title() == "(1) Очередь · Горячая линия"
        # The waiting time counts on its own.
        clock = row.locator(".clock")
        assert await clock.inner_text() == "0 мин"
        await bob.clock.fast_forward("07:00")
        await bob.wait_for_function("document.querySelector('#items .clock').textContent === '7 мин'")
        await shoot(bob, "queue")
        await bob.keyboard.press("j")  # the keyboard moves in the queue
        assert await bob.evaluate("document.activeElement.getAttribute('href')") == "/console/c/1"

        # Bob takes it; the citizenship press shows as the label the migrant saw.
        await bob.keyboard.press("Enter")
        await bob.wait_for_url("**/console/c/1")
        await bob.click("#take")
        await bob.locator(".flash", has_text="Вы взяли это обращение.").wait_for()
        pressed = await bob.locator("#transcript .pressed").all_inner_texts()
        assert "нажал: Тоҷикистон" in pressed and "нажал: Маскав" in pressed, pressed
        assert await bob.locator("#transcript .m.in .text", has_text="маро полис боздошт кард").count() == 1
        await bob.fill("#reply-text", "Салом! Ман мушовир ҳастам. Шумо дар куҷо ҳастед?")
        await bob.press("#reply-text", "Control+Enter")  # Ctrl+Enter sends
        await bob.locator("#transcript .m.out.mediator", has_text="Ман мушовир").wait_for()
        await migrant.locator(".msg.mediator", has_text="Ман мушовир").wait_for()
        await shoot(bob, "conversation")

        # Mila, another Tajik mediator, sees who has it and cannot act, not even by posting the forms.
        mila = await page_of()
        await log_in(mila, server.base, "mila")
        await mila.goto(f"{server.base}/console/c/1")
        assert await mila.locator("#owner").inner_text() == "Это обращение у: Bob."
        assert await mila.locator("#send, #resolve, #transfer").count() == 0
        token = await mila.locator('input[name="_csrf"]').first.get_attribute("value")
        for action, form in (("reply", {"text": "я отвечу"}), ("resolve", {"resolution": "answered"}),
                             ("transfer", {"colleague": "3"}), ("return", {})):
            response = await mila.request.post(f"{server.base}/console/c/1/{action}",
                                               form={**form, "_csrf": token or ""})
            assert response.status == 403, action
            assert "только он(а)" in await response.text()
        await mila.goto(f"{server.base}/console/all")
        assert "у кого: Bob" in await mila.locator("#items").inner_text()

        # The admin takes it over only after ticking the confirmation; then resolves it.
        admin = await page_of()
        await log_in(admin, server.base, "admin", admin_password)
        await admin.goto(f"{server.base}/console/c/1")
        await admin.click("#takeover")  # not confirmed: the browser refuses the form
        assert await admin.locator(".flash").count() == 0
        await admin.check("#takeover-confirm")
        await admin.click("#takeover")
        await admin.locator(".flash", has_text="Вы забрали это обращение; это записано в журнал.").wait_for()
        assert await admin.locator("#owner").inner_text() == "Это обращение у вас."
        await migrant.locator(".msg", has_text=tg(t.T_TRANSFERRED, name="Admin")).wait_for()
        await admin.select_option('select[name="resolution"]', "answered")
        await admin.click("#resolve")
        await admin.locator(".flash", has_text="Решено.").wait_for()

        # The migrant rates the help; the transcript shows the rating.
        question = migrant.locator(".msg", has_text=tg(t.T_RATE))
        await question.locator(".buttons button", has_text="4").click()
        await migrant.locator(".msg.bot", has_text=tg(t.T_THANKS)).wait_for()
        await admin.goto(f"{server.base}/console/c/1")
        assert "нажал: 4" in await admin.locator("#transcript .pressed").all_inner_texts()
        assert await admin.locator("#rating").inner_text() == "4 / 5"
        await admin.keyboard.press("Escape")  # Esc leaves the conversation
        await admin.wait_for_url("**/console/queue")
        for name, path in (("all", "/console/all"), ("canned", "/console/canned"), ("account", "/console/account")):
            await admin.goto(f"{server.base}{path}")
            await shoot(admin, name)

        # An editor lands on the editor, in Russian; a page not theirs is a console page, not bare text.
        ed = await page_of()
        await log_in(ed, server.base, "ed")
        await ed.wait_for_url("**/console/flows")
        await shoot(ed, "editor")
        response = await ed.goto(f"{server.base}/console/c/1")
        assert response is not None and response.status == 403
        assert await ed.locator("#message").inner_text() == "Эта страница для роли: медиатор."
        await shoot(ed, "forbidden")

        # English by choice, remembered.
        await ed.click('#ui-lang button[value="en"]')
        await ed.goto(f"{server.base}/console/account")
        assert await ed.locator("h1").inner_text() == "Your account"
