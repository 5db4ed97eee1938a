"""A customer never gets an email that the parcel's state at sending time contradicts
(issue 11, item 5), and the demo is a day like any other in the admin's lists (item 6)."""

import pytest
from django.core import mail
from django.core.management import call_command

from codes.models import CodeEmail
from handoff.services import (
    EntryContext,
    shipment_add_to_route,
    shipment_hand_over_at_counter,
    shipment_hand_over_at_door,
    shipment_mark_out_for_delivery,
    shipment_mark_shipped,
    shipment_receive_at_pickup_point,
)
from orders.models import Shipment
from tests.conftest import TODAY, make_valuable_shipment, plain_code

pytestmark = pytest.mark.django_db

Purpose = CodeEmail.Purpose


def _run(callbacks):
    for callback in callbacks:
        callback()


@pytest.fixture
def addressed_to_the_point(customer, ops, pickup_point):
    shipment = make_valuable_shipment(customer)
    shipment.pickup_point = pickup_point
    shipment.save(update_fields=["pickup_point"])
    return shipment


def test_shipping_email_not_sent_once_the_parcel_waits_at_the_point(
    addressed_to_the_point, ops, pickup_point, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as shipping_emails:
        shipment_mark_shipped(shipment=addressed_to_the_point, actor=ops, delivery_day=TODAY)
    with django_capture_on_commit_callbacks(execute=True):
        shipment_receive_at_pickup_point(
            shipment=addressed_to_the_point, pickup_point=pickup_point, actor=ops
        )
    mail.outbox.clear()

    _run(shipping_emails)

    issued = CodeEmail.objects.get(purpose=Purpose.ISSUED)
    assert mail.outbox == []
    assert (issued.sent_at, issued.failed_at) == (None, None)
    assert issued.superseded_at is not None


def test_shipping_email_to_a_point_names_the_point_not_a_door(
    addressed_to_the_point, ops, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        shipment_mark_shipped(shipment=addressed_to_the_point, actor=ops, delivery_day=TODAY)

    (email,) = mail.outbox
    assert "Edicola Centrale" in email.body
    assert "door" not in email.body
    assert "courier" not in email.body


def test_shipping_email_not_sent_once_the_parcel_is_delivered(
    customer, ops, courier, route, django_capture_on_commit_callbacks
):
    shipment = make_valuable_shipment(customer)
    with django_capture_on_commit_callbacks() as shipping_emails:
        shipment_mark_shipped(shipment=shipment, actor=ops, delivery_day=TODAY)
    shipment_add_to_route(shipment=shipment, route=route)
    shipment_mark_out_for_delivery(shipment=shipment, actor=ops)
    shipment_hand_over_at_door(
        shipment=shipment, raw_code=plain_code(shipment), context=EntryContext(user=courier.user)
    )

    _run(shipping_emails)

    issued = CodeEmail.objects.get(purpose=Purpose.ISSUED)
    assert mail.outbox == []
    assert issued.superseded_at is not None
    assert issued.failed_at is None


def test_ready_for_collection_email_not_sent_once_collected(
    addressed_to_the_point, ops, operator, pickup_point, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        shipment_mark_shipped(shipment=addressed_to_the_point, actor=ops, delivery_day=TODAY)
    with django_capture_on_commit_callbacks() as ready_emails:
        shipment_receive_at_pickup_point(
            shipment=addressed_to_the_point, pickup_point=pickup_point, actor=ops
        )
    shipment_hand_over_at_counter(
        pickup_point=pickup_point,
        raw_code=plain_code(addressed_to_the_point),
        context=EntryContext(user=operator),
    )
    mail.outbox.clear()

    _run(ready_emails)

    ready = CodeEmail.objects.get(purpose=Purpose.AT_PICKUP_POINT)
    assert mail.outbox == []
    assert ready.superseded_at is not None


def test_an_email_still_true_is_sent(out_for_delivery):
    issued = CodeEmail.objects.get(purpose=Purpose.ISSUED)

    assert issued.sent_at is not None
    assert issued.superseded_at is None


# --- The demo ------------------------------------------------------------------------------


@pytest.fixture
def demo(django_capture_on_commit_callbacks):
    """seed_demo with the emails it asks for sent, as after its commits."""
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=None)


def test_bruno_gets_no_door_email_next_to_the_pickup_email(demo):
    to_bruno = [email for email in mail.outbox if email.to == ["bruno@example.com"]]

    assert to_bruno
    assert all("door" not in email.body for email in to_bruno)
    assert "Edicola Centrale" in to_bruno[-1].body


def test_demo_emails_show_no_failure_in_the_admin(demo):
    assert not CodeEmail.objects.filter(failed_at__isnull=False).exists()


def test_demo_reset_makes_todays_demo_afresh(demo, django_capture_on_commit_callbacks):
    before = set(Shipment.objects.values_list("pk", flat=True))

    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", "--reset", stdout=None)

    after = set(Shipment.objects.values_list("pk", flat=True))
    assert len(after) == len(before)
    assert before.isdisjoint(after)
