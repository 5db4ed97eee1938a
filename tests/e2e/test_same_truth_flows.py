"""Rule 15 in the browser on a 360 px phone: the locked stop and the redirect after a failed
attempt, as the courier and the customer see them (screenshots to look at)."""

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from orders.models import Shipment
from tests.conftest import wrong_code_for

from .conftest import PHONE

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alices_parcel(live_server):
    call_command("seed_demo", stdout=io.StringIO())
    return Shipment.objects.get(order__number__endswith="-1")


@pytest.fixture
def phone(browser):
    contexts = []

    def open_():
        context = browser.new_context(viewport={"width": PHONE, "height": 780})
        contexts.append(context)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


def test_locked_stop_shows_why_and_offers_only_the_failed_attempt(
    alices_parcel, phone, live_server, sign_in, screenshot, assert_accessible
):
    marco = phone()
    sign_in(marco, "marco")
    marco.goto(f"{live_server.url}/courier/stops/{alices_parcel.tracking_number}/")

    for _ in range(5):
        marco.get_by_label("Delivery code").fill(wrong_code_for(alices_parcel))
        marco.get_by_role("button", name="Confirm delivery").click()

    expect(marco.get_by_role("alert")).to_contain_text("this parcel is locked")
    expect(marco.get_by_label("Delivery code")).to_have_count(0)
    expect(marco.get_by_role("button", name="Confirm delivery")).to_have_count(0)
    expect(marco.get_by_role("button", name="Record failed attempt")).to_be_visible()
    screenshot(marco, "locked-stop-360")
    assert_accessible(marco)

    # Today's deliveries says the same as the stop page.
    marco.goto(f"{live_server.url}/courier/")
    stop = marco.locator("li.stop", has_text=alices_parcel.tracking_number)
    expect(stop).to_contain_text("Code locked")
    screenshot(marco, "locked-stop-on-the-day-360")
    assert_accessible(marco)


def test_redirect_after_a_failed_attempt_is_on_its_way_not_a_second_failure(
    alices_parcel, phone, live_server, sign_in, screenshot, assert_accessible
):
    tracking = alices_parcel.tracking_number
    marco = phone()
    sign_in(marco, "marco")
    marco.goto(f"{live_server.url}/courier/stops/{tracking}/")
    marco.get_by_label("Customer not at home").check()
    marco.get_by_role("button", name="Record failed attempt").click()
    expect(marco.get_by_role("heading", name="Today's deliveries")).to_be_visible()

    alice = phone()
    sign_in(alice, "alice")
    alice.goto(f"{live_server.url}/track/{tracking}/")
    expect(alice.locator("[data-shipment-status]")).to_have_attribute(
        "data-shipment-status", "delivery_failed"
    )
    screenshot(alice, "1-failed-attempt-360")
    alice.get_by_label("Edicola Centrale").check()
    alice.get_by_role("button", name="Send it to this pickup point").click()

    expect(alice.locator("[data-shipment-status]")).to_have_attribute(
        "data-shipment-status", "shipped"
    )
    expect(alice.locator(".on-its-way")).to_have_text("On its way to Edicola Centrale")
    expect(alice.locator(".timeline-item.timeline-delivery_failed")).to_have_count(1)
    expect(alice.get_by_text("(needs attention)")).to_have_count(0)
    screenshot(alice, "2-redirected-360")
    assert_accessible(alice)

    marco.reload()
    first_stop = marco.locator(".stop").first
    expect(first_stop).to_contain_text("Alice Rossi")
    expect(first_stop).not_to_contain_text("Edicola Centrale")
    expect(first_stop.locator("[data-stop-outcome=failed]")).to_be_visible()
    screenshot(marco, "3-courier-day-360")
