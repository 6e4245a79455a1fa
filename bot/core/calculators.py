"""Named calculators that `calculate` nodes run. Pure functions of their inputs and today's date.

Each calculator declares its inputs and outputs so that `hotline flows check` can verify the nodes
that use it, and the switch cases on its status outputs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.core import patent_prices
from bot.flowspec.prices import EMPTY, PriceData


@dataclass(frozen=True)
class Phrase:
    """Text the engine translates into the contact's language: gettext msgid (+ plural and count)."""

    msgid: str
    plural: str | None = None
    n: int = 1


@dataclass(frozen=True)
class Names:
    """A name given in several languages (a region's): the engine shows the contact's language, else
    Russian."""

    by_lang: tuple[tuple[str, str], ...]

    def get(self, lang: str) -> str:
        names = dict(self.by_lang)
        return names.get(lang) or names.get("ru") or next(iter(names.values()), "")


Value = dt.date | int | float | str | Phrase | Names


@dataclass(frozen=True)
class Calculator:
    name: str
    inputs: Mapping[str, str]  # input name -> kind ("date", "integer", "citizenship")
    outputs: Mapping[str, str]  # output name -> kind ("date", "integer", "status", "phrase")
    fn: Callable[..., dict[str, Value]]
    statuses: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # status output -> values
    reads_prices: bool = False  # given the flow set's price table (`prices=`)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day of the month `months` later, clamped to the month's last day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    next_first = dt.date(year + month // 12, month % 12 + 1, 1)
    last_day = (next_first - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last_day))


# Russia's fixed public holidays (Labour Code art. 112). The government also moves days off each year;
# those transfers are not known here.
HOLIDAYS = {(1, d) for d in range(1, 9)} | {(2, 23), (3, 8), (5, 1), (5, 9), (6, 12), (11, 4)}


def add_working_days(day: dt.date, count: int) -> dt.date:
    """`count` working days after `day` (before it, when negative), always erring to the safe side for
    a migrant: counting forward, holidays are not skipped (the result is never after the legal
    deadline); counting back to "apply N working days before", holidays are skipped (never after it
    either)."""
    current = day
    step = 1 if count >= 0 else -1
    remaining = abs(count)
    while remaining:
        current += dt.timedelta(days=step)
        if current.weekday() < 5 and (step > 0 or (current.month, current.day) not in HOLIDAYS):
            remaining -= 1
    return current


def patent_next_payment(*, issue_date: dt.date, months_paid: int, today: dt.date) -> dict[str, Value]:
    # The paid period starts on the issue date: one month from 10 March covers up to 9 April
    # (UMVD Tula, 2026-03-05). A patent lasts at most 12 months from its issue date in total.
    # When the month is shorter than the issue day (issued 31 Jan), add_months clamps to the month's
    # last day and the day before it is taken: the earlier, safe date.
    paid_until = add_months(issue_date, months_paid) - dt.timedelta(days=1)
    term_end = add_months(issue_date, 12) - dt.timedelta(days=1)
    days_left = (paid_until - today).days
    if months_paid >= 12:
        status = "term_over"
    elif days_left < 0:
        status = "overdue"
    elif days_left <= 7:
        status = "soon"
    else:
        status = "ok"
    return {
        "paid_until": paid_until,
        "pay_by": paid_until - dt.timedelta(days=4),
        "days_left": days_left,
        "term_end": term_end,
        "reissue_by": add_working_days(term_end, -10),
        "payment_status": status,
    }


# Registration deadlines by citizenship: (days, working days?) — 109-FZ; RU-UZ (2022) and RU-TJ (2013)
# agreements; EAEU rules for Kyrgyzstan. The stay is counted from the date of entry on the migration card.
_REGISTRATION_RULES: dict[str, tuple[int, bool]] = {
    "uz": (15, False),
    "tj": (15, False),
    "kg": (30, False),
    "eaeu": (30, False),  # Kazakhstan, Armenia, Belarus (EAEU, like Kyrgyzstan)
    "other": (7, True),
}


def registration_deadline(*, citizenship: str, arrival_date: dt.date, today: dt.date) -> dict[str, Value]:
    days, working = _REGISTRATION_RULES.get(citizenship, _REGISTRATION_RULES["other"])
    # No official text says whether the arrival day is day 1 of the term, so the arrival day is counted
    # as day 1, the earlier and safe date: arrival on 1 March -> register by 15 March for 15 days. For
    # working days the arrival day is day 1 when it is a weekday (a holiday on a weekday counts too).
    if working:
        arrival_counts = arrival_date.weekday() < 5
        due = add_working_days(arrival_date, days - 1) if arrival_counts else add_working_days(arrival_date, days)
        rule = Phrase("%(num)d working day", "%(num)d working days", days)
    else:
        due = arrival_date + dt.timedelta(days=days - 1)
        rule = Phrase("%(num)d day", "%(num)d days", days)
    days_left = (due - today).days
    return {
        "registration_due": due,
        "registration_rule": rule,
        "days_left": days_left,
        "registration_status": "overdue" if days_left < 0 else "ok",
    }


def written_number(value: float) -> str:
    """10 000, 8 696,52, 2,3858: as all four languages write numbers, every digit kept (a coefficient
    has four decimals, more than the engine's number format shows)."""
    text = f"{value:,.4f}".rstrip("0").rstrip(".")
    return text.replace(",", " ").replace(".", ",")


PRICE_STATUSES = ("published", "computed", "unknown_coefficient", "unknown_region", "unknown_year")
PATENT_PRICE_OUTPUTS = {
    "price_year": "text", "price_region": "name", "price_amount": "text", "price_exact": "text",
    "price_coefficient": "text", "price_deflator": "text", "price_source": "text", "price_status": "status",
}


def patent_price(*, region: str, today: dt.date, prices: PriceData = EMPTY) -> dict[str, Value]:
    """The monthly patent payment in a region for the current year: the published amount (checked
    against the formula where both are known, see tests), else 1,200 × deflator × coefficient as our
    own arithmetic ("about"), else plainly unknown."""
    table = patent_prices.table(prices)
    year = today.year
    known = table.regions.get(region)
    entry = known.years.get(year) if known else None
    deflator = table.deflators.get(year)
    exact = table.amount_by_formula(region, year)
    out: dict[str, Value] = {
        "price_year": str(year),  # a year, not a number to format ("2 026")
        "price_region": Names(tuple(known.names.items())) if known else "",
        "price_amount": "",
        "price_exact": written_number(exact) if exact else "",
        "price_coefficient": written_number(entry.coefficient) if entry and entry.coefficient else "",
        "price_deflator": written_number(deflator) if deflator else "",
        "price_source": (f"{entry.source}, {entry.date:%d.%m.%Y}" if entry and entry.date
                         else entry.source if entry else ""),
    }
    if entry is not None and entry.amount is not None and entry.confidence in patent_prices.QUOTED:
        out["price_amount"] = written_number(entry.amount)
        status = "published"
    elif exact is not None:
        out["price_amount"] = written_number(round(exact, -2))  # "about": the exact sum is the tax office's
        status = "computed"
    elif deflator is None:
        status = "unknown_year"
    elif known is None:
        status = "unknown_region"
    else:
        status = "unknown_coefficient"
    out["price_status"] = status
    return out


CALCULATORS: dict[str, Calculator] = {
    c.name: c
    for c in (
        Calculator(
            name="patent_next_payment",
            inputs={"issue_date": "date", "months_paid": "integer"},
            outputs={
                "paid_until": "date",
                "pay_by": "date",
                "days_left": "integer",
                "term_end": "date",
                "reissue_by": "date",
                "payment_status": "status",
            },
            fn=patent_next_payment,
            statuses={"payment_status": ("ok", "soon", "overdue", "term_over")},
        ),
        Calculator(
            name="registration_deadline",
            inputs={"citizenship": "citizenship", "arrival_date": "date"},
            outputs={
                "registration_due": "date",
                "registration_rule": "phrase",
                "days_left": "integer",
                "registration_status": "status",
            },
            fn=registration_deadline,
            statuses={"registration_status": ("ok", "overdue")},
        ),
        Calculator(
            name="patent_price",
            inputs={"region": "region"},
            outputs=PATENT_PRICE_OUTPUTS,
            fn=patent_price,
            statuses={"price_status": PRICE_STATUSES},
            reads_prices=True,
        ),
    )
}


def run(name: str, values: Mapping[str, Any], today: dt.date, prices: PriceData = EMPTY) -> dict[str, Value]:
    calc = CALCULATORS[name]
    extra: dict[str, Any] = {"prices": prices} if calc.reads_prices else {}
    return calc.fn(**{k: values[k] for k in calc.inputs}, today=today, **extra)
