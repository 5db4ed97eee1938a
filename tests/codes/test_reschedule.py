"""Rescheduling (rule 8): after a failed attempt or a missed day the old code is dead, the
new one works on the new day, and the customer got an email with each."""

import datetime

import pytest
from django.core import mail

from codes.models import CodeEntry
from codes.services import EntryContext
from couriers.models import DeliveryAttempt
from handoff.exceptions import NotItsDeliveryDay
from handoff.services import (
    shipment_hand_over_at_door,
    shipment_mark_out_for_delivery,
    shipment_record_failed_attempt,
    shipments_day_end,
)
from orders.models import Shipment
from tests.conftest import ROME, TODAY, plain_code

pytestmark = pytest.mark.django_db

FRIDAY = TODAY + datetime.timedelta(days=1)


def _fail_at_the_door(shipment, courier, time_machine):
    shipment_record_failed_attempt(
        shipment=shipment, courier=courier, reason=DeliveryAttempt.Reason.NOT_AT_HOME
    )


def _miss_the_day(shipment, courier, time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 27, 0, 5, tzinfo=ROME), tick=False)
    shipments_day_end()


RESCHEDULES = pytest.mark.parametrize(
    "reschedule", [_fail_at_the_door, _miss_the_day], ids=["failed-attempt", "missed-day"]
)


def _enter(shipment, raw, courier):
    return shipment_hand_over_at_door(
        shipment=shipment, raw_code=raw, context=EntryContext(user=courier.user)
    )


def _out_again_on_friday(shipment, courier, ops, time_machine):
    # The reschedule put it on the courier's route for Friday already (rule 14).
    time_machine.move_to(datetime.datetime(2026, 11, 27, 9, 0, tzinfo=ROME), tick=False)
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
def test_old_code_is_refused_on_the_new_day_as_an_earlier_code(
    out_for_delivery, courier, ops, time_machine, reschedule
):
    old_code = plain_code(out_for_delivery)
    reschedule(out_for_delivery, courier, time_machine)
    _out_again_on_friday(out_for_delivery, courier, ops, time_machine)

    result = _enter(out_for_delivery, old_code, courier)

    out_for_delivery.refresh_from_db()
    assert result.outcome == CodeEntry.Outcome.EARLIER_CODE
    assert not result.delivered
    assert out_for_delivery.wrong_code_entries == 0


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


def test_parcel_is_not_sent_out_after_its_day(out_for_delivery, courier, ops, time_machine):
    # Given a parcel rescheduled to Friday that stayed at the depot on Friday,
    shipment_record_failed_attempt(
        shipment=out_for_delivery, courier=courier, reason=DeliveryAttempt.Reason.NOT_AT_HOME
    )
    events = out_for_delivery.events.count()
    time_machine.move_to(datetime.datetime(2026, 11, 28, 8, 0, tzinfo=ROME), tick=False)

    # when operations try to send it out on Saturday, then it is refused (rule 13: only on
    # its delivery day) and nothing is written.
    with pytest.raises(NotItsDeliveryDay):
        shipment_mark_out_for_delivery(shipment=out_for_delivery, actor=ops)

    out_for_delivery.refresh_from_db()
    assert out_for_delivery.status == Shipment.Status.DELIVERY_FAILED
    assert out_for_delivery.events.count() == events


def test_parcel_sent_out_on_its_day_keeps_its_code(out_for_delivery, courier, ops, time_machine):
    shipment_record_failed_attempt(
        shipment=out_for_delivery, courier=courier, reason=DeliveryAttempt.Reason.NOT_AT_HOME
    )
    friday_code = plain_code(out_for_delivery)

    _out_again_on_friday(out_for_delivery, courier, ops, time_machine)

    assert plain_code(out_for_delivery) == friday_code
