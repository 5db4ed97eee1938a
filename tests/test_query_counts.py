"""The pages people load most issue a fixed number of queries, however much they show.

Each test counts the queries of a page showing one thing, then adds many more parcels,
events or stops and asserts the page still issues exactly that many (no N+1).
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from codes.models import CodeEntry, DeliveryCode, EntryBlock
from codes.services import EntryContext
from couriers.models import Stop
from handoff.services import (
    shipment_add_to_route,
    shipment_hand_over_at_door,
    shipment_mark_out_for_delivery,
    shipment_mark_shipped,
    shipment_record_failed_attempt,
)
from orders.models import Order
from retailers.models import Retailer
from tests.conftest import (
    FROZEN_NOW,
    TODAY,
    make_valuable_shipment,
    out_again_on_its_day,
    plain_code,
    wrong_code_for,
)
from tests.factories import OrderFactory, ShipmentFactory, UserFactory

pytestmark = pytest.mark.django_db


def _query_count(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def _parcel_on_route(customer, route, ops, price="500.00"):
    shipment = make_valuable_shipment(customer, price=price)
    shipment_mark_shipped(shipment=shipment, actor=ops, delivery_day=TODAY)
    shipment_add_to_route(route=route, shipment=shipment)
    return shipment_mark_out_for_delivery(shipment=shipment, actor=ops)


def test_your_orders_queries_do_not_grow_with_orders_and_parcels(
    client, customer, ops, route, django_assert_num_queries
):
    # Given a customer with one order of one parcel
    client.force_login(customer)
    _parcel_on_route(customer, route, ops)
    url = reverse("order_list")
    one_parcel = _query_count(client, url)

    # When they have many orders, several with two parcels, and one not shipped yet
    for _ in range(6):
        shipment = _parcel_on_route(customer, route, ops)
        ShipmentFactory(order=shipment.order)
    OrderFactory(customer=customer)

    # Then the page issues the same number of queries
    with django_assert_num_queries(one_parcel):
        response = client.get(url)
    assert response.content.decode().count("Track my package") == 13


def test_tracking_page_queries_do_not_grow_with_events_and_codes(
    client, customer, ops, courier, out_for_delivery, django_assert_num_queries, time_machine
):
    # Given a parcel out for delivery with its code and a short timeline
    client.force_login(customer)
    url = reverse("track", args=[out_for_delivery.tracking_number])
    short_timeline = _query_count(client, url)

    # When failed attempts give it new codes and a long timeline
    for _ in range(4):
        shipment_record_failed_attempt(
            shipment=out_for_delivery, courier=courier, reason="not_at_home"
        )
        out_again_on_its_day(out_for_delivery, ops, time_machine)

    # Then the page issues the same number of queries
    with django_assert_num_queries(short_timeline):
        response = client.get(url)
    assert response.content.decode().count('class="timeline-item') == 10


def test_tracking_page_of_a_delivered_parcel_issues_no_more_queries(
    client, customer, courier, out_for_delivery
):
    # Given the tracking page of a parcel still out for delivery
    client.force_login(customer)
    url = reverse("track", args=[out_for_delivery.tracking_number])
    before = _query_count(client, url)

    # When it is delivered (the page then names who handed it over)
    shipment_hand_over_at_door(
        shipment=out_for_delivery,
        raw_code=plain_code(out_for_delivery),
        context=EntryContext(user=courier.user),
    )

    # Then the page issues no more queries than before
    assert _query_count(client, url) <= before


def test_todays_deliveries_queries_do_not_grow_with_stops(
    client, customer, ops, route, courier, django_assert_num_queries
):
    # Given a courier with one stop today
    client.force_login(courier.user)
    _parcel_on_route(customer, route, ops)
    url = reverse("courier_today")
    one_stop = _query_count(client, url)

    # When the route has many stops, for different customers, with and without codes
    for number in range(8):
        other = UserFactory(username=f"customer{number}")
        _parcel_on_route(other, route, ops, price="500.00" if number % 2 else "20.00")

    # Then the page issues the same number of queries
    with django_assert_num_queries(one_stop):
        response = client.get(url)
    assert response.content.decode().count("data-tracking-number=") == 9


# Code entry at the door, through the courier's page. Counted inside the test's transaction,
# where the entry's own transaction is a SAVEPOINT/RELEASE pair (BEGIN/COMMIT in production,
# which are not counted): session, user, the stop on today's route; the person's lock, then
# the parcel's lock; one read after both (the person's block and count of wrong codes, the
# parcel's current code with its hold and whether the entry matches an older code, the
# courier's stop); then one statement with every write of the outcome.
ENTRY_TRANSACTION = 2
# The writes go as one statement on PostgreSQL (otpdelivery.writes); SQLite runs them one
# by one, so these counts are PostgreSQL's.


def _enter(client, shipment, code):
    return client.post(reverse("courier_stop", args=[shipment.tracking_number]), {"code": code})


def test_wrong_code_entry_issues_a_fixed_small_number_of_queries(
    client, courier, out_for_delivery, postgresql_only, django_assert_num_queries
):
    # Given a courier who already entered one wrong code (its alert email is asked for once)
    client.force_login(courier.user)
    _enter(client, out_for_delivery, wrong_code_for(out_for_delivery))

    wrong = wrong_code_for(out_for_delivery)

    # When they enter another wrong code
    # Then: 3 reads for the request, 2 locks, the read after them, and one statement that
    # counts the wrong code against the code and the parcel and writes the audit row
    with django_assert_num_queries(3 + 2 + 1 + 1 + ENTRY_TRANSACTION):
        response = _enter(client, out_for_delivery, wrong)
    assert response.status_code == 200
    assert CodeEntry.objects.filter(outcome="wrong").count() == 2


def test_right_code_entry_issues_a_fixed_small_number_of_queries(
    client, courier, out_for_delivery, postgresql_only, django_assert_num_queries
):
    # Given a courier at the door of a parcel out for delivery
    client.force_login(courier.user)
    right = plain_code(out_for_delivery)

    # When they enter the right code
    # Then: 3 reads for the request, 2 locks, the read after them, and one statement that
    # marks the code used, writes the audit row, delivers the parcel with its timeline event
    # and finishes the stop
    with django_assert_num_queries(3 + 2 + 1 + 1 + ENTRY_TRANSACTION):
        response = _enter(client, out_for_delivery, right)
    assert response.status_code == 200
    assert CodeEntry.objects.get().outcome == "correct"
    assert Stop.objects.get(shipment=out_for_delivery).outcome == "delivered"


def test_right_code_of_a_retailers_order_also_reads_its_webhook_endpoints(
    client, courier, out_for_delivery, postgresql_only, django_assert_num_queries
):
    # Given a parcel of an order a retailer placed through the API
    Order.objects.filter(pk=out_for_delivery.order_id).update(
        retailer=Retailer.objects.create(name="Demo Shop"), reference="R-1"
    )
    client.force_login(courier.user)
    right = plain_code(out_for_delivery)

    # When the courier enters the right code
    # Then: as above, and the retailer's webhook endpoints for its outbox
    with django_assert_num_queries(3 + 2 + 1 + 1 + 1 + ENTRY_TRANSACTION):
        response = _enter(client, out_for_delivery, right)
    assert response.status_code == 200


def test_tracking_page_reads_the_code_with_the_parcel(
    client, customer, out_for_delivery, django_assert_num_queries
):
    # Given a customer whose parcel is out for delivery with its code
    client.force_login(customer)
    url = reverse("track", args=[out_for_delivery.tracking_number])

    # When they open its tracking page
    # Then: session, user, the parcel with its usable code, its timeline
    with django_assert_num_queries(4):
        response = client.get(url)
    assert plain_code(out_for_delivery)[:3] in response.content.decode()


def test_stop_page_reads_the_stop_with_the_persons_block_in_one_query(
    client, courier, out_for_delivery, django_assert_num_queries
):
    # Given a courier at the door of a parcel out for delivery
    client.force_login(courier.user)
    url = reverse("courier_stop", args=[out_for_delivery.tracking_number])

    # When they open its stop page
    # Then: session, user, the stop with its parcel, customer, pickup point and the block
    with django_assert_num_queries(3):
        response = client.get(url)
    assert 'name="code"' in response.content.decode()


def _an_earlier_code(courier, ops, shipment, time_machine) -> str:
    """A failed attempt gives the parcel a new code; the old one becomes an earlier code."""
    earlier = plain_code(shipment)
    shipment_record_failed_attempt(shipment=shipment, courier=courier, reason="not_at_home")
    out_again_on_its_day(shipment, ops, time_machine)
    return earlier


def _prepare(outcome, *, client, courier, ops, shipment, time_machine) -> str:
    """Bring the parcel or the person to where the entry has `outcome`; the code to enter."""
    if outcome == "earlier":
        return _an_earlier_code(courier, ops, shipment, time_machine)
    if outcome == "locked":
        right, wrong = plain_code(shipment), wrong_code_for(shipment)
        for _ in range(5):
            _enter(client, shipment, wrong)
        return right
    if outcome == "blocked":
        EntryBlock.objects.create(user=courier.user, wrong_entries=10, blocked_at=FROZEN_NOW)
        return plain_code(shipment)
    if outcome == "expired":
        DeliveryCode.objects.filter(shipment=shipment).update(valid_until=FROZEN_NOW)
        return plain_code(shipment)
    return {
        "right": plain_code(shipment),
        "wrong (first)": wrong_code_for(shipment),
        "malformed": "12a456",
    }[outcome]


# The statements of each outcome in production, where the entry's transaction is BEGIN and
# COMMIT (not counted); in the test's transaction it is a SAVEPOINT/RELEASE pair (counted).
# The issue's target is 8 for every outcome. A malformed code takes no lock: session, user,
# the stop, the person's block, the audit row.
ENTRY_STATEMENTS = {
    "right": 7,
    "wrong (first)": 7,
    "earlier": 7,
    "malformed": 5,
    "locked": 7,
    "blocked": 7,
    "expired": 7,
}


@pytest.mark.parametrize("outcome", list(ENTRY_STATEMENTS))
def test_code_entry_stays_within_its_statement_budget_on_every_outcome(
    client,
    courier,
    ops,
    out_for_delivery,
    outcome,
    postgresql_only,
    django_assert_num_queries,
    time_machine,
):
    # Given a courier at the door, the parcel or the person brought to the outcome
    client.force_login(courier.user)
    code = _prepare(
        outcome,
        client=client,
        courier=courier,
        ops=ops,
        shipment=out_for_delivery,
        time_machine=time_machine,
    )
    transaction = 0 if outcome == "malformed" else ENTRY_TRANSACTION

    # When they enter the code
    # Then the request issues exactly the outcome's statements
    with django_assert_num_queries(ENTRY_STATEMENTS[outcome] + transaction):
        response = _enter(client, out_for_delivery, code)
    assert response.status_code == 200
