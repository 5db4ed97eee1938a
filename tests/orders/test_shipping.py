"""Shipping a parcel: whether it needs a code (rule 1), and the code email (rule 3)."""

from decimal import Decimal

import pytest
from django.core import mail

from codes.models import DeliveryCode
from handoff.services import shipment_mark_shipped
from orders.exceptions import IllegalTransition
from orders.models import Shipment
from tests.conftest import TODAY, plain_code
from tests.factories import OrderFactory, OrderItemFactory, ShipmentFactory

pytestmark = pytest.mark.django_db


def _shipment_worth(*prices, flagged=False):
    order = OrderFactory()
    for price in prices:
        OrderItemFactory(order=order, unit_price=Decimal(price), requires_secure_delivery=flagged)
    return ShipmentFactory(order=order)


def test_order_below_threshold_needs_no_code(ops):
    shipment = shipment_mark_shipped(shipment=_shipment_worth("299.99"), actor=ops)

    assert shipment.requires_code is False
    assert not DeliveryCode.objects.exists()


def test_order_at_threshold_needs_a_code(ops):
    shipment = shipment_mark_shipped(shipment=_shipment_worth("299.99", "0.01"), actor=ops)

    assert shipment.requires_code is True
    assert DeliveryCode.objects.filter(shipment=shipment, status="active").count() == 1


def test_quantity_counts_towards_order_value(ops):
    order = OrderFactory()
    OrderItemFactory(order=order, unit_price=Decimal("100.00"), quantity=3)

    shipment = shipment_mark_shipped(shipment=ShipmentFactory(order=order), actor=ops)

    assert shipment.requires_code is True


def test_flagged_item_needs_a_code_whatever_the_value(ops):
    shipment = shipment_mark_shipped(shipment=_shipment_worth("10.00", flagged=True), actor=ops)

    assert shipment.requires_code is True


def test_flagged_item_in_another_parcel_does_not_need_a_code(ops):
    order = OrderFactory()
    cheap_parcel = ShipmentFactory(order=order)
    flagged_parcel = ShipmentFactory(order=order)
    OrderItemFactory(order=order, shipment=cheap_parcel, unit_price=Decimal("10.00"))
    OrderItemFactory(
        order=order,
        shipment=flagged_parcel,
        unit_price=Decimal("10.00"),
        requires_secure_delivery=True,
    )

    assert shipment_mark_shipped(shipment=cheap_parcel, actor=ops).requires_code is False
    assert shipment_mark_shipped(shipment=flagged_parcel, actor=ops).requires_code is True


def test_threshold_is_a_setting(ops, settings):
    settings.SECURE_DELIVERY_THRESHOLD_EUR = Decimal("1000.00")

    shipment = shipment_mark_shipped(shipment=_shipment_worth("999.99"), actor=ops)

    assert shipment.requires_code is False


def test_decision_is_frozen_when_the_parcel_ships(ops):
    shipment = shipment_mark_shipped(shipment=_shipment_worth("500.00"), actor=ops)

    shipment.order.items.update(unit_price=Decimal("1.00"))

    shipment.refresh_from_db()
    assert shipment.requires_code is True


def test_each_parcel_of_an_order_gets_its_own_code(ops):
    order = OrderFactory()
    OrderItemFactory(order=order, unit_price=Decimal("800.00"))
    first, second = ShipmentFactory(order=order), ShipmentFactory(order=order)

    shipment_mark_shipped(shipment=first, actor=ops)
    shipment_mark_shipped(shipment=second, actor=ops)

    assert {code.shipment_id for code in DeliveryCode.objects.filter(status="active")} == {
        first.pk,
        second.pk,
    }


def test_shipping_twice_is_refused(ops):
    shipment = shipment_mark_shipped(shipment=_shipment_worth("500.00"), actor=ops)

    with pytest.raises(IllegalTransition):
        shipment_mark_shipped(shipment=shipment, actor=ops)
    assert DeliveryCode.objects.count() == 1


def test_shipping_records_a_timeline_event(ops):
    shipment = shipment_mark_shipped(shipment=_shipment_worth("50.00"), actor=ops)

    assert list(shipment.events.values_list("status", flat=True)) == [Shipment.Status.SHIPPED]


def test_code_is_emailed_only_after_commit(ops, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        shipment = shipment_mark_shipped(shipment=_shipment_worth("500.00"), actor=ops)

    assert mail.outbox == []
    assert len(callbacks) == 1
    callbacks[0]()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [shipment.order.email]


def test_code_email_says_what_for_when_and_warns_about_phone_requests(
    ops, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        shipment = shipment_mark_shipped(
            shipment=_shipment_worth("500.00"), actor=ops, delivery_day=TODAY
        )

    email = mail.outbox[0]
    code = plain_code(shipment)
    assert f"{code[:3]} {code[3:]}" in email.body
    assert shipment.tracking_number in email.subject
    assert "Thursday 26 November 2026" in email.body
    assert "will ever ask you for this code by phone" in email.body


def test_revoked_code_is_not_emailed(ops, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        shipment = shipment_mark_shipped(shipment=_shipment_worth("500.00"), actor=ops)
    DeliveryCode.objects.filter(shipment=shipment).update(status="revoked")

    callbacks[0]()

    assert mail.outbox == []


def test_an_order_number_already_taken_is_drawn_again(customer):
    from orders.models import Order

    first = Order.objects.create(customer=customer, email=customer.email, delivery_address="x")

    second = Order(
        number=first.number, customer=customer, email=customer.email, delivery_address="y"
    )
    second.save()

    assert second.number != first.number
    assert second.number.startswith("A")
    assert len(second.number) == 11
