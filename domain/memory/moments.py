"""When a memory happened, and the time a question asks about.

A memory happened when its metadata says (a value under a key naming a date or time,
e.g. `session_date`, `timestamp`, `createdAt`, at any depth), else when it was written.
A question names a time by a date ("May 3, 2023", "3 May 2023", "2023-05-03"), a month
("June 2024", "last June"), a season ("summer 2024"), a part of a year ("early 2024") or
a year ("in 2023"), or relative to the present ("yesterday", "last week", "two months
ago", "the past year", "last summer", "this year"); the search favours memories of
then. The present is when the owner's newest memory happened: that of the memories
asked about (an imported archive's, or today's for memories written as they happen).
A time without its year ("last June", "on 3 May") is the latest such before it."""

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
    r"\b(?P<last>last)\s+" + MONTH + r"\b",
    # "this may" is a verb ("what this may mean") unless written as the month's name
    r"\b(?P<last>this)\s+(?!(?-i:may)\b)" + MONTH + r"\b",
    r"\b" + MONTH + r",?\s+" + YEAR + r"\b",
    r"\b(?P<season>spring|summer|autumn|fall|winter)(?:\s+of)?\s+" + YEAR + r"\b",
    r"\b(?P<part>early|mid|late)[\s-]+" + YEAR + r"\b",
    r"\b(?:in|during|of)\s+" + YEAR + r"\b",
)]
SEASON_STARTS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}
YEAR_PARTS = {"early": (1, 5), "mid": (5, 9), "late": (9, 13)}  # months [from, to)
SINCE = re.compile(r"\bsince\s+(?:the\s+)?$", re.IGNORECASE)  # "since early 2024": till now
SEASON = r"(?P<season>spring|summer|autumn|fall|winter)"
UNIT = r"(?P<unit>day|weekend|week|month|year)s?"
COUNTS = {"a": 1, "an": 1, "one": 1, "a couple of": 2, "two": 2, "three": 3, "four": 4,
          "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
          "eleven": 11, "twelve": 12}
COUNT = r"(?P<count>\d{1,3}|" + "|".join(sorted(COUNTS, key=len, reverse=True)) + r")"
# Times named relative to the present, tried after those above; a future ("next week")
# is none: memories of a plan were written before it.
RELATIVE_NAMES = [re.compile(pattern, re.IGNORECASE) for pattern in (
    r"\b(?P<day_word>yesterday|today|tonight)\b",
    r"\bthe\s+(?P<past>past|last)\s+" + UNIT + r"\b(?!\s+of\b)",
    r"\b" + COUNT + r"\s+" + UNIT + r"\s+ago\b",
    r"\b(?P<last>last|previous|this)\s+" + UNIT + r"\b(?!\s+of\b)",
    r"\b(?P<last_season>last|this)\s+" + SEASON + r"\b",
)]
NEARBY = timedelta(days=1)  # a named time also finds what was said the day before/after
# A day named by its date also finds what was said in the week after it: people tell of
# a day days later ("we went on Saturday"). On bench/retrieval.py a week finds a little
# more than a day (temporal MRR@20 .626 against .648), and as much as two.
TOLD_AFTER = timedelta(days=7)
# A question that asks when something happened, and what a memory that tells when says:
# a weekday, a month, a feast, a day of the month, a year, or a time relative to when
# it was said. The latter is a PostgreSQL regular expression (matched ignoring case, on
# a memory's first words); "may" only after last, next or this: else it is a verb.
ASKS_WHEN = re.compile(r"^\W*when\b|\b(?:what|which)\s+(?:date|day|week|weekend|month"
                       r"|year)\b(?!-)|\bhow\s+long\s+ago\b", re.IGNORECASE)
WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
MONTH_NAMES = ("january|february|march|april|june|july|august|september|october"
               "|november|december")
TELLS_TIME = (r"\m(yesterday|today|tonight|tomorrow|ago|weekend|christmas|easter|"
              + WEEKDAYS + "|" + MONTH_NAMES + r"|\d{1,2}(st|nd|rd|th)|(19|20)\d\d"
              r"|(last|next|this|that)\s+(night|week|month|year|spring|summer|autumn"
              r"|fall|winter|may))\M")
TOLD_CHARACTERS = 1000  # the characters of a memory read for a time it tells
# The same pattern for Python, read as PostgreSQL reads it (matched on the lowered text):
# its \m and \M, a word's start and end, are \b around words, and its \d an ASCII digit.
# The projector decides it with this one, in less than half the ~10 µs PostgreSQL took
# a memory; PostgreSQL's still fills a table that gains the column (a migration).
TELLS_TIME_HERE = re.compile(TELLS_TIME.replace(r"\m", r"\b").replace(r"\M", r"\b")
                             .replace(r"\d", "[0-9]"))


def tells_time(text: str) -> bool:
    """Whether the text's first characters tell a time (TELLS_TIME, ignoring case)."""
    return TELLS_TIME_HERE.search(text[:TOLD_CHARACTERS].lower()) is not None


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


def asks_when(question: str) -> bool:
    """Whether the question asks when something happened."""
    return ASKS_WHEN.search(question) is not None


def time_named(question: str, present: Callable[[], datetime]
               ) -> tuple[datetime, datetime] | None:
    """The span [start, end) of the first time the question names, or None. `present`
    (asked only for a time without its year) is what "last June" is before."""
    for pattern in TIME_NAMES:
        match = pattern.search(question)
        if match:
            span = _span(match.groupdict(), present)
            if span is not None:
                return _since(question, match, span, present)
    for pattern in RELATIVE_NAMES:
        match = pattern.search(question)
        if match:
            now = present()
            try:
                return _since(question, match, _relative_span(match.groupdict(), now),
                              lambda: now)
            except (ValueError, OverflowError):
                return None  # before the year 1: a memory dated in antiquity
    return None


def _since(question: str, match: re.Match, span: tuple[datetime, datetime],
           present: Callable[[], datetime]) -> tuple[datetime, datetime]:
    """The span, or from its start to the present's day if the question asks since."""
    if not SINCE.search(question, 0, match.start()):
        return span
    return span[0], max(span[1], _start_of_day(present()) + timedelta(days=1))


def _span(parts: dict, present: Callable[[], datetime]
          ) -> tuple[datetime, datetime] | None:
    month = (int(parts["month_number"]) if parts.get("month_number")
             else MONTHS.get((parts.get("month") or "").lower()))
    year = int(parts["year"]) if parts.get("year") else None
    day = int(parts["day"]) if parts.get("day") else None
    try:
        if parts.get("part"):
            first, last = YEAR_PARTS[parts["part"].lower()]
            start = datetime(year, first, 1, tzinfo=timezone.utc)
            return start, start + relativedelta(months=last - first)
        if parts.get("season"):
            return _season(year, SEASON_STARTS[parts["season"].lower()])
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
    return start - NEARBY, start + timedelta(days=1) + TOLD_AFTER


def _latest_year_of(month: int, day: int | None, present: datetime, last: bool) -> int:
    """The year of the latest such month (and day) not after the present; "last" June
    is not this one even in June."""
    if last and month == present.month:
        return present.year - 1
    if (month, day or 1) <= (present.month, present.day):
        return present.year
    return present.year - 1


def _relative_span(parts: dict, present: datetime) -> tuple[datetime, datetime]:
    """The span a time named relative to the present names: "the past week" ends with
    the present's day, "last week" and "two weeks ago" are that calendar week (Monday
    first), "this year" the present's, "last summer" the latest ended before it."""
    today = _start_of_day(present)
    if parts.get("day_word"):
        back = 1 if parts["day_word"].lower() == "yesterday" else 0
        return _calendar_span("day", today - timedelta(days=back))
    if parts.get("last_season"):
        return _season_span(parts["season"].lower(), parts["last_season"].lower(), present)
    unit = parts["unit"].lower()
    if parts.get("past"):
        return today - _units(unit, 1), today + timedelta(days=1)
    if parts.get("count"):
        count = COUNTS.get(parts["count"].lower()) or int(parts["count"])
        return _calendar_span(unit, today - _units(unit, count))
    back = 0 if parts["last"].lower() == "this" else 1
    return _calendar_span(unit, today - _units(unit, back))


def _units(unit: str, count: int) -> relativedelta:
    if unit in ("week", "weekend"):
        return relativedelta(weeks=count)
    return relativedelta(**{unit + "s": count})


def _calendar_span(unit: str, day: datetime) -> tuple[datetime, datetime]:
    """The calendar day, week, weekend, month or year holding `day`; a day, week or
    weekend with a day either side (as a named day)."""
    if unit == "month":
        start = day.replace(day=1)
        return start, start + relativedelta(months=1)
    if unit == "year":
        start = day.replace(month=1, day=1)
        return start, start + relativedelta(years=1)
    monday = day - timedelta(days=day.weekday())
    start, end = {"day": (day, day + timedelta(days=1)),
                  "week": (monday, monday + timedelta(days=7)),
                  "weekend": (monday + timedelta(days=5), monday + timedelta(days=7))}[unit]
    return start - NEARBY, end + NEARBY


def _season_span(season: str, which: str, present: datetime) -> tuple[datetime, datetime]:
    """This season (of the present's year; a winter from its December), or the last
    one ended before the present."""
    first_month = SEASON_STARTS[season]
    if which == "this":
        return _season(present.year - 1 if first_month == 12 and present.month < 3
                       else present.year, first_month)
    year = present.year
    while _season(year, first_month)[1] > present:
        year -= 1
    return _season(year, first_month)


def _season(year: int, first_month: int) -> tuple[datetime, datetime]:
    """The three months of a season that begins in `first_month` of `year`."""
    start = datetime(year, first_month, 1, tzinfo=timezone.utc)
    return start, start + relativedelta(months=3)


def _start_of_day(moment: datetime) -> datetime:
    """Midnight (UTC) of the moment's day."""
    return datetime(moment.year, moment.month, moment.day, tzinfo=timezone.utc)
