"""Calculators: dates a migrant acts on, checked by hand against the rules in FACTS.md."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.calculators import Phrase, add_months, add_working_days, patent_next_payment, registration_deadline

D = dt.date


@pytest.mark.parametrize(("day", "months", "expected"), [
    (D(2026, 3, 10), 1, D(2026, 4, 10)), (D(2026, 1, 31), 1, D(2026, 2, 28)), (D(2024, 1, 31), 1, D(2024, 2, 29)),
    (D(2026, 11, 15), 3, D(2027, 2, 15)), (D(2026, 12, 31), 12, D(2027, 12, 31)),
])
def test_add_months(day: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(day, months) == expected


def test_tula_example() -> None:
    # UMVD Tula: a patent issued on 10 March 2026 and paid for one month must be paid again before 10 April.
    result = patent_next_payment(issue_date=D(2026, 3, 10), months_paid=1, today=D(2026, 3, 20))
    assert result["paid_until"] == D(2026, 4, 9)
    assert result["pay_by"] == D(2026, 4, 5)
    assert result["days_left"] == 20
    assert result["term_end"] == D(2027, 3, 9)
    assert result["payment_status"] == "ok"


@pytest.mark.parametrize(("months", "today", "status"), [
    (1, D(2026, 4, 2), "soon"), (1, D(2026, 4, 9), "soon"), (1, D(2026, 4, 10), "overdue"),
    (3, D(2026, 4, 10), "ok"), (12, D(2026, 4, 10), "term_over"),
])
def test_payment_status(months: int, today: dt.date, status: str) -> None:
    assert patent_next_payment(issue_date=D(2026, 3, 10), months_paid=months, today=today)["payment_status"] == status


def test_short_month_takes_the_earlier_date() -> None:
    result = patent_next_payment(issue_date=D(2026, 1, 31), months_paid=1, today=D(2026, 2, 1))
    assert result["paid_until"] == D(2026, 2, 27)


def test_reissue_counts_back_ten_working_days_skipping_holidays() -> None:
    result = patent_next_payment(issue_date=D(2026, 1, 15), months_paid=12, today=D(2026, 2, 1))
    assert result["term_end"] == D(2027, 1, 14)
    # back from Thu 14 Jan 2027: 13, 12, 11 Jan (3); the weekend and 1-8 Jan don't count;
    # 31, 30, 29, 28 Dec (7); the weekend; 25, 24, 23 Dec (10)
    assert result["reissue_by"] == D(2026, 12, 23)


@pytest.mark.parametrize(("citizenship", "due", "rule"), [
    ("uz", D(2026, 3, 16), Phrase("%(num)d day", "%(num)d days", 15)),
    ("tj", D(2026, 3, 16), Phrase("%(num)d day", "%(num)d days", 15)),
    ("kg", D(2026, 3, 31), Phrase("%(num)d day", "%(num)d days", 30)),
    ("other", D(2026, 3, 10), Phrase("%(num)d working day", "%(num)d working days", 7)),
])
def test_registration_deadline(citizenship: str, due: dt.date, rule: Phrase) -> None:
    # arrival on Monday 2 March 2026, counted as day 1 to be safe (no official text on the day count):
    # 15 days end on 16 March; 7 working days are 2-6 and 9-10 March (Monday 9 March counts even if
    # the 8 March holiday is moved to it: the earlier date is the safe one)
    result = registration_deadline(citizenship=citizenship, arrival_date=D(2026, 3, 2), today=D(2026, 3, 5))
    assert result["registration_due"] == due
    assert result["registration_rule"] == rule
    assert result["registration_status"] == "ok"


def test_registration_arrival_day_is_day_one() -> None:
    # arrival on 1 March -> register by 15 March at the latest (15 days, the arrival day included)
    result = registration_deadline(citizenship="uz", arrival_date=D(2026, 3, 1), today=D(2026, 3, 1))
    assert result["registration_due"] == D(2026, 3, 15)
    assert result["days_left"] == 14


def test_registration_weekend_arrival_starts_on_monday() -> None:
    # arrival on Saturday 7 March 2026: working day 1 is Monday 9 March, day 7 is Tuesday 17 March
    result = registration_deadline(citizenship="other", arrival_date=D(2026, 3, 7), today=D(2026, 3, 7))
    assert result["registration_due"] == D(2026, 3, 17)


def test_registration_deadline_for_kazakhstan_armenia_belarus_is_the_eaeu_one() -> None:
    """Citizens of Kazakhstan, Armenia and Belarus ("eaeu") have the EAEU term, like Kyrgyzstan, not 7 working days."""
    eaeu = registration_deadline(citizenship="eaeu", arrival_date=D(2026, 3, 2), today=D(2026, 3, 5))
    assert eaeu == registration_deadline(citizenship="kg", arrival_date=D(2026, 3, 2), today=D(2026, 3, 5))
    assert eaeu["registration_rule"] == Phrase("%(num)d day", "%(num)d days", 30)


def test_registration_overdue() -> None:
    result = registration_deadline(citizenship="uz", arrival_date=D(2026, 3, 2), today=D(2026, 3, 17))
    assert result["registration_status"] == "overdue" and result["days_left"] == -1


def test_working_days_forward_ignore_holidays() -> None:
    # Forward, holidays are not skipped: 8 March counts, so the date is never later than the law's.
    assert add_working_days(D(2027, 3, 5), 1) == D(2027, 3, 8)
    assert add_working_days(D(2027, 3, 9), -1) == D(2027, 3, 5)
