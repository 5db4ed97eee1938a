"""Rule 12: only operations hand a parcel over without its code, only with a written
reason, audited like any entry, and the customer sees when and by whom."""

import pytest
from django.urls import reverse

from codes.exceptions import OverrideReasonMissing
from codes.models import CodeEntry, DeliveryCode
from codes.services import EntryContext
from handoff.services import shipment_hand_over_by_override
from orders.exceptions import IllegalTransition
from orders.models import Shipment
from tests.conftest import make_valuable_shipment

pytestmark = pytest.mark.django_db

REASON = "Customer lost phone and email access; passport checked at the depot by me."


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


def _override_url(shipment):
    return reverse("admin:orders_shipment_hand_over", args=[shipment.pk])


def _post_override(client, shipment, reason=REASON, confirm=True):
    data = {"reason": reason}
    if confirm:
        data["confirm"] = "on"
    return client.post(_override_url(shipment), data, REMOTE_ADDR="10.1.2.3")


def test_override_hands_the_parcel_over(ops_client, out_for_delivery, ops):
    response = _post_override(ops_client, out_for_delivery)

    out_for_delivery.refresh_from_db()
    assert response.status_code == 302
    assert out_for_delivery.status == Shipment.Status.DELIVERED
    assert out_for_delivery.delivered_by == ops


def test_override_is_audited_with_reason_person_time_and_address(
    ops_client, out_for_delivery, ops, frozen_now
):
    _post_override(ops_client, out_for_delivery)

    entry = CodeEntry.objects.get(shipment=out_for_delivery)
    assert (entry.outcome, entry.user, entry.created_at, entry.client_ip) == (
        CodeEntry.Outcome.OVERRIDE,
        ops,
        frozen_now,
        "10.1.2.3",
    )
    assert entry.reason == REASON


def test_override_revokes_the_code(ops_client, out_for_delivery):
    _post_override(ops_client, out_for_delivery)

    assert DeliveryCode.objects.get(shipment=out_for_delivery).status == (
        DeliveryCode.Status.REVOKED
    )


@pytest.mark.parametrize("reason", ["", "   ", "ok", "customer"])
def test_override_without_a_real_reason_changes_nothing(ops_client, out_for_delivery, reason):
    response = _post_override(ops_client, out_for_delivery, reason=reason)

    out_for_delivery.refresh_from_db()
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert out_for_delivery.status == Shipment.Status.OUT_FOR_DELIVERY
    assert not CodeEntry.objects.exists()


def test_override_needs_the_confirmation_box(ops_client, out_for_delivery):
    response = _post_override(ops_client, out_for_delivery, confirm=False)

    out_for_delivery.refresh_from_db()
    assert response.status_code == 200
    assert out_for_delivery.status == Shipment.Status.OUT_FOR_DELIVERY


def test_override_page_asks_for_the_reason(ops_client, out_for_delivery):
    response = ops_client.get(_override_url(out_for_delivery))

    content = response.content.decode()
    assert response.status_code == 200
    assert "Why is this parcel handed over without its code?" in content
    assert 'name="reason"' in content


def test_parcel_page_links_to_the_override(ops_client, out_for_delivery):
    response = ops_client.get(reverse("admin:orders_shipment_change", args=[out_for_delivery.pk]))

    assert _override_url(out_for_delivery) in response.content.decode()


def test_parcel_not_yet_out_offers_no_override(ops_client, customer):
    shipment = make_valuable_shipment(customer)

    page = ops_client.get(reverse("admin:orders_shipment_change", args=[shipment.pk]))
    response = _post_override(ops_client, shipment)

    shipment.refresh_from_db()
    assert _override_url(shipment) not in page.content.decode()
    assert response.status_code == 302
    assert shipment.status == Shipment.Status.PROCESSING
    assert not CodeEntry.objects.exists()


def test_override_of_a_parcel_at_a_pickup_point(ops_client, at_pickup_point):
    _post_override(ops_client, at_pickup_point)

    at_pickup_point.refresh_from_db()
    assert at_pickup_point.status == Shipment.Status.DELIVERED


def test_staff_without_change_permission_cannot_override(client, out_for_delivery):
    from tests.factories import UserFactory

    viewer = UserFactory(username="viewer", is_staff=True)
    client.force_login(viewer)

    response = _post_override(client, out_for_delivery)

    out_for_delivery.refresh_from_db()
    assert response.status_code == 403
    assert out_for_delivery.status == Shipment.Status.OUT_FOR_DELIVERY


@pytest.mark.parametrize("who", ["customer", "courier", "anonymous"])
def test_nobody_but_operations_reaches_the_override(client, out_for_delivery, courier, who):
    if who == "customer":
        client.force_login(out_for_delivery.order.customer)
    elif who == "courier":
        client.force_login(courier.user)

    response = _post_override(client, out_for_delivery)

    out_for_delivery.refresh_from_db()
    assert response.status_code == 302
    assert "/admin/login/" in response.url
    assert out_for_delivery.status == Shipment.Status.OUT_FOR_DELIVERY


def test_tracking_page_shows_when_and_by_whom_after_an_override(
    client, ops_client, out_for_delivery, ops, customer
):
    ops.first_name, ops.last_name = "Olga", "Operativa"
    ops.save(update_fields=["first_name", "last_name"])
    _post_override(ops_client, out_for_delivery)
    client.force_login(customer)

    response = client.get(reverse("track", args=[out_for_delivery.tracking_number]))

    content = response.content.decode()
    assert 'data-shipment-status="delivered"' in content
    assert "Handed over on Thursday 26 November 2026, 10:00 by Olga Operativa." in content
    assert "Handed over by operations without the code" in content
    assert REASON not in content


def test_service_refuses_an_override_without_reason(out_for_delivery, ops):
    with pytest.raises(OverrideReasonMissing):
        shipment_hand_over_by_override(
            shipment=out_for_delivery, context=EntryContext(user=ops), reason="  \n "
        )

    assert not CodeEntry.objects.exists()


def test_service_refuses_a_parcel_that_is_not_out(customer, ops):
    shipment = make_valuable_shipment(customer)

    with pytest.raises(IllegalTransition):
        shipment_hand_over_by_override(
            shipment=shipment, context=EntryContext(user=ops), reason=REASON
        )

    assert not CodeEntry.objects.exists()


def test_second_override_records_already_delivered(out_for_delivery, ops):
    context = EntryContext(user=ops)
    shipment_hand_over_by_override(shipment=out_for_delivery, context=context, reason=REASON)

    again = shipment_hand_over_by_override(
        shipment=out_for_delivery, context=context, reason=REASON
    )

    assert again.outcome == CodeEntry.Outcome.ALREADY_DELIVERED
    assert out_for_delivery.events.filter(status=Shipment.Status.DELIVERED).count() == 1


def test_override_releases_a_parcel_held_after_wrong_codes(
    ops_client, out_for_delivery, courier, ops, settings
):
    from codes.models import ParcelHold
    from codes.selectors import parcel_is_held
    from handoff.services import shipment_hand_over_at_door
    from tests.conftest import wrong_code_for

    settings.PARCEL_MAX_WRONG_ATTEMPTS = 2
    for _ in range(2):
        shipment_hand_over_at_door(
            shipment=out_for_delivery,
            raw_code=wrong_code_for(out_for_delivery),
            context=EntryContext(user=courier.user),
        )
    assert parcel_is_held(shipment=out_for_delivery)

    _post_override(ops_client, out_for_delivery)

    out_for_delivery.refresh_from_db()
    assert out_for_delivery.status == Shipment.Status.DELIVERED
    assert ParcelHold.objects.get(shipment=out_for_delivery).released_by == ops
