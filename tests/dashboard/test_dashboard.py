"""The operations dashboard: its numbers on known data sets, counted by hand; who may see
it; and a query count that does not grow with the number of parcels.

The suite's clock stands at Thursday 26 November 2026, 10:00 in Rome. The data sets are
written as rows (the history a service would have left), so that each test says exactly
what happened and when.
"""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alerts.models import Alert
from codes.models import CodeEmail, CodeEntry, DeliveryCode, ParcelHold
from dashboard import selectors
from orders.models import Shipment, TrackingEvent
from tests.conftest import FROZEN_NOW, ROME, TODAY
from tests.factories import CourierFactory, PickupPointFactory, ShipmentFactory, UserFactory

pytestmark = pytest.mark.django_db

Status = Shipment.Status
Outcome = CodeEntry.Outcome
DAY = datetime.timedelta(days=1)


def rome(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=ROME)


def event(shipment, status, at):
    return TrackingEvent.objects.create(shipment=shipment, status=status, created_at=at)


def entry(user, outcome, at, *, shipment=None, pickup_point=None):
    return CodeEntry.objects.create(
        user=user, outcome=outcome, created_at=at, shipment=shipment, pickup_point=pickup_point
    )


def code_for(shipment):
    return DeliveryCode.objects.create(
        shipment=shipment,
        code_hash="x" * 64,
        code_encrypted="not-a-real-ciphertext",
        delivery_day=TODAY,
        valid_until=rome(TODAY + DAY, 0),
        issued_at=FROZEN_NOW,
        status=DeliveryCode.Status.LOCKED,
    )


# --- Today ----------------------------------------------------------------------------------


def test_today_counts_parcels_out_delivered_failed_at_points_and_held():
    # Given 3 parcels out, 2 delivered today (and 1 yesterday), 2 parcels failed today (one
    # of them twice, and another only yesterday), 1 at a pickup point, 2 held (1 released)
    for _ in range(3):
        ShipmentFactory(status=Status.OUT_FOR_DELIVERY)
    for at in (rome(TODAY, 0, 5), rome(TODAY, 9), rome(TODAY - DAY, 23, 59)):
        ShipmentFactory(status=Status.DELIVERED, delivered_at=at)
    failed_twice, failed_once, failed_yesterday = ShipmentFactory.create_batch(
        3, status=Status.DELIVERY_FAILED
    )
    event(failed_twice, Status.DELIVERY_FAILED, rome(TODAY, 8))
    event(failed_twice, Status.DELIVERY_FAILED, rome(TODAY, 9))
    event(failed_once, Status.DELIVERY_FAILED, rome(TODAY, 9, 30))
    event(failed_yesterday, Status.DELIVERY_FAILED, rome(TODAY - DAY, 18))
    ShipmentFactory(status=Status.AT_PICKUP_POINT)
    for released_at in (None, None, FROZEN_NOW):
        ParcelHold.objects.create(
            shipment=ShipmentFactory(status=Status.OUT_FOR_DELIVERY),
            held_at=FROZEN_NOW - DAY,
            wrong_code_entries=10,
            released_at=released_at,
        )

    # When the dashboard counts today
    today = {status.key: status.count for status in selectors.today_by_status(now=FROZEN_NOW)}

    # Then (the 3 held parcels are also out for delivery)
    assert today == {
        "out_for_delivery": 6,
        "delivered": 2,
        "failed": 2,
        "at_pickup_point": 1,
        "held": 2,
    }


# --- The last 30 days -----------------------------------------------------------------------


def test_first_attempt_rate_counts_each_parcel_on_the_day_its_first_attempt_ended():
    # Given, on Tuesday 24: B failed; on Wednesday 25: A delivered, B delivered at its
    # second attempt, C dropped at its pickup point, D delivered at 23:30 Rome time (22:30
    # UTC, still the 25th for the customer); E failed on the 25th and again today
    tuesday, wednesday = TODAY - 2 * DAY, TODAY - DAY
    a, b, c, d, e = ShipmentFactory.create_batch(5)
    event(b, Status.DELIVERY_FAILED, rome(tuesday, 15))
    event(a, Status.DELIVERED, rome(wednesday, 10))
    event(b, Status.DELIVERED, rome(wednesday, 11))
    event(c, Status.AT_PICKUP_POINT, rome(wednesday, 12))
    event(d, Status.DELIVERED, rome(wednesday, 23, 30))
    event(e, Status.DELIVERY_FAILED, rome(wednesday, 16))
    event(e, Status.DELIVERY_FAILED, rome(TODAY, 9))

    # When
    days = {day.day: day for day in selectors.first_attempt_rate(now=FROZEN_NOW)}

    # Then
    assert len(days) == 30
    assert (days[tuesday].attempted, days[tuesday].first_time) == (1, 0)
    assert (days[wednesday].attempted, days[wednesday].first_time) == (4, 3)
    assert days[wednesday].rate == 75.0
    assert (days[TODAY].attempted, days[TODAY].rate) == (0, None)


def test_first_attempt_rate_leaves_out_parcels_first_tried_before_the_30_days():
    shipment = ShipmentFactory()
    event(shipment, Status.DELIVERY_FAILED, rome(TODAY - 30 * DAY, 12))
    event(shipment, Status.DELIVERED, rome(TODAY - 29 * DAY, 12))

    days = selectors.first_attempt_rate(now=FROZEN_NOW)

    assert sum(day.attempted for day in days) == 0


def test_code_entries_are_counted_per_local_day_and_outcome():
    # Given entries just before and just after midnight in Rome, and one 31 days ago
    courier = UserFactory()
    entry(courier, Outcome.WRONG, rome(TODAY - DAY, 23, 30))
    entry(courier, Outcome.CORRECT, rome(TODAY - DAY, 23, 45))
    entry(courier, Outcome.WRONG, rome(TODAY, 0, 15))
    entry(courier, Outcome.WRONG, rome(TODAY, 9))
    entry(courier, Outcome.MALFORMED, rome(TODAY, 9))
    entry(courier, Outcome.OVERRIDE, rome(TODAY - 31 * DAY, 9))

    # When
    entries = selectors.code_entries_per_day(now=FROZEN_NOW)

    # Then only the outcomes seen are series, one count per day, the last day today
    assert entries.days[-1] == TODAY
    assert entries.days[0] == TODAY - 29 * DAY
    assert set(entries.counts) == {"wrong", "correct", "malformed"}
    assert entries.counts["wrong"][-2:] == [1, 2]
    assert entries.counts["correct"][-2:] == [1, 0]
    assert entries.counts["malformed"][-2:] == [0, 1]
    assert sum(sum(counts) for counts in entries.counts.values()) == 5


def test_weekly_events_count_locks_holds_overrides_and_reports_per_week_from_monday():
    # Given (today is Thursday 26 November; weeks start on Monday)
    ops = UserFactory()
    week_of_16, week_of_23 = datetime.date(2026, 11, 16), datetime.date(2026, 11, 23)
    entry(ops, Outcome.OVERRIDE, rome(week_of_16, 9))
    entry(ops, Outcome.OVERRIDE, rome(week_of_23 - DAY, 23, 30))  # Sunday night: week of 16
    entry(ops, Outcome.OVERRIDE, rome(week_of_23, 0, 30))  # Monday night: week of 23
    ParcelHold.objects.create(
        shipment=ShipmentFactory(), held_at=rome(week_of_23, 12), wrong_code_entries=10
    )
    CodeEmail.objects.create(
        code=code_for(ShipmentFactory()),
        purpose=CodeEmail.Purpose.LOCKED,
        requested_at=rome(datetime.date(2026, 11, 3), 10),
    )
    Alert.objects.create(
        kind=Alert.Kind.CUSTOMER_REPORT, shipment=ShipmentFactory(), opened_at=rome(week_of_23, 9)
    )

    # When
    weeks = {week.monday: week for week in selectors.weekly_events(now=FROZEN_NOW)}

    # Then five weeks overlap the last 30 days (from Wednesday 28 October)
    assert sorted(weeks) == [
        datetime.date(2026, 10, 26),
        datetime.date(2026, 11, 2),
        datetime.date(2026, 11, 9),
        week_of_16,
        week_of_23,
    ]
    assert weeks[week_of_16].overrides == 2
    assert (weeks[week_of_23].overrides, weeks[week_of_23].holds) == (1, 1)
    assert weeks[datetime.date(2026, 11, 2)].locks == 1
    assert weeks[week_of_23].customer_reports == 1
    assert sum(week.locks + week.holds + week.overrides for week in weeks.values()) == 5


# --- Who enters wrong codes -----------------------------------------------------------------


def _judged(user, *, wrong: int, correct: int, pickup_point=None, at=None):
    for outcome, count in ((Outcome.WRONG, wrong), (Outcome.CORRECT, correct)):
        for _ in range(count):
            entry(user, outcome, at or FROZEN_NOW - DAY, pickup_point=pickup_point)


def test_couriers_are_ranked_by_wrong_code_rate_against_the_median_with_outliers_marked():
    # Given three couriers over the last 7 days: 10 %, 0 % and 50 % wrong codes
    steady = UserFactory(first_name="Marco", last_name="Verdi")
    perfect = UserFactory(first_name="Anna", last_name="Blu")
    suspicious = UserFactory(first_name="Piero", last_name="Neri")
    _judged(steady, wrong=1, correct=9)
    _judged(perfect, wrong=0, correct=10)
    _judged(suspicious, wrong=5, correct=5)
    # ...older entries and malformed ones do not count
    _judged(perfect, wrong=10, correct=0, at=FROZEN_NOW - 8 * DAY)
    entry(perfect, Outcome.MALFORMED, FROZEN_NOW - DAY)

    # When
    couriers, operators = selectors.wrong_code_ranking(now=FROZEN_NOW)

    # Then
    assert couriers.median == 10.0
    assert [(p.name, p.rate, p.wrong, p.judged) for p in couriers.people] == [
        ("Piero Neri", 50.0, 5, 10),
        ("Marco Verdi", 10.0, 1, 10),
        ("Anna Blu", 0.0, 0, 10),
    ]
    assert [p.is_outlier for p in couriers.people] == [True, False, False]
    assert [p.times_median for p in couriers.people] == [5.0, 1.0, 0.0]
    assert operators.people == []


def test_entries_at_a_counter_rank_the_person_as_a_pickup_point_operator():
    point = PickupPointFactory()
    operator = UserFactory(username="edicola", first_name="", last_name="")
    _judged(operator, wrong=1, correct=3, pickup_point=point)

    couriers, operators = selectors.wrong_code_ranking(now=FROZEN_NOW)

    assert couriers.people == []
    assert [(p.name, p.rate) for p in operators.people] == [("edicola", 25.0)]
    assert operators.median == 25.0


def test_a_high_rate_from_a_couple_of_wrong_codes_is_not_marked():
    # Two wrong codes out of two is 100 %, but two slips are not a pattern
    _judged(UserFactory(), wrong=2, correct=0)
    _judged(UserFactory(), wrong=1, correct=19)
    _judged(UserFactory(), wrong=1, correct=19)

    couriers, _operators = selectors.wrong_code_ranking(now=FROZEN_NOW)

    assert couriers.people[0].rate == 100.0
    assert not any(person.is_outlier for person in couriers.people)


# --- The page -------------------------------------------------------------------------------


def test_admin_index_links_to_the_dashboard(client, ops):
    client.force_login(ops)

    response = client.get(reverse("admin:index"))

    assert f'href="{reverse("dashboard")}"'.encode() in response.content
    assert b">Dashboard</a>" in response.content


def test_staff_see_the_dashboard_with_its_numbers_as_tables_and_chart_data(client):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_codeentry"))
    ShipmentFactory(status=Status.OUT_FOR_DELIVERY)
    client.force_login(staff)

    response = client.get(reverse("dashboard"))

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-status="out_for_delivery"' in page
    assert '<script id="dashboard-data" type="application/json">' in page
    assert page.count("<table") >= 2  # per day and per week (no code entries yet)
    assert "<canvas" in page


def test_the_dashboard_carries_no_inline_script_and_loads_chart_js_from_our_origin(client, ops):
    client.force_login(ops)

    response = client.get(reverse("dashboard"))

    page = response.content.decode()
    assert '<script src="/static/vendor/chart.umd.min.js" defer></script>' in page
    # The only script element without a src is the JSON data, which is not run.
    assert page.count("<script>") == 0
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("who", ["anonymous", "customer", "courier"])
def test_only_staff_get_the_dashboard(client, who):
    if who == "customer":
        client.force_login(UserFactory())
    elif who == "courier":
        client.force_login(CourierFactory().user)

    response = client.get(reverse("dashboard"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
    assert b"dashboard-data" not in response.content


def test_staff_who_may_not_read_the_code_entries_do_not_get_the_dashboard(client):
    client.force_login(UserFactory(is_staff=True))

    response = client.get(reverse("dashboard"))

    assert response.status_code == 403
    assert b"dashboard-data" not in response.content


# --- Queries --------------------------------------------------------------------------------


def _parcels(count: int) -> None:
    """`count` parcels with their events, code entries and holds over the last 30 days."""
    couriers = [UserFactory() for _ in range(3)]
    point = PickupPointFactory()
    shipments = ShipmentFactory.create_batch(count, status=Status.DELIVERED)
    events, entries = [], []
    for index, shipment in enumerate(shipments):
        at = FROZEN_NOW - (index % 30) * DAY
        courier = couriers[index % 3]
        events.append(TrackingEvent(shipment=shipment, status=Status.DELIVERED, created_at=at))
        for outcome in (Outcome.WRONG, Outcome.CORRECT):
            entries.append(
                CodeEntry(
                    shipment=shipment,
                    user=courier,
                    outcome=outcome,
                    created_at=at,
                    pickup_point=point if index % 5 == 0 else None,
                )
            )
    TrackingEvent.objects.bulk_create(events)
    CodeEntry.objects.bulk_create(entries)
    ParcelHold.objects.bulk_create(
        ParcelHold(shipment=shipment, held_at=FROZEN_NOW, wrong_code_entries=10)
        for shipment in shipments[::10]
    )


def test_the_dashboard_queries_do_not_grow_from_10_to_1000_parcels(
    client, ops, django_assert_num_queries
):
    client.force_login(ops)
    _parcels(10)
    client.get(reverse("dashboard"))  # warm the session and the content types

    with CaptureQueriesContext(connection) as with_ten:
        assert client.get(reverse("dashboard")).status_code == 200

    _parcels(990)

    with django_assert_num_queries(len(with_ten)):
        response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert Shipment.objects.count() == 1000
