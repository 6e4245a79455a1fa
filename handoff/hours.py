"""Office hours: when mediators answer, and when the next answer can be expected."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SPEC = re.compile(r"^\s*(\w{3})(?:\s*-\s*(\w{3}))?\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class OfficeHours:
    """Open on `days` (0 = Monday) from `start` to `end` local time, except on `holidays`."""

    days: frozenset[int]
    start: dt.time
    end: dt.time
    tz: ZoneInfo
    holidays: frozenset[dt.date] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, spec: str, tz: str = "Europe/Moscow", holidays: str = "") -> OfficeHours:
        """`Mon-Fri 09:00-18:00` (or `always`); holidays as comma-separated YYYY-MM-DD."""
        days_off = frozenset(dt.date.fromisoformat(d.strip()) for d in holidays.split(",") if d.strip())
        if spec.strip().lower() == "always":
            return cls(frozenset(range(7)), dt.time(0, 0), dt.time.max, ZoneInfo(tz), days_off)
        match = SPEC.match(spec)
        if not match or match.group(1).lower() not in DAYS or (match.group(2) and match.group(2).lower() not in DAYS):
            raise ValueError(f"office hours must look like 'Mon-Fri 09:00-18:00' or 'always', not {spec!r}")
        first = DAYS.index(match.group(1).lower())
        last = DAYS.index((match.group(2) or match.group(1)).lower())
        days = frozenset(range(first, last + 1)) if first <= last else frozenset([*range(first, 7), *range(last + 1)])
        start = dt.time(int(match.group(3)), int(match.group(4)))
        end = dt.time(int(match.group(5)), int(match.group(6)))
        if end <= start:
            raise ValueError(f"office hours end before they start: {spec!r}")
        return cls(days, start, end, ZoneInfo(tz), days_off)

    def is_open(self, now: dt.datetime) -> bool:
        local = now.astimezone(self.tz)
        # dt.time.max ("always") includes the day's last instant: there is no later time to end before.
        return (local.weekday() in self.days and local.date() not in self.holidays
                and self.start <= local.time() and (local.time() < self.end or self.end == dt.time.max))

    def span(self) -> tuple[int, int]:
        """The first and the last working day (0 = Monday) as written: Sat-Mon is (5, 0), not (0, 6)."""
        first = next((d for d in sorted(self.days) if (d - 1) % 7 not in self.days), 0)
        return first, (first + len(self.days) - 1) % 7

    def next_open(self, now: dt.datetime) -> dt.datetime:
        """`now` when open, else the moment the office next opens (aware, local time)."""
        local = now.astimezone(self.tz)
        if self.is_open(now):
            return local
        day = local.date()
        for _ in range(400):
            opening = dt.datetime.combine(day, self.start, tzinfo=self.tz)
            if day.weekday() in self.days and day not in self.holidays and opening > local:
                return opening
            day += dt.timedelta(days=1)
        return local  # no opening within a year: say "now" rather than nothing
