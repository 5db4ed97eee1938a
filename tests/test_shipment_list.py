"""Issue 14: operations find a parcel in the admin's shipment list and read its state."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alerts.models import Alert
from alerts.services import alert_open, alert_resolve
from retailers.models import Retailer
from tests.conftest import TODAY, make_valuable_shipment
from tests.factories import CourierFactory, RouteFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = "admin:orders_shipment_changelist"


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


def _found(response):
    return list(response.context["cl"].result_list)


def test_list_shows_customer_order_status_day_code_point_and_alerts(ops_client, out_for_delivery):
    alert_open(kind=Alert.Kind.CODE_LOCKED, shipment=out_for_delivery)

    response = ops_client.get(reverse(LIST))

    text = response.text
    for shown in [
        out_for_delivery.tracking_number,
        "Alice Rossi",
        out_for_delivery.order.number,
        "Out for delivery",
        "26 November 2026",
        'data-alert-kind="code_locked"',
    ]:
        assert shown in text, shown
    headers = [header["text"] for header in response.context["result_headers"]]
    assert headers[1:] == [
        "tracking number",
        "customer",
        "order",
        "status",
        "delivery day",
        "requires a delivery code",
        "pickup point",
        "open alerts",
    ]


@pytest.mark.parametrize(
    "query",
    ["Rossi", "alice rossi", "Alice", "alice@example.com", "order-number", "tracking"],
)
def test_search_finds_a_parcel_by_customer_order_or_tracking_number(ops_client, customer, query):
    customer.email = "alice@example.com"
    customer.save(update_fields=["email"])
    shipment = make_valuable_shipment(customer)
    make_valuable_shipment(UserFactory(username="bruno", first_name="Bruno", last_name="Bianchi"))
    query = {"order-number": shipment.order.number, "tracking": shipment.tracking_number}.get(
        query, query
    )

    response = ops_client.get(reverse(LIST), {"q": query})

    assert _found(response) == [shipment]


def test_search_finds_a_parcel_by_the_orders_email(ops_client, customer):
    shipment = make_valuable_shipment(customer)
    shipment.order.email = "codes-here@example.org"
    shipment.order.save(update_fields=["email"])

    response = ops_client.get(reverse(LIST), {"q": "codes-here@example.org"})

    assert _found(response) == [shipment]


def test_search_finds_a_parcel_by_the_retailers_reference_and_shows_it(ops_client, customer):
    shipment = make_valuable_shipment(customer)
    make_valuable_shipment(customer)
    shipment.order.retailer = Retailer.objects.create(name="Demo Shop")
    shipment.order.reference = "SHOP-1042"
    shipment.order.save(update_fields=["retailer", "reference"])

    response = ops_client.get(reverse(LIST), {"q": "SHOP-1042"})

    assert _found(response) == [shipment]
    assert "Demo Shop · SHOP-1042" in response.content.decode()


def test_filter_by_courier_lists_the_parcels_on_their_routes(
    ops_client, out_for_delivery, customer
):
    other = CourierFactory(user=UserFactory(username="luca"))
    RouteFactory(courier=other, day=TODAY)
    make_valuable_shipment(customer)
    courier_id = out_for_delivery.stops.get().route.courier_id

    response = ops_client.get(reverse(LIST), {"courier": courier_id})

    assert _found(response) == [out_for_delivery]


def test_filter_by_open_alert_lists_parcels_with_one(ops_client, customer, ops):
    alerted = make_valuable_shipment(customer)
    make_valuable_shipment(customer)
    alert_open(kind=Alert.Kind.PARCEL_HELD, shipment=alerted)

    any_alert = ops_client.get(reverse(LIST), {"alert": "any"})
    held = ops_client.get(reverse(LIST), {"alert": "parcel_held"})
    locked = ops_client.get(reverse(LIST), {"alert": "code_locked"})

    assert _found(any_alert) == [alerted]
    assert _found(held) == [alerted]
    assert _found(locked) == []


def test_a_resolved_alert_leaves_the_alert_column_and_filter(ops_client, customer, ops):

    shipment = make_valuable_shipment(customer)
    alert = alert_open(kind=Alert.Kind.CUSTOMER_REPORT, shipment=shipment)
    alert_resolve(alert=alert, actor=ops, note="Customer confirmed it was them.")

    response = ops_client.get(reverse(LIST), {"alert": "any"})

    assert _found(response) == []


def test_list_filters_by_day_status_courier_point_and_alert(
    ops_client, out_for_delivery, pickup_point
):
    response = ops_client.get(reverse(LIST))

    titles = [spec.title for spec in response.context["cl"].filter_specs]
    for title in ["delivery day", "status", "courier", "pickup point", "open alert"]:
        assert title in titles, title


def test_held_for_operations_and_waiting_at_a_point_are_two_words(ops_client):
    response = ops_client.get(reverse(LIST))

    specs = {
        spec.parameter_name: [value for value, _title in spec.lookup_choices]
        for spec in response.context["cl"].filter_specs
        if hasattr(spec, "parameter_name")
    }
    assert specs["wrong_codes"] == ["held_for_operations", "code_locked"]
    assert specs["pickup"] == ["waiting", "overdue", "returned"]
    assert "=held&" not in response.text
    assert '=held"' not in response.text


def test_list_query_count_does_not_grow_with_the_parcels(ops_client, customer):
    def queries_for_list():
        with CaptureQueriesContext(connection) as captured:
            assert ops_client.get(reverse(LIST)).status_code == 200
        return len(captured)

    for _ in range(2):
        alert_open(kind=Alert.Kind.CODE_LOCKED, shipment=make_valuable_shipment(customer))
    few = queries_for_list()
    for index in range(10):
        other = UserFactory(username=f"customer{index}", last_name=f"Verdi{index}")
        alert_open(kind=Alert.Kind.PARCEL_HELD, shipment=make_valuable_shipment(other))

    many = queries_for_list()

    assert many == few


def test_list_query_count_is_fixed(ops_client, customer, django_assert_max_num_queries):
    for index in range(20):
        shipment = make_valuable_shipment(UserFactory(username=f"c{index}"))
        alert_open(kind=Alert.Kind.CODE_LOCKED, shipment=shipment)

    with django_assert_max_num_queries(20):
        ops_client.get(reverse(LIST))


@pytest.mark.parametrize("value", ["abc", "1;drop", "-1"])
def test_a_malformed_courier_filter_is_refused_not_an_error(ops_client, value):
    response = ops_client.get(reverse(LIST), {"courier": value})

    assert response.status_code in (200, 302)
