"""A pickup point's opening hours: written once by operations in a short fixed form, read by
the product to know when a point closes on a day, and shown in the reader's language.

The form is day groups separated by commas or semicolons, each a day or a range of days
(abbreviated in English or Italian) and one or more 24-hour intervals:
`Mon–Sat 07:00–19:30, Sun 08:00–13:00` or `Mon-Fri 09:00-13:00 15:00-19:00; Sat 09:00-12:00`.
Shown in Italian that is `lun–sab 07:00–19:30, dom 08:00–13:00`. No Django models here.
"""

import datetime
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
# Also read as written in Italian, so operations can write the hours in either language.
DAYS_IT = ["lun", "mar", "mer", "gio", "ven", "sab", "dom"]
# Lower case, as Italian writes them mid-sentence; the context keeps them apart from
# Django's own (capitalised) abbreviations.
DAY_LABELS = [
    pgettext_lazy("weekday abbreviation", "Mon"),
    pgettext_lazy("weekday abbreviation", "Tue"),
    pgettext_lazy("weekday abbreviation", "Wed"),
    pgettext_lazy("weekday abbreviation", "Thu"),
    pgettext_lazy("weekday abbreviation", "Fri"),
    pgettext_lazy("weekday abbreviation", "Sat"),
    pgettext_lazy("weekday abbreviation", "Sun"),
]
_DASH = r"\s*[-–—]\s*"
_TIME = r"([01][0-9]|2[0-3])[:.]([0-5][0-9])"
_DAY = "(" + "|".join(DAYS + DAYS_IT) + ")"
_GROUP = re.compile(rf"{_DAY}(?:{_DASH}{_DAY})?\s+(.+)", re.IGNORECASE)
_INTERVAL = re.compile(rf"{_TIME}{_DASH}{_TIME}")

Hours = dict[int, list[tuple[datetime.time, datetime.time]]]


def parse(text: str) -> Hours:
    """{ISO weekday - 1: [(opens, closes), ...]} for the days the point opens; ValueError
    when the text is not in the form above."""
    hours: Hours = {}
    for group in re.split(r"[,;]", text or ""):
        group = group.strip()
        if not group:
            continue
        match = _GROUP.fullmatch(group)
        if not match:
            raise ValueError(group)
        first = _day_index(match.group(1))
        last = _day_index(match.group(2)) if match.group(2) else first
        if last < first:
            raise ValueError(group)
        intervals = []
        for interval in match.group(3).split():
            times = _INTERVAL.fullmatch(interval.strip())
            if not times:
                raise ValueError(interval)
            opens = datetime.time(int(times.group(1)), int(times.group(2)))
            closes = datetime.time(int(times.group(3)), int(times.group(4)))
            if closes <= opens:
                raise ValueError(interval)
            intervals.append((opens, closes))
        for day in range(first, last + 1):
            hours.setdefault(day, []).extend(intervals)
    return hours


def _day_index(name: str) -> int:
    name = name.lower()
    english = [day.lower() for day in DAYS]
    return english.index(name) if name in english else DAYS_IT.index(name)


def validate(text: str) -> None:
    """For the model field: the form above, or empty (hours unknown)."""
    try:
        parse(text)
    except ValueError as error:
        raise ValidationError(
            _(
                "Write the hours like Mon–Sat 07:00–19:30, Sun 08:00–13:00 (could not read "
                "%(part)s)."
            ),
            params={"part": str(error)},
            code="invalid",
        ) from error


def closing_time(text: str, day: datetime.date) -> datetime.time | None:
    """When the point closes on `day`; None when it is closed that day or its hours are not
    known."""
    try:
        intervals = parse(text).get(day.weekday(), [])
    except ValueError:
        return None
    return max(closes for _, closes in intervals) if intervals else None


def last_open_day(text: str, *, until: datetime.date, since: datetime.date) -> datetime.date:
    """The last day from `since` to `until` on which the point opens: the day a customer can
    really collect by. `until` itself when the hours are unknown or no day in between opens."""
    day = until
    while day >= since:
        if closing_time(text, day) is not None:
            return day
        day -= datetime.timedelta(days=1)
    return until


def localised(text: str) -> str:
    """The hours in the active language (`lun–sab 07:00–19:30, dom 08:00–13:00`); text that
    is not in the form above is shown as it was written."""
    try:
        hours = parse(text)
    except ValueError:
        return text
    groups = []
    day = 0
    while day < 7:
        if day not in hours:
            day += 1
            continue
        last = day
        while last + 1 < 7 and hours.get(last + 1) == hours[day]:
            last += 1
        days = str(DAY_LABELS[day])
        if last > day:
            days += "–" + str(DAY_LABELS[last])
        times = " ".join(f"{opens:%H:%M}–{closes:%H:%M}" for opens, closes in hours[day])
        groups.append(f"{days} {times}")
        day = last + 1
    return ", ".join(groups)


def collection_deadline(
    text: str, *, last_day: datetime.date, today: datetime.date
) -> tuple[datetime.date, datetime.time | None]:
    """(the day to collect by, the time the point closes that day, None if not known): what
    a customer can really do, rather than the end of the last collection day at midnight."""
    day = last_open_day(text, until=last_day, since=today)
    return day, closing_time(text, day)
