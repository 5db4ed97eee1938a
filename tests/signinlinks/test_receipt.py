"""The delivered receipt (rule 17): when, by whom and where, in the customer's language,
never a code, with a one-click "this was not me" that opens an alert for operations."""

import re
import smtplib

import pytest
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.urls import reverse

from alerts.models import Alert
from handoff.services import (
    EntryContext,
    shipment_hand_over_at_counter,
    shipment_hand_over_at_door,
    shipment_hand_over_by_override,
)
from orders.models import Order, Shipment
from orders.tasks import send_delivered_receipt
from tests.conftest import plain_code, race
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REPORT_LINK = re.compile(r"http://\S+/accounts/link/(\w+)/not-me/\?sesame=(\S+)")


def _deliver_at_door(shipment, courier, capture):
    code = plain_code(shipment)
    with capture(execute=True):
        shipment_hand_over_at_door(
            shipment=shipment, raw_code=code, context=EntryContext(user=courier.user)
        )
    return code


def test_door_hand_over_sends_a_receipt_with_when_who_and_where(
    out_for_delivery, courier, mailoutbox, django_capture_on_commit_callbacks
):
    mailoutbox.clear()
    code = _deliver_at_door(out_for_delivery, courier, django_capture_on_commit_callbacks)
    (receipt,) = mailoutbox
    assert receipt.to == [out_for_delivery.order.email]
    assert out_for_delivery.tracking_number in receipt.subject
    assert "10:00" in receipt.body
    assert "Thursday 26 November 2026" in receipt.body
    assert f"courier {courier.user.get_full_name()}" in receipt.body
    assert code not in receipt.body
    assert code not in receipt.alternatives[0][0]
    assert REPORT_LINK.search(receipt.body)


def test_receipt_is_in_the_customers_language(
    out_for_delivery, courier, mailoutbox, django_capture_on_commit_callbacks
):
    Order.objects.filter(pk=out_for_delivery.order_id).update(language="it")
    mailoutbox.clear()
    _deliver_at_door(out_for_delivery, courier, django_capture_on_commit_callbacks)
    assert "giovedì 26 novembre 2026" in mailoutbox[0].body


def test_counter_release_names_the_pickup_point(
    at_pickup_point, pickup_point, operator, mailoutbox, django_capture_on_commit_callbacks
):
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        shipment_hand_over_at_counter(
            pickup_point=pickup_point,
            raw_code=plain_code(at_pickup_point),
            context=EntryContext(user=operator, pickup_point=pickup_point),
        )
    assert f"at the pickup point {pickup_point.name}" in mailoutbox[0].body


def test_override_says_operations_handed_it_over(
    out_for_delivery, ops, mailoutbox, django_capture_on_commit_callbacks
):
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        shipment_hand_over_by_override(
            shipment=out_for_delivery,
            context=EntryContext(user=ops),
            reason="Customer identified by passport at the depot",
        )
    assert "operations team" in mailoutbox[0].body


def test_receipt_is_sent_once_even_if_the_task_runs_twice(
    out_for_delivery, courier, mailoutbox, django_capture_on_commit_callbacks
):
    mailoutbox.clear()
    _deliver_at_door(out_for_delivery, courier, django_capture_on_commit_callbacks)
    assert send_delivered_receipt(out_for_delivery.pk) is False
    assert len(mailoutbox) == 1


def test_receipt_is_not_sent_again_after_the_cache_is_flushed(
    out_for_delivery, courier, mailoutbox, django_capture_on_commit_callbacks
):
    mailoutbox.clear()
    _deliver_at_door(out_for_delivery, courier, django_capture_on_commit_callbacks)
    cache.clear()

    assert send_delivered_receipt(out_for_delivery.pk) is False
    assert len(mailoutbox) == 1
    out_for_delivery.refresh_from_db()
    assert out_for_delivery.receipt_sent_at == out_for_delivery.delivered_at


def test_a_failed_send_releases_the_receipt_for_the_tasks_retry(
    out_for_delivery, courier, mailoutbox, monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        shipment_hand_over_at_door(
            shipment=out_for_delivery,
            raw_code=plain_code(out_for_delivery),
            context=EntryContext(user=courier.user),
        )
    mailoutbox.clear()
    real_send = EmailMessage.send

    def server_down(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(EmailMessage, "send", server_down)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        send_delivered_receipt(out_for_delivery.pk)
    out_for_delivery.refresh_from_db()
    assert out_for_delivery.receipt_sent_at is None

    monkeypatch.setattr(EmailMessage, "send", real_send)
    assert send_delivered_receipt(out_for_delivery.pk) is True
    assert send_delivered_receipt(out_for_delivery.pk) is False
    assert len(mailoutbox) == 1


@pytest.mark.django_db(transaction=True)
def test_workers_at_once_send_the_receipt_once(
    postgresql_only, out_for_delivery, courier, mailoutbox
):
    shipment_hand_over_at_door(
        shipment=out_for_delivery,
        raw_code=plain_code(out_for_delivery),
        context=EntryContext(user=courier.user),
    )
    # The hand-over's own task ran at its commit; these workers get the same task again.
    Shipment.objects.filter(pk=out_for_delivery.pk).update(receipt_sent_at=None)
    mailoutbox.clear()

    results, errors = race(lambda _: send_delivered_receipt(out_for_delivery.pk), 8)

    assert errors == []
    assert sorted(results) == [False] * 7 + [True]
    assert len(mailoutbox) == 1


def test_no_receipt_for_a_parcel_not_delivered(out_for_delivery, mailoutbox):
    assert send_delivered_receipt(out_for_delivery.pk) is False


def _report_link(mailoutbox):
    tracking, token = REPORT_LINK.search(mailoutbox[-1].body).groups()
    return reverse("signin_link_report", args=[tracking]), token


def test_not_me_opens_an_alert_after_one_click(
    client, out_for_delivery, courier, customer, mailoutbox, django_capture_on_commit_callbacks
):
    _deliver_at_door(out_for_delivery, courier, django_capture_on_commit_callbacks)
    path, token = _report_link(mailoutbox)
    assert client.get(f"{path}?sesame={token}").status_code == 200
    assert not Alert.objects.exists()  # a mail scanner's GET changes nothing
    response = client.post(path, {"sesame": token})
    assert response.status_code == 200
    alert = Alert.objects.get()
    assert alert.kind == "customer_report"
    assert alert.shipment == out_for_delivery
    assert alert.person == customer
    # Reporting again does not open a second alert.
    client.post(path, {"sesame": token})
    assert Alert.objects.count() == 1


def test_not_me_with_a_bad_token_or_anothers_parcel_opens_nothing(
    client, out_for_delivery, courier, mailoutbox, django_capture_on_commit_callbacks
):
    from tests.conftest import make_valuable_shipment

    _deliver_at_door(out_for_delivery, courier, django_capture_on_commit_callbacks)
    _, token = _report_link(mailoutbox)
    theirs = make_valuable_shipment(UserFactory(username="bruno"))
    other = reverse("signin_link_report", args=[theirs.tracking_number])
    assert client.post(other, {"sesame": token}).status_code == 400
    path, _ = _report_link(mailoutbox)
    assert client.post(path, {"sesame": "garbage"}).status_code == 400
    assert not Alert.objects.exists()
