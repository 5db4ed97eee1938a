"""Rescheduling (rule 8): after a failed attempt or a missed day the old code is dead, the
new one works on the new day, and the customer got an email with each."""

import datetime

import pytest
from django.core import mail

from codes.lifecycle import code_day_end_sweep
from codes.models import CodeEntry
from codes.services import EntryContext, code_verify
from couriers.models import DeliveryAttempt
from couriers.services import delivery_attempt_record_failure, route_add_stop
from orders.models import Shipment
from orders.services import shipment_mark_out_for_delivery
from tests.conftest import ROME, TODAY, plain_code
from tests.factories import RouteFactory

pytestmark = pytest.mark.django_db

FRIDAY = TODAY + datetime.timedelta(days=1)


def _fail_at_the_door(shipment, courier, time_machine):
    delivery_attempt_record_failure(
        shipment=shipment, courier=courier, reason=DeliveryAttempt.Reason.NOT_AT_HOME
    )


def _miss_the_day(shipment, courier, time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 27, 0, 5, tzinfo=ROME), tick=False)
    code_day_end_sweep()


RESCHEDULES = pytest.mark.parametrize(
    "reschedule", [_fail_at_the_door, _miss_the_day], ids=["failed-attempt", "missed-day"]
)


def _enter(shipment, raw, courier):
    return code_verify(shipment=shipment, raw_code=raw, context=EntryContext(user=courier.user))


def _out_again_on_friday(shipment, courier, ops, time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 27, 9, 0, tzinfo=ROME), tick=False)
    route_add_stop(route=RouteFactory(courier=courier, day=FRIDAY), shipment=shipment)
    return shipment_mark_out_for_delivery(shipment=shipment, actor=ops)


@RESCHEDULES
def test_old_code_is_refused_after_rescheduling(
    out_for_delivery, courier, time_machine, reschedule
):
    old_code = plain_code(out_for_delivery)

    reschedule(out_for_delivery, courier, time_machine)

    result = _enter(out_for_delivery, old_code, courier)
    out_for_delivery.refresh_from_db()
    assert result.outcome == CodeEntry.Outcome.EXPIRED
    assert out_for_delivery.status == Shipment.Status.DELIVERY_FAILED


@RESCHEDULES
def test_old_code_read_out_by_mistake_does_not_count_as_a_wrong_code(
    out_for_delivery, courier, time_machine, reschedule
):
    old_code = plain_code(out_for_delivery)
    reschedule(out_for_delivery, courier, time_machine)

    _enter(out_for_delivery, old_code, courier)

    out_for_delivery.refresh_from_db()
    assert out_for_delivery.wrong_code_entries == 0


@RESCHEDULES
def test_old_code_is_refused_on_the_new_day(
    out_for_delivery, courier, ops, time_machine, reschedule
):
    old_code = plain_code(out_for_delivery)
    reschedule(out_for_delivery, courier, time_machine)
    _out_again_on_friday(out_for_delivery, courier, ops, time_machine)

    result = _enter(out_for_delivery, old_code, courier)

    assert result.outcome == CodeEntry.Outcome.EXPIRED
    assert not result.delivered


@RESCHEDULES
def test_new_code_delivers_on_the_new_day(out_for_delivery, courier, ops, time_machine, reschedule):
    reschedule(out_for_delivery, courier, time_machine)
    new_code = plain_code(out_for_delivery)
    _out_again_on_friday(out_for_delivery, courier, ops, time_machine)

    result = _enter(out_for_delivery, new_code, courier)

    out_for_delivery.refresh_from_db()
    assert result.delivered
    assert out_for_delivery.status == Shipment.Status.DELIVERED


@RESCHEDULES
def test_customer_gets_an_email_with_each_code(
    out_for_delivery, courier, time_machine, reschedule, django_capture_on_commit_callbacks
):
    first_code = plain_code(out_for_delivery)

    with django_capture_on_commit_callbacks(execute=True):
        reschedule(out_for_delivery, courier, time_machine)

    second_code = plain_code(out_for_delivery)
    bodies = [m.body for m in mail.outbox if m.to == [out_for_delivery.order.email]]
    assert len(bodies) == 2
    assert f"{first_code[:3]} {first_code[3:]}" in bodies[0]
    assert f"{second_code[:3]} {second_code[3:]}" in bodies[1]
    assert "Friday 27 November 2026" in bodies[1]


def test_parcel_sent_out_after_its_day_gets_a_fresh_code_for_today(
    out_for_delivery, courier, ops, time_machine, django_capture_on_commit_callbacks
):
    # Given a parcel rescheduled to Friday that stayed at the depot on Friday,
    delivery_attempt_record_failure(
        shipment=out_for_delivery, courier=courier, reason=DeliveryAttempt.Reason.NOT_AT_HOME
    )
    friday_code = plain_code(out_for_delivery)
    time_machine.move_to(datetime.datetime(2026, 11, 28, 8, 0, tzinfo=ROME), tick=False)
    mail.outbox.clear()

    # when it goes out on Saturday,
    with django_capture_on_commit_callbacks(execute=True):
        shipment_mark_out_for_delivery(shipment=out_for_delivery, actor=ops)

    # then it is due today, with a new code that works and was emailed.
    out_for_delivery.refresh_from_db()
    saturday_code = plain_code(out_for_delivery)
    assert out_for_delivery.delivery_day == datetime.date(2026, 11, 28)
    assert saturday_code != friday_code
    assert len(mail.outbox) == 1
    assert _enter(out_for_delivery, saturday_code, courier).delivered


def test_parcel_sent_out_on_its_day_keeps_its_code(out_for_delivery, courier, ops, time_machine):
    delivery_attempt_record_failure(
        shipment=out_for_delivery, courier=courier, reason=DeliveryAttempt.Reason.NOT_AT_HOME
    )
    friday_code = plain_code(out_for_delivery)

    _out_again_on_friday(out_for_delivery, courier, ops, time_machine)

    assert plain_code(out_for_delivery) == friday_code
