"""The day-end sweep (rules 4 and 8): expire ended codes, reschedule missed deliveries."""

import datetime

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from codes.models import DeliveryCode
from handoff.services import (
    shipment_add_to_route,
    shipment_mark_shipped,
    shipments_day_end,
    shipments_reschedule_not_sent_out,
)
from orders.models import Shipment, TrackingEvent
from tests.conftest import ROME, TODAY, make_valuable_shipment, plain_code
from tests.factories import OrderFactory, PickupPointFactory, ShipmentFactory

pytestmark = pytest.mark.django_db

FRIDAY = TODAY + datetime.timedelta(days=1)
SATURDAY = TODAY + datetime.timedelta(days=2)
MONDAY = TODAY + datetime.timedelta(days=4)
# 00:05 in Rome, when beat runs the sweep.
FRIDAY_SWEEP = datetime.datetime(2026, 11, 27, 0, 5, tzinfo=ROME)
SATURDAY_SWEEP = datetime.datetime(2026, 11, 28, 0, 5, tzinfo=ROME)
SUNDAY_SWEEP = datetime.datetime(2026, 11, 29, 0, 5, tzinfo=ROME)


def _snapshot():
    """Every row the sweep could touch, to show a second run changes nothing."""
    return (
        list(DeliveryCode.objects.order_by("pk").values_list("pk", "status", "valid_until")),
        list(Shipment.objects.order_by("pk").values_list("pk", "status", "delivery_day")),
        TrackingEvent.objects.count(),
        len(mail.outbox),
    )


def test_sweep_expires_a_code_whose_day_has_ended(out_for_delivery, time_machine):
    time_machine.move_to(FRIDAY_SWEEP, tick=False)

    shipments_day_end()

    old = DeliveryCode.objects.filter(shipment=out_for_delivery).order_by("pk").first()
    assert old.status in {DeliveryCode.Status.EXPIRED, DeliveryCode.Status.REVOKED}
    assert old.delivery_day == TODAY


def test_sweep_leaves_a_code_alone_in_the_last_second_of_its_day(shipped_for_today, time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 26, 23, 59, 59, tzinfo=ROME), tick=False)

    result = shipments_day_end()

    assert result.expired == 0
    assert DeliveryCode.objects.get(shipment=shipped_for_today).status == "active"


def test_sweep_expires_a_code_at_the_instant_its_day_ends(shipped_for_today, time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 27, 0, 0, tzinfo=ROME), tick=False)

    result = shipments_day_end()

    assert result.expired == 1
    assert _statuses(shipped_for_today) == ["expired", "active"]


@pytest.mark.parametrize(
    ("day", "end_in_utc"),
    [
        # Clocks go forward: a 23-hour day, ending at 22:00 UTC.
        (datetime.date(2026, 3, 29), datetime.datetime(2026, 3, 29, 22, 0, tzinfo=datetime.UTC)),
        # Clocks go back: a 25-hour day, ending at 23:00 UTC.
        (datetime.date(2026, 10, 25), datetime.datetime(2026, 10, 25, 23, 0, tzinfo=datetime.UTC)),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_sweep_expires_codes_at_local_midnight_on_daylight_saving_days(
    ops, customer, settings, time_machine, day, end_in_utc
):
    settings.DELIVERY_WORKING_DAYS = [1, 2, 3, 4, 5, 6, 7]
    time_machine.move_to(datetime.datetime.combine(day, datetime.time(8), tzinfo=ROME), tick=False)
    shipment = shipment_mark_shipped(
        shipment=make_valuable_shipment(customer), actor=ops, delivery_day=day
    )
    time_machine.move_to(end_in_utc - datetime.timedelta(seconds=1), tick=False)
    assert shipments_day_end().expired == 0

    time_machine.move_to(end_in_utc, tick=False)
    result = shipments_day_end()

    assert result.expired == 1
    assert _statuses(shipment) == ["expired", "active"]


def test_missed_delivery_is_recorded_and_moved_to_the_next_working_day(
    out_for_delivery, time_machine
):
    time_machine.move_to(FRIDAY_SWEEP, tick=False)

    result = shipments_day_end()

    out_for_delivery.refresh_from_db()
    assert result.rescheduled == 1
    assert out_for_delivery.status == Shipment.Status.DELIVERY_FAILED
    assert out_for_delivery.delivery_day == FRIDAY
    event = out_for_delivery.events.order_by("created_at", "pk").last()
    assert event.status == Shipment.Status.DELIVERY_FAILED
    assert event.note.startswith("Missed delivery")


def test_missed_delivery_gets_its_old_code_revoked_and_a_fresh_one_for_the_new_day(
    out_for_delivery, time_machine
):
    old_code = plain_code(out_for_delivery)
    time_machine.move_to(FRIDAY_SWEEP, tick=False)

    shipments_day_end()

    codes = list(DeliveryCode.objects.filter(shipment=out_for_delivery).order_by("pk"))
    # The day-end expires ended codes first, then gives the missed parcel a fresh one.
    assert [c.status for c in codes] == ["expired", "active"]
    assert codes[1].delivery_day == FRIDAY
    assert plain_code(out_for_delivery) != old_code


def test_missed_delivery_emails_the_fresh_code(
    out_for_delivery, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(FRIDAY_SWEEP, tick=False)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        shipments_day_end()

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [out_for_delivery.order.email]
    new_code = plain_code(out_for_delivery)
    assert f"{new_code[:3]} {new_code[3:]}" in mail.outbox[0].body
    assert "previous code no longer works" in mail.outbox[0].body


def test_missed_delivery_without_a_code_is_rescheduled_too(cheap_out_for_delivery, time_machine):
    time_machine.move_to(FRIDAY_SWEEP, tick=False)

    shipments_day_end()

    cheap_out_for_delivery.refresh_from_db()
    assert cheap_out_for_delivery.status == Shipment.Status.DELIVERY_FAILED
    assert cheap_out_for_delivery.delivery_day == FRIDAY
    assert not DeliveryCode.objects.filter(shipment=cheap_out_for_delivery).exists()


def test_second_run_changes_nothing(out_for_delivery, shipped_for_today, time_machine):
    time_machine.move_to(FRIDAY_SWEEP, tick=False)
    shipments_day_end()
    before = _snapshot()

    result = shipments_day_end()

    assert (result.expired, result.rescheduled) == (0, 0)
    assert _snapshot() == before


def test_a_day_late_sweep_catches_up_on_the_missed_day(out_for_delivery, time_machine):
    # Nothing ran at Friday 00:05; the Saturday run does the work of both nights.
    time_machine.move_to(SATURDAY_SWEEP, tick=False)

    result = shipments_day_end()

    out_for_delivery.refresh_from_db()
    assert result.rescheduled == 1
    assert out_for_delivery.delivery_day == SATURDAY
    new = DeliveryCode.objects.get(shipment=out_for_delivery, status="active")
    assert new.valid_until > SATURDAY_SWEEP
    assert shipments_day_end().rescheduled == 0


def test_a_day_late_sweep_gives_the_same_result_as_two_nightly_runs(
    shipped_for_today, time_machine
):
    time_machine.move_to(SATURDAY_SWEEP, tick=False)

    shipments_day_end()

    assert _statuses(shipped_for_today) == ["expired", "active"]


def test_a_parcel_never_sent_out_gets_a_code_for_its_new_day(shipped_for_today, time_machine):
    time_machine.move_to(FRIDAY_SWEEP, tick=False)

    result = shipments_day_end()

    shipped_for_today.refresh_from_db()
    assert result.rescheduled == 1
    assert shipped_for_today.status == Shipment.Status.SHIPPED
    assert shipped_for_today.delivery_day == FRIDAY
    assert DeliveryCode.objects.get(shipment=shipped_for_today, status="active").delivery_day == (
        FRIDAY
    )
    assert shipments_day_end().rescheduled == 0


def _statuses(shipment) -> list[str]:
    """The parcel's codes, oldest first: the day's end expires the ended one, then gives the
    parcel that never went out a fresh one for its new day (rule 8)."""
    return list(
        DeliveryCode.objects.filter(shipment=shipment)
        .order_by("pk")
        .values_list("status", flat=True)
    )


def test_parcel_missed_on_saturday_moves_to_monday(out_for_delivery, time_machine):
    Shipment.objects.filter(pk=out_for_delivery.pk).update(delivery_day=SATURDAY)
    time_machine.move_to(SUNDAY_SWEEP, tick=False)

    shipments_day_end()

    out_for_delivery.refresh_from_db()
    assert out_for_delivery.delivery_day == MONDAY


def test_sweep_before_the_day_ends_reschedules_nothing(out_for_delivery, time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 26, 23, 59, tzinfo=ROME), tick=False)

    result = shipments_day_end()

    out_for_delivery.refresh_from_db()
    assert (result.expired, result.rescheduled) == (0, 0)
    assert out_for_delivery.status == Shipment.Status.OUT_FOR_DELIVERY


LAST_COLLECTION_DAY = datetime.date(2026, 12, 2)


def test_sweep_leaves_parcels_at_a_pickup_point_alone(ops, time_machine):
    # A pickup point's code runs to the end of the holding period, its last collection day.
    point = PickupPointFactory()
    shipment = ShipmentFactory(
        order=OrderFactory(),
        status=Shipment.Status.AT_PICKUP_POINT,
        pickup_point=point,
        delivery_day=LAST_COLLECTION_DAY,
        requires_code=True,
    )
    code = DeliveryCode.objects.create(
        shipment=shipment,
        code_hash="0" * 64,
        code_encrypted="x",
        delivery_day=LAST_COLLECTION_DAY,
        valid_until=datetime.datetime(2026, 12, 3, 0, 0, tzinfo=ROME),
        pickup_point=point,
        issued_at=datetime.datetime(2026, 11, 26, 9, 0, tzinfo=ROME),
    )
    time_machine.move_to(FRIDAY_SWEEP, tick=False)

    result = shipments_day_end()

    shipment.refresh_from_db()
    code.refresh_from_db()
    assert (result.expired, result.rescheduled) == (0, 0)
    assert (shipment.status, shipment.delivery_day) == (
        Shipment.Status.AT_PICKUP_POINT,
        LAST_COLLECTION_DAY,
    )
    assert code.status == "active"


def test_a_missed_drop_is_left_to_the_pickup_flow_without_a_code(out_for_delivery, time_machine):
    Shipment.objects.filter(pk=out_for_delivery.pk).update(pickup_point=PickupPointFactory())
    time_machine.move_to(FRIDAY_SWEEP, tick=False)

    result = shipments_day_end()

    out_for_delivery.refresh_from_db()
    assert (result.rescheduled, result.missed_drops) == (0, 1)
    assert out_for_delivery.status == Shipment.Status.SHIPPED
    assert not DeliveryCode.objects.filter(shipment=out_for_delivery, status="active").exists()


def test_sweep_leaves_delivered_parcels_alone(out_for_delivery, courier, time_machine):
    from codes.services import EntryContext
    from handoff.services import shipment_hand_over_at_door

    shipment_hand_over_at_door(
        shipment=out_for_delivery,
        raw_code=plain_code(out_for_delivery),
        context=EntryContext(user=courier.user),
    )
    time_machine.move_to(FRIDAY_SWEEP, tick=False)

    result = shipments_day_end()

    out_for_delivery.refresh_from_db()
    assert (result.expired, result.rescheduled) == (0, 0)
    assert out_for_delivery.status == Shipment.Status.DELIVERED
    assert DeliveryCode.objects.get(shipment=out_for_delivery).status == "used"


def test_sweep_of_100000_codes_takes_a_bounded_number_of_queries(
    out_for_delivery, time_machine, django_assert_max_num_queries
):
    # Given 100,000 ended codes on parcels the day-end has no other work for (the expiry
    # step measured alone: their own day is later), and one missed home delivery: only the
    # missed parcel costs queries of its own.
    order = OrderFactory()
    shipments = Shipment.objects.bulk_create(
        [
            Shipment(
                order=order,
                tracking_number=f"ODBULK{index:06d}",
                status=Shipment.Status.SHIPPED,
                delivery_day=FRIDAY,
                requires_code=True,
            )
            for index in range(100_000)
        ],
        batch_size=10_000,
    )
    valid_until = datetime.datetime(2026, 11, 27, 0, 0, tzinfo=ROME)
    issued_at = datetime.datetime(2026, 11, 25, 18, 0, tzinfo=ROME)
    DeliveryCode.objects.bulk_create(
        [
            DeliveryCode(
                shipment=shipment,
                code_hash=f"{index:064x}",
                code_encrypted="not-a-real-code",
                delivery_day=TODAY,
                valid_until=valid_until,
                issued_at=issued_at,
            )
            for index, shipment in enumerate(shipments)
        ],
        batch_size=10_000,
    )
    time_machine.move_to(FRIDAY_SWEEP, tick=False)

    # Bounded: the missed parcel's own reschedule (code, route) and each step's statements.
    with django_assert_max_num_queries(45):
        result = shipments_day_end()

    # The missed parcel's own ended code is expired first, with the others.
    assert (result.expired, result.rescheduled) == (100_001, 1)
    assert not DeliveryCode.objects.filter(status="active", valid_until__lte=FRIDAY_SWEEP).exists()


def _never_sent_out(customer, ops, route, count):
    for _ in range(count):
        shipment = shipment_mark_shipped(
            shipment=make_valuable_shipment(customer), actor=ops, delivery_day=TODAY
        )
        shipment_add_to_route(shipment=shipment, route=route, actor=ops)


def test_parcels_never_sent_out_are_rescheduled_in_a_fixed_number_of_queries(
    customer, ops, route, time_machine
):
    _never_sent_out(customer, ops, route, 2)
    time_machine.move_to(FRIDAY_SWEEP, tick=False)
    with CaptureQueriesContext(connection) as few:
        shipments_reschedule_not_sent_out()
    _never_sent_out(customer, ops, route, 20)
    time_machine.move_to(SATURDAY_SWEEP, tick=False)
    with CaptureQueriesContext(connection) as many:
        rescheduled = shipments_reschedule_not_sent_out()

    assert len(rescheduled) == 22
    assert len(many) == len(few)
