"""Times in the admin: the delivery time zone, 24-hour, in the admin user's language."""

import pytest
from django.urls import reverse

from codes.models import DeliveryCode

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


def test_code_valid_until_reads_as_the_customer_sees_it(ops_client, out_for_delivery):
    code = DeliveryCode.objects.get(shipment=out_for_delivery)

    response = ops_client.get(reverse("admin:codes_deliverycode_change", args=[code.pk]))

    assert "26 November 2026, 23:59" in response.text
    assert "midnight" not in response.text


def test_admin_times_are_in_the_delivery_time_zone_whatever_the_server_zone(
    ops_client, out_for_delivery, settings
):
    settings.TIME_ZONE = "UTC"

    response = ops_client.get(reverse("admin:orders_shipment_change", args=[out_for_delivery.pk]))

    # The frozen clock is 10:00 in Rome (09:00 UTC): the events read 10:00.
    assert "26 November 2026, 10:00" in response.text
    assert "09:00" not in response.text
    assert "a.m." not in response.text


def test_admin_dates_follow_the_admin_users_language(ops_client, out_for_delivery):
    code = DeliveryCode.objects.get(shipment=out_for_delivery)

    response = ops_client.get(
        reverse("admin:codes_deliverycode_change", args=[code.pk]),
        headers={"accept-language": "it"},
    )

    assert "giovedì 26 novembre 2026 23:59" in response.text
