"""The API documentation page and the sign-in link pages in a real browser: they work under
the strict CSP and pass the same accessibility check as every other page."""

import pytest
from django.core.management import call_command

from orders.models import Shipment
from otpdelivery.signin_links import tracking_signin_url

pytestmark = pytest.mark.django_db(transaction=True)


def _watch_violations(page):
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return violations


def test_api_docs_page_works_under_the_policy_and_is_accessible(
    browser, live_server, screenshot, assert_accessible
):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    violations = _watch_violations(page)
    page.goto(f"{live_server.url}/api/v1/docs")
    screenshot(page, "api-docs")

    assert "otpdelivery retailer API" in page.locator("h1").inner_text()
    assert page.locator("#orders_create").inner_text() == "POST /api/v1/orders"
    assert violations == []
    assert_accessible(page)


def test_sign_in_link_pages_are_accessible(
    browser, live_server, screenshot, assert_accessible, settings
):
    call_command("seed_demo")
    shipment = Shipment.objects.get(order__number__endswith="-1")
    settings.SITE_URL = live_server.url
    page = browser.new_page(viewport={"width": 390, "height": 844})
    violations = _watch_violations(page)

    page.goto(tracking_signin_url(shipment))
    assert_accessible(page)
    screenshot(page, "signin-link")
    page.get_by_role("button", name="Open my parcel").click()
    page.locator(f"[data-tracking-number='{shipment.tracking_number}']").first.wait_for()
    page.goto(f"{live_server.url}/accounts/link/request/")
    assert_accessible(page)
    screenshot(page, "signin-link-request")

    assert violations == []
