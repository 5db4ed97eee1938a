"""Webhook events: written with the change, sent after the commit, signed, retried with the
same webhook-id, never to our own network, never holding a code."""

import datetime
import io
import json
import socket

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from standardwebhooks.webhooks import Webhook

from handoff.services import shipment_mark_shipped
from orders.models import Order, Shipment
from retailers.models import Retailer
from tests.conftest import TODAY, make_valuable_shipment, plain_code
from webhooks import network
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import (
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    webhook_delivery_resend,
    webhook_delivery_send,
    webhook_endpoint_create,
    webhook_events_record,
)
from webhooks.tasks import send_due_webhooks

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(db):
    return Retailer.objects.create(name="Demo Shop")


@pytest.fixture
def parcel(shop, customer):
    shipment = make_valuable_shipment(customer)
    Order.objects.filter(pk=shipment.order_id).update(retailer=shop, reference="R-1")
    return Shipment.objects.get(pk=shipment.pk)


def test_retry_delays_cover_at_least_a_day():
    assert sum(RETRY_DELAYS, datetime.timedelta()) >= datetime.timedelta(hours=24)
    assert len(RETRY_DELAYS) + 1 == MAX_ATTEMPTS


def test_no_endpoint_no_event_written(parcel, ops):
    shipment_mark_shipped(shipment=parcel, actor=ops, delivery_day=TODAY)
    assert not WebhookDelivery.objects.exists()


def test_event_is_written_in_the_transaction_of_the_change(
    parcel, ops, receiver, shop, django_capture_on_commit_callbacks
):
    webhook_endpoint_create(retailer=shop, url=receiver.url)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        shipment_mark_shipped(shipment=parcel, actor=ops, delivery_day=TODAY)
        delivery = WebhookDelivery.objects.get()
    assert delivery.event_type == "shipment.shipped"
    assert receiver.requests == []  # nothing is sent before the commit
    assert callbacks


def test_a_change_rolled_back_leaves_no_event(parcel, ops, receiver, shop):
    from django.db import transaction

    webhook_endpoint_create(retailer=shop, url=receiver.url)

    def ship_then_fail():
        with transaction.atomic():
            shipment_mark_shipped(shipment=parcel, actor=ops, delivery_day=TODAY)
            raise RuntimeError("the caller fails after the change")

    with pytest.raises(RuntimeError):
        ship_then_fail()
    assert not WebhookDelivery.objects.exists()


def test_endpoint_only_gets_the_types_it_asked_for(parcel, ops, receiver, shop):
    webhook_endpoint_create(retailer=shop, url=receiver.url, events=["shipment.delivered"])
    shipment_mark_shipped(shipment=parcel, actor=ops, delivery_day=TODAY)
    assert not WebhookDelivery.objects.exists()


def test_sent_after_commit_signed_per_standard_webhooks(
    parcel, ops, receiver, shop, django_capture_on_commit_callbacks
):
    _, secret = webhook_endpoint_create(retailer=shop, url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        shipment_mark_shipped(shipment=parcel, actor=ops, delivery_day=TODAY)
    headers, body = receiver.requests[0]
    payload = Webhook(secret).verify(body, headers)
    assert payload["type"] == "shipment.shipped"
    assert payload["data"]["tracking_number"] == parcel.tracking_number
    assert payload["data"]["status"] == "shipped"
    assert headers["webhook-id"] == WebhookDelivery.objects.get().message_id
    assert plain_code(parcel) not in body
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "succeeded"
    assert delivery.last_status_code == 200


def test_a_wrong_secret_does_not_verify(
    parcel, ops, receiver, shop, django_capture_on_commit_callbacks
):
    from standardwebhooks.webhooks import WebhookVerificationError

    webhook_endpoint_create(retailer=shop, url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        shipment_mark_shipped(shipment=parcel, actor=ops, delivery_day=TODAY)
    headers, body = receiver.requests[0]
    other_secret = webhook_endpoint_create(retailer=shop, url=receiver.url)[1]
    with pytest.raises(WebhookVerificationError):
        Webhook(other_secret).verify(body, headers)


def test_failure_schedules_a_retry_with_the_same_webhook_id(
    parcel, ops, receiver, shop, django_capture_on_commit_callbacks, time_machine, frozen_now
):
    webhook_endpoint_create(retailer=shop, url=receiver.url)
    receiver.answers = [500]
    with django_capture_on_commit_callbacks(execute=True):
        shipment_mark_shipped(shipment=parcel, actor=ops, delivery_day=TODAY)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending"
    assert delivery.attempts == 1
    assert delivery.last_status_code == 500
    assert delivery.next_attempt_at == frozen_now + RETRY_DELAYS[0]
    time_machine.move_to(frozen_now + RETRY_DELAYS[0], tick=False)
    send_due_webhooks()
    ids = [headers["webhook-id"] for headers, _ in receiver.requests]
    assert ids == [delivery.message_id, delivery.message_id]
    bodies = {body for _, body in receiver.requests}
    assert len(bodies) == 1
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    assert list(WebhookAttempt.objects.values_list("status_code", flat=True)) == [500, 200]


def test_not_due_yet_is_not_sent(parcel, ops, receiver, shop, django_capture_on_commit_callbacks):
    webhook_endpoint_create(retailer=shop, url=receiver.url)
    receiver.answers = [503]
    with django_capture_on_commit_callbacks(execute=True):
        shipment_mark_shipped(shipment=parcel, actor=ops, delivery_day=TODAY)
    assert webhook_delivery_send(delivery_id=WebhookDelivery.objects.get().pk) is None
    assert len(receiver.requests) == 1


def test_gives_up_after_the_last_attempt(
    parcel, ops, receiver, shop, django_capture_on_commit_callbacks, time_machine, frozen_now
):
    webhook_endpoint_create(retailer=shop, url=receiver.url)
    receiver.answers = [500] * MAX_ATTEMPTS
    with django_capture_on_commit_callbacks(execute=True):
        shipment_mark_shipped(shipment=parcel, actor=ops, delivery_day=TODAY)
    delivery = WebhookDelivery.objects.get()
    for _ in range(MAX_ATTEMPTS - 1):
        delivery.refresh_from_db()
        time_machine.move_to(delivery.next_attempt_at, tick=False)
        webhook_delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.attempts == MAX_ATTEMPTS
    assert delivery.next_attempt_at is None


def test_a_redirect_is_not_followed(
    parcel, ops, receiver, shop, django_capture_on_commit_callbacks
):
    webhook_endpoint_create(retailer=shop, url=receiver.url)
    receiver.answers = [302]
    receiver.redirect_to = receiver.url + "/elsewhere"
    with django_capture_on_commit_callbacks(execute=True):
        shipment_mark_shipped(shipment=parcel, actor=ops, delivery_day=TODAY)
    assert len(receiver.requests) == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending"
    assert delivery.last_status_code == 302


def test_unreachable_endpoint_is_a_failed_attempt(
    parcel, ops, shop, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    webhook_endpoint_create(retailer=shop, url=f"http://127.0.0.1:{port}/hooks")
    with django_capture_on_commit_callbacks(execute=True):
        shipment_mark_shipped(shipment=parcel, actor=ops, delivery_day=TODAY)
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None
    assert "Connection" in attempt.error


def test_admin_send_again_keeps_the_webhook_id(
    parcel, ops, receiver, shop, django_capture_on_commit_callbacks
):
    webhook_endpoint_create(retailer=shop, url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        shipment_mark_shipped(shipment=parcel, actor=ops, delivery_day=TODAY)
    delivery = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        webhook_delivery_resend(delivery=delivery)
    assert [h["webhook-id"] for h, _ in receiver.requests] == [delivery.message_id] * 2


def test_admin_lists_deliveries_with_attempts(
    client, parcel, ops, receiver, shop, django_capture_on_commit_callbacks
):
    webhook_endpoint_create(retailer=shop, url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        shipment_mark_shipped(shipment=parcel, actor=ops, delivery_day=TODAY)
    delivery = WebhookDelivery.objects.get()
    client.force_login(ops)
    listing = client.get("/admin/webhooks/webhookdelivery/").content.decode()
    assert delivery.message_id in listing
    page = client.get(f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/").content.decode()
    assert "200" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/webhooks/webhookdelivery/",
            {"action": "send_again", "_selected_action": [delivery.pk]},
        )
    assert len(receiver.requests) == 2


# --- Never into our own network ----------------------------------------------------------

PRIVATE_URLS = [
    "https://127.0.0.1/hooks",
    "https://localhost/hooks",
    "https://10.0.0.5/hooks",
    "https://172.16.3.4/hooks",
    "https://192.168.1.1/hooks",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/hooks",
    "https://[fe80::1]/hooks",
    "https://[::ffff:10.0.0.1]/hooks",
    "https://100.64.0.1/hooks",
    "https://0.0.0.0/hooks",
    "http://93.184.216.34/hooks",
    "ftp://93.184.216.34/hooks",
    "https://user:pass@93.184.216.34/hooks",
]


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_private_or_non_https_urls_are_refused(url, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    with pytest.raises(network.UnsafeWebhookUrl):
        network.resolve_target(url)


def test_a_public_https_url_is_accepted(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    target = network.resolve_target("https://93.184.216.34:8443/hooks?x=1")
    assert (target.address, target.port, target.path) == ("93.184.216.34", 8443, "/hooks?x=1")


def test_a_name_resolving_to_a_private_address_is_refused(settings, monkeypatch):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("10.1.2.3", 443))])
    with pytest.raises(network.UnsafeWebhookUrl):
        network.resolve_target("https://hooks.example.com/in")


def test_a_name_rebound_to_a_private_address_after_registration_is_not_called(
    parcel, ops, shop, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    public = [(2, 1, 6, "", ("93.184.216.34", 443))]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: public)
    webhook_endpoint_create(retailer=shop, url="https://hooks.example.com/in")
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("127.0.0.1", 443))])
    connected = []
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: connected.append(a))
    with django_capture_on_commit_callbacks(execute=True):
        shipment_mark_shipped(shipment=parcel, actor=ops, delivery_day=TODAY)
    assert connected == []
    attempt = WebhookAttempt.objects.get()
    assert "public" in attempt.error


def test_api_refuses_a_private_url_and_writes_nothing(client, shop, settings):
    from retailers.services import api_key_create

    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    _, raw_key = api_key_create(retailer=shop, name="k")
    response = client.post(
        "/api/v1/webhook-endpoints",
        data=json.dumps({"url": "https://169.254.169.254/x"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw_key}"},
    )
    assert response.status_code == 400
    assert "url" in response.json()
    assert not WebhookEndpoint.objects.exists()


def test_event_recorded_directly_for_a_parcel(parcel, receiver, shop):
    webhook_endpoint_create(retailer=shop, url=receiver.url)
    deliveries = webhook_events_record(shipment=parcel, type="shipment.held")
    assert [d.event_type for d in deliveries] == ["shipment.held"]


# --- Key rotation: the endpoints' secrets are encrypted with the codes' keys ----------------


def test_after_rotation_and_dropping_the_old_key_webhooks_are_signed_with_the_same_secret(
    parcel, ops, receiver, shop, settings, django_capture_on_commit_callbacks
):
    old_key = settings.DELIVERY_CODE_ENCRYPTION_KEYS[0]
    endpoint, secret = webhook_endpoint_create(retailer=shop, url=receiver.url)
    new_key = Fernet.generate_key().decode()
    settings.DELIVERY_CODE_ENCRYPTION_KEYS = [new_key, old_key]

    call_command("rotate_code_keys", stdout=io.StringIO())

    settings.DELIVERY_CODE_ENCRYPTION_KEYS = [new_key]
    with django_capture_on_commit_callbacks(execute=True):
        shipment_mark_shipped(shipment=parcel, actor=ops, delivery_day=TODAY)
    (headers, body) = receiver.requests[0]
    assert Webhook(secret).verify(body, headers)["type"] == "shipment.shipped"
    endpoint.refresh_from_db()
    assert secret not in endpoint.secret_encrypted


def test_rotation_with_a_lost_key_for_a_webhook_secret_fails_loudly(shop, receiver, settings):
    webhook_endpoint_create(retailer=shop, url=receiver.url)
    settings.DELIVERY_CODE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    with pytest.raises(CommandError, match="1 webhook secret"):
        call_command("rotate_code_keys", stdout=io.StringIO())


def test_rotation_prints_counts_never_a_secret(shop, receiver, settings):
    _, secret = webhook_endpoint_create(retailer=shop, url=receiver.url)
    out = io.StringIO()

    call_command("rotate_code_keys", stdout=out)

    assert (
        out.getvalue() == "0 code(s) and 1 webhook secret(s) re-encrypted under the newest key.\n"
    )
    assert secret not in out.getvalue()
