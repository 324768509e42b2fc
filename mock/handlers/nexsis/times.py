"""Points in time as a NexSIS site keeps them: int64 unix seconds on the proleptic Gregorian calendar.

Why not `datetime`: Python's datetime stops at the years 1..9999 and `fromtimestamp` at the
platform's limits, while a NexSIS site stores whatever PHP made of the text it was sent: an
`(int)` cast of a digit string (which saturates at PHP_INT_MIN/PHP_INT_MAX) or `strtotime` of a
date, which takes the year 0000, times before 1970, and an impossible day by rolling it over into
the next month (`2021-02-31` is 3 March). The spec's `TimeValue` (ERRATA E09) allows all of these,
so the mock takes them too: a mock that refuses what the real site takes is a false alarm in its
users' tests. The calendar arithmetic is Howard Hinnant's `days_from_civil` and its inverse, exact
for every integer year.
"""

from __future__ import annotations

import re

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_DAY = 86_400

#: `YYYY-MM-DD[( |T)HH:MM[:SS[.fff]]][Z|±HH[[:]MM]]`: the shape of the spec's `DateTimeText`,
#: without its field ranges (the spec's pattern checks those; a day beyond the month rolls over).
TEXT_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
    r"(Z|([+-])(\d{2})(?::?(\d{2}))?)?$",
    re.ASCII,  # the spec's [0-9], not every Unicode digit
)
DIGITS_RE = re.compile(r"^-?[0-9]+$")


def clamp(seconds: int) -> int:
    """PHP's `(int)` of a number beyond 64 bits saturates; so does the mock."""
    return max(INT64_MIN, min(INT64_MAX, seconds))


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (any year; `day` may exceed the month)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def civil_from_days(days: int) -> tuple[int, int, int]:
    """The (year, month, day) of a day count since 1970-01-01: `days_from_civil` inverted."""
    days += 719_468
    era = days // 146_097
    doe = days - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (month <= 2), month, day


def from_text(text: str) -> int | None:
    """Unix seconds of a date-time text (UTC unless it names an offset), or None if it is none."""
    match = TEXT_RE.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g or 0) for g in match.groups()[:6])
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 60):
        return None  # what the spec's pattern refuses too
    # The first of the month plus (day - 1) days: strtotime's roll-over of a day the month lacks.
    seconds = (days_from_civil(year, month, 1) + day - 1) * _DAY + hour * 3600 + minute * 60 + second
    if match[8]:  # a sign: an offset east (+) or west (-) of UTC
        if int(match[9]) > 23 or int(match[10] or 0) > 59:
            return None
        offset = int(match[9]) * 3600 + int(match[10] or 0) * 60
        seconds -= offset if match[8] == "+" else -offset
    return seconds


def from_digits(text: str) -> int:
    """Unix seconds of a digit string, saturated to 64 bits as PHP's `(int)` cast does.

    Beyond 19 significant digits the value is past 64 bits whatever they are, and `int()` of
    thousands of digits is refused by Python (its int_max_str_digits guard): saturate first.
    """
    if len(text.lstrip("-").lstrip("0")) > 19:
        return INT64_MIN if text.startswith("-") else INT64_MAX
    return clamp(int(text))


def fields(seconds: int) -> tuple[int, int, int, int, int, int]:
    """(year, month, day, hour, minute, second) in UTC of any int64 unix time."""
    days, rest = divmod(seconds, _DAY)
    return (*civil_from_days(days), rest // 3600, rest % 3600 // 60, rest % 60)


def iso(seconds: int) -> str:
    """The document's ISO 8601 form (`2017-08-16T21:09:30+00:00`, PHP's `date('c')`).

    A year outside 0000..9999 has no four-digit form, and the spec's `DateTimeText` has only four
    digits: such a time is rendered as unix seconds, which `TimeValue` also allows.
    """
    year, month, day, hour, minute, second = fields(seconds)
    if not 0 <= year <= 9999:
        return str(seconds)
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}+00:00"


def sql(seconds: int) -> str:
    """The SQL form of the document's log entries (`2025-12-26 14:36:33`)."""
    year, month, day, hour, minute, second = fields(seconds)
    return f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}"
