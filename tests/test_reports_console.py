"""The reports page over real HTTP on the known dataset (tests/reports_kit.py): coordinators and admins
see every figure, mediators get 403, bad ranges a clear 400; the CSV and XLSX exports hold the same
numbers; the anonymised export holds no name, phone number, chat id or message text."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import AsyncIterator

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.console.reports import date_range
from bot.flowspec import FlowSet
from bot.i18n import Catalogs
from bot.service import ConversationService
from tests.console_kit import SESSION_LIBRARY_KEYS, Desk, serve_desk
from tests.handoff_kit import add_staff
from tests.reports_kit import SECRET_CHAT, SECRET_PHONE, SECRET_TEXT, seed

pytestmark = SESSION_LIBRARY_KEYS
NOVEMBER = {"range": "custom", "from": "2026-11-01", "to": "2026-11-30"}


@pytest.fixture
async def desk(service: ConversationService, db: AsyncEngine, flows: FlowSet,
               catalogs: Catalogs) -> AsyncIterator[Desk]:
    async with serve_desk(service, db, flows, catalogs) as desk:
        yield desk


def cells(html: str, figure: str) -> list[list[str]]:
    """The table rows of one figure of the page, as text."""
    section = html.split(f'id="fig-{figure}"', 1)[1].split("</section>", 1)[0]
    body = section.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_the_ranges() -> None:
    today = dt.date(2026, 12, 8)
    assert date_range({}, today) == ("this_month", dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert date_range({"range": "last_month"}, today)[1:] == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert date_range({"range": "last_month"}, dt.date(2027, 1, 3))[1:] == (dt.date(2026, 12, 1),
                                                                             dt.date(2026, 12, 31))
    assert date_range({"range": "this_quarter"}, today)[1:] == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert date_range({"range": "last_quarter"}, today)[1:] == (dt.date(2026, 7, 1), dt.date(2026, 9, 30))


async def test_a_coordinator_sees_every_figure_and_downloads_them(desk: Desk, db: AsyncEngine) -> None:
    await seed(db)
    await add_staff(db, "cora", roles=("coordinator",), languages=("ru",))
    await add_staff(db, "mira", roles=("mediator",), languages=("ru",))
    coordinator = await desk.logged_in("cora")
    page = await coordinator.get("/console/reports", **NOVEMBER)
    assert page.status == 200, page.text[:300]
    html = page.text
    assert cells(html, "summary") == [
        ["People reached", "4"], ["new", "3"], ["returning", "1"], ["Conversations", "5"],
        ["Handed to a mediator", "3"], ["Answered by the bot only", "2"], ["Answered by a mediator", "3"],
        ["Resolved", "3"], ["Rated", "3"], ["Average rating", "4.0"]]
    assert cells(html, "group") == [["legal", "1"], ["medical", "1"], ["none", "1"], ["social", "1"],
                                    ["urgent", "1"]]
    assert cells(html, "language") == [["tg", "4"], ["uz", "1"]]
    assert cells(html, "reason") == [["keyword", "1"], ["not_understood", "1"], ["urgent", "1"]]
    assert cells(html, "times") == [["Wait for the first reply", "3", "5.0", "30.0", "66.7"],
                                    ["Handover to resolution", "3", "25.0", "60.0", "–"]]
    assert cells(html, "mediator") == [["Aziza", "2", "2.0", "2", "2", "4.5"],
                                       ["Farrukh", "1", "30.0", "1", "1", "3.0"]]
    assert cells(html, "helpfulness") == [["family.school", "0", "1"], ["patent.apply", "2", "0"]]
    assert cells(html, "typed") == [["Typed messages", "2"], ["Not understood", "1"], ["Understood, %", "50.0"]]
    assert cells(html, "rating") == [["3", "1"], ["4", "1"], ["5", "1"]]
    assert html.count("<svg class=\"bars\"") == 11  # every chartable figure has its bars
    assert "Conversations by the language the person used." in html  # each figure says what it counts

    tajik = await coordinator.get("/console/reports", **NOVEMBER, lang="tg")
    assert cells(tajik.text, "summary")[:4] == [["People reached", "3"], ["new", "2"], ["returning", "1"],
                                                ["Conversations", "4"]]

    async with coordinator.http.get(f"{desk.base}/console/reports.csv", params=NOVEMBER) as res:
        assert res.status == 200 and "attachment" in res.headers["Content-Disposition"]
        rows = list(csv.reader(io.StringIO((await res.read()).decode("utf-8-sig"))))
    assert ["In numbers"] in rows and ["People reached", "4"] in rows and ["Aziza", "2", "2.0", "2", "2", "4.5"] in rows
    assert ["Wait for the first reply", "3", "5.0", "30.0", "66.7"] in rows

    async with coordinator.http.get(f"{desk.base}/console/reports.xlsx", params=NOVEMBER) as res:
        assert res.status == 200
        book = load_workbook(io.BytesIO(await res.read()))
    summary = [list(r) for r in book["summary"].iter_rows(min_row=4, values_only=True)]
    assert summary[:4] == [["People reached", 4], ["new", 3], ["returning", 1], ["Conversations", 5]]
    assert [list(r) for r in book["language"].iter_rows(min_row=4, values_only=True)] == [["tg", 4], ["uz", 1]]
    assert book["summary"]["B2"].value is None and book["summary"]["A2"].value == "2026-11-01 - 2026-11-30"

    async with coordinator.http.get(f"{desk.base}/console/reports/conversations.csv", params=NOVEMBER) as res:
        raw = (await res.read()).decode("utf-8-sig")
    for secret in (SECRET_PHONE, SECRET_CHAT, SECRET_TEXT, "Ivan", "777888999"):
        assert secret not in raw
    table = list(csv.DictReader(io.StringIO(raw)))
    assert len(table) == 5 and len({r["person"] for r in table}) == 4  # stable within the export
    assert sorted(r["wait_s"] for r in table if r["wait_s"]) == ["120.0", "1800.0", "300.0"]
    assert {r["topic"] for r in table} == {"patent_payment", "health_medical_exam", "family_children",
                                           "handoff_needed", ""}
    async with coordinator.http.get(f"{desk.base}/console/reports/conversations.csv", params=NOVEMBER) as res:
        again = list(csv.DictReader(io.StringIO((await res.read()).decode("utf-8-sig"))))
    assert {r["person"] for r in again}.isdisjoint({r["person"] for r in table})  # new numbers per export

    summary_page = await coordinator.get("/console/reports/summary", **NOVEMBER)
    assert summary_page.status == 200 and "@page" not in summary_page.text  # print CSS lives in reports.css
    assert cells(summary_page.text, "summary")[0] == ["People reached", "4"]
    assert 'id="fig-mediator"' not in summary_page.text  # one page: the main figures only

    mediator = await desk.logged_in("mira")
    for path in ("/console/reports", "/console/reports.csv", "/console/reports.xlsx",
                 "/console/reports/conversations.csv", "/console/reports/summary"):
        assert (await mediator.get(path, **NOVEMBER)).status == 403, path
    anonymous = await desk.client()
    assert (await anonymous.get("/console/reports")).status == 302


async def test_bad_ranges_get_a_clear_400(desk: Desk, db: AsyncEngine) -> None:
    await add_staff(db, "admin2", roles=("admin",), languages=("ru",))
    admin = await desk.logged_in("admin2")
    assert (await admin.get("/console/reports")).status == 200  # an admin may; this month, empty
    for query, said in (({"range": "custom", "from": "2026-11-01"}, "YYYY-MM-DD"),
                        ({"range": "custom", "from": "2026-11-30", "to": "2026-11-01"}, "ends before"),
                        ({"range": "decade"}, "Unknown range"), ({"lang": "xx"}, "Unknown language"),
                        ({"channel": "fax"}, "Unknown channel")):
        page = await admin.get("/console/reports", **query)
        assert page.status == 400 and said in page.text, (query, page.text)


def test_a_cell_a_spreadsheet_would_run_is_written_as_text() -> None:
    from bot.console.reports import Figure, conversations_csv, to_csv

    table = to_csv([Figure("mediator", ("mediator", "conversations"), [("=HYPERLINK(1)", 2), ("Ana", 1)])],
                   lambda text: text)
    assert "'=HYPERLINK(1)" in table and "\nAna,1" in table.replace("\r\n", "\n")
    assert "'+7916" in conversations_csv([("+7916", "2026-11-02")])
