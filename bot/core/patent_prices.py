"""The patent price table as the calculator and the region question use it: the 89 regions with the names
people type for them (bot/flowspec/regions.yaml, read once) and, per region and year, what the flow set's
price table (`_prices.yaml`, `FlowSet.prices`) knows: NDFL deflators, regional coefficients, published
monthly amounts. A table is built once per price data (the data is immutable and hashable)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from bot.core.normalize import skeleton
from bot.flowspec.prices import EMPTY, PriceData
from bot.flowspec.prices import PriceEntry as Entry
from bot.flowspec.regions import region_data

QUOTED = ("V", "V-")  # confidences good enough to quote a published amount
MIN_TYPED = 3  # letters typed before a part of a name is matched


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


@functools.cache
def _regions() -> tuple[tuple[str, dict[str, str], tuple[str, ...]], ...]:
    out = []
    for rid, raw in (region_data().get("regions") or {}).items():
        names = {str(k): str(v) for k, v in raw["names"].items()}
        forms = [*names.values(), *(str(m) for m in raw.get("match") or [])]
        out.append((str(rid), names, tuple(dict.fromkeys(s for s in (skeleton(f).strip() for f in forms) if s))))
    return tuple(out)


@functools.lru_cache(maxsize=8)  # the served flow set's table, and a scheduled or previewed one
def table(prices: PriceData = EMPTY) -> Table:
    regions = {rid: Region(rid, names, match, prices.entries(rid)) for rid, names, match in _regions()}
    deflators = {year: d.value for year, d in prices.deflators}
    sources = {year: d.source for year, d in prices.deflators}
    return Table(prices.base, deflators, sources, regions)
