"""Rule 14 as the courier and operations see it: a finished stop shows what happened at it
(dropped, delivered, failed...), never what became of the parcel afterwards; a stop still
to do whose parcel is not out yet waits at the depot, it has not failed."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from couriers.models import DeliveryAttempt
from handoff.services import shipment_add_to_route, shipment_mark_out_for_delivery
from orders.models import Shipment
from tests.conftest import ROME, TODAY, plain_code, stop_url

pytestmark = pytest.mark.django_db

TOMORROW = TODAY + datetime.timedelta(days=1)


@pytest.fixture
def dropped_then_collected(
    courier_client, shipped_for_today, pickup_point, operator, route, ops, time_machine
):
    """Marco drops the parcel at Edicola Centrale at 10:00; at 15:30 the customer collects
    it there with the code."""
    shipment = shipped_for_today
    Shipment.objects.filter(pk=shipment.pk).update(pickup_point=pickup_point)
    shipment_mark_out_for_delivery(shipment=shipment, actor=ops, route=route)
    dropped = courier_client.post(reverse("courier_stop_dropped", args=[shipment.tracking_number]))
    assert dropped.status_code == 302
    time_machine.move_to(datetime.datetime(2026, 11, 26, 15, 30, tzinfo=ROME), tick=False)
    counter = Client()
    counter.force_login(operator)
    released = counter.post(
        reverse("pickup_point", args=[pickup_point.pk]), {"code": plain_code(shipment)}
    )
    assert released.status_code == 302
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.DELIVERED
    return shipment


def test_todays_list_keeps_the_drop_after_the_customer_collects_the_parcel(
    courier_client, dropped_then_collected
):
    page = courier_client.get(reverse("courier_today")).content.decode()

    assert 'data-stop-outcome="dropped"' in page
    assert "Dropped at Edicola Centrale at 10:00." in page
    assert "Delivered" not in page
    assert "15:30" not in page


def test_stop_page_keeps_the_drop_after_the_customer_collects_the_parcel(
    courier_client, dropped_then_collected
):
    page = courier_client.get(stop_url(dropped_then_collected)).content.decode()

    assert 'data-stop-outcome="dropped"' in page
    assert "Dropped at Edicola Centrale at 10:00." in page
    assert "Delivered" not in page
    assert "Handed over at" not in page
    assert "state-success" not in page


def test_a_delivered_stop_shows_when_it_was_handed_over_here(courier_client, out_for_delivery):
    courier_client.post(stop_url(out_for_delivery), {"code": plain_code(out_for_delivery)})

    listed = courier_client.get(reverse("courier_today")).content.decode()
    opened = courier_client.get(stop_url(out_for_delivery)).content.decode()

    assert 'data-stop-outcome="delivered"' in listed
    assert "Handed over at 10:00." in listed
    assert 'data-stop-outcome="delivered"' in opened
    assert "Handed over at 10:00." in opened


def test_operations_see_each_stops_own_outcome_on_the_route_page(
    admin_client, dropped_then_collected, route
):
    response = admin_client.get(reverse("admin:couriers_route_change", args=[route.pk]))

    page = response.content.decode()
    assert "Dropped at the pickup point" in page
    assert "Edicola Centrale" in page
    # The parcel's later status is there too, under its own heading.
    assert "Parcel now" in page
    assert "Delivered" in page


# --- A stop still to do whose parcel waits at the depot -----------------------------------


def test_a_stop_whose_parcel_is_not_loaded_yet_is_at_the_depot(
    courier_client, shipped_for_today, route, ops
):
    shipment_add_to_route(shipment=shipped_for_today, route=route)

    page = courier_client.get(reverse("courier_today")).content.decode()

    assert 'data-stop-waiting="depot"' in page
    assert "At the depot" in page


def test_a_stop_the_day_after_a_failed_attempt_is_at_the_depot_not_failed(
    courier_client, out_for_delivery, time_machine
):
    # Given yesterday's failed attempt: today the parcel is on Marco's route again, not
    # yet loaded
    courier_client.post(
        reverse("courier_stop_failed", args=[out_for_delivery.tracking_number]),
        {"reason": DeliveryAttempt.Reason.NOT_AT_HOME},
    )
    time_machine.move_to(datetime.datetime.combine(TOMORROW, datetime.time(7), tzinfo=ROME))

    # When Marco opens Today's deliveries
    page = courier_client.get(reverse("courier_today")).content.decode()

    # Then the stop waits at the depot: nothing failed today
    assert out_for_delivery.tracking_number in page
    assert 'data-stop-waiting="depot"' in page
    assert "At the depot" in page
    assert "Delivery failed" not in page
    assert "badge-delivery_failed" not in page
