"""Office hours: open or not, and when answers resume, across weekends, holidays and time zones."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.events import EventBus
from bot.i18n import Catalogs
from handoff.hours import OfficeHours
from handoff.service import HandoffPolicy, HandoffService

MSK = ZoneInfo("Europe/Moscow")  # UTC+3 all year
HOURS = OfficeHours.parse("Mon-Fri 09:00-18:00", "Europe/Moscow", "2027-01-07")  # Orthodox Christmas, a Thursday


def msk(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 1) -> dt.datetime:
    return dt.datetime(2027, month, day, hour, minute, second, tzinfo=MSK)


def test_parse() -> None:
    assert HOURS.days == frozenset(range(5))
    assert (HOURS.start, HOURS.end) == (dt.time(9), dt.time(18))
    assert HOURS.tz == MSK and HOURS.holidays == frozenset({dt.date(2027, 1, 7)})
    assert OfficeHours.parse(" mon-FRI  9:00 - 18:00 ").days == frozenset(range(5))
    assert OfficeHours.parse("Sun 10:00-12:00").days == frozenset({6})
    assert OfficeHours.parse("Sat-Mon 10:00-14:00").days == frozenset({5, 6, 0})  # across the week's end
    assert OfficeHours.parse("Sat-Mon 10:00-14:00").span() == (5, 0)
    assert HOURS.span() == (0, 4) and OfficeHours.parse("always").span() == (0, 6)
    two = OfficeHours.parse("Mon-Fri 09:00-18:00", holidays="2027-01-01, 2027-01-02,")
    assert two.holidays == frozenset({dt.date(2027, 1, 1), dt.date(2027, 1, 2)})


@pytest.mark.parametrize(("now", "is_open", "next_open"), [
    (msk(6, 12), True, msk(6, 12)),                    # Wednesday noon: open now
    (msk(6, 9), True, msk(6, 9)),                      # opening minute counts
    (msk(6, 8, 59, 59), False, msk(6, 9)),             # before opening: today at 9
    (msk(6, 17, 59, 59), True, msk(6, 17, 59, 59)),
    (msk(6, 18), False, msk(8, 9)),                    # closing time: closed; Thursday is a holiday -> Friday
    (msk(7, 12), False, msk(8, 9)),                    # the holiday itself
    (msk(7, 3), False, msk(8, 9)),
    (msk(8, 18, 30), False, msk(11, 9)),               # Friday evening -> Monday
    (msk(9, 12), False, msk(11, 9)),                   # Saturday
    (msk(10, 23, 59), False, msk(11, 9)),              # Sunday night
    (msk(11, 9), True, msk(11, 9)),                    # Monday
    (dt.datetime(2027, 1, 8, 22, 0, tzinfo=dt.UTC), False, msk(11, 9)),  # Friday 22:00 UTC is Saturday in Moscow
    (dt.datetime(2027, 1, 11, 5, 59, tzinfo=dt.UTC), False, msk(11, 9)),  # 08:59 in Moscow
    (dt.datetime(2027, 1, 11, 6, 0, tzinfo=dt.UTC), True, msk(11, 9)),   # 09:00 in Moscow
    (dt.datetime(2027, 1, 11, 15, 0, tzinfo=dt.UTC), False, msk(12, 9)),  # 18:00 in Moscow
])
def test_open_and_next_open(now: dt.datetime, is_open: bool, next_open: dt.datetime) -> None:
    assert HOURS.is_open(now) is is_open
    answer = HOURS.next_open(now)
    assert answer == next_open
    assert answer.tzinfo is not None and answer.utcoffset() == dt.timedelta(hours=3)  # shown in Moscow time


def test_across_the_end_of_the_week() -> None:
    weekend = OfficeHours.parse("Sat-Mon 10:00-14:00", "Europe/Moscow")
    assert weekend.is_open(msk(9, 11)) and weekend.is_open(msk(10, 11)) and weekend.is_open(msk(11, 11))
    assert not weekend.is_open(msk(12, 11))
    assert weekend.next_open(msk(12, 11)) == msk(16, 10)  # Tuesday -> Saturday
    assert weekend.next_open(msk(11, 14)) == msk(16, 10)


def test_other_time_zone() -> None:
    tashkent = OfficeHours.parse("Mon-Fri 09:00-18:00", "Asia/Tashkent")  # UTC+5
    assert tashkent.is_open(dt.datetime(2027, 1, 11, 4, 0, tzinfo=dt.UTC))
    assert not tashkent.is_open(dt.datetime(2027, 1, 11, 3, 59, tzinfo=dt.UTC))


@pytest.mark.parametrize("moment", [msk(6, 0), msk(9, 12), msk(10, 23, 59, 59),
                                    msk(10, 23, 59, 59).replace(microsecond=999_999), msk(7, 12)])
def test_always(moment: dt.datetime) -> None:
    always = OfficeHours.parse("always", "Europe/Moscow")
    assert always.days == frozenset(range(7))
    assert always.is_open(moment), moment
    assert always.next_open(moment) == moment


def test_always_except_holidays() -> None:
    always = OfficeHours.parse("Always", "Europe/Moscow", "2027-01-07")
    assert not always.is_open(msk(7, 12))
    assert always.next_open(msk(7, 12)) == msk(8, 0)


@pytest.mark.parametrize("spec", ["", "Mon-Fri", "Mon-Fri 9-18", "Mon-Fro 09:00-18:00", "Mnd 09:00-18:00",
                                  "Mon-Fri 18:00-09:00", "Mon-Fri 09:00-09:00", "Mon-Fri 25:00-26:00",
                                  "Mon-Fri 09:60-18:00", "Mon-Fri 09:00-18:00 and Sat", "never"])
def test_bad_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):  # the messages differ; each is a ValueError
        OfficeHours.parse(spec)


def test_bad_spec_message_shows_the_format() -> None:
    with pytest.raises(ValueError, match=r"must look like 'Mon-Fri 09:00-18:00' or 'always', not 'Mon-Fri'"):
        OfficeHours.parse("Mon-Fri")
    with pytest.raises(ValueError, match="end before they start"):
        OfficeHours.parse("Mon-Fri 18:00-09:00")


def test_bad_holidays_and_zone() -> None:
    with pytest.raises(ValueError):
        OfficeHours.parse("Mon-Fri 09:00-18:00", holidays="07.01.2027")
    with pytest.raises(KeyError):  # ZoneInfoNotFoundError; `hotline serve` reports it as a configuration error
        OfficeHours.parse("Mon-Fri 09:00-18:00", "Mars/Olympus_Mons")


@pytest.mark.parametrize(("spec", "span"), [
    ("Mon-Fri 09:00-18:00", "Mon–Fri 09:00–18:00"),
    ("Sat-Mon 10:00-14:00", "Sat–Mon 10:00–14:00"),
    ("Sun 10:00-12:00", "Sun 10:00–12:00"),
    ("Fri-Tue 08:30-20:00", "Fri–Tue 08:30–20:00"),
])
def test_the_migrant_is_told_the_right_days(catalogs: Catalogs, spec: str, span: str) -> None:
    hours = OfficeHours.parse(spec, "Europe/Moscow")
    policy = HandoffPolicy(hours=hours, sla=dt.timedelta(minutes=15), inactivity=dt.timedelta(hours=24))
    handoff = HandoffService(None, catalogs, EventBus(), policy)  # type: ignore[arg-type]  # no database needed
    closed = next(msk(d, 21) for d in range(4, 20) if not hours.is_open(msk(d, 21)))
    expected = span
    for day in ("Mon", "Tue", "Fri", "Sat", "Sun"):
        expected = expected.replace(day, catalogs.gettext("ru", day))
    assert expected in handoff.outside_hours("ru", "Latn", closed)
