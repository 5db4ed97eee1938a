"""The customer portal over HTTP: Your orders and Track my package."""

import pytest
from django.urls import reverse

from codes.services import EntryContext
from handoff.services import shipment_hand_over_at_door
from tests.conftest import plain_code
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer_client(client, customer):
    client.force_login(customer)
    return client


def _track_url(shipment):
    return reverse("track", args=[shipment.tracking_number])


def test_customer_lands_on_your_orders(customer_client):
    response = customer_client.get("/", follow=True)

    assert "Your orders" in response.content.decode()


def test_each_parcel_has_a_track_my_package_link(customer_client, out_for_delivery):
    response = customer_client.get(reverse("order_list"))

    content = response.content.decode()
    assert "Track my package" in content
    assert _track_url(out_for_delivery) in content


def test_tracking_page_shows_the_code_grouped_with_its_validity(customer_client, out_for_delivery):
    code = plain_code(out_for_delivery)

    response = customer_client.get(_track_url(out_for_delivery))

    content = response.content.decode()
    assert f'data-delivery-code="{code}"' in content
    assert f"{code[:3]} {code[3:]}" in content
    assert "Valid until Thursday 26 November 2026, 23:59" in content
    assert f'data-tracking-number="{out_for_delivery.tracking_number}"' in content
    assert 'data-shipment-status="out_for_delivery"' in content


def test_tracking_page_warns_never_to_give_the_code_by_phone(customer_client, out_for_delivery):
    response = customer_client.get(_track_url(out_for_delivery))

    assert "will ever ask you for it by phone" in response.content.decode()


def test_tracking_page_shows_no_code_after_delivery(customer_client, out_for_delivery, courier):
    code = plain_code(out_for_delivery)
    shipment_hand_over_at_door(
        shipment=out_for_delivery, raw_code=code, context=EntryContext(user=courier.user)
    )

    response = customer_client.get(_track_url(out_for_delivery))

    content = response.content.decode()
    assert code not in content
    assert 'data-shipment-status="delivered"' in content
    assert "Handed over on" in content
    assert "Marco" in content


def test_tracking_page_shows_no_code_once_the_day_is_over(
    customer_client, out_for_delivery, time_machine, frozen_now
):
    code = plain_code(out_for_delivery)
    time_machine.move_to(frozen_now.replace(hour=23, minute=59, second=59), tick=False)
    assert code in customer_client.get(_track_url(out_for_delivery)).content.decode()

    time_machine.move_to(frozen_now.replace(day=27, hour=0, minute=0, second=0), tick=False)

    assert code not in customer_client.get(_track_url(out_for_delivery)).content.decode()


def test_another_customers_parcel_is_404(client, out_for_delivery):
    client.force_login(UserFactory())

    assert client.get(_track_url(out_for_delivery)).status_code == 404


def test_unknown_tracking_number_is_404(customer_client):
    assert customer_client.get(reverse("track", args=["ODNOSUCHPARCEL"])).status_code == 404


def test_anonymous_visitor_is_sent_to_sign_in(client, out_for_delivery):
    response = client.get(_track_url(out_for_delivery))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_your_orders_shows_only_own_orders(client, out_for_delivery):
    client.force_login(UserFactory())

    response = client.get(reverse("order_list"))

    assert out_for_delivery.tracking_number not in response.content.decode()
