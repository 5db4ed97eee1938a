"""A parcel created and shipped through the API and handed over through the courier portal:
the retailer's receiver on 127.0.0.1 hears shipment.shipped and shipment.delivered, signed,
with a retry under the same webhook-id, and no code anywhere the retailer or a log sees."""

import datetime
import json
import logging

import pytest
from django.test import Client
from standardwebhooks.webhooks import Webhook

from handoff.services import shipment_add_to_route, shipment_mark_out_for_delivery
from orders.models import Shipment
from retailers.models import Retailer
from retailers.services import api_key_create
from tests.conftest import FROZEN_NOW, plain_code
from tests.factories import CourierFactory, RouteFactory, UserFactory
from webhooks.models import WebhookDelivery
from webhooks.tasks import send_due_webhooks

pytestmark = pytest.mark.django_db(transaction=True)


def test_api_parcel_handed_over_at_the_door_is_reported_by_signed_webhooks(
    receiver, time_machine, caplog
):
    caplog.set_level(logging.DEBUG)
    shop = Retailer.objects.create(name="Demo Shop")
    _, raw_key = api_key_create(retailer=shop, name="backend")
    api = Client(headers={"Authorization": f"Bearer {raw_key}"})
    answers = []

    def call(method, url, body=None):
        data = json.dumps(body) if body is not None else None
        response = getattr(api, method)(url, data=data, content_type="application/json")
        answers.append(response.content.decode())
        return response

    # The retailer registers its receiver and creates an order.
    created = call("post", "/api/v1/webhook-endpoints", {"url": receiver.url})
    assert created.status_code == 201
    secret = created.json()["secret"]
    order = call(
        "post",
        "/api/v1/orders",
        {
            "reference": "E2E-1",
            "customer": {"email": "ettore@example.com", "name": "Ettore Galli"},
            "delivery_address": "Via Po 3\n10123 Torino TO",
            "items": [{"name": "Watch", "unit_price": "980.00"}],
        },
    ).json()
    tracking = order["shipments"][0]["tracking_number"]

    # Shipping: the receiver answers 500 the first time, then takes the retry.
    receiver.answers = [500]
    shipped = call("post", f"/api/v1/shipments/{tracking}/ship")
    assert shipped.status_code == 200
    delivery_day = datetime.date.fromisoformat(shipped.json()["delivery_day"])
    shipment = Shipment.objects.get(tracking_number=tracking)
    code = plain_code(shipment)
    first = WebhookDelivery.objects.get(event_type="shipment.shipped")
    time_machine.move_to(first.next_attempt_at, tick=False)
    send_due_webhooks()

    # On its delivery day the courier takes the code at the door.
    time_machine.move_to(datetime.datetime.combine(delivery_day, FROZEN_NOW.timetz()), tick=False)
    courier = CourierFactory(user=UserFactory(username="marco", first_name="Marco"))
    ops = UserFactory(username="ops", is_staff=True, is_superuser=True)
    shipment_add_to_route(shipment=shipment, route=RouteFactory(courier=courier, day=delivery_day))
    shipment_mark_out_for_delivery(shipment=shipment, actor=ops)
    portal = Client()
    portal.force_login(courier.user)
    portal.post(f"/courier/stops/{tracking}/", {"code": code})
    read = call("get", f"/api/v1/shipments/{tracking}")
    assert read.json()["status"] == "delivered"
    assert read.json()["proof_of_delivery"]["method"] == "code"

    # What the receiver got: every request verifies under the endpoint's secret.
    events = []
    for headers, body in receiver.requests:
        # Verified as the receiver would on arrival (the library refuses stale timestamps).
        sent_at = datetime.datetime.fromtimestamp(int(headers["webhook-timestamp"]), datetime.UTC)
        time_machine.move_to(sent_at, tick=False)
        events.append(Webhook(secret).verify(body, headers))
    types = [event["type"] for event in events]
    assert types == [
        "shipment.shipped",
        "shipment.shipped",
        "shipment.out_for_delivery",
        "shipment.delivered",
    ]
    ids = [headers["webhook-id"] for headers, _ in receiver.requests]
    assert ids[0] == ids[1] == first.message_id
    assert len(set(ids[1:])) == 3
    delivered = events[-1]["data"]
    assert delivered["proof_of_delivery"]["handed_over_by"] == "Marco " + courier.user.last_name
    assert delivered["proof_of_delivery"]["method"] == "code"

    # No code in any webhook body, API answer or log line.
    assert all(code not in body for _, body in receiver.requests)
    assert all(code not in answer for answer in answers)
    assert all(code not in record.getMessage() for record in caplog.records)
