"""Rule 13 in the admin: operations change a parcel only through actions that call the
services; the fields those services own are read-only, and stops go by tracking number."""

import datetime

import pytest
from django.urls import reverse

from codes.models import CodeEntry, DeliveryCode
from couriers.models import Route, Stop
from handoff.services import shipment_mark_shipped
from orders.models import Shipment, TrackingEvent
from tests.conftest import TODAY, make_valuable_shipment, plain_code
from tests.factories import CourierFactory, RouteFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = "admin:orders_shipment_changelist"
TOMORROW = TODAY + datetime.timedelta(days=1)


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


@pytest.fixture
def shipped_for_tomorrow(customer, ops):
    return shipment_mark_shipped(
        shipment=make_valuable_shipment(customer), actor=ops, delivery_day=TOMORROW
    )


def _action(client, action, shipments, **form):
    return client.post(
        reverse(LIST),
        {"action": action, "_selected_action": [s.pk for s in shipments], **form},
        follow=True,
    )


def _add_to_route(client, shipments, courier, day):
    return _action(
        client, "add_to_route", shipments, apply="1", courier=courier.pk, day=day.isoformat()
    )


def _messages(response):
    return [str(message) for message in response.context["messages"]]


# --- Read-only fields --------------------------------------------------------------------


def test_shipment_change_form_cannot_move_the_delivery_day(ops_client, out_for_delivery):
    url = reverse("admin:orders_shipment_change", args=[out_for_delivery.pk])
    code_before = DeliveryCode.objects.get(shipment=out_for_delivery)
    events_before = TrackingEvent.objects.count()

    ops_client.post(url, {"delivery_day": TOMORROW.isoformat(), "order": 0, "pickup_point": ""})

    out_for_delivery.refresh_from_db()
    assert out_for_delivery.delivery_day == TODAY
    assert DeliveryCode.objects.get(shipment=out_for_delivery) == code_before
    assert TrackingEvent.objects.count() == events_before


def test_shipment_change_form_shows_no_input_for_service_owned_fields(ops_client, out_for_delivery):
    response = ops_client.get(reverse("admin:orders_shipment_change", args=[out_for_delivery.pk]))

    page = response.content.decode()
    for field in ["status", "delivery_day", "pickup_point", "order", "requires_code"]:
        assert f'name="{field}"' not in page, field


# --- Out for delivery only on the parcel's day, on that day's route -------------------------


def test_out_for_delivery_is_refused_for_tomorrows_parcel_on_todays_route(
    ops_client, shipped_for_tomorrow, route
):
    Stop.objects.create(route=route, shipment=shipped_for_tomorrow, day=route.day, position=1)

    response = _action(ops_client, "mark_as_out_for_delivery", [shipped_for_tomorrow])

    shipped_for_tomorrow.refresh_from_db()
    assert shipped_for_tomorrow.status == Shipment.Status.SHIPPED
    assert any("is due on" in message for message in _messages(response))
    assert not TrackingEvent.objects.filter(status=Shipment.Status.OUT_FOR_DELIVERY).exists()


def test_out_for_delivery_is_refused_for_a_parcel_on_no_route_today(ops_client, shipped_for_today):
    response = _action(ops_client, "mark_as_out_for_delivery", [shipped_for_today])

    shipped_for_today.refresh_from_db()
    assert shipped_for_today.status == Shipment.Status.SHIPPED
    assert any("on no route of its day" in message for message in _messages(response))


def test_out_for_delivery_on_its_day_and_its_route_goes_out(ops_client, shipped_for_today, route):
    _add_to_route(ops_client, [shipped_for_today], route.courier, TODAY)

    _action(ops_client, "mark_as_out_for_delivery", [shipped_for_today])

    shipped_for_today.refresh_from_db()
    assert shipped_for_today.status == Shipment.Status.OUT_FOR_DELIVERY


# --- Add to route, by tracking number ------------------------------------------------------


def test_add_to_route_asks_for_courier_and_day(ops_client, shipped_for_today):
    response = ops_client.post(
        reverse(LIST), {"action": "add_to_route", "_selected_action": [shipped_for_today.pk]}
    )

    page = response.content.decode()
    assert 'name="courier"' in page
    assert 'name="day"' in page
    assert not Stop.objects.exists()


def test_add_to_route_puts_the_parcel_at_the_end_of_the_couriers_day(
    ops_client, shipped_for_today, courier, customer, ops
):
    first = shipment_mark_shipped(
        shipment=make_valuable_shipment(customer), actor=ops, delivery_day=TODAY
    )
    _add_to_route(ops_client, [first], courier, TODAY)

    _add_to_route(ops_client, [shipped_for_today], courier, TODAY)

    route = Route.objects.get(courier=courier, day=TODAY)
    assert list(route.stops.order_by("position").values_list("shipment_id", flat=True)) == [
        first.pk,
        shipped_for_today.pk,
    ]


def test_add_to_route_twice_is_one_stop(ops_client, shipped_for_today, courier):
    _add_to_route(ops_client, [shipped_for_today], courier, TODAY)

    _add_to_route(ops_client, [shipped_for_today], courier, TODAY)

    assert Stop.objects.filter(shipment=shipped_for_today).count() == 1


def test_add_to_route_refuses_another_day_than_the_parcels(
    ops_client, shipped_for_tomorrow, courier
):
    response = _add_to_route(ops_client, [shipped_for_tomorrow], courier, TODAY)

    assert not Stop.objects.filter(shipment=shipped_for_tomorrow).exists()
    assert any("is due on" in message for message in _messages(response))


def test_add_to_route_refuses_a_parcel_on_another_couriers_route_that_day(
    ops_client, shipped_for_today, courier
):
    other = CourierFactory(user=UserFactory(username="luca"))
    _add_to_route(ops_client, [shipped_for_today], courier, TODAY)

    response = _add_to_route(ops_client, [shipped_for_today], other, TODAY)

    assert list(
        Stop.objects.filter(shipment=shipped_for_today).values_list("route__courier", flat=True)
    ) == [courier.pk]
    assert any("already on" in message for message in _messages(response))


def test_route_page_adds_a_parcel_by_tracking_number(ops_client, shipped_for_today, route):
    url = reverse("admin:couriers_route_add_parcel", args=[route.pk])

    response = ops_client.post(url, {"tracking_number": shipped_for_today.tracking_number.lower()})

    assert response.status_code == 302
    assert route.stops.get().shipment == shipped_for_today


def test_route_page_refuses_an_unknown_tracking_number(ops_client, route):
    url = reverse("admin:couriers_route_add_parcel", args=[route.pk])

    response = ops_client.post(url, {"tracking_number": "ODNOSUCHPARCEL"})

    assert response.status_code == 200
    assert "No parcel has this tracking number" in response.content.decode()
    assert not route.stops.exists()


def test_routes_stop_inline_is_read_only(ops_client, out_for_delivery, route):
    response = ops_client.get(reverse("admin:couriers_route_change", args=[route.pk]))

    page = response.content.decode()
    assert out_for_delivery.tracking_number in page
    assert 'name="stops-0-shipment"' not in page
    assert 'name="stops-0-position"' not in page
    assert reverse("admin:couriers_route_add_parcel", args=[route.pk]) in page


def test_a_routes_courier_and_day_are_read_only(ops_client):
    route = RouteFactory(courier=CourierFactory(user=UserFactory(username="luca")), day=TODAY)

    response = ops_client.get(reverse("admin:couriers_route_change", args=[route.pk]))

    assert 'name="courier"' not in response.content.decode()


# --- Change of delivery day and of courier, through the hand-over layer -------------------


def _change_day(client, shipments, day):
    return _action(
        client, "change_delivery_day", shipments, apply="1", delivery_day=day.isoformat()
    )


def test_change_delivery_day_asks_for_the_day(ops_client, shipped_for_today):
    response = ops_client.post(
        reverse(LIST),
        {"action": "change_delivery_day", "_selected_action": [shipped_for_today.pk]},
    )

    assert response.status_code == 200
    assert 'name="delivery_day"' in response.content.decode()
    assert Shipment.objects.get(pk=shipped_for_today.pk).delivery_day == TODAY


def test_change_delivery_day_reissues_the_code_for_the_new_day_with_its_event(
    ops_client, shipped_for_today, mailoutbox, django_capture_on_commit_callbacks
):
    old_code = DeliveryCode.objects.get(shipment=shipped_for_today, status="active")
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        _change_day(ops_client, [shipped_for_today], TOMORROW)

    shipment = Shipment.objects.get(pk=shipped_for_today.pk)
    assert shipment.delivery_day == TOMORROW
    (active,) = DeliveryCode.objects.filter(shipment=shipment, status="active")
    assert active.pk != old_code.pk
    assert active.delivery_day == TOMORROW
    assert TrackingEvent.objects.filter(shipment=shipment, note="New delivery day").exists()
    assert [message.to for message in mailoutbox] == [[shipment.order.email]]


def test_change_delivery_day_puts_the_parcel_on_its_couriers_route_for_that_day(
    ops_client, shipped_for_today, courier
):
    _add_to_route(ops_client, [shipped_for_today], courier, TODAY)

    _change_day(ops_client, [shipped_for_today], TOMORROW)

    assert list(
        Stop.objects.filter(shipment=shipped_for_today).values_list("route__day", flat=True)
    ) == [TOMORROW]
    assert Route.objects.get(courier=courier, day=TOMORROW).stops.count() == 1


def test_change_delivery_day_refuses_a_parcel_out_for_delivery(ops_client, out_for_delivery):
    response = _change_day(ops_client, [out_for_delivery], TOMORROW)

    assert Shipment.objects.get(pk=out_for_delivery.pk).delivery_day == TODAY
    assert (
        DeliveryCode.objects.get(shipment=out_for_delivery, status="active").delivery_day == TODAY
    )
    assert any("was not changed" in message for message in _messages(response))


def test_change_delivery_day_refuses_a_day_that_is_over(ops_client, shipped_for_today):
    response = _change_day(ops_client, [shipped_for_today], TODAY - datetime.timedelta(days=1))

    assert response.status_code == 200
    assert "This day is over" in response.content.decode()
    assert Shipment.objects.get(pk=shipped_for_today.pk).delivery_day == TODAY


def test_move_to_route_gives_the_parcel_to_another_courier_and_keeps_the_old_stop_as_moved(
    ops_client, shipped_for_today, courier
):
    other = CourierFactory(user=UserFactory(username="luca"))
    _add_to_route(ops_client, [shipped_for_today], courier, TODAY)

    _action(
        ops_client,
        "move_to_route",
        [shipped_for_today],
        apply="1",
        courier=other.pk,
        day=TODAY.isoformat(),
    )

    stops = dict(
        Stop.objects.filter(shipment=shipped_for_today).values_list("route__courier", "outcome")
    )
    assert stops == {courier.pk: "moved", other.pk: "pending"}


def test_the_old_courier_cannot_hand_over_a_parcel_moved_away(
    ops_client, client, out_for_delivery, courier
):
    other = CourierFactory(user=UserFactory(username="luca"))
    _action(
        ops_client,
        "move_to_route",
        [out_for_delivery],
        apply="1",
        courier=other.pk,
        day=TODAY.isoformat(),
    )
    client.force_login(courier.user)

    response = client.post(
        reverse("courier_stop", args=[out_for_delivery.tracking_number]),
        {"code": plain_code(out_for_delivery)},
    )

    # The courier is told, on Today's deliveries, that the parcel went to another courier;
    # the code he typed is in the audit trail, never checked (rule 10)
    out_for_delivery.refresh_from_db()
    assert (response.status_code, response.url) == (302, reverse("courier_today"))
    assert out_for_delivery.status == Shipment.Status.OUT_FOR_DELIVERY
    assert list(CodeEntry.objects.values_list("outcome", flat=True)) == ["moved_away"]
