"""Input hygiene at every edge (issue 13, item 4): each finding of the attack pass, on the real channels
(the aiogram Bot against the fake Bot API, Twilio's signed webhook, the web chat, the console) and both
databases. What comes in is cleaned by one function (bot/core/hygiene.py) before it is stored; bodies,
nesting, ids, spreadsheets and YAML have limits that answer with a clear 4xx, never a 500."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.telegram import MAX_UPDATE_FAILURES, TelegramChannel
from bot.core.engine import T_MEDIA
from bot.core.hygiene import cap, clean_text
from bot.core.model import Inbound
from bot.flows_db.sheets import SheetError, read_table
from bot.flows_db.yamledit import EditError, FlowDoc
from bot.flowspec import FlowSet
from bot.flowspec.loader import parse_yaml
from bot.i18n import Catalogs
from bot.service import MORE_TEXT, ConversationService
from bot.storage.models import Message
from tests.console_kit import SESSION_LIBRARY_KEYS, Desk, serve_desk
from tests.fake_telegram import Stack, telegram_stack
from tests.fake_twilio import PUBLIC_BASE_URL, sign, whatsapp_stack
from tests.handoff_kit import add_staff, escalate

pytestmark = SESSION_LIBRARY_KEYS
NASTY = "lone \ud800 surrogate, NUL \x00, bell \x07, escape \x1b[31m, windows\r\nline"
CLEAN = "lone \ufffd surrogate, NUL , bell , escape [31m, windows\nline"


async def texts_in(db: AsyncEngine) -> list[str]:
    async with db.connect() as conn:
        return [r[0] for r in await conn.execute(
            select(Message.text).where(Message.direction == "in").order_by(Message.id))]


def test_one_cleaning_function() -> None:
    assert clean_text(NASTY) == CLEAN
    assert clean_text("e\u0301\tok\n") == "é\tok\n"  # NFC; tab and line breaks kept
    assert clean_text("🙂 \U0001F600") == "🙂 \U0001F600"  # real surrogate pairs are characters, kept
    assert cap("abcdef", 4) == ("abcd", "ef") and cap("abc", 4) == ("abc", "")


# -- Telegram ------------------------------------------------------------------------------------------


@pytest.fixture
async def tg(service: ConversationService, flows: FlowSet, catalogs: Catalogs) -> AsyncIterator[Stack]:
    async with telegram_stack(service, flows, catalogs) as stack:
        yield stack


async def test_a_lone_surrogate_on_telegram_polling_is_stored_clean_and_polling_goes_on(
        tg: Stack, db: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TelegramChannel, "poll_backoff", 0.01)
    await tg.exchange(tg.fake.text_update(8100, "/start", language_code="ru"))
    assert await tg.exchange(tg.fake.text_update(8100, NASTY, language_code="ru"))  # answered
    assert CLEAN in await texts_in(db)
    assert await tg.exchange(tg.fake.text_update(8101, "/start", language_code="ru"))  # and the next one


async def test_a_lone_surrogate_on_the_telegram_webhook_is_a_200(tg: Stack, db: AsyncEngine) -> None:
    status, _ = await tg.post(tg.fake.text_update(8200, NASTY, language_code="ru"))
    assert status == 200
    assert CLEAN in await texts_in(db)


@pytest.mark.parametrize(("body", "status", "error"), [
    (b'{"update_id": 1, "x": ' + b"[" * 3000 + b"]" * 3000 + b"}", 400, "not JSON"),  # was a RecursionError
    (b'{"update_id": 1, "x": ' + b"[" * 60 + b"]" * 60 + b"}", 400, "nests deeper than"),
    (b'{"update_id": 1, "x": "' + b"a" * 300_000 + b'"}', 413, "larger than"),
    (b'{"update_id": 1, "x": "\xff\xfe"}', 400, "not JSON"),
])
async def test_the_telegram_webhook_refuses_deep_big_or_broken_json_clearly(tg: Stack, body: bytes, status: int,
                                                                            error: str) -> None:
    code, data = await tg.post(None, raw=body)
    assert code == status and error in data["error"]


class FailsOn:
    """ConversationService.handle failing for one text, as a bug that always hits it would."""

    def __init__(self, service: ConversationService, text: str):
        self.real, self.text = service.handle, text

    async def __call__(self, inbound: Inbound) -> Any:
        if self.text in inbound.text:
            raise RuntimeError("a bug this message always hits")
        return await self.real(inbound)


@pytest.mark.parametrize("via", ["polling", "webhook"])
async def test_an_update_that_always_fails_with_a_lone_surrogate_is_set_aside(
        via: str, tg: Stack, service: ConversationService, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """`_set_aside` used to raise on such a text (UnicodeEncodeError), which ended polling for everybody
    and gave the webhook a 500 forever."""
    monkeypatch.setattr(TelegramChannel, "poll_backoff", 0.01)
    monkeypatch.setattr(service, "handle", FailsOn(service, "poison"))
    tg.channel.dead_letters = tmp_path / "dead-letters"
    poison = tg.fake.text_update(8300, "poison \ud800\x00", language_code="ru")
    with caplog.at_level(logging.ERROR, logger="bot.channels.telegram"):
        if via == "polling":
            tg.fake.push(poison)
        else:
            statuses = [(await tg.post(poison))[0] for _ in range(MAX_UPDATE_FAILURES)]
            assert statuses == [500] * (MAX_UPDATE_FAILURES - 1) + [200]  # then acknowledged: set aside
        replies = await tg.exchange(tg.fake.text_update(8300, "/start", language_code="ru"), via=via)
    assert len(replies) == 2  # the next message is answered
    kept = tmp_path / "dead-letters" / f"telegram-{tg.bot.id}-{poison['update_id']}.json"
    assert json.loads(kept.read_text(encoding="ascii"))["message"]["text"] == "poison \ud800\x00"  # as it came
    assert "set aside" in caplog.text


async def test_a_long_telegram_message_is_cut_and_the_rest_kept_for_the_mediator(
        tg: Stack, service: ConversationService, db: AsyncEngine, catalogs: Catalogs) -> None:
    service.max_chars = 50
    long = "Мой паспорт забрал работодатель. " * 10
    await tg.exchange(tg.fake.text_update(8400, "/start", language_code="ru"))
    replies = await tg.exchange(tg.fake.text_update(8400, long, language_code="ru"))
    assert replies and catalogs.gettext("ru", T_MEDIA) not in [r["text"] for r in replies]  # read as a text
    async with db.connect() as conn:
        text, media = (await conn.execute(select(Message.text, Message.media).where(
            Message.direction == "in").order_by(Message.id.desc()).limit(1))).one()
    assert text == long[:50]
    assert media == [{"kind": MORE_TEXT, "ref": long[50:], "mime": "text/plain"}]


# -- WhatsApp ------------------------------------------------------------------------------------------


async def test_whatsapp_texts_addresses_and_media_are_stored_clean(
        service: ConversationService, flows: FlowSet, catalogs: Catalogs, db: AsyncEngine) -> None:
    async with whatsapp_stack(service, flows, catalogs) as wa:
        form = wa.inbound("+79161234567", "Здравствуйте\x00\x07", NumMedia="1",
                          MediaUrl0="https://api.twilio.com/m/1\x00", MediaContentType0="image/jpeg\x00")
        form["From"] = "whatsapp:+79161234567\x00"
        async with wa.http.post(wa.base + "/whatsapp/webhook", data=form,
                                headers={"X-Twilio-Signature": sign(PUBLIC_BASE_URL + "/whatsapp/webhook",
                                                                    form)}) as res:
            assert res.status == 200, await res.text()
    async with db.connect() as conn:
        text, media = (await conn.execute(select(Message.text, Message.media).where(Message.direction == "in"))).one()
    assert text == "Здравствуйте"
    assert media == [{"kind": "photo", "ref": "https://api.twilio.com/m/1", "mime": "image/jpeg"}]


# -- the console ----------------------------------------------------------------------------------------


@pytest.fixture
async def desk(service: ConversationService, db: AsyncEngine, flows: FlowSet,
               catalogs: Catalogs) -> AsyncIterator[Desk]:
    async with serve_desk(service, db, flows, catalogs) as desk:
        yield desk


async def test_a_mediators_reply_and_note_are_stored_clean(desk: Desk, service: ConversationService,
                                                           db: AsyncEngine) -> None:
    await add_staff(db, "ana")
    conv = (await escalate(service, "hygiene-web-1")).conversation_id
    ana = await desk.logged_in("ana")
    for action in ("take", "reply", "note"):
        page = await ana.post(f"/console/c/{conv}/{action}", {"text": f"{action}: a\x00b\x1bc\r\nd"})
        assert page.status == 303, page.text[:300]
    async with db.connect() as conn:
        texts = [r[0] for r in await conn.execute(select(Message.text).where(Message.sender == "mediator"))]
    assert texts == ["reply: abc\nd", "note: abc\nd"]


async def test_a_form_that_is_not_utf8_is_a_400(desk: Desk, db: AsyncEngine) -> None:
    await add_staff(db, "ana")
    ana = await desk.logged_in("ana")
    async with ana.http.post(desk.base + "/console/canned", data=b"_csrf=x&title=\xff\xfe",
                             headers={"Content-Type": "application/x-www-form-urlencoded"},
                             allow_redirects=False) as res:
        assert res.status == 400


@pytest.mark.parametrize(("method", "path", "form"), [
    ("GET", "/console/c/{big}", {}),
    ("GET", "/console/c/{big}/messages", {}),
    ("GET", "/console/c/1/messages?after={big}", {}),
    ("POST", "/console/c/{big}/take", {}),
    ("POST", "/console/c/{conv}/transfer", {"colleague": "{big}"}),
    ("POST", "/console/canned", {"id": "{big}", "delete": "1"}),
])
async def test_a_30_digit_id_is_a_400_never_a_500(method: str, path: str, form: dict[str, str], desk: Desk,
                                                  service: ConversationService, db: AsyncEngine) -> None:
    await add_staff(db, "ana", roles=("admin", "mediator", "editor"))
    conv = (await escalate(service, "hygiene-web-2")).conversation_id
    ana = await desk.logged_in("ana")
    big = "9" * 30
    path = path.format(big=big, conv=conv)
    if method == "GET":
        page = await ana.get(path)
    else:
        page = await ana.post(path, {k: v.format(big=big) for k, v in form.items()})
    assert page.status == 400, page.text[:300]
    assert "at most 18 digits" in page.text


# -- spreadsheets ----------------------------------------------------------------------------------------


def hostile_xlsx() -> bytes:
    """A few KB that declare A1:XFD1048576 and use its last cell: read naively, a million rows of 16,384
    cells (the server went to 2 GB)."""
    from openpyxl import Workbook  # type: ignore[import-untyped]

    book = Workbook()
    book.active.append(["flow", "node", "field", "ru"])
    book.active.append(["main", "menu", "text", "Меню"])
    raw = io.BytesIO()
    book.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*" ?/>', b'<dimension ref="A1:XFD1048576"/>', data)
                data = data.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" t="inlineStr">'
                                                     b"<is><t>z</t></is></c></row></sheetData>")
            dst.writestr(item, data)
    return out.getvalue()


def test_a_hostile_spreadsheet_is_refused_within_bounded_memory(tmp_path: Path) -> None:
    """In a child process limited to 1 GB of address space, so that the unfixed reader fails with a
    MemoryError instead of taking the machine's memory."""
    data = hostile_xlsx()
    assert len(data) < 8000
    (tmp_path / "hostile.xlsx").write_bytes(data)
    script = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from bot.flows_db.sheets import SheetError, read_table
        try:
            read_table(open({str(tmp_path / "hostile.xlsx")!r}, "rb").read(), "hostile.xlsx")
        except SheetError as exc:
            print("refused:", exc)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refused: the table has more than 20000 rows" in done.stdout


def test_a_long_cell_or_too_many_rows_in_a_csv_is_refused() -> None:
    with pytest.raises(SheetError, match="row 2, column 4 is longer than"):
        read_table(("flow,node,field,ru\nmain,menu,text," + "я" * 20_001 + "\n").encode(), "t.csv")
    with pytest.raises(SheetError, match="more than 20000 rows"):
        read_table(("flow,node,field,ru\n" + "main,menu,text,x\n" * 20_000).encode(), "t.csv")


# -- YAML in the editor ------------------------------------------------------------------------------------

LAUGHS = "\n".join(["a0: &a0 [x, x, x, x, x, x, x, x, x]"] + [
    f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]) + "\n"  # 9^9 values
DEEP = "format: 1\nid: main\nx: " + "[" * 5000 + "]" * 5000 + "\n"


@pytest.mark.parametrize(("text", "problem"), [
    (LAUGHS, "its aliases expand to more than 200,000 values"),
    (DEEP, "it nests deeper than 40 levels"),  # refused from the text: the parser would take seconds
    ("a: " + "{b: " * 45 + "1" + "}" * 45 + "\n", "it nests deeper than 40 levels"),
    ("a:\n" + "".join("  " * i + "- \n" for i in range(1, 45)) + "  " * 45 + "- x\n", "it nests deeper than 40"),
])
def test_yaml_aliases_and_nesting_have_limits(text: str, problem: str) -> None:
    assert len(LAUGHS) < 500
    data, problems = parse_yaml(text, "x.yaml")
    assert data is None and len(problems) == 1 and problems[0].message.startswith(f"YAML error: {problem}")
    with pytest.raises(EditError, match=re.escape(problem)):  # the editor's forms open files this way
        FlowDoc(text, "x.yaml")


def test_a_recursive_alias_is_refused() -> None:
    assert parse_yaml("a: &a [1, *a]\n", "x.yaml")[1][0].message == (
        "YAML error: an alias refers to a value that contains it")
