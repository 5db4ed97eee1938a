"""The strict Content-Security-Policy, as a real browser enforces it: the site and the
Django admin work and the browser reports no violation."""

import pytest
from django.core.management import call_command

from orders.models import Shipment

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(live_server):
    call_command("seed_demo")
    return Shipment.objects.get(order__number__endswith="-1")


def _watch_violations(page):
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return violations


def test_admin_works_under_the_policy(demo, browser, live_server, sign_in, screenshot):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    violations = _watch_violations(page)
    sign_in(page, "admin")

    page.goto(f"{live_server.url}/admin/orders/shipment/")
    # The changelist's JavaScript (select all, actions bar) runs under the policy.
    page.locator("#action-toggle").check()
    parcels = Shipment.objects.count()
    assert page.locator(".action-counter").inner_text() == f"{parcels} of {parcels} selected"
    page.goto(f"{live_server.url}/admin/orders/shipment/{demo.pk}/change/")
    # The admin's stylesheet applies: its header is styled, not bare HTML.
    header_colour = page.locator("#header").evaluate("e => getComputedStyle(e).backgroundColor")
    screenshot(page, "admin-shipment")

    assert header_colour != "rgba(0, 0, 0, 0)"
    assert violations == []


def test_courier_and_customer_pages_work_under_the_policy(
    demo, browser, live_server, sign_in, screenshot
):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    violations = _watch_violations(page)
    sign_in(page, "marco")
    # The courier's first page, compressed, carries the site stylesheet inline under the
    # response's nonce (otpdelivery.stylesheet); the next one links it.
    inlined = page.locator("style[nonce]").count()
    inline_colour = _header_colour(page)
    page.locator(f"a[href='/courier/stops/{demo.tracking_number}/']").click()
    screenshot(page, "courier-stop")
    customer = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    violations += _watch_violations(customer)
    sign_in(customer, "alice")
    customer.goto(f"{live_server.url}/track/{demo.tracking_number}/")
    screenshot(customer, "track")

    assert inlined == 1
    assert page.locator("style").count() == 0
    assert page.locator("link[rel=stylesheet]").count() == 1
    assert inline_colour == _header_colour(page) == "rgb(11, 92, 173)"
    assert page.locator("label", has_text="Delivery code").is_visible()
    assert violations == []


def _header_colour(page) -> str:
    return page.locator(".site-header").evaluate("e => getComputedStyle(e).backgroundColor")
