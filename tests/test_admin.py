"""Operations in the admin: shipping, and never a code on any page (rule 9)."""

import pytest
from django.contrib.admin.sites import site
from django.core import mail
from django.urls import reverse

from codes.models import CodeEntry, DeliveryCode
from codes.services import EntryContext
from handoff.services import shipment_hand_over_at_door
from orders.models import Shipment
from tests.conftest import make_valuable_shipment, plain_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


def _pages_about(shipment, code):
    entry = CodeEntry.objects.filter(shipment=shipment).first()
    urls = [
        reverse("admin:orders_shipment_changelist"),
        reverse("admin:orders_shipment_changelist") + f"?q={shipment.tracking_number}",
        reverse("admin:orders_shipment_change", args=[shipment.pk]),
        reverse("admin:orders_order_change", args=[shipment.order.pk]),
        reverse("admin:codes_deliverycode_changelist"),
        reverse("admin:codes_deliverycode_change", args=[code.pk]),
        reverse("admin:codes_codeentry_changelist"),
    ]
    if entry:
        urls.append(reverse("admin:codes_codeentry_change", args=[entry.pk]))
    return urls


def test_mark_as_shipped_action_ships_and_emails_the_code(
    ops_client, customer, django_capture_on_commit_callbacks
):
    shipment = make_valuable_shipment(customer)

    with django_capture_on_commit_callbacks(execute=True):
        response = ops_client.post(
            reverse("admin:orders_shipment_changelist"),
            {"action": "mark_as_shipped", "_selected_action": [shipment.pk]},
            follow=True,
        )

    shipment.refresh_from_db()
    assert response.status_code == 200
    assert shipment.status == Shipment.Status.SHIPPED
    assert len(mail.outbox) == 1


def test_mark_as_shipped_is_offered_by_that_name(ops_client, customer):
    make_valuable_shipment(customer)

    response = ops_client.get(reverse("admin:orders_shipment_changelist"))

    assert "Mark as shipped" in response.content.decode()


def test_no_admin_page_shows_the_code(ops_client, out_for_delivery, courier):
    digits = plain_code(out_for_delivery)
    shipment_hand_over_at_door(
        shipment=out_for_delivery, raw_code="12a456", context=EntryContext(user=courier.user)
    )
    code = DeliveryCode.objects.get(shipment=out_for_delivery)

    for url in _pages_about(out_for_delivery, code):
        response = ops_client.get(url)
        assert response.status_code == 200, url
        content = response.content.decode()
        assert digits not in content, url
        assert f"{digits[:3]} {digits[3:]}" not in content, url
        assert code.code_hash not in content, url
        assert code.code_encrypted not in content, url


def test_searching_the_admin_for_a_code_finds_nothing(ops_client, out_for_delivery):
    digits = plain_code(out_for_delivery)

    response = ops_client.get(reverse("admin:codes_deliverycode_changelist") + f"?q={digits}")

    assert "0 delivery codes" in response.content.decode()


def test_codes_and_entries_are_read_only_in_the_admin(rf, ops):
    request = rf.get("/")
    request.user = ops
    for model in (DeliveryCode, CodeEntry):
        model_admin = site._registry[model]
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)


def test_every_admin_changelist_renders(ops_client, out_for_delivery):
    for model in site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert ops_client.get(url).status_code == 200, url
