"""Double taps on a bad network, on PostgreSQL: the same action posted many times at once
answers as done every time and is recorded once, never a server error."""

import pytest
from django.test import Client
from django.urls import reverse

from couriers.models import DeliveryAttempt
from handoff.services import shipment_mark_shipped
from orders.models import Shipment
from tests.conftest import TODAY, make_valuable_shipment, race

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgresql_only")]

TAPS = 10


def _clients(user):
    clients = []
    for _ in range(TAPS):
        client = Client()
        client.force_login(user)
        clients.append(client)
    return clients


def test_concurrent_failed_attempts_are_recorded_once_without_an_error(courier, out_for_delivery):
    url = reverse("courier_stop_failed", args=[out_for_delivery.tracking_number])
    clients = _clients(courier.user)

    responses, errors = race(lambda i: clients[i].post(url, {"reason": "not_at_home"}), TAPS)

    assert errors == []
    assert all(response.status_code == 302 for response in responses)
    assert DeliveryAttempt.objects.filter(shipment=out_for_delivery).count() == 1
    assert out_for_delivery.events.filter(status=Shipment.Status.DELIVERY_FAILED).count() == 1


def test_concurrent_receipts_at_the_counter_receive_the_parcel_once_without_an_error(
    operator, pickup_point, customer, ops
):
    shipment = make_valuable_shipment(customer)
    shipment.pickup_point = pickup_point
    shipment.save(update_fields=["pickup_point"])
    shipment = shipment_mark_shipped(shipment=shipment, actor=ops, delivery_day=TODAY)
    url = reverse("pickup_receive", args=[pickup_point.pk])
    clients = _clients(operator)

    responses, errors = race(
        lambda i: clients[i].post(url, {"tracking_number": shipment.tracking_number}), TAPS
    )

    assert errors == []
    assert all(response.status_code in {200, 302} for response in responses)
    assert shipment.events.filter(status=Shipment.Status.AT_PICKUP_POINT).count() == 1
