"""Issue 10, a second look: what a reviewer who did not write the layer found when crossing
the roles again, each as people meet it."""

import datetime

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.urls import reverse

from alerts.models import Alert
from codes.models import DeliveryCode
from couriers.models import Route, Stop
from handoff.exceptions import StopFinished
from handoff.services import (
    REFUSALS,
    EntryContext,
    shipment_add_to_route,
    shipment_change_delivery_day,
    shipment_hand_over_at_door,
    shipment_hand_over_by_override,
    shipment_mark_out_for_delivery,
    shipment_mark_shipped,
    shipment_move_to_route,
    shipment_receive_at_pickup_point,
    shipment_record_failed_attempt,
    shipment_redirect_to_pickup_point,
    shipments_day_end,
)
from orders.models import Shipment, TrackingEvent
from tests.conftest import ROME, TODAY, make_valuable_shipment, wrong_code_for
from tests.factories import CourierFactory, RouteFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = "admin:orders_shipment_changelist"
TOMORROW = TODAY + datetime.timedelta(days=1)  # a Friday: a working day
AFTER_MIDNIGHT = datetime.datetime.combine(TOMORROW, datetime.time(0, 5), tzinfo=ROME)


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


@pytest.fixture
def carla():
    return CourierFactory(user=UserFactory(username="carla"))


def _action(client, action, shipments, **form):
    return client.post(
        reverse(LIST),
        {"action": action, "_selected_action": [s.pk for s in shipments], **form},
        follow=True,
    )


def _messages(response):
    return [str(message) for message in response.context["messages"]]


# --- Only staff allowed to change parcels run the actions that change them -----------------


def test_a_staff_user_who_may_only_view_parcels_cannot_change_their_day(client, shipped_for_today):
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_shipment"))
    client.force_login(viewer)

    page = client.get(reverse(LIST)).content.decode()
    client.post(
        reverse(LIST),
        {
            "action": "change_delivery_day",
            "_selected_action": [shipped_for_today.pk],
            "apply": "1",
            "delivery_day": TOMORROW.isoformat(),
        },
    )

    assert "change_delivery_day" not in page
    assert Shipment.objects.get(pk=shipped_for_today.pk).delivery_day == TODAY


def test_an_action_on_a_selection_naming_no_parcel_is_a_bad_request(ops_client):
    for selection in ["abc", "9" * 25]:
        response = ops_client.post(
            reverse(LIST),
            {"action": "change_delivery_day", "_selected_action": [selection]},
        )
        assert response.status_code == 400


# --- Routes: a parcel goes back to a route it left; moves are in the history ---------------


def test_a_parcel_moved_back_to_its_first_courier_can_still_be_attempted(
    client, out_for_delivery, route, carla, ops
):
    shipment_move_to_route(
        shipment=out_for_delivery, route=RouteFactory(courier=carla, day=TODAY), actor=ops
    )
    shipment_move_to_route(shipment=out_for_delivery, route=route, actor=ops)
    client.force_login(route.courier.user)

    response = client.post(
        reverse("courier_stop_failed", args=[out_for_delivery.tracking_number]),
        {"reason": "not_at_home"},
    )

    assert response.status_code == 302
    outcomes = list(
        Stop.objects.filter(shipment=out_for_delivery)
        .order_by("pk")
        .values_list("route__courier__user__username", "outcome")
    )
    assert outcomes[:3] == [
        (route.courier.user.username, "moved"),
        ("carla", "moved"),
        (route.courier.user.username, "failed"),
    ]


def test_moving_a_parcel_to_another_courier_is_in_its_admin_history(
    ops_client, out_for_delivery, carla
):
    _action(
        ops_client,
        "move_to_route",
        [out_for_delivery],
        apply="1",
        courier=carla.pk,
        day=TODAY.isoformat(),
    )

    entry = LogEntry.objects.get(object_id=str(out_for_delivery.pk))
    assert carla.user.get_full_name() in entry.get_change_message()


# --- An override and a failed attempt at the same moment -----------------------------------


def test_an_override_finding_the_parcel_taken_off_the_road_is_refused(out_for_delivery, ops):
    seen_by_operations = Shipment.objects.get(pk=out_for_delivery.pk)
    shipment_record_failed_attempt(
        shipment=out_for_delivery,
        courier=out_for_delivery.stops.get().route.courier,
        reason="not_at_home",
    )

    with pytest.raises(REFUSALS):
        shipment_hand_over_by_override(
            shipment=seen_by_operations,
            context=EntryContext(user=ops),
            reason="Customer identified by passport at the depot.",
        )

    assert Shipment.objects.get(pk=out_for_delivery.pk).status == "delivery_failed"


# --- The day's end: nothing is left behind --------------------------------------------------


def test_a_parcel_that_never_went_out_gets_a_new_day_code_and_route(
    customer, ops, route, time_machine
):
    shipment = shipment_mark_shipped(
        shipment=make_valuable_shipment(customer), actor=ops, delivery_day=TODAY
    )
    shipment_add_to_route(shipment=shipment, route=route, actor=ops)
    time_machine.move_to(AFTER_MIDNIGHT, tick=False)

    shipments_day_end(now=AFTER_MIDNIGHT)

    shipment.refresh_from_db()
    assert shipment.delivery_day == TOMORROW
    active = DeliveryCode.objects.get(shipment=shipment, status="active")
    assert active.delivery_day == TOMORROW
    stops = dict(Stop.objects.filter(shipment=shipment).values_list("day", "outcome"))
    assert stops == {TODAY: "missed", TOMORROW: "pending"}
    assert Stop.objects.get(shipment=shipment, day=TOMORROW).route.courier == route.courier


def test_a_parcel_not_dropped_at_its_point_is_on_its_couriers_route_for_its_new_day(
    customer, ops, route, pickup_point, time_machine
):
    shipment = make_valuable_shipment(customer)
    shipment.pickup_point = pickup_point
    shipment.save(update_fields=["pickup_point"])
    shipment_mark_shipped(shipment=shipment, actor=ops, delivery_day=TODAY)
    shipment_mark_out_for_delivery(shipment=shipment, actor=ops, route=route)
    time_machine.move_to(AFTER_MIDNIGHT, tick=False)

    shipments_day_end(now=AFTER_MIDNIGHT)

    stops = dict(Stop.objects.filter(shipment=shipment).values_list("day", "outcome"))
    assert stops == {TODAY: "missed", TOMORROW: "pending"}


# --- A day already attempted is over for the parcel ----------------------------------------


def test_a_day_changed_back_to_a_day_already_attempted_is_refused(out_for_delivery, ops):
    shipment_record_failed_attempt(
        shipment=out_for_delivery,
        courier=out_for_delivery.stops.get().route.courier,
        reason="not_at_home",
    )

    with pytest.raises(StopFinished):
        shipment_change_delivery_day(shipment=out_for_delivery, delivery_day=TODAY, actor=ops)

    assert Shipment.objects.get(pk=out_for_delivery.pk).delivery_day == TOMORROW


def test_the_admin_says_why_a_day_already_attempted_is_refused(ops_client, out_for_delivery):
    shipment_record_failed_attempt(
        shipment=out_for_delivery,
        courier=out_for_delivery.stops.get().route.courier,
        reason="not_at_home",
    )

    response = _action(
        ops_client,
        "change_delivery_day",
        [out_for_delivery],
        apply="1",
        delivery_day=TODAY.isoformat(),
    )

    assert any("already finished" in message for message in _messages(response))


@pytest.mark.parametrize(
    ("day", "error"),
    [
        ("2026-11-29", "Couriers do not deliver on that day"),  # a Sunday
        ("2027-06-01", "within 30 days"),
        ("9999-12-31", "within 30 days"),
    ],
)
def test_the_admin_refuses_a_day_couriers_cannot_keep(ops_client, shipped_for_today, day, error):
    response = _action(
        ops_client, "change_delivery_day", [shipped_for_today], apply="1", delivery_day=day
    )

    assert response.status_code == 200
    assert error in response.content.decode()
    assert Shipment.objects.get(pk=shipped_for_today.pk).delivery_day == TODAY


# --- Everyone sees the redirect as on its way -----------------------------------------------


def test_a_redirect_after_a_failed_attempt_is_on_its_way_for_the_retailer_and_operations(
    ops_client, out_for_delivery, customer, pickup_point
):
    shipment_record_failed_attempt(
        shipment=out_for_delivery,
        courier=out_for_delivery.stops.get().route.courier,
        reason="not_at_home",
    )

    shipment_redirect_to_pickup_point(
        shipment=out_for_delivery, pickup_point=pickup_point, actor=customer
    )

    shipment = Shipment.objects.get(pk=out_for_delivery.pk)
    assert shipment.status == "shipped"
    failures = TrackingEvent.objects.filter(shipment=shipment, status="delivery_failed")
    assert failures.count() == 1
    listed = ops_client.get(reverse(LIST), {"q": shipment.tracking_number}).content.decode()
    assert '<td class="field-status">Shipped</td>' in listed


# --- Operations keep the lock in view ---------------------------------------------------------


def test_the_code_locked_filter_keeps_the_parcel_after_the_failed_attempt(
    ops_client, out_for_delivery
):
    courier = out_for_delivery.stops.get().route.courier
    for _ in range(5):
        shipment_hand_over_at_door(
            shipment=out_for_delivery,
            raw_code=wrong_code_for(out_for_delivery),
            context=EntryContext(user=courier.user),
        )
    shipment_record_failed_attempt(shipment=out_for_delivery, courier=courier, reason="no_code")

    page = ops_client.get(reverse(LIST), {"wrong_codes": "code_locked"}).content.decode()

    assert out_for_delivery.tracking_number in page
    assert Alert.objects.filter(kind=Alert.Kind.CODE_LOCKED, resolved_at__isnull=True).exists()


# --- A parcel at its point is on no courier's later route -----------------------------------


def test_a_parcel_received_at_its_point_leaves_its_later_route(
    customer, ops, operator, pickup_point, courier
):
    shipment = make_valuable_shipment(customer)
    shipment.pickup_point = pickup_point
    shipment.save(update_fields=["pickup_point"])
    shipment_mark_shipped(shipment=shipment, actor=ops, delivery_day=TOMORROW)
    shipment_add_to_route(
        shipment=shipment, route=RouteFactory(courier=courier, day=TOMORROW), actor=ops
    )

    shipment_receive_at_pickup_point(shipment=shipment, pickup_point=pickup_point, actor=operator)

    assert not Stop.objects.filter(shipment=shipment, outcome="pending").exists()


def test_the_route_page_adds_a_parcel_back_after_it_was_moved_off(
    ops_client, out_for_delivery, route, carla, ops
):
    shipment_move_to_route(
        shipment=out_for_delivery, route=RouteFactory(courier=carla, day=TODAY), actor=ops
    )
    shipment_move_to_route(shipment=out_for_delivery, route=route, actor=ops)
    shipment_move_to_route(
        shipment=out_for_delivery, route=Route.objects.get(courier=carla, day=TODAY), actor=ops
    )

    response = ops_client.post(
        reverse("admin:couriers_route_add_parcel", args=[route.pk]),
        {"tracking_number": out_for_delivery.tracking_number},
    )

    # Refused in words (it is on Carla's route now), never a server error.
    assert response.status_code == 200
    assert "already on" in response.content.decode()


def test_a_refused_move_leaves_no_empty_route_behind(ops_client, shipped_for_today, carla):
    response = _action(
        ops_client,
        "move_to_route",
        [shipped_for_today],
        apply="1",
        courier=carla.pk,
        day=TOMORROW.isoformat(),
    )

    assert any("was not changed" in message for message in _messages(response))
    assert not Route.objects.filter(courier=carla).exists()


def test_moving_a_parcel_waiting_at_its_point_says_where_it_is(ops_client, at_pickup_point, carla):
    response = _action(
        ops_client,
        "move_to_route",
        [at_pickup_point],
        apply="1",
        courier=carla.pk,
        day=TODAY.isoformat(),
    )

    assert any("at the pickup point" in message for message in _messages(response))
