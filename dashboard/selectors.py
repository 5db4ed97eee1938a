"""The numbers of the operations dashboard, aggregated in the database.

Every function runs a fixed number of queries whatever the number of parcels: counts are
grouped by day, week or person in SQL, and Python only fills the gaps with zeros. Days and
weeks are those of the delivery time zone, as the customers and couriers live them.
"""

import datetime
import statistics
from dataclasses import dataclass, field

from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q
from django.db.models.functions import TruncDate, TruncWeek
from django.utils.translation import gettext_lazy as _

from alerts.models import Alert
from codes.models import CodeEmail, CodeEntry, ParcelHold
from orders.days import delivery_time_zone, end_of_day, local_today
from orders.models import Shipment, TrackingEvent

Status = Shipment.Status
Outcome = CodeEntry.Outcome

HISTORY_DAYS = 30
RANKING_DAYS = 7
# A person is marked for a look when their wrong-code rate is at least this many times the
# median and they entered at least OUTLIER_MIN_WRONG wrong codes (one slip is not a pattern).
OUTLIER_FACTOR = 2
OUTLIER_MIN_WRONG = 3

# The events that end a parcel's trip out: its first one says whether the first attempt
# worked (handed over at the door, or dropped at the pickup point it was sent to) or failed.
ATTEMPT_ENDINGS = [Status.DELIVERED, Status.AT_PICKUP_POINT, Status.DELIVERY_FAILED]


def start_of_day(day: datetime.date) -> datetime.datetime:
    return end_of_day(day - datetime.timedelta(days=1))


def _days(last: datetime.date, count: int) -> list[datetime.date]:
    return [last - datetime.timedelta(days=offset) for offset in range(count - 1, -1, -1)]


def _as_date(value) -> datetime.date:
    # TruncDate gives a date; TruncWeek an aware datetime in the zone it was asked for.
    if isinstance(value, datetime.datetime):
        return value.astimezone(delivery_time_zone()).date()
    return value


# --- Today ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusCount:
    key: str
    label: str
    count: int


def today_by_status(*, now: datetime.datetime) -> list[StatusCount]:
    """Parcels out for delivery, delivered today, failed today, waiting at pickup points,
    and held after wrong codes, as they are at this moment."""
    today = local_today(now)
    start, end = start_of_day(today), end_of_day(today)
    current = Shipment.objects.aggregate(
        out_for_delivery=Count("pk", filter=Q(status=Status.OUT_FOR_DELIVERY)),
        delivered=Count(
            "pk",
            filter=Q(status=Status.DELIVERED, delivered_at__gte=start, delivered_at__lt=end),
        ),
        at_pickup_point=Count("pk", filter=Q(status=Status.AT_PICKUP_POINT)),
    )
    failed = (
        TrackingEvent.objects.filter(
            status=Status.DELIVERY_FAILED, created_at__gte=start, created_at__lt=end
        )
        .values("shipment_id")
        .distinct()
        .count()
    )
    held = ParcelHold.objects.filter(released_at__isnull=True).count()
    return [
        StatusCount("out_for_delivery", _("Out for delivery"), current["out_for_delivery"]),
        StatusCount("delivered", _("Delivered today"), current["delivered"]),
        StatusCount("failed", _("Failed today"), failed),
        StatusCount("at_pickup_point", _("At pickup points"), current["at_pickup_point"]),
        StatusCount("held", _("Held after wrong codes"), held),
    ]


# --- The last 30 days -----------------------------------------------------------------------


@dataclass(frozen=True)
class FirstAttemptDay:
    day: datetime.date
    attempted: int
    first_time: int

    @property
    def rate(self) -> float | None:
        """Percent, one decimal; None on a day without attempts (not 0 %: nothing failed)."""
        return round(100 * self.first_time / self.attempted, 1) if self.attempted else None


def first_attempt_rate(
    *, now: datetime.datetime, days: int = HISTORY_DAYS
) -> list[FirstAttemptDay]:
    """Per day, the parcels whose first attempt ended that day, and how many of those were
    handed over (or dropped at their pickup point) at that first attempt."""
    today = local_today(now)
    first_day = today - datetime.timedelta(days=days - 1)
    earlier_ending = TrackingEvent.objects.filter(
        shipment=OuterRef("shipment"),
        status__in=ATTEMPT_ENDINGS,
        created_at__lt=OuterRef("created_at"),
    )
    rows = (
        TrackingEvent.objects.filter(
            status__in=ATTEMPT_ENDINGS,
            created_at__gte=start_of_day(first_day),
            created_at__lt=end_of_day(today),
        )
        .exclude(Exists(earlier_ending))
        .annotate(day=TruncDate("created_at", tzinfo=delivery_time_zone()))
        .values("day")
        .annotate(
            attempted=Count("pk"),
            first_time=Count("pk", filter=~Q(status=Status.DELIVERY_FAILED)),
        )
    )
    by_day = {_as_date(row["day"]): row for row in rows}
    return [
        FirstAttemptDay(
            day=day,
            attempted=by_day.get(day, {}).get("attempted", 0),
            first_time=by_day.get(day, {}).get("first_time", 0),
        )
        for day in _days(today, days)
    ]


@dataclass(frozen=True)
class EntriesByOutcome:
    days: list[datetime.date]
    # outcome value -> one count per day, only for outcomes seen at least once
    counts: dict[str, list[int]]

    def label(self, outcome: str) -> str:
        return Outcome(outcome).label


def code_entries_per_day(*, now: datetime.datetime, days: int = HISTORY_DAYS) -> EntriesByOutcome:
    today = local_today(now)
    first_day = today - datetime.timedelta(days=days - 1)
    rows = (
        CodeEntry.objects.filter(
            created_at__gte=start_of_day(first_day), created_at__lt=end_of_day(today)
        )
        .annotate(day=TruncDate("created_at", tzinfo=delivery_time_zone()))
        .values("day", "outcome")
        .annotate(count=Count("pk"))
    )
    found = {(_as_date(row["day"]), row["outcome"]): row["count"] for row in rows}
    day_list = _days(today, days)
    seen = {outcome for _day, outcome in found}
    counts = {
        outcome.value: [found.get((day, outcome.value), 0) for day in day_list]
        for outcome in Outcome
        if outcome.value in seen
    }
    return EntriesByOutcome(days=day_list, counts=counts)


@dataclass(frozen=True)
class Week:
    monday: datetime.date
    locks: int = 0
    holds: int = 0
    overrides: int = 0
    customer_reports: int = 0


WEEKLY_SERIES = {
    "locks": _("Codes locked"),
    "holds": _("Parcels held"),
    "overrides": _("Overrides"),
    "customer_reports": _("Customer reports"),
}


def _per_week(queryset, field_name: str, *, since: datetime.datetime) -> dict[datetime.date, int]:
    rows = (
        queryset.filter(**{f"{field_name}__gte": since})
        .annotate(week=TruncWeek(field_name, tzinfo=delivery_time_zone()))
        .values("week")
        .annotate(count=Count("pk"))
    )
    return {_as_date(row["week"]): row["count"] for row in rows}


def weekly_events(*, now: datetime.datetime, days: int = HISTORY_DAYS) -> list[Week]:
    """Locks, holds, overrides and customer reports per week (Monday first), for the weeks
    that overlap the last `days` days; the current week so far is the last."""
    today = local_today(now)
    this_monday = today - datetime.timedelta(days=today.weekday())
    first_day = today - datetime.timedelta(days=days - 1)
    first_monday = first_day - datetime.timedelta(days=first_day.weekday())
    since = start_of_day(first_monday)
    # Every lock asks for its one "code locked" email (once per code): the email's request
    # time is the lock's time.
    series = {
        "locks": _per_week(
            CodeEmail.objects.filter(purpose=CodeEmail.Purpose.LOCKED), "requested_at", since=since
        ),
        "holds": _per_week(ParcelHold.objects.all(), "held_at", since=since),
        "overrides": _per_week(
            CodeEntry.objects.filter(outcome=Outcome.OVERRIDE), "created_at", since=since
        ),
        "customer_reports": _per_week(
            Alert.objects.filter(kind=Alert.Kind.CUSTOMER_REPORT), "opened_at", since=since
        ),
    }
    weeks = []
    monday = first_monday
    while monday <= this_monday:
        weeks.append(
            Week(monday, **{name: counts.get(monday, 0) for name, counts in series.items()})
        )
        monday += datetime.timedelta(days=7)
    return weeks


# --- Who enters wrong codes -----------------------------------------------------------------


@dataclass
class PersonRate:
    name: str
    wrong: int
    judged: int
    is_outlier: bool = False
    times_median: float | None = None

    @property
    def rate(self) -> float:
        return round(100 * self.wrong / self.judged, 1)


@dataclass
class Ranking:
    people: list[PersonRate] = field(default_factory=list)
    median: float | None = None


def _rank(people: list[PersonRate]) -> Ranking:
    if not people:
        return Ranking()
    median = round(statistics.median(person.rate for person in people), 1)
    for person in people:
        if median:
            person.times_median = round(person.rate / median, 1)
        over = person.rate >= OUTLIER_FACTOR * median if median else person.rate > 0
        person.is_outlier = over and person.wrong >= OUTLIER_MIN_WRONG
    people.sort(key=lambda person: (-person.rate, -person.wrong, person.name))
    return Ranking(people=people, median=median)


def wrong_code_ranking(
    *, now: datetime.datetime, days: int = RANKING_DAYS
) -> tuple[Ranking, Ranking]:
    """Couriers (entries at the door) and pickup-point operators (entries at a counter),
    each ranked by the share of wrong codes among the codes they entered that were checked
    (correct or wrong), over the last `days` days, against the median of their peers.

    A lead for operations to look into, never a sanction: a courier on a route of elderly
    customers may read more wrong codes through no fault of their own.
    """
    since = now - datetime.timedelta(days=days)
    rows = (
        CodeEntry.objects.filter(
            created_at__gte=since,
            created_at__lte=now,
            outcome__in=[Outcome.CORRECT, Outcome.WRONG],
        )
        .annotate(
            at_counter=ExpressionWrapper(Q(pickup_point__isnull=False), output_field=BooleanField())
        )
        .values("user_id", "user__username", "user__first_name", "user__last_name", "at_counter")
        .annotate(judged=Count("pk"), wrong=Count("pk", filter=Q(outcome=Outcome.WRONG)))
    )
    couriers, operators = [], []
    for row in rows:
        full_name = f"{row['user__first_name']} {row['user__last_name']}".strip()
        person = PersonRate(
            name=full_name or row["user__username"], wrong=row["wrong"], judged=row["judged"]
        )
        (operators if row["at_counter"] else couriers).append(person)
    return _rank(couriers), _rank(operators)
