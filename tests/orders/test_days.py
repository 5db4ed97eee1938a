"""Delivery days end at local midnight, on daylight-saving change days too."""

import datetime

import pytest

from orders.days import end_of_day, local_today, next_working_day

UTC = datetime.UTC


def test_day_ends_at_next_local_midnight_in_winter():
    assert end_of_day(datetime.date(2026, 11, 26)) == datetime.datetime(
        2026, 11, 26, 23, 0, tzinfo=UTC
    )


def test_day_ends_at_next_local_midnight_in_summer():
    assert end_of_day(datetime.date(2026, 7, 1)) == datetime.datetime(2026, 7, 1, 22, 0, tzinfo=UTC)


def test_spring_forward_day_lasts_23_hours():
    day = datetime.date(2026, 3, 29)
    start = end_of_day(day - datetime.timedelta(days=1))

    assert end_of_day(day) - start == datetime.timedelta(hours=23)


def test_fall_back_day_lasts_25_hours():
    day = datetime.date(2026, 10, 25)
    start = end_of_day(day - datetime.timedelta(days=1))

    assert end_of_day(day) - start == datetime.timedelta(hours=25)


def test_local_today_follows_the_delivery_time_zone():
    # 23:30 UTC on the 26th is already the 27th in Rome.
    assert local_today(datetime.datetime(2026, 11, 26, 23, 30, tzinfo=UTC)) == datetime.date(
        2026, 11, 27
    )


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (datetime.date(2026, 11, 26), datetime.date(2026, 11, 27)),  # Thu → Fri
        (datetime.date(2026, 11, 28), datetime.date(2026, 11, 30)),  # Sat → Mon
        (datetime.date(2026, 11, 29), datetime.date(2026, 11, 30)),  # Sun → Mon
    ],
)
def test_next_working_day_skips_sundays(after, expected):
    assert next_working_day(after) == expected


def test_working_days_are_a_setting(settings):
    settings.DELIVERY_WORKING_DAYS = [1, 2, 3, 4, 5]

    assert next_working_day(datetime.date(2026, 11, 27)) == datetime.date(2026, 11, 30)
