"""The whole secure delivery, as the customer and the courier click through it."""

import pytest
from django.core.management import call_command

from orders.models import Shipment

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(live_server):
    call_command("seed_demo")
    return Shipment.objects.get(order__number__endswith="-1")


def test_customer_reads_the_code_courier_enters_it_customer_sees_delivered(
    demo, browser, live_server, sign_in, screenshot
):
    tracking = demo.tracking_number
    alice = browser.new_page(viewport={"width": 390, "height": 844})
    sign_in(alice, "alice")
    alice.get_by_role("link", name="Track my package").and_(
        alice.locator(f"a[href='/track/{tracking}/']")
    ).click()
    code = alice.locator("[data-delivery-code]").get_attribute("data-delivery-code")
    assert alice.locator("[data-shipment-status]").get_attribute("data-shipment-status") == (
        "out_for_delivery"
    )
    screenshot(alice, "1-customer-code")

    marco = browser.new_context(viewport={"width": 360, "height": 780}).new_page()
    sign_in(marco, "marco")
    assert marco.get_by_role("heading", name="Today's deliveries").is_visible()
    marco.locator(f"a[href='/courier/stops/{tracking}/']").click()
    assert code not in marco.content()
    marco.get_by_label("Delivery code").fill(f"{code[:3]} {code[3:]}")
    screenshot(marco, "2-courier-stop")
    marco.get_by_role("button", name="Confirm delivery").click()
    assert marco.locator(".state-success").is_visible()
    screenshot(marco, "3-courier-delivered")

    alice.reload()
    assert alice.locator("[data-shipment-status]").get_attribute("data-shipment-status") == (
        "delivered"
    )
    assert alice.locator("[data-delivery-code]").count() == 0
    screenshot(alice, "4-customer-delivered")
