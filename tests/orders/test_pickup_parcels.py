"""Getting a parcel to a pickup point, and sending it back when nobody collects it."""

import datetime

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command

from codes.models import CodeEntry, DeliveryCode
from codes.services import EntryContext, code_verify_at_pickup_point
from couriers.models import DeliveryAttempt
from couriers.services import delivery_attempt_record_failure
from orders.exceptions import IllegalTransition, PickupPointUnavailable
from orders.models import Shipment, TrackingEvent
from orders.services import (
    shipment_receive_at_pickup_point,
    shipment_redirect_to_pickup_point,
    shipments_return_uncollected,
)
from orders.tasks import return_uncollected_parcels
from tests.conftest import make_parcel_at, plain_code
from tests.factories import PickupPointFactory

pytestmark = pytest.mark.django_db

# The parcel arrived Thursday 26 November: Sunday the 29th is its last collection day.
SUNDAY_LAST_SECOND = datetime.datetime(2026, 11, 29, 22, 59, 59, tzinfo=datetime.UTC)
MONDAY_AFTER = datetime.datetime(2026, 11, 29, 23, 15, tzinfo=datetime.UTC)


def _release(point, raw, user):
    return code_verify_at_pickup_point(
        pickup_point=point, raw_code=raw, context=EntryContext(user=user)
    )


# --- Redirect after a failed attempt --------------------------------------------------------


def test_redirect_after_a_failed_attempt_releases_with_a_new_code(
    out_for_delivery, courier, customer, pickup_point, operator
):
    door_code = plain_code(out_for_delivery)
    delivery_attempt_record_failure(
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
    assert _release(pickup_point, door_code, operator).outcome == CodeEntry.Outcome.WRONG
    assert _release(pickup_point, point_code, operator).delivered


def test_redirect_records_the_point_on_the_timeline(out_for_delivery, courier, pickup_point):
    delivery_attempt_record_failure(
        shipment=out_for_delivery, courier=courier, reason=DeliveryAttempt.Reason.NOT_AT_HOME
    )

    shipment = shipment_redirect_to_pickup_point(
        shipment=out_for_delivery, pickup_point=pickup_point, actor=courier.user
    )

    assert shipment.pickup_point == pickup_point
    assert shipment.status == Shipment.Status.DELIVERY_FAILED
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


def test_the_command_and_the_task_run_the_same_return(at_pickup_point, time_machine, capsys):
    time_machine.move_to(MONDAY_AFTER, tick=False)

    call_command("return_uncollected")

    assert "1 uncollected parcel(s) returned" in capsys.readouterr().out
    assert return_uncollected_parcels() == 0
    assert Shipment.objects.get(pk=at_pickup_point.pk).status == "returned"


def test_beat_runs_the_return_after_local_midnight():
    entry = settings.CELERY_BEAT_SCHEDULE["return-uncollected-parcels"]

    assert entry["task"] == "orders.tasks.return_uncollected_parcels"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({0}, {15})
    assert settings.CELERY_TIMEZONE == settings.DELIVERY_TIME_ZONE
