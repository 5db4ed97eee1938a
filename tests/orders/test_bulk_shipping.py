"""Shipping many parcels at once (the admin's Mark as shipped): the same outcome as one by
one, in one transaction and a number of queries that does not grow with the parcels."""

from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from codes.models import CodeEmail, DeliveryCode
from handoff.services import shipment_mark_shipped, shipments_mark_shipped
from orders.models import Shipment, TrackingEvent
from tests.conftest import TODAY, plain_code
from tests.factories import OrderFactory, OrderItemFactory, ShipmentFactory

pytestmark = pytest.mark.django_db


def _mixed_parcels():
    """Every case of rule 1: valuable, at the threshold, cheap, flagged, a flagged item in
    another parcel of the same order, a parcel carrying the whole order."""
    valuable = OrderFactory()
    OrderItemFactory(order=valuable, unit_price=Decimal("500.00"))
    at_threshold = OrderFactory()
    OrderItemFactory(order=at_threshold, unit_price=Decimal("100.00"), quantity=3)
    cheap = OrderFactory()
    OrderItemFactory(order=cheap, unit_price=Decimal("20.00"))
    flagged = OrderFactory()
    OrderItemFactory(order=flagged, unit_price=Decimal("5.00"), requires_secure_delivery=True)
    split = OrderFactory()
    plain_parcel, flagged_parcel = ShipmentFactory(order=split), ShipmentFactory(order=split)
    OrderItemFactory(order=split, shipment=plain_parcel, unit_price=Decimal("10.00"))
    OrderItemFactory(
        order=split,
        shipment=flagged_parcel,
        unit_price=Decimal("10.00"),
        requires_secure_delivery=True,
    )
    return [
        ShipmentFactory(order=valuable),
        ShipmentFactory(order=at_threshold),
        ShipmentFactory(order=cheap),
        ShipmentFactory(order=flagged),
        plain_parcel,
        flagged_parcel,
    ]


def _outcome(shipments):
    """What shipping left behind, per parcel, in terms that do not depend on ids."""
    rows = []
    for shipment in Shipment.objects.filter(pk__in=[s.pk for s in shipments]).order_by("pk"):
        codes = DeliveryCode.objects.filter(shipment=shipment)
        rows.append(
            (
                shipment.status,
                shipment.requires_code,
                shipment.delivery_day,
                list(shipment.events.values_list("status", "actor_id")),
                list(codes.values_list("status", "delivery_day", "valid_until", "pickup_point")),
                list(CodeEmail.objects.filter(code__in=codes).values_list("purpose", "sent_at")),
            )
        )
    return rows


def test_bulk_shipping_has_the_outcome_of_shipping_one_by_one(ops):
    one_by_one, together = _mixed_parcels(), _mixed_parcels()

    for shipment in one_by_one:
        shipment_mark_shipped(shipment=shipment, actor=ops, delivery_day=TODAY)
    shipments_mark_shipped(shipments=together, actor=ops, delivery_day=TODAY)

    assert _outcome(together) == _outcome(one_by_one)
    frozen = dict(Shipment.objects.values_list("pk", "requires_code"))
    assert [frozen[s.pk] for s in together] == [True, True, False, True, False, True]


def test_bulk_shipping_issues_a_working_code_for_each_parcel_that_needs_one(ops):
    parcels = _mixed_parcels()

    result = shipments_mark_shipped(shipments=parcels, actor=ops, delivery_day=TODAY)

    needing = [s for s in result.shipped if s.requires_code]
    assert len(needing) == 4
    assert all(len(plain_code(s)) == 6 for s in needing)
    assert DeliveryCode.objects.filter(status="active").count() == 4


def test_bulk_shipping_emails_each_code_once_and_only_after_commit(
    ops, django_capture_on_commit_callbacks
):
    parcels = _mixed_parcels()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        shipments_mark_shipped(shipments=parcels, actor=ops, delivery_day=TODAY)
    assert mail.outbox == []
    for callback in callbacks:
        callback()
    for callback in callbacks:  # the task run twice sends nothing more
        callback()

    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        s.order.email for s in Shipment.objects.filter(requires_code=True)
    )
    assert CodeEmail.objects.filter(sent_at__isnull=True).count() == 0


def test_illegal_transitions_are_skipped_and_reported(ops):
    already = ShipmentFactory()
    shipment_mark_shipped(shipment=already, actor=ops, delivery_day=TODAY)
    fresh = ShipmentFactory()
    codes_before = DeliveryCode.objects.count()

    result = shipments_mark_shipped(shipments=[already, fresh], actor=ops, delivery_day=TODAY)

    assert [s.pk for s in result.refused] == [already.pk]
    assert [s.pk for s in result.shipped] == [fresh.pk]
    assert TrackingEvent.objects.filter(shipment=already).count() == 1
    assert DeliveryCode.objects.count() == codes_before


def test_a_batch_of_only_illegal_transitions_writes_nothing(ops):
    already = ShipmentFactory()
    shipment_mark_shipped(shipment=already, actor=ops, delivery_day=TODAY)
    events, codes, emails = (
        TrackingEvent.objects.count(),
        DeliveryCode.objects.count(),
        CodeEmail.objects.count(),
    )

    result = shipments_mark_shipped(shipments=[already], actor=ops)

    assert result.shipped == []
    assert (
        TrackingEvent.objects.count(),
        DeliveryCode.objects.count(),
        CodeEmail.objects.count(),
    ) == (events, codes, emails)


def test_a_parcel_without_a_delivery_day_gets_the_next_working_day(ops):
    (shipment,) = shipments_mark_shipped(shipments=[ShipmentFactory()], actor=ops).shipped

    assert shipment.delivery_day.isoformat() == "2026-11-27"


def _valuable_parcels(count):
    parcels = []
    for _ in range(count):
        order = OrderFactory()
        OrderItemFactory(order=order, unit_price=Decimal("500.00"))
        parcels.append(ShipmentFactory(order=order))
    return parcels


def _queries_to_ship(parcels, ops, django_capture_on_commit_callbacks) -> int:
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=False),
    ):
        shipments_mark_shipped(shipments=parcels, actor=ops, delivery_day=TODAY)
    return len(queries)


def test_query_count_does_not_grow_with_the_number_of_parcels(
    ops, django_capture_on_commit_callbacks
):
    few = _queries_to_ship(_valuable_parcels(2), ops, django_capture_on_commit_callbacks)
    many = _queries_to_ship(_valuable_parcels(30), ops, django_capture_on_commit_callbacks)

    assert few == many
    # the person's lock, the parcels' lock, two aggregates, the update, events, revoke,
    # codes, emails, the retailers' webhook endpoints (+ savepoint pair of the transaction
    # inside the test's transaction)
    assert many <= 12


def test_admin_action_ships_the_selection_in_one_go(ops, client):
    parcels = _mixed_parcels()
    client.force_login(ops)

    response = client.post(
        "/admin/orders/shipment/",
        {"action": "mark_as_shipped", "_selected_action": [s.pk for s in parcels]},
        follow=True,
    )

    assert response.status_code == 200
    assert "6 parcels shipped" in response.content.decode()
    assert Shipment.objects.filter(status="shipped").count() == 6
