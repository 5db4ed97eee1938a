"""Operations' shipment list at 1280 px: every column in view, no sideways scrolling."""

import io

import pytest
from django.core.management import call_command

from alerts.models import Alert
from alerts.services import alert_open
from orders.models import Shipment

from .conftest import DESKTOP

pytestmark = pytest.mark.django_db(transaction=True)

COLUMNS = [
    "Tracking number",
    "Customer",
    "Order",
    "Status",
    "Delivery day",
    "Requires a delivery code",
    "Pickup point",
    "Open alerts",
]


@pytest.fixture
def admin_page(live_server, browser):
    call_command("seed_demo", stdout=io.StringIO())
    context = browser.new_context(viewport={"width": DESKTOP, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("admin-demo-pass")
    page.get_by_role("button", name="Log in").click()
    yield page
    context.close()


def test_shipment_list_shows_every_column_at_1280_px_without_scrolling_sideways(
    admin_page, live_server, screenshot, assert_accessible
):
    parcel = Shipment.objects.get(order__number__endswith="-1")
    alert_open(kind=Alert.Kind.CODE_LOCKED, shipment=parcel)

    admin_page.goto(f"{live_server.url}/admin/orders/shipment/")
    screenshot(admin_page, "shipment-list-1280")

    overflow = admin_page.evaluate(
        """() => [document.documentElement, document.querySelector('#changelist .results')]
            .map(box => box.scrollWidth - box.clientWidth)"""
    )
    assert overflow == [0, 0]
    results = admin_page.locator("#changelist .results").bounding_box()
    for column in COLUMNS:
        header = admin_page.locator("#result_list thead th", has_text=column).first
        box = header.bounding_box()
        assert box is not None, column
        assert box["x"] >= results["x"], column
        assert box["x"] + box["width"] <= min(DESKTOP, results["x"] + results["width"]), column
    assert admin_page.locator('[data-alert-kind="code_locked"]').is_visible()
    assert_accessible(admin_page)
