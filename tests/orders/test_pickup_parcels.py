"""Getting a parcel to a pickup point, and sending it back when nobody collects it."""

import datetime

import pytest
from django.core import mail

from codes.models import CodeEntry, DeliveryCode
from codes.services import EntryContext
from couriers.models import DeliveryAttempt
from handoff.services import (
    shipment_hand_over_at_counter,
    shipment_receive_at_pickup_point,
    shipment_record_failed_attempt,
    shipment_redirect_to_pickup_point,
    shipments_return_uncollected,
)
from orders.exceptions import IllegalTransition, PickupPointUnavailable
from orders.models import Shipment, TrackingEvent
from tests.conftest import make_parcel_at, plain_code
from tests.factories import PickupPointFactory

pytestmark = pytest.mark.django_db

# The parcel arrived Thursday 26 November: Sunday the 29th is its last collection day.
SUNDAY_LAST_SECOND = datetime.datetime(2026, 11, 29, 22, 59, 59, tzinfo=datetime.UTC)
MONDAY_AFTER = datetime.datetime(2026, 11, 29, 23, 15, tzinfo=datetime.UTC)


def _release(point, raw, user):
    return shipment_hand_over_at_counter(
        pickup_point=point, raw_code=raw, context=EntryContext(user=user)
    )


# --- Redirect after a failed attempt --------------------------------------------------------


def test_redirect_after_a_failed_attempt_releases_with_a_new_code(
    out_for_delivery, courier, customer, pickup_point, operator
):
    door_code = plain_code(out_for_delivery)
    shipment_record_failed_attempt(
        shipment=out_for_delivery, courier=courier, reason=DeliveryAttempt.Reason.NOT_AT_HOME
    )

    shipment_redirect_to_pickup_point(
        shipment=out_for_delivery, pickup_point=pickup_point, actor=customer
    )
    shipment_receive_at_pickup_point(
        shipment=out_for_delivery, pickup_point=pickup_point, actor=operator
    )

    point_code = plain_code(out_for_delivery)
    assert point_code != door_code
    # Rule 16: the door's code is an earlier code of this parcel, not a guess.
    assert _release(pickup_point, door_code, operator).outcome == CodeEntry.Outcome.EARLIER_CODE
    assert _release(pickup_point, point_code, operator).delivered


def test_redirect_records_the_point_on_the_timeline(out_for_delivery, courier, pickup_point):
    shipment_record_failed_attempt(
        shipment=out_for_delivery, courier=courier, reason=DeliveryAttempt.Reason.NOT_AT_HOME
    )

    shipment = shipment_redirect_to_pickup_point(
        shipment=out_for_delivery, pickup_point=pickup_point, actor=courier.user
    )

    assert shipment.pickup_point == pickup_point
    assert shipment.status == Shipment.Status.SHIPPED  # on its way to the point (rule 15)
    assert shipment.events.last().note == "Redirected to a pickup point"


def test_redirect_to_an_inactive_point_is_refused(out_for_delivery, customer):
    closed = PickupPointFactory(is_active=False)

    with pytest.raises(PickupPointUnavailable):
        shipment_redirect_to_pickup_point(
            shipment=out_for_delivery, pickup_point=closed, actor=customer
        )

    out_for_delivery.refresh_from_db()
    assert out_for_delivery.pickup_point is None


def test_a_delivered_parcel_cannot_be_redirected(at_pickup_point, pickup_point, other_point):
    _release(pickup_point, plain_code(at_pickup_point), pickup_point.operators.get())
    events = TrackingEvent.objects.count()

    with pytest.raises(IllegalTransition):
        shipment_redirect_to_pickup_point(
            shipment=at_pickup_point, pickup_point=other_point, actor=None
        )

    assert Shipment.objects.get(pk=at_pickup_point.pk).pickup_point == pickup_point
    assert TrackingEvent.objects.count() == events


def test_a_parcel_is_received_only_at_the_point_it_is_addressed_to(
    out_for_delivery, pickup_point, other_point, other_operator
):
    shipment_redirect_to_pickup_point(
        shipment=out_for_delivery, pickup_point=pickup_point, actor=None
    )

    with pytest.raises(PickupPointUnavailable):
        shipment_receive_at_pickup_point(
            shipment=out_for_delivery, pickup_point=other_point, actor=other_operator
        )

    out_for_delivery.refresh_from_db()
    assert out_for_delivery.status == Shipment.Status.OUT_FOR_DELIVERY
    assert not DeliveryCode.objects.filter(pickup_point=other_point).exists()


def test_receipt_moves_the_parcel_to_the_point_and_emails_the_customer(
    out_for_delivery, pickup_point, operator, django_capture_on_commit_callbacks
):
    shipment_redirect_to_pickup_point(
        shipment=out_for_delivery, pickup_point=pickup_point, actor=None
    )
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        shipment_receive_at_pickup_point(
            shipment=out_for_delivery, pickup_point=pickup_point, actor=operator
        )

    out_for_delivery.refresh_from_db()
    assert out_for_delivery.status == Shipment.Status.AT_PICKUP_POINT
    assert len(mail.outbox) == 1
    assert plain_code(out_for_delivery)[:3] in mail.outbox[0].body


# --- Uncollected parcels go back ------------------------------------------------------------


def test_parcel_is_held_through_its_last_collection_day(at_pickup_point, time_machine):
    time_machine.move_to(SUNDAY_LAST_SECOND, tick=False)

    assert shipments_return_uncollected() == []
    assert Shipment.objects.get(pk=at_pickup_point.pk).status == "at_pickup_point"


def test_uncollected_parcel_is_returned_after_its_last_collection_day(
    at_pickup_point, time_machine
):
    time_machine.move_to(MONDAY_AFTER, tick=False)

    returned = shipments_return_uncollected()

    at_pickup_point.refresh_from_db()
    assert returned == [at_pickup_point.pk]
    assert at_pickup_point.status == Shipment.Status.RETURNED
    assert at_pickup_point.events.last().status == Shipment.Status.RETURNED
    assert DeliveryCode.objects.get(shipment=at_pickup_point).status == "expired"


def test_customer_is_told_the_parcel_went_back(
    at_pickup_point, customer, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(MONDAY_AFTER, tick=False)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        shipments_return_uncollected()

    assert [m.to for m in mail.outbox] == [[customer.email]]
    assert "not collected" in mail.outbox[0].subject
    assert at_pickup_point.tracking_number in mail.outbox[0].body


def test_returning_twice_changes_nothing_more(
    at_pickup_point, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(MONDAY_AFTER, tick=False)
    shipments_return_uncollected()
    events = TrackingEvent.objects.count()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        again = shipments_return_uncollected()

    assert again == []
    assert TrackingEvent.objects.count() == events
    assert mail.outbox == []


def test_a_late_run_still_returns_the_parcel(at_pickup_point, time_machine):
    time_machine.move_to(MONDAY_AFTER + datetime.timedelta(days=4), tick=False)

    assert shipments_return_uncollected() == [at_pickup_point.pk]


def test_collected_parcels_are_not_returned(at_pickup_point, pickup_point, time_machine):
    _release(pickup_point, plain_code(at_pickup_point), pickup_point.operators.get())
    time_machine.move_to(MONDAY_AFTER, tick=False)

    assert shipments_return_uncollected() == []
    assert Shipment.objects.get(pk=at_pickup_point.pk).status == "delivered"


def test_return_is_set_based(
    pickup_point, customer, ops, time_machine, django_assert_max_num_queries
):
    for _ in range(25):
        make_parcel_at(pickup_point, customer, ops)
    time_machine.move_to(MONDAY_AFTER, tick=False)

    with django_assert_max_num_queries(8):
        returned = shipments_return_uncollected()

    assert len(returned) == 25
