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
from sqlalchemy import text as sql
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.console.users import UserError, add_user, disable_user, ensure_first_admin, list_users
from bot.core.engine import Engine
from bot.flowspec import FlowSet
from bot.i18n import Catalogs
from bot.service import ConversationService
from bot.storage import utcnow
from bot.storage.db import create_engine, upgrade
from handoff.texts import T_REQUEUED, T_TRANSFERRED, say
from tests.conftest import Clock
from tests.console_kit import SESSION_LIBRARY_KEYS, Client, Desk, serve_desk
from tests.handoff_kit import (
    PASSWORD,
    add_staff,
    channel_t,
    contact_t,
    conversation,
    escalate,
    outbox,
    transcript,
    waiting,
)

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
    start = await ed.get("/console/queue")  # they land on the editor instead
    assert (start.status, start.location) == (302, "/console/flows")
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
    assert f'href="/console/c/{conv}"' in queue and "waiting" in queue and "Русский" in queue
    page = (await ana.get(f"/console/c/{conv}")).text
    assert 'id="take"' in page and '<dd>web chat</dd>' in page
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
    assert "Transferred; the migrant was told." in moved.text
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
    assert "Not done: the conversation is resolved; nothing can be sent." in refused.text
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
    for shown in ("Oʻzbekcha", "<dd>WhatsApp</dd>", "<dt>Citizenship</dt><dd>Uzbekistan</dd>", "<dd>Moskva</dd>",
                  "URGENT", "<dt>Queue</dt><dd>general</dd>"):
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
    assert "waiting <b class=\"clock\">40 min</b>" in page.text and "over SLA" in page.text


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


# -- ownership -------------------------------------------------------------------------------------------

async def test_only_the_assigned_mediator_acts_and_an_admin_takes_over_after_confirming(
        desk: Desk, team: dict[str, Any], db: AsyncEngine, catalogs: Catalogs) -> None:
    boss = await add_staff(db, "boss", name="Boss Admin", roles=("admin",), languages=("ru",))
    await desk.migrant("owned-migrant", "/start")
    await desk.migrant("owned-migrant", "оператор")
    conv = (await desk.handoff.queue(team["ana"]))[0]["id"]
    ana, bob, admin = await desk.logged_in("ana"), await desk.logged_in("bob"), await desk.logged_in("boss")
    await ana.post(f"/console/c/{conv}/take")
    # Bob sees who has it and no form to act with; posting anyway is refused, and nothing changes.
    page = (await bob.get(f"/console/c/{conv}")).text
    assert "Ana Petrova has this conversation." in page and 'id="send"' not in page and 'id="resolve"' not in page
    assert "has it: Ana Petrova" in (await bob.get("/console/all")).text
    everything = (await (await desk.logged_in("tim")).get("/console/all")).text  # Tajik only
    assert f'href="/console/c/{conv}"' in everything and "not in your languages" in everything
    before = len(await transcript(db, conv))
    for action, form in (("reply", {"text": "mine now"}), ("transfer", {"colleague": str(team["bob"].id)}),
                         ("transfer", {"queue": "legal"}), ("return", {}), ("resolve", {"resolution": "answered"})):
        refused = await bob.post(f"/console/c/{conv}/{action}", form)
        assert refused.status == 403, action
        assert "Ana Petrova has this conversation: only they can do this" in refused.text, action
    row = await conversation(db, conv)
    assert (row.status, row.assignee_id) == ("WITH_MEDIATOR", team["ana"].id)
    assert len(await transcript(db, conv)) == before
    # A mediator cannot take over; an admin can, only after confirming, and it is logged.
    assert (await bob.post(f"/console/c/{conv}/takeover", {"confirm": "yes"})).status == 403
    assert (await admin.post(f"/console/c/{conv}/reply", {"text": "admin"})).status == 403
    page = await admin.follow(await admin.post(f"/console/c/{conv}/takeover"))
    assert "Confirm that you take the conversation over." in page.text and 'id="takeover-confirm"' in page.text
    assert (await conversation(db, conv)).assignee_id == team["ana"].id
    page = await admin.follow(await admin.post(f"/console/c/{conv}/takeover", {"confirm": "yes"}))
    assert "You have taken this conversation over; it is logged." in page.text
    assert (await conversation(db, conv)).assignee_id == boss.id
    async with db.connect() as conn:
        logged = (await conn.execute(sql("SELECT action, staff_id FROM audit_log"))).all()
    assert ("conversation.take_over", boss.id) in [tuple(r) for r in logged]
    told = [m.text for m in await transcript(db, conv) if m.direction == "out" and m.sender == "system"]
    assert told[-1] == say(catalogs, "ru", "Latn", T_TRANSFERRED, name="Boss")
    assert (await ana.post(f"/console/c/{conv}/reply", {"text": "still mine?"})).status == 403
    # The new owner transfers it to Bob: the migrant is told who has it now.
    await admin.post(f"/console/c/{conv}/transfer", {"colleague": str(team["bob"].id)})
    told = [m.text for m in await transcript(db, conv) if m.direction == "out" and m.sender == "system"]
    assert told[-1] == say(catalogs, "ru", "Latn", T_TRANSFERRED, name="Bob")
    await bob.post(f"/console/c/{conv}/transfer", {"queue": "legal"})
    told = [m.text for m in await transcript(db, conv) if m.direction == "out" and m.sender == "system"]
    assert told[-1] == say(catalogs, "ru", "Latn", T_REQUEUED)


# -- triage at a glance ---------------------------------------------------------------------------------------

async def test_queue_rows_say_why_what_and_how_long(desk: Desk, db: AsyncEngine, clock: Clock) -> None:
    await add_staff(db, "tom", name="Tom", languages=("ru", "tg"), skills=("general", "legal", "medical"))
    await desk.migrant("calm-migrant", "/start")
    await desk.migrant("calm-migrant", "оператор")
    await desk.migrant("calm-migrant", "Здравствуйте, у меня вопрос про патент для работы в Москве и области")
    await desk.migrant("urgent-migrant", "/start", lang="tg")
    await desk.migrant("urgent-migrant", "маро полис боздошт кард", lang="tg")
    tom = await desk.logged_in("tom")
    page = (await tom.get("/console/queue")).text
    rows = re.findall(r'<li class="(item[^"]*)" data-id="(\d+)"', page)
    assert [c.split() for c, _id in rows] == [["item", "urgent"], ["item"]]  # urgent first, and red
    urgent, calm = (i for _c, i in rows)
    urgent_row = page[page.index(f'data-id="{urgent}"'):page.index(f'data-id="{calm}"')]
    calm_row = page[page.index(f'data-id="{calm}"'):]
    assert "detention" in urgent_row and "Тоҷикӣ" in urgent_row
    assert "«маро полис боздошт кард»" in urgent_row
    assert "asked for a person" in calm_row and "Русский" in calm_row
    assert "«Здравствуйте, у меня вопрос про патент для работы в Москве и области»" in calm_row
    assert '<span class="unread" title="unread messages">1</span>' in calm_row
    assert re.search(r'class="wait" data-since="[0-9T:.+-]+"', calm_row)
    assert 'data-waiting="2"' in page  # the tab title's count


# -- the console's language and times -----------------------------------------------------------------------

ENGLISH_WORD = re.compile(r"\b[A-Za-z]{3,}\b")
NOT_ENGLISH = {"English", "Telegram", "WhatsApp", "Ctrl", "Enter", "Europe", "Moscow", "MSK", "Ana", "Petrova", "Boss",
               "Ed", "Oʻzbekcha"}


def visible_english(page: str) -> set[str]:
    """Words in Latin letters a reader of the page sees (texts, placeholders, labels, titles)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    # what people wrote (the migrant, the bot's answers, names) is not the console's own words
    page = re.sub(r'<li class="m (?:in|out)[^"]*".*?</li>', " ", page, flags=re.S)
    page = re.sub(r'<option value="\d+">.*?</option>', " ", page)
    shown = re.findall(r'(?:placeholder|aria-label|title)="([^"]*)"', page)
    shown += re.findall(r">([^<]+)<", page)
    words = {w for part in shown for w in ENGLISH_WORD.findall(part)}
    return words - NOT_ENGLISH


async def test_the_console_speaks_russian_unless_english_is_chosen(
        desk: Desk, team: dict[str, Any], db: AsyncEngine, clock: Clock) -> None:
    await add_staff(db, "boss", name="Boss", roles=("admin",), languages=("ru", "uz"))
    await desk.migrant("ru-migrant", "/start")
    await desk.migrant("ru-migrant", "оператор")
    conv = (await desk.handoff.queue(team["ana"]))[0]["id"]
    client = await desk.client(lang="")  # no choice made: Russian
    login = await client.get("/console/login")
    assert "Войти" in login.text and visible_english(login.text) == set()
    await client.login("ana")
    await client.get("/console/login")
    for path in ("/console/queue", "/console/mine", "/console/all", f"/console/c/{conv}"):
        page = await client.get(path)
        assert page.status == 200 and visible_english(page.text) == set(), (path, visible_english(page.text))
    await client.post(f"/console/c/{conv}/take")
    page = await client.get(f"/console/c/{conv}")
    assert "Вы взяли это обращение." in page.text and visible_english(page.text) == set()
    assert re.search(r"\d\d\.\d\d \d\d:\d\d MSK", page.text) and "Europe/Moscow" in page.text
    refused = await (await desk.logged_in("bob", lang="")).post(f"/console/c/{conv}/resolve", {"resolution": "spam"})
    assert refused.status == 403 and "только он(а)" in refused.text
    boss = await desk.logged_in("boss", lang="")
    for path in ("/console/canned", "/console/queue"):
        page = await boss.get(path)
        assert visible_english(page.text) == set(), (path, visible_english(page.text))
    # The switch: English from now on in this browser, Russian again when switched back.
    switched = await client.post("/console/lang", {"lang": "en", "next": "/console/queue"})
    assert (switched.status, switched.location) == (303, "/console/queue")
    assert ">Queue <small" in (await client.get("/console/queue")).text
    await client.post("/console/lang", {"lang": "ru", "next": "/console/queue"})
    assert ">Очередь <small" in (await client.get("/console/queue")).text


# -- staff accounts: roles, languages, passwords ----------------------------------------------------------

async def test_hotline_users_set_roles_languages_and_reset_password(tmp_path: Path, flows: FlowSet,
                                                                    catalogs: Catalogs) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'roles.sqlite3'}"
    assert hotline(["users", "add", "lola", "--password-stdin"], url, "first-password-1\n").returncode == 0
    changed = hotline(["users", "set-roles", "lola", "coordinator,editor"], url)
    assert (changed.returncode, changed.stdout) == (0, "lola: roles coordinator,editor\n"), changed.stderr
    assert hotline(["users", "set-languages", "lola", "tg,ky"], url).returncode == 0
    assert hotline(["users", "set-roles", "lola", "boss"], url).stderr == \
        "error: unknown role: boss (choose from admin, editor, mediator, coordinator)\n"
    assert hotline(["users", "set-languages", "nobody", "ru"], url).stderr == "error: no user 'nobody'\n"
    reset = hotline(["users", "reset-password", "lola"], url)
    found = re.fullmatch(r"lola: new password \(shown once\): (\S+)\n", reset.stdout)
    assert found, (reset.stdout, reset.stderr)
    lines = {line.split()[0]: line.split() for line in hotline(["users", "list"], url).stdout.splitlines()}
    assert lines["lola"] == ["lola", "coordinator,editor", "tg,ky", "general", "active"]

    db = create_engine(url)
    try:
        service = ConversationService(db, Engine(flows, catalogs))
        async with serve_desk(service, db, flows, catalogs) as desk:
            client = await desk.client()
            assert (await client.login("lola", "first-password-1")).status == 401  # the old one is gone
            page = await client.login("lola", found.group(1))
            assert (page.status, page.location) == (303, "/console/reports")  # a coordinator's start: the reports
            await client.get("/console/login")
            assert (await client.get("/console/all")).status == 200
            assert (await client.get("/console/queue")).status == 302  # not a mediator: no queue to work
            conv = await waiting(db, since=utcnow())  # she reads any conversation, and acts on none
            page = await client.get(f"/console/c/{conv}")
            assert page.status == 200 and 'id="take"' not in page.text and 'id="send"' not in page.text
            assert (await client.post(f"/console/c/{conv}/take")).status == 403
            account = (await client.get("/console/account")).text
            assert "coordinator, editor" in account and "Тоҷикӣ, Кыргызча" in account
            # Her own password: the current one first, the new one twice, at least 10 characters.
            for form, said in (({"current": "wrong-password", "new": "second-pass-2", "repeat": "second-pass-2"},
                                "Not changed: the current password is wrong."),
                               ({"current": found.group(1), "new": "second-pass-2", "repeat": "other-pass-22"},
                                "The two new passwords differ."),
                               ({"current": found.group(1), "new": "short", "repeat": "short"},
                                "Not changed: a password has at least 10 characters."),
                               ({"current": found.group(1), "new": "second-pass-2", "repeat": "second-pass-2"},
                                "Your password is changed.")):
                page = await client.follow(await client.post("/console/account/password", form))
                assert said in page.text, said
            assert (await (await desk.client()).login("lola", "second-pass-2")).status == 303
    finally:
        await db.dispose()


# -- script ------------------------------------------------------------------------------------------------

async def test_replies_to_an_uzbek_cyrillic_contact_go_in_cyrillic(desk: Desk, team: dict[str, Any],
                                                                   db: AsyncEngine, clock: Clock) -> None:
    conv = await waiting(db, lang="uz", channel="telegram", since=clock(), user="777000")
    async with db.begin() as conn:
        await conn.execute(update(contact_t).values(script="Cyrl"))
    ed = await desk.logged_in("ed")
    await ed.post("/console/canned", {"lang": "uz", "title": "Pasport",
                                      "text": "Ish beruvchi pasportni olib qolishi mumkin emas."})
    ana = await desk.logged_in("ana")
    page = (await ana.get(f"/console/c/{conv}")).text
    assert 'id="cyrillic-note"' in page and '<option value="Ish beruvchi pasportni' in page
    await ana.post(f"/console/c/{conv}/reply", {"text": "Ish beruvchi pasportni olib qolishi mumkin emas."})
    sent = [m.text for m in await transcript(db, conv) if m.sender == "mediator"]
    assert sent == ["Иш берувчи паспортни олиб қолиши мумкин эмас."]
    assert [r.payload["text"] for r in await outbox(db)][-1] == sent[0]  # what Telegram gets
    # A Latin-script contact gets Latin.
    latin = await waiting(db, lang="uz", since=clock())
    await ana.post(f"/console/c/{latin}/reply", {"text": "Salom!"})
    assert [m.text for m in await transcript(db, latin) if m.sender == "mediator"] == ["Salom!"]
    assert 'id="cyrillic-note"' not in (await ana.get(f"/console/c/{latin}")).text
