"""Reports for coordinators: what the hotline did in a date range, counted by the database.

The conversation figures (people, topics, groups, languages, channels, handoffs, waits, resolutions,
ratings, per mediator) are one statement (`Reports.overview`) over "facts": one row per conversation, the
live ones (with their contact's citizenship and region) and those of contacts who used /forget
(ForgottenConversation: no contact, no messages, no citizenship or region), read once into a
MATERIALIZED common table expression; each figure is a GROUP BY over it. Percentiles are nearest-rank
(the value at rank ceil(p*n)), picked with row_number() so that SQLite and PostgreSQL agree. Figures
read from messages (did this help?, typed questions) count the stored messages only: a forgotten
contact's button presses leave with their messages.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    String,
    case,
    cast,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery

from bot.storage.models import contact_table as contact_t
from bot.storage.models import conversation_table as conversation_t
from bot.storage.models import forgotten_conversation_table as forgotten_t
from bot.storage.models import message_table as message_t
from bot.storage.models import staff_user_table as staff_t
from bot.storage.models import unanswered_question_table as question_t

# The one mapping of taxonomy topics (bot/flowspec/taxonomy.yaml) to the groups grant reports count.
# A test checks that every topic of the taxonomy has a group.
TOPIC_GROUPS: dict[str, str] = {
    "patent_apply": "legal", "patent_payment": "legal", "patent_cost_region": "legal", "patent_renewal": "legal",
    "patent_lost_or_cancelled": "legal", "registration_deadline": "legal", "registration_who_registers": "legal",
    "registration_extend": "legal", "stay_term": "legal", "job_change": "legal", "entry_ban_check": "legal",
    "language_exam": "legal", "inn_snils": "legal", "tax_patent": "legal", "residence_permit": "legal",
    "labour_rights": "legal", "housing": "legal",
    "health_medical_exam": "medical", "health_insurance_dms": "medical", "health_emergency_free_care": "medical",
    "health_hiv_tb": "medical", "pregnancy_birth": "medical", "mental_health": "medical",
    "family_children": "social", "money_bank": "social",
    "handoff_needed": "urgent",
    "out_of_scope": "other",
}
GROUPS: tuple[str, ...] = ("legal", "medical", "social", "urgent", "other")
NONE = "none"  # the label of a missing value (no topic, no language ...)


@dataclass(frozen=True)
class Filters:
    """A date range [start, end) of conversations started, and optional equal-filters."""

    start: dt.datetime
    end: dt.datetime
    channel: str = ""
    lang: str = ""
    citizenship: str = ""
    region: str = ""


@dataclass
class Table:
    """One figure: a key (the console names and explains it), column keys and rows."""

    key: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass
class Durations:
    """Waiting or resolution times in seconds over `count` conversations (None when there are none)."""

    count: int
    median: float | None
    p90: float | None
    within: int  # how many within the limit (the SLA)


def _seconds(conn: AsyncConnection, later: Any, earlier: Any) -> ColumnElement[Any]:
    if conn.dialect.name == "postgresql":
        return cast(func.extract("epoch", later - earlier), Float)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _month(conn: AsyncConnection, column: Any) -> ColumnElement[Any]:
    if conn.dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _group_of(topic: Any) -> ColumnElement[Any]:
    return case(*[(topic.in_([t for t, g in TOPIC_GROUPS.items() if g == group]), literal(group))
                  for group in GROUPS], else_=literal(NONE))


def _facts(*, live_only: bool = False) -> Subquery:
    """One row per conversation, live or forgotten (those with negative ids, never a live one's)."""
    c, k, f = conversation_t.c, contact_t.c, forgotten_t.c
    live = (select(c.id, c.contact_id.label("person"), k.created_at.label("first_seen"), c.channel,
                   func.coalesce(c.lang, k.lang).label("lang"),
                   k.vars["citizenship"].as_string().label("citizenship"), k.vars["region"].as_string().label("region"),
                   c.topic, c.status, c.assignee_id, c.started_at, c.handed_over_at, c.handoff_reason,
                   c.first_response_at, c.resolved_at, c.resolution, c.rating)
            .select_from(conversation_t.join(contact_t, k.id == c.contact_id)))
    if live_only:
        return live.subquery("facts")
    gone = select((-f.id).label("id"), f.person, f.first_seen, f.channel, f.lang,
                  cast(null(), String).label("citizenship"), cast(null(), String).label("region"), f.topic,
                  f.status, f.assignee_id, f.started_at,
                  f.handed_over_at, f.handoff_reason, f.first_response_at, f.resolved_at, f.resolution, f.rating)
    return union_all(live, gone).subquery("facts")


def _where(facts: Subquery, filters: Filters) -> list[ColumnElement[bool]]:
    x = facts.c
    where = [x.started_at >= filters.start, x.started_at < filters.end]
    for column, value in ((x.channel, filters.channel), (x.lang, filters.lang),
                          (x.citizenship, filters.citizenship), (x.region, filters.region)):
        if value:
            where.append(column == value)
    return where


# figure -> (its label from the facts, which conversations it counts (None: all), ordered by label)
_BREAKDOWNS: dict[str, tuple[Any, Any, bool]] = {
    "month": (lambda conn, x: _month(conn, x.started_at), None, True),
    "group": (lambda conn, x: _group_of(x.topic), None, False),
    "topic": (lambda conn, x: x.topic, None, False),
    "language": (lambda conn, x: x.lang, None, False),
    "channel": (lambda conn, x: x.channel, None, False),
    "citizenship": (lambda conn, x: x.citizenship, None, False),
    "region": (lambda conn, x: x.region, None, False),
    "reason": (lambda conn, x: x.handoff_reason, lambda x: x.handed_over_at.is_not(None), False),
    "resolution": (lambda conn, x: x.resolution, lambda x: x.resolved_at.is_not(None), False),
    "rating": (lambda conn, x: x.rating, lambda x: x.rating.is_not(None), True),
}
_ORDERED = frozenset(key for key, (_, _, ordered) in _BREAKDOWNS.items() if ordered)


@dataclass
class Overview:
    summary: Table
    tables: dict[str, Table]
    waits: Durations
    resolution_times: Durations
    mediator_rows: dict[str, tuple[Any, ...]]  # by assignee id: conversations, median, resolved, rated, rating
    mediators: Table = field(default_factory=lambda: Table("mediator", ()))


def _overview(rows: Sequence[Any]) -> Overview:
    """The (figure, label, value) rows of Reports.overview as tables, in the page's order: by label
    (months, ratings) or the most frequent first."""
    found: dict[str, dict[str, float | None]] = {}
    for figure, label, value in rows:
        found.setdefault(figure, {})[label] = value
    s = found["summary"]
    count = {k: int(v or 0) for k, v in s.items() if k != "rating_average"}
    average = s.get("rating_average")
    summary = Table("summary", ("figure", "value"), [
        ("people", count["people"]), ("people_new", count["people_new"]),
        ("people_returning", count["people"] - count["people_new"]), ("conversations", count["conversations"]),
        ("handed_over", count["handed_over"]), ("bot_only", count["bot_only"]),
        ("with_mediator", count["with_mediator"]), ("resolved", count["resolved"]), ("rated", count["rated"]),
        ("rating_average", round(float(average), 2) if average is not None else None)])
    tables = {}
    for key in _BREAKDOWNS:
        counts: list[tuple[Any, int]] = [(label, int(value or 0)) for label, value in found.get(key, {}).items()]
        if key in _ORDERED:
            counts.sort(key=lambda c: c[0])
        else:
            counts.sort(key=lambda c: (-c[1], c[0]))
        if key == "rating":
            counts = [(int(float(label)), n) for label, n in counts]
        tables[key] = Table(key, (key, "conversations"), list(counts))

    def durations(key: str) -> Durations:
        d = found.get(key, {})
        median, p90 = d.get("median"), d.get("p90")
        return Durations(int(d.get("count") or 0), round(float(median), 1) if median is not None else None,
                         round(float(p90), 1) if p90 is not None else None, int(d.get("within") or 0))

    per: dict[str, tuple[Any, ...]] = {}
    for who, n in sorted(found.get("mediator.conversations", {}).items(), key=lambda c: (-(c[1] or 0), c[0])):
        median = found.get("mediator.median", {}).get(who)
        rating = found.get("mediator.rating", {}).get(who)
        per[who] = (int(n or 0), round(float(median), 1) if median is not None else None,
                    int(found.get("mediator.resolved", {}).get(who) or 0),
                    int(found.get("mediator.rated", {}).get(who) or 0),
                    round(float(rating), 2) if rating is not None else None)
    return Overview(summary, tables, durations("wait"), durations("resolution_time"), per)


class Reports:
    def __init__(self, conn: AsyncConnection, sla: dt.timedelta = dt.timedelta(minutes=15)):
        self.conn = conn
        self.sla = sla

    async def _rows(self, query: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in (await self.conn.execute(query)).all()]

    async def overview(self, filters: Filters) -> Overview:
        """Every conversation figure in one statement: the filtered facts are read once (a MATERIALIZED
        common table expression) and each figure is a small aggregate over them, joined by UNION ALL
        as (figure, label, value) rows; percentiles pick ranks with row_number()."""
        facts = _facts()
        f = select(facts).where(*_where(facts, filters)).cte("f").prefix_with("MATERIALIZED")
        x = f.c

        def row(figure: str, label: Any, value: Any) -> Any:
            return select(literal(figure).label("figure"), cast(label, String).label("label"),
                          cast(value, Float).label("value")).select_from(f)

        # people once each (a GROUP BY: hashed on PostgreSQL, where count(DISTINCT) sorts)
        people = (select(x.person, func.max(x.first_seen).label("first_seen")).group_by(x.person)
                  .cte("people").prefix_with("MATERIALIZED"))
        new = case((people.c.first_seen >= filters.start, 1), else_=0)
        parts = [
            select(literal("summary"), literal("people"), cast(func.count(), Float)).select_from(people),
            select(literal("summary"), literal("people_new"), cast(func.coalesce(func.sum(new), 0), Float)),
            row("summary", literal("conversations"), func.count()),
            row("summary", literal("handed_over"), func.count(x.handed_over_at)),
            row("summary", literal("bot_only"), func.coalesce(func.sum(case((x.handed_over_at.is_(None), 1),
                                                                            else_=0)), 0)),
            row("summary", literal("with_mediator"), func.count(x.first_response_at)),
            row("summary", literal("resolved"), func.count(x.resolved_at)),
            row("summary", literal("rated"), func.count(x.rating)),
            row("summary", literal("rating_average"), func.avg(x.rating)),
        ]
        for key, (label, where, _) in _BREAKDOWNS.items():
            expr = label(self.conn, x)
            name = cast(expr, String) if key in _ORDERED else func.coalesce(cast(expr, String), NONE)
            part = row(key, name, func.count())
            if where is not None:
                part = part.where(where(x))
            parts.append(part.group_by(name))
        for key, later, limit in (("wait", "first_response_at", self.sla), ("resolution_time", "resolved_at", None)):
            d = (select(_seconds(self.conn, x[later], x.handed_over_at).label("d"))
                 .where(x.handed_over_at.is_not(None), x[later].is_not(None)).subquery())
            ranked = select(d.c.d, func.row_number().over(order_by=d.c.d).label("rn"),
                            func.count().over().label("n")).subquery()
            r = ranked.c
            for label, percent in (("median", 50), ("p90", 90)):
                parts.append(select(literal(key), literal(label), cast(r.d, Float))
                             .where(r.rn == (percent * r.n + 99) // 100))
            parts.append(select(literal(key), literal("count"), cast(func.count(), Float)).select_from(d))
            if limit is not None:
                parts.append(select(literal(key), literal("within"), cast(func.coalesce(func.sum(
                    case((d.c.d <= limit.total_seconds(), 1), else_=0)), 0), Float)).select_from(d))
        assigned = x.assignee_id.is_not(None)
        for key, value in (("conversations", func.count()), ("resolved", func.count(x.resolved_at)),
                           ("rated", func.count(x.rating)), ("rating", func.avg(x.rating))):
            parts.append(row(f"mediator.{key}", x.assignee_id, value).where(assigned).group_by(x.assignee_id))
        replies = (select(x.assignee_id, _seconds(self.conn, x.first_response_at, x.handed_over_at).label("d"))
                   .where(assigned, x.first_response_at.is_not(None), x.handed_over_at.is_not(None)).subquery())
        ranked = select(replies.c.assignee_id, replies.c.d,
                        func.row_number().over(partition_by=replies.c.assignee_id, order_by=replies.c.d).label("rn"),
                        func.count().over(partition_by=replies.c.assignee_id).label("n")).subquery()
        r = ranked.c
        parts.append(select(literal("mediator.median"), cast(r.assignee_id, String), cast(r.d, Float))
                     .where(r.rn == (50 * r.n + 99) // 100))
        rows = (await self.conn.execute(union_all(*parts))).all()
        found = _overview(rows)
        ids = [int(float(i)) for i in found.mediator_rows]
        names = {row.id: row.name or row.login for row in (await self.conn.execute(
            select(staff_t.c.id, staff_t.c.name, staff_t.c.login).where(staff_t.c.id.in_(ids)))).all()} if ids else {}
        found.mediators = Table("mediator", ("mediator", "conversations", "median_reply_s", "resolved", "rated",
                                             "rating_average"),
                                [(names.get(int(float(i)), i), *values) for i, values in found.mediator_rows.items()])
        return found

    async def summary(self, filters: Filters) -> Table:
        return (await self.overview(filters)).summary

    async def _breakdown(self, key: str, filters: Filters) -> Table:
        return (await self.overview(filters)).tables[key]

    async def by_month(self, filters: Filters) -> Table:
        return await self._breakdown("month", filters)

    async def by_topic(self, filters: Filters) -> Table:
        return await self._breakdown("topic", filters)

    async def by_group(self, filters: Filters) -> Table:
        return await self._breakdown("group", filters)

    async def by_language(self, filters: Filters) -> Table:
        return await self._breakdown("language", filters)

    async def by_channel(self, filters: Filters) -> Table:
        return await self._breakdown("channel", filters)

    async def by_citizenship(self, filters: Filters) -> Table:
        return await self._breakdown("citizenship", filters)

    async def by_region(self, filters: Filters) -> Table:
        return await self._breakdown("region", filters)

    async def handoffs_by_reason(self, filters: Filters) -> Table:
        return await self._breakdown("reason", filters)

    async def resolutions(self, filters: Filters) -> Table:
        return await self._breakdown("resolution", filters)

    async def ratings(self, filters: Filters) -> Table:
        return await self._breakdown("rating", filters)

    async def waits(self, filters: Filters) -> Durations:
        """From the first handover to the first mediator reply; `within` counts those within the SLA."""
        return (await self.overview(filters)).waits

    async def resolution_times(self, filters: Filters) -> Durations:
        """From the first handover to the conversation's resolution."""
        return (await self.overview(filters)).resolution_times

    async def per_mediator(self, filters: Filters) -> Table:
        """Each mediator's conversations, median first-reply time (s), resolved, rated and average rating."""
        return (await self.overview(filters)).mediators

    def _messages_in(self, filters: Filters) -> list[ColumnElement[bool]]:
        """Messages of the conversations the filters select, in the date range by the message's time."""
        m = message_t.c
        dates = [m.created_at >= filters.start, m.created_at < filters.end]
        facts = _facts(live_only=True)
        chosen = _where(facts, filters)[2:]  # the equal-filters; dates apply to the messages
        if not chosen:  # every conversation: no join
            return dates
        return [*dates, m.conversation_id.in_(select(facts.c.id).where(*chosen))]

    async def helpfulness(self, filters: Filters) -> Table:
        """"Did this help?" answered with its buttons, by the answer asked about (the node of the bot's last
        message before), the least helpful first."""
        where = self._messages_in(filters)
        m = message_t.c
        before = message_t.alias("before")
        bc = before.c
        answer = (select(bc.node).where(bc.conversation_id == m.conversation_id, bc.id < m.id, bc.direction == "out",
                                        bc.node.is_not(None))
                  .order_by(bc.id.desc()).limit(1).scalar_subquery())
        raw = cast(m.buttons, String)
        yes = case((raw.like('%"f:yes"%'), 1), else_=0)
        no = case((raw.like('%"f:no"%'), 1), else_=0)
        inner = (select(answer.label("node"), yes.label("yes"), no.label("no"))
                 .select_from(message_t).where(*where, m.direction == "in", m.buttons.is_not(None),
                                               or_(raw.like('%"f:yes"%'), raw.like('%"f:no"%')))).subquery()
        i = inner.c
        node = func.coalesce(i.node, NONE)
        yes_n, no_n = func.sum(i.yes), func.sum(i.no)
        query = (select(node, yes_n, no_n).group_by(node)
                 .order_by((cast(no_n, Float) / (yes_n + no_n)).desc(), no_n.desc(), node))
        return Table("helpfulness", ("answer", "yes", "no"),
                     [(n, int(y), int(no)) for n, y, no in await self._rows(query)])

    async def typed(self, filters: Filters) -> Table:
        """Typed messages (no button, no media, no /command) and typed questions the bot did not understand
        (kept for the editors; filtered by channel and language only: they have no conversation)."""
        where = self._messages_in(filters)
        m, q = message_t.c, question_t.c
        typed = (await self.conn.execute(
            select(func.count()).select_from(message_t).where(
                *where, m.direction == "in", m.buttons.is_(None), m.media.is_(None), ~m.text.like("/%"),
                m.text != ""))).scalar_one()
        missed_where = [q.created_at >= filters.start, q.created_at < filters.end]
        if filters.channel:
            missed_where.append(q.channel == filters.channel)
        if filters.lang:
            missed_where.append(q.lang == filters.lang)
        missed = (await self.conn.execute(select(func.count()).where(*missed_where))).scalar_one()
        typed, missed = int(typed), int(missed)
        share = round(100.0 * (typed - missed) / typed, 1) if typed else None
        return Table("typed", ("figure", "value"),
                     [("typed_messages", typed), ("not_understood", missed), ("understood_percent", share)])

    async def unanswered_by_topic(self, filters: Filters) -> Table:
        q = question_t.c
        where = [q.created_at >= filters.start, q.created_at < filters.end]
        if filters.channel:
            where.append(q.channel == filters.channel)
        if filters.lang:
            where.append(q.lang == filters.lang)
        label = func.coalesce(q.topic_guess, NONE).label("label")
        query = select(label, func.count()).where(*where).group_by(label).order_by(func.count().desc(), label)
        return Table("unanswered", ("topic_guess", "questions"), await self._rows(query))

    async def conversations(self, filters: Filters) -> list[tuple[Any, ...]]:
        """One anonymous row per conversation for the per-conversation export: the person as a random
        number stable within this export, never a contact id; no names, addresses or texts."""
        facts = _facts()
        x = facts.c
        query = (select(x.person, x.started_at, x.channel, x.lang, x.citizenship, x.region, x.topic,
                        _group_of(x.topic), x.handoff_reason,
                        _seconds(self.conn, x.first_response_at, x.handed_over_at),
                        _seconds(self.conn, x.resolved_at, x.handed_over_at), x.resolution, x.rating)
                 .where(*_where(facts, filters)).order_by(x.started_at, x.id))
        people: dict[Any, str] = {}
        rows = []
        for person, started, *rest in await self._rows(query):
            token = people.setdefault(person, secrets.token_hex(6))
            wait, solve = rest[7], rest[8]
            rows.append((token, started.date().isoformat(), *rest[:7],
                         round(float(wait), 1) if wait is not None else None,
                         round(float(solve), 1) if solve is not None else None, *rest[9:]))
        return rows


CONVERSATION_COLUMNS = ("person", "date", "channel", "language", "citizenship", "region", "topic", "group",
                        "handoff_reason", "wait_s", "resolution_s", "resolution", "rating")


async def forget_for_reports(conn: AsyncConnection, contact_id: int) -> None:
    """Before a contact is deleted: their conversations, stripped of everything personal, for the counts."""
    c, k = conversation_t.c, contact_t.c
    person = -(secrets.randbelow(2**31 - 2) + 1)  # negative: never a live contact's id
    rows = (select(literal(person, Integer), k.created_at, c.channel, func.coalesce(c.lang, k.lang), c.topic,
                   c.status, c.assignee_id, c.started_at, c.handed_over_at, c.handoff_reason, c.first_response_at,
                   c.resolved_at, c.resolution, c.rating)
            .select_from(conversation_t.join(contact_t, k.id == c.contact_id)).where(c.contact_id == contact_id))
    columns = ["person", "first_seen", "channel", "lang", "topic", "status", "assignee_id", "started_at",
               "handed_over_at", "handoff_reason", "first_response_at", "resolved_at", "resolution", "rating"]
    await conn.execute(insert(forgotten_t).from_select(columns, rows))


__all__ = ["CONVERSATION_COLUMNS", "GROUPS", "NONE", "TOPIC_GROUPS", "Durations", "Filters", "Reports", "Table",
           "forget_for_reports"]
