"""Changes to the price table (`_prices.yaml`) made in the console: one region's figures for one year, or
one year's deflator, written in round-trip mode (comments and order kept) and refused when the table would
not check (`bot.flowspec.prices`). Pure: text in, text out, testable without HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from ruamel.yaml.comments import CommentedMap

from bot.flows_db.yamledit import EditError, FlowDoc
from bot.flowspec import prices
from bot.flowspec.problems import Problem

EMPTY_TABLE = "formula_base: 1200\ndeflators: {}\nprices: {}\n"


@dataclass(frozen=True)
class Figures:
    """What the form says for one region and year (or one year's deflator: `value`)."""

    confidence: str
    source: str
    date: dt.date | None
    coefficient: float | None = None
    amount: float | None = None
    value: float | None = None


def _number(raw: str, what: str) -> float | None:
    raw = raw.strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
    if not raw:
        return None
    try:
        number = float(raw)
    except ValueError:
        raise EditError(f"{what}: '{raw[:20]}' is not a number") from None
    if not 0 < number < 1e7:
        raise EditError(f"{what}: {number:g} is not a plausible figure")
    return number


def figures(form: Mapping[str, str]) -> Figures:
    """The form's fields read strictly: numbers with a comma or a point, a date as YYYY-MM-DD."""
    raw_date = form.get("date", "").strip()
    try:
        date = dt.date.fromisoformat(raw_date) if raw_date else None
    except ValueError:
        raise EditError(f"date: '{raw_date[:20]}' is not a date (YYYY-MM-DD)") from None
    return Figures(
        confidence=form.get("confidence", "").strip(), source=" ".join(form.get("source", "").split()),
        date=date, coefficient=_number(form.get("coefficient", ""), "coefficient"),
        amount=_number(form.get("amount", ""), "amount"), value=_number(form.get("value", ""), "deflator"))


def year_of(raw: str) -> int:
    if not raw.strip().isdigit() or int(raw) not in prices.YEARS:
        raise EditError(f"year: '{raw[:10]}' is not a year between {prices.YEARS[0]} and {prices.YEARS[-1]}")
    return int(raw)


def _flow_map(values: Mapping[str, object]) -> CommentedMap:
    out = CommentedMap((k, v) for k, v in values.items() if v is not None)
    out.fa.set_flow_style()  # one line per year, as the file writes them
    return out


def _child(parent: CommentedMap, key: str) -> CommentedMap:
    child = parent.get(key)
    if not isinstance(child, CommentedMap):
        child = CommentedMap()
        parent[key] = child
    return child


def set_price(text: str | None, region: str, year: int, f: Figures) -> str:
    """The table with `region`'s figures for `year` replaced (a coefficient and/or an amount)."""
    doc = FlowDoc(text or EMPTY_TABLE, prices.FILE)
    entry = {"coefficient": f.coefficient, "amount": f.amount, "confidence": f.confidence, "source": f.source,
             "date": f.date}
    _child(_child(doc.data, "prices"), region)[year] = _flow_map(entry)
    return _checked(doc.dump(), f"prices.{region}.{year}")


def set_deflator(text: str | None, year: int, f: Figures) -> str:
    doc = FlowDoc(text or EMPTY_TABLE, prices.FILE)
    entry = {"value": f.value, "confidence": f.confidence, "source": f.source, "date": f.date}
    _child(doc.data, "deflators")[year] = _flow_map(entry)
    return _checked(doc.dump(), f"deflators.{year}")


def _checked(text: str, where: str) -> str:
    """The new text, or EditError naming what is wrong with the changed entry (problems elsewhere in
    the table are the YAML page's business and do not stop this change)."""
    problems: list[Problem] = []
    data = prices.load_text(text, problems)
    problems += prices.check(data, dt.date.today() + dt.timedelta(days=1))
    mine = [p for p in problems if p.field and (p.field == where or p.field.startswith(where + "."))]
    if mine:
        raise EditError("; ".join(f"{p.field}: {p.message}" for p in mine))
    return text
