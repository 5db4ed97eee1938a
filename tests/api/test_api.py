"""Every call of the retailer API contract, and the ways to break it."""

import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from api.models import IdempotencyKey
from codes.models import DeliveryCode
from handoff.services import EntryContext, shipment_hand_over_at_door
from orders.models import Order, OrderItem, Shipment
from retailers.models import ApiKey
from retailers.services import api_key_revoke
from tests.conftest import TODAY, plain_code
from tests.factories import PickupPointFactory, UserFactory

from .conftest import order_body

pytestmark = pytest.mark.django_db

User = get_user_model()
ORDERS = "/api/v1/orders"


def create_order(api, **overrides):
    response = api.post(ORDERS, order_body(**overrides))
    assert response.status_code == 201, response.content
    return response.json()


# --- Authentication ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer wrong-key", "Bearer a b", "Basic dXNlcjpwYXNz", "Token x"],
)
def test_no_or_wrong_key_is_401_json(client, header):
    headers = {"Authorization": header} if header else {}
    response = client.get(ORDERS, headers=headers)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


def test_revoked_key_is_401(api, api_key):
    api_key_revoke(api_key=api_key[0])
    assert api.get(ORDERS).status_code == 401


def test_a_post_without_key_writes_nothing(anonymous_api):
    response = anonymous_api.post(ORDERS, order_body())
    assert response.status_code == 401
    assert not Order.objects.exists()


def test_use_of_a_key_sets_its_last_used_time(api, api_key, frozen_now):
    api.get(ORDERS)
    api_key[0].refresh_from_db()
    assert api_key[0].last_used_at == frozen_now


def test_only_a_hash_of_the_key_is_stored(api_key):
    stored = ApiKey.objects.values()[0]
    assert api_key[1] not in json.dumps(stored, default=str)


# --- POST /api/v1/orders ----------------------------------------------------------------


def test_create_order_answers_201_with_number_reference_and_parcel(api, retailer):
    body = create_order(api)
    order = Order.objects.get(number=body["number"])
    assert body["reference"] == "SHOP-1001"
    assert order.retailer == retailer
    assert len(body["shipments"]) == 1
    assert body["shipments"][0]["status"] == "processing"
    assert body["shipments"][0]["tracking_number"] == order.shipments.get().tracking_number
    assert order.language == "it"


def test_unknown_customer_email_gets_an_account_without_password(api):
    create_order(api)
    customer = User.objects.get(email="dora@example.com")
    assert not customer.has_usable_password()
    assert customer.get_full_name() == "Dora Esposito"


def test_known_customer_email_gets_the_existing_account(api, customer):
    create_order(api, customer={"email": customer.email.upper(), "name": "Alice Rossi"})
    assert Order.objects.get().customer == customer
    assert User.objects.filter(email__iexact=customer.email).count() == 1


def test_items_are_split_into_the_parcels_given(api):
    items = [
        {"name": "Camera", "unit_price": "650.00"},
        {"name": "Lens", "unit_price": "300.00"},
        {"name": "Strap", "unit_price": "20.00"},
    ]
    body = create_order(api, items=items, parcels=[[0, 2], [1]])
    assert len(body["shipments"]) == 2
    first, second = Shipment.objects.order_by("pk")
    assert sorted(first.items.values_list("name", flat=True)) == ["Camera", "Strap"]
    assert list(second.items.values_list("name", flat=True)) == ["Lens"]


def test_order_to_a_pickup_point(api):
    point = PickupPointFactory()
    body = create_order(api, delivery_address=None, pickup_point=point.pk)
    assert body["shipments"][0]["pickup_point"] == point.pk
    assert Shipment.objects.get().pickup_point == point


def _without_address(body):
    body.pop("delivery_address")
    return body


BAD_BODIES = {
    "negative price": (
        lambda body: body["items"][0].update(unit_price="-1.00"),
        "items",
    ),
    "no items": (lambda body: body.update(items=[]), "items"),
    "both address and point": (lambda body: body.update(pickup_point=0), "pickup_point"),
    "neither address nor point": (_without_address, "delivery_address"),
    "10,000 items": (
        lambda body: body.update(items=[{"name": "x", "unit_price": "1.00"}] * 10_000),
        "items",
    ),
    "missing reference": (lambda body: body.pop("reference"), "reference"),
    "bad email": (lambda body: body["customer"].update(email="not-an-email"), "customer"),
    "bad language": (lambda body: body["customer"].update(language="de"), "customer"),
    "price not a number": (lambda body: body["items"][0].update(unit_price="abc"), "items"),
    "parcel index out of range": (lambda body: body.update(parcels=[[0, 1]]), "parcels"),
    "item in no parcel": (lambda body: body.update(parcels=[[]]), "parcels"),
    "zero quantity": (lambda body: body["items"][0].update(quantity=0), "items"),
}


@pytest.mark.parametrize("case", BAD_BODIES)
def test_malformed_body_is_400_naming_the_field_and_writes_nothing(api, case):
    change, field = BAD_BODIES[case]
    body = order_body()
    change(body)
    response = api.post(ORDERS, body)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Order.objects.exists()
    assert not User.objects.filter(email="dora@example.com").exists()


def test_both_address_and_existing_point_is_400(api):
    point = PickupPointFactory()
    response = api.post(ORDERS, order_body(pickup_point=point.pk))
    assert response.status_code == 400
    assert "delivery_address" in response.json()
    assert not Order.objects.exists()


@pytest.mark.parametrize("active", [True, False])
def test_unknown_or_inactive_pickup_point_is_400(api, active):
    point = PickupPointFactory(is_active=active)
    body = _without_address(order_body(pickup_point=point.pk + (0 if not active else 999)))
    response = api.post(ORDERS, body)
    assert response.status_code == 400
    assert "pickup_point" in response.json()
    assert not Order.objects.exists()


def test_a_one_megabyte_body_is_400(api):
    body = order_body()
    body["items"][0]["name"] = "x" * (1024 * 1024)
    response = api.post(ORDERS, body)
    assert response.status_code == 400
    assert "detail" in response.json()
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("application/x-www-form-urlencoded", "reference=SHOP-1"),
        ("text/plain", json.dumps(order_body())),
        ("multipart/form-data; boundary=x", "--x--"),
    ],
)
def test_wrong_content_type_is_400_json(api, content_type, data):
    response = api.post(ORDERS, data, content_type=content_type)
    assert response.status_code == 400
    assert "detail" in response.json()
    assert not Order.objects.exists()


def test_invalid_json_is_400_json(api):
    response = api.post(ORDERS, "{not json")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_reference_is_unique_per_retailer(api, other_api):
    create_order(api)
    again = api.post(ORDERS, order_body())
    assert again.status_code == 400
    assert "reference" in again.json()
    assert Order.objects.count() == 1
    # Another retailer may use the same reference for its own order.
    assert other_api.post(ORDERS, order_body()).status_code == 201


# --- Idempotency-Key -------------------------------------------------------------------


def test_same_key_and_body_answers_the_same_order(api):
    first = api.post(ORDERS, order_body(), headers={"Idempotency-Key": "k-1"})
    second = api.post(ORDERS, order_body(), headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["number"] == first.json()["number"]
    assert Order.objects.count() == 1


def test_same_key_with_another_body_is_422_and_writes_nothing(api):
    api.post(ORDERS, order_body(), headers={"Idempotency-Key": "k-1"})
    response = api.post(ORDERS, order_body(reference="OTHER"), headers={"Idempotency-Key": "k-1"})
    assert response.status_code == 422
    assert "detail" in response.json()
    assert Order.objects.count() == 1


def test_same_key_of_another_retailer_is_its_own(api, other_api):
    api.post(ORDERS, order_body(), headers={"Idempotency-Key": "k-1"})
    response = other_api.post(ORDERS, order_body(), headers={"Idempotency-Key": "k-1"})
    assert response.status_code == 201
    assert Order.objects.count() == 2


def test_a_rejected_body_does_not_take_the_key(api):
    bad = order_body(items=[])
    assert api.post(ORDERS, bad, headers={"Idempotency-Key": "k-1"}).status_code == 400
    assert not IdempotencyKey.objects.exists()
    good = api.post(ORDERS, order_body(), headers={"Idempotency-Key": "k-1"})
    assert good.status_code == 201


# --- GET /api/v1/orders and /orders/{number} ------------------------------------------


def test_get_order_answers_its_parcels(api):
    created = create_order(api)
    response = api.get(f"{ORDERS}/{created['number']}")
    assert response.status_code == 200
    assert response.json()["shipments"] == created["shipments"]
    assert response.json()["items"][0]["unit_price"] == "650.00"


def test_order_list_is_paginated_and_only_the_retailers(api, other_api):
    for n in range(3):
        create_order(api, reference=f"R{n}")
    create_order(other_api, reference="THEIRS")
    response = api.get(f"{ORDERS}?limit=2")
    body = response.json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"]
    assert "THEIRS" not in json.dumps(body)


def test_another_retailers_order_is_404(api, other_api):
    created = create_order(api)
    response = other_api.get(f"{ORDERS}/{created['number']}")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_order_not_placed_through_the_api_is_404(api, out_for_delivery):
    assert api.get(f"{ORDERS}/{out_for_delivery.order.number}").status_code == 404


def test_unknown_api_address_is_a_json_404(api):
    response = api.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["detail"]


# --- Shipping and reading a parcel -------------------------------------------------------


def _ship(api, tracking):
    return api.post(f"/api/v1/shipments/{tracking}/ship")


def test_ship_marks_the_parcel_shipped_with_a_code_issued(api, mailoutbox):
    tracking = create_order(api)["shipments"][0]["tracking_number"]
    response = _ship(api, tracking)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "shipped"
    assert body["requires_code"] is True
    assert body["delivery_day"]
    shipment = Shipment.objects.get(tracking_number=tracking)
    assert DeliveryCode.objects.filter(shipment=shipment, status="active").exists()
    assert plain_code(shipment) not in response.content.decode()


def test_ship_twice_answers_as_done(api):
    tracking = create_order(api)["shipments"][0]["tracking_number"]
    _ship(api, tracking)
    again = _ship(api, tracking)
    assert again.status_code == 200
    assert DeliveryCode.objects.filter(shipment__tracking_number=tracking).count() == 1


def test_ship_an_illegal_move_is_409(api, courier, ops):
    tracking = create_order(api)["shipments"][0]["tracking_number"]
    _ship(api, tracking)
    Shipment.objects.filter(tracking_number=tracking).update(status="delivered")
    response = _ship(api, tracking)
    assert response.status_code == 409
    assert response.json()["code"] == "illegal_transition"


def test_shipping_another_retailers_parcel_is_404_and_changes_nothing(api, other_api):
    tracking = create_order(api)["shipments"][0]["tracking_number"]
    assert _ship(other_api, tracking).status_code == 404
    assert Shipment.objects.get(tracking_number=tracking).status == "processing"


def test_reading_another_retailers_parcel_is_404(api, other_api):
    tracking = create_order(api)["shipments"][0]["tracking_number"]
    assert other_api.get(f"/api/v1/shipments/{tracking}").status_code == 404


def test_get_shipment_shows_events_and_no_proof_before_delivery(api):
    tracking = create_order(api)["shipments"][0]["tracking_number"]
    _ship(api, tracking)
    body = api.get(f"/api/v1/shipments/{tracking}").json()
    assert body["tracking_number"] == tracking
    assert [event["status"] for event in body["events"]] == ["shipped"]
    assert body["proof_of_delivery"] is None


def test_get_shipment_shows_proof_of_delivery_after_hand_over(api, courier, route, ops):
    from handoff.services import shipment_add_to_route, shipment_mark_out_for_delivery

    tracking = create_order(api)["shipments"][0]["tracking_number"]
    shipment = Shipment.objects.get(tracking_number=tracking)
    Shipment.objects.filter(pk=shipment.pk).update(delivery_day=TODAY)
    api.post(f"/api/v1/shipments/{tracking}/ship")
    Shipment.objects.filter(pk=shipment.pk).update(delivery_day=TODAY)
    DeliveryCode.objects.filter(shipment=shipment).update(delivery_day=TODAY)
    shipment_add_to_route(shipment=shipment, route=route)
    shipment_mark_out_for_delivery(shipment=shipment, actor=ops)
    code = plain_code(shipment)
    shipment_hand_over_at_door(
        shipment=shipment,
        raw_code=code,
        context=EntryContext(
            user=courier.user, latitude=Decimal("41.9"), longitude=Decimal("12.5")
        ),
    )
    response = api.get(f"/api/v1/shipments/{tracking}")
    proof = response.json()["proof_of_delivery"]
    assert proof["method"] == "code"
    assert proof["handed_over_by"] == courier.user.get_full_name()
    assert proof["latitude"] == "41.900000"
    assert code not in response.content.decode()


# --- Pickup points -----------------------------------------------------------------------


def test_pickup_points_lists_the_active_ones(api):
    PickupPointFactory(name="Edicola Centrale", opening_hours="Mon–Sat 7–19")
    PickupPointFactory(name="Closed", is_active=False)
    body = api.get("/api/v1/pickup-points").json()
    assert [point["name"] for point in body["results"]] == ["Edicola Centrale"]
    assert set(body["results"][0]) == {"id", "name", "address", "opening_hours"}


# --- Throttling --------------------------------------------------------------------------


def test_requests_past_the_rate_are_429_per_key(api, other_api, settings, monkeypatch):
    from api.throttling import ApiKeyRateThrottle

    monkeypatch.setattr(ApiKeyRateThrottle, "get_rate", lambda self: "2/minute")
    assert api.get(ORDERS).status_code == 200
    assert api.get(ORDERS).status_code == 200
    third = api.get(ORDERS)
    assert third.status_code == 429
    assert "detail" in third.json()
    # The other retailer's key has its own count.
    assert other_api.get(ORDERS).status_code == 200


def test_throttle_counts_live_in_the_shared_cache_not_in_memory(settings):
    from django.core.cache import caches

    backend = type(caches["default"]).__module__
    assert "locmem" not in backend
    assert "dummy" not in backend


# --- Schema and docs ---------------------------------------------------------------------


def test_schema_is_served_without_a_key(client):
    response = client.get("/api/v1/schema", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert "/api/v1/orders" in response.content.decode()


def test_schema_validates(capsys):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_docs_page_describes_every_call_without_a_script(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    page = response.content.decode()
    for call in [
        "POST /api/v1/orders",
        "GET /api/v1/orders/{number}",
        "POST /api/v1/shipments/{tracking_number}/ship",
        "GET /api/v1/shipments/{tracking_number}",
        "GET /api/v1/pickup-points",
        "POST /api/v1/webhook-endpoints",
        "DELETE /api/v1/webhook-endpoints/{id}",
    ]:
        assert call in page
    assert "customer.email" in page
    assert "proof_of_delivery.method" in page
    assert "<script>" not in page


def test_orders_items_are_written_with_prices(api):
    create_order(api)
    assert OrderItem.objects.get().unit_price == Decimal("650.00")


def test_api_customer_sees_the_order_in_their_portal(api, client):
    create_order(api)
    dora = User.objects.get(email="dora@example.com")
    client.force_login(dora)
    assert client.get("/orders/").status_code == 200


def test_another_customer_made_by_factory_is_untouched(api):
    other = UserFactory(email="someone@example.com")
    create_order(api)
    other.refresh_from_db()
    assert other.orders.count() == 0


# --- Webhook endpoints -------------------------------------------------------------------

HOOKS = "/api/v1/webhook-endpoints"


@pytest.fixture
def loopback_allowed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True


def test_create_webhook_endpoint_shows_its_secret_once(api, loopback_allowed):
    response = api.post(HOOKS, {"url": "http://127.0.0.1:9/hooks", "events": ["code.locked"]})
    assert response.status_code == 201
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["events"] == ["code.locked"]
    listed = api.get(HOOKS).json()
    assert listed["results"][0]["id"] == body["id"]
    assert "secret" not in listed["results"][0]
    assert body["secret"] not in json.dumps(listed)


def test_unknown_event_type_is_400(api, loopback_allowed):
    response = api.post(HOOKS, {"url": "http://127.0.0.1:9/hooks", "events": ["order.eaten"]})
    assert response.status_code == 400
    assert "events" in response.json()


def test_webhook_endpoints_are_per_retailer(api, other_api, loopback_allowed):
    mine = api.post(HOOKS, {"url": "http://127.0.0.1:9/hooks"}).json()
    assert other_api.get(HOOKS).json()["count"] == 0
    assert other_api.delete(f"{HOOKS}/{mine['id']}").status_code == 404
    assert api.get(HOOKS).json()["count"] == 1


def test_delete_webhook_endpoint_removes_it(api, loopback_allowed):
    mine = api.post(HOOKS, {"url": "http://127.0.0.1:9/hooks"}).json()
    assert api.delete(f"{HOOKS}/{mine['id']}").status_code == 204
    assert api.get(HOOKS).json()["count"] == 0
    assert api.delete(f"{HOOKS}/{mine['id']}").status_code == 404


def test_webhook_endpoints_need_a_key(anonymous_api):
    assert anonymous_api.get(HOOKS).status_code == 401
