"""The flow editor over real HTTP (the small flow set of tests/data/flows, so engines build at once):
drafts, problems next to their fields, preview, publish and what migrants then get, history, diff,
rollback, conflicts between editors, spreadsheets for translators, roles and the audit log."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import difflib
import html
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build_app, handoff_for
from bot.console.views import Console
from bot.events import EventBus
from bot.flows_db.store import FlowStore
from bot.i18n import Catalogs
from bot.runtime import Runtime, create_runtime
from bot.settings import Settings
from tests.console_kit import SESSION_LIBRARY_KEYS, Client, Desk
from tests.handoff_kit import add_staff
from tests.test_hygiene import DEEP, LAUGHS

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "tests" / "data" / "flows"
pytestmark = SESSION_LIBRARY_KEYS


@contextlib.asynccontextmanager
async def editor_desk(db: AsyncEngine, catalogs: Catalogs, flows_dir: Path = SMALL,
                      **settings: Any) -> AsyncIterator[tuple[Desk, Runtime]]:
    """The app as `hotline serve` wires it: flow versions in the database, the reloader, the editor."""
    config = Settings(console_secret_key="console-tests-secret-key-0123456789", office_hours="always",
                      flows_dir=flows_dir, **settings)
    runtime = await create_runtime(config.model_copy(update={
        "database_url": db.url.render_as_string(hide_password=False)}))
    events = EventBus()
    handoff = handoff_for(runtime, events)
    console = Console(runtime.db, handoff, events)
    app = build_app(runtime, console)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    desk = Desk(str(server.make_url("")).rstrip("/"), runtime.db, runtime.service, handoff, events, console, app)
    try:
        yield desk, runtime
    finally:
        await desk.close()
        await server.close()
        await runtime.close()


@pytest.fixture
async def kit(db: AsyncEngine, catalogs: Catalogs) -> AsyncIterator[tuple[Desk, Runtime]]:
    await add_staff(db, "ed", roles=("editor",), languages=("tg",), name="Editor Ed")
    await add_staff(db, "eve", roles=("editor",), languages=("ru",), name="Eve")
    await add_staff(db, "ana", roles=("mediator",), languages=("ru",), name="Ana")
    await add_staff(db, "root", roles=("admin",), languages=("ru",), name="Root")
    async with editor_desk(db, catalogs) as kit:
        yield kit


def section(page: str, node: str) -> str:
    start = page.index(f'id="n-{node}"')
    return page[start:page.index("</section>", start)]


def problems_at(page: str, node: str, name: str) -> list[str]:
    """The problems shown right after the field named `name` in the node's form."""
    part = section(page, node)
    at = part.index(f'name="{name}"')
    tag = part.rfind("<", 0, at)
    closing = {"<select": "</select>", "<textarea": "</textarea>"}.get(part[tag:at].split()[0], ">")
    rest = part[part.index(closing, at) + len(closing):]
    shown = re.match(r'(?:\s*<p class="problem[^"]*"[^>]*>[^<]*</p>)*', rest)
    assert shown is not None
    return [html.unescape(m) for m in re.findall(r'<p class="problem[^"]*"[^>]*>([^<]*)</p>', shown.group(0))]


def flashed(page: str) -> str:
    found = re.search(r'<p class="flash">([^<]*)</p>', page)
    return html.unescape(found.group(1)) if found else ""


async def save(client: Client, flow: str, node: str, data: dict[str, str]) -> str:
    page = await client.post(f"/console/flows/f/{flow}/n/{node}", {"action": "save", **data})
    assert (page.status, page.location) == (303, f"/console/flows/f/{flow}#n-{node}"), page.text[:300]
    return (await client.follow(page)).text


async def chat_to_result(desk: Desk, session: str, lang: str = "tg") -> str:
    """Main menu > patent > when to pay > Uzbekistan > issued 20 days ago > 1 month: the result's text."""
    issued = (dt.date.today() - dt.timedelta(days=20)).strftime("%d.%m.%Y")
    await desk.migrant(session, "/start", lang=lang)
    for text in ("1", "1", "1", issued):
        await desk.migrant(session, text, lang=lang)
    data = await desk.migrant(session, "1", lang=lang)
    result = [r for r in data["replies"] if r["node"] == "patent.result"]
    assert result, data
    return str(result[0]["text"])


async def test_edit_check_preview_publish_serve_history_rollback(kit: tuple[Desk, Runtime], db: AsyncEngine) -> None:
    desk, runtime = kit
    store = FlowStore(db)
    original = await chat_to_result(desk, "migrant-before-1")
    assert original.startswith("То ") and "пардохт шуд" in original
    ed = await desk.logged_in("ed")
    page = await ed.get("/console/flows")
    assert page.status == 200 and "published version 1" in page.text and 'data-flow="patent"' in page.text

    # A placeholder deleted from the Tajik text: the check says so next to that field, on save.
    page_text = await save(ed, "patent", "result", {"text.tg": "Пардохт шуд"})
    assert "1 problem(s) in this node" in flashed(page_text)
    assert problems_at(page_text, "result", "text.tg") == ["placeholders differ from ru: lacks {paid_until}"]
    assert problems_at(page_text, "result", "text.ru") == []
    listing = (await ed.get("/console/flows")).text
    assert "your draft" in listing and 'id="publish-button" disabled' in listing
    refused = await ed.post("/console/flows/publish", {"note": "too early"})
    assert "Not published: 1 error(s) remain" in flashed((await ed.follow(refused)).text)
    assert await store.latest_number() == 1
    assert runtime.service.engine.flows.node("patent.result").text == {
        "ru": "Оплачено до {paid_until}", "uz": "{paid_until} gacha toʻlangan", "tg": "То {paid_until} пардохт шуд",
        "ky": "{paid_until} чейин төлөнгөн"}  # the draft does not reach migrants

    # Corrected: no problem left; the file changed in that one text only.
    page_text = await save(ed, "patent", "result", {"text.tg": "НАВ: то {paid_until} пардохт шуд"})
    assert "No problems" in flashed(page_text)
    assert problems_at(page_text, "result", "text.tg") == []
    draft = await store.draft(await _staff_id(db, "ed"))
    published = await store.latest()
    assert draft is not None and published is not None and published.files is not None
    changed = [line for line in difflib.unified_diff(published.files["patent.yaml"].splitlines(),
                                                     draft.files["patent.yaml"].splitlines(), lineterm="", n=0)
               if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]
    assert changed == [
        '-    text: {ru: "Оплачено до {paid_until}", uz: "{paid_until} gacha toʻlangan", tg: "То {paid_until} '
        'пардохт шуд", ky: "{paid_until} чейин төлөнгөн"}',
        '+    text: {ru: "Оплачено до {paid_until}", uz: "{paid_until} gacha toʻlangan", tg: "НАВ: то {paid_until} '
        'пардохт шуд", ky: "{paid_until} чейин төлөнгөн"}']

    # The preview runs the draft, in Tajik, as a migrant would go.
    page = await ed.post("/console/flows/preview", {"lang": "tg", "action": "restart"})
    preview = (await ed.follow(page)).text
    assert "Менюи асосӣ" in preview
    issued = (dt.date.today() - dt.timedelta(days=20)).strftime("%d.%m.%Y")
    for text in ("1", "1", "1", issued, "1"):
        page = await ed.post("/console/flows/preview", {"lang": "tg", "text": text})
    preview = (await ed.follow(page)).text
    assert "НАВ: то " in preview and "patent.result" in preview
    assert "НАВ" not in await chat_to_result(desk, "migrant-before-2")  # still not for migrants

    # Publish with a note: version 2, served at once; a conversation started before gets it too.
    await desk.migrant("migrant-running", "/start", lang="tg")
    page = await ed.post("/console/flows/publish", {"note": "Tajik wording of the payment result"})
    assert page.location == "/console/flows/history"
    history = (await ed.follow(page)).text
    assert "Published as version 2" in flashed(history)
    row = re.search(r'<tr data-version="2".*?</tr>', history, re.S)
    assert row and "Editor Ed" not in row.group(0) and ">ed<" in row.group(0)
    assert "Tajik wording of the payment result" in row.group(0) and "live" in row.group(0)
    assert runtime.flow_version == 2 and runtime.reloader is not None and runtime.reloader.current == 2
    for text in ("1", "1", "1", issued):
        await desk.migrant("migrant-running", text, lang="tg")
    data = await desk.migrant("migrant-running", "1", lang="tg")
    assert any(r["text"].startswith("НАВ: то ") for r in data["replies"]), data
    assert (await store.draft(await _staff_id(db, "ed"))) is None  # the draft became the version
    async with aiohttp.ClientSession() as http, http.get(f"{desk.base}/healthz") as res:
        assert (await res.json())["flow_version"] == 2

    # The history shows a readable diff, escaped.
    diff = (await ed.get("/console/flows/history/2")).text
    assert re.search(r'<span class="hunk">@@ -\d+,\d+ \+\d+,\d+ @@  result</span>', diff)  # names the node
    assert '<span class="del">-    text: {ru: &#34;Оплачено до {paid_until}&#34;' in diff
    assert '<span class="add">+    text: {ru: &#34;Оплачено до {paid_until}&#34;, uz: &#34;{paid_until} gacha ' \
           'toʻlangan&#34;, tg: &#34;НАВ: то {paid_until}' in diff

    # Rollback to version 1 is version 3, and migrants get the old text again.
    page = await ed.post("/console/flows/history/1/rollback", {"note": "wrong word"})
    assert "Version 1 is live again, as version 3" in flashed((await ed.follow(page)).text)
    assert await chat_to_result(desk, "migrant-after-rollback") == original
    v3 = await store.get(3)
    v1 = await store.get(1)
    assert v3 is not None and v1 is not None and v3.files == v1.files and v3.kind == "rollback"
    assert v3.note == "rollback to version 1: wrong word"
    assert [v.status for v in await store.history()] == ["published", "archived", "archived"]

    # Admins see every publish and rollback in the audit log; editors may not.
    assert (await ed.get("/console/audit")).status == 403
    root = await desk.logged_in("root")
    audit = (await root.get("/console/audit")).text
    actions = re.findall(r'<tr data-action="([^"]+)"', audit)
    assert actions[:3] == ["flows.rollback", "flows.publish", "flows.initial"]
    assert "Tajik wording of the payment result" in audit and "Editor Ed" in audit and "first start" in audit


async def _staff_id(db: AsyncEngine, login: str) -> int:
    from sqlalchemy import select

    from bot.storage.models import StaffUser

    async with db.connect() as conn:
        return int((await conn.execute(select(StaffUser.id).where(StaffUser.login == login))).scalar_one())


def editor_routes(desk: Desk) -> list[tuple[str, str]]:
    out = []
    for route in desk.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or ""
        if path.startswith(("/console/flows", "/console/audit")) and route.method in ("GET", "POST"):
            path = path.replace("{flow}", "patent").replace("{node}", "result").replace("{number}", "1")
            out.append((route.method, path.replace("{kind}", "csv")))
    return sorted(set(out))


async def test_a_mediator_cannot_open_the_editor(kit: tuple[Desk, Runtime], db: AsyncEngine) -> None:
    desk, _ = kit
    routes = editor_routes(desk)
    assert len(routes) >= 15
    ana = await desk.logged_in("ana")
    assert 'href="/console/flows"' not in (await ana.get("/console/queue")).text
    for method, path in routes:
        page = await (ana.get(path) if method == "GET" else ana.post(path, {"note": "x", "text": "x"}))
        assert page.status == 403, (method, path)
        assert "for the role: editor" in page.text or "for the role: admin" in page.text
    assert await FlowStore(db).latest_number() == 1 and await FlowStore(db).draft(await _staff_id(db, "ana")) is None
    stranger = await desk.client()
    assert (await stranger.get("/console/flows")).location == "/console/login?next=/console/flows"
    ed = await desk.logged_in("ed")
    assert 'href="/console/flows"' in (await ed.get("/console/flows")).text


async def test_problems_at_a_glance(kit: tuple[Desk, Runtime], monkeypatch: pytest.MonkeyPatch) -> None:
    desk, _ = kit
    ed = await desk.logged_in("ed")
    # A missing Kyrgyz text, a dangling target (its node removed), an answer reviewed long ago.
    await save(ed, "patent", "menu", {"text.ky": ""})
    await save(ed, "patent", "result", {"reviewed": "2025-01-15"})
    page = await ed.post("/console/flows/f/patent/n/no_patent", {"action": "remove"})
    assert page.location == "/console/flows/f/patent#nodes"
    listing = (await ed.get("/console/flows")).text
    row = re.search(r'<tr data-flow="patent".*?</tr>', listing, re.S)
    assert row
    cells = re.findall(r'<span class="l[^"]*" title="[^"]+">(\d+)</span>', row.group(0))
    assert cells[:4] == ["0", "0", "0", "1"]  # missing texts: ru uz tg ky
    assert 'href="/console/flows/f/patent#n-menu" class="tag red">2</a>' in row.group(0)  # empty text, bad target
    assert "older than 6 months" in row.group(0) and "#n-result" in row.group(0)
    flow = (await ed.get("/console/flows/f/patent")).text
    assert problems_at(flow, "menu", "text.ky") == ["is empty"]
    assert problems_at(flow, "by_citizenship", "cases.kg") == ["no node 'no_patent' in flow 'patent'"]
    assert "Checked more than 6 months ago" in section(flow, "result")
    assert 'id="n-no_patent"' not in flow
    # The review period is a setting.
    editor = _editor(desk)
    monkeypatch.setattr(editor, "review_months", 48)
    assert "older than 48 months" not in (await ed.get("/console/flows")).text


def _editor(desk: Desk) -> Any:
    from bot.console.editor import Editor

    for route in desk.app.router.routes():
        handler = getattr(route.handler, "__self__", None)
        if isinstance(handler, Editor):
            return handler
    raise AssertionError("no editor")


async def test_nodes_and_options_added_moved_removed(kit: tuple[Desk, Runtime], db: AsyncEngine) -> None:
    desk, _ = kit
    ed = await desk.logged_in("ed")
    page = await ed.post("/console/flows/f/patent", {"action": "add", "id": "bank", "type": "answer",
                                                      "after": "no_patent"})
    assert page.location == "/console/flows/f/patent#n-bank"
    flow = (await ed.follow(page)).text
    order = re.findall(r'<section class="node card [a-z]+" id="n-([a-z_]+)"', flow)
    assert order[order.index("no_patent") + 1] == "bank"
    assert problems_at(flow, "bank", "text.tg") == ["is empty"]
    assert "unreachable from the main menu" in section(flow, "bank")  # a warning until something leads there
    # An option leading to it, chosen from the list of nodes; then moved first, then away again.
    flow = await save(ed, "patent", "menu", {"action": "opt-add"})
    assert 'name="options[3].label.ru"' in section(flow, "menu")
    flow = await save(ed, "patent", "menu", {
        "options[3].label.ru": "Банк", "options[3].label.uz": "Bank", "options[3].label.tg": "Бонк",
        "options[3].label.ky": "Банк", "options[3].next": "patent.bank",
        "text.ru": "Банк", "title.ru": "x"})
    assert "unreachable" not in section(flow, "bank")
    flow = await save(ed, "patent", "menu", {"action": "opt-up-3"})
    flow = await save(ed, "patent", "menu", {"action": "opt-up-2"})
    labels = re.findall(r'name="options\[\d\]\.label\.ru" value="([^"]*)"', section(flow, "menu"))
    assert labels == ["Банк", "Когда платить", "Назад"]
    flow = await save(ed, "patent", "bank", {"action": "up"})
    order = re.findall(r'<section class="node card [a-z]+" id="n-([a-z_]+)"', flow)
    assert order.index("bank") == order.index("no_patent") - 1
    flow = await save(ed, "patent", "menu", {"action": "opt-remove-1"})
    labels = re.findall(r'name="options\[\d\]\.label\.ru" value="([^"]*)"', section(flow, "menu"))
    assert labels == ["Когда платить", "Назад"]
    draft = await FlowStore(db).draft(await _staff_id(db, "ed"))
    assert draft is not None
    text = draft.files["patent.yaml"]
    assert "      - {label: {ru: Когда платить, uz: Qachon toʻlash, tg: Кай пардохт, ky: Качан төлөө}, next: " \
           "ask_citizenship}\n" in text  # untouched options keep their style
    assert "title" not in text.split("  menu:")[1].split("  ask_citizenship:")[0]  # no title on a menu
    # "Did this help?" is a checkbox: unticked, the answer says feedback: false; ticked again, the line goes.
    await save(ed, "patent", "no_patent", {"feedback-shown": "1"})
    draft = await FlowStore(db).draft(await _staff_id(db, "ed"))
    assert draft is not None and "    reviewed: 2026-11-22\n    feedback: false\n" in draft.files["patent.yaml"]
    await save(ed, "patent", "no_patent", {"feedback-shown": "1", "feedback": "1"})
    draft = await FlowStore(db).draft(await _staff_id(db, "ed"))
    assert draft is not None and draft.files["patent.yaml"].count("feedback: false") == 1  # only `late`'s own
    # A node id that exists, or is not a name, is refused.
    for bad in ("menu", "Bad-Id"):
        page = await ed.post("/console/flows/f/patent", {"action": "add", "id": bad, "type": "answer"})
        assert flashed((await ed.follow(page)).text).startswith("Not saved: ")


async def test_two_editors_drafts_merge_and_conflict(kit: tuple[Desk, Runtime], db: AsyncEngine) -> None:
    desk, runtime = kit
    ed, eve = await desk.logged_in("ed"), await desk.logged_in("eve")
    await save(ed, "patent", "no_patent", {"text.ru": "Патент не нужен гражданам Кыргызстана"})
    await save(eve, "patent", "no_patent", {"text.uz": "Patent kerak emas (Qirgʻiziston)"})
    await save(eve, "main", "menu", {"text.ru": "Главное меню: выберите тему"})
    page = await ed.post("/console/flows/publish", {"note": "wording"})
    assert page.location == "/console/flows/history"
    # Eve began before version 2: her patent.yaml would undo Ed's change, so she must decide.
    page = await eve.post("/console/flows/publish", {"note": "mine"})
    assert "patent.yaml changed in version 2" in flashed((await eve.follow(page)).text)
    changes = (await eve.get("/console/flows/changes")).text
    assert "Changed by someone else since your draft began: patent.yaml" in changes
    await eve.post("/console/flows/discard")
    await save(eve, "main", "menu", {"text.ru": "Главное меню: выберите тему"})
    page = await eve.post("/console/flows/publish", {"note": "menu wording"})
    assert page.location == "/console/flows/history"
    node = runtime.service.engine.flows.node
    assert node("patent.no_patent").text is not None and node("main.menu").text is not None
    assert node("patent.no_patent").text["ru"] == "Патент не нужен гражданам Кыргызстана"
    assert node("main.menu").text["ru"] == "Главное меню: выберите тему"
    # A draft identical to what is published has nothing to publish; no note, no publish.
    await save(ed, "main", "menu", {"text.ru": "Главное меню: выберите тему!"})
    page = await ed.post("/console/flows/publish", {"note": " "})
    assert "write a short note" in flashed((await ed.follow(page)).text)
    await save(ed, "main", "menu", {"text.ru": "Главное меню: выберите тему"})
    page = await ed.post("/console/flows/publish", {"note": "same"})
    assert "nothing to publish" in flashed((await ed.follow(page)).text)
    assert await FlowStore(db).latest_number() == 3


async def test_translators_spreadsheets(kit: tuple[Desk, Runtime], db: AsyncEngine) -> None:
    desk, _ = kit
    ed = await desk.logged_in("ed")
    async with ed.http.get(f"{desk.base}/console/flows/texts.csv") as res:
        assert res.status == 200 and 'filename="hotline-texts-v1.csv"' in res.headers["Content-Disposition"]
        body = (await res.read()).decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(body)))
    assert table[0] == ["flow", "node", "field", "ru", "uz", "tg", "ky"]
    rows = {(r[0], r[1], r[2]): r for r in table[1:]}
    assert rows[("patent", "result", "text")][5] == "То {paid_until} пардохт шуд"
    assert rows[("patent", "menu", "options[2].label")][3:] == ["Назад", "Orqaga", "Ба қафо", "Артка"]
    assert rows[("patent", "", "title")][3] == "Патент"
    # A translator changes two Tajik texts (one loses its placeholder), empties a cell, adds a stray row.
    rows[("patent", "result", "text")][5] = "Пардохт то {paid_until}"
    rows[("patent", "late", "text")][5] = "Дер шуд"
    rows[("patent", "menu", "text")][6] = ""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")  # as Excel saves CSV in many locales
    writer.writerows([table[0], *rows.values(), ["patent", "nosuch", "text", "", "", "x", ""]])
    data = aiohttp.FormData()
    data.add_field("_csrf", ed.csrf)
    data.add_field("file", out.getvalue().encode("utf-8"), filename="texts.csv", content_type="text/csv")
    async with ed.http.post(f"{desk.base}/console/flows/texts", data=data) as res:
        report = await res.text()
    assert res.status == 200, report[:500]
    assert "2 text(s) changed in your draft" in report and "1 empty cell(s) left as they were" in report
    assert "nosuch" in report and "1 row(s) skipped" in report
    assert "patent.yaml &gt; late &gt; text.tg: placeholders differ from ru: lacks {paid_until}" in report
    draft = await FlowStore(db).draft(await _staff_id(db, "ed"))
    assert draft is not None and 'tg: "Пардохт то {paid_until}"' in draft.files["patent.yaml"]

    # XLSX: the same texts; a change made in Excel comes back.
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    async with ed.http.get(f"{desk.base}/console/flows/texts.xlsx") as res:
        assert res.status == 200 and 'filename="hotline-texts-v1-draft.xlsx"' in res.headers["Content-Disposition"]
        book = load_workbook(io.BytesIO(await res.read()))
    sheet = book.active
    assert [c.value for c in sheet[1]] == ["flow", "node", "field", "ru", "uz", "tg", "ky"]
    for row in sheet.iter_rows(min_row=2):
        if (row[0].value, row[1].value, row[2].value) == ("patent", "late", "text"):
            assert row[5].value == "Дер шуд"
            row[5].value = "Дер шуд: {paid_until}"
    buffer = io.BytesIO()
    book.save(buffer)
    data = aiohttp.FormData()
    data.add_field("_csrf", ed.csrf)
    data.add_field("file", buffer.getvalue(), filename="texts.xlsx")
    async with ed.http.post(f"{desk.base}/console/flows/texts", data=data) as res:
        report = await res.text()
    assert "1 text(s) changed in your draft" in report and "error(s) in the draft" not in report
    # Not a spreadsheet: refused with a reason.
    data = aiohttp.FormData()
    data.add_field("_csrf", ed.csrf)
    data.add_field("file", b"just some words\n", filename="notes.csv")
    async with ed.http.post(f"{desk.base}/console/flows/texts", data=data, allow_redirects=False) as res:
        assert res.status == 303
    assert "must name the columns" in flashed((await ed.get("/console/flows")).text)


async def test_yaml_editor_and_comments_kept(kit: tuple[Desk, Runtime], db: AsyncEngine) -> None:
    desk, _ = kit
    ed = await desk.logged_in("ed")
    page = await ed.get("/console/flows/f/main/yaml")
    text = html.unescape(re.search(r'<textarea name="text"[^>]*>(.*?)</textarea>', page.text, re.S).group(1))
    commented = text.replace("  mediator:\n", "  # the person behind the bot\n  mediator:\n")
    page = await ed.post("/console/flows/f/main/yaml", {"text": commented.replace("\n", "\r\n")})
    assert flashed((await ed.follow(page)).text) == "Saved in your draft."
    await save(ed, "main", "mediator", {"summary": "Просит человека, срочно"})
    draft = await FlowStore(db).draft(await _staff_id(db, "ed"))
    assert draft is not None
    assert draft.files["main.yaml"] == commented.replace("summary: Просит человека", "summary: Просит человека, срочно")
    # Broken YAML is not saved (it would break the editor's pages): the page comes back with the text
    # and says where.
    broken = "format: 1\nid: main\nnodes: {a: [\n"
    page = await ed.post("/console/flows/f/main/yaml", {"text": broken})
    assert page.status == 400
    assert "main.yaml: YAML error at line" in html.unescape(page.text) and broken in html.unescape(page.text)
    kept = await FlowStore(db).draft(await _staff_id(db, "ed"))
    assert kept is not None and kept.files["main.yaml"] == draft.files["main.yaml"]


async def test_unanswered_questions_grouped_added_to_an_answer_or_dismissed(kit: tuple[Desk, Runtime],
                                                                           db: AsyncEngine) -> None:
    from sqlalchemy import insert, select

    from bot.storage.models import UnansweredQuestion, utcnow

    desk, runtime = kit
    asked = [("Как получить ВНЖ?", "ru", "patent_apply", "patent.no_patent"),
             ("как получить внж", "ru", None, None),
             ("Как получить вид на жительство / ВНЖ", "ru", "patent_apply", "patent.no_patent"),
             ("kak poluchit vnj", "ru", None, None),
             ("Ob-havo qanday?", "uz", "out_of_scope", None),
             ("как получить внж", "tg", None, None)]  # the same words, another language: another group
    async with db.begin() as conn:
        for text, lang, topic, node in asked:
            await conn.execute(insert(UnansweredQuestion).values(
                text=text, lang=lang, script="Latn" if lang == "uz" else "Cyrl", topic_guess=topic, node_guess=node,
                confidence=0.3, channel="web", status="open", created_at=utcnow()))
    ed = await desk.logged_in("ed")
    page = (await ed.get("/console/flows/unanswered")).text
    groups = re.findall(r'<section class="card group" data-count="(\d+)">\s*<h2>“([^”]*)”', page)
    assert [int(n) for n, _ in groups] == [4, 1, 1]  # the biggest group first
    first = page[page.index('data-count="4"'):]
    first = first[:first.index("</section>")]
    assert "topic guess: patent_apply" in first and "Русский" in first and "как получить внж" in first
    assert '<option value="patent.no_patent" selected>' in first
    ids = re.search(r'name="ids" value="([\d,]+)"', first)
    assert ids and len(ids.group(1).split(",")) == 4
    page = await ed.post("/console/flows/unanswered", {"action": "add", "ids": ids.group(1), "lang": "ru",
                                                        "node": "patent.no_patent", "text": "Как получить ВНЖ?"})
    assert "Added to the examples of patent.no_patent (ru) in your draft" in flashed((await ed.follow(page)).text)
    draft = await FlowStore(db).draft(await _staff_id(db, "ed"))
    assert draft is not None and "    examples:\n      ru:\n        - Как получить ВНЖ?\n" in draft.files["patent.yaml"]
    assert runtime.service.engine.flows.node("patent.no_patent").examples == {}  # not before publishing
    # The other groups: one dismissed; the same example twice is not added twice.
    page = (await ed.get("/console/flows/unanswered")).text
    assert sorted(int(n) for n in re.findall(r'data-count="(\d+)"', page)) == [1, 1]
    uz = re.search(r'“Ob-havo qanday\?”.*?name="ids" value="(\d+)"', page, re.S)
    assert uz
    page = await ed.post("/console/flows/unanswered", {"action": "dismiss", "ids": uz.group(1)})
    assert flashed((await ed.follow(page)).text) == "Dismissed 1 question(s)."
    tg = re.search(r'name="ids" value="(\d+)"', (await ed.get("/console/flows/unanswered")).text)
    assert tg
    page = await ed.post("/console/flows/unanswered", {"action": "add", "ids": tg.group(1), "lang": "ru",
                                                        "node": "patent.no_patent", "text": "как  получить ВНЖ?"})
    assert "has this example already" in flashed((await ed.follow(page)).text)
    assert "No open questions" in (await ed.get("/console/flows/unanswered")).text
    async with db.connect() as conn:
        statuses = sorted((await conn.execute(select(UnansweredQuestion.status))).scalars())
    assert statuses == ["added"] * 5 + ["dismissed"]
    await ed.post("/console/flows/publish", {"note": "an example from the unanswered questions"})
    assert runtime.service.engine.flows.node("patent.no_patent").examples == {"ru": ["Как получить ВНЖ?"]}


async def test_flow_title_and_settings(kit: tuple[Desk, Runtime]) -> None:
    desk, _ = kit
    ed = await desk.logged_in("ed")
    page = await ed.post("/console/flows/f/patent", {"action": "save", "title.ky": "", "start": "menu"})
    flow = (await ed.follow(page)).text
    assert re.search(r'name="title\.ky"[^>]*>\s*</textarea>\s*<p class="problem error" role="alert">is empty</p>', flow)
    page = await ed.get("/console/flows/settings")
    assert page.status == 200 and "_settings.yaml as YAML" in page.text
    text = html.unescape(re.search(r'<textarea name="text"[^>]*>(.*?)</textarea>', page.text, re.S).group(1))
    assert "    ky: [меню, башкы меню, башына, башы]\n" in text
    page = await ed.post("/console/flows/settings", {"text": text.replace("    ky: [меню, башкы меню, башына, башы]",
                                                                           "    ky: []")})
    assert page.location == "/console/flows/settings"
    assert "1 error(s) in _settings.yaml" in flashed((await ed.follow(page)).text)
    listing = (await ed.get("/console/flows")).text
    assert "_settings.yaml &gt; keywords.menu.ky: needs a list of words" in listing


def native_cells(listing: str, flow: str) -> list[str]:
    row = re.search(rf'<tr data-flow="{flow}".*?</tr>', listing, re.S)
    assert row
    return re.findall(r'<span class="l[^"]*" data-lang="[a-z]+" title="[^"]+">(\d+)</span>', row.group(0))


async def test_each_language_has_its_native_speaker_check(kit: tuple[Desk, Runtime]) -> None:
    desk, _ = kit
    ed = await desk.logged_in("ed")
    before = native_cells((await ed.get("/console/flows")).text, "patent")
    assert len(before) == 4 and len(set(before)) == 1 and int(before[0]) > 0  # every answer: written by us
    page = await save(ed, "patent", "result", {"native_check.tg.by": "Фарзона Р.", "native_check.tg.on": "2026-12-01"})
    assert 'name="native_check.tg.by" value="Фарзона Р."' in section(page, "result")
    after = native_cells((await ed.get("/console/flows")).text, "patent")
    assert after[2] == str(int(before[2]) - 1) and after[:2] == before[:2] and after[3] == before[3]
    draft = (await ed.get("/console/flows/f/patent/yaml")).text
    assert "native_check:" in html.unescape(draft) and "tg: {by: Фарзона Р., on: 2026-12-01}" in html.unescape(draft)

    # The Tajik text changes and nobody checks the new one: the check no longer holds.
    page = await save(ed, "patent", "result", {"text.tg": "То {paid_until} пардохт шудааст",
                                               "native_check.tg.by": "Фарзона Р.", "native_check.tg.on": "2026-12-01"})
    assert 'name="native_check.tg.by" value=""' in section(page, "result")
    assert native_cells((await ed.get("/console/flows")).text, "patent") == before
    # A check dated after today is an error next to its field.
    page = await save(ed, "patent", "result", {"native_check.ky.by": "Айгүл", "native_check.ky.on": "2099-01-01"})
    assert problems_at(page, "result", "native_check.ky.on")[0].startswith("2099-01-01 is after today")


async def test_variants_of_one_question_side_by_side(db: AsyncEngine, catalogs: Catalogs) -> None:
    """The registration deadline is one question with an answer per citizenship: each variant's page shows
    them all, with what each is for."""
    from tests.conftest import FLOWS

    await add_staff(db, "ed", roles=("editor",), languages=("ru",), name="Editor Ed")
    async with editor_desk(db, catalogs, flows_dir=FLOWS) as (desk, _):
        ed = await desk.logged_in("ed")
        page = (await ed.get("/console/flows/f/registration")).text
        box = section(page, "deadline_uz")
        table = box[box.index('<table class="variants">'):box.index("</table>", box.index('<table class="variants">'))]
        assert "<strong>deadline_uz</strong><br><small>citizenship: uz</small>" in table
        for other in ("deadline_tj", "deadline_kg", "deadline_other"):
            assert f'href="/console/flows/f/registration#n-{other}"' in table
        assert "15" in table and "30" in table  # the Uzbek and the Kyrgyz deadlines, side by side
        assert '<table class="variants">' not in section(page, "fines")  # one answer for everyone


@pytest.mark.parametrize("text", [LAUGHS, DEEP, "format: 1\nid: main\nnodes: {a: [\n"])
async def test_an_unreadable_yaml_draft_is_not_saved(text: str, kit: tuple[Desk, Runtime], db: AsyncEngine) -> None:
    """~300 bytes of aliases rendered 82 MB of HTML; a deeply nested draft broke every editor page until
    discarded. Neither is saved now: the YAML page comes back (400) with the text and the reason."""
    desk, _ = kit
    ed = await desk.logged_in("ed")
    page = await ed.post("/console/flows/f/main/yaml", {"text": text})
    assert page.status == 400 and "YAML error" in page.text
    assert await FlowStore(db).draft(await _staff_id(db, "ed")) is None
    assert (await ed.get("/console/flows/f/main")).status == 200


@pytest.mark.parametrize("path", ["/console/flows/history/{big}", "/console/flows/history/{big}/rollback"])
async def test_a_30_digit_version_number_is_a_400(path: str, kit: tuple[Desk, Runtime]) -> None:
    desk, _ = kit
    root = await desk.logged_in("root")
    path = path.format(big="9" * 30)
    page = await (root.get(path) if not path.endswith("rollback") else root.post(path))
    assert page.status == 400 and "at most 18 digits" in page.text
