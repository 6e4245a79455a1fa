"""The coordinators' reports page: what the hotline did in a date range, as tables and server-drawn SVG
bars, a printable monthly summary (one A4 page) and the exports for grant reports (CSV, XLSX, and an
anonymised per-conversation CSV). The numbers come from bot/storage/reports.py (SQL aggregates).

Page text is English, marked with L_ (Python) and _() (templates) as the console's `console` catalog
domain expects; until the console renders with its own `_`, an identity `_` is the environment's default."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.console.i18n import L_
from bot.console.views import Console
from bot.storage import reading, utcnow
from bot.storage.reports import CONVERSATION_COLUMNS, Durations, Filters, Reports, Table
from bot.vocabulary import CHANNELS, LANGS

ROLE = "coordinator"
CITIZENSHIPS = ("uz", "tj", "kg", "eaeu", "other")  # the values the flows save (flows/main.yaml)
RANGES = {"this_month": L_("This month"), "last_month": L_("Last month"), "this_quarter": L_("This quarter"),
          "last_quarter": L_("Last quarter"), "custom": L_("Custom range")}
MAX_DAYS = 3 * 366  # a longer range is refused: it says nothing a yearly report doesn't

# Each figure: its title and the one line that says what it counts.
FIGURES: dict[str, tuple[str, str]] = {
    "summary": (L_("In numbers"), L_("People: distinct contacts whose conversations started in the range (new: "
                                     "first seen in it). Conversations started in the range, including those of "
                                     "people who later asked to be forgotten.")),
    "month": (L_("Conversations by month"), L_("Conversations by the month they started in.")),
    "group": (L_("Consultations by group"), L_("Conversations by the group of their last topic: legal, medical, "
                                               "social, urgent (none: no topic was reached).")),
    "topic": (L_("Consultations by topic"), L_("Conversations by the last topic the bot answered in them.")),
    "language": (L_("By language"), L_("Conversations by the language the person used.")),
    "channel": (L_("By channel"), L_("Conversations by channel: Telegram, WhatsApp, web chat.")),
    "citizenship": (L_("By citizenship"), L_("Conversations by the citizenship the person gave (none: not given, "
                                             "or forgotten at their request).")),
    "region": (L_("By region"), L_("Conversations by the region the person gave.")),
    "reason": (L_("Handoffs by reason"), L_("Conversations handed to a mediator, by why the bot handed them over "
                                            "the first time.")),
    "times": (L_("Waiting and resolution times"), L_("From the first handover to the first mediator reply, and "
                                                     "to the resolution, in minutes (median and 90th percentile); "
                                                     "the share of first replies within the SLA.")),
    "resolution": (L_("Resolutions"), L_("Resolved conversations by the category the mediator chose.")),
    "rating": (L_("Ratings"), L_("Ratings (1-5) people gave after a mediator resolved their conversation.")),
    "mediator": (L_("Per mediator"), L_("Conversations each mediator had, their median first-reply time in "
                                        "minutes, resolved and rated conversations and the average rating.")),
    "helpfulness": (L_("Did this help?"), L_("Yes and No pressed under an answer, by answer; the least helpful "
                                             "first.")),
    "typed": (L_("Typed questions"), L_("Typed messages (no button, no command) and those the bot did not "
                                        "understand (kept for the editors); the share understood.")),
    "unanswered": (L_("Not understood, by topic guess"), L_("Typed questions the bot did not understand, by the "
                                                            "topic it guessed.")),
}
COLUMNS: dict[str, str] = {
    "figure": L_("Figure"), "value": L_("Value"), "conversations": L_("Conversations"), "month": L_("Month"),
    "group": L_("Group"), "topic": L_("Topic"), "language": L_("Language"), "channel": L_("Channel"),
    "citizenship": L_("Citizenship"), "region": L_("Region"), "reason": L_("Reason"),
    "resolution": L_("Resolution"), "rating": L_("Rating"), "mediator": L_("Mediator"),
    "median_reply_min": L_("Median reply, min"), "resolved": L_("Resolved"), "rated": L_("Rated"),
    "rating_average": L_("Average rating"), "answer": L_("Answer"), "yes": L_("Yes"), "no": L_("No"),
    "topic_guess": L_("Topic guess"), "questions": L_("Questions"), "time": L_("Time"), "count": L_("Count"),
    "median_min": L_("Median, min"), "p90_min": L_("90th percentile, min"), "within_sla": L_("Within SLA, %"),
    # the rows of the summary and typed-questions tables
    "people": L_("People reached"), "people_new": L_("new"), "people_returning": L_("returning"),
    "handed_over": L_("Handed to a mediator"), "bot_only": L_("Answered by the bot only"),
    "with_mediator": L_("Answered by a mediator"), "typed_messages": L_("Typed messages"),
    "not_understood": L_("Not understood"), "understood_percent": L_("Understood, %"),
    "wait": L_("Wait for the first reply"), "resolution_time": L_("Handover to resolution"),
}
CHARTS = ("month", "group", "language", "channel", "citizenship", "region", "reason", "resolution", "rating",
          "topic", "unanswered")
SUMMARY_FIGURES = ("summary", "group", "language", "channel", "reason", "times", "rating")  # the A4 page


class BadRange(ValueError):
    pass


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def date_range(query: Any, today: dt.date) -> tuple[str, dt.date, dt.date]:
    """(range name, first day, last day) from the query: this/last month or quarter, or custom dates."""
    name = str(query.get("range") or "this_month")
    if name == "this_month":
        start = _month_start(today)
        return name, start, _add_months(start, 1) - dt.timedelta(days=1)
    if name == "last_month":
        start = _add_months(_month_start(today), -1)
        return name, start, _add_months(start, 1) - dt.timedelta(days=1)
    if name in ("this_quarter", "last_quarter"):
        start = dt.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
        if name == "last_quarter":
            start = _add_months(start, -3)
        return name, start, _add_months(start, 3) - dt.timedelta(days=1)
    if name == "custom":
        try:
            first = dt.date.fromisoformat(str(query.get("from", "")))
            last = dt.date.fromisoformat(str(query.get("to", "")))
        except ValueError:
            raise BadRange("Give both dates of a custom range as YYYY-MM-DD.") from None
        if last < first:
            raise BadRange("The range ends before it starts.")
        if (last - first).days > MAX_DAYS:
            raise BadRange("A range can be at most three years long.")
        return name, first, last
    raise BadRange(f"Unknown range {name!r}: use one of {', '.join(RANGES)}.")


def filters_from(query: Any, today: dt.date) -> tuple[str, Filters]:
    name, first, last = date_range(query, today)
    values = {key: str(query.get(key) or "").strip() for key in ("channel", "lang", "citizenship", "region")}
    if values["channel"] and values["channel"] not in CHANNELS:
        raise BadRange(f"Unknown channel {values['channel']!r}.")
    if values["lang"] and values["lang"] not in LANGS:
        raise BadRange(f"Unknown language {values['lang']!r}.")
    if len(values["region"]) > 60 or len(values["citizenship"]) > 20:
        raise BadRange("A filter is too long.")
    start = dt.datetime.combine(first, dt.time(), dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), dt.UTC)
    return name, Filters(start, end, **values)


@dataclass
class Figure:
    key: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    bars: list[tuple[str, int, float]] = field(default_factory=list)  # label, value, width in % of the largest

    @property
    def title(self) -> str:
        return FIGURES[self.key][0]

    @property
    def explain(self) -> str:
        return FIGURES[self.key][1]


def _minutes(seconds: float | None) -> float | None:
    return round(seconds / 60, 1) if seconds is not None else None


def _times(wait: Durations, solve: Durations) -> Figure:
    within = round(100.0 * wait.within / wait.count, 1) if wait.count else None
    return Figure("times", ("time", "count", "median_min", "p90_min", "within_sla"), [
        ("wait", wait.count, _minutes(wait.median), _minutes(wait.p90), within),
        ("resolution_time", solve.count, _minutes(solve.median), _minutes(solve.p90), None)])


def _figure(table: Table) -> Figure:
    figure = Figure(table.key, table.columns, table.rows)
    if table.key == "mediator":  # seconds to minutes
        figure.columns = ("mediator", "conversations", "median_reply_min", "resolved", "rated", "rating_average")
        figure.rows = [(row[0], row[1], _minutes(row[2]), *row[3:]) for row in table.rows]
    if table.key in CHARTS and table.rows:
        top = max(int(row[1]) for row in table.rows) or 1
        figure.bars = [(str(row[0]), int(row[1]), round(100.0 * int(row[1]) / top, 1)) for row in table.rows]
    return figure


async def collect(db: Any, filters: Filters, sla: dt.timedelta) -> list[Figure]:
    """Every figure of the page, in its order: the conversation figures from one statement, the message
    figures from three more, run side by side (each on its own connection: PostgreSQL answers them in
    parallel; SQLite's one connection takes them in turn)."""
    async def run(method: Callable[[Reports], Awaitable[Any]]) -> Any:
        async with reading(db) as tx:
            return await method(tx.reports(sla))

    overview, helpfulness, typed, unanswered = await asyncio.gather(
        run(lambda r: r.overview(filters)), run(lambda r: r.helpfulness(filters)), run(lambda r: r.typed(filters)),
        run(lambda r: r.unanswered_by_topic(filters)))
    t = overview.tables
    figures = [_figure(overview.summary)] + [_figure(t[key]) for key in (
        "month", "group", "topic", "language", "channel", "citizenship", "region", "reason")]
    figures.append(_times(overview.waits, overview.resolution_times))
    figures += [_figure(t["resolution"]), _figure(t["rating"])]
    figures += [_figure(table) for table in (overview.mediators, helpfulness, typed, unanswered)]
    return figures


NAMED_ROWS = ("summary", "times", "typed")  # tables whose rows are named by COLUMNS' keys


def _cell(figure: Figure, value: Any, tr: Callable[[str], str]) -> Any:
    return tr(COLUMNS[value]) if figure.key in NAMED_ROWS and value in COLUMNS else value


def _safe(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (=, +, -, @) is written as text."""
    return "'" + value if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") else value


def to_csv(figures: Sequence[Figure], tr: Callable[[str], str]) -> str:
    """Every table one after another: its title, its header, its rows, an empty line."""
    out = io.StringIO()
    writer = csv.writer(out)
    for f in figures:
        writer.writerow([tr(f.title)])
        writer.writerow([tr(COLUMNS.get(c, c)) for c in f.columns])
        writer.writerows([[_safe(_cell(f, v, tr)) if i == 0 else v for i, v in enumerate(row)] for row in f.rows])
        writer.writerow([])
    return out.getvalue()


def to_xlsx(figures: Sequence[Figure], tr: Callable[[str], str], heading: str) -> bytes:
    """One sheet per table, its header in bold."""
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Font  # type: ignore[import-untyped]

    book = Workbook()
    book.remove(book.active)  # the empty default sheet
    for f in figures:
        sheet = book.create_sheet(f.key[:31])
        sheet.append([tr(f.title)])
        sheet.append([heading])
        sheet.append([tr(COLUMNS.get(c, c)) for c in f.columns])
        for cell in sheet[3]:
            cell.font = Font(bold=True)
        for row in f.rows:
            sheet.append([_safe(_cell(f, v, tr)) if i == 0 else v for i, v in enumerate(row)])
        sheet.column_dimensions["A"].width = 34
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def conversations_csv(rows: Sequence[tuple[Any, ...]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CONVERSATION_COLUMNS)
    writer.writerows([[_safe(v) for v in row] for row in rows])
    return out.getvalue()


class ReportsPage:
    def __init__(self, console: Console, today: Callable[[], dt.date] = lambda: utcnow().date()):
        self.console, self.today = console, today
        # a console that renders with its own `_` (per request language) overrides this default
        console.env.globals.setdefault("_", lambda message, **params: message)

    def _tr(self) -> Callable[[str], str]:
        """The exports' words: English (the catalogs translate the page)."""
        return lambda text: text

    def _filters(self, request: web.Request) -> tuple[str, Filters]:
        self.console.me(request, ROLE)
        try:
            return filters_from(request.query, self.today())
        except BadRange as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None

    def _name(self, filters: Filters, suffix: str) -> str:
        last = (filters.end - dt.timedelta(days=1)).date()
        return f"hotline-{filters.start.date().isoformat()}-{last.isoformat()}{suffix}"

    async def _figures(self, filters: Filters) -> list[Figure]:
        return await collect(self.console.db, filters, self.console.handoff.policy.sla)

    def _render(self, template: str, request: web.Request, **context: Any) -> web.Response:
        return self.console.render(template, request, named_rows=NAMED_ROWS, columns=COLUMNS, ranges=RANGES,
                                   channels=tuple(CHANNELS), langs=LANGS, citizenships=CITIZENSHIPS, q=request.query,
                                   **context)

    async def page(self, request: web.Request) -> web.Response:
        name, filters = self._filters(request)
        figures = await self._figures(filters)
        last = filters.end - dt.timedelta(days=1)
        return self._render("reports.html", request, figures=figures, range_name=name, first=filters.start.date(),
                            last=last.date(), query_string=request.query_string)

    async def summary(self, request: web.Request) -> web.Response:
        """The printable one-page summary of a month (last month unless asked otherwise)."""
        if "range" not in request.query:
            raise web.HTTPFound(f"/console/reports/summary?range=last_month&{request.query_string}".rstrip("&"))
        _, filters = self._filters(request)
        figures = [f for f in await self._figures(filters) if f.key in SUMMARY_FIGURES]
        last = filters.end - dt.timedelta(days=1)
        return self._render("reports_summary.html", request, figures=figures, first=filters.start.date(),
                            last=last.date(), made=utcnow(), query_string=request.query_string)

    async def csv(self, request: web.Request) -> web.Response:
        _, filters = self._filters(request)
        text = to_csv(await self._figures(filters), self._tr())
        return _download(text.encode("utf-8-sig"), "text/csv", self._name(filters, ".csv"))

    async def xlsx(self, request: web.Request) -> web.Response:
        _, filters = self._filters(request)
        last = (filters.end - dt.timedelta(days=1)).date()
        heading = f"{filters.start.date().isoformat()} - {last.isoformat()}"
        data = to_xlsx(await self._figures(filters), self._tr(), heading)
        return _download(data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                         self._name(filters, ".xlsx"))

    async def conversations(self, request: web.Request) -> web.Response:
        """One row per conversation, anonymised: a random person number per export, no names, addresses
        or texts."""
        _, filters = self._filters(request)
        async with reading(self.console.db) as tx:
            rows = await tx.reports(self.console.handoff.policy.sla).conversations(filters)
        return _download(conversations_csv(rows).encode("utf-8-sig"), "text/csv",
                         self._name(filters, "-conversations.csv"))


def _download(body: bytes, content_type: str, filename: str) -> web.Response:
    return web.Response(body=body, content_type=content_type, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff"})


def setup(app: web.Application, page: ReportsPage) -> None:
    r = app.router
    r.add_get("/console/reports", page.page)
    r.add_get("/console/reports/summary", page.summary)
    r.add_get("/console/reports.csv", page.csv)
    r.add_get("/console/reports.xlsx", page.xlsx)
    r.add_get("/console/reports/conversations.csv", page.conversations)
