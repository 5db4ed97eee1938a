"""Getting a parcel to a pickup point: the courier's drop, the customer's redirect from
the tracking page, and operations' redirect in the admin."""

import pytest
from django.urls import reverse

from codes.models import CodeEntry, DeliveryCode
from codes.services import EntryContext
from couriers.models import DeliveryAttempt
from handoff.services import (
    shipment_add_to_route,
    shipment_hand_over_at_counter,
    shipment_mark_out_for_delivery,
    shipment_mark_shipped,
    shipment_receive_at_pickup_point,
    shipment_record_failed_attempt,
    shipments_record_missed_drops,
    shipments_return_uncollected,
)
from orders.models import Shipment, TrackingEvent
from tests.conftest import TODAY, make_parcel_at, make_valuable_shipment, plain_code
from tests.factories import CourierFactory, PickupPointFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def drop_at_point(customer, route, ops, pickup_point):
    """A parcel for the pickup point, on the courier's route today."""
    shipment = make_valuable_shipment(customer)
    shipment.pickup_point = pickup_point
    shipment.save(update_fields=["pickup_point"])
    shipment_mark_shipped(shipment=shipment, actor=ops, delivery_day=TODAY)
    shipment_add_to_route(route=route, shipment=shipment)
    return shipment_mark_out_for_delivery(shipment=shipment, actor=ops)


@pytest.fixture
def failed_at_the_door(out_for_delivery, courier):
    shipment_record_failed_attempt(
        shipment=out_for_delivery, courier=courier, reason=DeliveryAttempt.Reason.NOT_AT_HOME
    )
    out_for_delivery.refresh_from_db()
    return out_for_delivery


# --- The courier's route --------------------------------------------------------------------


def test_route_shows_the_drop_at_the_point_not_the_customers_home(client, courier, drop_at_point):
    client.force_login(courier.user)

    content = client.get(reverse("courier_today")).content.decode()

    assert "Edicola Centrale" in content
    assert "Piazza Colonna 1" in content
    assert "Via Roma 1" not in content


def test_stop_at_a_point_offers_the_drop_and_no_code_entry(client, courier, drop_at_point):
    client.force_login(courier.user)

    content = client.get(reverse("courier_stop", args=[drop_at_point.tracking_number])).content

    assert b"Dropped at the pickup point" in content
    assert b"Confirm delivery" not in content
    assert b"Via Roma 1" not in content


def test_courier_marks_the_parcel_dropped_and_the_customer_gets_the_code(
    client, courier, drop_at_point, pickup_point, operator, django_capture_on_commit_callbacks
):
    client.force_login(courier.user)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        client.post(reverse("courier_stop_dropped", args=[drop_at_point.tracking_number]))

    drop_at_point.refresh_from_db()
    assert drop_at_point.status == Shipment.Status.AT_PICKUP_POINT
    assert callbacks
    client.force_login(operator)
    client.post(
        reverse("pickup_point", args=[pickup_point.pk]), {"code": plain_code(drop_at_point)}
    )
    assert Shipment.objects.get(pk=drop_at_point.pk).status == Shipment.Status.DELIVERED


def test_code_entry_at_the_door_is_refused_for_a_parcel_going_to_a_point(
    client, courier, drop_at_point
):
    client.force_login(courier.user)

    client.post(
        reverse("courier_stop", args=[drop_at_point.tracking_number]),
        {"code": plain_code(drop_at_point)},
    )

    # Not checked, but recorded (rule 10): the stop's code is no longer the one
    assert Shipment.objects.get(pk=drop_at_point.pk).status == "out_for_delivery"
    assert CodeEntry.objects.get().outcome == CodeEntry.Outcome.EXPIRED
    assert DeliveryCode.objects.get(shipment=drop_at_point).wrong_attempts == 0


def test_a_home_delivery_cannot_be_marked_dropped(client, courier, out_for_delivery):
    client.force_login(courier.user)

    client.post(reverse("courier_stop_dropped", args=[out_for_delivery.tracking_number]))

    assert Shipment.objects.get(pk=out_for_delivery.pk).status == "out_for_delivery"


def test_another_courier_cannot_drop_the_parcel(client, drop_at_point):
    client.force_login(CourierFactory().user)

    response = client.post(reverse("courier_stop_dropped", args=[drop_at_point.tracking_number]))

    assert response.status_code == 404
    assert Shipment.objects.get(pk=drop_at_point.pk).status == "out_for_delivery"


# --- The customer's redirect ------------------------------------------------------------------


def test_after_a_failed_attempt_the_tracking_page_offers_active_points(
    client, customer, failed_at_the_door, pickup_point
):
    PickupPointFactory(name="Chiuso per ferie", is_active=False)
    client.force_login(customer)

    content = client.get(reverse("track", args=[failed_at_the_door.tracking_number])).content

    assert b"Edicola Centrale" in content
    assert b"Chiuso per ferie" not in content
    assert b"Send it to this pickup point" in content


def test_no_redirect_is_offered_while_the_parcel_is_out_for_delivery(
    client, customer, out_for_delivery, pickup_point
):
    client.force_login(customer)

    content = client.get(reverse("track", args=[out_for_delivery.tracking_number])).content

    assert b"Send it to this pickup point" not in content


def test_customer_redirects_the_parcel_to_a_point(
    client, customer, failed_at_the_door, pickup_point
):
    client.force_login(customer)

    response = client.post(
        reverse("track_redirect", args=[failed_at_the_door.tracking_number]),
        {"pickup_point": pickup_point.pk},
        follow=True,
    )

    failed_at_the_door.refresh_from_db()
    assert failed_at_the_door.pickup_point == pickup_point
    assert b"on its way to Edicola Centrale" in response.content


def test_customer_cannot_redirect_to_an_inactive_point(client, customer, failed_at_the_door):
    closed = PickupPointFactory(is_active=False)
    client.force_login(customer)

    client.post(
        reverse("track_redirect", args=[failed_at_the_door.tracking_number]),
        {"pickup_point": closed.pk},
    )

    assert Shipment.objects.get(pk=failed_at_the_door.pk).pickup_point is None


def test_customer_cannot_redirect_someone_elses_parcel(client, failed_at_the_door, pickup_point):
    client.force_login(UserFactory(username="mallory"))

    response = client.post(
        reverse("track_redirect", args=[failed_at_the_door.tracking_number]),
        {"pickup_point": pickup_point.pk},
    )

    assert response.status_code == 404
    assert Shipment.objects.get(pk=failed_at_the_door.pk).pickup_point is None


def test_redirect_is_refused_while_out_for_delivery(
    client, customer, out_for_delivery, pickup_point
):
    client.force_login(customer)

    client.post(
        reverse("track_redirect", args=[out_for_delivery.tracking_number]),
        {"pickup_point": pickup_point.pk},
    )

    assert Shipment.objects.get(pk=out_for_delivery.pk).pickup_point is None


def test_tracking_page_shows_where_and_until_when_to_collect(client, customer, at_pickup_point):
    client.force_login(customer)

    content = client.get(reverse("track", args=[at_pickup_point.tracking_number])).content

    assert b'data-shipment-status="at_pickup_point"' in content
    assert b"Collect by" in content
    assert b"Sunday 29 November 2026" in content
    assert b"Edicola Centrale" in content
    assert f'data-delivery-code="{plain_code(at_pickup_point)}"'.encode() in content


def test_tracking_page_says_where_the_parcel_was_collected(
    client, customer, at_pickup_point, pickup_point, operator
):
    client.force_login(operator)
    client.post(
        reverse("pickup_point", args=[pickup_point.pk]), {"code": plain_code(at_pickup_point)}
    )
    client.force_login(customer)

    content = client.get(reverse("track", args=[at_pickup_point.tracking_number])).content

    assert b'data-shipment-status="delivered"' in content
    assert b"Collected at Edicola Centrale" in content
    assert b"data-delivery-code" not in content


# --- Operations in the admin ------------------------------------------------------------------


def _redirect_action(client, shipment, point):
    return client.post(
        reverse("admin:orders_shipment_changelist"),
        {
            "action": "redirect_to_pickup_point",
            "_selected_action": [shipment.pk],
            "apply": "1",
            "pickup_point": point.pk,
        },
        follow=True,
    )


def test_operations_redirect_a_parcel_in_the_admin(client, ops, failed_at_the_door, pickup_point):
    client.force_login(ops)

    response = _redirect_action(client, failed_at_the_door, pickup_point)

    failed_at_the_door.refresh_from_db()
    assert response.status_code == 200
    assert failed_at_the_door.pickup_point == pickup_point
    assert TrackingEvent.objects.filter(actor=ops).last().note == "Redirected to a pickup point"


def test_admin_redirect_asks_for_the_point_first(client, ops, failed_at_the_door):
    client.force_login(ops)

    response = client.post(
        reverse("admin:orders_shipment_changelist"),
        {"action": "redirect_to_pickup_point", "_selected_action": [failed_at_the_door.pk]},
    )

    failed_at_the_door.refresh_from_db()
    assert 'name="pickup_point"' in response.content.decode()
    assert failed_at_the_door.pickup_point is None


def test_admin_refuses_to_redirect_a_delivered_parcel(
    client, ops, at_pickup_point, pickup_point, other_point
):
    client.force_login(ops)
    shipment_hand_over_at_counter(
        pickup_point=pickup_point,
        raw_code=plain_code(at_pickup_point),
        context=EntryContext(user=ops),
    )

    response = _redirect_action(client, at_pickup_point, other_point)

    assert b"was not changed" in response.content
    assert Shipment.objects.get(pk=at_pickup_point.pk).pickup_point == pickup_point


def test_admin_lists_parcels_returned_uncollected(
    client, ops, pickup_point, customer, time_machine
):
    returned = make_parcel_at(pickup_point, customer, ops)
    time_machine.move_to("2026-11-30 09:00:00+01:00", tick=False)
    shipments_return_uncollected()
    held = make_parcel_at(pickup_point, customer, ops)
    client.force_login(ops)

    content = client.get(reverse("admin:orders_shipment_changelist") + "?pickup=returned").content

    assert returned.tracking_number.encode() in content
    assert held.tracking_number.encode() not in content


def test_admin_lists_parcels_past_their_last_collection_day(
    client, ops, pickup_point, customer, time_machine
):
    overdue = make_parcel_at(pickup_point, customer, ops)
    time_machine.move_to("2026-11-30 00:05:00+01:00", tick=False)
    client.force_login(ops)

    content = client.get(reverse("admin:orders_shipment_changelist") + "?pickup=overdue").content

    assert overdue.tracking_number.encode() in content


def test_no_second_redirect_is_offered_once_a_point_is_chosen(
    client, customer, failed_at_the_door, pickup_point
):
    client.force_login(customer)
    client.post(
        reverse("track_redirect", args=[failed_at_the_door.tracking_number]),
        {"pickup_point": pickup_point.pk},
    )

    content = client.get(reverse("track", args=[failed_at_the_door.tracking_number])).content

    assert b"Send it to this pickup point" not in content
    assert b"Tell this code to the operator at Edicola Centrale" in content


# --- A drop the courier did not make ---------------------------------------------------------

AFTER_ITS_DAY = "2026-11-27 00:10:00+01:00"


def test_a_parcel_not_dropped_on_its_day_goes_back_for_another_run(drop_at_point, time_machine):
    time_machine.move_to(AFTER_ITS_DAY, tick=False)

    moved = shipments_record_missed_drops()

    drop_at_point.refresh_from_db()
    assert moved == [drop_at_point.pk]
    # On its way to the point again (rule 15): nobody tried the customer's door.
    assert drop_at_point.status == Shipment.Status.SHIPPED
    assert drop_at_point.delivery_day.isoformat() == "2026-11-27"
    assert drop_at_point.pickup_point is not None
    assert drop_at_point.events.last().status == Shipment.Status.SHIPPED


def test_the_missed_drop_is_recorded_once(drop_at_point, time_machine):
    time_machine.move_to(AFTER_ITS_DAY, tick=False)
    shipments_record_missed_drops()
    events = TrackingEvent.objects.count()

    assert shipments_record_missed_drops() == []
    assert TrackingEvent.objects.count() == events


def test_a_drop_is_not_missed_during_its_day(drop_at_point, time_machine):
    time_machine.move_to("2026-11-26 23:59:59+01:00", tick=False)

    assert shipments_record_missed_drops() == []


def test_home_deliveries_are_left_to_the_day_end_sweep(out_for_delivery, time_machine):
    time_machine.move_to(AFTER_ITS_DAY, tick=False)

    assert shipments_record_missed_drops() == []
    assert Shipment.objects.get(pk=out_for_delivery.pk).status == "out_for_delivery"


def test_a_missed_drop_reaches_the_point_later_and_the_customer_gets_a_valid_code(
    drop_at_point, pickup_point, operator, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(AFTER_ITS_DAY, tick=False)
    shipments_record_missed_drops()
    time_machine.move_to("2026-11-27 11:00:00+01:00", tick=False)

    with django_capture_on_commit_callbacks(execute=True):
        shipment_receive_at_pickup_point(
            shipment=drop_at_point, pickup_point=pickup_point, actor=operator
        )

    result = shipment_hand_over_at_counter(
        pickup_point=pickup_point,
        raw_code=plain_code(drop_at_point),
        context=EntryContext(user=operator),
    )
    assert result.delivered
