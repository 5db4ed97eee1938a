"""Rule 15, as each person meets it: a stop that can take no code has no field for one, and
a parcel redirected to a pickup point is on its way there, not failed twice."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from alerts.models import Alert
from codes.models import EntryBlock, ParcelHold
from couriers.models import DeliveryAttempt
from handoff.services import shipment_record_failed_attempt
from tests.codes.test_entry_block import parcels_on_route
from tests.conftest import out_again_on_its_day, stop_url, wrong_code_for

pytestmark = pytest.mark.django_db

CODE_INPUT = re.compile(r"<input[^>]*name=\"code\"")


def _enter_wrong_codes(client, shipment, count):
    response = None
    for _ in range(count):
        response = client.post(stop_url(shipment), {"code": wrong_code_for(shipment)})
    return response


def test_fifth_wrong_code_leaves_no_code_field_and_says_why(courier_client, out_for_delivery):
    response = _enter_wrong_codes(courier_client, out_for_delivery, 5)

    page = response.content.decode()
    assert not CODE_INPUT.search(page)
    assert "Confirm delivery" not in page
    assert 'role="alert" data-entry-closed="locked"' in page
    assert "this parcel is locked" in page
    assert "Record failed attempt" in page


def test_locked_stop_opened_again_has_no_code_field(courier_client, out_for_delivery):
    _enter_wrong_codes(courier_client, out_for_delivery, 5)

    response = courier_client.get(stop_url(out_for_delivery))

    page = response.content.decode()
    assert not CODE_INPUT.search(page)
    assert 'data-entry-closed="locked"' in page
    assert 'name="reason"' in page  # the failed attempt is offered instead


def test_stop_with_tries_left_keeps_its_code_field(courier_client, out_for_delivery):
    response = _enter_wrong_codes(courier_client, out_for_delivery, 4)

    assert CODE_INPUT.search(response.content.decode())
    assert "data-entry-closed" not in response.content.decode()


def test_stop_of_a_parcel_held_for_operations_has_no_code_field(
    courier_client, out_for_delivery, frozen_now
):
    ParcelHold.objects.create(shipment=out_for_delivery, held_at=frozen_now, wrong_code_entries=10)

    response = courier_client.get(stop_url(out_for_delivery))

    page = response.content.decode()
    assert not CODE_INPUT.search(page)
    assert 'role="alert" data-entry-closed="held"' in page
    assert "held for operations" in page


def test_the_wrong_code_that_holds_the_parcel_says_held_as_the_page_does_after(
    courier_client, courier, out_for_delivery, ops, time_machine
):
    # Given 5 wrong codes (locked), a failed attempt, the parcel out again and 4 more wrong
    _enter_wrong_codes(courier_client, out_for_delivery, 5)
    courier_client.post(
        reverse("courier_stop_failed", args=[out_for_delivery.tracking_number]),
        {"reason": DeliveryAttempt.Reason.NO_CODE},
    )
    out_again_on_its_day(out_for_delivery, ops, time_machine)
    _enter_wrong_codes(courier_client, out_for_delivery, 4)

    # When the courier enters the 10th wrong code in all, and opens the stop again
    answer = _enter_wrong_codes(courier_client, out_for_delivery, 1).content.decode()
    reloaded = courier_client.get(stop_url(out_for_delivery)).content.decode()

    # Then both say the parcel is held for operations, not that its code is locked
    for page in (answer, reloaded):
        assert not CODE_INPUT.search(page)
        assert 'role="alert" data-entry-closed="held"' in page
        assert "held for operations" in page
        assert "this parcel is locked" not in page


def test_stop_of_a_parcel_without_a_code_keeps_confirm_delivery(
    courier_client, cheap_out_for_delivery
):
    response = courier_client.get(stop_url(cheap_out_for_delivery))

    assert "Confirm delivery" in response.content.decode()
    assert "data-entry-closed" not in response.content.decode()


def test_pickup_counter_of_a_blocked_operator_has_no_code_field(
    client, operator, pickup_point, at_pickup_point, frozen_now
):
    EntryBlock.objects.create(user=operator, blocked_at=frozen_now, wrong_entries=10)
    client.force_login(operator)

    response = client.get(reverse("pickup_point", args=[pickup_point.pk]))

    page = response.content.decode()
    assert not CODE_INPUT.search(page)
    assert 'role="alert" data-entry-closed="blocked"' in page


# --- A redirect after a failed attempt ---------------------------------------------------


@pytest.fixture
def redirected(client, customer, courier, out_for_delivery, pickup_point):
    shipment_record_failed_attempt(
        shipment=out_for_delivery, courier=courier, reason=DeliveryAttempt.Reason.NOT_AT_HOME
    )
    client.force_login(customer)
    response = client.post(
        reverse("track_redirect", args=[out_for_delivery.tracking_number]),
        {"pickup_point": pickup_point.pk},
    )
    assert response.status_code == 302
    return out_for_delivery


def test_redirected_parcel_is_shown_on_its_way_to_the_point(client, redirected, pickup_point):
    response = client.get(reverse("track", args=[redirected.tracking_number]))

    page = response.content.decode()
    assert 'data-shipment-status="shipped"' in page
    assert "On its way to Edicola Centrale" in page
    assert "(needs attention)" not in page


def test_redirect_adds_no_second_failure_to_the_timeline(client, redirected):
    response = client.get(reverse("track", args=[redirected.tracking_number]))

    page = response.content.decode()
    assert page.count("timeline-item timeline-delivery_failed") == 1
    assert "On its way to the pickup point" in page


def test_failed_attempt_without_redirect_is_still_shown_as_failed(
    client, customer, courier, out_for_delivery
):
    shipment_record_failed_attempt(
        shipment=out_for_delivery, courier=courier, reason=DeliveryAttempt.Reason.NOT_AT_HOME
    )
    client.force_login(customer)

    response = client.get(reverse("track", args=[out_for_delivery.tracking_number]))

    assert 'data-shipment-status="delivery_failed"' in response.content.decode()


# --- The courier's record of the day (rule 14) ---------------------------------------------


def test_courier_list_keeps_the_failed_door_stop_after_a_redirect(courier, redirected):
    client = Client()  # the courier's own phone: not the customer's session or messages
    client.force_login(courier.user)

    response = client.get(reverse("courier_today"))

    page = response.content.decode()
    assert "Alice Rossi" in page
    assert "Edicola Centrale" not in page
    assert 'data-stop-outcome="failed"' in page
    assert "Customer not at home" in page


def test_courier_stop_page_keeps_the_failed_door_after_a_redirect(courier, redirected):
    client = Client()  # the courier's own phone: not the customer's session or messages
    client.force_login(courier.user)

    response = client.get(stop_url(redirected))

    page = response.content.decode()
    assert "Alice Rossi" in page
    assert "Drop at the pickup point" not in page
    assert "Failed attempt recorded here: Customer not at home." in page


# --- Operations keep seeing the lock (Alerts) ----------------------------------------------


def test_lock_stays_visible_to_operations_after_the_failed_attempt(
    courier_client, out_for_delivery, ops
):
    _enter_wrong_codes(courier_client, out_for_delivery, 5)
    courier_client.post(
        reverse("courier_stop_failed", args=[out_for_delivery.tracking_number]),
        {"reason": DeliveryAttempt.Reason.NO_CODE},
    )
    operations = Client()
    operations.force_login(ops)

    alerts = operations.get(reverse("admin:alerts_alert_changelist"))
    flagged = operations.get(reverse("admin:orders_shipment_changelist"), {"alert": "code_locked"})

    tracking = out_for_delivery.tracking_number
    assert f'data-tracking-number="{tracking}"' in alerts.content.decode()
    assert "Code locked after wrong codes" in alerts.content.decode()
    assert list(flagged.context["cl"].result_list) == [out_for_delivery]


def test_a_blocked_courier_is_an_alert_for_operations(courier, customer, route, ops):
    client = Client()
    client.force_login(courier.user)
    parcels = parcels_on_route(n=10, customer=customer, route=route, ops=ops)

    for shipment in parcels:
        client.post(stop_url(shipment), {"code": wrong_code_for(shipment)})

    assert Alert.objects.filter(kind=Alert.Kind.PERSON_BLOCKED, person=courier.user).count() == 1


def test_wrong_codes_with_tries_left_open_no_alert(courier_client, out_for_delivery):
    _enter_wrong_codes(courier_client, out_for_delivery, 4)

    assert not Alert.objects.exists()


def test_a_blocked_pickup_operator_is_an_alert_for_operations(operator, pickup_point):
    client = Client()
    client.force_login(operator)

    for guess in range(10):
        client.post(reverse("pickup_point", args=[pickup_point.pk]), {"code": f"13579{guess}"})

    assert Alert.objects.filter(kind=Alert.Kind.PERSON_BLOCKED, person=operator).count() == 1
