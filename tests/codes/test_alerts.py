"""Wrong codes (rules 6 and 12): the customer is told, operations see it, and after too
many in all the parcel is held until operations release it."""

import pytest
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.urls import reverse

from codes.lifecycle import parcel_hold_release
from codes.models import CodeEmail, CodeEntry, ParcelHold
from codes.selectors import parcel_is_held
from codes.services import EntryContext
from couriers.models import DeliveryAttempt
from handoff.services import shipment_hand_over_at_door, shipment_record_failed_attempt
from orders.models import Shipment
from tests.conftest import out_again_on_its_day, plain_code, wrong_code_for

pytestmark = pytest.mark.django_db

Purpose = CodeEmail.Purpose


@pytest.fixture(autouse=True)
def _courier_not_blocked(settings):
    # One courier types every wrong code here; the per-person block is tested elsewhere.
    settings.COURIER_MAX_WRONG_ATTEMPTS = 100


def _enter(shipment, raw, courier):
    return shipment_hand_over_at_door(
        shipment=shipment, raw_code=raw, context=EntryContext(user=courier.user)
    )


def _enter_wrong(shipment, courier, times):
    wrong = wrong_code_for(shipment)
    return [_enter(shipment, wrong, courier) for _ in range(times)]


def _emails(shipment, purpose):
    return [m for m in mail.outbox if m.to == [shipment.order.email] and purpose in m.subject]


def test_first_wrong_code_alerts_the_customer(
    out_for_delivery, courier, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _enter_wrong(out_for_delivery, courier, 1)

    (message,) = _emails(out_for_delivery, "A wrong delivery code was entered")
    assert "the parcel is safe" in message.body


def test_further_wrong_codes_of_the_same_code_do_not_alert_again(out_for_delivery, courier):
    _enter_wrong(out_for_delivery, courier, 3)

    assert CodeEmail.objects.filter(purpose=Purpose.WRONG_CODE).count() == 1


def test_malformed_entry_does_not_alert(out_for_delivery, courier):
    _enter(out_for_delivery, "12a456", courier)

    assert not CodeEmail.objects.exclude(purpose=Purpose.ISSUED).exists()


def test_locked_code_emails_the_customer_once(
    out_for_delivery, courier, django_capture_on_commit_callbacks
):
    right, wrong = plain_code(out_for_delivery), wrong_code_for(out_for_delivery)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            _enter(out_for_delivery, wrong, courier)
        # Entries on the locked code, right or wrong, are refused without a new alert.
        for raw in (wrong, wrong, right):
            _enter(out_for_delivery, raw, courier)

    assert len(_emails(out_for_delivery, "Delivery code locked")) == 1
    assert CodeEmail.objects.filter(purpose=Purpose.LOCKED).count() == 1


def test_lock_email_says_a_new_code_follows_and_does_not_carry_the_code(
    out_for_delivery, courier, django_capture_on_commit_callbacks
):
    code = plain_code(out_for_delivery)
    with django_capture_on_commit_callbacks(execute=True):
        _enter_wrong(out_for_delivery, courier, 5)

    (message,) = _emails(out_for_delivery, "Delivery code locked")
    assert "You will get a new code with the next delivery day" in message.body
    assert "Nobody from our company will ever ask you for this code" in message.body
    assert f"{code[:3]} {code[3:]}" not in message.body
    assert code not in message.alternatives[0][0]


def test_new_code_is_issued_for_the_next_attempt(out_for_delivery, courier):
    _enter_wrong(out_for_delivery, courier, 5)

    shipment_record_failed_attempt(
        shipment=out_for_delivery, courier=courier, reason=DeliveryAttempt.Reason.NO_CODE
    )

    statuses = list(out_for_delivery.codes.order_by("pk").values_list("status", flat=True))
    assert statuses == ["locked", "active"]


def test_operations_see_the_locked_parcel_flagged(out_for_delivery, courier, admin_client):
    _enter_wrong(out_for_delivery, courier, 5)

    response = admin_client.get(
        reverse("admin:orders_shipment_changelist"), {"wrong_codes": "code_locked"}
    )

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [out_for_delivery]
    assert "Code locked" in response.content.decode()


def test_parcel_is_held_after_ten_wrong_codes_in_all(out_for_delivery, courier, ops, time_machine):
    _enter_wrong(out_for_delivery, courier, 5)
    shipment_record_failed_attempt(
        shipment=out_for_delivery, courier=courier, reason=DeliveryAttempt.Reason.NO_CODE
    )
    out_again_on_its_day(out_for_delivery, ops, time_machine)

    results = _enter_wrong(out_for_delivery, courier, 5)

    assert results[-1].tries_left == 0
    assert parcel_is_held(shipment=out_for_delivery)
    assert ParcelHold.objects.get().wrong_code_entries == 10


def test_hold_survives_a_new_code(out_for_delivery, courier, ops, time_machine):
    # Given 4 + 5 + 1 wrong entries across three codes: the parcel is held.
    _enter_wrong(out_for_delivery, courier, 4)
    for wrong_entries in (5, 1):
        shipment_record_failed_attempt(
            shipment=out_for_delivery, courier=courier, reason=DeliveryAttempt.Reason.NO_CODE
        )
        out_again_on_its_day(out_for_delivery, ops, time_machine)
        _enter_wrong(out_for_delivery, courier, wrong_entries)
    # When a fresh code is issued for the parcel,
    shipment_record_failed_attempt(
        shipment=out_for_delivery, courier=courier, reason=DeliveryAttempt.Reason.NO_CODE
    )
    out_again_on_its_day(out_for_delivery, ops, time_machine)

    # then even that right code is refused.
    result = _enter(out_for_delivery, plain_code(out_for_delivery), courier)

    out_for_delivery.refresh_from_db()
    assert result.outcome == CodeEntry.Outcome.HELD
    assert out_for_delivery.status == Shipment.Status.OUT_FOR_DELIVERY
    assert out_for_delivery.wrong_code_entries == 10


def test_the_entry_that_locks_the_code_and_holds_the_parcel_sends_only_the_hold_email(
    out_for_delivery, courier, ops, time_machine, django_capture_on_commit_callbacks
):
    _enter_wrong(out_for_delivery, courier, 5)
    shipment_record_failed_attempt(
        shipment=out_for_delivery, courier=courier, reason=DeliveryAttempt.Reason.NO_CODE
    )
    out_again_on_its_day(out_for_delivery, ops, time_machine)
    _enter_wrong(out_for_delivery, courier, 4)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        _enter_wrong(out_for_delivery, courier, 1)

    # "A new code with the next delivery day" would contradict the hold.
    assert len(_emails(out_for_delivery, "held for checks")) == 1
    assert _emails(out_for_delivery, "Delivery code locked") == []


def test_held_entry_is_recorded_but_not_counted(out_for_delivery, courier, settings):
    settings.PARCEL_MAX_WRONG_ATTEMPTS = 2
    _enter_wrong(out_for_delivery, courier, 2)

    _enter(out_for_delivery, wrong_code_for(out_for_delivery), courier)

    out_for_delivery.refresh_from_db()
    assert out_for_delivery.wrong_code_entries == 2
    assert CodeEntry.objects.order_by("pk").last().outcome == CodeEntry.Outcome.HELD


def test_hold_emails_the_customer_once(
    out_for_delivery, courier, settings, django_capture_on_commit_callbacks
):
    settings.PARCEL_MAX_WRONG_ATTEMPTS = 2
    with django_capture_on_commit_callbacks(execute=True):
        _enter_wrong(out_for_delivery, courier, 4)

    assert len(_emails(out_for_delivery, "held for checks")) == 1


def test_operations_release_the_hold_and_the_right_code_delivers(
    out_for_delivery, courier, settings, admin_client, ops
):
    settings.PARCEL_MAX_WRONG_ATTEMPTS = 2
    _enter_wrong(out_for_delivery, courier, 2)

    response = admin_client.post(
        reverse("admin:orders_shipment_changelist"),
        {"action": "release_hold", "_selected_action": [out_for_delivery.pk]},
        follow=True,
    )

    assert response.status_code == 200
    hold = ParcelHold.objects.get()
    assert hold.released_by is not None
    assert LogEntry.objects.filter(object_id=str(out_for_delivery.pk)).exists()
    assert _enter(out_for_delivery, plain_code(out_for_delivery), courier).delivered


def test_one_more_wrong_code_after_release_holds_the_parcel_again(
    out_for_delivery, courier, settings, ops
):
    settings.PARCEL_MAX_WRONG_ATTEMPTS = 2
    _enter_wrong(out_for_delivery, courier, 2)
    parcel_hold_release(shipment=out_for_delivery, actor=ops, now=out_for_delivery.shipped_at)

    _enter_wrong(out_for_delivery, courier, 1)

    assert ParcelHold.objects.count() == 2
    assert parcel_is_held(shipment=out_for_delivery)


def test_release_of_a_parcel_not_held_changes_nothing(out_for_delivery, ops):
    assert parcel_hold_release(shipment=out_for_delivery, actor=ops, now=None) is None

    assert not ParcelHold.objects.exists()


def test_operations_see_the_held_parcel_flagged(out_for_delivery, courier, settings, admin_client):
    settings.PARCEL_MAX_WRONG_ATTEMPTS = 2
    _enter_wrong(out_for_delivery, courier, 2)

    response = admin_client.get(
        reverse("admin:orders_shipment_changelist"), {"wrong_codes": "held_for_operations"}
    )

    assert list(response.context["cl"].result_list) == [out_for_delivery]
    assert "Held for operations" in response.content.decode()


def test_parcel_limit_is_a_setting(out_for_delivery, courier, settings):
    settings.PARCEL_MAX_WRONG_ATTEMPTS = 3

    _enter_wrong(out_for_delivery, courier, 3)

    assert parcel_is_held(shipment=out_for_delivery)
