"""The mediator console over real HTTP: nothing without logging in, CSRF, throttled log-in, roles,
canned replies, escaping of everything a migrant wrote, the actions, live events; `hotline users`."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.console.users import UserError, add_user, disable_user, ensure_first_admin, list_users
from bot.core.engine import Engine
from bot.flowspec import FlowSet
from bot.i18n import Catalogs
from bot.service import ConversationService
from bot.storage.db import create_engine, upgrade
from tests.conftest import Clock
from tests.console_kit import SESSION_LIBRARY_KEYS, Client, Desk, serve_desk
from tests.handoff_kit import PASSWORD, add_staff, channel_t, conversation, escalate, transcript, waiting

ROOT = Path(__file__).resolve().parent.parent
XSS = "<script>alert(1)</script><b>x</b>"
pytestmark = SESSION_LIBRARY_KEYS


@pytest.fixture
async def desk(service: ConversationService, db: AsyncEngine, flows: FlowSet,
               catalogs: Catalogs) -> AsyncIterator[Desk]:
    async with serve_desk(service, db, flows, catalogs) as desk:
        yield desk


@pytest.fixture
async def team(db: AsyncEngine) -> dict[str, Any]:
    return {
        "ana": await add_staff(db, "ana", name="Ana Petrova", languages=("ru", "uz")),
        "bob": await add_staff(db, "bob", name="Bob", languages=("ru",)),
        "ed": await add_staff(db, "ed", roles=("editor",), languages=("ru",)),
        "tim": await add_staff(db, "tim", languages=("tg",)),
    }


def console_routes(desk: Desk, method: str) -> list[str]:
    """Every console route of this method, with ids filled in: new pages are covered as they are added."""
    paths = []
    for route in desk.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix", "")
        if route.method != method or not path.startswith("/console") or path.startswith("/console/static"):
            continue
        paths.append(re.sub(r"\{action\}", "take", re.sub(r"\{id\}", "1", path)))
    return sorted(set(paths))


# -- nothing without logging in -------------------------------------------------------------------

async def test_every_page_needs_a_login(desk: Desk, db: AsyncEngine, clock: Clock) -> None:
    await waiting(db, since=clock())
    gets = console_routes(desk, "GET")
    assert {"/console/queue", "/console/mine", "/console/all", "/console/c/1", "/console/c/1/messages",
            "/console/canned", "/console/events"} <= set(gets)
    stranger = await desk.client()
    for path in gets:
        page = await stranger.get(path)
        if path == "/console/login":
            assert page.status == 200 and 'name="password"' in page.text
        elif path == "/console/events":  # a stream can't be redirected to a form
            assert page.status == 401
        else:
            assert page.status == 302, path
            assert page.location.startswith("/console/login?next=/console"), (path, page.location)
            assert "Ana" not in page.text
    posts = console_routes(desk, "POST")
    assert {"/console/login", "/console/logout", "/console/c/1/take", "/console/canned"} <= set(posts)
    for path in posts:
        if path == "/console/login":
            continue
        assert (await stranger.post(path, {"text": "x"})).status == 401, path  # with a valid token, no login
        assert (await stranger.post(path, {"text": "x"}, csrf=False)).status == 403, path
    assert (await conversation(db, 1)).status == "WAITING"
    res = await stranger.get("/console/static/console.css")  # the log-in page's own style is public
    assert res.status == 200


async def test_login_logout_and_next(desk: Desk, team: dict[str, Any]) -> None:
    client = await desk.client()
    page = await client.get("/console/mine")
    assert page.location == "/console/login?next=/console/mine"
    login = await client.follow(page)
    assert 'name="next" value="/console/mine"' in login.text
    page = await client.post("/console/login", {"login": " ANA ", "password": PASSWORD, "next": "/console/mine"})
    assert (page.status, page.location) == (303, "/console/mine")
    mine = await client.follow(page)
    assert mine.status == 200 and "Ana Petrova" in mine.text and "My conversations" in mine.text
    assert mine.headers["Cache-Control"] == "no-store" and mine.headers["X-Frame-Options"] == "DENY"
    cookie = next(c for c in client.http.cookie_jar if c.key == "hotline_console")
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/console"
    assert "staff_id" not in cookie.value  # encrypted, not readable

    page = await client.post("/console/logout")
    assert (page.status, page.location) == (303, "/console/login")
    assert (await client.get("/console/queue")).status == 302
    # Nowhere else to go after logging in than the console itself.
    for target in ("//evil.example/console", "https://evil.example/", "/chat/api/messages"):
        other = await desk.client()
        await other.get("/console/login")
        page = await other.post("/console/login", {"login": "ana", "password": PASSWORD, "next": target})
        assert page.location == "/console/queue", target


async def test_wrong_password_and_throttling(desk: Desk, team: dict[str, Any], db: AsyncEngine) -> None:
    client = await desk.client()
    for attempt in range(5):
        page = await client.login("ana", f"wrong-password-{attempt}")
        assert page.status == 401 and "Wrong login or password." in page.text, attempt
    page = await client.login("ana")  # the 6th attempt, even with the right password
    assert page.status == 429 and "Too many failed attempts" in page.text
    assert (await client.get("/console/queue")).status == 302  # not logged in
    await desk.console.throttle.succeeded("ip:127.0.0.1")  # as if from another address: the login stays throttled
    other = await desk.client()
    assert (await other.login("ana")).status == 429
    # Unknown logins and disabled accounts get the same answer as a wrong password.
    await disable_user(db, "bob")
    for login in ("nobody", "bob"):
        page = await other.login(login)
        assert page.status == 401 and "Wrong login or password." in page.text
    assert (await other.login("tim")).status == 303  # and a good log-in from here still works


async def test_csrf(desk: Desk, team: dict[str, Any], db: AsyncEngine, clock: Clock) -> None:
    conv = await waiting(db, since=clock())
    ana = await desk.logged_in("ana")
    assert (await ana.post(f"/console/c/{conv}/take", csrf=False)).status == 403
    token = ana.csrf
    ana.csrf = "forged-token"
    assert (await ana.post(f"/console/c/{conv}/take")).status == 403
    assert (await conversation(db, conv)).status == "WAITING"
    page = await ana.post(f"/console/c/{conv}/take", csrf=False,
                          headers={"X-CSRF-Token": token})  # scripts may send the header instead
    assert page.status == 303
    assert (await conversation(db, conv)).status == "WITH_MEDIATOR"
    # A token from another session is worthless.
    bob = await desk.logged_in("bob")
    bob.csrf = token
    assert (await bob.post(f"/console/c/{conv}/note", {"text": "hi"})).status == 403


# -- roles and canned replies ------------------------------------------------------------------------

async def test_a_mediator_cannot_open_the_editors_pages(desk: Desk, team: dict[str, Any]) -> None:
    ana = await desk.logged_in("ana")
    page = await ana.get("/console/canned")
    assert page.status == 403 and "editor" in page.text
    assert (await ana.post("/console/canned", {"lang": "ru", "title": "t", "text": "x"})).status == 403
    assert "/console/canned" not in (await ana.get("/console/queue")).text  # not even a link
    ed = await desk.logged_in("ed")  # an editor who is not a mediator has no queue
    assert (await ed.get("/console/queue")).status == 403
    assert (await ed.get("/console/canned")).status == 200


async def test_editor_manages_canned_replies_shown_in_the_conversations_language(
        desk: Desk, team: dict[str, Any], db: AsyncEngine, clock: Clock) -> None:
    ed = await desk.logged_in("ed")
    for lang, title, text in (("ru", "Паспорт у работодателя", "Работодатель не вправе забирать паспорт."),
                              ("uz", "Pasport", "Ish beruvchi pasportni olib qolishi mumkin emas."),
                              ("ru", "Приветствие", "Здравствуйте! Я консультант.")):
        page = await ed.post("/console/canned", {"lang": lang, "title": title, "text": text})
        assert (page.status, page.location) == (303, "/console/canned")
    page = await ed.post("/console/canned", {"lang": "en", "title": "Hello", "text": "Hi"})
    assert "needs a language, a title and a text" in (await ed.follow(page)).text
    listing = await ed.get("/console/canned")
    ids = re.findall(r'name="id" value="(\d+)"', listing.text)
    assert len(ids) == 3 and "Hello" not in listing.text
    # Edit the first Russian one, delete the greeting.
    rows = dict(zip(re.findall(r'name="title" value="([^"]+)"', listing.text), ids, strict=True))
    await ed.post("/console/canned", {"id": rows["Паспорт у работодателя"], "lang": "ru", "title": "Паспорт",
                                      "text": "Паспорт забирать нельзя (ст. 323 УК РФ)."})
    await ed.post("/console/canned", {"id": rows["Приветствие"], "delete": "1", "lang": "ru", "title": "x",
                                      "text": "x"})
    listing = await ed.get("/console/canned")
    assert "ст. 323 УК РФ" in listing.text and "Приветствие" not in listing.text

    ru_conv = await waiting(db, lang="ru", since=clock())
    uz_conv = await waiting(db, lang="uz", since=clock())
    ana = await desk.logged_in("ana")
    ru_page = (await ana.get(f"/console/c/{ru_conv}")).text
    assert '<option value="Паспорт забирать нельзя (ст. 323 УК РФ).">Паспорт</option>' in ru_page
    assert "Ish beruvchi" not in ru_page
    uz_page = (await ana.get(f"/console/c/{uz_conv}")).text
    assert ">Pasport</option>" in uz_page and "ст. 323" not in uz_page


# -- escaping -------------------------------------------------------------------------------------------

async def test_what_a_migrant_wrote_is_shown_as_text(desk: Desk, team: dict[str, Any], db: AsyncEngine,
                                                     clock: Clock) -> None:
    await desk.migrant("xss-migrant-1", "/start")
    await desk.migrant("xss-migrant-1", "оператор")
    await desk.migrant("xss-migrant-1", XSS)
    await desk.migrant("xss-migrant-1", '"><img src=x onerror=alert(2)>')
    conv = (await desk.handoff.queue(team["ana"]))[0]["id"]
    other = await waiting(db, since=clock(), vars={"citizenship": "<i>uz</i>", "region": "<svg onload=alert(3)>"})
    ana = await desk.logged_in("ana")
    page = (await ana.get(f"/console/c/{conv}")).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;" in page
    assert "<script>alert" not in page and "<b>x</b>" not in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page and "<img" not in page
    page = (await ana.get(f"/console/c/{other}")).text
    assert "&lt;svg onload=alert(3)&gt;" in page and "<svg" not in page and "<i>uz</i>" not in page
    assert "Content-Security-Policy" in (await ana.get(f"/console/c/{other}")).headers
    # The live transcript hands the text over as JSON data; console.js inserts it with textContent.
    data = json.loads((await ana.get(f"/console/c/{conv}/messages", after="0")).text)
    assert XSS in [m["text"] for m in data["messages"]]
    script = (ROOT / "bot/console/static/console.js").read_text(encoding="utf-8")
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "document.write" not in script
    # Searching for it in the list of all conversations is escaped too.
    listing = (await ana.get("/console/all", q="<script>")).text
    assert 'value="&lt;script&gt;"' in listing and f"/console/c/{conv}" in listing


# -- the actions over HTTP ---------------------------------------------------------------------------------

async def test_take_reply_note_transfer_return_resolve(desk: Desk, team: dict[str, Any], db: AsyncEngine) -> None:
    await desk.migrant("http-migrant", "/start")
    await desk.migrant("http-migrant", "оператор")
    conv = (await desk.handoff.queue(team["ana"]))[0]["id"]
    ana, bob = await desk.logged_in("ana"), await desk.logged_in("bob")
    queue = (await ana.get("/console/queue")).text
    assert f'href="/console/c/{conv}"' in queue and "WAITING" in queue and "Русский" in queue
    page = (await ana.get(f"/console/c/{conv}")).text
    assert 'id="take"' in page and '<span class="tag">web</span>' in page
    assert "оператор" in page  # the whole transcript, the bot's part included

    taken = await ana.post(f"/console/c/{conv}/take")
    assert (taken.status, taken.location) == (303, f"/console/c/{conv}")
    assert "You have taken this conversation." in (await ana.follow(taken)).text
    late = await bob.follow(await bob.post(f"/console/c/{conv}/take"))
    assert "Not done: already taken by Ana Petrova." in late.text
    assert f'href="/console/c/{conv}"' in (await ana.get("/console/mine")).text
    assert f'href="/console/c/{conv}"' not in (await bob.get("/console/mine")).text
    assert f'href="/console/c/{conv}"' not in (await bob.get("/console/queue")).text

    await ana.post(f"/console/c/{conv}/reply", {"text": "Здравствуйте! Чем помочь?"})
    await ana.post(f"/console/c/{conv}/note", {"text": "note for colleagues"})
    empty = await ana.follow(await ana.post(f"/console/c/{conv}/reply", {"text": "   "}))
    assert "Not done: the reply is empty." in empty.text
    page = (await ana.get(f"/console/c/{conv}")).text
    assert "Здравствуйте! Чем помочь?" in page and "internal note" in page and "note for colleagues" in page

    moved = await ana.follow(await ana.post(f"/console/c/{conv}/transfer",
                                            {"queue": "", "colleague": str(team["bob"].id)}))
    assert "Transferred." in moved.text
    assert (await conversation(db, conv)).assignee_id == team["bob"].id
    await bob.post(f"/console/c/{conv}/transfer", {"queue": "legal", "colleague": ""})
    row = await conversation(db, conv)
    assert (row.status, row.queue, row.assignee_id) == ("WAITING", "legal", None)
    await bob.post(f"/console/c/{conv}/take")
    back = await bob.follow(await bob.post(f"/console/c/{conv}/return"))
    assert "The conversation is back with the bot." in back.text
    assert (await conversation(db, conv)).status == "BOT"
    assert 'id="send"' not in back.text  # nothing to answer while the bot has it

    await desk.migrant("http-migrant", "оператор")
    await ana.post(f"/console/c/{conv}/take")
    done = await ana.follow(await ana.post(f"/console/c/{conv}/resolve", {"resolution": "referred"}))
    assert "Resolved. The migrant was asked to rate the help." in done.text
    row = await conversation(db, conv)
    assert (row.status, row.resolution) == ("RESOLVED", "referred")
    refused = await ana.follow(await ana.post(f"/console/c/{conv}/reply", {"text": "one more thing"}))
    assert "Not done: the conversation is RESOLVED; nothing can be sent." in refused.text
    assert (await ana.post(f"/console/c/{conv}/explode")).status == 404
    assert (await ana.get("/console/c/999")).status == 404
    everything = (await ana.get("/console/all", status="RESOLVED")).text
    assert f'href="/console/c/{conv}"' in everything and "referred" in everything
    activity = [m.text for m in await transcript(db, conv) if m.direction == "activity"]
    assert activity[-1] == "WITH_MEDIATOR -> RESOLVED: referred by Ana Petrova"


async def test_conversation_page_shows_the_contact_and_the_whatsapp_window(
        desk: Desk, team: dict[str, Any], db: AsyncEngine, clock: Clock) -> None:
    conv = await waiting(db, lang="uz", channel="whatsapp", since=clock(), user="+998901234567",
                         vars={"citizenship": "uz", "region": "Moskva"}, priority="urgent")
    ana = await desk.logged_in("ana")
    page = (await ana.get(f"/console/c/{conv}")).text
    for shown in ("Oʻzbekcha", "whatsapp", "citizenship: uz", "region: Moskva", "URGENT", "queue: general"):
        assert shown in page, shown
    assert "WhatsApp window:" in page and "closed: your reply will first go as the approved template" in page
    async with db.begin() as conn:  # the migrant wrote an hour ago: the window is open
        await conn.execute(update(channel_t).values(
            last_inbound_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)))
    page = (await ana.get(f"/console/c/{conv}")).text
    assert "WhatsApp window:" in page and "free-form replies are delivered" in page
    web = await waiting(db, since=clock())
    assert "WhatsApp window" not in (await ana.get(f"/console/c/{web}")).text


async def test_queue_filters_over_http(desk: Desk, db: AsyncEngine, clock: Clock) -> None:
    await add_staff(db, "boss", roles=("admin",), languages=("ru", "uz", "tg", "ky"),
                    skills=("general", "legal", "medical"))
    a = await waiting(db, lang="ru", queue="general", channel="web", since=clock() - dt.timedelta(minutes=40))
    b = await waiting(db, lang="uz", queue="legal", channel="telegram", priority="urgent", since=clock())
    boss = await desk.logged_in("boss")

    def listed(page: Any) -> list[int]:
        return [int(x) for x in re.findall(r'href="/console/c/(\d+)"', page.text)]

    assert listed(await boss.get("/console/queue")) == [b, a]
    assert listed(await boss.get("/console/queue", lang="uz")) == [b]
    assert listed(await boss.get("/console/queue", skill="general")) == [a]
    assert listed(await boss.get("/console/queue", channel="web")) == [a]
    assert listed(await boss.get("/console/queue", urgent="1")) == [b]
    page = await boss.get("/console/queue")
    assert "waiting 40 min" in page.text and "over SLA" in page.text


# -- live events --------------------------------------------------------------------------------------------

async def read_event(client: Client, response: Any, within: float = 5) -> dict[str, Any]:
    async with asyncio.timeout(within):
        while True:
            line = (await response.content.readline()).decode()
            if line.startswith("data: "):
                event: dict[str, Any] = json.loads(line[6:])
                return event


async def test_live_events_and_sla_only_for_the_mediators_languages(desk: Desk, team: dict[str, Any]) -> None:
    tim = await desk.logged_in("tim")
    async with tim.http.get(f"{desk.base}/console/events") as stream:
        assert stream.status == 200 and stream.headers["Content-Type"] == "text/event-stream"
        assert await stream.content.readline() == b": connected\n"
        await desk.migrant("live-migrant", "/start")  # a bot conversation: no news for the console
        await desk.migrant("live-migrant", "оператор")
        event = await read_event(tim, stream)
        assert event == {"type": "message", "conversation_id": 1}
        await desk.events.publish({"type": "sla", "conversation_id": 7, "lang": "ru", "queue": "general",
                                   "minutes": 16})
        await desk.events.publish({"type": "sla", "conversation_id": 8, "lang": "tg", "queue": "general",
                                   "minutes": 20})
        assert (await read_event(tim, stream))["conversation_id"] == 8  # a Russian SLA is not for him
        await desk.migrant("live-migrant", "алло?")
        assert await read_event(tim, stream) == {"type": "message", "conversation_id": 1}


# -- staff accounts ---------------------------------------------------------------------------------------

def hotline(args: list[str], url: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=60)


async def test_hotline_users_add_list_disable(tmp_path: Path, flows: FlowSet, catalogs: Catalogs) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'users.sqlite3'}"
    added = hotline(["users", "add", "Zara", "--name", "Zara K", "--roles", "mediator,editor",
                     "--languages", "ru,uz", "--skills", "legal,general"], url)
    assert added.returncode == 0, added.stderr
    password = re.fullmatch(r"added Zara; password \(shown once\): (\S+)\n", added.stdout)
    assert password, added.stdout
    assert len(password.group(1)) >= 12

    piped = hotline(["users", "add", "yusuf", "--password-stdin"], url, "a-long-enough-password\n")
    assert (piped.returncode, piped.stdout) == (0, "added yusuf\n"), piped.stderr
    for args, stdin, error in ((["users", "add", "zara"], "", "the login 'zara' exists already"),
                               (["users", "add", "x1", "--roles", "boss"], "", "unknown role: boss"),
                               (["users", "add", "x3", "--password-stdin"], "short\n", "at least 10 characters")):
        out = hotline(args, url, stdin)
        assert out.returncode == 1 and out.stderr.startswith("error: ") and error in out.stderr, (args, out.stderr)

    listed = hotline(["users", "list"], url)
    assert listed.returncode == 0
    lines = {line.split()[0]: line.split() for line in listed.stdout.splitlines()}
    assert lines == {"yusuf": ["yusuf", "mediator", "ru", "general", "active"],
                     "zara": ["zara", "mediator,editor", "ru,uz", "legal,general", "active"]}

    db = create_engine(url)
    try:
        service = ConversationService(db, Engine(flows, catalogs))
        async with serve_desk(service, db, flows, catalogs) as desk:
            client = await desk.client()
            page = await client.login("zara", password.group(1))
            assert (page.status, page.location) == (303, "/console/queue")
            assert (await client.get("/console/canned")).status == 200  # an editor too

            disabled = hotline(["users", "disable", "zara"], url)
            assert (disabled.returncode, disabled.stdout) == (0, "disabled zara\n")
            assert [line.split() for line in hotline(["users", "list"], url).stdout.splitlines()][-1] == [
                "zara", "mediator,editor", "ru,uz", "legal,general", "disabled"]
            assert hotline(["users", "disable", "nobody"], url).stderr == "error: no user 'nobody'\n"
            # Disabled: the open session ends at once, and logging in again fails.
            assert (await client.get("/console/queue")).status == 302
            again = await (await desk.client()).login("zara", password.group(1))
            assert again.status == 401
    finally:
        await db.dispose()


async def test_users_in_code_and_the_first_admin(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'admin.sqlite3'}"
    await upgrade(url)
    db = create_engine(url)
    try:
        first = await ensure_first_admin(db)
        assert first and len(first) >= 12
        assert await ensure_first_admin(db) is None  # only on a fresh install
        admin = (await list_users(db))[0]
        assert (admin.login, admin.roles, admin.languages) == ("admin", ["admin", "editor", "mediator"],
                                                               ["ru", "uz", "tg", "ky"])
        assert admin.password_hash.startswith("$argon2") and first not in admin.password_hash
        with pytest.raises(UserError, match="a login is 1 to 64 characters"):
            await add_user(db, "  ", roles=["mediator"], languages=["ru"], skills=["general"])
        with pytest.raises(UserError, match="unknown skill: cooking"):
            await add_user(db, "cook", roles=["mediator"], languages=["ru"], skills=["cooking"])
    finally:
        await db.dispose()


async def test_escalated_conversation_reaches_the_queue_page(desk: Desk, team: dict[str, Any],
                                                             service: ConversationService) -> None:
    conv = (await escalate(service, "queue-page-migrant")).conversation_id
    ana = await desk.logged_in("ana")
    page = (await ana.get("/console/queue")).text
    assert f'href="/console/c/{conv}"' in page
    tim = await desk.logged_in("tim")  # Tajik only: a Russian conversation is not his
    assert f'href="/console/c/{conv}"' not in (await tim.get("/console/queue")).text
