"""A year of Celery beat's schedule across both 2026 daylight-saving changes of the delivery
time zone (issue 11, item 3): every entry of CELERY_BEAT_SCHEDULE, whatever entries exist.

Beat is simulated the way it runs: it asks an entry's schedule `is_due(last_run_at)` with the
app's clock when the entry's time comes, runs it when due, records the run's time as the new
`last_run_at`, and looks again after the time `is_due` answered.
"""

import copy
import datetime
from zoneinfo import ZoneInfo

import pytest
from celery.schedules import crontab, maybe_schedule
from celery.schedules import schedule as interval_schedule
from django.conf import settings

from otpdelivery.celery import app

ROME = ZoneInfo("Europe/Rome")
UTC = datetime.UTC
YEAR_START = datetime.datetime(2026, 1, 1, tzinfo=ROME)
YEAR_END = datetime.datetime(2027, 1, 1, tzinfo=ROME)


class Clock:
    """The simulated wall clock, as `app.now()` gives it: aware, in the app's time zone."""

    def __init__(self, start: datetime.datetime):
        self.utc = start.astimezone(UTC)

    def __call__(self) -> datetime.datetime:
        return self.utc.astimezone(app.timezone)


def _simulate(entry_schedule, *, start=YEAR_START, end=YEAR_END) -> list[datetime.datetime]:
    """The UTC instants at which beat runs the entry between start and end."""
    clock = Clock(start)
    entry_schedule = copy.copy(entry_schedule)
    entry_schedule.nowfun = clock
    last_run_at = clock()
    runs = []
    end_utc = end.astimezone(UTC)
    while clock.utc < end_utc:
        is_due, next_in = entry_schedule.is_due(last_run_at)
        if is_due:
            runs.append(clock.utc)
            last_run_at = clock()
        clock.utc += datetime.timedelta(seconds=max(1, next_in))
    return runs


def _entries():
    """(name, entry) with the schedule as beat makes it (a timedelta becomes an interval)."""
    return [
        (name, {**entry, "schedule": maybe_schedule(entry["schedule"], app=app)})
        for name, entry in sorted(settings.CELERY_BEAT_SCHEDULE.items())
    ]


def _is_interval(entry_schedule) -> bool:
    """A schedule meant as real time: a plain interval, or a crontab on every hour of every
    day (every N minutes), where an hour skipped or repeated by the clock is a fault."""
    if isinstance(entry_schedule, crontab):
        return len(entry_schedule.hour) == 24 and len(entry_schedule.day_of_week) == 7
    return isinstance(entry_schedule, interval_schedule)


def _interval_of(entry_schedule) -> datetime.timedelta:
    if isinstance(entry_schedule, crontab):
        minutes = sorted(entry_schedule.minute)
        steps = {b - a for a, b in zip(minutes, [*minutes[1:], minutes[0] + 60], strict=True)}
        assert len(steps) == 1, "an every-N-minutes crontab has one step"
        return datetime.timedelta(minutes=steps.pop())
    return entry_schedule.run_every


def _expected_local_times(entry_schedule, day: datetime.date) -> list[datetime.time]:
    """The local times of `day` a crontab names, each once; a time the spring change skips
    is due at the same minute of the next hour, a time the autumn change repeats is due once.
    """
    if (
        day.isoweekday() % 7 not in entry_schedule.day_of_week
        or day.day not in entry_schedule.day_of_month
        or day.month not in entry_schedule.month_of_year
    ):
        return []
    times = []
    for hour in sorted(entry_schedule.hour):
        for minute in sorted(entry_schedule.minute):
            wall = datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=ROME)
            round_trip = wall.astimezone(UTC).astimezone(ROME)
            times.append(round_trip.time() if round_trip.date() == day else wall.time())
    return times


def test_the_schedule_runs_in_the_delivery_time_zone():
    assert str(app.timezone) == settings.DELIVERY_TIME_ZONE == "Europe/Rome"


def test_the_year_has_both_daylight_saving_changes():
    offsets = {
        (YEAR_START + datetime.timedelta(days=day)).utcoffset()
        for day in range((YEAR_END - YEAR_START).days)
    }
    assert offsets == {datetime.timedelta(hours=1), datetime.timedelta(hours=2)}


@pytest.mark.parametrize(
    ("name", "entry"),
    [entry for entry in _entries() if not _is_interval(entry[1]["schedule"])],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_daily_entry_runs_once_a_day_at_its_local_time_all_year(name, entry):
    entry_schedule = entry["schedule"]

    runs = _simulate(entry_schedule)

    by_day = {}
    for run in runs:
        local = run.astimezone(ROME)
        by_day.setdefault(local.date(), []).append(local.time())
    problems = []
    day = YEAR_START.date()
    while day < YEAR_END.date():
        expected = _expected_local_times(entry_schedule, day)
        if by_day.get(day, []) != expected:
            problems.append((day.isoformat(), by_day.get(day, []), expected))
        day += datetime.timedelta(days=1)
    assert problems == []


@pytest.mark.parametrize(
    ("name", "entry"),
    [entry for entry in _entries() if _is_interval(entry[1]["schedule"])],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_an_interval_entry_keeps_real_time_all_year(name, entry):
    entry_schedule = entry["schedule"]
    interval = _interval_of(entry_schedule)

    runs = _simulate(entry_schedule)

    gaps = [
        (earlier.isoformat(), later - earlier)
        for earlier, later in zip(runs, runs[1:], strict=False)
        if later - earlier != interval
    ]
    assert gaps == []
    # The first run comes one interval after beat starts; the year's end is not in it.
    assert len(runs) == (YEAR_END - YEAR_START) // interval - 1


@pytest.mark.django_db  # importing every app's tasks may read the database
def test_every_entry_names_a_registered_task():
    app.loader.import_default_modules()

    missing = [entry["task"] for _, entry in _entries() if entry["task"] not in app.tasks]

    assert missing == []
