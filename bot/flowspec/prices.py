"""The patent price table of a flow set (`_prices.yaml`): the NDFL deflator per year and, per region and
year, the regional coefficient and/or a published monthly amount, each with its source, date and
confidence. It travels with the flows, so an editor's change is checked, published, scheduled and rolled
back like any answer. Read strictly: every problem is located (`_prices.yaml > prices.tver.2026: ...`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bot.flowspec.problems import Problem
from bot.flowspec.regions import region_ids

FILE = "_prices.yaml"
CONFIDENCES = ("V", "V-", "U")
YEARS = range(2015, 2101)
AGREEMENT_RUB = 1.0  # a published amount and the formula may differ by rounding only
ENTRY_FIELDS = {"coefficient", "amount", "confidence", "source", "date", "reported"}  # reported: never quoted
DEFLATOR_FIELDS = {"value", "confidence", "source", "date"}


@dataclass(frozen=True)
class PriceEntry:
    """One region and year: a coefficient and/or a published amount, with where it comes from."""

    coefficient: float | None
    amount: float | None
    confidence: str
    source: str
    date: dt.date | None


@dataclass(frozen=True)
class Deflator:
    value: float
    confidence: str
    source: str
    date: dt.date | None


@dataclass(frozen=True)
class PriceData:
    """Immutable (and hashable: the core caches what it derives from it)."""

    base: float
    deflators: tuple[tuple[int, Deflator], ...]
    prices: tuple[tuple[str, tuple[tuple[int, PriceEntry], ...]], ...]

    def deflator(self, year: int) -> Deflator | None:
        return dict(self.deflators).get(year)

    def entries(self, region: str) -> dict[int, PriceEntry]:
        return dict(dict(self.prices).get(region, ()))

    def by_formula(self, region: str, year: int) -> float | None:
        entry, deflator = self.entries(region).get(year), self.deflator(year)
        if entry is None or entry.coefficient is None or deflator is None:
            return None
        return round(self.base * deflator.value * entry.coefficient, 2)


EMPTY = PriceData(1200.0, (), ())


def _number(raw: Any, where: str, problems: list[Problem], *, positive: bool = True) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        problems.append(Problem(FILE, None, where, f"must be a number, not {raw!r}"))
        return None
    if positive and raw <= 0:
        problems.append(Problem(FILE, None, where, f"must be above zero, not {raw}"))
        return None
    return float(raw)


def _common(raw: dict[str, Any], where: str, problems: list[Problem]) -> tuple[str, str, dt.date | None]:
    confidence = str(raw.get("confidence", ""))
    if confidence not in CONFIDENCES:
        problems.append(Problem(FILE, None, f"{where}.confidence",
                                f"must be one of {', '.join(CONFIDENCES)}, not {confidence or 'missing'}"))
    source = raw.get("source")
    if not isinstance(source, str) or not source.strip():
        problems.append(Problem(FILE, None, f"{where}.source", "missing: say where the figure comes from"))
    date = raw.get("date")
    if date is not None and not isinstance(date, dt.date):
        problems.append(Problem(FILE, None, f"{where}.date", f"must be a date (YYYY-MM-DD), not {date!r}"))
        date = None
    return confidence, str(source or ""), date


def _year(raw: Any, where: str, problems: list[Problem]) -> int | None:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw not in YEARS:
        problems.append(Problem(FILE, None, where, f"must be a year between {YEARS[0]} and {YEARS[-1]}, not {raw!r}"))
        return None
    return raw


def _mapping(raw: Any, where: str, problems: list[Problem]) -> dict[Any, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(Problem(FILE, None, where or None, "must be a mapping"))
        return {}
    return raw


def _unknown_fields(raw: dict[str, Any], allowed: set[str], where: str, problems: list[Problem]) -> None:
    for key in raw:
        if key not in allowed:
            problems.append(Problem(FILE, None, f"{where}.{key}",
                                    f"unknown field (known: {', '.join(sorted(allowed))})"))


def parse(data: Any, problems: list[Problem]) -> PriceData:
    data = _mapping(data, "", problems)
    _unknown_fields(data, {"formula_base", "deflators", "prices"}, "", problems)
    base = _number(data.get("formula_base", 1200), "formula_base", problems) or 1200.0
    deflators: list[tuple[int, Deflator]] = []
    for y, raw in _mapping(data.get("deflators"), "deflators", problems).items():
        where = f"deflators.{y}"
        year = _year(y, where, problems)
        raw = _mapping(raw, where, problems)
        _unknown_fields(raw, DEFLATOR_FIELDS, where, problems)
        value = _number(raw.get("value"), f"{where}.value", problems)
        if value is None and "value" not in raw:
            problems.append(Problem(FILE, None, f"{where}.value", "missing"))
        confidence, source, date = _common(raw, where, problems)
        if year is not None and value is not None:
            deflators.append((year, Deflator(value, confidence, source, date)))
    known = set(region_ids())
    prices: list[tuple[str, tuple[tuple[int, PriceEntry], ...]]] = []
    for region, years in _mapping(data.get("prices"), "prices", problems).items():
        if str(region) not in known:
            problems.append(Problem(FILE, None, f"prices.{region}",
                                    "unknown region id (see bot/flowspec/regions.yaml)"))
            continue
        entries: list[tuple[int, PriceEntry]] = []
        for y, raw in _mapping(years, f"prices.{region}", problems).items():
            where = f"prices.{region}.{y}"
            year = _year(y, where, problems)
            raw = _mapping(raw, where, problems)
            _unknown_fields(raw, ENTRY_FIELDS, where, problems)
            coefficient = _number(raw.get("coefficient"), f"{where}.coefficient", problems)
            amount = _number(raw.get("amount"), f"{where}.amount", problems)
            told = any(p.field and p.field.startswith(where) for p in problems)
            if coefficient is None and amount is None and "reported" not in raw and not told:
                problems.append(Problem(FILE, None, where, "needs a coefficient or an amount"))
            confidence, source, date = _common(raw, where, problems)
            if year is not None and (coefficient is not None or amount is not None):
                entries.append((year, PriceEntry(coefficient, amount, confidence, source, date)))
        prices.append((str(region), tuple(sorted(entries))))
    return PriceData(base, tuple(sorted(deflators)), tuple(prices))


def load_text(text: str | None, problems: list[Problem]) -> PriceData:
    """The price table of a flow set from the text of its `_prices.yaml` (none: an empty table, every
    price "not known in our data")."""
    if text is None:
        return EMPTY
    try:
        data = YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        problems.append(Problem(FILE, None, None, f"is not valid YAML: {exc}".splitlines()[0]))
        return EMPTY
    return parse(data, problems)


def check(prices: PriceData, today: dt.date) -> list[Problem]:
    """What `hotline flows check` says of a table that loaded: a published amount that the formula
    contradicts, and a source dated after today."""
    problems: list[Problem] = []
    for year, deflator in prices.deflators:
        if deflator.date is not None and deflator.date > today:
            problems.append(Problem(FILE, None, f"deflators.{year}.date", f"{deflator.date} is after today"))
    for region, entries in prices.prices:
        for year, entry in entries:
            where = f"prices.{region}.{year}"
            if entry.date is not None and entry.date > today:
                problems.append(Problem(FILE, None, f"{where}.date", f"{entry.date} is after today"))
            exact = prices.by_formula(region, year)
            if entry.amount is not None and exact is not None and abs(entry.amount - exact) >= AGREEMENT_RUB:
                problems.append(Problem(FILE, None, where, (
                    f"the published amount {entry.amount:g} does not agree with the formula: "
                    f"{prices.base:g} × {prices.deflator(year).value:g} × {entry.coefficient:g} = {exact:g}"  # type: ignore[union-attr]
                )))
    return problems
