"""Issue 10's defects as people met them, each through the pages or the admin: the roles
must agree whatever order their actions come in."""

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from alerts.models import Alert
from codes.models import CodeEntry, DeliveryCode
from couriers.models import DeliveryAttempt, Stop
from handoff.exceptions import NotItsDeliveryDay, OnAnotherRoute
from handoff.services import (
    EntryContext,
    shipment_add_to_route,
    shipment_hand_over_at_door,
    shipment_mark_out_for_delivery,
    shipment_mark_shipped,
    shipment_move_to_route,
    shipment_receive_at_pickup_point,
    shipment_record_failed_attempt,
    shipment_redirect_to_pickup_point,
)
from orders.models import Shipment
from tests.conftest import (
    ROME,
    TODAY,
    make_valuable_shipment,
    plain_code,
    stop_url,
    wrong_code_for,
)
from tests.factories import CourierFactory, RouteFactory, UserFactory

pytestmark = pytest.mark.django_db

TOMORROW = TODAY + datetime.timedelta(days=1)


def _failed_url(shipment):
    return reverse("courier_stop_failed", args=[shipment.tracking_number])


# --- A courier on a bad network taps twice ------------------------------------------------


def test_a_second_failed_attempt_tap_answers_as_done(courier_client, out_for_delivery):
    first = courier_client.post(_failed_url(out_for_delivery), {"reason": "not_at_home"})

    second = courier_client.post(_failed_url(out_for_delivery), {"reason": "not_at_home"})

    assert (first.status_code, first.url) == (302, reverse("courier_today"))
    assert (second.status_code, second.url) == (302, reverse("courier_today"))
    assert DeliveryAttempt.objects.filter(shipment=out_for_delivery).count() == 1
    assert out_for_delivery.events.filter(status=Shipment.Status.DELIVERY_FAILED).count() == 1


def test_a_second_drop_tap_answers_as_done(
    courier_client, shipped_for_today, pickup_point, route, ops
):
    Shipment.objects.filter(pk=shipped_for_today.pk).update(pickup_point=pickup_point)
    shipment_mark_out_for_delivery(shipment=shipped_for_today, actor=ops, route=route)
    url = reverse("courier_stop_dropped", args=[shipped_for_today.tracking_number])

    first = courier_client.post(url)
    second = courier_client.post(url)

    assert (first.status_code, first.url) == (302, reverse("courier_today"))
    assert (second.status_code, second.url) == (302, reverse("courier_today"))
    assert shipped_for_today.events.filter(status=Shipment.Status.AT_PICKUP_POINT).count() == 1


def test_a_second_receipt_answers_as_done(client, operator, pickup_point, customer, ops):
    shipment = make_valuable_shipment(customer)
    Shipment.objects.filter(pk=shipment.pk).update(pickup_point=pickup_point)
    shipment_mark_shipped(shipment=shipment, actor=ops, delivery_day=TODAY)
    client.force_login(operator)
    url = reverse("pickup_receive", args=[pickup_point.pk])
    point_url = reverse("pickup_point", args=[pickup_point.pk])

    first = client.post(url, {"tracking_number": shipment.tracking_number})
    second = client.post(url, {"tracking_number": shipment.tracking_number})

    assert (first.status_code, first.url) == (302, point_url)
    assert (second.status_code, second.url) == (302, point_url)
    assert shipment.events.filter(status=Shipment.Status.AT_PICKUP_POINT).count() == 1


def test_right_code_after_the_failed_attempt_is_an_earlier_code_not_an_error(
    courier_client, out_for_delivery
):
    code = plain_code(out_for_delivery)
    courier_client.post(_failed_url(out_for_delivery), {"reason": "not_at_home"})

    response = courier_client.post(stop_url(out_for_delivery), {"code": code})

    out_for_delivery.refresh_from_db()
    assert response.status_code in {200, 302}
    assert out_for_delivery.status == Shipment.Status.DELIVERY_FAILED
    assert out_for_delivery.wrong_code_entries == 0


def test_failed_attempt_after_the_right_code_says_so_without_an_error(
    courier_client, out_for_delivery
):
    courier_client.post(stop_url(out_for_delivery), {"code": plain_code(out_for_delivery)})

    response = courier_client.post(_failed_url(out_for_delivery), {"reason": "not_at_home"})

    out_for_delivery.refresh_from_db()
    assert response.status_code == 302
    assert out_for_delivery.status == Shipment.Status.DELIVERED
    assert not DeliveryAttempt.objects.exists()


# --- Rule 16: an earlier code is told apart, at the door and at the counter ---------------


def test_an_earlier_code_at_the_door_is_refused_with_its_own_message_and_not_counted(
    courier_client, out_for_delivery, ops, time_machine
):
    old = plain_code(out_for_delivery)
    shipment_record_failed_attempt(
        shipment=out_for_delivery,
        courier=out_for_delivery.stops.get().route.courier,
        reason=DeliveryAttempt.Reason.NOT_AT_HOME,
    )
    time_machine.move_to(datetime.datetime.combine(TOMORROW, datetime.time(9), tzinfo=ROME))
    shipment_mark_out_for_delivery(shipment=out_for_delivery, actor=ops)

    response = courier_client.post(stop_url(out_for_delivery), {"code": old})

    out_for_delivery.refresh_from_db()
    assert "earlier code of this parcel: ask the customer for the newest" in (
        response.content.decode()
    )
    assert out_for_delivery.wrong_code_entries == 0
    assert CodeEntry.objects.filter(outcome=CodeEntry.Outcome.EARLIER_CODE).count() == 1


def _waiting_with_an_earlier_code(customer, pickup_point, operator, ops):
    """A parcel received at the point, and the code it was shipped with: that code ended
    before arrival, so the parcel got a fresh one there and the first is an earlier code."""
    shipment = make_valuable_shipment(customer)
    Shipment.objects.filter(pk=shipment.pk).update(pickup_point=pickup_point)
    shipment_mark_shipped(shipment=shipment, actor=ops, delivery_day=TODAY)
    shipping_code = plain_code(shipment)
    DeliveryCode.objects.filter(shipment=shipment).update(
        valid_until=datetime.datetime(2026, 11, 26, 9, tzinfo=ROME)
    )
    shipment_receive_at_pickup_point(shipment=shipment, pickup_point=pickup_point, actor=operator)
    return shipment, shipping_code


def test_an_earlier_code_at_the_counter_is_refused_and_not_counted_against_the_operator(
    client, operator, pickup_point, customer, ops
):
    shipment, shipping_code = _waiting_with_an_earlier_code(customer, pickup_point, operator, ops)
    client.force_login(operator)

    response = client.post(reverse("pickup_point", args=[pickup_point.pk]), {"code": shipping_code})

    shipment.refresh_from_db()
    assert "earlier code of this parcel: ask the customer for the newest" in (
        response.content.decode()
    )
    assert shipment.status == Shipment.Status.AT_PICKUP_POINT
    assert not CodeEntry.objects.filter(outcome=CodeEntry.Outcome.WRONG).exists()


def test_an_earlier_code_of_a_parcel_collected_here_is_not_counted_against_the_operator(
    client, operator, pickup_point, customer, ops
):
    shipment, shipping_code = _waiting_with_an_earlier_code(customer, pickup_point, operator, ops)
    client.force_login(operator)
    client.post(reverse("pickup_point", args=[pickup_point.pk]), {"code": plain_code(shipment)})

    response = client.post(reverse("pickup_point", args=[pickup_point.pk]), {"code": shipping_code})

    assert not CodeEntry.objects.filter(outcome=CodeEntry.Outcome.WRONG).exists()
    # Told apart, never the page that says to hand the parcel over.
    assert "earlier code of this parcel" in response.content.decode()


def test_the_code_of_a_parcel_still_on_its_way_to_the_point_counts_as_a_guess_there(
    client, operator, pickup_point, customer, ops
):
    shipment = make_valuable_shipment(customer)
    Shipment.objects.filter(pk=shipment.pk).update(pickup_point=pickup_point)
    shipment_mark_shipped(shipment=shipment, actor=ops, delivery_day=TODAY)
    client.force_login(operator)

    client.post(reverse("pickup_point", args=[pickup_point.pk]), {"code": plain_code(shipment)})

    # Not an oracle for codes of parcels to come: counted like any guess.
    assert CodeEntry.objects.filter(outcome=CodeEntry.Outcome.WRONG).count() == 1


# --- Rules 13 and 14: out on its day, on one route, and the route keeps the day's record ---


def test_a_parcel_due_tomorrow_cannot_go_out_today(customer, ops, route):
    shipment = make_valuable_shipment(customer)
    shipment_mark_shipped(shipment=shipment, actor=ops, delivery_day=TOMORROW)

    with pytest.raises(NotItsDeliveryDay):
        shipment_mark_out_for_delivery(shipment=shipment, actor=ops, route=route)

    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.SHIPPED
    assert not Stop.objects.filter(shipment=shipment).exists()


def test_the_admin_action_refuses_a_parcel_due_tomorrow(client, customer, ops, courier):
    shipment = make_valuable_shipment(customer)
    shipment_mark_shipped(shipment=shipment, actor=ops, delivery_day=TOMORROW)
    shipment_add_to_route(shipment=shipment, route=RouteFactory(courier=courier, day=TOMORROW))
    client.force_login(ops)

    response = client.post(
        reverse("admin:orders_shipment_changelist"),
        {"action": "mark_as_out_for_delivery", "_selected_action": [shipment.pk]},
        follow=True,
    )

    shipment.refresh_from_db()
    assert response.status_code == 200
    assert shipment.status == Shipment.Status.SHIPPED
    assert "was not changed" in response.content.decode()


def test_a_rescheduled_parcel_is_on_its_couriers_route_for_the_new_day(
    courier_client, out_for_delivery, time_machine
):
    courier_client.post(_failed_url(out_for_delivery), {"reason": "not_at_home"})
    time_machine.move_to(datetime.datetime.combine(TOMORROW, datetime.time(8), tzinfo=ROME))

    response = courier_client.get(reverse("courier_today"))

    assert out_for_delivery.tracking_number in response.content.decode()
    assert Stop.objects.get(shipment=out_for_delivery, day=TOMORROW).position == 1


def test_a_parcel_is_never_on_two_couriers_routes_for_one_day(out_for_delivery, db):
    other = RouteFactory(courier=CourierFactory(user=UserFactory(username="luca")), day=TODAY)

    with pytest.raises(OnAnotherRoute):
        shipment_add_to_route(shipment=out_for_delivery, route=other)
    with pytest.raises(IntegrityError), transaction.atomic():
        Stop.objects.create(route=other, shipment=out_for_delivery, day=TODAY, position=1)


def test_only_the_courier_whose_stop_it_is_can_hand_it_over(client, out_for_delivery):
    luca = UserFactory(username="luca")
    RouteFactory(courier=CourierFactory(user=luca), day=TODAY)
    client.force_login(luca)

    response = client.post(stop_url(out_for_delivery), {"code": plain_code(out_for_delivery)})

    out_for_delivery.refresh_from_db()
    assert response.status_code == 404
    assert out_for_delivery.status == Shipment.Status.OUT_FOR_DELIVERY


def test_a_failed_stop_keeps_its_outcome_after_a_redirect(
    courier_client, out_for_delivery, pickup_point, customer
):
    courier_client.post(_failed_url(out_for_delivery), {"reason": "not_at_home"})

    shipment_redirect_to_pickup_point(
        shipment=out_for_delivery, pickup_point=pickup_point, actor=customer
    )

    stop = Stop.objects.get(shipment=out_for_delivery, day=TODAY)
    assert (stop.outcome, stop.note, stop.pickup_point) == (
        Stop.Outcome.FAILED,
        "not_at_home",
        None,
    )


# --- Rule 15: a lock opens an alert that stays after the failed attempt --------------------


def test_the_lock_stays_an_open_alert_after_the_failed_attempt(courier_client, out_for_delivery):
    for _ in range(5):
        shipment_hand_over_at_door(
            shipment=out_for_delivery,
            raw_code=wrong_code_for(out_for_delivery),
            context=EntryContext(user=out_for_delivery.stops.get().route.courier.user),
        )

    courier_client.post(_failed_url(out_for_delivery), {"reason": "no_code"})

    alert = Alert.objects.get(kind=Alert.Kind.CODE_LOCKED)
    assert alert.shipment == out_for_delivery
    assert alert.resolved_at is None


# --- Rule 15 on Today's deliveries: the list says what the stop page says ------------------


def _lock(shipment, courier):
    for _ in range(5):
        shipment_hand_over_at_door(
            shipment=shipment,
            raw_code=wrong_code_for(shipment),
            context=EntryContext(user=courier.user),
        )


def test_todays_list_marks_a_locked_stop_as_locked(courier_client, courier, out_for_delivery):
    _lock(out_for_delivery, courier)

    page = courier_client.get(reverse("courier_today")).content.decode()

    assert 'data-entry-closed="locked"' in page
    assert "Code locked" in page


def test_todays_list_marks_no_stop_locked_before_the_fifth_wrong_code(
    courier_client, courier, out_for_delivery
):
    shipment_hand_over_at_door(
        shipment=out_for_delivery,
        raw_code=wrong_code_for(out_for_delivery),
        context=EntryContext(user=courier.user),
    )

    page = courier_client.get(reverse("courier_today")).content.decode()

    assert "data-entry-closed" not in page


def test_todays_list_keeps_a_stop_moved_to_another_courier_without_a_link(
    courier_client, out_for_delivery, ops
):
    other_route = RouteFactory(courier=CourierFactory(user=UserFactory(username="luca")), day=TODAY)
    shipment_move_to_route(shipment=out_for_delivery, route=other_route, actor=ops)

    page = courier_client.get(reverse("courier_today")).content.decode()

    assert 'data-stop-outcome="moved"' in page
    assert stop_url(out_for_delivery) not in page
