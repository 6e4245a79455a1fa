"""The patent price table (bot/flowspec/patent_prices.yaml): NDFL deflators per year, regional
coefficients or published monthly amounts per region and year, and the 89 regions with the names people
type for them. Read once, on first use; the file ships with the package."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any

from bot.core.normalize import skeleton
from bot.flowspec.regions import price_data

QUOTED = ("V", "V-")  # confidences good enough to quote a published amount
MIN_TYPED = 3  # letters typed before a part of a name is matched


@dataclass(frozen=True)
class Entry:
    """One region and year: a coefficient and/or a published amount, with where it comes from."""

    coefficient: float | None
    amount: float | None
    confidence: str
    source: str
    date: dt.date | None


@dataclass(frozen=True)
class Region:
    id: str
    names: dict[str, str]  # language -> official name (ru always)
    match: tuple[str, ...]  # skeletons of every name and typed form
    years: dict[int, Entry] = field(default_factory=dict)


@dataclass(frozen=True)
class Table:
    base: float
    deflators: dict[int, float]
    deflator_sources: dict[int, str]
    regions: dict[str, Region]

    def amount_by_formula(self, region: str, year: int) -> float | None:
        entry = self.regions[region].years.get(year) if region in self.regions else None
        deflator = self.deflators.get(year)
        if entry is None or entry.coefficient is None or deflator is None:
            return None
        return round(self.base * deflator * entry.coefficient, 2)

    def find(self, text: str) -> list[str]:
        """The regions a typed text names: a whole name or typed form inside the text ("работаю в
        Казани" -> tatarstan), else a name that starts with what was typed ("твер", "sankt")."""
        typed = skeleton(text).strip()
        if len(typed.replace(" ", "")) < MIN_TYPED:
            return []
        padded = f" {typed} "
        words = typed.split()
        hits = {r.id: max((len(m) for m in r.match if _names(m, padded, words)), default=0)
                for r in self.regions.values()}
        best = max(hits.values())
        if best:  # the longest name wins: "нижний новгород" over "новгород"
            return [i for i, n in hits.items() if n == best]
        return [r.id for r in self.regions.values()
                if any(m.startswith(typed) or f" {typed}" in f" {m}" for m in r.match)]


def _names(form: str, padded: str, words: list[str]) -> bool:
    """Whether a text names a region by one of its forms, also inflected: "в Твери", "Казани"."""
    if f" {form} " in padded:
        return True
    if " " in form:
        return False
    stem = form[:-1] if len(form) >= 5 and form[-1] in "aeiouy" else form
    return len(stem) >= 4 and any(w.startswith(stem) and len(w) <= len(form) + 3 for w in words)


def _entry(raw: dict[str, Any]) -> Entry:
    coefficient = raw.get("coefficient")
    amount = raw.get("amount")
    return Entry(
        coefficient=float(coefficient) if coefficient is not None else None,
        amount=float(amount) if amount is not None else None,
        confidence=str(raw.get("confidence", "U")),
        source=str(raw.get("source", "")),
        date=raw.get("date") if isinstance(raw.get("date"), dt.date) else None,
    )


def parse(data: dict[str, Any]) -> Table:
    prices: dict[str, Any] = data.get("prices") or {}
    regions: dict[str, Region] = {}
    for rid, raw in (data.get("regions") or {}).items():
        names = {str(k): str(v) for k, v in raw["names"].items()}
        forms = [*names.values(), *(str(m) for m in raw.get("match") or [])]
        keys = tuple(dict.fromkeys(s for s in (skeleton(f).strip() for f in forms) if s))
        years = {int(y): _entry(e) for y, e in (prices.get(rid) or {}).items()}
        regions[str(rid)] = Region(str(rid), names, keys, years)
    deflators = {int(y): float(d["value"]) for y, d in (data.get("deflators") or {}).items()}
    sources = {int(y): str(d.get("source", "")) for y, d in (data.get("deflators") or {}).items()}
    return Table(float(data.get("formula_base", 1200)), deflators, sources, regions)


@functools.cache
def table() -> Table:
    return parse(price_data())
