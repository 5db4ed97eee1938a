"""The portals as people use them: customer, courier, pickup point and operations, on a phone
and a laptop, in English and Italian, by mouse, by keyboard and without JavaScript.

Every page visited is checked with axe-core (no serious or critical violation) and
photographed at 360 px and 1280 px into the screenshot folder the run prints at the end.
"""

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from couriers.models import PickupPoint
from orders.models import Shipment
from tests.conftest import plain_code, wrong_code_for

from .conftest import PHONE

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(live_server):
    """The demo world of the product sheet, for today."""
    call_command("seed_demo", stdout=io.StringIO())

    def parcel(order_suffix: str) -> Shipment:
        return Shipment.objects.get(order__number__endswith=f"-{order_suffix}")

    return parcel


@pytest.fixture
def open_page(browser):
    """A page in a fresh browser context (its own cookies), closed after the test."""
    contexts = []

    def open_(width: int = PHONE, **options):
        context = browser.new_context(viewport={"width": width, "height": 800}, **options)
        contexts.append(context)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


def _stop(page, live_server, shipment):
    page.goto(f"{live_server.url}/courier/")
    page.locator(f"a[href='/courier/stops/{shipment.tracking_number}/']").click()
    # Wait for the stop page itself: checks run on a page still loading fail at random.
    page.wait_for_url(f"**/courier/stops/{shipment.tracking_number}/")
    page.wait_for_load_state()


def test_customer_sees_the_code_large_with_its_validity_and_warning(
    demo, open_page, live_server, sign_in, screenshots, assert_accessible
):
    parcel = demo("1")
    page = open_page()
    sign_in(page, "alice")
    expect(page.get_by_role("heading", name="Your orders")).to_be_visible()
    assert_accessible(page)
    screenshots(page, "orders")

    page.locator(f"a[href='/track/{parcel.tracking_number}/']").click()

    code = plain_code(parcel)
    expect(page.locator("[data-delivery-code]")).to_have_attribute("data-delivery-code", code)
    expect(page.locator(".code-digits")).to_have_text(f"{code[:3]} {code[3:]}")
    expect(page.get_by_text("Valid until Thursday 26 November 2026, 23:59.")).to_be_visible()
    expect(page.get_by_text("will ever ask you for it by phone")).to_be_visible()
    expect(page.locator("[aria-current=step]")).to_contain_text("Out for delivery")
    assert_accessible(page)
    screenshots(page, "tracking-code")


def test_tracking_page_fits_the_phone_with_a_long_unbroken_name(
    demo, open_page, sign_in, live_server
):
    # Given a parcel bound for a pickup point whose name is one long word (as operations
    # or a retailer may type it)
    parcel = demo("1")
    point = PickupPoint.objects.filter(is_active=True).first()
    PickupPoint.objects.filter(pk=point.pk).update(name="EdicolaCentraleDellaStazione" * 3)
    Shipment.objects.filter(pk=parcel.pk).update(pickup_point=point)
    page = open_page()
    sign_in(page, "alice")

    # When its customer opens Track my package at 360 px
    page.goto(f"{live_server.url}/track/{parcel.tracking_number}/")

    # Then the name wraps: the page does not scroll sideways
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0


def test_code_is_read_digit_by_digit_by_screen_readers(demo, open_page, sign_in, live_server):
    parcel = demo("1")
    page = open_page()
    sign_in(page, "alice")

    page.goto(f"{live_server.url}/track/{parcel.tracking_number}/")

    code = plain_code(parcel)
    spoken = page.locator("[data-delivery-code] .visually-hidden").inner_text()
    assert spoken.split() == list(code)
    expect(page.locator(".code-digits")).to_have_attribute("aria-hidden", "true")


def test_customer_copies_the_tracking_number_with_one_click(demo, open_page, sign_in, live_server):
    parcel = demo("1")
    page = open_page(permissions=["clipboard-read", "clipboard-write"])
    sign_in(page, "alice")
    page.goto(f"{live_server.url}/track/{parcel.tracking_number}/")

    page.get_by_role("button", name="Copy tracking number").click()

    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("() => navigator.clipboard.readText()") == parcel.tracking_number


def test_courier_enters_a_wrong_then_the_right_code(
    demo, open_page, live_server, sign_in, screenshots, assert_accessible
):
    parcel = demo("1")
    page = open_page()
    sign_in(page, "marco")
    expect(page.get_by_role("heading", name="Today's deliveries")).to_be_visible()
    assert_accessible(page)
    screenshots(page, "courier-list")
    _stop(page, live_server, parcel)
    assert_accessible(page)
    screenshots(page, "stop-before")

    code_input = page.get_by_label("Delivery code")
    code_input.fill(wrong_code_for(parcel))
    page.get_by_role("button", name="Confirm delivery").click()

    expect(page.locator("#id_code_error")).to_contain_text("Wrong code. 4 tries left")
    expect(code_input).to_be_focused()
    expect(code_input).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)
    screenshots(page, "stop-wrong-code")

    code = plain_code(parcel)
    code_input.fill(f"{code[:3]} {code[3:]}")
    page.get_by_role("button", name="Confirm delivery").click()

    expect(page.locator(".state-success")).to_contain_text("Delivered")
    assert_accessible(page)
    screenshots(page, "stop-delivered")
    parcel.refresh_from_db()
    assert parcel.status == Shipment.Status.DELIVERED


def test_failed_attempt_reschedules_the_parcel_with_a_new_code(
    demo, open_page, live_server, sign_in, screenshots, assert_accessible
):
    parcel = demo("1")
    old_code = plain_code(parcel)
    courier = open_page()
    sign_in(courier, "marco")
    _stop(courier, live_server, parcel)

    courier.get_by_label("Customer not at home").check()
    courier.get_by_role("button", name="Record failed attempt").click()

    recorded = courier.get_by_text(f"Failed attempt recorded for {parcel.tracking_number}")
    expect(recorded).to_be_visible()
    assert_accessible(courier)
    screenshots(courier, "courier-after-failed-attempt")

    customer = open_page()
    sign_in(customer, "alice")
    customer.goto(f"{live_server.url}/track/{parcel.tracking_number}/")
    expect(customer.locator(".delivery-day")).to_contain_text("Friday 27 November 2026")
    expect(customer.locator(".timeline")).to_contain_text("Customer not at home")
    new_code = customer.locator("[data-delivery-code]").get_attribute("data-delivery-code")
    assert new_code != old_code
    assert_accessible(customer)
    screenshots(customer, "tracking-rescheduled")


def test_pickup_operator_releases_a_parcel_against_its_code(
    demo, open_page, live_server, sign_in, screenshots, assert_accessible
):
    parcel = demo("5")
    page = open_page()
    sign_in(page, "edicola")
    expect(page.get_by_role("heading", name="Edicola Centrale")).to_be_visible()
    expect(page.locator(f"[data-tracking-number='{parcel.tracking_number}']")).to_be_visible()
    assert_accessible(page)
    screenshots(page, "pickup")

    page.get_by_label("Delivery code").fill(plain_code(parcel))
    page.get_by_role("button", name="Release parcel").click()

    expect(page.get_by_role("heading", name="Hand over this parcel")).to_be_visible()
    assert_accessible(page)
    screenshots(page, "pickup-released")
    parcel.refresh_from_db()
    assert parcel.status == Shipment.Status.DELIVERED


def test_italian_browser_gets_italian_pages_throughout(
    demo, open_page, live_server, screenshots, assert_accessible
):
    parcel = demo("1")
    page = open_page(locale="it-IT")
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("heading", name="Accedi")).to_be_visible()
    assert_accessible(page)
    screenshots(page, "italian-sign-in")

    page.get_by_label("Nome utente").fill("alice")
    page.get_by_label("Password").fill("alice-demo-pass")
    page.get_by_role("button", name="Accedi").click()
    expect(page.get_by_role("heading", name="I tuoi ordini")).to_be_visible()
    page.locator(f"a[href='/track/{parcel.tracking_number}/']").click()

    expect(page.get_by_role("heading", name="Il tuo codice di consegna")).to_be_visible()
    expect(page.get_by_text("Valido fino a giovedì 26 novembre 2026, 23:59.")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "it")
    assert_accessible(page)
    screenshots(page, "italian-tracking")


def test_italian_courier_sees_the_stop_in_italian(
    demo, open_page, live_server, screenshots, assert_accessible
):
    parcel = demo("1")
    page = open_page(locale="it-IT")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Nome utente").fill("marco")
    page.get_by_label("Password").fill("marco-demo-pass")
    page.get_by_role("button", name="Accedi").click()
    expect(page.get_by_role("heading", name="Consegne di oggi")).to_be_visible()
    _stop(page, live_server, parcel)

    page.get_by_label("Codice di consegna").fill("12a")
    page.get_by_role("button", name="Conferma consegna").click()

    expect(page.locator("#id_code_error")).to_contain_text("sei cifre")
    assert_accessible(page)
    screenshots(page, "italian-stop-error")


def test_language_switcher_changes_the_language_and_keeps_the_page(
    demo, open_page, live_server, sign_in
):
    page = open_page()
    sign_in(page, "alice")

    page.get_by_role("button", name="Italiano").click()

    expect(page.get_by_role("heading", name="I tuoi ordini")).to_be_visible()
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Your orders")).to_be_visible()


def test_courier_delivers_without_javascript(demo, open_page, live_server, sign_in):
    parcel = demo("1")
    page = open_page(java_script_enabled=False)
    sign_in(page, "marco")
    _stop(page, live_server, parcel)

    page.get_by_label("Delivery code").fill(wrong_code_for(parcel))
    page.get_by_role("button", name="Confirm delivery").click()
    expect(page.locator("#id_code_error")).to_contain_text("Wrong code")
    page.get_by_label("Delivery code").fill(plain_code(parcel))
    page.get_by_role("button", name="Confirm delivery").click()

    expect(page.locator(".state-success")).to_contain_text("Delivered")
    parcel.refresh_from_db()
    assert parcel.status == Shipment.Status.DELIVERED


def test_pickup_operator_releases_a_parcel_without_javascript(demo, open_page, sign_in):
    parcel = demo("5")
    page = open_page(java_script_enabled=False)
    sign_in(page, "edicola")

    page.get_by_label("Delivery code").fill(plain_code(parcel))
    page.get_by_role("button", name="Release parcel").click()

    expect(page.get_by_role("heading", name="Hand over this parcel")).to_be_visible()
    parcel.refresh_from_db()
    assert parcel.status == Shipment.Status.DELIVERED


def test_tracking_page_works_without_javascript_and_hides_the_copy_button(
    demo, open_page, live_server, sign_in
):
    parcel = demo("1")
    page = open_page(java_script_enabled=False)
    sign_in(page, "alice")

    page.goto(f"{live_server.url}/track/{parcel.tracking_number}/")

    expect(page.locator(".code-digits")).to_be_visible()
    expect(page.get_by_role("button", name="Copy tracking number")).to_be_hidden()


def _tab_to(page, selector: str, limit: int = 25) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"could not reach {selector} with the Tab key")


def test_courier_delivers_with_the_keyboard_alone(demo, open_page, live_server):
    parcel = demo("1")
    page = open_page()
    page.goto(f"{live_server.url}/accounts/login/")
    _tab_to(page, "input[name=username]")
    page.keyboard.type("marco")
    page.keyboard.press("Tab")
    page.keyboard.type("marco-demo-pass")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Today's deliveries")).to_be_visible()

    _tab_to(page, f"a[href='/courier/stops/{parcel.tracking_number}/']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/courier/stops/{parcel.tracking_number}/")
    _tab_to(page, "input[name=code]")
    page.keyboard.type(plain_code(parcel))
    page.keyboard.press("Enter")

    expect(page.locator(".state-success")).to_contain_text("Delivered")


def test_skip_link_is_the_first_stop_of_the_keyboard_and_visible(demo, open_page, sign_in):
    page = open_page()
    sign_in(page, "marco")
    expect(page.get_by_role("heading", name="Today's deliveries")).to_be_visible()

    page.keyboard.press("Tab")

    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()


@pytest.mark.parametrize("path", ["/accounts/login/", "/no-such-page/"])
def test_public_pages_have_no_serious_accessibility_violation(
    demo, open_page, live_server, screenshots, assert_accessible, path
):
    page = open_page()

    page.goto(f"{live_server.url}{path}")

    assert_accessible(page)
    screenshots(page, path.strip("/").replace("/", "-"))


def test_operations_admin_lists_parcels_with_mark_as_shipped(
    demo, open_page, live_server, screenshots, assert_accessible
):
    page = open_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("admin-demo-pass")
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{live_server.url}/admin/orders/shipment/")

    expect(page.get_by_role("option", name="Mark as shipped")).to_be_attached()
    assert_accessible(page)
    screenshots(page, "admin-shipments")


# Every page each person can reach in the demo world, by order suffix where it names a parcel.
PAGES_BY_PERSON = {
    "alice": ["/orders/", "/track/{p1}/", "/track/{p2}/", "/track/{p3}/", "/track/{p4}/"],
    "bruno": ["/orders/", "/track/{p5}/"],
    "marco": ["/courier/", "/courier/stops/{p1}/", "/courier/stops/{p2}/"],
    "edicola": ["/pickup/"],
    "admin": [
        "/admin/",
        "/admin/orders/shipment/",
        "/admin/orders/shipment/{id1}/change/",
        "/admin/codes/codeentry/",
    ],
}


@pytest.mark.parametrize("person", list(PAGES_BY_PERSON))
def test_every_page_has_no_serious_accessibility_violation(
    demo, open_page, live_server, sign_in, assert_accessible, person
):
    parcels = {suffix: demo(suffix) for suffix in "12345"}
    names = {f"p{suffix}": parcel.tracking_number for suffix, parcel in parcels.items()}
    names["id1"] = parcels["1"].pk
    page = open_page()
    if person == "admin":
        page.goto(f"{live_server.url}/admin/login/")
        page.locator("input[name=username]").fill("admin")
        page.locator("input[name=password]").fill("admin-demo-pass")
        page.locator("input[type=submit]").click()
    else:
        sign_in(page, person)
    page.wait_for_load_state()

    for language in ("en", "it"):
        # The language cookie is what the switcher sets; the admin has no switcher of its own.
        page.context.add_cookies(
            [{"name": "django_language", "value": language, "url": live_server.url}]
        )
        for path in PAGES_BY_PERSON[person]:
            response = page.goto(f"{live_server.url}{path.format(**names)}")
            assert response.status == 200, path
            expect(page.locator("html")).to_have_attribute("lang", language)
            assert_accessible(page)
