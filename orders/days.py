"""Delivery days in the delivery time zone: what 'today' is and when a day ends."""

import datetime
from zoneinfo import ZoneInfo

from django.conf import settings


def delivery_time_zone() -> ZoneInfo:
    return ZoneInfo(settings.DELIVERY_TIME_ZONE)


def local_today(now: datetime.datetime) -> datetime.date:
    return now.astimezone(delivery_time_zone()).date()


def end_of_day(day: datetime.date) -> datetime.datetime:
    """The first instant after `day` in the delivery time zone.

    Built from the next local midnight rather than day start + 24 h, so the 23-hour and
    25-hour days of daylight-saving changes end at the right instant.
    """
    next_day = day + datetime.timedelta(days=1)
    local_midnight = datetime.datetime.combine(
        next_day, datetime.time.min, tzinfo=delivery_time_zone()
    )
    # In UTC: arithmetic between datetimes sharing one zone ignores DST offsets.
    return local_midnight.astimezone(datetime.UTC)


def next_working_day(after: datetime.date) -> datetime.date:
    """The first day after `after` on which deliveries are made (DELIVERY_WORKING_DAYS)."""
    day = after + datetime.timedelta(days=1)
    while day.isoweekday() not in settings.DELIVERY_WORKING_DAYS:
        day += datetime.timedelta(days=1)
    return day


def first_working_day_from(day: datetime.date) -> datetime.date:
    """`day` itself when deliveries are made on it, else the next working day."""
    return next_working_day(day - datetime.timedelta(days=1))


def last_valid_minute(valid_until: datetime.datetime) -> datetime.datetime:
    """valid_until is the next midnight; people expect to read "valid until 23:59"."""
    return valid_until - datetime.timedelta(minutes=1)


def last_collection_day(arrival_day: datetime.date) -> datetime.date:
    """The last day a parcel that reached a pickup point on `arrival_day` can be collected.

    The arrival day does not count (a parcel dropped at closing time would lose it):
    PICKUP_HOLDING_DAYS full days follow it, and the code is valid to the end of the last.
    """
    return arrival_day + datetime.timedelta(days=settings.PICKUP_HOLDING_DAYS)
