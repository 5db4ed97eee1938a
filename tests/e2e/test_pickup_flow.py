"""Collecting a parcel at a pickup point, as the customer and the operator click through it."""

import pytest
from django.core.management import call_command

from orders.models import Shipment
from tests.conftest import wrong_code_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def waiting_at_edicola(live_server):
    call_command("seed_demo")
    return Shipment.objects.get(order__number__endswith="-5")


def test_customer_tells_the_code_operator_releases_customer_sees_delivered(
    waiting_at_edicola, browser, live_server, sign_in, screenshot
):
    tracking = waiting_at_edicola.tracking_number
    bruno = browser.new_page(viewport={"width": 390, "height": 844})
    sign_in(bruno, "bruno")
    bruno.locator(f"a[href='/track/{tracking}/']").click()
    code = bruno.locator("[data-delivery-code]").get_attribute("data-delivery-code")
    assert bruno.locator("[data-shipment-status]").get_attribute("data-shipment-status") == (
        "at_pickup_point"
    )
    assert bruno.get_by_text("Edicola Centrale").first.is_visible()
    screenshot(bruno, "1-customer-code")

    edicola = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    sign_in(edicola, "edicola")
    assert edicola.get_by_role("heading", name="Edicola Centrale").is_visible()
    assert edicola.locator(f"[data-tracking-number='{tracking}']").is_visible()
    assert code not in edicola.content()
    edicola.get_by_label("Delivery code").fill(f"{code[:3]} {code[3:]}")
    screenshot(edicola, "2-operator-point")
    edicola.get_by_role("button", name="Release parcel").click()
    assert edicola.get_by_role("heading", name="Hand over this parcel").is_visible()
    assert edicola.locator(f"[data-tracking-number='{tracking}']").is_visible()
    screenshot(edicola, "3-operator-released")

    bruno.reload()
    assert bruno.locator("[data-shipment-status]").get_attribute("data-shipment-status") == (
        "delivered"
    )
    assert bruno.locator("[data-delivery-code]").count() == 0
    assert bruno.get_by_text("Collected at Edicola Centrale").is_visible()
    screenshot(bruno, "4-customer-delivered")


def test_operator_on_a_phone_is_told_a_wrong_code_and_releases_nothing(
    waiting_at_edicola, browser, live_server, sign_in, screenshot
):
    wrong = wrong_code_for(waiting_at_edicola)
    edicola = browser.new_page(viewport={"width": 360, "height": 780})
    sign_in(edicola, "edicola")

    edicola.get_by_label("Delivery code").fill(f"{wrong[:3]} {wrong[3:]}")
    edicola.get_by_role("button", name="Release parcel").click()

    assert edicola.get_by_text("No parcel waiting here has this code").is_visible()
    screenshot(edicola, "wrong-code-phone")
    waiting_at_edicola.refresh_from_db()
    assert waiting_at_edicola.status == Shipment.Status.AT_PICKUP_POINT
