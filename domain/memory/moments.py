"""When a memory happened, and the time a question asks about.

A memory happened when its metadata says (a value under a key naming a date or time,
e.g. `session_date`, `timestamp`, `createdAt`, at any depth), else when it was written.
A question names a time by a date ("May 3, 2023", "3 May 2023", "2023-05-03"), a month
("June 2024", "last June"), a season ("summer 2024") or a year ("in 2023"); the search
favours memories of then. A time without its year ("last June", "on 3 May") is the
latest such before the owner's newest memory: the present of the memories asked about
(an imported archive's, or today's for memories written as they happen)."""

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from dateutil import parser as dateutil_parser
from dateutil.relativedelta import relativedelta

TIME_KEY = re.compile(r"(date|time|timestamp|when|occurred|created)", re.IGNORECASE)
MONTHS = {name: number for number, names in enumerate((
    ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
    ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
    ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
    ("dec", "december")), start=1) for name in names}
MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
YEAR = r"(?P<year>(?:19|20)\d\d)"
# The forms a question names a time in, most precise first.
TIME_NAMES = [re.compile(pattern, re.IGNORECASE) for pattern in (
    r"\b" + YEAR + r"-(?P<month_number>[01]\d)-(?P<day>[0-3]\d)\b",
    r"\b" + MONTH + r"\s+" + DAY + r"(?:,?\s+" + YEAR + r")?\b",
    r"\b" + DAY + r"(?:\s+of)?\s+" + MONTH + r"(?:,?\s+" + YEAR + r")?\b",
    r"\b(?P<last>last|this)\s+" + MONTH + r"\b",
    r"\b" + MONTH + r",?\s+" + YEAR + r"\b",
    r"\b(?P<season>spring|summer|autumn|fall|winter)(?:\s+of)?\s+" + YEAR + r"\b",
    r"\b(?:in|during|of)\s+" + YEAR + r"\b",
)]
SEASON_STARTS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}
NEARBY = timedelta(days=1)  # a named day also finds what was said the day before/after


def moment_of(metadata: Any) -> datetime | None:
    """The first date or time in the metadata under a key that names one (UTC)."""
    for value in _timed_values(metadata):
        moment = _parsed(value)
        if moment is not None:
            return moment
    return None


def _timed_values(metadata: Any) -> Iterator[str]:
    if isinstance(metadata, dict):
        for key, value in metadata.items():
            if isinstance(value, str) and TIME_KEY.search(str(key)):
                yield value
            elif isinstance(value, (dict, list)):
                yield from _timed_values(value)
    elif isinstance(metadata, list):
        for value in metadata:
            yield from _timed_values(value)


def _parsed(value: str) -> datetime | None:
    """A date or time written any common way ("2023-05-08T13:56:00Z", "1:56 pm on 8
    May, 2023"); None if the text is none or too long to be one."""
    if not 6 <= len(value) <= 64 or not re.search(r"\d", value):
        return None
    try:
        moment = dateutil_parser.parse(value, fuzzy=True, default=datetime(2000, 1, 1))
    except (ValueError, OverflowError):
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def time_named(question: str, present: Callable[[], datetime]
               ) -> tuple[datetime, datetime] | None:
    """The span [start, end) of the first time the question names, or None. `present`
    (asked only for a time without its year) is what "last June" is before."""
    for pattern in TIME_NAMES:
        match = pattern.search(question)
        if match:
            span = _span(match.groupdict(), present)
            if span is not None:
                return span
    return None


def _span(parts: dict, present: Callable[[], datetime]
          ) -> tuple[datetime, datetime] | None:
    month = (int(parts["month_number"]) if parts.get("month_number")
             else MONTHS.get((parts.get("month") or "").lower()))
    year = int(parts["year"]) if parts.get("year") else None
    day = int(parts["day"]) if parts.get("day") else None
    try:
        if parts.get("season"):
            start = datetime(year, SEASON_STARTS[parts["season"].lower()], 1,
                             tzinfo=timezone.utc)
            return start, start + relativedelta(months=3)
        if month is None:
            start = datetime(year, 1, 1, tzinfo=timezone.utc)
            return start, start + relativedelta(years=1)
        year = year or _latest_year_of(month, day, present(), parts.get("last") == "last")
        if day is None:
            start = datetime(year, month, 1, tzinfo=timezone.utc)
            return start, start + relativedelta(months=1)
        start = datetime(year, month, day, tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None  # "February 30", or a year out of range
    return start - NEARBY, start + timedelta(days=1) + NEARBY


def _latest_year_of(month: int, day: int | None, present: datetime, last: bool) -> int:
    """The year of the latest such month (and day) not after the present; "last" June
    is not this one even in June."""
    if last and month == present.month:
        return present.year - 1
    if (month, day or 1) <= (present.month, present.day):
        return present.year
    return present.year - 1
