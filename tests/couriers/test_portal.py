"""The courier portal over HTTP: today's stops, code entry, failed attempts, access."""

import datetime

import pytest
from django.urls import reverse

from codes.models import CodeEntry, DeliveryCode
from couriers.models import DeliveryAttempt
from handoff.services import (
    shipment_add_to_route,
    shipment_mark_out_for_delivery,
    shipment_mark_shipped,
    shipment_move_to_route,
)
from orders.models import Shipment
from tests.conftest import TODAY, make_valuable_shipment, plain_code, stop_url, wrong_code_for
from tests.factories import CourierFactory, RouteFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_courier_lands_on_todays_deliveries(courier_client):
    response = courier_client.get("/")

    assert response.status_code == 302
    assert response.url == reverse("courier_today")


def test_todays_deliveries_lists_stops_in_order(
    courier_client, out_for_delivery, cheap_out_for_delivery
):
    response = courier_client.get(reverse("courier_today"))

    content = response.content.decode()
    assert "Today&#x27;s deliveries" in content or "Today's deliveries" in content
    first = content.index(out_for_delivery.tracking_number)
    second = content.index(cheap_out_for_delivery.tracking_number)
    assert first < second


def test_todays_deliveries_shows_only_todays_route(courier_client, courier, customer, ops):
    tomorrow = make_valuable_shipment(customer)
    shipment_mark_shipped(shipment=tomorrow, actor=ops)
    shipment_add_to_route(
        route=RouteFactory(courier=courier, day=TODAY + datetime.timedelta(days=1)),
        shipment=tomorrow,
    )

    response = courier_client.get(reverse("courier_today"))

    assert tomorrow.tracking_number not in response.content.decode()


def test_stop_page_has_the_code_form_as_the_contract_says(courier_client, out_for_delivery):
    response = courier_client.get(stop_url(out_for_delivery))

    content = response.content.decode()
    assert ">Delivery code</label>" in content
    assert "Confirm delivery" in content
    assert 'inputmode="numeric"' in content
    assert 'autocomplete="off"' in content
    assert f'data-tracking-number="{out_for_delivery.tracking_number}"' in content


def test_stop_page_never_contains_the_code(courier_client, out_for_delivery):
    code = plain_code(out_for_delivery)

    response = courier_client.get(stop_url(out_for_delivery))

    content = response.content.decode()
    assert code not in content
    assert f"{code[:3]} {code[3:]}" not in content


def test_right_code_shows_a_clear_confirmation(courier_client, out_for_delivery):
    response = courier_client.post(
        stop_url(out_for_delivery), {"code": plain_code(out_for_delivery)}, follow=True
    )

    out_for_delivery.refresh_from_db()
    assert out_for_delivery.status == Shipment.Status.DELIVERED
    assert "state-success" in response.content.decode()
    assert "Delivered" in response.content.decode()


def test_right_code_is_answered_with_the_confirmation_not_a_redirect(
    courier_client, out_for_delivery
):
    # When the courier enters the right code
    response = courier_client.post(
        stop_url(out_for_delivery), {"code": plain_code(out_for_delivery)}
    )

    # Then the answer is the confirmation itself: no second round trip on a slow network
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="outcome-title"' in page
    assert "Delivered. The parcel has been handed over." in page
    assert 'name="code"' not in page


def test_sending_the_right_code_again_shows_the_same_confirmation_and_delivers_once(
    courier_client, out_for_delivery
):
    # Given a parcel just delivered with its right code
    right = plain_code(out_for_delivery)
    courier_client.post(stop_url(out_for_delivery), {"code": right})

    # When the same POST arrives again (a double tap, or the browser resubmitting it)
    response = courier_client.post(stop_url(out_for_delivery), {"code": right})

    # Then the courier sees the confirmation again, and nothing more was written
    assert response.status_code == 200
    assert 'id="outcome-title"' in response.content.decode()
    assert CodeEntry.objects.filter(shipment=out_for_delivery).count() == 1
    assert out_for_delivery.events.filter(status=Shipment.Status.DELIVERED).count() == 1


def test_stop_page_is_compressed_for_a_browser_that_accepts_it(courier_client, out_for_delivery):
    response = courier_client.get(stop_url(out_for_delivery), HTTP_ACCEPT_ENCODING="gzip")

    assert response.headers["Content-Encoding"] == "gzip"


def test_wrong_code_shows_tries_left(courier_client, out_for_delivery):
    response = courier_client.post(
        stop_url(out_for_delivery), {"code": wrong_code_for(out_for_delivery)}
    )

    assert response.status_code == 200
    assert "Wrong code. 4 tries left" in response.content.decode()


def test_malformed_code_shows_a_validation_error_and_is_not_counted(
    courier_client, out_for_delivery
):
    response = courier_client.post(stop_url(out_for_delivery), {"code": "12a456"})

    out_for_delivery.refresh_from_db()
    assert "exactly six digits" in response.content.decode()
    assert out_for_delivery.wrong_code_entries == 0


def test_locked_parcel_accepts_no_further_entry(courier_client, out_for_delivery):
    right, wrong = plain_code(out_for_delivery), wrong_code_for(out_for_delivery)
    for _ in range(5):
        courier_client.post(stop_url(out_for_delivery), {"code": wrong})

    response = courier_client.post(stop_url(out_for_delivery), {"code": right})

    out_for_delivery.refresh_from_db()
    assert "locked" in response.content.decode()
    assert out_for_delivery.status == Shipment.Status.OUT_FOR_DELIVERY


def test_client_address_is_recorded(courier_client, out_for_delivery):
    courier_client.post(stop_url(out_for_delivery), {"code": "12a456"}, REMOTE_ADDR="192.0.2.44")

    assert CodeEntry.objects.get().client_ip == "192.0.2.44"


def test_parcel_without_code_is_confirmed_without_one(courier_client, cheap_out_for_delivery):
    response = courier_client.post(stop_url(cheap_out_for_delivery), {}, follow=True)

    cheap_out_for_delivery.refresh_from_db()
    assert cheap_out_for_delivery.status == Shipment.Status.DELIVERED
    assert "Delivery code" not in response.content.decode()
    assert CodeEntry.objects.get().outcome == CodeEntry.Outcome.NO_CODE_NEEDED


def test_failed_attempt_reschedules_with_a_new_code(courier_client, out_for_delivery):
    old_code = DeliveryCode.objects.get(shipment=out_for_delivery)

    response = courier_client.post(
        reverse("courier_stop_failed", args=[out_for_delivery.tracking_number]),
        {"reason": DeliveryAttempt.Reason.NOT_AT_HOME},
    )

    out_for_delivery.refresh_from_db()
    old_code.refresh_from_db()
    assert response.status_code == 302
    assert out_for_delivery.status == Shipment.Status.DELIVERY_FAILED
    assert out_for_delivery.delivery_day == TODAY + datetime.timedelta(days=1)
    assert old_code.status == DeliveryCode.Status.REVOKED
    new_code = DeliveryCode.objects.get(shipment=out_for_delivery, status="active")
    assert new_code.delivery_day == out_for_delivery.delivery_day
    assert DeliveryAttempt.objects.get().reason == DeliveryAttempt.Reason.NOT_AT_HOME


def test_failed_attempt_needs_a_reason(courier_client, out_for_delivery):
    courier_client.post(
        reverse("courier_stop_failed", args=[out_for_delivery.tracking_number]),
        {"reason": "bribed"},
    )

    out_for_delivery.refresh_from_db()
    assert out_for_delivery.status == Shipment.Status.OUT_FOR_DELIVERY
    assert not DeliveryAttempt.objects.exists()


def test_another_couriers_stop_is_404(client, out_for_delivery):
    client.force_login(CourierFactory().user)

    assert client.get(stop_url(out_for_delivery)).status_code == 404
    assert client.post(stop_url(out_for_delivery), {"code": "123456"}).status_code == 404
    assert not CodeEntry.objects.exists()


def test_stop_on_another_days_route_is_404(courier_client, courier, customer, ops):
    tomorrow = TODAY + datetime.timedelta(days=1)
    shipment = make_valuable_shipment(customer)
    shipment_mark_shipped(shipment=shipment, actor=ops, delivery_day=tomorrow)
    shipment_add_to_route(route=RouteFactory(courier=courier, day=tomorrow), shipment=shipment)

    assert courier_client.get(stop_url(shipment)).status_code == 404


def test_customer_cannot_open_the_courier_portal(client, customer, out_for_delivery):
    client.force_login(customer)

    assert client.get(reverse("courier_today")).status_code == 404
    assert client.get(stop_url(out_for_delivery)).status_code == 404


def test_anonymous_visitor_is_sent_to_sign_in(client, out_for_delivery):
    response = client.get(stop_url(out_for_delivery))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# --- A stop operations moved to another courier (rule 14) ----------------------------------


@pytest.fixture
def moved_to_luca(out_for_delivery, ops):
    """Marco's parcel, given by operations to Luca's route for today."""
    luca_route = RouteFactory(courier=CourierFactory(user=UserFactory(username="luca")), day=TODAY)
    shipment_move_to_route(shipment=out_for_delivery, route=luca_route, actor=ops)
    return out_for_delivery


def _a_code(shipment):
    return {"code": plain_code(shipment)}


def _a_reason(shipment):
    return {"reason": DeliveryAttempt.Reason.NOT_AT_HOME}


def _nothing(shipment):
    return {}


@pytest.mark.parametrize(
    ("method", "url_name", "form"),
    [
        ("get", "courier_stop", _nothing),
        ("post", "courier_stop", _a_code),
        ("post", "courier_stop_failed", _a_reason),
        ("post", "courier_stop_dropped", _nothing),
    ],
    ids=["open the stop", "enter the code", "record a failed attempt", "drop at a point"],
)
def test_a_stop_moved_to_another_courier_sends_back_to_the_list_saying_why(
    courier_client, moved_to_luca, method, url_name, form
):
    # Given Marco's stop that operations gave to Luca, still open on Marco's phone
    url = reverse(url_name, args=[moved_to_luca.tracking_number])

    # When Marco opens it or sends what he did there
    response = getattr(courier_client, method)(url, form(moved_to_luca), follow=True)

    # Then he is back on Today's deliveries, told why, with the stop kept there as moved
    page = response.content.decode()
    assert response.redirect_chain == [(reverse("courier_today"), 302)]
    assert f"Operations gave this parcel ({moved_to_luca.tracking_number}) to another courier" in (
        page
    )
    assert 'data-stop-outcome="moved"' in page
    # and nothing was done to the parcel; a code typed there is in the audit trail (rule
    # 10), never checked
    moved_to_luca.refresh_from_db()
    assert moved_to_luca.status == Shipment.Status.OUT_FOR_DELIVERY
    entries = list(CodeEntry.objects.values_list("outcome", flat=True))
    assert entries == (["moved_away"] if form is _a_code else [])
    assert not DeliveryAttempt.objects.exists()


def test_a_parcel_never_on_the_couriers_route_stays_not_found(courier_client, customer, ops):
    # Given a parcel out with Luca, never on Marco's route
    luca_route = RouteFactory(courier=CourierFactory(user=UserFactory(username="luca")), day=TODAY)
    shipment = make_valuable_shipment(customer)
    shipment_mark_shipped(shipment=shipment, actor=ops, delivery_day=TODAY)
    shipment_mark_out_for_delivery(shipment=shipment, actor=ops, route=luca_route)
    url = stop_url(shipment)

    # Then Marco learns nothing about it, whatever he tries
    assert courier_client.get(url).status_code == 404
    assert courier_client.post(url, {"code": plain_code(shipment)}).status_code == 404
    failed = reverse("courier_stop_failed", args=[shipment.tracking_number])
    assert courier_client.post(failed, {"reason": "not_at_home"}).status_code == 404
    assert not CodeEntry.objects.exists()
